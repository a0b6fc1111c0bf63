//! Errors that end a run. Variants carry data; [`render`] is the one place that turns
//! them into text: `error: …` with values in backticks, then `hint: …` where there is one.

use std::io;
use std::path::{Path, PathBuf};

use crate::exit_code;
use crate::problem::Problem;
use crate::stage::StageError;
use crate::terraform::interrupts::Interrupt;

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

    #[error("no Lambda service in the gitops dir `{}`{}: looked for `services/*/config.yaml` with `deploymentType: lambda` and found {}", gitops_dir.display(), shown_canonical(gitops_dir, canonical), describe_configs(*service_configs))]
    NoServices {
        gitops_dir: PathBuf,
        canonical: PathBuf,
        service_configs: usize,
    },

    #[error("{} package{} could not be staged", errors.len(), plural(errors.len()))]
    Stage { errors: Vec<StageError> },

    #[error("no terraform found (tried {})", backticked(tried))]
    TerraformNotFound { tried: Vec<String> },

    #[error("could not start `{}`: {source}", path.display())]
    TerraformStart {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("`{}` is version `{version}`; lambda-gitops needs terraform 1.5 or later", path.display())]
    TerraformVersion { path: PathBuf, version: String },

    #[error("{service}: `{command}` {}", describe_exit(*code, *signal))]
    TerraformFailed {
        service: String,
        command: String,
        code: Option<i32>,
        signal: Option<i32>,
        lock_id: Option<String>,
        cwd: PathBuf,
    },

    #[error("interrupted by {:?}; terraform stopped cleanly", signal.signal())]
    Interrupted { signal: Interrupt },

    #[error("interrupted by {:?} while terraform held the state lock `{lock_id}`", signal.signal())]
    InterruptedLocked {
        signal: Interrupt,
        lock_id: String,
        cwd: PathBuf,
    },

    #[error("could not read the plan `{}`: {message}", path.display())]
    PlanJson { path: PathBuf, message: String },

    #[error("no AWS region: pass `--aws-region` or set `AWS_REGION`")]
    NoRegion,

    #[error("`apply` needs `--auto-approve` when stdin is not a terminal")]
    ApprovalRequired,

    #[error("{service}: apply cancelled")]
    Declined { service: String },

    #[error("the module dir `{}` holds no `*.tf` files", dir.display())]
    EmptyModule { dir: PathBuf },

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

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Interrupted { signal } | Self::InterruptedLocked { signal, .. } => {
                signal.exit_code()
            }
            _ => exit_code::ERROR,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::TerraformFailed { lock_id: Some(id), cwd, .. } | Self::InterruptedLocked { lock_id: id, cwd, .. } => Some(format!(
                "if no other run holds it, release the state lock with `terraform -chdir={} force-unlock {id}`",
                cwd.display()
            )),
            Self::TerraformNotFound { .. } => Some("install terraform 1.5+ or pass `--terraform-bin`".into()),
            Self::ApprovalRequired => Some("review the plan with `lambda-gitops plan`, then run `apply --auto-approve`".into()),
            Self::NoServices { .. } => Some("run from the gitops repo (or pass `--gitops-dir`, the directory holding `services/`); `--allow-empty` accepts a repo with no Lambda service yet".into()),
            Self::UnknownService { known, .. } | Self::ServiceRequired { known } => {
                Some(format!("Lambda services: {}", backticked(known)))
            }
            _ => None,
        }
    }
}

fn describe_exit(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended without an exit code".to_owned(),
    }
}

/// ` (/abs/path)` when the gitops dir was given as another spelling of it.
fn shown_canonical(given: &Path, canonical: &Path) -> String {
    if given == canonical || canonical.as_os_str().is_empty() {
        String::new()
    } else {
        format!(" (`{}`)", canonical.display())
    }
}

fn describe_configs(count: usize) -> String {
    match count {
        0 => "no service config at all".to_owned(),
        n => format!("{n} service config{}, none of them Lambda", plural(n)),
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
