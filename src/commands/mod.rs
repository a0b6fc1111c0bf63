//! The subcommands. Each reads [`Settings`], runs the pipeline stages it needs, and writes
//! data to stdout; logs go to stderr through `tracing`.

pub mod deploy;
pub mod scan;
pub mod vars;

use crate::desired::{DesiredService, Repo};
use crate::error::Error;
use crate::resolve::Roots;
use crate::settings::Settings;

/// Scan and validate: the part of the pipeline every command shares. No network.
pub fn load_repo(settings: &Settings) -> Result<Repo, Error> {
    let tree = crate::scan::scan(&settings.gitops_dir);
    let roots = Roots {
        gitops_dir: &settings.gitops_dir,
        package_root: &settings.package_root,
    };
    let repo =
        crate::validate::validate(&tree, &roots).map_err(|problems| Error::Invalid { problems })?;
    tracing::debug!(
        "{} Lambda service(s) in `{}`",
        repo.services.len(),
        settings.gitops_dir.display()
    );
    Ok(repo)
}

/// The services named by `--service` (all of them when none is named).
pub fn select<'a>(repo: &'a Repo, names: &[String]) -> Result<Vec<&'a DesiredService>, Error> {
    if repo.services.is_empty() {
        return Err(Error::NoServices);
    }
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
