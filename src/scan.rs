//! Stage 1 — scan: the gitops dir → the files of the layout, read as bytes. Nothing is
//! decoded or parsed here (a Kubernetes service's file need not be UTF-8); a file that cannot
//! be read, resolves outside the gitops dir, or is not a regular file becomes a [`Problem`]
//! without being read.
//!
//! ```text
//! services/<service>/config.yaml
//! environments/{staging,production}/<service>/config.yaml
//! environments/preview/<pr-dir>/services/<service>.values.yaml
//! ```
//!
//! The gitops dir may be spelt any way (`.`, `./`, `repo/`, absolute, through a symlink): it
//! is walked through its canonical path, and paths are shown under the spelling given.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::problem::Problem;
use crate::yaml::{LoadError, MAX_BYTES};

/// A file read from the gitops dir.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as shown to users: the gitops dir as given, joined with the relative path.
    pub path: PathBuf,
    pub contents: Contents,
}

#[derive(Debug, Clone)]
pub enum Contents {
    Bytes(Vec<u8>),
    /// Over [`MAX_BYTES`]: not read.
    TooLarge {
        size: u64,
    },
}

impl SourceFile {
    /// The bytes, or why there are none to parse.
    pub fn bytes(&self) -> Result<&[u8], LoadError> {
        match &self.contents {
            Contents::Bytes(bytes) => Ok(bytes),
            Contents::TooLarge { size } => Err(LoadError::TooLarge { size: *size }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EnvName {
    Staging,
    Production,
}

impl EnvName {
    pub const ALL: [EnvName; 2] = [EnvName::Staging, EnvName::Production];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staging => "staging",
            Self::Production => "production",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServiceFile {
    /// The directory name under `services/`.
    pub dir: String,
    pub file: SourceFile,
}

#[derive(Debug, Clone)]
pub struct EnvFile {
    pub env: EnvName,
    /// The directory name under `environments/<env>/`.
    pub dir: String,
    pub file: SourceFile,
}

#[derive(Debug, Clone)]
pub struct PreviewFile {
    /// The directory name under `environments/preview/`, e.g. `pr-42` (validated later).
    pub dir: String,
    /// The file name without `.values.yaml`.
    pub service: String,
    pub file: SourceFile,
}

#[derive(Debug, Default)]
pub struct Tree {
    /// The gitops dir, canonical.
    pub root: PathBuf,
    pub services: Vec<ServiceFile>,
    pub environments: Vec<EnvFile>,
    pub previews: Vec<PreviewFile>,
    /// Files that matched the layout but were refused or could not be read.
    pub problems: Vec<Problem>,
}

/// Reads every file of the layout under `root`, in a stable (sorted) order.
pub fn scan(root: &Path) -> Tree {
    let mut tree = Tree::default();
    let canonical = match root.canonicalize() {
        Ok(canonical) => canonical,
        Err(error) => {
            tree.problems.push(Problem::new(
                root,
                None,
                format!("could not resolve the gitops dir: {error}"),
            ));
            return tree;
        }
    };
    let walker = Walker {
        root: canonical.clone(),
        shown: shown_root(root),
    };
    tree.root = canonical;
    let problems = &mut tree.problems;

    for (name, dir) in walker.entries(&["services".into()], problems) {
        let relative = ["services".into(), name, "config.yaml".into()];
        if let Some(file) = walker.file(&relative, problems) {
            tree.services.push(ServiceFile { dir, file });
        }
    }
    for env in EnvName::ALL {
        let parent = ["environments".into(), env.as_str().into()];
        for (name, dir) in walker.entries(&parent, problems) {
            let relative = [
                "environments".into(),
                env.as_str().into(),
                name,
                "config.yaml".into(),
            ];
            if let Some(file) = walker.file(&relative, problems) {
                tree.environments.push(EnvFile { env, dir, file });
            }
        }
    }
    let previews: [OsString; 2] = ["environments".into(), "preview".into()];
    for (pr_name, pr_dir) in walker.entries(&previews, problems) {
        let services = [
            previews[0].clone(),
            previews[1].clone(),
            pr_name,
            "services".into(),
        ];
        for (name, file_name) in walker.entries(&services, problems) {
            let Some(service) = file_name.strip_suffix(".values.yaml") else {
                continue;
            };
            let mut relative = services.to_vec();
            relative.push(name);
            if let Some(file) = walker.file(&relative, problems) {
                tree.previews.push(PreviewFile {
                    dir: pr_dir.clone(),
                    service: service.to_owned(),
                    file,
                });
            }
        }
    }
    tree
}

/// `.` and `./` show as nothing, so `services/a/config.yaml` reads as the user would type it.
fn shown_root(root: &Path) -> PathBuf {
    if root.components().all(|c| c == Component::CurDir) {
        PathBuf::new()
    } else {
        root.to_path_buf()
    }
}

struct Walker {
    root: PathBuf,
    shown: PathBuf,
}

impl Walker {
    fn shown(&self, relative: &[OsString]) -> PathBuf {
        relative
            .iter()
            .fold(self.shown.clone(), |path, part| path.join(part))
    }

    /// The entries of a directory of the layout (none when it does not exist), sorted, with
    /// their names as text; hidden ones (`.name`) are not part of the layout.
    fn entries(
        &self,
        relative: &[OsString],
        problems: &mut Vec<Problem>,
    ) -> Vec<(OsString, String)> {
        let path = relative
            .iter()
            .fold(self.root.clone(), |path, part| path.join(part));
        let reader = match std::fs::read_dir(&path) {
            Ok(reader) => reader,
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Vec::new()
            }
            Err(error) => {
                problems.push(Problem::new(
                    &self.shown(relative),
                    None,
                    format!("could not list the directory: {error}"),
                ));
                return Vec::new();
            }
        };
        let mut entries: Vec<(OsString, String)> = reader
            .filter_map(Result::ok)
            .map(|entry| {
                let name = entry.file_name();
                let text = name.to_string_lossy().into_owned();
                (name, text)
            })
            .filter(|(_, text)| !text.starts_with('.'))
            .collect();
        entries.sort();
        entries
    }

    /// Reads `relative` when it is a regular file inside the gitops dir, symlinks resolved.
    fn file(&self, relative: &[OsString], problems: &mut Vec<Problem>) -> Option<SourceFile> {
        let path = relative
            .iter()
            .fold(self.root.clone(), |path, part| path.join(part));
        let shown = self.shown(relative);
        // Nothing there (or a service dir without this file): not part of the layout.
        std::fs::symlink_metadata(&path).ok()?;
        let mut refuse = |message: String| {
            problems.push(Problem::new(&shown, None, message));
            None
        };
        let resolved = match path.canonicalize() {
            Ok(resolved) => resolved,
            Err(error) => return refuse(format!("could not resolve the file: {error}")),
        };
        if !resolved.starts_with(&self.root) {
            return refuse(
                "resolves outside the gitops dir (through a symlink); refused without reading it"
                    .into(),
            );
        }
        let metadata = match std::fs::metadata(&resolved) {
            Ok(metadata) => metadata,
            Err(error) => return refuse(format!("could not read the file: {error}")),
        };
        if metadata.is_dir() {
            return None;
        }
        if !metadata.is_file() {
            return refuse("is not a regular file; refused without reading it".into());
        }
        if metadata.len() > MAX_BYTES as u64 {
            return Some(SourceFile {
                path: shown,
                contents: Contents::TooLarge {
                    size: metadata.len(),
                },
            });
        }
        let mut bytes = Vec::with_capacity(metadata.len() as usize);
        let read = std::fs::File::open(&resolved)
            .and_then(|file| file.take(MAX_BYTES as u64 + 1).read_to_end(&mut bytes));
        if let Err(error) = read {
            return refuse(format!("could not read the file: {error}"));
        }
        let contents = if bytes.len() > MAX_BYTES {
            Contents::TooLarge {
                size: bytes.len() as u64,
            }
        } else {
            Contents::Bytes(bytes)
        };
        Some(SourceFile {
            path: shown,
            contents,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn finds_each_kind_of_file_and_names_its_parts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "services/a/config.yaml", "x");
        write(root, "services/b/other.yaml", "x");
        write(root, "services/.hidden/config.yaml", "x");
        write(root, "environments/staging/a/config.yaml", "x");
        write(root, "environments/dev/a/config.yaml", "x");
        write(
            root,
            "environments/preview/pr-7/services/a.values.yaml",
            "x",
        );
        write(root, "environments/preview/pr-7/services/notes.txt", "x");
        write(
            root,
            "environments/preview/pr-12abc/services/a.values.yaml",
            "x",
        );

        let tree = scan(root);
        assert_eq!(tree.services.len(), 1);
        assert_eq!(tree.services[0].dir, "a");
        assert_eq!(tree.environments.len(), 1);
        assert_eq!(tree.environments[0].env, EnvName::Staging);
        let previews: Vec<_> = tree
            .previews
            .iter()
            .map(|p| (p.dir.as_str(), p.service.as_str()))
            .collect();
        assert_eq!(previews, [("pr-12abc", "a"), ("pr-7", "a")]);
        assert!(tree.problems.is_empty());
    }

    #[test]
    fn a_root_with_glob_characters_is_taken_literally() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("odd[dir]*");
        write(&root, "services/a/config.yaml", "x");
        assert_eq!(scan(&root).services.len(), 1);
    }

    #[test]
    fn paths_are_shown_under_the_spelling_given() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "services/a/config.yaml", "x");
        let dot = PathBuf::from(".");
        assert_eq!(shown_root(&dot), PathBuf::new());
        assert_eq!(shown_root(Path::new("./")), PathBuf::new());
        assert_eq!(shown_root(Path::new("./repo")), PathBuf::from("./repo"));
        let walker = Walker {
            root: dir.path().to_path_buf(),
            shown: PathBuf::new(),
        };
        let relative: Vec<OsString> = ["services", "a", "config.yaml"].map(Into::into).to_vec();
        let file = walker.file(&relative, &mut Vec::new()).unwrap();
        assert_eq!(file.path, PathBuf::from("services/a/config.yaml"));
    }

    #[test]
    fn symlinks_that_stay_inside_the_root_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "shared/a/config.yaml", "x");
        std::fs::create_dir_all(root.join("services")).unwrap();
        std::os::unix::fs::symlink(root.join("shared/a"), root.join("services/a")).unwrap();
        let tree = scan(root);
        assert_eq!(tree.services.len(), 1, "{:?}", tree.problems);
        assert_eq!(
            tree.services[0].file.path,
            root.join("services/a/config.yaml")
        );
    }

    #[test]
    fn files_outside_the_root_and_fifos_are_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("gitops");
        write(dir.path(), "secret.yaml", "password: hunter2\n");
        std::fs::create_dir_all(root.join("services/a")).unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("secret.yaml"),
            root.join("services/a/config.yaml"),
        )
        .unwrap();
        std::fs::create_dir_all(root.join("environments/staging/a")).unwrap();
        let fifo = std::process::Command::new("mkfifo")
            .arg(root.join("environments/staging/a/config.yaml"))
            .status()
            .unwrap();
        assert!(fifo.success());
        let tree = scan(&root);
        assert!(tree.services.is_empty() && tree.environments.is_empty());
        let messages: Vec<String> = tree.problems.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[0].contains("resolves outside the gitops dir"),
            "{messages:?}"
        );
        assert!(messages[1].contains("not a regular file"), "{messages:?}");
        assert!(!messages.concat().contains("hunter2"));
    }
}
