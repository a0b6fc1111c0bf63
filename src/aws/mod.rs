//! The AWS API calls lambda-gitops makes itself, beside terraform: what terraform does not
//! do. Same credential chain and endpoint variables as terraform's provider
//! (`AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` honoured), in the region terraform
//! is given. SDK errors become one short line ([`describe`]), never a Debug dump.

pub mod adopt;
pub mod alarms;
pub mod alias;
pub mod log_groups;
pub mod preflight;
mod s3_error;
pub mod status;
pub mod versions;

pub use s3_error::S3Error;

use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

/// The standard AWS configuration in `region` (empty: the SDK's own region chain).
pub async fn sdk_config(region: &str) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if !region.is_empty() {
        let region = aws_config::Region::new(region.to_owned());
        loader = loader
            .region(region.clone())
            .credentials_provider(credentials_chain(region).await);
    }
    loader.load().await
}

/// The SDK's default credential chain, whose last source — the EC2 instance metadata
/// service — is asked once with a 1 s connect and read timeout instead of four times: off
/// EC2 the address is often a black hole, and the default would hold a run without
/// credentials for about ten seconds before it says so. (`AWS_EC2_METADATA_DISABLED=true`
/// skips it.)
async fn credentials_chain(
    region: aws_config::Region,
) -> aws_config::default_provider::credentials::DefaultCredentialsChain {
    use aws_config::provider_config::ProviderConfig;
    let quick = std::time::Duration::from_secs(1);
    let config = ProviderConfig::default()
        .with_region(Some(region))
        .with_behavior_version(Some(aws_config::BehaviorVersion::latest()));
    let imds = aws_config::imds::Client::builder()
        .configure(&config)
        .max_attempts(1)
        .connect_timeout(quick)
        .read_timeout(quick)
        .build();
    aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
        .configure(config)
        .imds_client(imds)
        .build()
        .await
}

/// An error and every `source()` under it, joined by `: ` — what `-v` shows of an SDK
/// error.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An AWS call that failed: what was being done, and AWS's reason in one line
/// ([`describe`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{doing}: {reason}")]
pub struct AwsError {
    pub doing: String,
    pub reason: String,
}

impl AwsError {
    /// `doing` failed with the SDK's `error`.
    pub fn new<E: ProvideErrorMetadata, R>(
        doing: impl Into<String>,
        error: &SdkError<E, R>,
    ) -> Self {
        Self {
            doing: doing.into(),
            reason: describe(error),
        }
    }
}

/// A Lambda client for `region`: the one way every part of a run reaches the Lambda API.
pub async fn lambda_client(region: &str) -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::new(&sdk_config(region).await)
}

/// An S3 client for `config`. S3-compatible endpoints set through `AWS_ENDPOINT_URL` rarely
/// serve virtual-hosted buckets, so those (and `path_style`) get path-style requests.
pub fn s3_client(config: &aws_config::SdkConfig, path_style: bool) -> aws_sdk_s3::Client {
    let path_style = path_style || config.endpoint_url().is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build(),
    )
}

/// One line for an SDK error: the service's error code and HTTP status, or why no answer
/// came.
pub fn describe<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> String {
    match error {
        SdkError::ConstructionFailure(_) => {
            "the request could not be built (check the region and credentials)".into()
        }
        SdkError::TimeoutError(_) => "the request timed out".into(),
        SdkError::DispatchFailure(_) => "could not reach the AWS endpoint".into(),
        SdkError::ResponseError(_) => "the response could not be read".into(),
        _ => match (error.code(), error.message()) {
            (Some(code), Some(message)) => {
                format!("`{code}`: {}", crate::problem::excerpt(message))
            }
            (Some(code), None) => format!("`{code}`"),
            _ => "an error without a code".into(),
        },
    }
}

/// Whether the service said the resource is not there.
pub fn not_found<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error.code() == Some("ResourceNotFoundException")
}
