//! Stage 2 — validate: the scanned files → a valid [`Repo`] or every problem at once.
//!
//! Each file is parsed strictly and checked on its own ([`files`]), the survivors are
//! resolved into the desired state ([`crate::resolve`]), and rules across files are
//! checked on that ([`cross`]). Nothing is fetched or written.

mod cross;
pub mod files;
pub mod rules;
pub mod yaml;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::desired::Repo;
use crate::problem::{self, Problem};
use crate::resolve::{self, Roots};
use crate::scan::Tree;

pub fn validate(tree: &Tree, roots: &Roots<'_>) -> Result<Repo, Vec<Problem>> {
    let mut problems = tree.problems.clone();
    let checked = files::check(tree, &mut problems);
    let repo = resolve::resolve(&checked, roots, &mut problems);

    let texts: HashMap<PathBuf, &str> = tree
        .services
        .iter()
        .map(|s| &s.file)
        .chain(tree.environments.iter().map(|e| &e.file))
        .chain(tree.previews.iter().map(|p| &p.file))
        .map(|file| (file.path.clone(), file.text.as_str()))
        .collect();
    cross::check(&repo, &texts, &mut problems);

    if problems.is_empty() {
        Ok(repo)
    } else {
        Err(problem::sorted(problems))
    }
}
