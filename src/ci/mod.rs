//! CI conventions: what a run leaves for the people and machines around a CI job, besides
//! the report on stdout. In: a [`Rendering`] (the report, already said in Markdown, by
//! priority) and the CI environment. Out: the pull-request comment (one per pull request
//! and scope, edited in place), the `--summary-markdown`/`--summary-json` files, the
//! GitHub Actions job summary, annotations, and terraform's output folded in log groups.
//!
//! - [`rendering`]: the value every output is made from (the report fills it).
//! - [`markdown`]: that value as Markdown within a size budget.
//! - [`comment`]: the comment's scope, marker and body, and which comment to edit.
//! - [`publish`]: the comment through the GitHub client.
//! - [`outputs`]: which outputs a run writes, checked before anything runs.
//! - [`annotations`]: workflow commands (`::error …::`, groups, stop-commands).
//! - [`event`]: the pull request named by a GitHub Actions event payload.

pub mod actions_env;
pub mod annotations;
pub mod comment;
pub mod event;
pub mod markdown;
pub mod outputs;
pub mod publish;
pub mod rendering;

use std::path::PathBuf;

pub use actions_env::CiSettings;
pub use outputs::Outputs;
pub use rendering::{Log, Rendering};

use crate::github::GithubError;

/// What can go wrong with the CI outputs.
#[derive(Debug, thiserror::Error)]
pub enum CiError {
    #[error("`--github-comment` needs the repository: `GITHUB_REPOSITORY` is not set")]
    NoRepository,

    #[error("`GITHUB_REPOSITORY` is `{value}`, not `owner/name`")]
    Repository { value: String },

    #[error("`--github-comment` needs a pull request: no `--pr`, and {}", match event_path {
        Some(path) => format!("the event `{}` is not about a pull request", path.display()),
        None => "no `GITHUB_EVENT_PATH`".to_owned(),
    })]
    NoPullRequest { event_path: Option<PathBuf> },

    #[error("could not read the GitHub Actions event `{}`: {message}", path.display())]
    Event { path: PathBuf, message: String },

    #[error("`--github-comment` needs a token: `GITHUB_TOKEN` or `GH_TOKEN` is not set")]
    NoToken,

    #[error("`--service`: {message}")]
    Scope { message: String },

    /// A summary file or the job summary could not be written.
    #[error(transparent)]
    Write(#[from] crate::io_error::IoError),

    #[error("could not publish the pull-request comment on #{number}: {source}")]
    Publish {
        number: u64,
        #[source]
        source: GithubError,
        /// The exit code the run had before publishing (0, 1 or 2).
        code: u8,
    },
}

impl CiError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NoRepository | Self::Repository { .. } => Some(
                "GitHub Actions sets it; elsewhere set `GITHUB_REPOSITORY=owner/name`".into(),
            ),
            Self::NoPullRequest { .. } => Some(
                "pass `--pr N`, or run on a `pull_request` event (or an `issue_comment` on a pull request)".into(),
            ),
            Self::NoToken => Some(
                "in a workflow: `env: GITHUB_TOKEN: ${{ github.token }}` with `permissions: pull-requests: write`".into(),
            ),
            Self::Publish { source, code, .. } => {
                let was = match *code {
                    crate::exit_code::CHANGES => "the plan itself succeeded with changes (exit 2)",
                    crate::exit_code::SUCCESS => "the run itself succeeded (exit 0)",
                    _ => "the run itself failed too",
                };
                let what = match source {
                    GithubError::Unauthorized { .. } | GithubError::NotFound { .. } => {
                        "the token needs `pull-requests: write` (a pull request from a fork gets a read-only token); "
                    }
                    _ => "",
                };
                Some(format!("{what}{was}; the report above is complete"))
            }
            _ => None,
        }
    }
}
