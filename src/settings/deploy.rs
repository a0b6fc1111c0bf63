//! `plan` and `apply` as the run level takes them: the shared terraform flags
//! ([`crate::cli::TerraformArgs`]) and each subcommand's own, resolved into plain values.

use std::path::PathBuf;
use std::time::Duration;

use crate::ci::outputs::OutputFlags;
use crate::cli::{TerraformArgs, TerraformOptions};
use crate::report::format::Format;
use crate::terraform::backend::BackendSettings;

/// Plan only, or plan and apply.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Plan {
        detailed_exitcode: bool,
        /// `--refresh`: run terraform even when nothing changed since the last apply.
        refresh: bool,
    },
    Apply {
        auto_approve: bool,
        /// `--refresh`: run terraform even when nothing changed since the last apply.
        refresh: bool,
    },
}

impl Mode {
    pub fn command(self) -> crate::report::Command {
        match self {
            Mode::Plan { .. } => crate::report::Command::Plan,
            Mode::Apply { .. } => crate::report::Command::Apply,
        }
    }

    /// `--refresh`: terraform runs for every service, changed or not.
    pub fn refresh(self) -> bool {
        match self {
            Mode::Plan { refresh, .. } | Mode::Apply { refresh, .. } => refresh,
        }
    }

    /// `apply` without `--auto-approve`: it asks before each service.
    pub fn asks(self) -> bool {
        matches!(
            self,
            Mode::Apply {
                auto_approve: false,
                ..
            }
        )
    }
}

/// What `plan` and `apply` do with a plan dir.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Handoff {
    #[default]
    None,
    /// `plan --out-dir DIR`.
    Save(PathBuf),
    /// `apply --plan-dir DIR`.
    Apply(PathBuf),
}

/// One `plan` or `apply`.
#[derive(Debug)]
pub struct DeploySettings {
    pub mode: Mode,
    /// `--service`, a value holding several names split at whitespace (every Lambda service
    /// when empty).
    pub services: Vec<String>,
    /// `--module-dir`: another module instead of the bundled one.
    pub module_dir: Option<PathBuf>,
    pub terraform: TerraformSettings,
    /// `--jobs`: services at once (the number of cores when not given).
    pub jobs: Option<u16>,
    /// `--format`: the report on stdout.
    pub format: Format,
    /// The CI outputs asked for.
    pub outputs: OutputFlags,
    pub handoff: Handoff,
    /// `apply --retry-rollout`: an aborted rollout's version is rolled out again.
    pub retry_rollout: bool,
}

impl DeploySettings {
    /// `plan`, with `--detailed-exitcode`, `--refresh` and `--out-dir`.
    pub fn plan(
        args: TerraformArgs,
        detailed_exitcode: bool,
        refresh: bool,
        out_dir: Option<PathBuf>,
    ) -> Self {
        let handoff = out_dir.map_or(Handoff::None, Handoff::Save);
        let mode = Mode::Plan {
            detailed_exitcode,
            refresh,
        };
        Self::resolve(args, mode, handoff)
    }

    /// `apply`, with `--auto-approve`, `--refresh` and `--plan-dir`.
    pub fn apply(
        args: TerraformArgs,
        auto_approve: bool,
        refresh: bool,
        plan_dir: Option<PathBuf>,
        retry_rollout: bool,
    ) -> Self {
        let mode = Mode::Apply {
            auto_approve,
            refresh,
        };
        Self {
            retry_rollout,
            ..Self::resolve(args, mode, plan_dir.map_or(Handoff::None, Handoff::Apply))
        }
    }

    fn resolve(args: TerraformArgs, mode: Mode, handoff: Handoff) -> Self {
        Self {
            mode,
            terraform: TerraformSettings::from(&args.terraform),
            outputs: OutputFlags::from(&args.ci),
            services: split_services(&args.services),
            module_dir: args.module_dir,
            jobs: args.jobs,
            format: args.format,
            handoff,
            retry_rollout: false,
        }
    }
}

/// `--service` values: every name each holds ([`split_names`]).
pub fn split_services(values: &[String]) -> Vec<String> {
    values.iter().flat_map(|names| split_names(names)).collect()
}

/// One `--service` value: the names it holds separated by whitespace (a matrix job's
/// `services`); a blank one stays as given, to be refused as no service's name.
fn split_names(value: &str) -> Vec<String> {
    match value
        .split_whitespace()
        .map(str::to_owned)
        .collect::<Vec<_>>()
    {
        names if names.is_empty() => vec![value.to_owned()],
        names => names,
    }
}

/// How terraform runs: what `plan`, `apply`, `destroy` and `preview prune` share.
#[derive(Debug, Clone)]
pub struct TerraformSettings {
    /// `--terraform-bin`.
    pub terraform_bin: Option<PathBuf>,
    pub backend: BackendSettings,
    /// `--lock-timeout` as typed, for terraform's `-lock-timeout`.
    pub lock_timeout_text: String,
    /// `--lock-timeout`, for the work dir's own lock.
    pub lock_timeout: Duration,
    /// `--grace-period`.
    pub grace_period: Duration,
    /// `--terraform-timeout`.
    pub terraform_timeout: Duration,
    /// `--plugin-mirror`.
    pub plugin_mirror: Option<PathBuf>,
}

impl From<&TerraformOptions> for TerraformSettings {
    fn from(options: &TerraformOptions) -> Self {
        Self {
            terraform_bin: options.terraform_bin.clone(),
            backend: BackendSettings {
                backend: options.backend,
                config: options.backend_config.clone(),
            },
            lock_timeout_text: options.lock_timeout.text.clone(),
            lock_timeout: options.lock_timeout.duration,
            grace_period: Duration::from_secs(options.grace_period),
            terraform_timeout: options.terraform_timeout,
            plugin_mirror: options.plugin_mirror.clone(),
        }
    }
}

/// `--summary-markdown`, `--summary-json`, `--github-comment` and `--pr`, for the CI outputs.
impl From<&crate::cli::CiArgs> for crate::ci::outputs::OutputFlags {
    fn from(args: &crate::cli::CiArgs) -> Self {
        Self {
            summary_markdown: args.summary_markdown.clone(),
            summary_json: args.summary_json.clone(),
            github_comment: args.github_comment,
            pr: args.pr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn a_service_value_of_several_names_is_split_and_a_blank_one_kept_to_be_refused() {
        let cli = Cli::parse_from([
            "lambda-gitops",
            "plan",
            "--service",
            " a  b",
            "--service",
            "c",
            "--service",
            " ",
        ]);
        let Command::Plan { terraform, .. } = cli.command else {
            panic!("plan")
        };
        let settings = DeploySettings::plan(terraform, false, false, None);
        assert_eq!(settings.services, ["a", "b", "c", " "]);
    }
}
