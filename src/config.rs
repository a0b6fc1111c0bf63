//! The YAML schema of the gitops files, as serde types read through [`crate::yaml::de`].
//! Unknown keys are errors: a silently ignored typo would change what is deployed.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, IgnoredAny};
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
    pub _chart_path: Option<IgnoredAny>,
    #[serde(default, rename = "chartRepo")]
    pub _chart_repo: Option<IgnoredAny>,
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

/// An environment variable's value: exactly the characters written. A plain `1.10`,
/// `0x1F`, `.inf` or `true` is that text, never a number printed back; null and
/// collections are refused (Lambda takes text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvValue(pub String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl de::Visitor<'_> for Text {
            type Value = EnvValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("text (a scalar)")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<EnvValue, E> {
                Ok(EnvValue(text.to_owned()))
            }

            fn visit_unit<E: de::Error>(self) -> Result<EnvValue, E> {
                Err(E::custom(
                    "the value is null: write `\"\"` for an empty value, quote it (`\"null\"`) for the text, or remove the key",
                ))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

impl fmt::Display for EnvValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
