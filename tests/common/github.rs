//! A local GitHub: the REST API's shapes on one port (releases by tag, assets behind a
//! redirect, issue comments and pull requests paginated with `Link` headers, comments created
//! with `POST` and edited with `PATCH` — 422 past 65,536 characters — and `GET /user`), and
//! the asset storage it redirects to on another, as api.github.com redirects to
//! objects.githubusercontent.com.
//! Storage refuses (and records) any request that carries an `Authorization` header. A third,
//! raw TCP port serves what a well-behaved HTTP server cannot: a body without a length cut
//! short by a clean close. Faults are queued per asset ([`Behaviour`]) or for the API
//! ([`ApiBehaviour`]): primary and secondary rate limits (403 and 429, with and without
//! `retry-after`), 410, bad credentials. A repository may be private (any request without its
//! token answers 404, as GitHub hides a private repository) and renamed (its old name answers
//! 301 on reads and 307 on writes to `/repositories/{id}/…`, which is private too); an asset
//! may carry GitHub's `digest` and a `state` other than `uploaded`.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
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
    /// A rate limit with this status (403 or 429). With `reset`: the primary limit
    /// (`x-ratelimit-remaining: 0`, `x-ratelimit-reset`); without: a secondary one (GitHub's
    /// message says so). `retry_after` adds `retry-after`.
    Limited {
        status: u16,
        retry_after: Option<u64>,
        reset: Option<u64>,
    },
    /// 410 Gone: an API version GitHub no longer serves.
    Gone,
}

/// A published asset: id, name, bytes.
type Asset = (u64, String, Vec<u8>);

/// A pull request: number, `open` or `closed`, merged.
pub type Pull = (u64, &'static str, bool);

/// GitHub's limit for a comment body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// An issue comment as stored: id (unique across issues), body, author login and type.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    pub login: String,
    pub kind: String,
}

/// What the API does on the next comment write (`POST` or `PATCH`).
#[derive(Debug, Clone, PartialEq)]
pub enum WriteBehaviour {
    /// Answer this status without writing anything.
    Status(u16),
    /// Write, then answer this status anyway (a gateway that timed out on a write that
    /// went through).
    StatusAfterWriting(u16),
    /// 422 with several `errors[]` entries of each shape GitHub uses, without writing.
    Invalid,
    /// A secondary rate limit (403 or 429, `retry-after` if given), without writing.
    Limited {
        status: u16,
        retry_after: Option<u64>,
    },
}

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
    /// (repository, issue number) → comments, oldest first.
    comments: HashMap<(String, u64), Vec<Comment>>,
    next_comment_id: u64,
    /// repository → pull requests (number, state, merged).
    pulls: HashMap<String, Vec<Pull>>,
    /// Token → (login, type) of whoever it belongs to; any other token is a workflow's
    /// `GITHUB_TOKEN` (`github-actions[bot]`, a Bot that `GET /user` refuses).
    users: HashMap<String, (String, String)>,
    /// Tokens that may read but not write (a pull request from a fork).
    read_only: Vec<String>,
    write_behaviours: VecDeque<WriteBehaviour>,
    /// The method of each of `requests`.
    methods: Vec<String>,
    /// Whether page links lead to the storage host instead of the API.
    foreign_next_page: bool,
    requests: Vec<Request>,
    /// Asset bodies sent in full.
    bodies_served: usize,
    /// Private repositories and the token that may see each.
    private: HashMap<String, String>,
    /// Repositories whose old name redirects to `/repositories/{id}/…`.
    renamed: Vec<String>,
    /// Per asset id: GitHub's `digest` (null unless set) and `state` (`uploaded` unless set).
    digests: HashMap<u64, String>,
    states: HashMap<u64, String>,
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
                "/repositories/{id}/issues/comments/{comment}",
                patch(moved_update_comment),
            )
            .route(
                "/repos/{owner}/{repo}/releases/assets/{id}",
                get(asset_redirect),
            )
            .route(
                "/repos/{owner}/{repo}/issues/{number}/comments",
                get(comments).post(create_comment),
            )
            .route("/repos/{owner}/{repo}/pulls", get(pulls))
            .route("/repos/{owner}/{repo}/pulls/{number}", get(pull))
            .route(
                "/repos/{owner}/{repo}/issues/comments/{id}",
                patch(update_comment),
            )
            .route("/user", get(user))
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

    /// `repository` is private: only `token` sees it; any other request answers 404.
    pub fn make_private(&self, repository: &str, token: &str) {
        let mut inner = self.inner.lock().unwrap();
        if !inner.repositories.iter().any(|r| r == repository) {
            inner.repositories.push(repository.to_owned());
        }
        inner
            .private
            .insert(repository.to_owned(), token.to_owned());
    }

    /// `repository` was renamed: its old name answers 301 (reads) or 307 (writes) to
    /// `/repositories/{id}/…` on the API, as GitHub does.
    pub fn rename(&self, repository: &str) {
        let mut inner = self.inner.lock().unwrap();
        if !inner.repositories.iter().any(|r| r == repository) {
            inner.repositories.push(repository.to_owned());
        }
        inner.renamed.push(repository.to_owned());
    }

    /// GitHub's `digest` of asset `id` (e.g. `sha256:<hex>`).
    pub fn set_digest(&self, id: u64, digest: &str) {
        self.inner
            .lock()
            .unwrap()
            .digests
            .insert(id, digest.to_owned());
    }

    /// The `state` of asset `id` (`open` while uploading).
    pub fn set_state(&self, id: u64, state: &str) {
        self.inner
            .lock()
            .unwrap()
            .states
            .insert(id, state.to_owned());
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

    /// `count` comments by a reviewer on issue `number` of `repository`, bodies
    /// `comment 1`, `comment 2`, …
    pub fn add_comments(&self, repository: &str, number: u64, count: usize) {
        for i in 1..=count {
            self.add_comment(
                repository,
                number,
                &format!("comment {i}"),
                "reviewer",
                "User",
            );
        }
    }

    /// One comment by `login` (`kind`: `User` or `Bot`); returns its id.
    pub fn add_comment(
        &self,
        repository: &str,
        number: u64,
        body: &str,
        login: &str,
        kind: &str,
    ) -> u64 {
        let mut inner = self.inner.lock().unwrap();
        inner.next_comment_id += 1;
        let id = inner.next_comment_id;
        inner
            .comments
            .entry((repository.to_owned(), number))
            .or_default()
            .push(Comment {
                id,
                body: body.to_owned(),
                login: login.to_owned(),
                kind: kind.to_owned(),
            });
        id
    }

    /// The comments of issue `number`, oldest first.
    pub fn comments(&self, repository: &str, number: u64) -> Vec<Comment> {
        self.inner
            .lock()
            .unwrap()
            .comments
            .get(&(repository.to_owned(), number))
            .cloned()
            .unwrap_or_default()
    }

    /// `token` belongs to `login` (a `User`): `GET /user` answers it, and its comments are
    /// written as that user.
    pub fn token_user(&self, token: &str, login: &str) {
        self.inner
            .lock()
            .unwrap()
            .users
            .insert(token.to_owned(), (login.to_owned(), "User".to_owned()));
    }

    /// `token` may read but not write (403, as a fork's pull request token).
    pub fn read_only(&self, token: &str) {
        self.inner.lock().unwrap().read_only.push(token.to_owned());
    }

    pub fn write_behave(&self, behaviours: &[WriteBehaviour]) {
        self.inner
            .lock()
            .unwrap()
            .write_behaviours
            .extend(behaviours.iter().cloned());
    }

    /// Every request with its method: (method, server, path, Authorization).
    pub fn requests_with_methods(&self) -> Vec<(String, String, String, Option<String>)> {
        let inner = self.inner.lock().unwrap();
        inner
            .methods
            .iter()
            .zip(&inner.requests)
            .map(|(method, (server, path, auth))| {
                (method.clone(), server.clone(), path.clone(), auth.clone())
            })
            .collect()
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
    record_as(state, "GET", server, path, headers);
}

fn record_as(state: &AppState, method: &str, server: &str, path: String, headers: &HeaderMap) {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let mut inner = state.inner.lock().unwrap();
    inner
        .requests
        .push((server.to_owned(), path, authorization));
    inner.methods.push(method.to_owned());
}

async fn release(
    State(state): State<AppState>,
    Path((owner, repo, tag)): Path<(String, String, String)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    record(&state, "api", uri.to_string(), &headers);
    let repository = format!("{owner}/{repo}");
    if let Some(hidden) = hidden(&state, &repository, &headers) {
        return hidden;
    }
    let behaviour = state.inner.lock().unwrap().api_behaviours.pop_front();
    match behaviour {
        Some(ApiBehaviour::MovedOnSameHost) => {
            return moved(
                &state,
                &repository,
                StatusCode::MOVED_PERMANENTLY,
                &format!("releases/tags/{tag}"),
            )
        }
        Some(other) => return failure_response(other),
        None => {}
    }
    if state.inner.lock().unwrap().renamed.contains(&repository) {
        return moved(
            &state,
            &repository,
            StatusCode::MOVED_PERMANENTLY,
            &format!("releases/tags/{tag}"),
        );
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
    if let Some(hidden) = hidden(&state, &repository, &headers) {
        return hidden;
    }
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
                "state": inner.states.get(id).cloned().unwrap_or_else(|| "uploaded".to_owned()),
                "digest": inner.digests.get(id),
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
    record(&state, "api", uri.to_string(), &headers);
    if let Some(hidden) = hidden(&state, &format!("{owner}/{repo}"), &headers) {
        return hidden;
    }
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
    if let Some(hidden) = hidden(&state, &format!("{owner}/{repo}"), &headers) {
        return hidden;
    }
    if let Some(failure) = api_failure(&state) {
        return failure;
    }
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
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|comment| comment_json(&owner, &repo, number, comment))
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
    Some(failure_response(behaviour))
}

/// The answer of a queued failure (a redirect only makes sense for a release: 401 elsewhere).
fn failure_response(behaviour: ApiBehaviour) -> Response {
    match behaviour {
        ApiBehaviour::RateLimited { reset } => limited(403, None, Some(reset)),
        ApiBehaviour::Limited {
            status,
            retry_after,
            reset,
        } => limited(status, retry_after, reset),
        ApiBehaviour::Gone => error_json(
            StatusCode::GONE,
            "API version 2022-11-28 is no longer supported; see https://docs.github.com/rest/about-the-rest-api/api-versions",
        ),
        ApiBehaviour::Unauthorized | ApiBehaviour::MovedOnSameHost => (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"message": "Bad credentials", "status": "401"})),
        )
            .into_response(),
    }
}

/// A rate-limit answer as GitHub gives it: the primary limit with `reset`, else a secondary
/// one.
fn limited(status: u16, retry_after: Option<u64>, reset: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    let message = match reset {
        Some(_) => "API rate limit exceeded for user ID 1.",
        None => "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    };
    let mut response = error_json(status, message);
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", "5000".parse().unwrap());
    let remaining = if reset.is_some() { "0" } else { "4990" };
    headers.insert("x-ratelimit-remaining", remaining.parse().unwrap());
    if let Some(reset) = reset {
        headers.insert("x-ratelimit-reset", reset.to_string().parse().unwrap());
    }
    if let Some(after) = retry_after {
        headers.insert(header::RETRY_AFTER, after.to_string().parse().unwrap());
    }
    response
}

/// 404 for a private repository unless the request carries its token.
fn hidden(state: &AppState, repository: &str, headers: &HeaderMap) -> Option<Response> {
    let inner = state.inner.lock().unwrap();
    let token = inner.private.get(repository)?;
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    (sent != Some(token.as_str())).then(|| error_json(StatusCode::NOT_FOUND, "Not Found"))
}

/// GitHub's answer on a renamed repository's old name: `status` to the same `rest` under
/// `/repositories/{id}/`.
fn moved(state: &AppState, repository: &str, status: StatusCode, rest: &str) -> Response {
    let id = state
        .inner
        .lock()
        .unwrap()
        .repositories
        .iter()
        .position(|r| r == repository)
        .map_or(0, |i| i + 1);
    (
        status,
        [(
            header::LOCATION,
            format!("{}/repositories/{id}/{rest}", state.api_url),
        )],
        axum::Json(serde_json::json!({
            "message": "Moved Permanently",
            "url": format!("{}/repositories/{id}/{rest}", state.api_url),
        })),
    )
        .into_response()
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
    let repository = format!("{owner}/{repo}");
    if let Some(hidden) = hidden(&state, &repository, &headers) {
        return hidden;
    }
    if let Some(failure) = api_failure(&state) {
        return failure;
    }
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
    let repository = format!("{owner}/{repo}");
    if let Some(hidden) = hidden(&state, &repository, &headers) {
        return hidden;
    }
    if let Some(failure) = api_failure(&state) {
        return failure;
    }
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

fn comment_json(owner: &str, repo: &str, number: u64, comment: &Comment) -> serde_json::Value {
    serde_json::json!({
        "id": comment.id,
        "node_id": format!("IC_{}", comment.id),
        "url": format!("https://api.github.com/repos/{owner}/{repo}/issues/comments/{}", comment.id),
        "html_url": format!("https://github.com/{owner}/{repo}/pull/{number}#issuecomment-{}", comment.id),
        "issue_url": format!("https://api.github.com/repos/{owner}/{repo}/issues/{number}"),
        "body": comment.body,
        "user": {"login": comment.login, "type": comment.kind},
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
        "author_association": "NONE",
    })
}

/// The identity behind a request's token: `None` without one.
fn identity(inner: &Inner, headers: &HeaderMap) -> Option<(String, String, String)> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .to_owned();
    let (login, kind) = inner
        .users
        .get(&token)
        .cloned()
        .unwrap_or_else(|| ("github-actions[bot]".to_owned(), "Bot".to_owned()));
    Some((token, login, kind))
}

fn error_json(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest/issues/comments",
            "status": status.as_u16().to_string(),
        })),
    )
        .into_response()
}

/// The checks GitHub makes before a comment write: a token that may write, a body within
/// the limit; then the queued behaviour. `Err` is the answer to send instead.
fn check_write(
    inner: &mut Inner,
    headers: &HeaderMap,
    body: &serde_json::Value,
) -> Result<(String, String, String, Option<u16>), Box<Response>> {
    let Some((token, login, kind)) = identity(inner, headers) else {
        return Err(Box::new(error_json(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
        )));
    };
    if inner.read_only.contains(&token) {
        return Err(Box::new(error_json(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        )));
    }
    let Some(text) = body.get("body").and_then(serde_json::Value::as_str) else {
        return Err(Box::new(error_json(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request.",
        )));
    };
    if text.chars().count() > COMMENT_LIMIT {
        return Err(Box::new((
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(serde_json::json!({
                "message": "Validation Failed",
                "errors": [{"resource": "IssueComment", "code": "custom", "field": "body",
                            "message": "body is too long (maximum is 65536 characters)"}],
                "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
                "status": "422",
            })),
        )
            .into_response()));
    }
    let after = match inner.write_behaviours.pop_front() {
        Some(WriteBehaviour::Status(code)) => {
            return Err(Box::new(error_json(
                StatusCode::from_u16(code).unwrap(),
                "Server Error",
            )))
        }
        Some(WriteBehaviour::StatusAfterWriting(code)) => Some(code),
        Some(WriteBehaviour::Invalid) => {
            return Err(Box::new((
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(serde_json::json!({
                    "message": "Validation Failed",
                    "errors": [
                        {"resource": "IssueComment", "field": "body", "code": "missing_field"},
                        {"resource": "IssueComment", "field": "body", "code": "custom",
                         "message": "body contains a disallowed word"},
                        "the comment is locked",
                    ],
                    "documentation_url": "https://docs.github.com/rest/issues/comments#update-an-issue-comment",
                    "status": "422",
                })),
            )
                .into_response()))
        }
        Some(WriteBehaviour::Limited {
            status,
            retry_after,
        }) => return Err(Box::new(limited(status, retry_after, None))),
        None => None,
    };
    Ok((text.to_owned(), login, kind, after))
}

/// `POST /repos/{owner}/{repo}/issues/{number}/comments` `{"body": …}` → 201.
async fn create_comment(
    State(state): State<AppState>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    record_as(&state, "POST", "api", uri.to_string(), &headers);
    if let Some(hidden) = hidden(&state, &format!("{owner}/{repo}"), &headers) {
        return hidden;
    }
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let mut inner = state.inner.lock().unwrap();
    let (text, login, kind, after) = match check_write(&mut inner, &headers, &body) {
        Ok(checked) => checked,
        Err(response) => return *response,
    };
    inner.next_comment_id += 1;
    let comment = Comment {
        id: inner.next_comment_id,
        body: text,
        login,
        kind,
    };
    inner
        .comments
        .entry((format!("{owner}/{repo}"), number))
        .or_default()
        .push(comment.clone());
    if let Some(code) = after {
        return error_json(StatusCode::from_u16(code).unwrap(), "Server Error");
    }
    (
        StatusCode::CREATED,
        axum::Json(comment_json(&owner, &repo, number, &comment)),
    )
        .into_response()
}

/// `PATCH /repos/{owner}/{repo}/issues/comments/{id}` `{"body": …}` → 200; 307 on a
/// renamed repository's old name.
async fn update_comment(
    State(state): State<AppState>,
    Path((owner, repo, id)): Path<(String, String, u64)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    record_as(&state, "PATCH", "api", uri.to_string(), &headers);
    let repository = format!("{owner}/{repo}");
    if let Some(hidden) = hidden(&state, &repository, &headers) {
        return hidden;
    }
    if state.inner.lock().unwrap().renamed.contains(&repository) {
        let rest = format!("issues/comments/{id}");
        return moved(&state, &repository, StatusCode::TEMPORARY_REDIRECT, &rest);
    }
    edit_comment(&state, &repository, id, &headers, &body)
}

/// `PATCH /repositories/{id}/issues/comments/{comment}`: a renamed repository's comment.
async fn moved_update_comment(
    State(state): State<AppState>,
    Path((repository_id, id)): Path<(usize, u64)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    record_as(&state, "PATCH", "api", uri.to_string(), &headers);
    let repository = state
        .inner
        .lock()
        .unwrap()
        .repositories
        .get(repository_id.wrapping_sub(1))
        .cloned()
        .unwrap_or_default();
    if let Some(hidden) = hidden(&state, &repository, &headers) {
        return hidden;
    }
    edit_comment(&state, &repository, id, &headers, &body)
}

fn edit_comment(
    state: &AppState,
    repository: &str,
    id: u64,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let body: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let mut inner = state.inner.lock().unwrap();
    let (text, _, _, after) = match check_write(&mut inner, headers, &body) {
        Ok(checked) => checked,
        Err(response) => return *response,
    };
    let found = inner
        .comments
        .iter_mut()
        .filter(|((r, _), _)| r == repository)
        .find_map(|((_, number), comments)| {
            let number = *number;
            comments
                .iter_mut()
                .find(|c| c.id == id)
                .map(|comment| (number, comment))
        });
    let Some((number, comment)) = found else {
        return error_json(StatusCode::NOT_FOUND, "Not Found");
    };
    comment.body = text;
    let (owner, repo) = repository.split_once('/').unwrap_or((repository, ""));
    let json = comment_json(owner, repo, number, comment);
    if let Some(code) = after {
        return error_json(StatusCode::from_u16(code).unwrap(), "Server Error");
    }
    (StatusCode::OK, axum::Json(json)).into_response()
}

/// `GET /user`: a person's token gets its user; a workflow's `GITHUB_TOKEN` gets 403.
async fn user(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    record(&state, "api", uri.to_string(), &headers);
    let inner = state.inner.lock().unwrap();
    match identity(&inner, &headers) {
        None => error_json(StatusCode::UNAUTHORIZED, "Requires authentication"),
        Some((_, login, kind)) if kind == "User" => {
            axum::Json(serde_json::json!({"login": login, "type": kind})).into_response()
        }
        Some(_) => error_json(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        ),
    }
}
