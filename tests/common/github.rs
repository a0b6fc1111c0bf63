//! A local GitHub: the REST API's shapes on one port (releases by tag, assets behind a
//! redirect, issue comments and pull requests paginated with `Link` headers), and the asset
//! storage it redirects to on another, as api.github.com redirects to
//! objects.githubusercontent.com.
//! Storage refuses (and records) any request that carries an `Authorization` header. A third,
//! raw TCP port serves what a well-behaved HTTP server cannot: a body without a length cut
//! short by a clean close. Faults are queued per asset ([`Behaviour`]) or for the API
//! ([`ApiBehaviour`]).

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;

/// What the storage server does on one request for an asset.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Answer with this status and no body.
    Status(u16),
    /// 429 with `Retry-After: 1`.
    TooManyRequests,
    /// Declare the full Content-Length, send half the body, then drop the connection.
    Truncate,
    /// No Content-Length (a close-delimited body): send half the body, then close cleanly.
    CutCloseDelimited,
    /// Redirect to itself (a second storage URL) before serving.
    RedirectToSelf,
    /// Redirect to this `Location`, whatever it is.
    RedirectTo(String),
    /// Send the headers and a few bytes, then nothing, ever (a slow-loris server).
    Stall,
    /// Declare the full length and send one byte every 100 ms (never stalls, never ends soon).
    Dribble,
}

/// What the API does on one request for a release.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiBehaviour {
    /// 403 with `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset: reset`.
    RateLimited { reset: u64 },
    /// 401 Bad credentials.
    Unauthorized,
    /// 301 to the same release under `/repositories/{id}/…`, as GitHub answers for a
    /// renamed repository: a redirect on the API host itself.
    MovedOnSameHost,
}

/// A published asset: id, name, bytes.
type Asset = (u64, String, Vec<u8>);

/// A pull request: number, `open` or `closed`, merged.
pub type Pull = (u64, &'static str, bool);

/// One request: which server, the path with its query, the Authorization header.
pub type Request = (String, String, Option<String>);

#[derive(Default)]
struct Inner {
    /// (repository, tag) → assets (id, name, bytes).
    releases: HashMap<(String, String), Vec<Asset>>,
    /// Repositories by id (index + 1), for `/repositories/{id}/…`.
    repositories: Vec<String>,
    next_id: u64,
    /// Per asset id, behaviours for the next requests (then: serve the bytes).
    behaviours: HashMap<u64, VecDeque<Behaviour>>,
    /// Behaviours of the release endpoint for its next requests.
    api_behaviours: VecDeque<ApiBehaviour>,
    /// (repository, issue number) → comment bodies.
    comments: HashMap<(String, u64), Vec<String>>,
    /// repository → pull requests (number, state, merged).
    pulls: HashMap<String, Vec<Pull>>,
    /// Whether page links lead to the storage host instead of the API.
    foreign_next_page: bool,
    requests: Vec<Request>,
    /// Asset bodies sent in full.
    bodies_served: usize,
}

#[derive(Clone)]
pub struct FakeGithub {
    pub api_url: String,
    storage_url: String,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Clone)]
struct AppState {
    inner: Arc<Mutex<Inner>>,
    storage_url: String,
    raw_url: String,
    api_url: String,
}

impl FakeGithub {
    pub fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let api_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let storage_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let raw_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        api_listener.set_nonblocking(true).unwrap();
        storage_listener.set_nonblocking(true).unwrap();
        let api_url = format!("http://{}", api_listener.local_addr().unwrap());
        let storage_url = format!("http://{}", storage_listener.local_addr().unwrap());
        let raw_url = format!("http://{}", raw_listener.local_addr().unwrap());
        let state = AppState {
            inner: inner.clone(),
            storage_url: storage_url.clone(),
            raw_url,
            api_url: api_url.clone(),
        };

        let api = Router::new()
            .route("/repos/{owner}/{repo}/releases/tags/{tag}", get(release))
            .route("/repositories/{id}/releases/tags/{tag}", get(moved_release))
            .route(
                "/repos/{owner}/{repo}/releases/assets/{id}",
                get(asset_redirect),
            )
            .route(
                "/repos/{owner}/{repo}/issues/{number}/comments",
                get(comments),
            )
            .route("/repos/{owner}/{repo}/pulls", get(pulls))
            .route("/repos/{owner}/{repo}/pulls/{number}", get(pull))
            .with_state(state.clone());
        let storage = Router::new()
            .route("/blob/{id}", get(blob))
            .with_state(state.clone());

        std::thread::spawn(move || raw_server(raw_listener, state));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let api_listener = tokio::net::TcpListener::from_std(api_listener).unwrap();
                let storage_listener = tokio::net::TcpListener::from_std(storage_listener).unwrap();
                let _ = tokio::join!(
                    axum::serve(api_listener, api),
                    axum::serve(storage_listener, storage)
                );
            });
        });
        Self {
            api_url,
            storage_url,
            inner,
        }
    }

    /// Publishes an asset in a release (creating the release); returns the asset id.
    pub fn add_asset(&self, repository: &str, tag: &str, name: &str, bytes: Vec<u8>) -> u64 {
        let mut inner = self.inner.lock().unwrap();
        inner.next_id += 1;
        let id = inner.next_id;
        if !inner.repositories.iter().any(|r| r == repository) {
            inner.repositories.push(repository.to_owned());
        }
        inner
            .releases
            .entry((repository.to_owned(), tag.to_owned()))
            .or_default()
            .push((id, name.to_owned(), bytes));
        id
    }

    pub fn behave(&self, asset_id: u64, behaviours: &[Behaviour]) {
        self.inner
            .lock()
            .unwrap()
            .behaviours
            .entry(asset_id)
            .or_default()
            .extend(behaviours.iter().cloned());
    }

    pub fn api_behave(&self, behaviours: &[ApiBehaviour]) {
        self.inner
            .lock()
            .unwrap()
            .api_behaviours
            .extend(behaviours.iter().cloned());
    }

    /// `count` comments on issue `number` of `repository`, bodies `comment 1`, `comment 2`, …
    pub fn add_comments(&self, repository: &str, number: u64, count: usize) {
        self.inner.lock().unwrap().comments.insert(
            (repository.to_owned(), number),
            (1..=count).map(|i| format!("comment {i}")).collect(),
        );
    }

    /// Pull requests of `repository` (number, `open`/`closed`, merged).
    pub fn add_pulls(&self, repository: &str, pulls: &[Pull]) {
        self.inner
            .lock()
            .unwrap()
            .pulls
            .entry(repository.to_owned())
            .or_default()
            .extend_from_slice(pulls);
    }

    /// Requests to the API whose path starts with `prefix`.
    pub fn api_requests_to(&self, prefix: &str) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|(server, path, _)| server == "api" && path.starts_with(prefix))
            .map(|(_, path, _)| path)
            .collect()
    }

    /// From now on, page links point at the storage host (another origin).
    pub fn send_next_pages_elsewhere(&self) {
        self.inner.lock().unwrap().foreign_next_page = true;
    }

    /// Requests to the storage servers (asset downloads).
    pub fn downloads(&self) -> usize {
        self.requests()
            .iter()
            .filter(|(server, _, _)| server == "storage")
            .count()
    }

    /// Requests to the API server.
    pub fn api_requests(&self) -> usize {
        self.requests()
            .iter()
            .filter(|(server, _, _)| server == "api")
            .count()
    }

    pub fn bodies_served(&self) -> usize {
        self.inner.lock().unwrap().bodies_served
    }

    pub fn requests(&self) -> Vec<Request> {
        self.inner.lock().unwrap().requests.clone()
    }

    pub fn storage_url(&self) -> &str {
        &self.storage_url
    }
}

fn record(state: &AppState, server: &str, path: String, headers: &HeaderMap) {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("").to_owned());
    state
        .inner
        .lock()
        .unwrap()
        .requests
        .push((server.to_owned(), path, authorization));
}

async fn release(
    State(state): State<AppState>,
    Path((owner, repo, tag)): Path<(String, String, String)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    record(&state, "api", uri.to_string(), &headers);
    let repository = format!("{owner}/{repo}");
    let behaviour = state.inner.lock().unwrap().api_behaviours.pop_front();
    match behaviour {
        Some(ApiBehaviour::RateLimited { reset }) => {
            return (
                StatusCode::FORBIDDEN,
                [
                    ("x-ratelimit-limit", "60".to_owned()),
                    ("x-ratelimit-remaining", "0".to_owned()),
                    ("x-ratelimit-reset", reset.to_string()),
                ],
                axum::Json(serde_json::json!({
                    "message": "API rate limit exceeded for 127.0.0.1.",
                    "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
                })),
            )
                .into_response()
        }
        Some(ApiBehaviour::Unauthorized) => {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({"message": "Bad credentials", "status": "401"})),
            )
                .into_response()
        }
        Some(ApiBehaviour::MovedOnSameHost) => {
            let id = {
                let inner = state.inner.lock().unwrap();
                inner
                    .repositories
                    .iter()
                    .position(|r| *r == repository)
                    .map_or(0, |i| i + 1)
            };
            return (
                StatusCode::MOVED_PERMANENTLY,
                [(
                    header::LOCATION,
                    format!("{}/repositories/{id}/releases/tags/{tag}", state.api_url),
                )],
                axum::Json(serde_json::json!({"message": "Moved Permanently"})),
            )
                .into_response();
        }
        None => {}
    }
    release_json(&state, &repository, &tag)
}

async fn moved_release(
    State(state): State<AppState>,
    Path((id, tag)): Path<(usize, String)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    record(&state, "api", uri.to_string(), &headers);
    let repository = state
        .inner
        .lock()
        .unwrap()
        .repositories
        .get(id.wrapping_sub(1))
        .cloned()
        .unwrap_or_default();
    release_json(&state, &repository, &tag)
}

fn release_json(state: &AppState, repository: &str, tag: &str) -> Response {
    let inner = state.inner.lock().unwrap();
    let Some(assets) = inner.releases.get(&(repository.to_owned(), tag.to_owned())) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"message": "Not Found", "status": "404"})),
        )
            .into_response();
    };
    let assets: Vec<_> = assets
        .iter()
        .map(|(id, name, bytes)| {
            serde_json::json!({
                "id": id,
                "name": name,
                "size": bytes.len(),
                "state": "uploaded",
                "content_type": "application/zip",
                "url": format!("{}/repos/{repository}/releases/assets/{id}", state.api_url),
                "browser_download_url": format!("https://github.com/{repository}/releases/download/{tag}/{name}"),
            })
        })
        .collect();
    axum::Json(serde_json::json!({ "id": 1, "tag_name": tag, "name": tag, "draft": false, "prerelease": false, "assets": assets }))
        .into_response()
}

async fn asset_redirect(
    State(state): State<AppState>,
    Path((owner, repo, id)): Path<(String, String, u64)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let _ = (owner, repo);
    record(&state, "api", uri.to_string(), &headers);
    if headers.get(header::ACCEPT).map(|v| v.as_bytes()) != Some(b"application/octet-stream") {
        // The real API answers JSON metadata without this Accept header.
        return (StatusCode::OK, axum::Json(serde_json::json!({"id": id}))).into_response();
    }
    let raw = state
        .inner
        .lock()
        .unwrap()
        .behaviours
        .get(&id)
        .and_then(|queue| queue.front())
        == Some(&Behaviour::CutCloseDelimited);
    let host = if raw {
        &state.raw_url
    } else {
        &state.storage_url
    };
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("{host}/blob/{id}?token=signed"))],
    )
        .into_response()
}

async fn blob(
    State(state): State<AppState>,
    Path(id): Path<u64>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    record(&state, "storage", uri.to_string(), &headers);
    if headers.contains_key(header::AUTHORIZATION) {
        return (
            StatusCode::BAD_REQUEST,
            "Authorization must not reach the storage host",
        )
            .into_response();
    }
    let (behaviour, bytes) = {
        let mut inner = state.inner.lock().unwrap();
        let behaviour = inner.behaviours.get_mut(&id).and_then(VecDeque::pop_front);
        (behaviour, asset_bytes(&inner, id))
    };
    let Some(bytes) = bytes else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match behaviour {
        Some(Behaviour::Status(code)) => StatusCode::from_u16(code).unwrap().into_response(),
        Some(Behaviour::TooManyRequests) => {
            (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")]).into_response()
        }
        Some(Behaviour::RedirectToSelf) => (
            StatusCode::FOUND,
            [(
                header::LOCATION,
                format!("{}/blob/{id}?token=signed&hop=2", state.storage_url),
            )],
        )
            .into_response(),
        Some(Behaviour::RedirectTo(location)) => {
            (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
        }
        Some(Behaviour::Truncate) => {
            let half = bytes[..bytes.len() / 2].to_vec();
            // The half is flushed before the connection drops.
            let chunks = futures_util::stream::unfold(Some(half), |half| async move {
                match half {
                    Some(half) => Some((Ok(half), None)),
                    None => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Some((
                            Err(std::io::Error::new(
                                std::io::ErrorKind::ConnectionReset,
                                "cut",
                            )),
                            None,
                        ))
                    }
                }
            });
            Response::builder()
                .header(header::CONTENT_LENGTH, bytes.len())
                .body(Body::from_stream(chunks))
                .unwrap()
        }
        Some(Behaviour::Stall) => {
            let head = bytes[..8.min(bytes.len())].to_vec();
            let chunks = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) })
                .chain(futures_util::stream::pending());
            Response::builder()
                .header(header::CONTENT_LENGTH, bytes.len())
                .body(Body::from_stream(chunks))
                .unwrap()
        }
        Some(Behaviour::Dribble) => {
            let length = bytes.len();
            let chunks = futures_util::stream::unfold(bytes, |bytes| async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let (first, rest) = bytes.split_first()?;
                Some((Ok::<_, std::io::Error>(vec![*first]), rest.to_vec()))
            });
            Response::builder()
                .header(header::CONTENT_LENGTH, length)
                .body(Body::from_stream(chunks))
                .unwrap()
        }
        Some(Behaviour::CutCloseDelimited) => {
            // Only the raw server can do this; reaching here is a bug in the fake.
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        None => {
            let etag = format!("\"{id}-{}\"", bytes.len());
            if headers
                .get(header::IF_NONE_MATCH)
                .is_some_and(|v| v.as_bytes() == etag.as_bytes())
            {
                return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
            }
            state.inner.lock().unwrap().bodies_served += 1;
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                    (header::ETAG, etag),
                ],
                bytes,
            )
                .into_response()
        }
    }
}

fn asset_bytes(inner: &Inner, id: u64) -> Option<Vec<u8>> {
    inner
        .releases
        .values()
        .flatten()
        .find(|(asset, _, _)| *asset == id)
        .map(|(_, _, bytes)| bytes.clone())
}

/// `GET /repos/{owner}/{repo}/issues/{number}/comments?per_page=&page=`, with GitHub's
/// `Link` header (`rel="next"` and `rel="last"` while there are more pages).
async fn comments(
    State(state): State<AppState>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Query(query): Query<HashMap<String, String>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    record(&state, "api", uri.to_string(), &headers);
    let per_page: usize = query
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page: usize = query
        .get("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let inner = state.inner.lock().unwrap();
    let all = inner
        .comments
        .get(&(format!("{owner}/{repo}"), number))
        .cloned()
        .unwrap_or_default();
    let last = all.len().div_ceil(per_page).max(1);
    let items: Vec<_> = all
        .iter()
        .enumerate()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|(i, body)| {
            serde_json::json!({
                "id": i + 1,
                "body": body,
                "user": {"login": "github-actions[bot]", "type": "Bot"},
            })
        })
        .collect();
    let origin = if inner.foreign_next_page {
        &state.storage_url
    } else {
        &state.api_url
    };
    let link = |page: usize| {
        format!("<{origin}/repos/{owner}/{repo}/issues/{number}/comments?per_page={per_page}&page={page}>")
    };
    let mut response = axum::Json(items).into_response();
    if page < last {
        let value = format!(
            "{}; rel=\"next\", {}; rel=\"last\"",
            link(page + 1),
            link(last)
        );
        response
            .headers_mut()
            .insert(header::LINK, value.parse().unwrap());
    }
    response
}

fn pull_json(repository: &str, (number, state, merged): &Pull) -> serde_json::Value {
    serde_json::json!({
        "url": format!("https://api.github.com/repos/{repository}/pulls/{number}"),
        "number": number,
        "state": state,
        "title": format!("Change {number}"),
        "user": {"login": "octocat", "type": "User"},
        "created_at": format!("2024-01-01T00:00:00Z"),
        "closed_at": if *state == "closed" { serde_json::json!("2024-02-01T00:00:00Z") } else { serde_json::Value::Null },
        "merged_at": if *merged { serde_json::json!("2024-02-01T00:00:00Z") } else { serde_json::Value::Null },
    })
}

/// A queued API behaviour that applies to any endpoint (a rate limit, bad credentials).
fn api_failure(state: &AppState) -> Option<Response> {
    let behaviour = state.inner.lock().unwrap().api_behaviours.pop_front()?;
    Some(match behaviour {
        ApiBehaviour::RateLimited { reset } => (
            StatusCode::FORBIDDEN,
            [
                ("x-ratelimit-limit", "60".to_owned()),
                ("x-ratelimit-remaining", "0".to_owned()),
                ("x-ratelimit-reset", reset.to_string()),
            ],
            axum::Json(serde_json::json!({"message": "API rate limit exceeded for 127.0.0.1."})),
        )
            .into_response(),
        ApiBehaviour::Unauthorized | ApiBehaviour::MovedOnSameHost => (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"message": "Bad credentials", "status": "401"})),
        )
            .into_response(),
    })
}

/// `GET /repos/{owner}/{repo}/pulls?state=&sort=&direction=&per_page=&page=`: newest first
/// (by number) unless `direction=asc`, with GitHub's `Link` header while there are more pages.
async fn pulls(
    State(state): State<AppState>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    record(&state, "api", uri.to_string(), &headers);
    if let Some(failure) = api_failure(&state) {
        return failure;
    }
    let repository = format!("{owner}/{repo}");
    let wanted = query.get("state").map_or("open", String::as_str).to_owned();
    let per_page: usize = query
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page: usize = query
        .get("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut all: Vec<Pull> = state
        .inner
        .lock()
        .unwrap()
        .pulls
        .get(&repository)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, s, _)| wanted == "all" || *s == wanted)
        .collect();
    all.sort_by_key(|(number, _, _)| std::cmp::Reverse(*number));
    if query.get("direction").map(String::as_str) == Some("asc") {
        all.reverse();
    }
    let last = all.len().div_ceil(per_page).max(1);
    let items: Vec<_> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|pull| pull_json(&repository, pull))
        .collect();
    let mut response = axum::Json(items).into_response();
    if page < last {
        let link = |page: usize| {
            let mut pairs: Vec<(String, String)> = query
                .iter()
                .filter(|(k, _)| *k != "page")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            pairs.sort();
            pairs.push(("page".into(), page.to_string()));
            let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "<{}/repos/{owner}/{repo}/pulls?{}>",
                state.api_url,
                query.join("&")
            )
        };
        let value = format!(
            "{}; rel=\"next\", {}; rel=\"last\"",
            link(page + 1),
            link(last)
        );
        response
            .headers_mut()
            .insert(header::LINK, value.parse().unwrap());
    }
    response
}

/// `GET /repos/{owner}/{repo}/pulls/{number}`: the pull request, or 404.
async fn pull(
    State(state): State<AppState>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    record(&state, "api", uri.to_string(), &headers);
    if let Some(failure) = api_failure(&state) {
        return failure;
    }
    let repository = format!("{owner}/{repo}");
    let found = state
        .inner
        .lock()
        .unwrap()
        .pulls
        .get(&repository)
        .and_then(|pulls| pulls.iter().find(|(n, _, _)| *n == number).copied());
    match found {
        Some(pull) => axum::Json(pull_json(&repository, &pull)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"message": "Not Found", "status": "404"})),
        )
            .into_response(),
    }
}

/// Serves [`Behaviour::CutCloseDelimited`]: HTTP/1.1 200 without Content-Length, half the
/// body, then a clean close — the client cannot tell it from a short file.
fn raw_server(listener: std::net::TcpListener, state: AppState) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let authorization = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("authorization")
                .then(|| value.trim().to_owned())
        });
        let id: Option<u64> = path
            .strip_prefix("/blob/")
            .and_then(|rest| rest.split('?').next())
            .and_then(|id| id.parse().ok());
        let served = {
            let mut inner = state.inner.lock().unwrap();
            inner
                .requests
                .push(("storage".into(), path.clone(), authorization.clone()));
            match id {
                Some(id) if authorization.is_none() => {
                    let behaviour = inner.behaviours.get_mut(&id).and_then(VecDeque::pop_front);
                    asset_bytes(&inner, id)
                        .filter(|_| behaviour == Some(Behaviour::CutCloseDelimited))
                }
                _ => None,
            }
        };
        let _ = match served {
            Some(bytes) => stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                )
                .and_then(|()| stream.write_all(&bytes[..bytes.len() / 2])),
            None => stream.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            ),
        };
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
}
