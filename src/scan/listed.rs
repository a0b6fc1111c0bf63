//! The scan of a tree that is not on disk: the files of a git revision, listed with their
//! bytes (`crate::git::files_at`), become the same [`Tree`] that walking the gitops dir
//! gives — layout files read, YAML files off the layout looked at as strays, a symlink at
//! a layout path a problem — so that validation and resolution judge both alike.

use std::path::{Path, PathBuf};

use crate::git::{TreeFile, TreeFileKind};
use crate::problem::{excerpt, Problem};
use crate::yaml::probe;

use super::{position, push_layout_file, Contents, SourceFile, Stray, StrayKind, Tree};

/// The tree of `files` (paths relative to the gitops dir), shown under `shown` as a scan of
/// the gitops dir at `root` would show them.
pub fn from_listing(root: &Path, shown: &Path, mut files: Vec<TreeFile>) -> Tree {
    let mut tree = Tree {
        root: root.to_path_buf(),
        shown: super::shown_root(shown),
        ..Tree::default()
    };
    // The walk's order: each directory's entries sorted by name.
    files.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
    for file in files {
        let parts: Vec<&str> = file.path.split('/').collect();
        // Hidden entries are not part of the layout, and the walk does not enter them.
        if parts.iter().any(|part| part.starts_with('.')) {
            continue;
        }
        let path = parts
            .iter()
            .fold(tree.shown.clone(), |p, part| p.join(part));
        add(&mut tree, &parts, path, file.kind);
    }
    tree.environments
        .sort_by(|a, b| (a.env, &a.dir).cmp(&(b.env, &b.dir)));
    tree
}

fn add(tree: &mut Tree, parts: &[&str], path: PathBuf, kind: TreeFileKind) {
    let layout_file = position::layout_file(parts);
    let stray = |kind| Stray {
        parts: parts.iter().map(|p| (*p).to_owned()).collect(),
        path: path.clone(),
        kind,
    };
    match kind {
        TreeFileKind::Link(target) => {
            // git keeps no directory symlink with files below it, so a link on the way to a
            // layout file is the link itself at a layout directory's path.
            let at_layout = layout_file.is_some() || position::is_layout_dir(parts);
            if at_layout {
                tree.problems.push(link_problem(&path, &target));
            } else {
                tree.strays.push(stray(StrayKind::Link));
            }
        }
        TreeFileKind::File(contents) => {
            let contents = match contents {
                Ok(bytes) => Contents::Bytes(bytes),
                Err(size) => Contents::TooLarge { size },
            };
            if let Some(layout_file) = layout_file {
                let file = SourceFile {
                    path: path.clone(),
                    contents,
                };
                push_layout_file(tree, layout_file, file);
            } else if position::is_yaml_name(parts[parts.len() - 1]) {
                let look = match &contents {
                    Contents::Bytes(bytes) => probe::look(bytes),
                    Contents::TooLarge { .. } => None,
                };
                tree.strays.push(stray(StrayKind::Yaml(look)));
            }
        }
    }
}

fn link_problem(shown: &Path, target: &str) -> Problem {
    Problem::new(
        shown,
        None,
        format!(
            "is a symlink (to `{}`); refused: the layout would hold two paths for one file, and an edit through one would change the other",
            excerpt(target)
        ),
    )
    .with_hint("replace the link with the file or directory itself")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> TreeFile {
        TreeFile {
            path: path.to_owned(),
            kind: TreeFileKind::File(Ok(text.as_bytes().to_vec())),
        }
    }

    #[test]
    fn a_listing_becomes_the_tree_a_walk_of_the_same_files_gives() {
        let dir = tempfile::tempdir().unwrap();
        let listing = vec![
            file("services/b/config.yaml", "x"),
            file("environments/production/a/config.yaml", "x"),
            file("environments/staging/a/config.yaml", "x"),
            file("services/a/config.yaml", "x"),
            file("services/.hidden/config.yaml", "x"),
            file("environments/preview/pr-7/services/a.values.yaml", "x"),
            file("environments/dev/a/config.yaml", "lambda: {}\n"),
            TreeFile {
                path: "services/c".into(),
                kind: TreeFileKind::Link("../elsewhere".into()),
            },
        ];
        for (relative, text) in [
            ("services/b/config.yaml", "x"),
            ("environments/production/a/config.yaml", "x"),
            ("environments/staging/a/config.yaml", "x"),
            ("services/a/config.yaml", "x"),
            ("environments/preview/pr-7/services/a.values.yaml", "x"),
            ("environments/dev/a/config.yaml", "lambda: {}\n"),
        ] {
            let path = dir.path().join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let listed = from_listing(dir.path(), Path::new("."), listing);
        let walked = super::super::scan(dir.path());
        let names = |tree: &Tree| {
            let mut names: Vec<String> = tree
                .services
                .iter()
                .map(|f| &f.file)
                .chain(tree.environments.iter().map(|f| &f.file))
                .chain(tree.previews.iter().map(|f| &f.file))
                .map(|f| f.path.display().to_string())
                .collect();
            names.extend(tree.strays.iter().map(|s| s.parts.join("/")));
            names
        };
        let walked_names: Vec<String> = names(&walked)
            .into_iter()
            .map(|n| {
                n.trim_start_matches(&format!("{}/", dir.path().display()))
                    .to_owned()
            })
            .collect();
        assert_eq!(names(&listed), walked_names);
        assert_eq!(listed.problems.len(), 1, "{:?}", listed.problems);
        assert!(listed.problems[0]
            .to_string()
            .starts_with("services/c: is a symlink (to `../elsewhere`)"));
    }
}
