//! The command line as typed. Doc comments here are the `--help` text; nothing past
//! [`crate::settings::Settings::resolve`] sees these types.

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Make a gitops repo the single source of truth for AWS Lambda versions.
///
/// Reads `services/` and `environments/` under the gitops dir, validates them, stages the
/// release packages and runs the bundled Terraform module for every Lambda service.
#[derive(Debug, Parser)]
#[command(name = "lambda-gitops", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Directory holding `services/` and `environments/`.
    #[arg(long, global = true, value_name = "DIR", default_value = ".")]
    pub gitops_dir: PathBuf,

    /// Where per-service Terraform work dirs are written; refused inside the gitops
    /// checkout [default: $RUNNER_TEMP/lambda-gitops, else <cache-dir>/work/<hash of the
    /// gitops dir>].
    #[arg(long, global = true, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,

    /// Package cache [default: $XDG_CACHE_HOME/lambda-gitops or ~/.cache/lambda-gitops].
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// `path` package sources must resolve inside this directory [default: the git work
    /// tree holding the gitops dir, else the gitops dir].
    #[arg(long, global = true, value_name = "DIR")]
    pub package_root: Option<PathBuf>,

    /// GitHub API base URL [default: $GITHUB_API_URL, else https://api.github.com].
    #[arg(long, global = true, value_name = "URL")]
    pub github_api_url: Option<String>,

    /// AWS region for the module [default: $AWS_REGION, else $AWS_DEFAULT_REGION].
    #[arg(long, global = true, value_name = "REGION")]
    pub aws_region: Option<String>,

    /// Largest package accepted, e.g. `250MiB`, `1GiB`, `5000000` (1 byte to 10GiB).
    #[arg(long, global = true, value_name = "SIZE", default_value = "250MiB", value_parser = parse_package_size)]
    pub max_package_size: u64,

    /// How long one package download may take in all, retries included, e.g. `10m`, `90s`.
    #[arg(long, global = true, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub download_timeout: std::time::Duration,

    /// A download (or GitHub API response) that sends nothing for this long fails and is
    /// retried, e.g. `30s`.
    #[arg(long, global = true, value_name = "DURATION", default_value = "30s", value_parser = parse_stall_timeout)]
    pub download_stall_timeout: std::time::Duration,

    /// Allow a plain-http GitHub API URL off this machine (the token would cross the network
    /// in clear). Loopback URLs are always allowed.
    #[arg(long, global = true)]
    pub allow_insecure_api: bool,

    /// More logging (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Less logging (-q warnings only, -qq errors only).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,

    /// Succeed when the gitops dir declares no Lambda service yet (otherwise that is an
    /// error: the gitops dir is probably not the one meant).
    #[arg(long, global = true)]
    pub allow_empty: bool,

    /// When to use colour on stderr.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the gitops dir and list each Lambda service's environments and previews.
    /// No network.
    Scan {
        /// Output format on stdout.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Stage one service's packages and print its Terraform variables (JSON) on stdout.
    Vars {
        /// The service; required when the gitops dir has several Lambda services.
        #[arg(long, value_name = "NAME")]
        service: Option<String>,
    },
    /// Stage, then `terraform init` and `plan` each service, and report what would change.
    Plan {
        #[command(flatten)]
        terraform: TerraformArgs,

        /// Exit 2 when the plan has changes (0: none, 1: error).
        #[arg(long)]
        detailed_exitcode: bool,

        /// Run terraform for every service, even one with nothing changed since its last
        /// apply (the inputs and what the functions run are as they were): the plan also
        /// refreshes every resource, so it finds drift outside the functions' code.
        #[arg(long)]
        refresh: bool,

        /// Save each service's plan in DIR/<service>/ (the plan file, the module, the
        /// variables and a manifest of every input's SHA-256), for `apply --plan-dir`.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Plan and apply each service (asking first unless `--auto-approve`).
    Apply {
        #[command(flatten)]
        terraform: TerraformArgs,

        /// Apply without asking; required when stdin is not a terminal.
        #[arg(long)]
        auto_approve: bool,

        /// Run terraform even when nothing changed since the last apply (the inputs and
        /// what the functions run are as they were): a plan also refreshes every resource.
        #[arg(long)]
        refresh: bool,

        /// Apply the changes `plan --out-dir` saved in DIR for review: each service is
        /// planned again and its own plan applied only when it does what the reviewed one
        /// showed; refused ("stale plan") when an input changed since, or the state moved on.
        #[arg(long, value_name = "DIR")]
        plan_dir: Option<PathBuf>,

        /// Roll out again a version whose rollout an alarm (or `rollout --abort`) stopped:
        /// without it, `live` stays on the old version until the version changes.
        #[arg(long)]
        retry_rollout: bool,
    },
    /// Compare what each deployment's function runs (alias `live` → version, its
    /// CodeSha256, the `version` tag), read through the Lambda API, with the gitops repo.
    /// No terraform; exit 2 when any differs.
    Status {
        /// Only this service (repeatable) [default: every Lambda service].
        #[arg(long = "service", value_name = "NAME")]
        services: Vec<String>,

        /// Output format on stdout.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,

        /// Where the states are (as for `apply`): with it, a deployment's rollout is shown —
        /// its strategy, step, weights, next step and alarms — and one in progress is what
        /// its function should run.
        #[arg(long, value_enum, default_value_t = Backend::Local)]
        backend: Backend,

        /// Backend setting (repeatable), e.g. `bucket=my-state`.
        #[arg(long = "backend-config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
        backend_config: Vec<String>,
    },
    /// Set the version (and commit SHA) staging or production runs, in its config file.
    ///
    /// Keeps every other byte of the file; validates the whole gitops dir as it would be
    /// after the edit and writes nothing if that fails. Prints `old → new` on stdout.
    SetVersion(SetVersionArgs),
    /// Create, update or remove pull-request previews.
    Preview {
        #[command(subcommand)]
        command: PreviewCommand,
    },
    /// Copy the version and commit SHA one environment runs to another (staging →
    /// production).
    Promote(PromoteArgs),
    /// Validate the gitops dir and print a GitHub Actions matrix of its Lambda services:
    /// `{"include":[{"service":"…"},…]}` on one line (no network).
    Matrix(MatrixArgs),
    /// Destroy what a service removed from the gitops repo still runs: shows the plan, asks
    /// for the service's name to be typed (or `--auto-approve`), then destroys everything
    /// in its state.
    Destroy(DestroyArgs),
    /// Move every canary or linear rollout in progress on by at most one step, as its
    /// alarms and interval decide (any alarm in ALARM: back to the old version, exit 3);
    /// or abort or complete them now. Safe to run on a schedule and twice at once.
    Rollout(RolloutArgs),
}

/// `rollout`: the rollouts recorded beside each service's state.
#[derive(Debug, Args)]
pub struct RolloutArgs {
    /// Only this service (repeatable, or several separated by spaces) [default: every
    /// Lambda service].
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,

    /// Only this environment's rollouts.
    #[arg(long = "env", value_enum, value_name = "ENV")]
    pub environment: Option<Environment>,

    /// Repeat until every rollout has completed or aborted, sleeping until the next step
    /// is due; interrupted, the alias stays as the last step left it.
    #[arg(long, conflicts_with_all = ["abort", "complete"])]
    pub wait: bool,

    /// Move all traffic back to the old version now.
    #[arg(long, conflicts_with = "complete")]
    pub abort: bool,

    /// Give the new version all traffic now, whatever the alarms (break-glass; the report
    /// says so).
    #[arg(long)]
    pub complete: bool,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Also write the Markdown report to FILE (under GitHub Actions it is appended to the
    /// job summary as well, with or without this flag).
    #[arg(long, value_name = "FILE")]
    pub summary_markdown: Option<PathBuf>,

    /// Also write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,

    #[command(flatten)]
    pub terraform: TerraformOptions,
}

#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Only the services whose resolved deployments (versions, packages, settings after
    /// overrides and templates, previews) differ from those at this git revision, and those
    /// removed since; read through git, nothing is checked out. Needs the revision in the
    /// clone's history (in CI: `fetch-depth: 0`).
    #[arg(long, value_name = "REV")]
    pub changed_since: Option<String>,

    /// Group the services into at most N jobs, `{"include":[{"services":"a b c"},…]}`, each
    /// service in exactly one (GitHub refuses a matrix of more than 256 jobs); pass a job's
    /// `services` to `plan` or `apply --service`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_jobs: Option<u16>,

    /// Refuse (exit 1) when more than N services would be listed: a change to a shared
    /// file must not start a run over everything by accident.
    #[arg(long, value_name = "N")]
    pub max_services: Option<usize>,
}

/// `destroy`: one service's state, with the backend settings `plan` and `apply` use.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The service removed from the gitops repo whose functions, triggers, log groups and
    /// packages go.
    #[arg(long, value_name = "NAME")]
    pub service: String,

    /// Destroy without asking for the service's name; required when stdin is not a
    /// terminal.
    #[arg(long)]
    pub auto_approve: bool,

    #[command(flatten)]
    pub terraform: TerraformOptions,
}

pub use crate::desired::Environment;

/// `staging` or `production` on the command line: the one environment type, read by clap.
impl ValueEnum for Environment {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

#[derive(Debug, Args)]
pub struct SetVersionArgs {
    /// The Lambda service.
    #[arg(long, value_name = "NAME")]
    pub service: String,

    /// The environment whose `environments/<env>/<service>/config.yaml` is edited.
    #[arg(long, value_enum)]
    pub env: Environment,

    /// The version to run (`lambda.version`).
    #[arg(value_name = "VERSION")]
    pub version: String,

    /// The commit it was built from: sets `gitVersion.sha` (added when absent), and
    /// `gitVersion.shortSha` to its first 7 characters when that is there.
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PreviewCommand {
    /// Set a preview's version, creating
    /// `environments/preview/pr-<N>/services/<service>.values.yaml` when absent.
    Set(PreviewSetArgs),
    /// Remove a preview's file, and its `pr-<N>` directory when nothing else is left in it.
    /// A preview that is not there is "unchanged".
    Remove(PreviewArgs),
    /// Remove the previews of closed (or merged) pull requests, or of those untouched for
    /// a while.
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The Lambda service.
    #[arg(long, value_name = "NAME")]
    pub service: String,

    /// The pull request number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub pr: u64,
}

#[derive(Debug, Args)]
pub struct PreviewSetArgs {
    #[command(flatten)]
    pub preview: PreviewArgs,

    /// The version to run (`lambda.version`).
    #[arg(value_name = "VERSION")]
    pub version: String,

    /// The commit it was built from: sets `lambda.commitSha` when present and
    /// `gitVersion.sha` (added when neither is there), `gitVersion.shortSha` to its first 7
    /// characters when that is there.
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,

    /// Run this object of the service's `packageBucket` (`lambda.s3Key`).
    #[arg(long, value_name = "KEY")]
    pub s3_key: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).multiple(true).args(["closed", "older_than"])))]
pub struct PruneArgs {
    /// Remove the previews of pull requests GitHub reports closed or merged.
    #[arg(long)]
    pub closed: bool,

    /// Remove previews whose file's last commit (`git log`; the file's modification time
    /// outside a git work tree) is older than this, e.g. `14d`, `36h`, `2w`.
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub older_than: Option<std::time::Duration>,

    /// The repository the pull requests belong to [default: $GITHUB_REPOSITORY].
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,

    /// Only this service's previews (repeatable) [default: every Lambda service's].
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,

    /// List what would be removed; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The Lambda service.
    #[arg(long, value_name = "NAME")]
    pub service: String,

    /// The environment whose version and commit are copied.
    #[arg(long, value_enum, default_value_t = Environment::Staging)]
    pub from: Environment,

    /// The environment that gets them.
    #[arg(long, value_enum, default_value_t = Environment::Production)]
    pub to: Environment,

    /// Refuse unless the source environment's function already runs that version with the
    /// same package bytes (its `version` tag and the CodeSha256 of its `live` alias, else
    /// of `$LATEST`, read from AWS).
    #[arg(long)]
    pub require_deployed: bool,
}

/// What `plan` and `apply` share.
#[derive(Debug, Args)]
pub struct TerraformArgs {
    /// Only this service (repeatable, or several separated by spaces: `--service "a b"`)
    /// [default: every Lambda service].
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,

    /// Run this module (its `*.tf` files) instead of the bundled one; it takes the same
    /// variables and declares no backend.
    #[arg(long, value_name = "DIR")]
    pub module_dir: Option<PathBuf>,

    #[command(flatten)]
    pub terraform: TerraformOptions,

    /// How many services run terraform at once [default: the number of cores]. Their
    /// output is shown per service once it is done, never interleaved.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Report on stdout: text as each service completes, or one JSON document or one
    /// Markdown pull-request comment at the end.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    #[command(flatten)]
    pub ci: CiArgs,
}

/// How terraform runs: what `plan`, `apply` and `destroy` share.
#[derive(Debug, Args)]
pub struct TerraformOptions {
    /// The terraform binary [default: `terraform`, else `tofu`, on PATH].
    #[arg(long, value_name = "PATH")]
    pub terraform_bin: Option<PathBuf>,

    /// Where Terraform keeps state: `local` (in the work dir) or `s3`.
    #[arg(long, value_enum, default_value_t = Backend::Local)]
    pub backend: Backend,

    /// Backend setting for `terraform init` (repeatable), e.g. `bucket=my-state`.
    #[arg(long = "backend-config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub backend_config: Vec<String>,

    /// How long to wait for the state lock and the work dir lock, e.g. `0s`, `30s`, `5m`,
    /// `1h`.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_lock_timeout)]
    pub lock_timeout: LockTimeout,

    /// After relaying an interrupt, how long terraform may take to stop before it is killed.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub grace_period: u64,

    /// How long one terraform command may run (`30s`, `20m`, `2h`); past it, terraform is
    /// stopped as if interrupted. Also bounds `terraform version` (at most 30s).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub terraform_timeout: std::time::Duration,

    /// Take terraform's providers from this filesystem mirror (terraform's mirror layout,
    /// e.g. `terraform providers mirror DIR`) instead of the registry; refused inside the
    /// checkout. A mirror named in your terraform CLI config is used without it.
    #[arg(long, value_name = "DIR")]
    pub plugin_mirror: Option<PathBuf>,
}

/// Reports for CI, besides the one on stdout; written even when the run fails.
#[derive(Debug, Clone, Default, Args)]
pub struct CiArgs {
    /// Also write the Markdown report to FILE (under GitHub Actions it is appended to the
    /// job summary as well, with or without this flag).
    #[arg(long, value_name = "FILE")]
    pub summary_markdown: Option<PathBuf>,

    /// Also write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,

    /// Publish the report as a comment on the pull request: one comment per pull request
    /// and `--service` scope, edited in place on every run; none is created while there is
    /// nothing to say. Needs `GITHUB_REPOSITORY`, `GITHUB_TOKEN` (or `GH_TOKEN`) and the
    /// pull request (`--pr`, or the GitHub Actions event).
    #[arg(long)]
    pub github_comment: bool,

    /// The pull request to comment on [default: the one of the GitHub Actions event in
    /// `GITHUB_EVENT_PATH`].
    #[arg(long, value_name = "N", requires = "github_comment", value_parser = clap::value_parser!(u64).range(1..))]
    pub pr: Option<u64>,
}

pub use crate::report::format::Format as ReportFormat;

impl ValueEnum for ReportFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

pub use crate::terraform::backend::Backend;

impl ValueEnum for Backend {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()).help(match self {
            Self::Local => "State in each service's work dir (`terraform.tfstate`)",
            Self::S3 => "State in S3; configure it with `--backend-config` (bucket, key, region, use_lockfile…)",
        }))
    }
}

/// A duration in terraform's syntax (Go's `time.ParseDuration`), kept as typed for
/// `-lock-timeout` and parsed for lambda-gitops's own waits.
#[derive(Debug, Clone, PartialEq)]
pub struct LockTimeout {
    pub text: String,
    pub duration: std::time::Duration,
}

/// Parses `0`, `0s`, `30s`, `5m`, `1h30m`, `1.5h`, `500ms`: decimal numbers, each with a
/// unit of `ns`, `us`, `µs`, `ms`, `s`, `m` or `h`.
pub fn parse_lock_timeout(text: &str) -> Result<LockTimeout, String> {
    let invalid = || format!("`{text}` is not a duration such as 0s, 30s, 5m or 1h");
    let mut seconds = 0f64;
    let mut rest = text;
    if rest != "0" {
        if rest.is_empty() {
            return Err(invalid());
        }
        while !rest.is_empty() {
            let number_end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(invalid)?;
            let (number, tail) = rest.split_at(number_end);
            if number.is_empty() || number == "." {
                return Err(invalid());
            }
            let value: f64 = number.parse().map_err(|_| invalid())?;
            let unit_end = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            let (unit, tail) = tail.split_at(unit_end);
            let factor = match unit {
                "ns" => 1e-9,
                "us" | "µs" | "μs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return Err(invalid()),
            };
            seconds += value * factor;
            rest = tail;
        }
    }
    let duration = std::time::Duration::try_from_secs_f64(seconds).map_err(|_| invalid())?;
    Ok(LockTimeout {
        text: text.to_owned(),
        duration,
    })
}

fn parse_key_value(text: &str) -> Result<String, String> {
    match text.split_once('=') {
        Some((key, _)) if !key.is_empty() => Ok(text.to_owned()),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// `scan` and `status`: text or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

impl From<Format> for crate::report::format::ListFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::Text => Self::Text,
            Format::Json => Self::Json,
        }
    }
}

/// Parses a duration as terraform writes them: `90s`, `5m`, `1h`, `1h30m`, `500ms` (a plain number
/// is seconds). Zero is refused: nothing can finish in no time.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let invalid = || format!("`{text}` is not a duration such as 30s, 5m or 1h");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    if rest.chars().all(|c| c.is_ascii_digit()) {
        let seconds: u64 = rest.parse().map_err(|_| invalid())?;
        return positive(std::time::Duration::from_secs(seconds), text);
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(invalid)?;
        let number: u64 = rest[..split].parse().map_err(|_| invalid())?;
        let unit_len = rest[split..]
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len() - split);
        let millis_per_unit = match &rest[split..split + unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            _ => return Err(invalid()),
        };
        total = number
            .checked_mul(millis_per_unit)
            .and_then(|n| total.checked_add(n))
            .ok_or_else(invalid)?;
        rest = &rest[split + unit_len..];
    }
    positive(std::time::Duration::from_millis(total), text)
}

fn positive(duration: std::time::Duration, text: &str) -> Result<std::time::Duration, String> {
    if duration.is_zero() {
        Err(format!("`{text}` is no time at all"))
    } else if duration > std::time::Duration::from_secs(24 * 3600) {
        Err(format!("`{text}` is more than 24h"))
    } else {
        Ok(duration)
    }
}

/// Parses an age such as `14d`, `36h`, `2w`, `1d12h` or `90m` (s, m, h, d, w); zero is refused.
pub fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    let invalid = || format!("`{text}` is not an age such as 14d, 36h or 2w");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut seconds: u64 = 0;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !c.is_ascii_digit())
            .filter(|split| *split > 0)
            .ok_or_else(invalid)?;
        let number: u64 = rest[..split].parse().map_err(|_| invalid())?;
        let unit = rest[split..].chars().next().ok_or_else(invalid)?;
        let factor = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(invalid()),
        };
        seconds = number
            .checked_mul(factor)
            .and_then(|n| seconds.checked_add(n))
            .ok_or_else(invalid)?;
        rest = &rest[split + unit.len_utf8()..];
    }
    if seconds == 0 {
        return Err(format!("`{text}` is no time at all"));
    }
    Ok(std::time::Duration::from_secs(seconds))
}

/// Parses `250MiB`, `1GiB`, `512KiB`, `100MB` or a plain byte count.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 250MiB"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}` (use KiB, MiB or GiB)")),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// The largest `--max-package-size`: far above any Lambda package (250 MB unzipped).
pub const MAX_PACKAGE_SIZE_LIMIT: u64 = 10 << 30;

/// `--max-package-size`: a size from 1 byte to [`MAX_PACKAGE_SIZE_LIMIT`].
pub fn parse_package_size(text: &str) -> Result<u64, String> {
    match parse_size(text)? {
        0 => Err("a package size limit of 0 refuses every package; give a size such as 250MiB".into()),
        size if size > MAX_PACKAGE_SIZE_LIMIT => Err(format!(
            "`{text}` is more than 10GiB; no Lambda package is that large (the unzipped limit is 250 MB)"
        )),
        size => Ok(size),
    }
}

/// `--download-stall-timeout`: a duration of at most 10 minutes (a live download writes at
/// least this often, which is what lets a later run remove the temp files of a killed one).
pub fn parse_stall_timeout(text: &str) -> Result<std::time::Duration, String> {
    let duration = parse_duration(text)?;
    if duration > std::time::Duration::from_secs(600) {
        return Err(format!("`{text}` is more than 10m"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("250MiB"), Ok(250 << 20));
        assert_eq!(parse_size("10"), Ok(10));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }

    #[test]
    fn package_size_limits_of_zero_or_absurd_size_are_refused() {
        assert_eq!(parse_package_size("250MiB"), Ok(250 << 20));
        assert_eq!(parse_package_size("10GiB"), Ok(10 << 30));
        assert!(parse_package_size("0")
            .unwrap_err()
            .contains("refuses every package"));
        assert!(parse_package_size("0MiB").is_err());
        assert!(parse_package_size("11GiB")
            .unwrap_err()
            .contains("more than 10GiB"));
        assert!(parse_package_size("99999999999999999999").is_err());
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_stall_timeout("11m").is_err());
        assert!(parse_stall_timeout("30s").is_ok());
        for bad in ["", "0s", "5 minutes", "m5", "1d", "-1s", "25h", "soon"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lock_timeouts_take_terraforms_duration_syntax() {
        let secs = |text: &str| parse_lock_timeout(text).map(|t| t.duration.as_secs_f64());
        assert_eq!(secs("0"), Ok(0.0));
        assert_eq!(secs("0s"), Ok(0.0));
        assert_eq!(secs("30s"), Ok(30.0));
        assert_eq!(secs("5m"), Ok(300.0));
        assert_eq!(secs("1h30m"), Ok(5400.0));
        assert_eq!(secs("1.5h"), Ok(5400.0));
        assert_eq!(secs("500ms"), Ok(0.5));
        assert_eq!(parse_lock_timeout("5m").unwrap().text, "5m");
        for bad in [
            "", "5", "5 m", "-5m", "five", "5mins", "m", "1h-", ".s", "1e3s",
        ] {
            assert!(parse_lock_timeout(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn ages() {
        use std::time::Duration;
        assert_eq!(parse_age("14d"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_age("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_age("1d12h"), Ok(Duration::from_secs(36 * 3_600)));
        assert_eq!(parse_age("90m"), Ok(Duration::from_secs(5_400)));
        for bad in [
            "",
            "14",
            "d",
            "0d",
            "14 days",
            "-1d",
            "1y",
            "99999999999999999999w",
        ] {
            assert!(parse_age(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn global_options_go_after_the_subcommand_too() {
        let cli =
            Cli::try_parse_from(["lambda-gitops", "scan", "--gitops-dir", "x", "-q"]).unwrap();
        assert_eq!(cli.global.gitops_dir, PathBuf::from("x"));
        assert_eq!(cli.global.quiet, 1);
    }
}
