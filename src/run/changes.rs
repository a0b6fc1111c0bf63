//! `matrix --changed-since <rev>`: the services whose resolved deployments differ between a
//! git revision and the working tree. The revision's `services/` and `environments/` are
//! read through git (never checked out), scanned, validated and resolved exactly as `plan`
//! does the working tree; two services are the same when their resolved values are — so a
//! reformatted or comment-only file changes nothing, while a version, a package, a setting
//! after overrides and templates, or a preview added or removed does. A service gone since
//! the revision is listed too, so that its state is handled as any run handles it.

use std::collections::BTreeMap;

use crate::desired::{DesiredService, Repo};
use crate::error::Error;
use crate::problem::Problem;
use crate::process::child_env::ChildEnv;
use crate::scan::Tree;
use crate::settings::Settings;

/// The service names listed, sorted.
#[derive(Debug)]
pub struct Changed {
    pub services: Vec<String>,
    /// The revision's files did not pass validation: every service is listed.
    pub invalid_at_rev: Vec<Problem>,
}

/// The services of `now` (the working tree, resolved) that changed since `rev`, and those
/// the revision had that `now` has not.
pub fn since(settings: &Settings, now: &Repo, rev: &str, env: &ChildEnv) -> Result<Changed, Error> {
    let tree = tree_at(settings, rev, env)?;
    // Resolution's own problems are no reason to list everything: a deployment whose
    // package cannot be found (a `path` package deleted since) resolves to nothing, which
    // differs from what it is now.
    let super::repo::Resolved {
        repo: then,
        problems,
        ..
    } = super::repo::resolve_tree(settings, &tree);
    tracing::debug!("{} Lambda service(s) at `{rev}`", then.services.len());
    if problems.is_empty() {
        return Ok(Changed {
            services: differing(&then, now),
            invalid_at_rev: Vec::new(),
        });
    }
    let mut services: Vec<String> = names(&then).chain(names(now)).map(str::to_owned).collect();
    services.sort();
    services.dedup();
    Ok(Changed {
        services,
        invalid_at_rev: crate::problem::sorted(problems),
    })
}

/// The scan of the gitops dir's `services/` and `environments/` as `rev` has them.
fn tree_at(settings: &Settings, rev: &str, env: &ChildEnv) -> Result<Tree, Error> {
    let dir = &settings.gitops_dir;
    let commit = crate::git::resolve_commit(dir, env, rev)?;
    let tops = ["services", "environments"];
    let max_bytes = crate::yaml::MAX_BYTES as u64;
    let files = crate::git::files_at(dir, env, &commit, &tops, max_bytes)?;
    let root = dir
        .canonicalize()
        .map_err(|e| Error::io("resolve the gitops dir", dir, e))?;
    Ok(crate::scan::from_listing(&root, dir, files))
}

fn names(repo: &Repo) -> impl Iterator<Item = &str> {
    repo.services.iter().map(|s| s.name.as_str())
}

/// The names of the services that differ between two resolved repos: changed, added or
/// removed. Sorted.
pub fn differing(then: &Repo, now: &Repo) -> Vec<String> {
    let index = |repo: &Repo| -> BTreeMap<String, DesiredService> {
        repo.services
            .iter()
            .map(|s| (s.name.clone(), s.clone()))
            .collect()
    };
    let (then, now) = (index(then), index(now));
    let mut names: Vec<String> = then.keys().chain(now.keys()).cloned().collect();
    names.sort();
    names.dedup();
    names.retain(|name| then.get(name) != now.get(name));
    names
}
