//! Stage 1 — scan: the gitops dir → the files that may describe Lambda deployments,
//! read into memory. No parsing happens here; an unreadable file becomes a [`Problem`].
//!
//! ```text
//! services/<service>/config.yaml
//! environments/{staging,production}/<service>/config.yaml
//! environments/preview/<pr-dir>/services/<service>.values.yaml
//! ```

use std::path::{Path, PathBuf};

use crate::problem::Problem;

/// A file read from the gitops dir.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as shown to users: the gitops dir as given, joined with the relative path.
    pub path: PathBuf,
    pub text: String,
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
    pub services: Vec<ServiceFile>,
    pub environments: Vec<EnvFile>,
    pub previews: Vec<PreviewFile>,
    /// Files that matched the layout but could not be read.
    pub problems: Vec<Problem>,
}

/// Reads every file of the layout under `root`, in a stable (sorted) order.
pub fn scan(root: &Path) -> Tree {
    let mut tree = Tree::default();

    for (path, parts) in matches(root, &["services", "*", "config.yaml"]) {
        if let Some(file) = read(&path, &mut tree.problems) {
            tree.services.push(ServiceFile {
                dir: parts[0].clone(),
                file,
            });
        }
    }
    for env in EnvName::ALL {
        for (path, parts) in matches(root, &["environments", env.as_str(), "*", "config.yaml"]) {
            if let Some(file) = read(&path, &mut tree.problems) {
                tree.environments.push(EnvFile {
                    env,
                    dir: parts[0].clone(),
                    file,
                });
            }
        }
    }
    for (path, parts) in matches(
        root,
        &["environments", "preview", "*", "services", "*.values.yaml"],
    ) {
        if let Some(file) = read(&path, &mut tree.problems) {
            let service = parts[1].trim_end_matches(".values.yaml").to_owned();
            tree.previews.push(PreviewFile {
                dir: parts[0].clone(),
                service,
                file,
            });
        }
    }
    tree
}

/// Files matching `root/<segments…>`, with the text each `*` segment matched.
fn matches(root: &Path, segments: &[&str]) -> Vec<(PathBuf, Vec<String>)> {
    let pattern =
        Path::new(&glob::Pattern::escape(&root.to_string_lossy())).join(segments.join("/"));
    let options = glob::MatchOptions {
        require_literal_leading_dot: true,
        ..Default::default()
    };
    let Ok(paths) = glob::glob_with(&pattern.to_string_lossy(), options) else {
        return Vec::new();
    };
    let mut found: Vec<_> = paths
        .filter_map(Result::ok)
        .filter(|path| path.is_file())
        .filter_map(|path| {
            let relative = path.strip_prefix(root).ok()?;
            let components: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let wild = segments
                .iter()
                .zip(&components)
                .filter(|(segment, _)| segment.contains('*'))
                .map(|(_, component)| component.clone())
                .collect();
            Some((path, wild))
        })
        .collect();
    found.sort();
    found
}

fn read(path: &Path, problems: &mut Vec<Problem>) -> Option<SourceFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(SourceFile {
            path: path.to_path_buf(),
            text,
        }),
        Err(error) => {
            problems.push(Problem::new(
                path,
                None,
                format!("could not read the file: {error}"),
            ));
            None
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
        write(root, "environments/staging/a/config.yaml", "x");
        write(root, "environments/dev/a/config.yaml", "x");
        write(
            root,
            "environments/preview/pr-7/services/a.values.yaml",
            "x",
        );
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
        let root = dir.path().join("odd[dir]");
        write(&root, "services/a/config.yaml", "x");
        assert_eq!(scan(&root).services.len(), 1);
    }
}
