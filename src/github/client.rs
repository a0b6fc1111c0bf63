//! The one HTTP client for the GitHub API. Every request goes through [`Client::request`]:
//! the URL checked against the transport policy, the token added only where
//! [`policy::sends_token`] allows, redirects followed by hand ([`policy::follow`]; reqwest's
//! own following is off) — reads and writes alike, the token kept on the API origin — rate
//! limits waited for as GitHub asks ([`policy::throttle`], [`policy::rate_limit_wait`]) within
//! the run's budget ([`RateLimitWaits`]), and the final status turned into a [`GithubError`]
//! carrying GitHub's own words. Above it: small bodies and JSON with retries, paginated
//! listings, endpoint URLs built from percent-encoded path segments.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use backon::BackoffBuilder;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use reqwest::{Method, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::github::error::{self, GithubError, RateLimit, API_VERSION};
use crate::github::pagination::{self, MAX_PAGES, PER_PAGE};
use crate::github::policy::{self, Follow, LimitHeaders, Throttle, WaitReason, MAX_REDIRECTS};
use crate::retry::{self, with_retries, RateLimitWaits};
use crate::secret::{redact_url, Secret};

/// Where the GitHub API is and how to reach it, as the settings resolved it.
#[derive(Debug, Clone)]
pub struct GithubSettings {
    pub api_url: reqwest::Url,
    pub token: Option<Secret>,
    /// `--allow-insecure-api`: plain http off loopback is allowed.
    pub allow_insecure: bool,
}

/// `Accept` for the REST API's JSON.
pub const JSON: &str = "application/vnd.github+json";
/// `Accept` for a release asset's bytes (the same URL answers JSON metadata otherwise).
pub const OCTET_STREAM: &str = "application/octet-stream";
/// The largest JSON document or checksum file read into memory.
pub const SMALL_BODY_LIMIT: u64 = 10 << 20;

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    api: Url,
    token: Option<Secret>,
    allow_insecure: bool,
    /// A response that sends nothing for this long fails (and is retried).
    stall: Duration,
    waits: RateLimitWaits,
    /// When the client was made: rate-limit waits end by `started + waits.budget`, the
    /// deadline every clone shares.
    started: Instant,
}

/// What a failed answer said: its rate-limit headers and GitHub's words.
struct Failure {
    status: StatusCode,
    limits: LimitHeaders,
    words: String,
}

/// One request's waits for rate limits.
struct Throttled {
    delays: backon::ExponentialBackoff,
    attempts: usize,
    waited: Duration,
}

/// A small body and the next page's URL, if the response named one.
struct Page {
    body: Vec<u8>,
    next: Option<String>,
}

impl Client {
    pub fn new(settings: &GithubSettings, stall: Duration) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(concat!("lambda-gitops/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(30))
            .build()
            .expect("the TLS backend initialises");
        Self {
            http,
            api: settings.api_url.clone(),
            token: settings.token.clone(),
            allow_insecure: settings.allow_insecure,
            stall,
            waits: RateLimitWaits::default(),
            started: Instant::now(),
        }
    }

    /// The same client with another budget for rate-limit waits (the run's settings).
    pub fn with_waits(mut self, waits: RateLimitWaits) -> Self {
        self.waits = waits;
        self
    }

    /// The API base URL (ends in `/`).
    pub fn api(&self) -> &Url {
        &self.api
    }

    pub fn stall(&self) -> Duration {
        self.stall
    }

    /// `{api}/{segment}/…`, each segment percent-encoded (a `/`, `?`, `#` or `%` in one stays
    /// inside it), so no value can reach another endpoint. Empty, `.` and `..` are refused.
    pub fn endpoint(&self, segments: &[&str]) -> Result<Url, GithubError> {
        if let Some(bad) = segments
            .iter()
            .find(|segment| matches!(**segment, "" | "." | ".."))
        {
            return Err(GithubError::PathSegment {
                segment: (*bad).to_owned(),
            });
        }
        let mut url = self.api.clone();
        url.path_segments_mut()
            .expect("http(s) URLs have a path")
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// One GET of `url`, redirects followed by hand, rate limits waited for; the final
    /// response when it succeeded. Not otherwise retried: callers that stream the body retry
    /// the whole download.
    pub async fn get(&self, url: &Url, accept: &str) -> Result<Response, GithubError> {
        self.request(Method::GET, url, accept, None).await
    }

    /// One write (`POST`, `PATCH`) of a JSON body to `url`, and the JSON answer. The token
    /// policy is [`Client::get`]'s. A write follows a 307 or 308 on the API origin with its
    /// method and body (GitHub answers a write to a renamed repository so); any other
    /// redirect is an error. A rate-limited write is waited for and sent again (GitHub did
    /// not perform it); otherwise not retried: only the caller knows whether the write is
    /// safe to repeat.
    pub async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        url: &Url,
        body: &B,
    ) -> Result<T, GithubError> {
        let bytes = serde_json::to_vec(body).expect("a request body serializes");
        let response = self.request(method, url, JSON, Some(bytes)).await?;
        let body = self.small_body(url, response, SMALL_BODY_LIMIT).await?;
        parse_json(url, &body)
    }

    /// One request, redirects followed, rate limits waited for; the final response when it
    /// succeeded.
    async fn request(
        &self,
        method: Method,
        url: &Url,
        accept: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Response, GithubError> {
        policy::check_transport(url, self.allow_insecure).map_err(|refusal| {
            GithubError::UrlRefused {
                url: redact_url(url.as_str()),
                refusal,
            }
        })?;
        let mut throttled = Throttled {
            delays: retry::rate_limit_backoff(self.waits.fallback).build(),
            attempts: 0,
            waited: Duration::ZERO,
        };
        loop {
            let (response, at) = self.follow(&method, url, accept, body.as_deref()).await?;
            if response.status().is_success() {
                return Ok(response);
            }
            let failure = self.read_failure(response).await;
            let limit = policy::throttle(failure.status.as_u16(), &failure.limits, &failure.words);
            match limit {
                Some(throttle) => self.wait(throttle, &at, &failure, &mut throttled).await?,
                None => return Err(self.failure(&method, url, &at, failure)),
            }
        }
    }

    /// Sends `method` to `url` and follows its redirects: the last response and its URL.
    async fn follow(
        &self,
        method: &Method,
        url: &Url,
        accept: &str,
        body: Option<&[u8]>,
    ) -> Result<(Response, Url), GithubError> {
        let mut current = url.clone();
        let mut left = false;
        for _ in 0..=MAX_REDIRECTS {
            let token = policy::sends_token(&current, &self.api, left);
            let response = self.send(method, &current, accept, body, token).await?;
            let status = response.status();
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|value| value.to_str().ok());
            let (Some(follow), Some(location)) =
                (policy::follow(status.as_u16(), method), location)
            else {
                return Ok((response, current));
            };
            let target = policy::redirect_target(&current, location, self.allow_insecure).map_err(
                |refusal| GithubError::RedirectRefused {
                    url: redact_url(current.as_str()),
                    location: redact_url(location),
                    refusal,
                },
            )?;
            let write = *method != Method::GET && *method != Method::HEAD;
            if follow == Follow::Refuse || (write && !policy::write_may_go(&target, &self.api)) {
                return Err(GithubError::WriteRedirected {
                    url: redact_url(current.as_str()),
                    method: method.clone(),
                    status,
                    location: redact_url(target.as_str()),
                    call: policy::call_of(method, url, &self.api),
                });
            }
            tracing::debug!(
                "`{}` redirects ({status}) to `{}`",
                redact_url(current.as_str()),
                redact_url(target.as_str())
            );
            left |= !policy::same_origin(&target, &self.api);
            current = target;
        }
        Err(GithubError::TooManyRedirects {
            url: redact_url(url.as_str()),
        })
    }

    /// One HTTP exchange, the token on it when `token` says so.
    async fn send(
        &self,
        method: &Method,
        url: &Url,
        accept: &str,
        body: Option<&[u8]>,
        token: bool,
    ) -> Result<Response, GithubError> {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header(ACCEPT, accept)
            .header("X-GitHub-Api-Version", API_VERSION);
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        if token {
            if let Some(value) = self.authorization()? {
                request = request.header(AUTHORIZATION, value);
            }
        }
        self.within_stall(url, request.send()).await
    }

    /// `step` of a request to `url`, failed as stalled when it takes longer than the stall
    /// timeout; a transport error names the URL without its query.
    async fn within_stall<T>(
        &self,
        url: &Url,
        step: impl std::future::Future<Output = Result<T, reqwest::Error>>,
    ) -> Result<T, GithubError> {
        tokio::time::timeout(self.stall, step)
            .await
            .map_err(|_| GithubError::Stalled {
                url: redact_url(url.as_str()),
                after: self.stall,
            })?
            .map_err(|source| GithubError::Request {
                url: redact_url(url.as_str()),
                source: source.without_url(),
            })
    }

    /// Waits out a rate limit before the request is sent again, if the back-off and the
    /// run's budget allow; else the error saying why not.
    async fn wait(
        &self,
        throttle: Throttle,
        at: &Url,
        failure: &Failure,
        throttled: &mut Throttled,
    ) -> Result<(), GithubError> {
        let url = redact_url(at.as_str());
        let authenticated = self.token.is_some();
        let Some(backoff) = throttled.delays.next() else {
            return Err(GithubError::StillRateLimited {
                throttle,
                status: failure.status,
                url,
                attempts: throttled.attempts,
                waited: throttled.waited,
                authenticated,
            });
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (wait, reason) =
            policy::rate_limit_wait(&failure.limits, now, backoff, throttled.attempts > 0);
        let deadline = self.started + self.waits.budget;
        let left = deadline.saturating_duration_since(Instant::now());
        if wait > left {
            return Err(GithubError::RateLimited(Box::new(RateLimit {
                throttle,
                status: failure.status,
                url,
                reset: failure.limits.reset,
                wait,
                reason,
                left,
                budget: self.waits.budget,
                authenticated,
            })));
        }
        throttled.attempts += 1;
        throttled.waited += wait;
        tracing::warn!(
            "{} (`{url}` answered HTTP {}): waiting {} {}, then trying again (wait {} of at most {}; the run may wait for rate limits {} more after it)",
            describe_throttle(throttle),
            failure.status,
            error::show(wait),
            describe_wait(reason),
            throttled.attempts,
            retry::RATE_LIMIT_RETRIES,
            error::show(left - wait),
        );
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// A failed answer's rate-limit headers and GitHub's words (its JSON `message` and
    /// `errors`), read within the stall timeout; an unreadable body has no words.
    async fn read_failure(&self, response: Response) -> Failure {
        let status = response.status();
        let headers = response.headers();
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
        };
        let limits = LimitHeaders {
            retry_after: retry::retry_after(headers),
            remaining: number("x-ratelimit-remaining"),
            reset: number("x-ratelimit-reset"),
        };
        let body = tokio::time::timeout(self.stall, response.bytes())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let words = if body.len() as u64 > SMALL_BODY_LIMIT {
            String::new()
        } else {
            error::github_words(&body)
        };
        Failure {
            status,
            limits,
            words,
        }
    }

    /// A small body (JSON, a checksum file), retried; more than `limit` bytes is an error.
    pub async fn get_bytes(
        &self,
        url: &Url,
        accept: &str,
        limit: u64,
    ) -> Result<Vec<u8>, GithubError> {
        Ok(self.page(url, accept, limit).await?.body)
    }

    /// A JSON document, retried.
    pub async fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<T, GithubError> {
        let body = self.get_bytes(url, JSON, SMALL_BODY_LIMIT).await?;
        parse_json(url, &body)
    }

    /// Every item of a paginated listing (`per_page=100`), following `Link: rel="next"`
    /// while it stays on the API origin (where the token may go), for at most
    /// [`MAX_PAGES`] pages. Each page is retried on its own.
    pub async fn get_paginated<T: DeserializeOwned>(
        &self,
        url: &Url,
    ) -> Result<Vec<T>, GithubError> {
        let mut url = url.clone();
        if !url.query_pairs().any(|(key, _)| key == "per_page") {
            url.query_pairs_mut().append_pair("per_page", PER_PAGE);
        }
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.page(&url, JSON, SMALL_BODY_LIMIT).await?;
            items.extend(parse_json::<Vec<T>>(&url, &page.body)?);
            let Some(next) = page.next else {
                return Ok(items);
            };
            let next_url = url
                .join(&next)
                .ok()
                .filter(|next| policy::same_origin(next, &self.api))
                .ok_or_else(|| GithubError::ForeignPage {
                    next: redact_url(&next),
                })?;
            url = next_url;
        }
        Err(GithubError::TooManyPages {
            url: redact_url(url.as_str()),
            max: MAX_PAGES,
        })
    }

    /// One page of a listing, retried, and the URL of the next one (`Link: rel="next"`),
    /// which must be on the API origin: for callers that stop paging once they know enough.
    pub async fn get_page<T: DeserializeOwned>(
        &self,
        url: &Url,
    ) -> Result<(Vec<T>, Option<Url>), GithubError> {
        let page = self.page(url, JSON, SMALL_BODY_LIMIT).await?;
        let items = parse_json::<Vec<T>>(url, &page.body)?;
        let next = match page.next {
            None => None,
            Some(next) => Some(
                url.join(&next)
                    .ok()
                    .filter(|next| policy::same_origin(next, &self.api))
                    .ok_or_else(|| GithubError::ForeignPage {
                        next: redact_url(&next),
                    })?,
            ),
        };
        Ok((items, next))
    }

    async fn page(&self, url: &Url, accept: &str, limit: u64) -> Result<Page, GithubError> {
        let what = format!("`{}`", redact_url(url.as_str()));
        with_retries(&what, || async {
            let response = self.get(url, accept).await?;
            let next = pagination::next_link(response.headers());
            let body = self.small_body(url, response, limit).await?;
            Ok(Page { body, next })
        })
        .await
    }

    async fn small_body(
        &self,
        url: &Url,
        mut response: Response,
        limit: u64,
    ) -> Result<Vec<u8>, GithubError> {
        let mut body = Vec::new();
        loop {
            let chunk = self.within_stall(url, response.chunk()).await?;
            let Some(chunk) = chunk else {
                return Ok(body);
            };
            body.extend_from_slice(&chunk);
            if body.len() as u64 > limit {
                return Err(GithubError::TooLarge {
                    url: redact_url(url.as_str()),
                    limit,
                });
            }
        }
    }

    fn authorization(&self) -> Result<Option<HeaderValue>, GithubError> {
        let Some(token) = &self.token else {
            return Ok(None);
        };
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| GithubError::InvalidToken)?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// What a final non-success answer (not a rate limit) to `method` on `url` means; `at`
    /// is where it came from (the last redirect's target).
    fn failure(&self, method: &Method, url: &Url, at: &Url, failure: Failure) -> GithubError {
        let call = policy::call_of(method, url, &self.api);
        let authenticated = self.token.is_some();
        let on_api = policy::same_origin(at, &self.api);
        let Failure {
            status,
            limits,
            words,
        } = failure;
        let url = redact_url(at.as_str());
        match status.as_u16() {
            401 | 403 if on_api => GithubError::Unauthorized {
                url,
                status,
                authenticated,
                call,
                message: words,
            },
            404 if on_api => GithubError::NotFound {
                url,
                call,
                authenticated,
            },
            410 if on_api => GithubError::Gone {
                url,
                call,
                message: words,
            },
            422 if on_api => GithubError::Rejected {
                url,
                call,
                message: if words.is_empty() {
                    "Unprocessable Entity".to_owned()
                } else {
                    words
                },
            },
            _ => GithubError::Status {
                url,
                status,
                retry_after: limits.retry_after,
                call,
                message: words,
            },
        }
    }
}

fn describe_throttle(throttle: Throttle) -> &'static str {
    match throttle {
        Throttle::Primary => "GitHub's rate limit is used up",
        Throttle::Secondary => "GitHub's secondary rate limit",
    }
}

fn describe_wait(reason: WaitReason) -> String {
    match reason {
        WaitReason::RetryAfter => "as its `retry-after` asks".to_owned(),
        WaitReason::Reset(reset) => {
            format!("until it resets{}", error::describe_reset(Some(reset)))
        }
        WaitReason::Backoff => {
            "(GitHub named no time: at least the back-off, doubling each time)".to_owned()
        }
    }
}

fn parse_json<T: DeserializeOwned>(url: &Url, body: &[u8]) -> Result<T, GithubError> {
    serde_json::from_slice(body).map_err(|error| GithubError::Json {
        url: redact_url(url.as_str()),
        message: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(api: &str, token: Option<&str>) -> Client {
        Client::new(
            &GithubSettings {
                api_url: policy::api_base(api, false).unwrap(),
                token: token.map(|t| Secret::new(t.to_owned())),
                allow_insecure: false,
            },
            Duration::from_secs(30),
        )
    }

    #[tokio::test]
    async fn the_rate_limit_deadline_is_shared_by_every_clone_of_a_client() {
        let client = client("https://api.github.com", None).with_waits(RateLimitWaits {
            budget: Duration::from_millis(300),
            fallback: Duration::from_millis(200),
        });
        let clone = client.clone();
        let failure = Failure {
            status: StatusCode::TOO_MANY_REQUESTS,
            limits: LimitHeaders::default(),
            words: String::new(),
        };
        let url = Url::parse("https://api.github.com/user").unwrap();
        let throttled = || Throttled {
            delays: retry::rate_limit_backoff(Duration::from_millis(200)).build(),
            attempts: 0,
            waited: Duration::ZERO,
        };
        client
            .wait(Throttle::Secondary, &url, &failure, &mut throttled())
            .await
            .unwrap();
        let error = clone
            .wait(Throttle::Secondary, &url, &failure, &mut throttled())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, GithubError::RateLimited(limit) if limit.left < Duration::from_millis(100)),
            "{error:?}"
        );
    }

    #[test]
    fn path_segments_are_percent_encoded_and_never_climb() {
        let client = client("https://ghe.example.com/api/v3", None);
        let url = client
            .endpoint(&["repos", "acme", "svc", "releases", "tags", "../../user"])
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://ghe.example.com/api/v3/repos/acme/svc/releases/tags/..%2F..%2Fuser"
        );
        let url = client
            .endpoint(&["repos", "acme", "svc", "releases", "tags", "v1?x=1#y%2F"])
            .unwrap();
        assert_eq!(
            url.path(),
            "/api/v3/repos/acme/svc/releases/tags/v1%3Fx=1%23y%252F"
        );
        assert_eq!(url.query(), None);
        for bad in ["..", ".", ""] {
            assert!(
                matches!(
                    client.endpoint(&["repos", "acme", "svc", "releases", "tags", bad]),
                    Err(GithubError::PathSegment { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_client_never_shows_its_token() {
        let token = "ghp_recognisable_token_0123456789";
        let client = client("https://api.github.com", Some(token));
        assert!(!format!("{client:?}").contains(token));
        let header = client.authorization().unwrap().unwrap();
        assert!(header.is_sensitive());
        assert!(!format!("{header:?}").contains(token));
    }
}
