//! Writing in the gitops dir: only inside it, never through a symlink that leads out of it,
//! and atomically — a temp file beside the target, written, flushed to disk, renamed over
//! it, the directory flushed — so a reader (or a killed run) sees the old file or the new
//! one, never half of one. A replaced file keeps its permissions; a new one gets the
//! permissions every other file the user creates gets (0666 less the umask), as git
//! checks files out.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The gitops dir: canonical for checks, as spelt by the user for messages.
#[derive(Debug, Clone)]
pub struct GitopsDir {
    canonical: PathBuf,
    shown: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("`{}` resolves outside the gitops dir `{}` (through a symlink); refused", shown.display(), root.display())]
    Outside { shown: PathBuf, root: PathBuf },
    #[error("`{}` is not a regular file; refused", shown.display())]
    NotAFile { shown: PathBuf },
    #[error("`{}` already exists", shown.display())]
    Exists { shown: PathBuf },
    #[error("could not {action} `{}`: {source}", shown.display())]
    Io {
        action: &'static str,
        shown: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl GitopsDir {
    /// `given` as the user spelt it (`.`, `repo/`, a symlink…).
    pub fn new(given: &Path) -> Result<Self, FsError> {
        let canonical = given.canonicalize().map_err(|source| FsError::Io {
            action: "resolve the gitops dir",
            shown: given.to_path_buf(),
            source,
        })?;
        // As the scan shows paths: `.` and `./` as nothing.
        let shown = if given.components().all(|c| c == Component::CurDir) {
            PathBuf::new()
        } else {
            given.to_path_buf()
        };
        Ok(Self { canonical, shown })
    }

    pub fn canonical(&self) -> &Path {
        &self.canonical
    }

    /// `relative` as messages show it (and as the scan names files).
    pub fn shown(&self, relative: &Path) -> PathBuf {
        self.shown.join(relative)
    }

    /// Where writing `relative` lands, every existing symlink on the way resolved; refused
    /// unless that is inside the gitops dir. A symlinked file resolves to its target, so
    /// the link stays a link.
    pub fn real_path(&self, relative: &Path) -> Result<PathBuf, FsError> {
        debug_assert!(relative.is_relative());
        let joined = self.canonical.join(relative);
        let shown = self.shown(relative);
        let resolved = crate::workdir::resolve(&joined).map_err(|source| FsError::Io {
            action: "resolve",
            shown: shown.clone(),
            source,
        })?;
        // A dangling symlink resolves to itself above; it leads somewhere all the same.
        let dangling =
            std::fs::symlink_metadata(&resolved).is_ok_and(|meta| meta.file_type().is_symlink());
        if dangling || !resolved.starts_with(&self.canonical) || resolved == self.canonical {
            return Err(FsError::Outside {
                shown,
                root: self.shown_root(),
            });
        }
        Ok(resolved)
    }

    fn shown_root(&self) -> PathBuf {
        if self.shown.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            self.shown.clone()
        }
    }

    /// Replaces the regular file `relative` with `bytes`, atomically, keeping its mode.
    pub fn replace(&self, relative: &Path, bytes: &[u8]) -> Result<(), FsError> {
        let shown = self.shown(relative);
        let target = self.real_path(relative)?;
        let meta = std::fs::metadata(&target).map_err(|source| FsError::Io {
            action: "read",
            shown: shown.clone(),
            source,
        })?;
        if !meta.is_file() {
            return Err(FsError::NotAFile { shown });
        }
        write_atomically(
            &target,
            bytes,
            Some(meta.permissions().mode() & 0o7777),
            &shown,
        )
    }

    /// Creates `relative` (and the directories above it) holding `bytes`, atomically.
    pub fn create(&self, relative: &Path, bytes: &[u8]) -> Result<(), FsError> {
        let shown = self.shown(relative);
        let target = self.real_path(relative)?;
        if std::fs::symlink_metadata(&target).is_ok() {
            return Err(FsError::Exists { shown });
        }
        let parent = target.parent().expect("inside the gitops dir");
        std::fs::create_dir_all(parent).map_err(|source| FsError::Io {
            action: "create the directory for",
            shown: shown.clone(),
            source,
        })?;
        // Nothing on the way was a symlink when resolved; check the result all the same.
        let parent = parent.canonicalize().map_err(|source| FsError::Io {
            action: "resolve",
            shown: shown.clone(),
            source,
        })?;
        if !parent.starts_with(&self.canonical) {
            return Err(FsError::Outside {
                shown,
                root: self.shown_root(),
            });
        }
        write_atomically(&target, bytes, None, &shown)
    }

    /// Removes the file (or symlink) `relative` itself; its directory must be inside the
    /// gitops dir. Whether there was one.
    pub fn remove_file(&self, relative: &Path) -> Result<bool, FsError> {
        let shown = self.shown(relative);
        let parent = relative.parent().expect("a file in a directory");
        let name = relative.file_name().expect("a file name");
        let path = self.real_path(parent)?.join(name);
        match std::fs::symlink_metadata(&path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(source) => {
                return Err(FsError::Io {
                    action: "read",
                    shown,
                    source,
                })
            }
            Ok(meta) if meta.is_dir() => return Err(FsError::NotAFile { shown }),
            Ok(_) => {}
        }
        std::fs::remove_file(&path).map_err(|source| FsError::Io {
            action: "remove",
            shown,
            source,
        })?;
        sync_dir(path.parent().expect("a parent"));
        Ok(true)
    }

    /// Removes the directory `relative` when it is empty (and is a real directory inside
    /// the gitops dir); whether it was removed.
    pub fn remove_dir_if_empty(&self, relative: &Path) -> Result<bool, FsError> {
        let shown = self.shown(relative);
        let joined = self.canonical.join(relative);
        match std::fs::symlink_metadata(&joined) {
            Ok(meta) if meta.is_dir() => {}
            _ => return Ok(false),
        }
        let path = self.real_path(relative)?;
        match std::fs::remove_dir(&path) {
            Ok(()) => {
                if let Some(parent) = path.parent() {
                    sync_dir(parent);
                }
                Ok(true)
            }
            Err(error) if error.kind() == std::io::ErrorKind::DirectoryNotEmpty => Ok(false),
            Err(source) => Err(FsError::Io {
                action: "remove",
                shown,
                source,
            }),
        }
    }
}

/// Writes `bytes` to a new temp file beside `target`, flushes it, renames it over `target`
/// and flushes the directory. `mode`: the permissions to give it (else 0666 less the
/// umask, as for any new file). The temp file is removed on every failure.
fn write_atomically(
    target: &Path,
    bytes: &[u8],
    mode: Option<u32>,
    shown: &Path,
) -> Result<(), FsError> {
    let dir = target.parent().expect("a file in a directory");
    let name = target.file_name().expect("a file name").to_string_lossy();
    let temp = dir.join(format!(
        ".{name}.lambda-gitops-{}-{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let io = |action: &'static str| {
        move |source| FsError::Io {
            action,
            shown: shown.to_path_buf(),
            source,
        }
    };
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(&temp)
            .map_err(io("create a temp file beside"))?;
        if let Some(mode) = mode {
            file.set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(io("set the permissions of"))?;
        }
        file.write_all(bytes).map_err(io("write"))?;
        file.sync_all().map_err(io("flush"))?;
        std::fs::rename(&temp, target).map_err(io("replace"))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result?;
    sync_dir(dir);
    Ok(())
}

/// Flushes a directory entry change to disk; best effort (some filesystems refuse).
fn sync_dir(dir: &Path) {
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn umask() -> u32 {
        let output = std::process::Command::new("sh")
            .args(["-c", "umask"])
            .output()
            .unwrap();
        u32::from_str_radix(String::from_utf8_lossy(&output.stdout).trim(), 8).unwrap()
    }

    #[test]
    fn a_replaced_file_keeps_its_mode_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let gitops = GitopsDir::new(dir.path()).unwrap();
        let file = dir.path().join("a.yaml");
        std::fs::write(&file, "old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        gitops.replace(Path::new("a.yaml"), b"new").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_new_file_gets_the_usual_permissions_and_its_directories() {
        let dir = tempfile::tempdir().unwrap();
        let gitops = GitopsDir::new(dir.path()).unwrap();
        let relative = Path::new("environments/preview/pr-7/services/a.values.yaml");
        gitops.create(relative, b"x: 1\n").unwrap();
        let meta = std::fs::metadata(dir.path().join(relative)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o666 & !umask());
        assert!(matches!(
            gitops.create(relative, b"x"),
            Err(FsError::Exists { .. })
        ));
    }

    #[test]
    fn nothing_is_written_through_a_symlink_out_of_the_gitops_dir() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("gitops");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(root.join("environments")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.yaml"), "keep").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("environments/preview")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.yaml"), root.join("link.yaml")).unwrap();
        std::os::unix::fs::symlink(outside.join("missing"), root.join("dangling.yaml")).unwrap();
        let gitops = GitopsDir::new(&root).unwrap();
        for (relative, result) in [
            (
                "environments/preview/pr-1/services/a.values.yaml",
                gitops.create(
                    Path::new("environments/preview/pr-1/services/a.values.yaml"),
                    b"x",
                ),
            ),
            ("link.yaml", gitops.replace(Path::new("link.yaml"), b"x")),
            (
                "dangling.yaml",
                gitops.create(Path::new("dangling.yaml"), b"x"),
            ),
            (
                "environments/preview/secret.yaml",
                gitops
                    .remove_file(Path::new("environments/preview/secret.yaml"))
                    .map(|_| ()),
            ),
        ] {
            assert!(
                matches!(result, Err(FsError::Outside { .. })),
                "{relative}: {result:?}"
            );
        }
        assert!(!outside.join("pr-1").exists());
        assert_eq!(
            std::fs::read_to_string(outside.join("secret.yaml")).unwrap(),
            "keep"
        );
        assert!(!outside.join("missing").exists());
    }

    #[test]
    fn a_symlink_inside_the_gitops_dir_is_written_through_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("shared")).unwrap();
        std::fs::write(dir.path().join("shared/a.yaml"), "old").unwrap();
        std::os::unix::fs::symlink("shared/a.yaml", dir.path().join("a.yaml")).unwrap();
        let gitops = GitopsDir::new(dir.path()).unwrap();
        gitops.replace(Path::new("a.yaml"), b"new").unwrap();
        assert!(std::fs::symlink_metadata(dir.path().join("a.yaml"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            std::fs::read(dir.path().join("shared/a.yaml")).unwrap(),
            b"new"
        );
    }

    #[test]
    fn empty_directories_go_and_others_stay() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pr-1/services")).unwrap();
        std::fs::write(dir.path().join("pr-1/services/a.values.yaml"), "x").unwrap();
        std::fs::write(dir.path().join("pr-1/services/b.values.yaml"), "x").unwrap();
        let gitops = GitopsDir::new(dir.path()).unwrap();
        assert!(gitops
            .remove_file(Path::new("pr-1/services/a.values.yaml"))
            .unwrap());
        assert!(!gitops
            .remove_file(Path::new("pr-1/services/a.values.yaml"))
            .unwrap());
        assert!(!gitops
            .remove_dir_if_empty(Path::new("pr-1/services"))
            .unwrap());
        assert!(gitops
            .remove_file(Path::new("pr-1/services/b.values.yaml"))
            .unwrap());
        assert!(gitops
            .remove_dir_if_empty(Path::new("pr-1/services"))
            .unwrap());
        assert!(gitops.remove_dir_if_empty(Path::new("pr-1")).unwrap());
        assert!(!dir.path().join("pr-1").exists());
    }
}
