//! Stage 1 — scan: the gitops dir → the files of the layout, read as bytes, and what else
//! lies under `services/` and `environments/`. Layout files are not decoded or parsed here (a
//! Kubernetes service's file need not be UTF-8); a layout file that cannot be read or is not a
//! regular file becomes a [`Problem`] without being read.
//!
//! ```text
//! services/<service>/config.yaml
//! environments/{staging,production}/<service>/config.yaml
//! environments/preview/<pr-dir>/services/<service>.values.yaml
//! ```
//!
//! Symlinks are never followed below the gitops dir: one at a layout path or on the way to
//! one (`services/`, `services/<service>`, `environments/preview/<pr-dir>`, a config file…)
//! is a problem — two paths for one file, so an edit of one would change the other; any
//! other is recorded as a [`Stray`] for validation to judge. So is every other YAML file
//! under the two directories, with a lenient look at its top level ([`probe::look`]), so
//! that a Lambda-looking file off the layout is never silently unseen. Hidden entries
//! (`.name`) are not part of the layout and are not walked.
//!
//! [`from_listing`] builds the same tree from files listed rather than walked (a git
//! revision's, for `matrix --changed-since`).
//!
//! The gitops dir may be spelt any way (`.`, `./`, `repo/`, absolute, through a symlink): it
//! is walked through its canonical path, and paths are shown under the spelling given.

mod listed;
mod position;

use std::ffi::OsString;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::desired::Environment;
use crate::problem::{excerpt, Problem};
use crate::yaml::probe::{self, Look};
use crate::yaml::{LoadError, MAX_BYTES};

pub use listed::from_listing;
pub use position::{is_yaml_name, LayoutFile};

/// Directories nested deeper than this under the gitops dir are not walked: a problem.
const MAX_WALK_DEPTH: usize = 32;
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

#[derive(Debug, Clone)]
pub struct ServiceFile {
    /// The directory name under `services/`.
    pub dir: String,
    pub file: SourceFile,
}

#[derive(Debug, Clone)]
pub struct EnvFile {
    pub env: Environment,
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

/// A file or symlink under `services/` or `environments/` that is not on the layout.
#[derive(Debug, Clone)]
pub struct Stray {
    /// Its path's parts under the gitops dir (`["environments", "prod", "a", "config.yaml"]`).
    pub parts: Vec<String>,
    /// As shown to users.
    pub path: PathBuf,
    pub kind: StrayKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrayKind {
    /// A symlink (to anything), not followed.
    Link,
    /// A YAML file (`.yaml`, `.yml`): what its top level says, `None` when the lenient
    /// reading cannot get to its end (or it is over 1 MiB).
    Yaml(Option<Look>),
    /// A YAML file that could not be read at all: why.
    Unreadable(String),
}

#[derive(Debug, Default)]
pub struct Tree {
    /// The gitops dir, canonical.
    pub root: PathBuf,
    /// The gitops dir as shown to users (nothing for `.`).
    pub shown: PathBuf,
    pub services: Vec<ServiceFile>,
    pub environments: Vec<EnvFile>,
    pub previews: Vec<PreviewFile>,
    /// Files and symlinks off the layout, for validation to judge.
    pub strays: Vec<Stray>,
    /// Layout paths that were refused (symlinks, not regular files) or could not be read.
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
    tree.shown = walker.shown.clone();
    for top in ["services", "environments"] {
        let mut parts = vec![OsString::from(top)];
        walker.visit(&mut parts, &mut tree);
    }
    // Staging before production, as the rest of the pipeline lists them.
    tree.environments
        .sort_by(|a, b| (a.env, &a.dir).cmp(&(b.env, &b.dir)));
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

    fn absolute(&self, relative: &[OsString]) -> PathBuf {
        relative
            .iter()
            .fold(self.root.clone(), |path, part| path.join(part))
    }

    /// The entry at `parts` (which exists or is gone): refused, recorded, read or walked.
    fn visit(&self, parts: &mut Vec<OsString>, tree: &mut Tree) {
        let path = self.absolute(parts);
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            return;
        };
        let texts: Vec<String> = parts
            .iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        let names: Vec<&str> = texts.iter().map(String::as_str).collect();
        let layout_file = position::layout_file(&names);
        if metadata.file_type().is_symlink() {
            if layout_file.is_some() || position::is_layout_dir(&names) {
                let problem = self.link_problem(&path, &self.shown(parts));
                tree.problems.push(problem);
            } else {
                tree.strays.push(self.stray(parts, texts, StrayKind::Link));
            }
        } else if metadata.is_dir() {
            self.walk(parts, tree);
        } else if let Some(layout_file) = layout_file {
            let Some(file) = self.read_layout(parts, &metadata, &mut tree.problems) else {
                return;
            };
            push_layout_file(tree, layout_file, file);
        } else if is_yaml_name(&texts[texts.len() - 1]) {
            let kind = self.look(&path, &metadata);
            tree.strays.push(self.stray(parts, texts, kind));
        }
    }

    /// Visits the entries of the directory at `parts`, sorted; hidden ones (`.name`) are not
    /// part of the layout.
    fn walk(&self, parts: &mut Vec<OsString>, tree: &mut Tree) {
        if parts.len() > MAX_WALK_DEPTH {
            tree.problems.push(Problem::new(
                &self.shown(parts),
                None,
                format!("directories nested deeper than {MAX_WALK_DEPTH} levels are not read"),
            ));
            return;
        }
        let path = self.absolute(parts);
        let reader = match std::fs::read_dir(&path) {
            Ok(reader) => reader,
            Err(error) => {
                tree.problems.push(Problem::new(
                    &self.shown(parts),
                    None,
                    format!("could not list the directory: {error}"),
                ));
                return;
            }
        };
        let mut names: Vec<OsString> = reader
            .filter_map(Result::ok)
            .map(|entry| entry.file_name())
            .filter(|name| !name.as_encoded_bytes().starts_with(b"."))
            .collect();
        names.sort();
        for name in names {
            parts.push(name);
            self.visit(parts, tree);
            parts.pop();
        }
    }

    fn stray(&self, parts: &[OsString], texts: Vec<String>, kind: StrayKind) -> Stray {
        Stray {
            parts: texts,
            path: self.shown(parts),
            kind,
        }
    }

    /// A symlink at a layout path or on the way to one.
    fn link_problem(&self, path: &Path, shown: &Path) -> Problem {
        let inside = path
            .canonicalize()
            .map_or(true, |resolved| resolved.starts_with(&self.root));
        if !inside {
            return Problem::new(
                shown,
                None,
                "resolves outside the gitops dir (through a symlink); refused without reading it",
            )
            .with_hint("replace the link with the file or directory itself");
        }
        let target = std::fs::read_link(path)
            .map(|target| excerpt(&target.to_string_lossy()))
            .unwrap_or_default();
        Problem::new(
            shown,
            None,
            format!(
                "is a symlink (to `{target}`); refused: the layout would hold two paths for one file, and an edit through one would change the other"
            ),
        )
        .with_hint("replace the link with the file or directory itself")
    }

    /// Reads the layout file at `parts` when it is a regular file.
    fn read_layout(
        &self,
        parts: &[OsString],
        metadata: &std::fs::Metadata,
        problems: &mut Vec<Problem>,
    ) -> Option<SourceFile> {
        let shown = self.shown(parts);
        if !metadata.is_file() {
            problems.push(Problem::new(
                &shown,
                None,
                "is not a regular file; refused without reading it",
            ));
            return None;
        }
        match read(&self.absolute(parts), metadata) {
            Ok(contents) => Some(SourceFile {
                path: shown,
                contents,
            }),
            Err(error) => {
                problems.push(Problem::new(
                    &shown,
                    None,
                    format!("could not read the file: {error}"),
                ));
                None
            }
        }
    }

    /// A lenient look at a YAML file off the layout; its bytes are not kept.
    fn look(&self, path: &Path, metadata: &std::fs::Metadata) -> StrayKind {
        if !metadata.is_file() {
            return StrayKind::Unreadable("it is not a regular file".into());
        }
        match read(path, metadata) {
            Ok(Contents::Bytes(bytes)) => StrayKind::Yaml(probe::look(&bytes)),
            Ok(Contents::TooLarge { .. }) => StrayKind::Yaml(None),
            Err(error) => StrayKind::Unreadable(error.to_string()),
        }
    }
}

/// The bytes of the regular file at `path`, up to [`MAX_BYTES`].
fn read(path: &Path, metadata: &std::fs::Metadata) -> std::io::Result<Contents> {
    if metadata.len() > MAX_BYTES as u64 {
        return Ok(Contents::TooLarge {
            size: metadata.len(),
        });
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    std::fs::File::open(path)?
        .take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(if bytes.len() > MAX_BYTES {
        Contents::TooLarge {
            size: bytes.len() as u64,
        }
    } else {
        Contents::Bytes(bytes)
    })
}

fn push_layout_file(tree: &mut Tree, layout_file: LayoutFile, file: SourceFile) {
    match layout_file {
        LayoutFile::Service { dir } => tree.services.push(ServiceFile { dir, file }),
        LayoutFile::Env { env, dir } => tree.environments.push(EnvFile { env, dir, file }),
        LayoutFile::Preview { dir, service } => {
            tree.previews.push(PreviewFile { dir, service, file })
        }
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
        assert_eq!(tree.environments[0].env, Environment::Staging);
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
        let mut tree = Tree::default();
        walker.visit(&mut vec!["services".into()], &mut tree);
        assert_eq!(
            tree.services[0].file.path,
            PathBuf::from("services/a/config.yaml")
        );
    }

    #[test]
    fn symlinks_inside_the_root_are_refused_at_the_link_and_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "shared/a/config.yaml", "x");
        write(
            root,
            "environments/preview/pr-43/services/a.values.yaml",
            "x",
        );
        std::fs::create_dir_all(root.join("services")).unwrap();
        std::os::unix::fs::symlink(root.join("shared/a"), root.join("services/a")).unwrap();
        std::os::unix::fs::symlink("pr-43", root.join("environments/preview/pr-42")).unwrap();
        let tree = scan(root);
        assert!(tree.services.is_empty());
        assert_eq!(tree.previews.len(), 1, "only pr-43 is read");
        let messages: Vec<String> = tree.problems.iter().map(ToString::to_string).collect();
        let expected = [
            format!(
                "{}: is a symlink (to `{}`)",
                root.join("services/a").display(),
                root.join("shared/a").display()
            ),
            format!(
                "{}: is a symlink (to `pr-43`)",
                root.join("environments/preview/pr-42").display()
            ),
        ];
        assert_eq!(messages.len(), 2, "{messages:?}");
        for (message, expected) in messages.iter().zip(&expected) {
            assert!(message.starts_with(expected.as_str()), "{messages:?}");
        }
    }

    #[test]
    fn yaml_files_and_symlinks_off_the_layout_are_recorded_with_a_look() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "environments/Staging/a/config.yaml",
            "lambda:\n  version: '1'\n",
        );
        write(root, "environments/dev/README.md", "# notes");
        write(root, "services/api/chart/values.yml", "\u{feff}image: x\n");
        write(
            root,
            "services/api/config.yaml",
            "deploymentType: kubernetes\n",
        );
        std::os::unix::fs::symlink("values.yml", root.join("services/api/chart/v.yaml")).unwrap();
        let tree = scan(root);
        let strays: Vec<(String, &StrayKind)> = tree
            .strays
            .iter()
            .map(|stray| (stray.parts.join("/"), &stray.kind))
            .collect();
        let lambda = Look {
            deployment_type: None,
            lambda_key: true,
        };
        assert_eq!(
            strays,
            [
                ("services/api/chart/v.yaml".to_owned(), &StrayKind::Link),
                (
                    "services/api/chart/values.yml".to_owned(),
                    &StrayKind::Yaml(Some(Look::default()))
                ),
                (
                    "environments/Staging/a/config.yaml".to_owned(),
                    &StrayKind::Yaml(Some(lambda))
                ),
            ]
        );
        assert!(tree.problems.is_empty(), "{:?}", tree.problems);
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
