//! Errors that end a run. Variants carry data; [`render`] is the one place that turns
//! them into text: `error: …` with values in backticks, then `hint: …` where there is one.

use std::io;
use std::path::{Path, PathBuf};

use crate::problem::Problem;
use crate::stage::StageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the gitops dir `{}` does not exist or is not a directory", path.display())]
    GitopsDirMissing { path: PathBuf },

    #[error("no cache dir: set `--cache-dir`, `XDG_CACHE_HOME` or `HOME`")]
    NoCacheDir,

    #[error("`{url}` is not an http(s) URL for the GitHub API")]
    InvalidApiUrl { url: String },

    #[error("the gitops dir is invalid: {} problem{}", problems.len(), plural(problems.len()))]
    Invalid { problems: Vec<Problem> },

    #[error("`{name}` is not a Lambda service in the gitops dir")]
    UnknownService { name: String, known: Vec<String> },

    #[error("the gitops dir has {} Lambda services; choose one with `--service`", known.len())]
    ServiceRequired { known: Vec<String> },

    #[error("the gitops dir declares no Lambda service (`services/*/config.yaml` with `deploymentType: lambda`)")]
    NoServices,

    #[error("{} package{} could not be staged", errors.len(), plural(errors.len()))]
    Stage { errors: Vec<StageError> },

    #[error("could not {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("could not write to stdout: {0}")]
    Stdout(#[source] io::Error),
}

impl Error {
    pub fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::UnknownService { known, .. } | Self::ServiceRequired { known } => {
                Some(format!("Lambda services: {}", backticked(known)))
            }
            _ => None,
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub fn backticked(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The text printed on stderr for an error: details first (each problem, each failed
/// package), then the summary line, so the summary is what a terminal shows last.
pub fn render(error: &Error) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    match error {
        Error::Invalid { problems } => {
            for problem in problems {
                line(format!("error: {problem}"));
                if let Some(hint) = &problem.hint {
                    line(format!("  hint: {hint}"));
                }
            }
        }
        Error::Stage { errors } => {
            for stage_error in errors {
                line(format!("error: {stage_error}"));
                if let Some(hint) = stage_error.hint() {
                    line(format!("  hint: {hint}"));
                }
            }
        }
        _ => {}
    }
    let mut summary = format!("error: {error}");
    let mut source = std::error::Error::source(error);
    // Io's own message already includes its source.
    if matches!(error, Error::Io { .. } | Error::Stdout(_)) {
        source = None;
    }
    while let Some(cause) = source {
        summary.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    line(summary);
    if let Some(hint) = error.hint() {
        line(format!("hint: {hint}"));
    }
    out
}
