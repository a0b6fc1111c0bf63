//! Where the GitHub client may go, when it sends the token, which redirects it follows and
//! how long a rate limit makes it wait — pure functions, so the rules are tested without
//! sending a request anywhere.
//!
//! - Every URL the client fetches (the API base, asset URLs from the API, redirect targets,
//!   next pages) is `https`, or `http` on loopback, or any `http` with `--allow-insecure-api`.
//! - The token goes only to the API origin (scheme, host, port): on the first request, and on
//!   redirects that stay on that origin (GitHub answers a renamed repository with a 301 or
//!   307 to `/repositories/{id}/…` on the API itself). Once a redirect chain has left the
//!   origin (asset storage), the token never goes out again on that chain.
//! - Redirects are followed by hand, at most [`MAX_REDIRECTS`] of them, and only to
//!   `http(s)` URLs ([`follow`]): 307 and 308 keep the method and body; 301, 302 and 303 are
//!   followed by reads only. A write is only ever redirected on the API origin.
//! - Rate limits as GitHub's REST guide says ([`throttle`], [`rate_limit_wait`]): a 403 or 429
//!   is a limit when `x-ratelimit-remaining` is `0`, when it is a 429, or when a 403 carries
//!   `retry-after` or says "rate limit"; any other 403 is a permission error. The wait is
//!   `retry-after`, else until `x-ratelimit-reset`, else the exponential back-off (a minute,
//!   then doubling), and never shorter than the back-off once a limit repeats.
//! - Which call an API URL is ([`call_of`]), so an error names it and the permission it needs.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::{Method, Url};

/// Redirect hops followed for one request (GitHub uses one: API → storage).
pub const MAX_REDIRECTS: usize = 5;

/// Why a URL may not be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not an `http(s)` URL at all (`file:`, `ftp:`, garbage).
    NotHttp,
    /// Plain `http` to a host other than loopback, without `--allow-insecure-api`.
    Insecure,
}

/// The GitHub API base URL, checked and ending in `/` (so a path prefix such as GitHub
/// Enterprise's `/api/v3` is kept when segments are appended).
pub fn api_base(text: &str, allow_insecure: bool) -> Result<Url, Refusal> {
    let mut url = Url::parse(text).map_err(|_| Refusal::NotHttp)?;
    check_transport(&url, allow_insecure)?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// `https` anywhere; `http` only on loopback unless insecure transport is allowed.
pub fn check_transport(url: &Url, allow_insecure: bool) -> Result<(), Refusal> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure || is_loopback(url) => Ok(()),
        "http" => Err(Refusal::Insecure),
        _ => Err(Refusal::NotHttp),
    }
}

/// `127.0.0.0/8`, `::1` or `localhost`: traffic that never leaves the machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Same scheme, host and port (the port spelled out or the scheme's default).
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Whether the request for `url` carries the token: only on the API origin, and only while
/// the redirect chain it belongs to has not `left` that origin.
pub fn sends_token(url: &Url, api: &Url, left: bool) -> bool {
    !left && same_origin(url, api)
}

/// The URL a redirect's `Location` leads to (relative ones resolved against `from`), if
/// the client may follow it.
pub fn redirect_target(from: &Url, location: &str, allow_insecure: bool) -> Result<Url, Refusal> {
    let target = from.join(location).map_err(|_| Refusal::NotHttp)?;
    check_transport(&target, allow_insecure)?;
    Ok(target)
}

/// What a redirect answer does to the request that got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Re-send the same method and body to the new location (307, 308; any redirect of a
    /// read).
    Same,
    /// A write answered 301, 302 or 303: HTTP lets a client turn it into a `GET` without its
    /// body, which would not be the write asked for, so it is not followed.
    Refuse,
}

/// How a response with `status` to a `method` request is followed; `None` when it is not
/// a redirect.
pub fn follow(status: u16, method: &Method) -> Option<Follow> {
    match status {
        307 | 308 => Some(Follow::Same),
        301..=303 if *method == Method::GET || *method == Method::HEAD => Some(Follow::Same),
        301..=303 => Some(Follow::Refuse),
        _ => None,
    }
}

/// Whether a write may follow a redirect from `api`'s origin to `target`: its body and its
/// token stay on the API origin.
pub fn write_may_go(target: &Url, api: &Url) -> bool {
    same_origin(target, api)
}

/// Which of GitHub's rate limits an answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// The hourly quota is used up (`x-ratelimit-remaining: 0`).
    Primary,
    /// Too many requests too fast, or too many at once (GitHub's "secondary rate limit").
    Secondary,
}

/// The rate-limit headers of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitHeaders {
    /// `retry-after`, in seconds.
    pub retry_after: Option<Duration>,
    /// `x-ratelimit-remaining`.
    pub remaining: Option<u64>,
    /// `x-ratelimit-reset`, in Unix seconds.
    pub reset: Option<u64>,
}

/// Whether a 403 or 429 with these headers and GitHub's `message` is a rate limit, and
/// which. A 403 that is none of them is a permission error, never retried.
pub fn throttle(status: u16, headers: &LimitHeaders, message: &str) -> Option<Throttle> {
    if !matches!(status, 403 | 429) {
        return None;
    }
    if headers.remaining == Some(0) {
        return Some(Throttle::Primary);
    }
    let message = message.to_ascii_lowercase();
    let says_so = message.contains("rate limit") || message.contains("abuse");
    (status == 429 || headers.retry_after.is_some() || says_so).then_some(Throttle::Secondary)
}

/// Why the client waits as long as it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// GitHub's `retry-after` header asked for it.
    RetryAfter,
    /// Until `x-ratelimit-reset` (Unix seconds), plus a second for clocks that differ.
    Reset(u64),
    /// GitHub named no time: the back-off (at least a minute, doubling each time).
    Backoff,
}

/// How long to wait before trying again after a rate limit. `backoff` is the back-off's
/// next delay (a minute, then doubling); `repeated` is whether this request was limited
/// before, in which case GitHub asks for "an exponentially increasing amount of time".
pub fn rate_limit_wait(
    headers: &LimitHeaders,
    now: u64,
    backoff: Duration,
    repeated: bool,
) -> (Duration, WaitReason) {
    let at_least = |wait: Duration| if repeated { wait.max(backoff) } else { wait };
    if let Some(after) = headers.retry_after {
        return (at_least(after), WaitReason::RetryAfter);
    }
    match (headers.remaining, headers.reset) {
        (Some(0), Some(reset)) => {
            let wait = Duration::from_secs(reset.saturating_sub(now) + 1);
            (wait, WaitReason::Reset(reset))
        }
        _ => (backoff, WaitReason::Backoff),
    }
}

/// The API call a request is, for errors that say what failed and which permission it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Release,
    Asset,
    ListComments,
    CreateComment,
    EditComment,
    PullRequest,
    ListPullRequests,
    User,
    Other,
}

impl Call {
    /// What the call does, after "could not …".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Release => "read the release",
            Self::Asset => "download the release asset",
            Self::ListComments => "list the pull request's comments",
            Self::CreateComment => "create the pull-request comment",
            Self::EditComment => "edit the pull-request comment",
            Self::PullRequest => "read the pull request",
            Self::ListPullRequests => "list the pull requests",
            Self::User => "ask whose token this is",
            Self::Other => "call the GitHub API",
        }
    }

    /// The token permission the call needs (fine-grained tokens and `permissions:` in a
    /// workflow), when it needs one.
    pub fn permission(self) -> Option<&'static str> {
        match self {
            Self::Release | Self::Asset => Some("`contents: read`"),
            Self::ListComments => Some("`issues: read` or `pull-requests: read`"),
            Self::CreateComment | Self::EditComment => {
                Some("`issues: write` or `pull-requests: write`")
            }
            Self::PullRequest | Self::ListPullRequests => Some("`pull-requests: read`"),
            Self::User | Self::Other => None,
        }
    }
}

/// The call a request for `url` with `method` is, read from its path under `api`.
pub fn call_of(method: &Method, url: &Url, api: &Url) -> Call {
    let path = url.path().strip_prefix(api.path()).unwrap_or(url.path());
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest: &[&str] = match parts.as_slice() {
        ["repos", _, _, rest @ ..] | ["repositories", _, rest @ ..] => rest,
        ["user"] => return Call::User,
        _ => return Call::Other,
    };
    let write = *method != Method::GET && *method != Method::HEAD;
    match rest {
        ["releases", "assets", ..] => Call::Asset,
        ["releases", ..] => Call::Release,
        ["issues", "comments", _] => Call::EditComment,
        ["issues", _, "comments"] if write => Call::CreateComment,
        ["issues", _, "comments"] => Call::ListComments,
        ["pulls"] => Call::ListPullRequests,
        ["pulls", _] => Call::PullRequest,
        _ => Call::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn an_http_api_url_off_loopback_is_refused_unless_insecure_is_allowed() {
        for remote in [
            "http://api.example.com",
            "http://10.0.0.5:8080/api/v3",
            "http://[2001:db8::1]/",
            "http://127.0.0.1.example.com/",
        ] {
            assert_eq!(api_base(remote, false), Err(Refusal::Insecure), "{remote}");
            assert!(api_base(remote, true).is_ok(), "{remote}");
        }
        for local in [
            "http://127.0.0.1:9",
            "http://127.1.2.3/",
            "http://[::1]:8080",
            "http://localhost:3000/api/v3",
        ] {
            assert!(api_base(local, false).is_ok(), "{local}");
        }
        assert!(api_base("https://ghe.example.com/api/v3", false).is_ok());
        for bad in [
            "ftp://x",
            "file:///etc/passwd",
            "not a url",
            "javascript:alert(1)",
        ] {
            assert_eq!(api_base(bad, true), Err(Refusal::NotHttp), "{bad}");
        }
    }

    #[test]
    fn the_api_base_keeps_its_path_prefix_and_ends_in_a_slash() {
        assert_eq!(
            api_base("https://ghe.example.com/api/v3", false)
                .unwrap()
                .as_str(),
            "https://ghe.example.com/api/v3/"
        );
        assert_eq!(
            api_base("https://api.github.com", false).unwrap().as_str(),
            "https://api.github.com/"
        );
    }

    #[test]
    fn the_token_goes_to_the_api_origin_only_and_never_back_after_leaving_it() {
        let api = url("https://api.github.com/");
        let asset = url("https://api.github.com/repos/o/r/releases/assets/1");
        assert!(sends_token(&asset, &api, false));
        assert!(
            !sends_token(&asset, &api, true),
            "back on the API after the chain left it"
        );
        for other in [
            "https://objects.githubusercontent.com/x",
            "http://api.github.com/x",
            "https://api.github.com:8443/x",
            "https://api.github.com.evil.example/x",
        ] {
            assert!(!sends_token(&url(other), &api, false), "{other}");
        }
        let explicit_port = url("https://api.github.com:443/repos");
        assert!(sends_token(&explicit_port, &api, false));
    }

    #[test]
    fn redirects_go_to_http_urls_only() {
        let from = url("https://api.github.com/repos/o/r/releases/assets/1");
        assert_eq!(
            redirect_target(&from, "/repositories/7/releases/assets/1", false)
                .unwrap()
                .as_str(),
            "https://api.github.com/repositories/7/releases/assets/1"
        );
        assert!(redirect_target(&from, "https://objects.example/blob?sig=1", false).is_ok());
        assert_eq!(
            redirect_target(&from, "file:///etc/passwd", true),
            Err(Refusal::NotHttp)
        );
        assert_eq!(
            redirect_target(&from, "ftp://example.com/x", true),
            Err(Refusal::NotHttp)
        );
        assert_eq!(
            redirect_target(&from, "http://objects.example/blob", false),
            Err(Refusal::Insecure),
            "a downgrade to plain http off loopback"
        );
    }

    #[test]
    fn writes_follow_only_redirects_that_keep_their_method_and_body() {
        for status in [307, 308] {
            assert_eq!(follow(status, &Method::PATCH), Some(Follow::Same));
            assert_eq!(follow(status, &Method::POST), Some(Follow::Same));
            assert_eq!(follow(status, &Method::GET), Some(Follow::Same));
        }
        for status in [301, 302, 303] {
            assert_eq!(follow(status, &Method::GET), Some(Follow::Same), "{status}");
            assert_eq!(
                follow(status, &Method::PATCH),
                Some(Follow::Refuse),
                "{status}"
            );
            assert_eq!(
                follow(status, &Method::POST),
                Some(Follow::Refuse),
                "{status}"
            );
        }
        for status in [200, 304, 404] {
            assert_eq!(follow(status, &Method::GET), None, "{status}");
        }
        let api = url("https://api.github.com/");
        assert!(write_may_go(
            &url("https://api.github.com/repositories/7/issues/comments/1"),
            &api
        ));
        assert!(!write_may_go(&url("https://evil.example/x"), &api));
        assert!(!write_may_go(&url("http://api.github.com/x"), &api));
    }

    fn limits(
        retry_after: Option<u64>,
        remaining: Option<u64>,
        reset: Option<u64>,
    ) -> LimitHeaders {
        LimitHeaders {
            retry_after: retry_after.map(Duration::from_secs),
            remaining,
            reset,
        }
    }

    #[test]
    fn a_rate_limit_is_told_from_a_permission_error() {
        let none = limits(None, None, None);
        let secondary = "You have exceeded a secondary rate limit. Please wait a few minutes.";
        assert_eq!(throttle(403, &none, secondary), Some(Throttle::Secondary));
        assert_eq!(throttle(429, &none, ""), Some(Throttle::Secondary));
        assert_eq!(
            throttle(403, &limits(Some(30), Some(4000), None), "Forbidden"),
            Some(Throttle::Secondary)
        );
        assert_eq!(
            throttle(
                403,
                &limits(None, Some(0), Some(9)),
                "API rate limit exceeded"
            ),
            Some(Throttle::Primary)
        );
        assert_eq!(
            throttle(429, &limits(None, Some(0), Some(9)), ""),
            Some(Throttle::Primary)
        );
        assert_eq!(
            throttle(
                403,
                &limits(None, Some(4999), Some(9)),
                "Resource not accessible by integration"
            ),
            None
        );
        assert_eq!(
            throttle(403, &none, "Must have admin rights to Repository."),
            None
        );
        assert_eq!(throttle(401, &none, "rate limit"), None);
        assert_eq!(throttle(500, &limits(Some(1), None, None), ""), None);
    }

    #[test]
    fn the_wait_is_retry_after_then_the_reset_then_the_backoff() {
        let minute = Duration::from_secs(60);
        assert_eq!(
            rate_limit_wait(&limits(Some(3), None, None), 100, minute, false),
            (Duration::from_secs(3), WaitReason::RetryAfter)
        );
        assert_eq!(
            rate_limit_wait(&limits(Some(3), None, None), 100, minute, true),
            (minute, WaitReason::RetryAfter),
            "a repeated limit waits at least the back-off"
        );
        assert_eq!(
            rate_limit_wait(&limits(Some(3600), Some(0), Some(150)), 100, minute, false),
            (Duration::from_secs(3600), WaitReason::RetryAfter),
            "retry-after wins, in full"
        );
        assert_eq!(
            rate_limit_wait(&limits(None, Some(0), Some(150)), 100, minute, false),
            (Duration::from_secs(51), WaitReason::Reset(150))
        );
        assert_eq!(
            rate_limit_wait(&limits(None, Some(0), Some(50)), 100, minute, false),
            (Duration::from_secs(1), WaitReason::Reset(50)),
            "a reset already past"
        );
        assert_eq!(
            rate_limit_wait(&limits(None, None, Some(150)), 100, minute, false),
            (minute, WaitReason::Backoff)
        );
    }

    #[test]
    fn each_api_url_names_its_call_and_permission() {
        let api = url("https://ghe.example.com/api/v3/");
        let at = |method: Method, path: &str| {
            call_of(
                &method,
                &url(&format!("https://ghe.example.com/api/v3/{path}")),
                &api,
            )
        };
        assert_eq!(at(Method::GET, "repos/o/r/releases/tags/v1"), Call::Release);
        assert_eq!(
            at(Method::GET, "repositories/7/releases/tags/v1"),
            Call::Release
        );
        assert_eq!(at(Method::GET, "repos/o/r/releases/assets/3"), Call::Asset);
        assert_eq!(
            at(Method::GET, "repos/o/r/issues/7/comments"),
            Call::ListComments
        );
        assert_eq!(
            at(Method::POST, "repos/o/r/issues/7/comments"),
            Call::CreateComment
        );
        assert_eq!(
            at(Method::PATCH, "repos/o/r/issues/comments/9"),
            Call::EditComment
        );
        assert_eq!(at(Method::GET, "repos/o/r/pulls/7"), Call::PullRequest);
        assert_eq!(at(Method::GET, "repos/o/r/pulls"), Call::ListPullRequests);
        assert_eq!(at(Method::GET, "user"), Call::User);
        assert_eq!(at(Method::GET, "meta"), Call::Other);
        assert_eq!(Call::Asset.permission(), Some("`contents: read`"));
        assert_eq!(
            Call::EditComment.permission(),
            Some("`issues: write` or `pull-requests: write`")
        );
        assert_eq!(
            Call::PullRequest.permission(),
            Some("`pull-requests: read`")
        );
    }
}
