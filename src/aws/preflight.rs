//! Checks before terraform starts, once per run: what terraform would otherwise find out
//! late, or after half an apply. In: the AWS configuration every call uses and the buckets
//! the selected services name. Out: nothing, or one error naming the real cause.
//!
//! - credentials: the SDK's credential chain (the one every AWS call of the run, and
//!   terraform's provider, goes through) must give some; its own error text otherwise;
//! - buckets: each distinct trigger and package bucket answers `HeadBucket` in the run's
//!   region — Lambda takes its code and its S3 triggers only from a bucket in the
//!   function's region. All buckets are asked at once; every problem is reported.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::head_bucket::HeadBucketError;

use crate::desired::DesiredService;

/// A credential source that gives no answer (a `credential_process`, SSO) stops the run
/// after this long rather than holding it.
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("no AWS credentials: the AWS SDK's credential chain (environment, shared config and credentials files, web identity, container, EC2 instance metadata) found none")]
    NoCredentials {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("no AWS credentials: the AWS SDK's credential chain gave no answer within {}s", after.as_secs())]
    CredentialsTimedOut { after: Duration },

    #[error("{} bucket{} cannot be used in `{region}`; terraform not started", problems.len(), if problems.len() == 1 { "" } else { "s" })]
    Buckets {
        region: String,
        problems: Vec<BucketProblem>,
    },
}

impl PreflightError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NoCredentials { .. } | Self::CredentialsTimedOut { .. } => Some(
                "set `AWS_PROFILE` or `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (in GitHub Actions: `aws-actions/configure-aws-credentials` before this step)".into(),
            ),
            Self::Buckets { .. } => None,
        }
    }
}

/// One bucket that terraform could not use, with the gitops files that name it.
#[derive(Debug, thiserror::Error)]
#[error("the bucket `{bucket}` ({}) {kind}", uses.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
pub struct BucketProblem {
    pub bucket: String,
    pub region: String,
    pub uses: Vec<BucketUse>,
    pub kind: BucketFault,
}

impl BucketProblem {
    pub fn hint(&self) -> Option<String> {
        let region = &self.region;
        Some(match &self.kind {
            BucketFault::Missing => format!(
                "create it in `{region}` (the module does not create buckets), or name an existing bucket in the config"
            ),
            BucketFault::Forbidden { .. } => {
                "the AWS credentials need `s3:ListBucket` on it (terraform reads it too)".into()
            }
            BucketFault::InRegion { .. } => format!(
                "Lambda takes its code and its S3 triggers only from a bucket in its own region: run in the bucket's region or name a bucket in `{region}`"
            ),
            BucketFault::Unreachable { .. } => {
                "check `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3` and the network".into()
            }
            BucketFault::Failed { .. } => return None,
        })
    }
}

/// Where a bucket is named: the config key and the file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BucketUse {
    pub key: &'static str,
    pub file: PathBuf,
}

impl std::fmt::Display for BucketUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` in `{}`", self.key, self.file.display())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketFault {
    Missing,
    Forbidden { code: String },
    InRegion { actual: String },
    Unreachable { chain: String },
    Failed { message: String },
}

impl std::fmt::Display for BucketFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => write!(f, "does not exist"),
            Self::Forbidden { code } => {
                write!(f, "may not be read with these credentials (`{code}`)")
            }
            Self::InRegion { actual } => write!(f, "is in `{actual}`"),
            Self::Unreachable { chain } => write!(f, "could not be reached: {chain}"),
            Self::Failed { message } => write!(f, "could not be checked: {message}"),
        }
    }
}

/// The credential chain of `config` gives credentials, or the chain's own error.
pub async fn credentials(config: &aws_config::SdkConfig) -> Result<(), PreflightError> {
    use aws_sdk_s3::config::ProvideCredentials;
    let Some(provider) = config.credentials_provider() else {
        return Err(PreflightError::NoCredentials {
            source: "no credentials provider is configured".into(),
        });
    };
    match tokio::time::timeout(CREDENTIALS_TIMEOUT, provider.provide_credentials()).await {
        Ok(Ok(_)) => Ok(()),
        // The chain's error lists every source it tried and why each gave nothing.
        Ok(Err(source)) => Err(PreflightError::NoCredentials {
            source: Box::new(source),
        }),
        Err(_) => Err(PreflightError::CredentialsTimedOut {
            after: CREDENTIALS_TIMEOUT,
        }),
    }
}

/// Each distinct trigger and package bucket of `services`, with where it is named.
pub fn buckets_of(services: &[&DesiredService]) -> BTreeMap<String, Vec<BucketUse>> {
    let mut buckets: BTreeMap<String, Vec<BucketUse>> = BTreeMap::new();
    for service in services {
        for (key, bucket) in [
            ("triggerBucket", &service.trigger_bucket),
            ("packageBucket", &service.package_bucket),
        ] {
            buckets.entry(bucket.clone()).or_default().push(BucketUse {
                key,
                file: service.file.clone(),
            });
        }
    }
    buckets
}

/// `HeadBucket` for every bucket at once; every bucket that cannot be used, together.
pub async fn buckets(
    s3: &aws_sdk_s3::Client,
    region: &str,
    buckets: BTreeMap<String, Vec<BucketUse>>,
) -> Result<(), PreflightError> {
    let checks = buckets.into_iter().map(|(bucket, uses)| async move {
        let kind = fault(s3, &bucket, region).await?;
        Some(BucketProblem {
            bucket,
            region: region.to_owned(),
            uses,
            kind,
        })
    });
    let problems: Vec<BucketProblem> = futures_util::future::join_all(checks)
        .await
        .into_iter()
        .flatten()
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(PreflightError::Buckets {
        region: region.to_owned(),
        problems,
    })
}

/// What is wrong with `bucket` for a function in `region`, if anything.
async fn fault(s3: &aws_sdk_s3::Client, bucket: &str, region: &str) -> Option<BucketFault> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(head) => match head.bucket_region() {
            Some(actual) if actual != region => Some(BucketFault::InRegion {
                actual: actual.to_owned(),
            }),
            _ => None,
        },
        Err(error) => {
            tracing::debug!("`HeadBucket` of `{bucket}`: {}", super::chain(&error));
            Some(fault_of(&error, region))
        }
    }
}

fn fault_of(error: &SdkError<HeadBucketError>, region: &str) -> BucketFault {
    if let SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) = error {
        return BucketFault::Unreachable {
            chain: super::chain(error),
        };
    }
    let raw = error.raw_response();
    let status = raw.map(|raw| raw.status().as_u16());
    let actual = raw.and_then(|raw| raw.headers().get("x-amz-bucket-region"));
    if let Some(actual) = actual.filter(|actual| *actual != region) {
        return BucketFault::InRegion {
            actual: actual.to_owned(),
        };
    }
    match (status, error.code()) {
        (Some(404), _) | (_, Some("NotFound" | "NoSuchBucket")) => BucketFault::Missing,
        (Some(403), code) => BucketFault::Forbidden {
            code: code.unwrap_or("403 Forbidden").to_owned(),
        },
        _ => BucketFault::Failed {
            message: super::describe(error),
        },
    }
}
