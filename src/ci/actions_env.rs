//! What the GitHub Actions environment says about this run, read once from the process's
//! environment. Every field is empty outside Actions.

use std::path::PathBuf;

use crate::env_vars;

/// The GitHub Actions environment, read once. Every field is empty outside Actions.
#[derive(Debug, Clone, Default)]
pub struct CiSettings {
    /// `GITHUB_ACTIONS=true`: annotations, log groups and the job summary.
    pub github_actions: bool,
    /// `GITHUB_STEP_SUMMARY`, under GitHub Actions only.
    pub step_summary: Option<PathBuf>,
    /// `GITHUB_REPOSITORY` (`owner/name`, checked where it is used).
    pub repository: Option<String>,
    /// `GITHUB_EVENT_PATH`: the event payload (which pull request).
    pub event_path: Option<PathBuf>,
    /// `GITHUB_WORKSPACE`: annotation paths are relative to it.
    pub workspace: Option<PathBuf>,
    /// `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`, when all three
    /// are set and well-formed.
    pub run_url: Option<String>,
}

impl CiSettings {
    pub fn resolve(env: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |name: &str| env(name).filter(|v| !v.is_empty());
        let github_actions = non_empty(env_vars::GITHUB_ACTIONS).as_deref() == Some("true");
        let repository = non_empty(env_vars::GITHUB_REPOSITORY);
        let run_url = match (
            non_empty(env_vars::GITHUB_SERVER_URL),
            &repository,
            non_empty(env_vars::GITHUB_RUN_ID),
        ) {
            (Some(server), Some(repository), Some(run)) => run_url(&server, repository, &run),
            _ => None,
        };
        Self {
            github_actions,
            step_summary: non_empty(env_vars::GITHUB_STEP_SUMMARY)
                .filter(|_| github_actions)
                .map(PathBuf::from),
            repository,
            event_path: non_empty(env_vars::GITHUB_EVENT_PATH).map(PathBuf::from),
            workspace: non_empty(env_vars::GITHUB_WORKSPACE).map(PathBuf::from),
            run_url,
        }
    }
}

/// The workflow run's page, for links in comments; `None` unless every part is what
/// GitHub sets (an http(s) server, `owner/name`, a numeric run id).
fn run_url(server: &str, repository: &str, run: &str) -> Option<String> {
    let mut url = reqwest::Url::parse(server).ok()?;
    if !matches!(url.scheme(), "http" | "https") || !run.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (owner, name) = repository.split_once('/')?;
    if owner.is_empty() || name.is_empty() || name.contains('/') {
        return None;
    }
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend([owner, name, "actions", "runs", run]);
    Some(url.to_string())
}
