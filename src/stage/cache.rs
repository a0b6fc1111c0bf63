//! The package cache: one file per package under `<cache-dir>/<kind>/`, named by a hash of
//! what identifies it (plus a readable tail), and a small JSON sidecar for revalidation.
//! Entries only ever appear by atomic rename, so an entry that exists is complete.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::stage::hash::Hasher;

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

    pub fn read_validators(entry: &Path) -> Option<Validators> {
        let text = std::fs::read_to_string(sidecar(entry)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Written atomically, after the entry itself.
    pub fn write_validators(entry: &Path, validators: &Validators) -> std::io::Result<()> {
        let path = sidecar(entry);
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut temp = tempfile::Builder::new()
            .prefix(".partial-")
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
}
