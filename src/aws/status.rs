//! What a function actually runs, read from Lambda: the version its `version` tag names
//! (the module tags every function with it) and the SHA-256 of the code behind the alias
//! `live` when there is one, else of `$LATEST`, and since when that version exists (its
//! `LastModified`, in UTC). `promote --require-deployed` and the plan's proof of the
//! artifact (`run/artifact.rs`) compare these with the package the target gets.

use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

/// The alias the module publishes each deployment behind.
pub const LIVE_ALIAS: &str = "live";
/// The tag holding the version a function was deployed with.
pub const VERSION_TAG: &str = "version";

/// A function as it runs now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub function_name: String,
    /// `live`, or `$LATEST` when the function has no such alias.
    pub qualifier: String,
    /// The function version the qualifier points at (`$LATEST` or a number).
    pub function_version: String,
    /// The function's `version` tag, when it has one.
    pub version_tag: Option<String>,
    /// Base64 SHA-256 of the code package, as Lambda reports it.
    pub code_sha256: String,
    /// When that version was published (or `$LATEST` last changed), RFC 3339 in UTC;
    /// `None` when Lambda gave no date it could read.
    pub since: Option<String>,
    /// The function's `service` and `environment` tags (the module's), when it has them.
    pub owner: (Option<String>, Option<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("the function `{function}` does not exist")]
    NoFunction { function: String },
    #[error("reading the function `{function}` was refused (`{code}`)")]
    AccessDenied { function: String, code: String },
    #[error("reading the function `{function}` failed: {message}")]
    Failed { function: String, message: String },
    #[error("could not reach the Lambda API to read `{function}`")]
    Unreachable { function: String },
}

impl StatusError {
    fn from_sdk<E>(function: &str, error: &SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        // `-v`: the SDK's whole account of it, every cause.
        tracing::debug!("reading `{function}`: {}", super::chain(error));
        let function = function.to_owned();
        match error {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                return Self::Unreachable { function }
            }
            SdkError::ConstructionFailure(_) => {
                return Self::Failed {
                    function,
                    message: "the request could not be built (check the region)".into(),
                }
            }
            _ => {}
        }
        let status = error.raw_response().map(|r| r.status().as_u16());
        let code = error.code().unwrap_or_default().to_owned();
        match (status, code.as_str()) {
            (_, "ResourceNotFoundException") | (Some(404), _) => Self::NoFunction { function },
            (_, "AccessDeniedException") | (Some(403), _) => Self::AccessDenied {
                function,
                code: if code.is_empty() { "403".into() } else { code },
            },
            (status, _) => Self::Failed {
                function,
                message: crate::problem::excerpt(&match (status, error.message()) {
                    (_, Some(message)) if !code.is_empty() => format!("`{code}`: {message}"),
                    (Some(status), _) => format!("HTTP {status} `{code}`"),
                    _ => format!("`{code}`"),
                }),
            },
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Self::AccessDenied { .. } => Some(
                "the AWS credentials need `lambda:GetFunction`, `lambda:GetAlias` and `lambda:GetFunctionConfiguration`".into(),
            ),
            Self::Unreachable { .. } => {
                Some("check `AWS_ENDPOINT_URL`, the region and the network".into())
            }
            _ => None,
        }
    }
}

/// What `function` runs now: its tags from `GetFunction`, then the alias `live` if it has
/// one (and that version's configuration), else `$LATEST`'s configuration.
pub async fn running(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<Running, StatusError> {
    let got = client
        .get_function()
        .function_name(function)
        .send()
        .await
        .map_err(|e| StatusError::from_sdk(function, &e))?;
    let tag = |name: &str| got.tags().and_then(|tags| tags.get(name)).cloned();
    let version_tag = tag(VERSION_TAG);
    let owner = (tag("service"), tag("environment"));
    let alias = live_version(client, function).await?;
    let (qualifier, configuration) = match &alias {
        Some(version) => {
            let configuration = client
                .get_function_configuration()
                .function_name(function)
                .qualifier(version)
                .send()
                .await
                .map_err(|e| StatusError::from_sdk(function, &e))?;
            (
                LIVE_ALIAS.to_owned(),
                (
                    configuration.version,
                    configuration.code_sha256,
                    configuration.last_modified,
                ),
            )
        }
        None => {
            let configuration = got.configuration();
            (
                "$LATEST".to_owned(),
                (
                    configuration.and_then(|c| c.version().map(str::to_owned)),
                    configuration.and_then(|c| c.code_sha256().map(str::to_owned)),
                    configuration.and_then(|c| c.last_modified().map(str::to_owned)),
                ),
            )
        }
    };
    let (function_version, code_sha256, last_modified) = configuration;
    Ok(Running {
        function_name: function.to_owned(),
        qualifier,
        function_version: function_version.unwrap_or_else(|| "$LATEST".to_owned()),
        version_tag,
        code_sha256: code_sha256.unwrap_or_default(),
        since: last_modified.as_deref().and_then(utc),
        owner,
    })
}

/// Lambda's `LastModified` (`2026-12-01T14:02:33.123+0000`: an offset without its colon)
/// as RFC 3339 in UTC (`2026-12-01T14:02:33.123Z`); `None` when it is no date.
pub fn utc(last_modified: &str) -> Option<String> {
    use aws_sdk_lambda::primitives::{DateTime, DateTimeFormat};
    let text = last_modified.trim();
    let bytes = text.as_bytes();
    // `+0000` → `+00:00`, the offset RFC 3339 (and the SDK's parser) reads.
    let text = match bytes.len().checked_sub(5).map(|at| (at, bytes[at])) {
        Some((at, b'+' | b'-')) if bytes[at + 1..].iter().all(u8::is_ascii_digit) => {
            format!("{}:{}", &text[..at + 3], &text[at + 3..])
        }
        _ => text.to_owned(),
    };
    DateTime::from_str(&text, DateTimeFormat::DateTimeWithOffset)
        .ok()?
        .fmt(DateTimeFormat::DateTime)
        .ok()
}

/// The function version behind the alias `live`; `None` when the function has no such alias.
async fn live_version(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<Option<String>, StatusError> {
    match client
        .get_alias()
        .function_name(function)
        .name(LIVE_ALIAS)
        .send()
        .await
    {
        Ok(alias) => Ok(alias.function_version().map(str::to_owned)),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(error) => Err(StatusError::from_sdk(function, &error)),
    }
}

/// One deployment compared with what its function runs.
#[derive(Debug, Clone)]
pub struct DeploymentStatus {
    pub key: crate::desired::DeploymentKey,
    pub function_name: String,
    pub version: String,
    pub code_sha256: String,
    /// What runs, or why it could not be read.
    pub running: Result<Running, StatusError>,
    /// Why it does not run what is declared; empty when it does.
    pub differences: Vec<String>,
    /// A rollout of what is declared in progress (what it runs is the old version, by plan).
    pub rollout: Option<String>,
}

impl DeploymentStatus {
    pub fn matches(&self) -> bool {
        self.running.is_ok() && self.differences.is_empty()
    }
}

/// How many functions are read at once.
const CONCURRENT_READS: usize = 16;

/// What a deployment declares its function runs: the function, the gitops version and the
/// base64 SHA-256 of its package.
#[derive(Debug, Clone, Copy)]
pub struct Declared<'a> {
    pub key: crate::desired::DeploymentKey,
    pub function_name: &'a str,
    pub version: &'a str,
    pub code_sha256: &'a str,
}

/// What every `declared` deployment runs, compared with what it declares (its version tag
/// and the CodeSha256 behind `live`), in the order given.
pub async fn check_all<'a>(
    client: &aws_sdk_lambda::Client,
    declared: impl IntoIterator<Item = Declared<'a>>,
) -> Vec<DeploymentStatus> {
    use futures_util::StreamExt;
    futures_util::stream::iter(declared)
        .map(|declared| async move {
            let Declared {
                key,
                function_name,
                version,
                code_sha256,
            } = declared;
            let running = self::running(client, function_name).await;
            let differences = match &running {
                Ok(running) => differences(running, version, code_sha256),
                Err(error) => vec![error.to_string()],
            };
            DeploymentStatus {
                key,
                function_name: function_name.to_owned(),
                version: version.to_owned(),
                code_sha256: code_sha256.to_owned(),
                running,
                differences,
                rollout: None,
            }
        })
        .buffered(CONCURRENT_READS)
        .collect()
        .await
}

/// Why `running` is not `version` with the package hashing to `code_sha256`; empty when
/// it is.
pub fn differences(running: &Running, version: &str, code_sha256: &str) -> Vec<String> {
    let mut reasons = Vec::new();
    let at = format!(
        "`{}` ({})",
        running.function_name,
        if running.qualifier == LIVE_ALIAS {
            format!(
                "alias `{LIVE_ALIAS}` → version {}",
                running.function_version
            )
        } else {
            "`$LATEST`".to_owned()
        }
    );
    match running.version_tag.as_deref() {
        Some(tag) if tag == version => {}
        Some(tag) => reasons.push(format!(
            "{at} is tagged version `{}`, not `{version}`",
            crate::problem::excerpt(tag)
        )),
        None => reasons.push(format!("{at} has no `{VERSION_TAG}` tag")),
    }
    if running.code_sha256 != code_sha256 {
        reasons.push(format!(
            "{at} runs code with SHA-256 `{}`, but the package of `{version}` hashes to `{code_sha256}`",
            crate::problem::excerpt(&running.code_sha256)
        ));
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(qualifier: &str, tag: Option<&str>, sha: &str) -> Running {
        Running {
            function_name: "f-staging".into(),
            qualifier: qualifier.into(),
            function_version: if qualifier == LIVE_ALIAS {
                "3"
            } else {
                "$LATEST"
            }
            .into(),
            version_tag: tag.map(str::to_owned),
            code_sha256: sha.into(),
            since: None,
            owner: (None, None),
        }
    }

    #[test]
    fn lambdas_last_modified_reads_as_utc_whatever_its_offset() {
        assert_eq!(
            utc("2026-12-01T14:02:33.123+0000").as_deref(),
            Some("2026-12-01T14:02:33.123Z")
        );
        assert_eq!(
            utc("2026-12-01T16:02:33+0200").as_deref(),
            Some("2026-12-01T14:02:33Z")
        );
        assert_eq!(
            utc("2026-12-01T14:02:33.5Z").as_deref(),
            Some("2026-12-01T14:02:33.5Z")
        );
        assert_eq!(utc("yesterday"), None);
        assert_eq!(utc(""), None);
    }

    #[test]
    fn a_function_runs_a_version_only_with_its_tag_and_its_bytes() {
        assert!(
            differences(&running(LIVE_ALIAS, Some("1.1.0"), "abc="), "1.1.0", "abc=").is_empty()
        );
        let reasons = differences(&running(LIVE_ALIAS, Some("1.0.0"), "abc="), "1.1.0", "abc=");
        assert_eq!(
            reasons,
            ["`f-staging` (alias `live` → version 3) is tagged version `1.0.0`, not `1.1.0`"]
        );
        let reasons = differences(&running("$LATEST", None, "old="), "1.1.0", "new=");
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[0].contains("has no `version` tag"));
        assert!(reasons[1].contains("`old=`") && reasons[1].contains("`new=`"));
    }
}
