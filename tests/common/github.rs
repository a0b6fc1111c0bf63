//! A local GitHub: the release API shape on one port, and the asset storage it redirects
//! to on another, as api.github.com redirects to objects.githubusercontent.com. Storage
//! refuses (and records) any request that carries an `Authorization` header.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// What the storage server does on one request for an asset.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Answer with this status and no body.
    Status(u16),
    /// 429 with `Retry-After: 1`.
    TooManyRequests,
    /// Declare the full Content-Length, send half the body, then drop the connection.
    Truncate,
}

/// A published asset: id, name, bytes.
type Asset = (u64, String, Vec<u8>);

#[derive(Default)]
struct Inner {
    /// (repository, tag) → assets (id, name, bytes).
    releases: HashMap<(String, String), Vec<Asset>>,
    next_id: u64,
    /// Per asset id, behaviours for the next requests (then: serve the bytes).
    behaviours: HashMap<u64, VecDeque<Behaviour>>,
    /// Every request: (server, path, Authorization header).
    requests: Vec<(String, String, Option<String>)>,
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
    api_url: String,
}

impl FakeGithub {
    pub fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let api_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let storage_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        api_listener.set_nonblocking(true).unwrap();
        storage_listener.set_nonblocking(true).unwrap();
        let api_url = format!("http://{}", api_listener.local_addr().unwrap());
        let storage_url = format!("http://{}", storage_listener.local_addr().unwrap());
        let state = AppState {
            inner: inner.clone(),
            storage_url: storage_url.clone(),
            api_url: api_url.clone(),
        };

        let api = Router::new()
            .route("/repos/{owner}/{repo}/releases/tags/{tag}", get(release))
            .route(
                "/repos/{owner}/{repo}/releases/assets/{id}",
                get(asset_redirect),
            )
            .with_state(state.clone());
        let storage = Router::new()
            .route("/blob/{id}", get(blob))
            .with_state(state);

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

    /// Requests to the storage server (asset downloads).
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

    pub fn requests(&self) -> Vec<(String, String, Option<String>)> {
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
    headers: HeaderMap,
) -> Response {
    record(
        &state,
        "api",
        format!("/repos/{owner}/{repo}/releases/tags/{tag}"),
        &headers,
    );
    let inner = state.inner.lock().unwrap();
    let Some(assets) = inner
        .releases
        .get(&(format!("{owner}/{repo}"), tag.clone()))
    else {
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
                "url": format!("{}/repos/{owner}/{repo}/releases/assets/{id}", state.api_url),
                "browser_download_url": format!("https://github.com/{owner}/{repo}/releases/download/{tag}/{name}"),
            })
        })
        .collect();
    axum::Json(serde_json::json!({ "id": 1, "tag_name": tag, "name": tag, "draft": false, "prerelease": false, "assets": assets }))
        .into_response()
}

async fn asset_redirect(
    State(state): State<AppState>,
    Path((owner, repo, id)): Path<(String, String, u64)>,
    headers: HeaderMap,
) -> Response {
    record(
        &state,
        "api",
        format!("/repos/{owner}/{repo}/releases/assets/{id}"),
        &headers,
    );
    if headers.get(header::ACCEPT).map(|v| v.as_bytes()) != Some(b"application/octet-stream") {
        // The real API answers JSON metadata without this Accept header.
        return (StatusCode::OK, axum::Json(serde_json::json!({"id": id}))).into_response();
    }
    (
        StatusCode::FOUND,
        [(
            header::LOCATION,
            format!("{}/blob/{id}?token=signed", state.storage_url),
        )],
    )
        .into_response()
}

async fn blob(State(state): State<AppState>, Path(id): Path<u64>, headers: HeaderMap) -> Response {
    record(&state, "storage", format!("/blob/{id}"), &headers);
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
        let bytes = inner
            .releases
            .values()
            .flatten()
            .find(|(asset, _, _)| *asset == id)
            .map(|(_, _, bytes)| bytes.clone());
        (behaviour, bytes)
    };
    let Some(bytes) = bytes else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match behaviour {
        Some(Behaviour::Status(code)) => StatusCode::from_u16(code).unwrap().into_response(),
        Some(Behaviour::TooManyRequests) => {
            (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")]).into_response()
        }
        Some(Behaviour::Truncate) => {
            let half = bytes[..bytes.len() / 2].to_vec();
            // The half is flushed before the connection drops.
            let chunks = futures_util::stream::unfold(Some(half), |half| async move {
                match half {
                    Some(half) => Some((Ok(half), None)),
                    None => {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
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
