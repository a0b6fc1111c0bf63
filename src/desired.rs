//! The desired state: what each Lambda service should run, per staging, production and
//! pull-request preview, with every template already substituted. Plain data, produced by
//! [`crate::validate`] and consumed by staging, rendering and reporting.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// Defaults Lambda itself applies: 128 MiB and 3 seconds.
pub const DEFAULT_MEMORY_MIB: u32 = 128;
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 3;

#[derive(Debug, Clone)]
pub struct Repo {
    /// Sorted by name.
    pub services: Vec<DesiredService>,
}

#[derive(Debug, Clone)]
pub struct DesiredService {
    pub name: String,
    /// `services/<name>/config.yaml`.
    pub file: PathBuf,
    pub runtime: String,
    pub handler: String,
    pub memory_size: u32,
    pub timeout: u32,
    pub role_arn: Option<String>,
    pub trigger_bucket: String,
    pub package_bucket: String,
    pub staging: Option<Deployment>,
    pub production: Option<Deployment>,
    /// Sorted by PR number.
    pub previews: Vec<Deployment>,
}

impl DesiredService {
    /// Staging, production, then previews by PR number.
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

impl fmt::Display for DeploymentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Staging => f.write_str("staging"),
            Self::Production => f.write_str("production"),
            Self::Preview(pr) => write!(f, "pr-{pr}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub key: DeploymentKey,
    /// The file that declares it (the environment config or preview values).
    pub file: PathBuf,
    pub version: String,
    /// Empty when the file gives none.
    pub commit_sha: String,
    pub function_name: String,
    pub trigger_prefix: String,
    pub environment: BTreeMap<String, String>,
    pub package: PackageRef,
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
