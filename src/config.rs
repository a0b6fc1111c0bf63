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

/// The `lambda:` block of a service: what every deployment of it runs with, unless an
/// environment (or the preview template) overrides a key marked *override* below.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LambdaService {
    pub runtime: String,
    pub handler: String,
    /// `x86_64` or `arm64`.
    pub architecture: Option<String>,
    /// Layer version ARNs, in the order Lambda applies them.
    pub layers: Option<Vec<String>>,
    /// MiB of `/tmp`.
    pub ephemeral_storage: Option<u32>,
    /// *override*
    pub memory_size: Option<u32>,
    /// *override*
    pub timeout: Option<u32>,
    /// *override*: merged under each environment's and the previews' own.
    #[serde(default)]
    pub environment: BTreeMap<String, EnvValue>,
    /// *override*
    pub reserved_concurrency: Option<u32>,
    /// *override*: on the `live` alias; previews do not inherit it.
    pub provisioned_concurrency: Option<u32>,
    /// `Active` or `PassThrough`.
    pub tracing: Option<String>,
    pub vpc: Option<VpcConfig>,
    pub log_retention_days: Option<u32>,
    pub description: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, EnvValue>,
    /// How many published versions to keep per function besides the aliased ones.
    pub keep_versions: Option<u32>,
    /// *override, key by key*: how a new version reaches `live` in staging and production.
    pub rollout: Option<RolloutConfig>,
    /// An existing execution role; without it the module creates one per service.
    pub role_arn: Option<String>,
    pub trigger_bucket: String,
    pub package_bucket: String,
    pub package: PackageSource,
    #[serde(default)]
    pub preview: PreviewTemplate,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VpcConfig {
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

/// The keys an environment config (or the preview template) may set over the service's,
/// under the same names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub memory_size: Option<u32>,
    pub timeout: Option<u32>,
    pub reserved_concurrency: Option<u32>,
    pub provisioned_concurrency: Option<u32>,
}

/// `lambda.rollout`: how a new published version reaches the `live` alias. Each key is
/// optional; an environment's keys win over the service's one by one (`alarms` as a whole
/// list). Validation checks the values, so resolve can parse them without failing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutConfig {
    /// `allAtOnce`, `canary` or `linear`.
    pub strategy: Option<String>,
    /// 1–99.
    pub percent: Option<Percent>,
    /// Hours, minutes and seconds: `30s`, `5m`, `1h30m`.
    pub interval: Option<String>,
    /// CloudWatch alarm names.
    pub alarms: Option<Vec<AlarmName>>,
}

/// A whole number as written, any size: the range (1–99) is a rule of its own, so `0` and
/// `150` get the same message as each other, not a type error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percent(pub i128);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Whole;
        impl de::Visitor<'_> for Whole {
            type Value = Percent;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number of percent from 1 to 99")
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Percent, E> {
                Ok(Percent(value.into()))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Percent, E> {
                Ok(Percent(value.into()))
            }

            fn visit_i128<E: de::Error>(self, value: i128) -> Result<Percent, E> {
                Ok(Percent(value))
            }
        }
        deserializer.deserialize_i64(Whole)
    }
}

/// A CloudWatch alarm's name: any scalar, as written (a plain `404` names the alarm `404`);
/// null and collections are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmName(pub String);

impl<'de> Deserialize<'de> for AlarmName {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl de::Visitor<'_> for Name {
            type Value = AlarmName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a CloudWatch alarm name (text)")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<AlarmName, E> {
                Ok(AlarmName(text.to_owned()))
            }

            fn visit_unit<E: de::Error>(self) -> Result<AlarmName, E> {
                Err(E::custom(
                    "an alarm name is null: write the CloudWatch alarm's name, or remove the item",
                ))
            }
        }
        deserializer.deserialize_str(Name)
    }
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
    pub memory_size: Option<u32>,
    pub timeout: Option<u32>,
    pub reserved_concurrency: Option<u32>,
    pub provisioned_concurrency: Option<u32>,
    /// Refused with a message of its own: previews always deploy all at once.
    #[serde(default, rename = "rollout")]
    pub _rollout: Option<IgnoredAny>,
}

impl PreviewTemplate {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            memory_size: self.memory_size,
            timeout: self.timeout,
            reserved_concurrency: self.reserved_concurrency,
            provisioned_concurrency: self.provisioned_concurrency,
        }
    }
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
    pub memory_size: Option<u32>,
    pub timeout: Option<u32>,
    pub reserved_concurrency: Option<u32>,
    pub provisioned_concurrency: Option<u32>,
    /// Over the service's `lambda.rollout`, key by key.
    pub rollout: Option<RolloutConfig>,
}

impl EnvLambda {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            memory_size: self.memory_size,
            timeout: self.timeout,
            reserved_concurrency: self.reserved_concurrency,
            provisioned_concurrency: self.provisioned_concurrency,
        }
    }
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
    /// Refused with a message of its own: previews always deploy all at once.
    #[serde(default, rename = "rollout")]
    pub _rollout: Option<IgnoredAny>,
}

/// An environment variable's (or a tag's) value: exactly the characters written. A plain `1.10`,
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
