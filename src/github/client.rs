//! The one HTTP client for the GitHub API. Every request goes through [`Client::get`]:
//! the URL checked against the transport policy, the token added only where
//! [`policy::sends_token`] allows, redirects followed by hand (reqwest's own following is
//! off), the final status turned into a [`GithubError`] a user can act on. Above it:
//! small bodies and JSON with retries, paginated listings, endpoint URLs built from
//! percent-encoded path segments.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use reqwest::{Method, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::github::error::GithubError;
use crate::github::pagination::{self, MAX_PAGES, PER_PAGE};
use crate::github::policy::{self, MAX_REDIRECTS};
use crate::retry::{self, with_retries};
use crate::secret::{redact_url, Secret};
use crate::settings::GithubSettings;

/// `Accept` for the REST API's JSON.
pub const JSON: &str = "application/vnd.github+json";
/// `Accept` for a release asset's bytes (the same URL answers JSON metadata otherwise).
pub const OCTET_STREAM: &str = "application/octet-stream";
const API_VERSION: &str = "2022-11-28";
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
        }
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

    /// One GET of `url`, redirects followed by hand; the final response when it succeeded.
    /// Not retried: callers that stream the body retry the whole download.
    pub async fn get(&self, url: &Url, accept: &str) -> Result<Response, GithubError> {
        self.request(Method::GET, url, accept, None).await
    }

    /// One write (`POST`, `PATCH`) of a JSON body to `url`, and the JSON answer. The token
    /// policy is [`Client::get`]'s. A write is never redirected: a redirect answer is an
    /// error, since re-sending a body wherever `Location` says is not ours to decide. Not
    /// retried: only the caller knows whether the write is safe to repeat.
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

    /// One request; a GET's redirects followed by hand.
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
        let mut current = url.clone();
        for hops in 0..=MAX_REDIRECTS {
            let mut request = self
                .http
                .request(method.clone(), current.clone())
                .header(ACCEPT, accept)
                .header("X-GitHub-Api-Version", API_VERSION);
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            if policy::sends_token(&current, &self.api, hops) {
                if let Some(value) = self.authorization()? {
                    request = request.header(AUTHORIZATION, value);
                }
            }
            let response = tokio::time::timeout(self.stall, request.send())
                .await
                .map_err(|_| GithubError::Stalled {
                    url: redact_url(current.as_str()),
                    after: self.stall,
                })?
                .map_err(|source| GithubError::Request {
                    url: redact_url(current.as_str()),
                    source: source.without_url(),
                })?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|value| value.to_str().ok());
            if status == StatusCode::UNPROCESSABLE_ENTITY {
                return Err(GithubError::Rejected {
                    url: redact_url(current.as_str()),
                    message: validation_message(response).await,
                });
            }
            match location {
                Some(location) if is_redirect(status) && method == Method::GET => {
                    let target = policy::redirect_target(&current, location, self.allow_insecure)
                        .map_err(|refusal| GithubError::RedirectRefused {
                        url: redact_url(current.as_str()),
                        location: redact_url(location),
                        refusal,
                    })?;
                    tracing::debug!(
                        "`{}` redirects to `{}`",
                        redact_url(current.as_str()),
                        redact_url(target.as_str())
                    );
                    current = target;
                }
                _ => return Err(self.failure(&current, status, response.headers())),
            }
        }
        Err(GithubError::TooManyRedirects {
            url: redact_url(url.as_str()),
        })
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
            let chunk = tokio::time::timeout(self.stall, response.chunk())
                .await
                .map_err(|_| GithubError::Stalled {
                    url: redact_url(url.as_str()),
                    after: self.stall,
                })?
                .map_err(|source| GithubError::Request {
                    url: redact_url(url.as_str()),
                    source: source.without_url(),
                })?;
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

    /// What a final non-success status means.
    fn failure(&self, url: &Url, status: StatusCode, headers: &HeaderMap) -> GithubError {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let authenticated = self.token.is_some();
        let exhausted = header("x-ratelimit-remaining").is_some_and(|left| left.trim() == "0");
        let retry_after = retry::retry_after(headers);
        let url = redact_url(url.as_str());
        match status.as_u16() {
            403 | 429 if exhausted => GithubError::RateLimited {
                reset: header("x-ratelimit-reset").and_then(|reset| reset.trim().parse().ok()),
                authenticated,
            },
            401 | 403 if retry_after.is_none() => GithubError::Unauthorized {
                url,
                status,
                authenticated,
            },
            404 => GithubError::NotFound { url },
            _ => GithubError::Status {
                url,
                status,
                retry_after,
            },
        }
    }
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// What a 422 says was wrong (`message`, then each of `errors[].message`), on one line.
async fn validation_message(response: Response) -> String {
    #[derive(serde::Deserialize)]
    struct Validation {
        message: Option<String>,
        #[serde(default)]
        errors: Vec<serde_json::Value>,
    }
    let bytes = response.bytes().await.unwrap_or_default();
    let Ok(validation) = serde_json::from_slice::<Validation>(&bytes) else {
        return "Unprocessable Entity".to_owned();
    };
    let mut parts: Vec<String> = validation.message.into_iter().collect();
    parts.extend(validation.errors.iter().filter_map(|error| {
        error
            .get("message")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    }));
    let text = parts.join(": ");
    crate::problem::excerpt(&text)
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
