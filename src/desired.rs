//! The desired state: what each Lambda service should run, per staging, production and
//! pull-request preview, with every template substituted and every override applied.
//! Plain data, produced by [`crate::resolve`] and consumed by staging, rendering and
//! reporting.
//!
//! One [`Deployment`] is everything one function needs; [`DeploymentKey`] names it from
//! validation errors to terraform keys, state addresses and reports.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// A long-lived environment: what `environments/<env>/` names and a deployment key half.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Environment {
    Staging,
    Production,
}

impl Environment {
    pub const ALL: [Environment; 2] = [Environment::Staging, Environment::Production];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staging => "staging",
            Self::Production => "production",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Defaults Lambda itself applies: 128 MiB, 3 seconds, 512 MiB of `/tmp`.
pub const DEFAULT_MEMORY_MIB: u32 = 128;
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 3;
pub const DEFAULT_EPHEMERAL_STORAGE_MIB: u32 = 512;
/// lambda-gitops's defaults: a month of logs, five spare published versions per function.
pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 30;
pub const DEFAULT_KEEP_VERSIONS: u32 = 5;

#[derive(Debug, Clone)]
pub struct Repo {
    /// Sorted by name.
    pub services: Vec<DesiredService>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredService {
    pub name: String,
    /// `services/<name>/config.yaml`.
    pub file: PathBuf,
    /// The service's own settings: what a deployment without overrides runs with.
    pub defaults: FunctionSettings,
    pub role_arn: Option<String>,
    pub trigger_bucket: String,
    pub package_bucket: String,
    pub staging: Option<Deployment>,
    pub production: Option<Deployment>,
    /// Sorted by PR number.
    pub previews: Vec<Deployment>,
}

impl DesiredService {
    /// The deployment of a long-lived environment, when the service has one there.
    pub fn environment(&self, env: Environment) -> Option<&Deployment> {
        match env {
            Environment::Staging => self.staging.as_ref(),
            Environment::Production => self.production.as_ref(),
        }
    }

    /// Staging, production, then previews by PR number.
    /// The deployment keyed `key`, when the service has it.
    pub fn deployment(&self, key: DeploymentKey) -> Option<&Deployment> {
        self.deployments().find(|d| d.key == key)
    }

    pub fn deployments(&self) -> impl Iterator<Item = &Deployment> {
        self.staging
            .iter()
            .chain(&self.production)
            .chain(&self.previews)
    }
}

/// Which deployment of a service: the same value names it in validation errors, terraform
/// keys (`staging`, `production`, `pr-7`), state addresses and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeploymentKey {
    Staging,
    Production,
    Preview(u64),
}

impl DeploymentKey {
    /// The long-lived environment it is, unless it is a preview.
    pub fn environment(self) -> Option<Environment> {
        match self {
            Self::Staging => Some(Environment::Staging),
            Self::Production => Some(Environment::Production),
            Self::Preview(_) => None,
        }
    }

    /// The PR number of a preview.
    pub fn pr(self) -> Option<u64> {
        match self {
            Self::Preview(pr) => Some(pr),
            _ => None,
        }
    }

    /// `staging`, `production` or `pr-<N>`, as terraform keys, tags and reports write it.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "staging" => Some(Self::Staging),
            "production" => Some(Self::Production),
            other => {
                let digits = other.strip_prefix("pr-")?;
                let valid = !digits.is_empty()
                    && !digits.starts_with('0')
                    && digits.chars().all(|c| c.is_ascii_digit());
                valid.then(|| digits.parse().ok().map(Self::Preview))?
            }
        }
    }
}

impl fmt::Display for DeploymentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Staging => f.write_str("staging"),
            Self::Production => f.write_str("production"),
            Self::Preview(pr) => write!(f, "pr-{pr}"),
        }
    }
}

impl Serialize for DeploymentKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One function: what it runs, where its package comes from and what triggers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub key: DeploymentKey,
    /// The file that declares it (the environment config or preview values).
    pub file: PathBuf,
    pub version: String,
    /// Empty when the file gives none.
    pub commit_sha: String,
    pub function_name: String,
    pub trigger_prefix: String,
    pub package: PackageRef,
    /// The service's settings with this deployment's overrides applied.
    pub settings: FunctionSettings,
    /// Published versions kept after an apply besides those an alias points at.
    pub keep_versions: u32,
    /// How a new version reaches `live` (previews: always all at once).
    pub rollout: Rollout,
}

/// How a new published version reaches a deployment's `live` alias (`lambda.rollout`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    pub strategy: Strategy,
    /// Canary: the share of traffic on the new version during the bake; linear: the share
    /// added at each step. 1–99; unused all at once.
    pub percent: u8,
    /// How long each step holds before the next, in seconds.
    pub interval_seconds: u64,
    /// CloudWatch alarm names: any in `ALARM` aborts the rollout.
    pub alarms: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Strategy {
    #[default]
    AllAtOnce,
    Canary,
    Linear,
}

impl Strategy {
    pub const NAMES: [&'static str; 3] = ["allAtOnce", "canary", "linear"];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "allAtOnce" => Some(Self::AllAtOnce),
            "canary" => Some(Self::Canary),
            "linear" => Some(Self::Linear),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

impl Default for Rollout {
    fn default() -> Self {
        Self {
            strategy: Strategy::AllAtOnce,
            percent: 10,
            interval_seconds: 300,
            alarms: Vec::new(),
        }
    }
}

impl Rollout {
    /// Whether a new version moves in steps rather than all at once.
    pub fn gradual(&self) -> bool {
        self.strategy != Strategy::AllAtOnce
    }

    /// The new version's share of traffic at each step, in percent, the last one 100:
    /// canary `[percent, 100]`, linear `[percent, 2·percent, …, 100]`, all at once `[100]`.
    pub fn weights(&self) -> Vec<u8> {
        let percent = self.percent.clamp(1, 99);
        match self.strategy {
            Strategy::AllAtOnce => vec![100],
            Strategy::Canary => vec![percent, 100],
            Strategy::Linear => {
                let mut weights: Vec<u8> = (1..)
                    .map(|step: u32| step * u32::from(percent))
                    .take_while(|weight| *weight < 100)
                    .map(|weight| weight as u8)
                    .collect();
                weights.push(100);
                weights
            }
        }
    }
}

/// What one function runs with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionSettings {
    pub runtime: String,
    pub handler: String,
    pub architecture: Architecture,
    /// Layer version ARNs, in order.
    pub layers: Vec<String>,
    /// MiB of `/tmp`.
    pub ephemeral_storage: u32,
    pub memory_size: u32,
    pub timeout: u32,
    /// The service's variables with the environment's (or preview's) over them.
    pub environment: BTreeMap<String, String>,
    /// `None`: the function draws on the account's unreserved concurrency.
    pub reserved_concurrency: Option<u32>,
    /// On the `live` alias; 0 for none.
    pub provisioned_concurrency: u32,
    pub tracing: Tracing,
    pub vpc: Option<Vpc>,
    pub log_retention_days: u32,
    pub description: String,
    /// The user's tags; lambda-gitops adds its own (service, deployment, version) beside them.
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    pub const NAMES: [&'static str; 2] = ["x86_64", "arm64"];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "x86_64" => Some(Self::X86_64),
            "arm64" => Some(Self::Arm64),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Tracing {
    Active,
    PassThrough,
}

impl Tracing {
    pub const NAMES: [&'static str; 2] = ["Active", "PassThrough"];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Active" => Some(Self::Active),
            "PassThrough" => Some(Self::PassThrough),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vpc {
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

/// One package to stage, with `{version}` substituted: equal refs are staged once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PackageRef {
    GithubRelease {
        /// `owner/repo`.
        repository: String,
        tag: String,
        asset: String,
    },
    Url {
        url: String,
    },
    /// Canonical, checked to lie inside the package root.
    Path {
        path: PathBuf,
    },
    /// An object already in the package bucket (preview `s3Key`).
    S3 {
        bucket: String,
        key: String,
    },
}

impl fmt::Display for PackageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::GithubRelease {
                repository,
                tag,
                asset,
            } => {
                write!(f, "GitHub release `{repository}@{tag}` asset `{asset}`")
            }
            Self::Url { url } => write!(f, "`{}`", crate::secret::redact_url(url)),
            Self::Path { path } => write!(f, "`{}`", path.display()),
            Self::S3 { bucket, key } => write!(f, "`s3://{bucket}/{key}`"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_keys_read_back_what_they_write() {
        for key in [
            DeploymentKey::Staging,
            DeploymentKey::Production,
            DeploymentKey::Preview(7),
            DeploymentKey::Preview(1001),
        ] {
            assert_eq!(DeploymentKey::parse(&key.to_string()), Some(key));
        }
        for bad in [
            "pr-",
            "pr-07",
            "pr-x",
            "Staging",
            "7",
            "pr-99999999999999999999",
        ] {
            assert_eq!(DeploymentKey::parse(bad), None, "{bad}");
        }
    }
}

#[cfg(test)]
mod rollout_tests {
    use super::*;

    #[test]
    fn a_rollouts_weights_end_at_100_canary_in_one_bake_linear_in_equal_steps() {
        let rollout = |strategy, percent| Rollout {
            strategy,
            percent,
            ..Rollout::default()
        };
        assert_eq!(rollout(Strategy::AllAtOnce, 10).weights(), [100]);
        assert_eq!(rollout(Strategy::Canary, 10).weights(), [10, 100]);
        assert_eq!(rollout(Strategy::Linear, 25).weights(), [25, 50, 75, 100]);
        assert_eq!(rollout(Strategy::Linear, 30).weights(), [30, 60, 90, 100]);
        assert_eq!(rollout(Strategy::Linear, 99).weights(), [99, 100]);
        assert_eq!(
            Strategy::parse("canary").map(Strategy::name),
            Some("canary")
        );
        assert_eq!(Strategy::parse("Canary"), None);
    }
}
