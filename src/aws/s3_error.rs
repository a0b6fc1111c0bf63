//! What went wrong with an S3 call, short enough for one line: a status, a code, "not
//! found", "access denied" — never a Debug dump of the SDK's error.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::retry::Transient;

/// What went wrong with an S3 call, short enough for one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3Error {
    #[error("no such bucket or key")]
    NotFound,
    #[error("access denied")]
    AccessDenied,
    #[error("the object changed while it was being downloaded")]
    Changed,
    #[error("S3 answered HTTP {status}{}", code.as_ref().map(|c| format!(" (`{c}`)")).unwrap_or_default())]
    Status { status: u16, code: Option<String> },
    #[error("S3 answered with an error{}", code.as_ref().map(|c| format!(" `{c}`")).unwrap_or_default())]
    Service { code: Option<String> },
    #[error("could not reach the S3 endpoint")]
    Unreachable,
    #[error("the S3 request timed out")]
    Timeout,
    #[error("the S3 response could not be read")]
    BadResponse,
    #[error("the object's body was cut off")]
    BodyCutOff,
    #[error("the S3 request could not be built (check the region and endpoint)")]
    Construction,
}

impl S3Error {
    /// The short form of an SDK error.
    pub fn from_sdk<E: ProvideErrorMetadata>(error: &SdkError<E>) -> Self {
        match error {
            SdkError::ConstructionFailure(_) => return Self::Construction,
            SdkError::TimeoutError(_) => return Self::Timeout,
            SdkError::DispatchFailure(_) => return Self::Unreachable,
            SdkError::ResponseError(_) => return Self::BadResponse,
            _ => {}
        }
        let status = error
            .raw_response()
            .map(|response| response.status().as_u16());
        let code = error.code().map(str::to_owned);
        match (status, code.as_deref()) {
            (_, Some("NoSuchKey" | "NoSuchBucket" | "NotFound")) | (Some(404), _) => Self::NotFound,
            (_, Some("AccessDenied")) | (Some(403), _) => Self::AccessDenied,
            (_, Some("PreconditionFailed")) | (Some(412), _) => Self::Changed,
            (Some(status), _) => Self::Status { status, code },
            (None, _) => Self::Service { code },
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Self::AccessDenied => {
                Some("the AWS credentials need `s3:GetObject` on the package bucket".into())
            }
            Self::Unreachable => {
                Some("check `AWS_ENDPOINT_URL`, the region and the network".into())
            }
            _ => None,
        }
    }
}

impl Transient for S3Error {
    fn is_transient(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            Self::Unreachable | Self::Timeout | Self::BadResponse | Self::BodyCutOff => true,
            _ => false,
        }
    }
}
