//! What can go wrong talking to GitHub, as data: the status and what it means for the user
//! (a rate limit, a missing or weak token, a missing release) rather than a bare code.
//! URLs are redacted (signed storage URLs carry their signature in the query).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;

use crate::github::policy::{Refusal, MAX_REDIRECTS};
use crate::retry::Transient;

#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("request to `{url}` failed: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("`{url}` sent nothing for {}s", after.as_secs_f32())]
    Stalled { url: String, after: Duration },

    #[error("not found")]
    NotFound { url: String },

    #[error("GitHub API rate limit exceeded{}", describe_reset(*reset))]
    RateLimited {
        /// `X-RateLimit-Reset`: when the limit resets, in Unix seconds.
        reset: Option<u64>,
        authenticated: bool,
    },

    #[error("`{url}` answered HTTP {status}")]
    Unauthorized {
        url: String,
        status: StatusCode,
        authenticated: bool,
    },

    #[error("`{url}` answered HTTP {status}")]
    Status {
        url: String,
        status: StatusCode,
        retry_after: Option<Duration>,
    },

    #[error("`{url}` redirected more than {MAX_REDIRECTS} times")]
    TooManyRedirects { url: String },

    #[error(
        "`{url}` redirected to `{location}`, which is {}",
        describe_refusal(refusal)
    )]
    RedirectRefused {
        url: String,
        location: String,
        refusal: Refusal,
    },

    #[error("`{url}` is {}", describe_refusal(refusal))]
    UrlRefused { url: String, refusal: Refusal },

    #[error("the next page `{next}` is not on the GitHub API's origin")]
    ForeignPage { next: String },

    #[error("`{url}` has more than {max} pages")]
    TooManyPages { url: String, max: usize },

    #[error("`{repository}` is not `owner/name`")]
    Repository { repository: String },

    #[error("the GitHub token holds characters an HTTP header cannot carry")]
    InvalidToken,

    #[error("`{segment}` cannot be part of a GitHub API path")]
    PathSegment { segment: String },

    #[error("`{url}` answered more than {limit} bytes")]
    TooLarge { url: String, limit: u64 },

    #[error("unexpected JSON from `{url}`: {message}")]
    Json { url: String, message: String },

    /// 422 Unprocessable Entity: GitHub refused what was sent (e.g. a comment body over
    /// 65,536 characters).
    #[error("`{url}` refused the request: {message}")]
    Rejected { url: String, message: String },
}

impl GithubError {
    /// What the user can do about it, where there is something.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::RateLimited { authenticated: false, .. } => Some(
                "set `GITHUB_TOKEN` (or `GH_TOKEN`): unauthenticated requests get 60 an hour".into(),
            ),
            Self::RateLimited { authenticated: true, .. } => Some(
                "the token's rate limit is used up: wait for the reset, or use another token".into(),
            ),
            Self::Unauthorized { authenticated: false, .. } => Some(
                "set `GITHUB_TOKEN` (or `GH_TOKEN`) to a token that can read the repository's releases".into(),
            ),
            Self::Unauthorized { authenticated: true, .. } => Some(
                "check that `GITHUB_TOKEN` (or `GH_TOKEN`) is valid and can read the repository's releases".into(),
            ),
            Self::UrlRefused { refusal: Refusal::Insecure, .. }
            | Self::RedirectRefused { refusal: Refusal::Insecure, .. } => Some(
                "the token and packages must not cross the network in clear; pass `--allow-insecure-api` only on a trusted network".into(),
            ),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

impl Transient for GithubError {
    fn is_transient(&self) -> bool {
        match self {
            Self::Request { source, .. } => {
                source.is_connect()
                    || source.is_timeout()
                    || source.is_body()
                    || source.is_request()
            }
            Self::Stalled { .. } => true,
            Self::Status {
                status,
                retry_after,
                ..
            } => {
                status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    // A secondary rate limit: 403 with the delay to wait.
                    || (*status == StatusCode::FORBIDDEN && retry_after.is_some())
            }
            _ => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn describe_reset(reset: Option<u64>) -> String {
    let Some(reset) = reset else {
        return String::new();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let seconds = reset % 86_400;
    let at = format!(
        "{:02}:{:02}:{:02} UTC",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    );
    match reset.checked_sub(now) {
        Some(wait) if wait > 0 => format!(" (it resets at {at}, in {} min)", wait.div_ceil(60)),
        _ => format!(" (it resets at {at})"),
    }
}

fn describe_refusal(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::NotHttp => "not an http(s) URL",
        Refusal::Insecure => "plain http to a host off this machine",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_says_so_and_when_it_resets() {
        let error = GithubError::RateLimited {
            reset: Some(1_700_000_000),
            authenticated: false,
        };
        assert_eq!(
            error.to_string(),
            "GitHub API rate limit exceeded (it resets at 22:13:20 UTC)"
        );
        assert!(error.hint().unwrap().contains("set `GITHUB_TOKEN`"));
        let error = GithubError::RateLimited {
            reset: None,
            authenticated: true,
        };
        assert_eq!(error.to_string(), "GitHub API rate limit exceeded");
        assert!(!error.hint().unwrap().contains("set `GITHUB_TOKEN`"));
    }
}
