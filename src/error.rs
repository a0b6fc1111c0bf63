//! Errors that end a run. Variants carry data; [`render`] is the one place that turns
//! them into text: `error: …` with values in backticks, then `hint: …` where there is one.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::aws::preflight::PreflightError;
use crate::exit_code;
use crate::problem::{backticked, Problem};
use crate::process::interrupts::Interrupt;
use crate::stage::StageError;
use crate::terraform::process::humanize;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the gitops dir `{}` does not exist or is not a directory", path.display())]
    GitopsDirMissing { path: PathBuf },

    #[error("no cache dir: set `--cache-dir`, `XDG_CACHE_HOME` or `HOME`")]
    NoCacheDir,

    #[error("`{url}` is not an http(s) URL for the GitHub API")]
    InvalidApiUrl { url: String },

    #[error("the GitHub API URL `{url}` is plain http to a host off this machine")]
    InsecureApiUrl { url: String },

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

    /// Finding terraform, writing its module and backend, sharing its plugins.
    #[error(transparent)]
    Terraform(crate::terraform::TerraformError),

    #[error(transparent)]
    TerraformTimedOut(Box<TerraformTimeout>),

    #[error(transparent)]
    TerraformFailed(Box<TerraformFailure>),

    /// Stopped before terraform ran, or terraform exited by itself after the relayed signal.
    #[error("interrupted by {:?}{}", signal.signal(), if *terraform_ran { "; terraform stopped cleanly" } else { "" })]
    Interrupted {
        signal: Interrupt,
        /// A terraform command was running and exited by itself after the relayed signal.
        terraform_ran: bool,
    },

    #[error("interrupted by {:?} while terraform held the state lock `{lock_id}`", signal.signal())]
    InterruptedLocked {
        signal: Interrupt,
        lock_id: String,
        program: String,
        cwd: PathBuf,
    },

    #[error("interrupted by {:?}; terraform did not stop within the grace period and was killed, so the state may still be locked", signal.signal())]
    InterruptedKilled {
        signal: Interrupt,
        program: String,
        cwd: PathBuf,
    },

    #[error("could not read the plan `{}`: {message}", path.display())]
    PlanJson { path: PathBuf, message: String },

    #[error("no AWS region: pass `--aws-region` or set `AWS_REGION`")]
    NoRegion,

    /// A check before terraform starts failed (`aws/preflight.rs`).
    #[error(transparent)]
    Preflight(#[from] crate::aws::preflight::PreflightError),

    #[error("`apply` needs `--auto-approve` when stdin is not a terminal")]
    ApprovalRequired,

    #[error("{service}: apply cancelled")]
    Declined { service: String },

    #[error("{service}: destroy cancelled (the name typed was not the service's)")]
    DestroyDeclined { service: String },

    #[error("`{service}` cannot be destroyed: {reason}")]
    DestroyRefused { service: String, reason: String },

    #[error("`{service}` is a Lambda service of the gitops repo: the next apply would create again what `destroy` removes")]
    DestroyDeclared { service: String },

    #[error(transparent)]
    Io(#[from] crate::io_error::IoError),

    #[error("could not write to stdout: {0}")]
    Stdout(#[source] io::Error),

    /// `matrix --changed-since`: the revision's files could not be read through git.
    #[error(transparent)]
    Git(#[from] crate::git::GitError),

    /// `matrix --max-services`: more services would be listed than allowed.
    #[error("the matrix would list {listed} services, more than `--max-services {max}`")]
    TooManyServices { listed: usize, max: usize },

    /// The work dir: a file operation, a directory inside the checkout, its lock.
    #[error(transparent)]
    Workdir(crate::workdir::WorkdirError),

    /// The CI outputs: a comment that cannot be published, an event that cannot be read.
    #[error(transparent)]
    Ci(#[from] crate::ci::CiError),

    #[error("{service}: could not {action}: {message}")]
    Aws {
        service: String,
        action: &'static str,
        message: String,
        hint: Option<String>,
    },

    /// Something the plan creates exists already and is not this service's to adopt.
    #[error("{service}: {source}")]
    Adopt {
        service: String,
        source: crate::aws::adopt::AdoptError,
    },

    #[error("{service}: the plan would {} of {} — the state at {state} holds another service's resources", describe_foreign(changes), backticked(owners))]
    ForeignResources {
        service: String,
        owners: Vec<String>,
        /// `(action, address)` of each change to a resource of another service.
        changes: Vec<(String, String)>,
        state: String,
    },

    #[error("`{name}` {message}")]
    Argument { name: &'static str, message: String },

    #[error(transparent)]
    Edit(#[from] crate::gitops::EditError),

    #[error(transparent)]
    EditFile(#[from] crate::gitops::FsError),

    #[error("the gitops dir would be invalid after this edit ({} problem{}); nothing was written", problems.len(), plural(problems.len()))]
    EditInvalid { problems: Vec<Problem> },

    #[error("`{service}` has no {env} config `{}`", path.display())]
    NoEnvironment {
        service: String,
        env: &'static str,
        path: PathBuf,
    },

    #[error("`{service}`: {to} has a `gitVersion` and {from} has none, so promoting would leave {to} tagged with a commit it does not run")]
    NoGitVersion {
        service: String,
        from: &'static str,
        to: &'static str,
    },

    #[error("no GitHub repository to ask about pull requests: pass `--repo OWNER/NAME` or set `GITHUB_REPOSITORY`")]
    NoRepository,

    #[error("could not {action}: {source}")]
    Github {
        action: String,
        #[source]
        source: crate::github::GithubError,
    },

    #[error(transparent)]
    AwsStatus(#[from] crate::aws::status::StatusError),

    #[error("`{service}`: {env} does not run what it declares, so it is not promoted: {}", reasons.join("; "))]
    NotDeployed {
        service: String,
        env: &'static str,
        reasons: Vec<String>,
    },

    /// `apply --plan-dir`: the saved plan is not the plan of this run's inputs, or the
    /// state moved on since it was made.
    #[error("{service}: stale plan: re-run plan ({})", reasons.join("; "))]
    StalePlan {
        service: String,
        reasons: Vec<String>,
    },

    /// `apply --plan-dir`: the plan this run made does not do what the saved one was
    /// reviewed to do; nothing was applied.
    #[error("{service}: the plan made now is not the reviewed plan, so nothing was applied: {}{}", shown.join("; "), more_differences(*more))]
    NotReviewed {
        service: String,
        shown: Vec<String>,
        more: usize,
    },

    /// `--out-dir` or `--plan-dir` cannot be used (not written by `plan --out-dir`, or
    /// holding what lambda-gitops never writes).
    #[error("the plan dir `{}` cannot be used: {message}", path.display())]
    PlanDir { path: PathBuf, message: String },
}

fn more_differences(more: usize) -> String {
    match more {
        0 => String::new(),
        n => format!("; and {n} more"),
    }
}

/// A terraform command that ran and failed.
#[derive(Debug, thiserror::Error)]
#[error("{service}: `{command}` {}", describe_exit(*code, *signal))]
pub struct TerraformFailure {
    pub service: String,
    pub command: String,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub lock_id: Option<String>,
    /// The binary's name (`terraform`, `tofu`), for the unlock hint.
    pub program: String,
    pub cwd: PathBuf,
    /// Its last lines of output (stdout and stderr), for the report.
    pub tail: Vec<String>,
}

/// A terraform command stopped because it ran past `--terraform-timeout`.
#[derive(Debug, thiserror::Error)]
#[error("{service}: `{command}` ran past its timeout of {}{}", humanize(*after), if *killed { " and was killed" } else { "; terraform stopped" })]
pub struct TerraformTimeout {
    pub service: String,
    pub command: String,
    pub after: Duration,
    /// It did not stop within the grace period: its state lock may be left behind.
    pub killed: bool,
    pub program: String,
    pub cwd: PathBuf,
}

impl Error {
    pub fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        Self::Io(crate::io_error::IoError::new(action, path, source))
    }

    /// A signal stopped the run (before, between or during terraform commands).
    pub fn is_interrupt(&self) -> bool {
        matches!(
            self,
            Self::Interrupted { .. }
                | Self::InterruptedLocked { .. }
                | Self::InterruptedKilled { .. }
        )
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Interrupted { signal, .. }
            | Self::InterruptedLocked { signal, .. }
            | Self::InterruptedKilled { signal, .. } => signal.exit_code(),
            _ => exit_code::ERROR,
        }
    }

    /// What the user can do about it, where there is something. Long because it is a
    /// table: one arm per error with advice, nothing else.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::TerraformFailed(failure) => failure
                .lock_id
                .as_ref()
                .map(|id| unlock_hint(&failure.program, &failure.cwd, id)),
            Self::InterruptedLocked {
                lock_id,
                program,
                cwd,
                ..
            } => Some(unlock_hint(program, cwd, lock_id)),
            Self::InterruptedKilled { program, cwd, .. } => Some(killed_hint(program, cwd)),
            Self::TerraformTimedOut(timeout) if timeout.killed => {
                Some(killed_hint(&timeout.program, &timeout.cwd))
            }
            Self::Preflight(error) => error.hint(),
            Self::InsecureApiUrl { .. } => Some(
                "the token would cross the network in clear: use https, or pass `--allow-insecure-api` on a trusted network".into(),
            ),
            Self::DestroyDeclared { service } => Some(format!(
                "`destroy` is for a service removed from the gitops repo: remove `services/{service}/`, its environment configs and previews, merge, then destroy what it still runs"
            )),
            Self::StalePlan { .. } => Some(
                "what was reviewed is not what would be applied now: plan again with `--out-dir`, review that plan, and apply it".into(),
            ),
            Self::NotReviewed { .. } => Some(
                "plan again with `--out-dir`, review that plan on the pull request, and apply it".into(),
            ),
            Self::PlanDir { .. } => Some(
                "pass the directory `lambda-gitops plan --out-dir` wrote, as it was saved".into(),
            ),
            Self::ApprovalRequired => Some(
                "review the plan with `lambda-gitops plan`, then run `apply --auto-approve`".into(),
            ),
            Self::NoServices { .. } => Some("run from the gitops repo (or pass `--gitops-dir`, the directory holding `services/`); `--allow-empty` accepts a repo with no Lambda service yet".into()),
            Self::UnknownService { known, .. } | Self::ServiceRequired { known } => {
                Some(format!("Lambda services: {}", backticked(known)))
            }
            Self::Workdir(error) => error.hint(),
            Self::Git(error) => error.hint(),
            Self::TooManyServices { .. } => Some(
                "a change to a shared file touches every service: run over all of them on purpose by raising `--max-services`".into(),
            ),
            Self::Terraform(error) => error.hint(),
            Self::Ci(error) => error.hint(),
            Self::Aws { hint, .. } => hint.clone(),
            Self::Adopt { source: crate::aws::adopt::AdoptError::NotOurs { .. }, .. } => Some(
                "lambda-gitops adopts only what it created (its `service` and `environment` tags say so): rename the function in the gitops repo, or delete or tag the one in AWS if it is really this deployment's".into(),
            ),
            Self::Adopt { .. } => Some("the credentials need `lambda:GetFunction` and `lambda:GetAlias`".into()),
            Self::ForeignResources { .. } => Some(
                "give each service its own state (`--backend-config key=lambda/{service}.tfstate`); if a service was renamed, move or destroy its resources with terraform directly".into(),
            ),
            Self::EditInvalid { .. } => Some(
                "fix the problems above (or choose another value); the files are as they were".into(),
            ),
            Self::NoEnvironment { env, .. } => Some(format!(
                "an environment is added by hand (it names its function and trigger prefix); then `set-version` keeps it current{}",
                if *env == "production" { ", and `promote` copies staging's version to it" } else { "" }
            )),
            Self::NoGitVersion { from, .. } => Some(format!(
                "add `gitVersion: {{sha: …}}` to {from} (e.g. with `set-version --sha`), then promote"
            )),
            Self::Github { source, .. } => source.hint(),
            Self::AwsStatus(source) => source.hint(),
            Self::NotDeployed { .. } => Some(
                "apply staging first and let it run, or promote without `--require-deployed`".into(),
            ),
            _ => None,
        }
    }
}

fn unlock_hint(program: &str, cwd: &Path, id: &str) -> String {
    format!(
        "if no other run holds it, release the state lock with `{program} -chdir={} force-unlock {id}`",
        cwd.display()
    )
}

fn killed_hint(program: &str, cwd: &Path) -> String {
    format!(
        "the next plan fails on the lock and shows its ID if it is still held; once no other run holds it, release it with `{program} -chdir={} force-unlock <ID>`",
        cwd.display()
    )
}

/// An interrupt while waiting for the work dir lock is an interrupt like any other.
impl From<crate::workdir::WorkdirError> for Error {
    fn from(error: crate::workdir::WorkdirError) -> Self {
        match error {
            crate::workdir::WorkdirError::Interrupted(signal) => signal.into(),
            crate::workdir::WorkdirError::Io(error) => Self::Io(error),
            other => Self::Workdir(other),
        }
    }
}

/// An interrupt while waiting for the plugin cache's lock is an interrupt like any other.
impl From<crate::terraform::TerraformError> for Error {
    fn from(error: crate::terraform::TerraformError) -> Self {
        use crate::terraform::TerraformError;
        match error {
            TerraformError::Interrupted(signal) => signal.into(),
            TerraformError::Io(error) => Self::Io(error),
            TerraformError::Workdir(error) => error.into(),
            other => Self::Terraform(other),
        }
    }
}

/// A signal while a question waited is an interrupt like any other.
impl From<crate::terminal::prompt::PromptError> for Error {
    fn from(error: crate::terminal::prompt::PromptError) -> Self {
        match error {
            crate::terminal::prompt::PromptError::Interrupted(signal) => signal.into(),
            crate::terminal::prompt::PromptError::Read(error) => Self::Io(error),
        }
    }
}

/// A signal that stopped the run before or between terraform commands.
impl From<Interrupt> for Error {
    fn from(signal: Interrupt) -> Self {
        Self::Interrupted {
            signal,
            terraform_ran: false,
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

fn describe_foreign(changes: &[(String, String)]) -> String {
    let shown: Vec<String> = changes
        .iter()
        .take(5)
        .map(|(action, address)| format!("{action} `{address}`"))
        .collect();
    let more = changes.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
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

/// The text printed on stderr for an error: details first (each problem, each failed
/// package), then the summary line, so the summary is what a terminal shows last.
pub fn render(error: &Error) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    match error {
        Error::Invalid { problems } | Error::EditInvalid { problems } => {
            for problem in problems {
                line(format!("error: {problem}"));
                if let Some(hint) = &problem.hint {
                    line(format!("  hint: {hint}"));
                }
            }
        }
        Error::Preflight(PreflightError::Buckets { problems, .. }) => {
            for problem in problems {
                line(format!("error: {problem}"));
                if let Some(hint) = problem.hint() {
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
    // Stdout's own message already includes its source.
    if matches!(error, Error::Stdout(_)) {
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
