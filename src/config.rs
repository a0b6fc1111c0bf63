//! The YAML schema of the gitops files, as serde types. Unknown keys are errors: a
//! silently ignored typo would change what is deployed.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `services/<service>/config.yaml` of a Lambda service.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceConfig {
    pub service_name: String,
    pub deployment_type: String,
    pub lambda: LambdaService,
    /// Helm keys shared with Kubernetes services; accepted and ignored.
    #[serde(default, rename = "chartPath")]
    pub _chart_path: Option<serde_yaml::Value>,
    #[serde(default, rename = "chartRepo")]
    pub _chart_repo: Option<serde_yaml::Value>,
}

/// Only `deploymentType` is read from a service config before we know it is ours.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentTypeProbe {
    pub deployment_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LambdaService {
    pub runtime: String,
    pub handler: String,
    pub memory_size: Option<u32>,
    pub timeout: Option<u32>,
    /// An existing execution role; without it the module creates one per service.
    pub role_arn: Option<String>,
    pub trigger_bucket: String,
    pub package_bucket: String,
    pub package: PackageSource,
    #[serde(default)]
    pub preview: PreviewTemplate,
}

/// Exactly one of the fields is set; `{version}` is substituted in each.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackageSource {
    pub github_release: Option<GithubReleaseSource>,
    pub url: Option<String>,
    pub path: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GithubReleaseSource {
    /// `owner/repo`.
    pub repository: String,
    pub tag: String,
    pub asset: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewTemplate {
    pub function_name: Option<String>,
    pub s3_trigger_prefix: Option<String>,
    #[serde(default)]
    pub environment: BTreeMap<String, EnvValue>,
}

/// `environments/{staging,production}/<service>/config.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvConfig {
    pub service_name: String,
    pub env_name: String,
    pub lambda: EnvLambda,
    pub git_version: Option<GitVersion>,
}

/// Whether an environment config is a Lambda one at all (Kubernetes configs share the tree).
#[derive(Debug, Deserialize)]
pub struct LambdaKeyProbe {
    pub lambda: Option<serde_yaml::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvLambda {
    pub version: String,
    pub function_name: String,
    pub s3_trigger_prefix: String,
    #[serde(default)]
    pub environment: BTreeMap<String, EnvValue>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitVersion {
    pub sha: String,
    pub short_sha: Option<String>,
}

/// `environments/preview/pr-<N>/services/<service>.values.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewValues {
    pub service_name: String,
    pub deployment_type: Option<String>,
    pub lambda: PreviewLambda,
    pub git_version: Option<GitVersion>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewLambda {
    pub version: String,
    pub commit_sha: Option<String>,
    /// An object already in the service's `packageBucket`.
    pub s3_key: Option<String>,
}

/// An environment variable's value: YAML scalars of any kind, kept as text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum EnvValue {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl std::fmt::Display for EnvValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(text) => f.write_str(text),
            Self::Integer(n) => write!(f, "{n}"),
            Self::Float(x) => write!(f, "{x}"),
            Self::Bool(b) => write!(f, "{b}"),
        }
    }
}
