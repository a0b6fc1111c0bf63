//! The network edge as a library: the GitHub client against the fake GitHub (pagination, the
//! token on the API origin only), a staging future dropped mid-download, and S3 objects
//! staged from the emulator.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use common::github::{Behaviour, FakeGithub};
use common::{zip_bytes, Tree};
use lambda_gitops::cli::Cli;
use lambda_gitops::desired::PackageRef;
use lambda_gitops::github::{Client, GithubError};
use lambda_gitops::progress::LogLines;
use lambda_gitops::settings::Settings;
use lambda_gitops::stage::Stager;

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
    let stager = Stager::new(&settings(&tree, &github.api_url));
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
