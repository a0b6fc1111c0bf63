//! Scan → validate → resolve, the part of the pipeline every command shares, and the
//! services a run is about.

use crate::desired::{DesiredService, Repo};
use crate::error::Error;
use crate::problem::{self, Problem};
use crate::resolve::Roots;
use crate::scan::Tree;
use crate::settings::Settings;

/// Scan → validate → resolve: the part of the pipeline every command shares. No network.
/// An invalid repo is every problem at once; a repo without a Lambda service is an error
/// unless `--allow-empty`.
pub fn load_repo(settings: &Settings) -> Result<Repo, Error> {
    let tree = crate::scan::scan(&settings.gitops_dir);
    let Resolved {
        repo,
        mut problems,
        unresolved,
    } = resolve_tree(settings, &tree);
    problems.extend(unresolved);
    if !problems.is_empty() {
        return Err(Error::Invalid {
            problems: problem::sorted(problems),
        });
    }
    if repo.services.is_empty() && !settings.allow_empty {
        return Err(Error::NoServices {
            gitops_dir: settings.gitops_dir.clone(),
            canonical: tree.root,
            service_configs: tree.services.len(),
        });
    }
    tracing::debug!(
        "{} Lambda service(s) in `{}`",
        repo.services.len(),
        settings.gitops_dir.display()
    );
    Ok(repo)
}

/// A scanned tree, validated and resolved as `plan` does.
pub struct Resolved {
    pub repo: Repo,
    /// Validation's problems.
    pub problems: Vec<Problem>,
    /// Resolution's problems (a package that cannot be found, a cross-file conflict).
    pub unresolved: Vec<Problem>,
}

/// Validate → resolve of `tree`, `path` packages under the settings' package root.
pub fn resolve_tree(settings: &Settings, tree: &Tree) -> Resolved {
    let mut problems = Vec::new();
    let checked = crate::validate::validate(tree, &mut problems);
    let roots = Roots {
        gitops_dir: &settings.gitops_dir,
        package_root: &settings.package_root,
    };
    let mut unresolved = Vec::new();
    let repo = crate::resolve::resolve(&checked, &roots, &mut unresolved);
    Resolved {
        repo,
        problems,
        unresolved,
    }
}

/// The services named by `--service` (all of them when none is named; none for an empty
/// repo, which [`load_repo`] only returns under `--allow-empty`).
pub fn select<'a>(repo: &'a Repo, names: &[String]) -> Result<Vec<&'a DesiredService>, Error> {
    if names.is_empty() {
        return Ok(repo.services.iter().collect());
    }
    names
        .iter()
        .map(|name| {
            repo.services
                .iter()
                .find(|s| &s.name == name)
                .ok_or_else(|| Error::UnknownService {
                    name: name.clone(),
                    known: known(repo),
                })
        })
        .collect()
}

pub fn known(repo: &Repo) -> Vec<String> {
    repo.services.iter().map(|s| s.name.clone()).collect()
}
