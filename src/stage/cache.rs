//! The package cache: one file per package under `<cache-dir>/<kind>/`, named by a hash of
//! what identifies it (plus a readable tail), and a small JSON sidecar for revalidation.
//! Entries only ever appear by atomic rename after the whole-zip check, so an entry that
//! exists is complete. Temp files are named `.partial-*`; those a killed run left behind
//! are removed by a later one.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::hash::Hasher;

/// The name every temp file in the cache starts with.
pub const PARTIAL_PREFIX: &str = ".partial-";

/// A temp file untouched for this long belongs to no live run: a live download writes at
/// least once per stall timeout, which is at most 10 minutes.
pub const STALE_PARTIAL_AGE: Duration = Duration::from_secs(15 * 60);

/// The kinds of entry, one directory each.
const KINDS: [&str; 3] = ["github", "url", "s3"];

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

/// What a `url` entry was served with, for `If-None-Match` / `If-Modified-Since`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Cache {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The entry for `key` (which must identify the content) of `kind` (`github`, `url`, `s3`).
    pub fn entry(&self, kind: &str, key: &str, readable: &str) -> PathBuf {
        let mut hasher = Hasher::default();
        hasher.update(key.as_bytes());
        let id = hasher.finish().hex();
        let tail: String = readable
            .chars()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.root.join(kind).join(format!("{}-{tail}", &id[..32]))
    }

    /// Removes the `.partial-*` files a killed run left (those older than
    /// [`STALE_PARTIAL_AGE`]: a concurrent run's live ones are younger); how many.
    pub fn remove_stale_partials(&self) -> usize {
        let now = SystemTime::now();
        let stale = |entry: &std::fs::DirEntry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with(PARTIAL_PREFIX)
                && entry
                    .metadata()
                    .ok()
                    .filter(std::fs::Metadata::is_file)
                    .and_then(|meta| meta.modified().ok())
                    .and_then(|modified| now.duration_since(modified).ok())
                    .is_some_and(|age| age > STALE_PARTIAL_AGE)
        };
        KINDS
            .iter()
            .filter_map(|kind| std::fs::read_dir(self.root.join(kind)).ok())
            .flatten()
            .flatten()
            .filter(stale)
            .filter(|entry| std::fs::remove_file(entry.path()).is_ok())
            .count()
    }

    /// Forgets an entry (and its sidecar) that failed its check.
    pub fn remove(entry: &Path) {
        let _ = std::fs::remove_file(entry);
        let _ = std::fs::remove_file(sidecar(entry));
    }

    pub fn read_validators(entry: &Path) -> Option<Validators> {
        let text = std::fs::read_to_string(sidecar(entry)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Written atomically, after the entry itself.
    pub fn write_validators(entry: &Path, validators: &Validators) -> std::io::Result<()> {
        let path = sidecar(entry);
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut temp = tempfile::Builder::new()
            .prefix(PARTIAL_PREFIX)
            .tempfile_in(dir)?;
        serde_json::to_writer(&mut temp, validators)?;
        temp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }
}

fn sidecar(entry: &Path) -> PathBuf {
    let mut name = entry.file_name().unwrap_or_default().to_os_string();
    name.push(".validators.json");
    entry.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_differ_by_key_and_stay_readable() {
        let cache = Cache::new(PathBuf::from("/c"));
        let a = cache.entry("github", "o/r\nv1\na.zip", "a.zip");
        let b = cache.entry("github", "o/r\nv2\na.zip", "a.zip");
        assert_ne!(a, b);
        assert!(a.starts_with("/c/github"));
        assert!(a.to_string_lossy().ends_with("-a.zip"));
        let odd = cache.entry("url", "k", "../../etc/passwd");
        assert_eq!(odd.parent(), Some(Path::new("/c/url")));
    }

    #[test]
    fn stale_partial_files_of_a_killed_run_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        std::fs::create_dir_all(dir.path().join("github")).unwrap();
        let old = dir.path().join("github/.partial-killed");
        let live = dir.path().join("github/.partial-live");
        let entry = dir.path().join("github/0123-app.zip");
        for path in [&old, &live, &entry] {
            std::fs::write(path, b"x").unwrap();
        }
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        for path in [&old, &entry] {
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(an_hour_ago)
                .unwrap();
        }
        assert_eq!(cache.remove_stale_partials(), 1);
        assert!(!old.exists());
        assert!(live.exists(), "a concurrent run's download");
        assert!(entry.exists(), "a cache entry");
    }
}
