//! The network edge as a library: the GitHub client against the fake GitHub (pagination, the
//! token on the API origin only), a staging future dropped mid-download, and S3 objects
//! staged from the emulator.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use common::github::{ApiBehaviour, Behaviour, FakeGithub};
use common::{zip_bytes, Tree};
use lambda_gitops::cli::Cli;
use lambda_gitops::desired::PackageRef;
use lambda_gitops::github::{Client, GithubError};
use lambda_gitops::retry::RateLimitWaits;
use lambda_gitops::settings::Settings;
use lambda_gitops::stage::Stager;
use lambda_gitops::terminal::progress::LogLines;

const TOKEN: &str = "ghp_test_token_never_shown_0123456789";

/// The settings a run in `tree` against `api` would have, with the test token.
fn settings(tree: &Tree, api: &str) -> Settings {
    let gitops = tree.gitops();
    let cache = tree.cache();
    let cli = Cli::parse_from([
        "lambda-gitops",
        "vars",
        "--gitops-dir",
        gitops.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
        "--github-api-url",
        api,
    ]);
    let home = tree.temp.path().to_string_lossy().into_owned();
    Settings::resolve(
        &cli.global,
        |name| match name {
            "GITHUB_TOKEN" => Some(TOKEN.to_owned()),
            "HOME" => Some(home.clone()),
            _ => None,
        },
        false,
    )
    .unwrap()
}

fn client(tree: &Tree, github: &FakeGithub) -> Client {
    Client::new(
        &settings(tree, &github.api_url).github,
        Duration::from_secs(30),
    )
}

/// A client whose rate-limit waits are scaled down: `fallback` for a limit that names no
/// time, and a deadline `budget` after it is made.
fn waiting_client(
    tree: &Tree,
    github: &FakeGithub,
    fallback: Duration,
    budget: Duration,
) -> Client {
    client(tree, github).with_waits(RateLimitWaits { budget, fallback })
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn partial_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(partial_files(&path));
            } else if entry.file_name().to_string_lossy().starts_with(".partial-") {
                out.push(path);
            }
        }
    }
    out
}

#[tokio::test]
async fn a_paginated_listing_follows_next_links_with_the_token_on_the_api_origin() {
    let github = FakeGithub::start();
    github.add_comments("acme/gitops", 7, 250);
    let tree = Tree::new();
    let client = client(&tree, &github);
    let url = client
        .endpoint(&["repos", "acme", "gitops", "issues", "7", "comments"])
        .unwrap();
    let comments: Vec<serde_json::Value> = client.get_paginated(&url).await.unwrap();
    let bodies: Vec<&str> = comments
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (1..=250).map(|i| format!("comment {i}")).collect();
    assert_eq!(bodies, expected);
    let requests = github.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    for (server, path, authorization) in &requests {
        assert_eq!(server, "api");
        assert!(path.contains("per_page=100"), "{path}");
        assert_eq!(
            authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
}

#[tokio::test]
async fn a_next_page_on_another_origin_is_refused_and_never_gets_the_token() {
    let github = FakeGithub::start();
    github.add_comments("acme/gitops", 7, 150);
    github.send_next_pages_elsewhere();
    let tree = Tree::new();
    let client = client(&tree, &github);
    let url = client
        .endpoint(&["repos", "acme", "gitops", "issues", "7", "comments"])
        .unwrap();
    let error = client
        .get_paginated::<serde_json::Value>(&url)
        .await
        .unwrap_err();
    assert!(
        matches!(error, GithubError::ForeignPage { .. }),
        "{error:?}"
    );
    assert!(error
        .to_string()
        .contains("is not on the GitHub API's origin"));
    assert_eq!(github.downloads(), 0, "the foreign page was requested");
}

#[tokio::test]
async fn an_empty_listing_is_one_request() {
    let github = FakeGithub::start();
    let tree = Tree::new();
    let client = client(&tree, &github);
    let url = client
        .endpoint(&["repos", "acme", "gitops", "issues", "8", "comments"])
        .unwrap();
    let comments: Vec<serde_json::Value> = client.get_paginated(&url).await.unwrap();
    assert!(comments.is_empty());
    assert_eq!(github.api_requests(), 1);
}

fn limited(status: u16, retry_after: Option<u64>, reset: Option<u64>) -> ApiBehaviour {
    ApiBehaviour::Limited {
        status,
        retry_after,
        reset,
    }
}

/// Issue 23 §1: a 429 without `retry-after` waits at least the back-off's first delay
/// (GitHub's minute, scaled down here) before the retry, not a quarter second.
#[tokio::test]
async fn a_secondary_rate_limit_429_without_retry_after_waits_at_least_the_minimum() {
    let github = FakeGithub::start();
    github.add_asset("acme/svc", "v1", "app.zip", b"x".to_vec());
    github.api_behave(&[limited(429, None, None)]);
    let tree = Tree::new();
    let fallback = Duration::from_millis(1500);
    let client = waiting_client(&tree, &github, fallback, Duration::from_secs(60));
    let started = std::time::Instant::now();
    let release = client.release_by_tag("acme/svc", "v1").await.unwrap();
    assert!(started.elapsed() >= fallback, "{:?}", started.elapsed());
    assert_eq!(release.asset_names(), ["app.zip"]);
    assert_eq!(github.api_requests(), 2);
}

/// `retry-after` is honoured in full (no one-minute cap), and past the deadline it is not
/// waited for at all.
#[tokio::test]
async fn a_retry_after_is_honoured_in_full_and_refused_past_the_deadline() {
    let github = FakeGithub::start();
    github.add_asset("acme/svc", "v1", "app.zip", b"x".to_vec());
    github.api_behave(&[limited(403, Some(2), None)]);
    let tree = Tree::new();
    let tiny = Duration::from_millis(10);
    let client = waiting_client(&tree, &github, tiny, Duration::from_secs(60));
    let started = std::time::Instant::now();
    client.release_by_tag("acme/svc", "v1").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    github.api_behave(&[limited(429, Some(120), None)]);
    let client = waiting_client(&tree, &github, tiny, Duration::from_secs(5));
    let started = std::time::Instant::now();
    let error = client.release_by_tag("acme/svc", "v1").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "it slept");
    assert!(
        matches!(&error, GithubError::RateLimited(limit) if limit.wait == Duration::from_secs(120)),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("waiting 2m (as its `retry-after` asks) would pass the run's deadline"),
        "{error}"
    );
    assert!(!error.to_string().contains("HTTP 403"), "{error}");
}

/// The primary limit (`x-ratelimit-remaining: 0`), answered 429 here: the client waits until
/// `x-ratelimit-reset`, then goes on.
#[tokio::test]
async fn a_primary_rate_limit_waits_until_the_reset() {
    let github = FakeGithub::start();
    github.add_asset("acme/svc", "v1", "app.zip", b"x".to_vec());
    let reset = now_unix() + 1;
    github.api_behave(&[limited(429, None, Some(reset))]);
    let tree = Tree::new();
    let tiny = Duration::from_millis(10);
    let client = waiting_client(&tree, &github, tiny, Duration::from_secs(60));
    client.release_by_tag("acme/svc", "v1").await.unwrap();
    assert!(now_unix() >= reset, "retried before the reset");
    assert_eq!(github.api_requests(), 2);
}

/// A limit that keeps coming back is backed off exponentially, then given up on with an
/// error that says so — never hammered, never called a permission error.
#[tokio::test]
async fn a_secondary_rate_limit_that_persists_backs_off_exponentially_then_gives_up() {
    let github = FakeGithub::start();
    github.add_asset("acme/svc", "v1", "app.zip", b"x".to_vec());
    github.api_behave(&vec![limited(403, None, None); 6]);
    let tree = Tree::new();
    let fallback = Duration::from_millis(100);
    let client = waiting_client(&tree, &github, fallback, Duration::from_secs(60));
    let started = std::time::Instant::now();
    let error = client.release_by_tag("acme/svc", "v1").await.unwrap_err();
    // 100 + 200 + 400 + 800 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(github.api_requests(), 5);
    assert!(
        matches!(error, GithubError::StillRateLimited { attempts: 4, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("was still rate-limited by GitHub (its secondary rate limit, HTTP 403 Forbidden) after 4 waits"),
        "{error}"
    );
    assert!(
        !error.hint().unwrap().contains("check that"),
        "{:?}",
        error.hint()
    );
}

/// Every rate-limit wait of a run ends by one deadline, however many requests share it.
#[tokio::test]
async fn rate_limit_waits_of_a_run_share_one_deadline() {
    let github = FakeGithub::start();
    github.add_asset("acme/svc", "v1", "app.zip", b"x".to_vec());
    github.api_behave(&[limited(429, Some(1), None)]);
    let tree = Tree::new();
    let tiny = Duration::from_millis(10);
    let client = waiting_client(&tree, &github, tiny, Duration::from_millis(1500));
    client.release_by_tag("acme/svc", "v1").await.unwrap();
    github.api_behave(&[limited(429, Some(1), None)]);
    let error = client
        .clone()
        .release_by_tag("acme/svc", "v1")
        .await
        .unwrap_err();
    assert!(matches!(error, GithubError::RateLimited(_)), "{error:?}");
    assert_eq!(github.api_requests(), 3);
}

#[test]
fn settings_and_the_client_never_show_the_token() {
    let github = FakeGithub::start();
    let tree = Tree::new();
    let settings = settings(&tree, &github.api_url);
    let client = Client::new(&settings.github, Duration::from_secs(30));
    for shown in [format!("{settings:?}"), format!("{client:?}")] {
        assert!(!shown.contains(TOKEN), "{shown}");
    }
}

#[tokio::test]
async fn a_cancelled_download_leaves_no_temp_file() {
    let github = FakeGithub::start();
    let id = github.add_asset(
        "acme/svc",
        "v1",
        "svc.zip",
        zip_bytes(&"interrupted ".repeat(100)),
    );
    github.behave(id, &[Behaviour::Stall]);
    let tree = Tree::new();
    let stager = Stager::new(settings(&tree, &github.api_url).staging());
    let packages = BTreeSet::from([PackageRef::GithubRelease {
        repository: "acme/svc".into(),
        tag: "v1".into(),
        asset: "svc.zip".into(),
    }]);
    let cache = tree.cache();
    let staging = stager.stage_all(packages, Arc::new(LogLines));
    let temp_file_written = async {
        while partial_files(&cache).is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        _ = staging => panic!("the stalled download finished"),
        () = temp_file_written => {}
    }
    // `staging` is dropped here, as an interrupt drops it.
    assert_eq!(partial_files(&cache), Vec::<PathBuf>::new());
    assert!(github.downloads() >= 1);
}

/// An object in the emulator's package bucket, staged as a preview `s3Key` would be.
mod s3 {
    use super::*;
    use common::aws::emulator;

    fn stage_object(tree: &Tree, key: &str) -> common::Run {
        tree.write(
            "environments/preview/pr-5/services/svc.values.yaml",
            &format!(
                "serviceName: svc\ndeploymentType: lambda\nlambda:\n  version: \"1.1.0-pr5\"\n  commitSha: \"5abcdef\"\n  s3Key: {key}\n"
            ),
        );
        common::Run::from(
            tree.command(&["vars"])
                .envs(emulator().env())
                .output()
                .unwrap(),
        )
    }

    #[test]
    fn an_s3_object_that_is_not_a_whole_zip_is_refused_and_a_missing_one_is_named() {
        let aws = emulator();
        aws.create_buckets(&["svc-uploads", "svc-packages"]);
        let tree = Tree::new();
        tree.standard("svc", &[]);

        let mut cut = zip_bytes(&"from the bucket ".repeat(100));
        cut.truncate(cut.len() / 2);
        let file = tree.temp.path().join("cut.zip");
        std::fs::write(&file, &cut).unwrap();
        aws.probe(&[
            "put",
            "svc-packages",
            "manual/cut.zip",
            file.to_str().unwrap(),
        ]);
        stage_object(&tree, "manual/cut.zip").fails_with(&[
            "s3://svc-packages/manual/cut.zip",
            "is not a zip file",
            "central directory",
        ]);
        let cached: Vec<_> = std::fs::read_dir(tree.cache().join("s3"))
            .map(|dir| dir.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert_eq!(
            cached,
            Vec::<PathBuf>::new(),
            "nothing is cached, not even a temp file"
        );

        let run = stage_object(&tree, "manual/missing.zip");
        run.fails_with(&["s3://svc-packages/manual/missing.zip: no such bucket or key"]);
        assert!(!run.stderr.contains("ServiceError"), "{}", run.stderr);

        let whole = zip_bytes("a whole package");
        std::fs::write(&file, &whole).unwrap();
        aws.probe(&[
            "put",
            "svc-packages",
            "manual/whole.zip",
            file.to_str().unwrap(),
        ]);
        let vars = stage_object(&tree, "manual/whole.zip").success().json();
        assert_eq!(
            vars["source_code_hashes"]["pr-5"],
            common::openssl_base64_sha256(&file)
        );
    }
}
