//! The command line as typed. Doc comments here are the `--help` text; nothing past
//! [`crate::settings::Settings::resolve`] sees these types.

use std::path::PathBuf;

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

    /// Where per-service Terraform work dirs are written.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = ".lambda-gitops"
    )]
    pub work_dir: PathBuf,

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

    /// Largest package accepted, e.g. `250MiB`, `1GiB`, `5000000`.
    #[arg(long, global = true, value_name = "SIZE", default_value = "250MiB", value_parser = parse_size)]
    pub max_package_size: u64,

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
    },
    /// Plan each service, then apply exactly that saved plan.
    Apply {
        #[command(flatten)]
        terraform: TerraformArgs,

        /// Apply without asking; required when stdin is not a terminal.
        #[arg(long)]
        auto_approve: bool,
    },
}

/// What `plan` and `apply` share.
#[derive(Debug, Args)]
pub struct TerraformArgs {
    /// Only this service (repeatable) [default: every Lambda service, one after another].
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,

    /// The terraform binary [default: `terraform`, else `tofu`, on PATH].
    #[arg(long, value_name = "PATH")]
    pub terraform_bin: Option<PathBuf>,

    /// Run this module (its `*.tf` files) instead of the bundled one; it takes the same
    /// variables and declares no backend.
    #[arg(long, value_name = "DIR")]
    pub module_dir: Option<PathBuf>,

    /// Where Terraform keeps state: `local` (in the work dir) or `s3`.
    #[arg(long, value_enum, default_value_t = Backend::Local)]
    pub backend: Backend,

    /// Backend setting for `terraform init` (repeatable), e.g. `bucket=my-state`.
    #[arg(long = "backend-config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub backend_config: Vec<String>,

    /// How long to wait for the state lock.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub lock_timeout: String,

    /// After relaying an interrupt, how long terraform may take to stop before it is killed.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub grace_period: u64,

    /// Report on stdout: text as each service completes, or one JSON document or one
    /// Markdown pull-request comment at the end.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Markdown,
}

pub use crate::terraform::module::Backend;

fn parse_key_value(text: &str) -> Result<String, String> {
    match text.split_once('=') {
        Some((key, _)) if !key.is_empty() => Ok(text.to_owned()),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
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
    fn global_options_go_after_the_subcommand_too() {
        let cli =
            Cli::try_parse_from(["lambda-gitops", "scan", "--gitops-dir", "x", "-q"]).unwrap();
        assert_eq!(cli.global.gitops_dir, PathBuf::from("x"));
        assert_eq!(cli.global.quiet, 1);
    }
}
