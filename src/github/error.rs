//! What can go wrong talking to GitHub, as data: the status, GitHub's own words (`message`
//! and every `errors[]` entry), the call that failed and the permission it needs, rather
//! than a bare code. A rate limit is never called a permission error, and a 404 says the
//! token may lack access (GitHub answers 404, not 403, for a private repository it hides).
//! URLs are redacted (signed storage URLs carry their signature in the query).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};

use crate::github::policy::{Call, Refusal, Throttle, WaitReason, MAX_REDIRECTS};
use crate::retry::Transient;

/// The REST API version every request asks for (`X-GitHub-Api-Version`).
pub const API_VERSION: &str = "2022-11-28";

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

    /// 404. GitHub answers it for a private repository the token cannot see, too.
    #[error("not found (`{url}` answered HTTP 404): {}", describe_missing(*call, *authenticated))]
    NotFound {
        url: String,
        call: Call,
        authenticated: bool,
    },

    /// A rate limit whose wait would end past the run's deadline for rate-limit waits.
    #[error("{}", describe_limit(.0))]
    RateLimited(Box<RateLimit>),

    /// Still rate-limited after every wait the back-off allows.
    #[error("`{url}` was still rate-limited by GitHub ({}, HTTP {status}) after {attempts} waits ({} in all)", describe_throttle(*throttle), show(*waited))]
    StillRateLimited {
        throttle: Throttle,
        status: StatusCode,
        url: String,
        attempts: usize,
        waited: Duration,
        authenticated: bool,
    },

    /// 401, or a 403 that is not a rate limit: the token is missing, invalid or lacks a
    /// permission. Never retried.
    #[error("could not {}: `{url}` answered HTTP {status}{}", call.describe(), said(message))]
    Unauthorized {
        url: String,
        status: StatusCode,
        authenticated: bool,
        call: Call,
        message: String,
    },

    /// 410: an API version (or resource) GitHub no longer serves.
    #[error("could not {}: `{url}` answered HTTP 410 Gone{}: GitHub no longer serves what was asked for — the REST API version `{API_VERSION}` this build speaks, or the resource itself", call.describe(), said(message))]
    Gone {
        url: String,
        call: Call,
        message: String,
    },

    #[error("could not {}: `{url}` answered HTTP {status}{}", call.describe(), said(message))]
    Status {
        url: String,
        status: StatusCode,
        retry_after: Option<Duration>,
        call: Call,
        message: String,
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

    /// A write answered with a redirect that would drop its body or leave the API origin.
    #[error("could not {}: `{url}` answered the {method} with HTTP {status} to `{location}`; a write is re-sent only on a 307 or 308 that stays on the GitHub API", call.describe())]
    WriteRedirected {
        url: String,
        method: Method,
        status: StatusCode,
        location: String,
        call: Call,
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
    /// 65,536 characters); `message` holds GitHub's `message` and every `errors[]` entry.
    #[error("could not {}: `{url}` refused the request: {message}", call.describe())]
    Rejected {
        url: String,
        call: Call,
        message: String,
    },

    /// GitHub's digest of an asset and the release's checksum file disagree: one of them is
    /// wrong, so neither is trusted.
    #[error("GitHub's digest of `{asset}` is `sha256:{digest}`, but the release's checksum says {checksum} (in `{file}`)")]
    DigestDisagrees {
        asset: String,
        digest: String,
        file: String,
        checksum: String,
    },

    /// The release lists the asset, but GitHub is still receiving it (`state` is not
    /// `uploaded`).
    #[error("the release is still uploading `{asset}` (its state is `{state}`); it cannot be downloaded yet")]
    AssetNotUploaded { asset: String, state: String },
}

/// A rate limit the client did not wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub throttle: Throttle,
    pub status: StatusCode,
    pub url: String,
    /// `X-RateLimit-Reset`: when the limit resets, in Unix seconds.
    pub reset: Option<u64>,
    /// What GitHub asked for (or the back-off when it named no time).
    pub wait: Duration,
    pub reason: WaitReason,
    /// What was left until the run's deadline for rate-limit waits, and the whole of it.
    pub left: Duration,
    pub budget: Duration,
    pub authenticated: bool,
}

impl GithubError {
    /// What the user can do about it, where there is something.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::RateLimited(limit) if !limit.authenticated => Some(
                "set `GITHUB_TOKEN` (or `GH_TOKEN`): unauthenticated requests get 60 an hour".into(),
            ),
            Self::StillRateLimited { authenticated: false, .. } => Some(
                "set `GITHUB_TOKEN` (or `GH_TOKEN`): unauthenticated requests get 60 an hour".into(),
            ),
            Self::RateLimited(limit) if limit.throttle == Throttle::Primary => Some(
                "the token's rate limit is used up: wait for the reset, use another token, or let the run wait longer (`LAMBDA_GITOPS_GITHUB_MAX_WAIT`, in seconds)".into(),
            ),
            Self::RateLimited(_) | Self::StillRateLimited { .. } => Some(
                "GitHub limits how fast and how many requests at once one token makes: run fewer jobs with this token at the same time, or let the run wait longer (`LAMBDA_GITOPS_GITHUB_MAX_WAIT`, in seconds)".into(),
            ),
            Self::Unauthorized { authenticated: false, call, .. } => Some(format!(
                "set `GITHUB_TOKEN` (or `GH_TOKEN`) to a token{}",
                needs(*call)
            )),
            Self::Unauthorized { status, call, .. } if *status == StatusCode::UNAUTHORIZED => Some(format!(
                "check that `GITHUB_TOKEN` (or `GH_TOKEN`) is valid and not expired{}",
                needs(*call).replacen(" that", "; it needs a token that", 1)
            )),
            Self::Unauthorized { call, .. } => Some(format!(
                "check that `GITHUB_TOKEN` (or `GH_TOKEN`) can do this{}",
                needs(*call).replacen(" that", ": it needs", 1).replacen(" has", "", 1)
            )),
            Self::Gone { .. } => Some(
                "if GitHub retired the API version, upgrade lambda-gitops to a release that speaks a current one".into(),
            ),
            Self::AssetNotUploaded { .. } => Some(
                "wait for the release's upload to finish, then run again".into(),
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
            Self::Status { status, .. } => status.is_server_error(),
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

/// GitHub's words from an error body: `message`, then every `errors[]` entry — an object's
/// `message`, else its `resource`, `field` and `code`; a plain string as it is — on one line.
pub fn github_words(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        message: Option<String>,
        #[serde(default)]
        errors: Vec<serde_json::Value>,
    }
    let Ok(body) = serde_json::from_slice::<Body>(body) else {
        return String::new();
    };
    let excerpt = |text: String| crate::problem::excerpt(&text);
    let mut parts: Vec<String> = body.message.into_iter().map(excerpt).collect();
    let entries: Vec<String> = body
        .errors
        .iter()
        .filter_map(describe_entry)
        .map(excerpt)
        .collect();
    if !entries.is_empty() {
        parts.push(entries.join("; "));
    }
    parts.join(": ")
}

fn describe_entry(entry: &serde_json::Value) -> Option<String> {
    if let Some(text) = entry.as_str() {
        return Some(text.to_owned());
    }
    let field = |name: &str| entry.get(name).and_then(serde_json::Value::as_str);
    if let Some(message) = field("message") {
        return Some(message.to_owned());
    }
    let code = field("code")?;
    Some(match (field("resource"), field("field")) {
        (Some(resource), Some(name)) => format!("{resource} `{name}`: {code}"),
        (None, Some(name)) => format!("`{name}`: {code}"),
        (Some(resource), None) => format!("{resource}: {code}"),
        (None, None) => code.to_owned(),
    })
}

fn said(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// ` that has <permission>`, when the call needs one.
fn needs(call: Call) -> String {
    call.permission()
        .map(|permission| format!(" that has {permission} on the repository"))
        .unwrap_or_default()
}

fn describe_missing(call: Call, authenticated: bool) -> String {
    let permission = call
        .permission()
        .map(|permission| format!(" (to {} it needs {permission})", call.describe()))
        .unwrap_or_default();
    if authenticated {
        format!("it does not exist, or the repository is private and the token may be missing access to it{permission}")
    } else {
        format!("it does not exist, or the repository is private and needs a token (`GITHUB_TOKEN`){permission}")
    }
}

fn describe_throttle(throttle: Throttle) -> &'static str {
    match throttle {
        Throttle::Primary => "its rate limit",
        Throttle::Secondary => "its secondary rate limit",
    }
}

fn describe_limit(limit: &RateLimit) -> String {
    let RateLimit {
        throttle,
        status,
        url,
        reset,
        wait,
        reason,
        left,
        budget,
        ..
    } = limit;
    let why = match reason {
        WaitReason::RetryAfter => "as its `retry-after` asks",
        WaitReason::Reset(_) => "until the limit resets",
        WaitReason::Backoff => "backing off, as GitHub named no time",
    };
    let head = match throttle {
        Throttle::Primary => format!("GitHub API rate limit exceeded{}", describe_reset(*reset)),
        Throttle::Secondary => {
            format!("GitHub's secondary rate limit (`{url}` answered HTTP {status})")
        }
    };
    format!(
        "{head}: waiting {} ({why}) would pass the run's deadline for GitHub's rate limits ({} left of {})",
        show(*wait),
        show(*left),
        show(*budget)
    )
}

/// `45s`, `2m 5s`, `1h 0m`.
pub fn show(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..=59 => format!("{}s", duration.as_secs_f32().ceil() as u64),
        60..=3599 if seconds.is_multiple_of(60) => format!("{}m", seconds / 60),
        60..=3599 => format!("{}m {}s", seconds / 60, seconds % 60),
        _ => format!("{}h {}m", seconds / 3600, seconds % 3600 / 60),
    }
}

/// ` (it resets at HH:MM:SS UTC, in N min)`, or nothing without a reset.
pub fn describe_reset(reset: Option<u64>) -> String {
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

    fn primary(reset: Option<u64>, authenticated: bool) -> GithubError {
        GithubError::RateLimited(Box::new(RateLimit {
            throttle: Throttle::Primary,
            status: StatusCode::FORBIDDEN,
            url: "https://api.github.com/x".into(),
            reset,
            wait: Duration::from_secs(3000),
            reason: WaitReason::Reset(reset.unwrap_or(0)),
            left: Duration::from_secs(590),
            budget: Duration::from_secs(600),
            authenticated,
        }))
    }

    #[test]
    fn a_rate_limit_says_so_when_it_resets_and_how_long_a_run_waits() {
        let error = primary(Some(1_700_000_000), false);
        assert_eq!(
            error.to_string(),
            "GitHub API rate limit exceeded (it resets at 22:13:20 UTC): waiting 50m (until the limit resets) would pass the run's deadline for GitHub's rate limits (9m 50s left of 10m)"
        );
        assert!(error.hint().unwrap().contains("set `GITHUB_TOKEN`"));
        let error = primary(None, true);
        assert!(error
            .to_string()
            .starts_with("GitHub API rate limit exceeded: waiting"));
        assert!(!error.hint().unwrap().contains("set `GITHUB_TOKEN`"));
        assert!(error
            .hint()
            .unwrap()
            .contains("LAMBDA_GITOPS_GITHUB_MAX_WAIT"));
    }

    #[test]
    fn every_error_github_gave_is_shown() {
        let body = br#"{"message": "Validation Failed", "errors": [
            {"resource": "IssueComment", "code": "custom", "field": "body", "message": "body is too long"},
            {"resource": "Issue", "field": "title", "code": "missing_field"},
            "a plain string"]}"#;
        assert_eq!(
            github_words(body),
            "Validation Failed: body is too long; Issue `title`: missing_field; a plain string"
        );
        assert_eq!(github_words(br#"{"message": "Not Found"}"#), "Not Found");
        assert_eq!(github_words(b"<html>"), "");
    }

    #[test]
    fn a_permission_error_names_the_permission_of_the_call_that_failed() {
        let error = GithubError::Unauthorized {
            url: "u".into(),
            status: StatusCode::FORBIDDEN,
            authenticated: true,
            call: Call::CreateComment,
            message: "Resource not accessible by integration".into(),
        };
        assert_eq!(
            error.to_string(),
            "could not create the pull-request comment: `u` answered HTTP 403 Forbidden: Resource not accessible by integration"
        );
        assert_eq!(
            error.hint().unwrap(),
            "check that `GITHUB_TOKEN` (or `GH_TOKEN`) can do this: it needs `issues: write` or `pull-requests: write` on the repository"
        );
        let missing = GithubError::NotFound {
            url: "u".into(),
            call: Call::PullRequest,
            authenticated: true,
        };
        assert!(missing
            .to_string()
            .contains("the repository is private and the token may be missing access to it (to read the pull request it needs `pull-requests: read`)"));
    }
}
