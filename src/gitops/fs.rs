//! Writing in the gitops dir: never through a symlink, and atomically.
//!
//! In: a path relative to the gitops dir and what to do there (replace, create, remove).
//! Out: done, or an error naming the path — and the symlink, when one is on the way.
//!
//! Every directory from the gitops dir down is opened by name relative to the one above it
//! with `O_NOFOLLOW` (`openat`), and the file itself is looked at without following it
//! (`fstatat`), then created, renamed over or removed relative to its directory's
//! descriptor. A symlink anywhere on the path — a preview folder linked to another pull
//! request's, a values file linked to another's, a link out of the repo — is refused
//! before anything changes; [`GitopsDir::check`] finds every refusal of a multi-file edit
//! before its first write. (The gitops dir itself may be spelt through a symlink: it is
//! opened by its canonical path.)
//!
//! A write is a temp file beside the target, written, flushed to disk, renamed over it,
//! the directory flushed — so a reader (or a killed run) sees the old file or the new one,
//! never half of one. A replaced file keeps its permissions; a new one gets the
//! permissions every other file the user creates gets (0666 less the umask), as git checks
//! files out.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::errno::Errno;
use nix::fcntl::{open, openat, readlinkat, renameat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, mkdirat, Mode, SFlag};
use nix::unistd::{fsync, unlinkat, UnlinkatFlags};

/// The gitops dir: canonical for checks, as spelt by the user for messages.
#[derive(Debug, Clone)]
pub struct GitopsDir {
    canonical: PathBuf,
    shown: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("`{}` resolves outside the gitops dir `{}` through the symlink `{}` (→ `{}`); refused", shown.display(), root.display(), link.display(), target.display())]
    Outside {
        shown: PathBuf,
        root: PathBuf,
        link: PathBuf,
        target: PathBuf,
    },
    #[error("`{}` goes through the symlink `{}` (→ `{}`); edits never write or remove through a symlink, so it is refused", shown.display(), link.display(), target.display())]
    Symlink {
        shown: PathBuf,
        link: PathBuf,
        target: PathBuf,
    },
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

/// What an edit does at a path, for [`GitopsDir::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Replace,
    Create,
    Remove,
}

/// What the last component of a path is, seen without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Missing,
    /// A regular file and its permission bits.
    File(u32),
    Dir,
    Other,
}

/// A path's directory, opened without following a symlink (`None` when a directory on the
/// way does not exist), its last component and what that is.
struct Located {
    dir: Option<OwnedFd>,
    name: OsString,
    entry: Entry,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_CLOEXEC);

impl GitopsDir {
    /// `given` as the user spelt it (`.`, `repo/`, a symlink…).
    pub fn new(given: &Path) -> Result<Self, FsError> {
        let canonical = given
            .canonicalize()
            .map_err(|source| io_error("resolve the gitops dir", given, source))?;
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

    fn shown_root(&self) -> PathBuf {
        if self.shown.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            self.shown.clone()
        }
    }

    /// The refusal `op` at `relative` would meet (a symlink on the way, the wrong kind of
    /// file), found without changing anything.
    pub fn check(&self, relative: &Path, op: Op) -> Result<(), FsError> {
        match op {
            Op::Replace => self.replaceable(relative).map(drop),
            Op::Create => self.creatable(relative).map(drop),
            Op::Remove => self.removable(relative).map(drop),
        }
    }

    /// Replaces the regular file `relative` with `bytes`, atomically, keeping its mode.
    pub fn replace(&self, relative: &Path, bytes: &[u8]) -> Result<(), FsError> {
        let (dir, name, mode) = self.replaceable(relative)?;
        write_atomically(&dir, &name, bytes, Some(mode), &self.shown(relative))
    }

    /// Creates `relative` (and the directories above it) holding `bytes`, atomically.
    pub fn create(&self, relative: &Path, bytes: &[u8]) -> Result<(), FsError> {
        let shown = self.shown(relative);
        let located = self.creatable(relative)?;
        let dir = match located.dir {
            Some(dir) => dir,
            None => {
                let parts = parts(relative, &shown)?;
                let parents = &parts[..parts.len() - 1];
                self.open_dirs(parents, true, &shown)?
                    .expect("missing directories are created")
            }
        };
        write_atomically(&dir, &located.name, bytes, None, &shown)
    }

    /// Removes the file `relative`; whether there was one.
    pub fn remove_file(&self, relative: &Path) -> Result<bool, FsError> {
        let Some((dir, name)) = self.removable(relative)? else {
            return Ok(false);
        };
        unlinkat(&dir, name.as_os_str(), UnlinkatFlags::NoRemoveDir)
            .map_err(|errno| io_error("remove", &self.shown(relative), errno))?;
        // Best effort: some filesystems refuse to flush a directory.
        let _ = fsync(&dir);
        Ok(true)
    }

    /// Removes the directory `relative` when it is empty; whether it was removed.
    pub fn remove_dir_if_empty(&self, relative: &Path) -> Result<bool, FsError> {
        let located = self.locate(relative)?;
        let (Some(dir), Entry::Dir) = (located.dir, located.entry) else {
            return Ok(false);
        };
        match unlinkat(&dir, located.name.as_os_str(), UnlinkatFlags::RemoveDir) {
            Ok(()) => {
                let _ = fsync(&dir);
                Ok(true)
            }
            Err(Errno::ENOTEMPTY | Errno::EEXIST) => Ok(false),
            Err(errno) => Err(io_error("remove", &self.shown(relative), errno)),
        }
    }

    fn replaceable(&self, relative: &Path) -> Result<(OwnedFd, OsString, u32), FsError> {
        let shown = self.shown(relative);
        match self.locate(relative)? {
            Located {
                dir: Some(dir),
                name,
                entry: Entry::File(mode),
            } => Ok((dir, name, mode)),
            Located {
                entry: Entry::Missing,
                ..
            } => Err(io_error("read", &shown, Errno::ENOENT)),
            _ => Err(FsError::NotAFile { shown }),
        }
    }

    fn creatable(&self, relative: &Path) -> Result<Located, FsError> {
        let located = self.locate(relative)?;
        if located.entry != Entry::Missing {
            return Err(FsError::Exists {
                shown: self.shown(relative),
            });
        }
        Ok(located)
    }

    fn removable(&self, relative: &Path) -> Result<Option<(OwnedFd, OsString)>, FsError> {
        match self.locate(relative)? {
            Located {
                entry: Entry::Missing,
                ..
            } => Ok(None),
            Located {
                entry: Entry::Dir, ..
            } => Err(FsError::NotAFile {
                shown: self.shown(relative),
            }),
            Located { dir, name, .. } => Ok(Some((dir.expect("an entry has a directory"), name))),
        }
    }

    /// Where `relative` is, no symlink followed on the way; a symlink there is refused.
    fn locate(&self, relative: &Path) -> Result<Located, FsError> {
        let shown = self.shown(relative);
        let parts = parts(relative, &shown)?;
        let (name, parents) = parts.split_last().expect("checked not empty");
        let name = name.to_os_string();
        let Some(dir) = self.open_dirs(parents, false, &shown)? else {
            return Ok(Located {
                dir: None,
                name,
                entry: Entry::Missing,
            });
        };
        let entry = match fstatat(&dir, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
            Err(Errno::ENOENT) => Entry::Missing,
            Err(errno) => return Err(io_error("read", &shown, errno)),
            Ok(stat) => match file_type(stat.st_mode) {
                SFlag::S_IFLNK => return Err(self.link_error(&dir, &parts, &shown)),
                SFlag::S_IFREG => Entry::File(stat.st_mode & 0o7777),
                SFlag::S_IFDIR => Entry::Dir,
                _ => Entry::Other,
            },
        };
        Ok(Located {
            dir: Some(dir),
            name,
            entry,
        })
    }

    /// The directory `dirs` names below the gitops dir, each opened from the one above
    /// without following a symlink. A missing one is made when `create` (0777 less the
    /// umask, as `mkdir -p`), else the answer is `None`.
    fn open_dirs(
        &self,
        dirs: &[&OsStr],
        create: bool,
        shown: &Path,
    ) -> Result<Option<OwnedFd>, FsError> {
        let mut dir = open(&self.canonical, DIR_FLAGS, Mode::empty())
            .map_err(|errno| io_error("open the gitops dir for", shown, errno))?;
        for (depth, name) in dirs.iter().enumerate() {
            let open_next =
                |dir: &OwnedFd| openat(dir, *name, DIR_FLAGS | OFlag::O_NOFOLLOW, Mode::empty());
            let next = match open_next(&dir) {
                Err(Errno::ENOENT) if create => {
                    match mkdirat(&dir, *name, Mode::from_bits_truncate(0o777)) {
                        Ok(()) | Err(Errno::EEXIST) => open_next(&dir),
                        Err(errno) => {
                            return Err(io_error("create the directory for", shown, errno))
                        }
                    }
                }
                next => next,
            };
            dir = match next {
                Ok(next) => next,
                Err(Errno::ENOENT) => return Ok(None),
                // O_NOFOLLOW on a symlink: ELOOP (ENOTDIR with O_DIRECTORY on some kernels).
                Err(Errno::ELOOP | Errno::ENOTDIR) if is_symlink(&dir, name) => {
                    return Err(self.link_error(&dir, &dirs[..=depth], shown))
                }
                Err(errno) => return Err(io_error("open the directory of", shown, errno)),
            };
        }
        Ok(Some(dir))
    }

    /// The refusal for the symlink `link` (its components below the gitops dir), an entry
    /// of `dir`: [`FsError::Outside`] when it leads out of the gitops dir (or nowhere
    /// outside it), else [`FsError::Symlink`].
    fn link_error(&self, dir: &OwnedFd, link: &[&OsStr], shown: &Path) -> FsError {
        let relative: PathBuf = link.iter().collect();
        let name = *link.last().expect("a link has a name");
        let target = PathBuf::from(readlinkat(dir, name).unwrap_or_default());
        // Its directory holds no symlink (it was opened without following one), so the
        // link's target resolves from the joined path.
        let at = self.canonical.join(&relative);
        let pointed = at.parent().expect("inside the gitops dir").join(&target);
        let outside = crate::workdir::resolve(&pointed)
            .map_or(true, |resolved| !resolved.starts_with(&self.canonical));
        let (shown, link) = (shown.to_path_buf(), self.shown(&relative));
        if outside {
            FsError::Outside {
                shown,
                root: self.shown_root(),
                link,
                target,
            }
        } else {
            FsError::Symlink {
                shown,
                link,
                target,
            }
        }
    }
}

/// The components of `relative`, each a plain name (never `..`, `/` or empty).
fn parts<'p>(relative: &'p Path, shown: &Path) -> Result<Vec<&'p OsStr>, FsError> {
    let parts: Option<Vec<&OsStr>> = relative
        .components()
        .map(|component| match component {
            Component::Normal(name) => Some(name),
            _ => None,
        })
        .collect();
    match parts {
        Some(parts) if !parts.is_empty() => Ok(parts),
        _ => Err(io_error(
            "resolve",
            shown,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a path below the gitops dir",
            ),
        )),
    }
}

fn file_type(mode: nix::libc::mode_t) -> SFlag {
    SFlag::from_bits_truncate(mode & SFlag::S_IFMT.bits())
}

fn is_symlink(dir: &OwnedFd, name: &OsStr) -> bool {
    fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|stat| file_type(stat.st_mode) == SFlag::S_IFLNK)
}

fn io_error(action: &'static str, shown: &Path, source: impl Into<std::io::Error>) -> FsError {
    FsError::Io {
        action,
        shown: shown.to_path_buf(),
        source: source.into(),
    }
}

/// Writes `bytes` to a new temp file beside `name` in `dir`, flushes it, renames it over
/// `name` and flushes the directory. `mode`: the permissions to give it (else 0666 less
/// the umask, as for any new file). The temp file is removed on every failure.
fn write_atomically(
    dir: &OwnedFd,
    name: &OsStr,
    bytes: &[u8],
    mode: Option<u32>,
    shown: &Path,
) -> Result<(), FsError> {
    let temp = OsString::from(format!(
        ".{}.lambda-gitops-{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(
            dir,
            temp.as_os_str(),
            flags,
            Mode::from_bits_truncate(0o666),
        )
        .map_err(|errno| io_error("create a temp file beside", shown, errno))?;
        let mut file = File::from(fd);
        if let Some(mode) = mode {
            file.set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(|e| io_error("set the permissions of", shown, e))?;
        }
        file.write_all(bytes)
            .map_err(|e| io_error("write", shown, e))?;
        file.sync_all().map_err(|e| io_error("flush", shown, e))?;
        renameat(dir, temp.as_os_str(), dir, name)
            .map_err(|errno| io_error("replace", shown, errno))
    })();
    if result.is_err() {
        let _ = unlinkat(dir, temp.as_os_str(), UnlinkatFlags::NoRemoveDir);
    }
    result?;
    // Best effort: some filesystems refuse to flush a directory.
    let _ = fsync(dir);
    Ok(())
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
        let dir_meta = std::fs::metadata(dir.path().join("environments/preview/pr-7")).unwrap();
        assert_eq!(dir_meta.permissions().mode() & 0o777, 0o777 & !umask());
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

    /// Every file and directory under `dir` (links not followed), with its bytes or link target.
    fn listing(dir: &Path) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(current) = stack.pop() {
            for entry in std::fs::read_dir(&current).unwrap() {
                let path = entry.unwrap().path();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                let what = if meta.file_type().is_symlink() {
                    format!("-> {}", std::fs::read_link(&path).unwrap().display())
                } else if meta.is_dir() {
                    stack.push(path.clone());
                    "dir".to_owned()
                } else {
                    String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned()
                };
                out.push((path, what));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn a_symlink_inside_the_gitops_dir_is_refused_and_what_it_points_at_stays() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("pr-43/services")).unwrap();
        std::fs::write(root.join("pr-43/services/a.values.yaml"), "old").unwrap();
        std::os::unix::fs::symlink("pr-43", root.join("pr-42")).unwrap();
        std::fs::create_dir_all(root.join("pr-44/services")).unwrap();
        std::os::unix::fs::symlink(
            "../../pr-43/services/a.values.yaml",
            root.join("pr-44/services/a.values.yaml"),
        )
        .unwrap();
        let gitops = GitopsDir::new(root).unwrap();
        let before = listing(root);
        let through_dir = Path::new("pr-42/services/a.values.yaml");
        let linked_file = Path::new("pr-44/services/a.values.yaml");
        let results = [
            gitops.replace(through_dir, b"new"),
            gitops.replace(linked_file, b"new"),
            gitops.create(Path::new("pr-42/services/b.values.yaml"), b"new"),
            gitops.create(linked_file, b"new"),
            gitops.remove_file(through_dir).map(drop),
            gitops.remove_file(linked_file).map(drop),
            gitops
                .remove_dir_if_empty(Path::new("pr-42/services"))
                .map(drop),
            gitops.check(through_dir, Op::Replace),
            gitops.check(linked_file, Op::Remove),
        ];
        for result in results {
            let Err(FsError::Symlink { link, target, .. }) = &result else {
                panic!("{result:?}");
            };
            assert!(
                link.ends_with("pr-42") || link.ends_with(linked_file),
                "{link:?}"
            );
            assert!(target.starts_with("pr-43") || target.starts_with("../../pr-43"));
        }
        let message = gitops.replace(through_dir, b"new").unwrap_err().to_string();
        assert!(
            message.contains(&format!("`{}`", root.join(through_dir).display()))
                && message.contains(&format!("`{}`", root.join("pr-42").display())),
            "{message}"
        );
        assert_eq!(listing(root), before);
    }

    #[test]
    fn a_file_where_a_directory_belongs_is_an_error_not_a_refusal_of_a_link() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pr-1"), "x").unwrap();
        let gitops = GitopsDir::new(dir.path()).unwrap();
        let result = gitops.create(Path::new("pr-1/services/a.values.yaml"), b"x");
        assert!(matches!(result, Err(FsError::Io { .. })), "{result:?}");
        assert_eq!(std::fs::read(dir.path().join("pr-1")).unwrap(), b"x");
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
