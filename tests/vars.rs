//! `vars`: staging packages (repository paths, GitHub releases, URLs) and the variables
//! the module receives.

mod common;

use common::github::{ApiBehaviour, Behaviour, FakeGithub};
use common::{openssl_base64_sha256, zip_bytes, Tree};

const TOKEN: &str = "ghp_test_token_never_shown_0123456789";

#[test]
fn previews_sort_numerically_and_hashes_match_openssl() {
    let tree = Tree::new();
    tree.standard("svc", &[1001, 7, 42]);
    let run = tree.run(&["vars"]);
    run.success();
    let vars = run.json();
    assert_eq!(vars["preview_prs"], serde_json::json!(["7", "42", "1001"]));
    let deployments = &vars["deployments"];
    for pr in ["7", "42", "1001"] {
        let key = format!("pr-{pr}");
        let file = tree.gitops().join(format!("packages/svc-1.1.0-pr{pr}.zip"));
        let hash = openssl_base64_sha256(&file);
        assert_eq!(vars["source_code_hashes"][&key], hash, "pr {pr}");
        assert_eq!(
            deployments[&key]["package"]["source_code_hash"], hash,
            "pr {pr}"
        );
        assert_eq!(vars["versions"][&key], format!("1.1.0-pr{pr}"));
        assert_eq!(deployments[&key]["version"], format!("1.1.0-pr{pr}"));
        assert_eq!(deployments[&key]["commit_sha"], "1234567abc");
        assert_eq!(
            deployments[&key]["function_name"],
            format!("svc-prod-pr-{pr}")
        );
        assert_eq!(
            deployments[&key]["trigger_prefix"],
            format!("preview/pr-{pr}/")
        );
    }
    let staging = tree.gitops().join("packages/svc-1.1.0.zip");
    assert_eq!(
        vars["source_code_hashes"]["staging"],
        openssl_base64_sha256(&staging)
    );
    assert_eq!(vars["versions"]["staging"], "1.1.0");
    assert_eq!(deployments["staging"]["commit_sha"], "abcdef1234567");
    assert_eq!(
        vars["source_code_hashes"]["production"],
        openssl_base64_sha256(&tree.gitops().join("packages/svc-1.0.0.zip"))
    );
    // The flat per-environment variables are gone: one map of deployments.
    for flat in [
        "staging_version",
        "production_source_code_hash",
        "preview_versions",
    ] {
        assert!(vars.get(flat).is_none(), "{flat}");
    }

    // The file written to the work dir is what was printed, less what `vars` derives
    // from it, and its packages are in place.
    let written =
        std::fs::read_to_string(tree.work().join("svc/lambda-gitops.tfvars.json")).unwrap();
    let mut printed = vars.clone();
    for derived in ["preview_prs", "versions", "source_code_hashes"] {
        printed.as_object_mut().unwrap().remove(derived);
    }
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&written).unwrap(),
        printed
    );
    let packages = vars["packages"].as_object().unwrap();
    assert_eq!(packages.len(), 5);
    for path in packages.values() {
        // Relative to the work dir, where terraform runs: the same on every CI runner.
        let path = path.as_str().unwrap();
        assert!(path.starts_with("packages/"), "{path}");
        assert!(tree.work().join("svc").join(path).is_file(), "{path}");
    }
}

#[test]
fn an_undeclared_environment_has_no_deployment() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.remove("environments/production");
    let vars = tree.run(&["vars"]).success().json();
    let keys: Vec<&String> = vars["deployments"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["staging"]);
    assert!(vars["versions"].get("production").is_none());
    assert!(vars["source_code_hashes"].get("production").is_none());
    assert_eq!(vars["preview_prs"], serde_json::json!([]));
}

#[test]
fn several_services_need_service_and_an_unknown_one_is_named() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    tree.standard("b", &[]);
    tree.run(&["vars"])
        .fails_with(&["choose one with `--service`", "`a`, `b`"]);
    tree.run(&["vars", "--service", "c"])
        .fails_with(&["`c` is not a Lambda service"]);
    let vars = tree.run(&["vars", "--service", "b"]).success().json();
    assert_eq!(vars["service_name"], "b");
}

fn github_tree() -> Tree {
    let tree = Tree::new();
    tree.service(
        "svc",
        "    githubRelease: {repository: acme/svc, tag: \"svc-v{version}\", asset: \"svc-{version}.zip\"}\n",
    );
    tree.env("staging", "svc", "1.1.0", "svc-staging", "staging/");
    tree.env("production", "svc", "1.1.0", "svc-prod", "Projects/");
    tree
}

/// `vars` against `github` with the test token, at trace level (so any leak would show).
fn vars_with_github(tree: &Tree, github: &FakeGithub, extra: &[&str]) -> common::Run {
    let mut args = vec!["-vv"];
    args.extend_from_slice(extra);
    vars_against(tree, github, Some(TOKEN), &args)
}

/// `vars` against `github` with `token` (if any) and `extra` flags, at the default level.
fn vars_against(
    tree: &Tree,
    github: &FakeGithub,
    token: Option<&str>,
    extra: &[&str],
) -> common::Run {
    let mut args = vec!["vars", "--github-api-url", &github.api_url];
    args.extend_from_slice(extra);
    let mut command = tree.command(&args);
    if let Some(token) = token {
        command.env("GITHUB_TOKEN", token);
    }
    common::Run::from(command.output().unwrap())
}

/// The base64 SHA-256 of `bytes` as openssl computes it (an independent implementation).
fn openssl_hash_of(tree: &Tree, bytes: &[u8]) -> String {
    let file = tree.temp.path().join("expected.zip");
    std::fs::write(&file, bytes).unwrap();
    openssl_base64_sha256(&file)
}

/// Every file under the cache dir (entries, sidecars, temp files).
fn cached_files(tree: &Tree) -> Vec<std::path::PathBuf> {
    walk(&tree.cache())
        .into_iter()
        .filter(|p| p.is_file())
        .collect()
}

#[test]
fn github_assets_are_downloaded_once_and_the_token_stays_on_the_api_host() {
    let github = FakeGithub::start();
    let bytes = zip_bytes("release 1.1.0");
    github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", bytes.clone());
    let tree = github_tree();

    let run = vars_with_github(&tree, &github, &[]);
    run.success();
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "the token leaked into the output"
    );
    let vars = run.json();
    let expected = openssl_hash_of(&tree, &bytes);
    // Staging and production share the version: one download serves both.
    assert_eq!(vars["source_code_hashes"]["staging"], expected);
    assert_eq!(vars["source_code_hashes"]["production"], expected);
    assert_eq!(github.downloads(), 1);

    for (server, path, authorization) in github.requests() {
        match server.as_str() {
            "api" => assert_eq!(
                authorization.as_deref(),
                Some(format!("Bearer {TOKEN}").as_str()),
                "{path}"
            ),
            _ => assert_eq!(authorization, None, "storage saw a token on {path}"),
        }
    }

    // A second run: the release asset is immutable and cached; no request at all.
    let before = github.requests().len();
    let again = vars_with_github(&tree, &github, &[]);
    again.success();
    assert_eq!(again.json(), vars);
    assert_eq!(
        github.requests().len(),
        before,
        "the second run made requests"
    );
}

#[test]
fn a_missing_release_asks_whether_the_version_was_promoted_too_early() {
    let github = FakeGithub::start();
    let tree = github_tree();
    vars_with_github(&tree, &github, &[]).fails_with(&[
        "GitHub release `svc-v1.1.0` of `acme/svc`: not found",
        "was the version promoted before its release was published?",
    ]);
    assert_eq!(github.downloads(), 0);
}

#[test]
fn a_missing_asset_lists_what_the_release_has() {
    let github = FakeGithub::start();
    github.add_asset("acme/svc", "svc-v1.1.0", "other.zip", zip_bytes("x"));
    let tree = github_tree();
    vars_with_github(&tree, &github, &[])
        .fails_with(&["has no asset `svc-1.1.0.zip`", "`other.zip`"]);
}

#[test]
fn server_errors_and_rate_limits_are_retried() {
    let github = FakeGithub::start();
    let id = github.add_asset(
        "acme/svc",
        "svc-v1.1.0",
        "svc-1.1.0.zip",
        zip_bytes("flaky"),
    );
    github.behave(id, &[Behaviour::Status(500), Behaviour::TooManyRequests]);
    let tree = github_tree();
    let run = vars_with_github(&tree, &github, &[]);
    run.success();
    assert_eq!(github.downloads(), 3);
    assert!(run.stderr.contains("retrying"), "{}", run.stderr);
    assert_eq!(
        run.json()["source_code_hashes"]["staging"],
        openssl_hash_of(&tree, &zip_bytes("flaky"))
    );
}

#[test]
fn a_cut_off_download_never_leaves_a_file_a_later_run_trusts() {
    let github = FakeGithub::start();
    let bytes = zip_bytes(&"truncated ".repeat(1000));
    let id = github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", bytes.clone());
    // More cut-offs than retries: the run fails.
    github.behave(id, &vec![Behaviour::Truncate; 5]);
    let tree = github_tree();
    vars_with_github(&tree, &github, &[]).fails_with(&["cut off"]);
    let leftovers = cached_files(&tree);
    assert!(leftovers.is_empty(), "the cache holds {leftovers:?}");

    // The next run downloads the whole file and gets the right hash.
    let vars = vars_with_github(&tree, &github, &[]).success().json();
    assert_eq!(
        vars["source_code_hashes"]["staging"],
        openssl_hash_of(&tree, &bytes)
    );
}

#[test]
fn release_checksums_are_verified() {
    let github = FakeGithub::start();
    let bytes = zip_bytes("the real package");
    github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", bytes);
    let wrong = "0".repeat(64);
    github.add_asset(
        "acme/svc",
        "svc-v1.1.0",
        "SHA256SUMS",
        format!("{wrong}  svc-1.1.0.zip\n").into_bytes(),
    );
    let tree = github_tree();
    vars_with_github(&tree, &github, &[]).fails_with(&["but the release's checksum says", &wrong]);
    assert_eq!(
        cached_files(&tree),
        Vec::<std::path::PathBuf>::new(),
        "a mismatching file was cached"
    );
}

#[test]
fn matching_release_checksums_pass() {
    let github = FakeGithub::start();
    let bytes = zip_bytes("checked package");
    github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", bytes.clone());
    let hex = sha256_hex(&bytes);
    github.add_asset(
        "acme/svc",
        "svc-v1.1.0",
        "svc-1.1.0.zip.sha256",
        format!("{hex}\n").into_bytes(),
    );
    let tree = github_tree();
    let run = vars_against(&tree, &github, Some(TOKEN), &[]);
    run.success();
    assert_eq!(
        run.json()["source_code_hashes"]["staging"],
        openssl_hash_of(&tree, &bytes)
    );
    // The checksum file was read, and the download counted as verified.
    assert!(
        github
            .requests()
            .iter()
            .any(|(server, path, _)| server == "api" && path.ends_with("/releases/assets/2")),
        "the checksum asset was never fetched: {:?}",
        github.requests()
    );
    assert!(!run.stderr.contains("not verified"), "{}", run.stderr);
}

#[test]
fn packages_over_the_size_limit_and_non_zips_are_refused() {
    let github = FakeGithub::start();
    github.add_asset(
        "acme/svc",
        "svc-v1.1.0",
        "svc-1.1.0.zip",
        zip_bytes(&"x".repeat(5000)),
    );
    let tree = github_tree();
    vars_with_github(&tree, &github, &["--max-package-size", "1000"])
        .fails_with(&["larger than the limit of 1000 bytes"]);

    let other = FakeGithub::start();
    other.add_asset(
        "acme/svc",
        "svc-v1.1.0",
        "svc-1.1.0.zip",
        b"<html>not a zip</html>".to_vec(),
    );
    vars_with_github(&tree, &other, &[]).fails_with(&["is not a zip file"]);
}

#[test]
fn url_sources_revalidate_with_etags() {
    let github = FakeGithub::start();
    let id = github.add_asset("acme/svc", "any", "svc.zip", zip_bytes("by url"));
    let tree = Tree::new();
    tree.service(
        "svc",
        &format!(
            "    url: \"{}/blob/{id}?v={{version}}\"\n",
            github.storage_url()
        ),
    );
    tree.env("staging", "svc", "1.1.0", "svc-staging", "staging/");
    let first = tree.run(&["vars"]).success().json();
    let second = tree.run(&["vars"]).success().json();
    assert_eq!(
        first["source_code_hashes"]["staging"],
        openssl_hash_of(&tree, &zip_bytes("by url"))
    );
    assert_eq!(first, second);
    // The second run asked with If-None-Match and got 304: one body served in all.
    assert_eq!(github.downloads(), 2);
    assert_eq!(github.bodies_served(), 1);
}

/// The token holders a request went to: (server, path) of every request that carried it.
fn token_recipients(github: &FakeGithub) -> Vec<(String, String)> {
    github
        .requests()
        .into_iter()
        .filter(|(_, _, authorization)| authorization.is_some())
        .map(|(server, path, _)| (server, path))
        .collect()
}

#[test]
fn storage_redirecting_to_itself_never_sees_the_token() {
    let github = FakeGithub::start();
    let bytes = zip_bytes("behind two redirects");
    let id = github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", bytes.clone());
    github.behave(id, &[Behaviour::RedirectToSelf]);
    let tree = github_tree();
    let run = vars_with_github(&tree, &github, &[]);
    run.success();
    assert_eq!(
        run.json()["source_code_hashes"]["staging"],
        openssl_hash_of(&tree, &bytes)
    );
    assert_eq!(github.downloads(), 2, "{:?}", github.requests());
    for (server, path) in token_recipients(&github) {
        assert_eq!(server, "api", "the token reached {server} {path}");
    }
}

#[test]
fn a_redirect_to_a_non_http_url_is_refused() {
    let github = FakeGithub::start();
    let id = github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", zip_bytes("x"));
    github.behave(id, &[Behaviour::RedirectTo("file:///etc/passwd".into())]);
    let tree = github_tree();
    vars_with_github(&tree, &github, &[])
        .fails_with(&["redirected to `file:///etc/passwd`, which is not an http(s) URL"]);
    assert_eq!(cached_files(&tree), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_redirect_loop_ends_after_five_hops() {
    let github = FakeGithub::start();
    let id = github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", zip_bytes("x"));
    github.behave(id, &vec![Behaviour::RedirectToSelf; 20]);
    let tree = github_tree();
    vars_with_github(&tree, &github, &[]).fails_with(&["redirected more than 5 times"]);
    assert_eq!(github.downloads(), 5);
}

/// Issue 23 §2: GitHub answers a renamed repository's old name with a 301 to
/// `/repositories/{id}/…` on the API itself; for a private repository that request needs the
/// token, which stays on the API origin (and still never reaches storage).
#[test]
fn a_renamed_private_repository_is_followed_with_the_token() {
    let github = FakeGithub::start();
    let bytes = zip_bytes("renamed repository");
    github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", bytes.clone());
    github.make_private("acme/svc", TOKEN);
    github.rename("acme/svc");
    let tree = github_tree();
    let run = vars_with_github(&tree, &github, &[]);
    run.success();
    assert_eq!(
        run.json()["source_code_hashes"]["staging"],
        openssl_hash_of(&tree, &bytes)
    );
    let moved: Vec<_> = github
        .requests()
        .into_iter()
        .filter(|(_, path, _)| path.starts_with("/repositories/"))
        .collect();
    assert_eq!(moved.len(), 1, "{:?}", github.requests());
    assert_eq!(
        moved[0].2.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the same-origin redirect lost the token"
    );
    for (server, path) in token_recipients(&github) {
        assert_eq!(server, "api", "the token reached {server} {path}");
    }
}

/// Without the token the moved route answers 404, as GitHub does for a private repository:
/// the fake cannot pass where GitHub would fail.
#[test]
fn a_renamed_private_repository_without_the_token_is_not_found() {
    let github = FakeGithub::start();
    github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", zip_bytes("x"));
    github.make_private("acme/svc", "ghp_someone_elses_token");
    github.rename("acme/svc");
    let tree = github_tree();
    vars_with_github(&tree, &github, &[]).fails_with(&[
        "GitHub release `svc-v1.1.0` of `acme/svc`: not found",
        "the repository is private and the token may be missing access to it",
    ]);
}

/// The token goes to the API origin only: a storage host (another origin, here another port
/// on the same address) that redirects back to the API never makes the client send it again.
#[test]
fn a_token_never_follows_a_redirect_to_another_origin() {
    let github = FakeGithub::start();
    let bytes = zip_bytes("bounced");
    let id = github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", bytes.clone());
    let back_to_the_api = format!("{}/repos/acme/svc/releases/assets/{id}", github.api_url);
    github.behave(id, &[Behaviour::RedirectTo(back_to_the_api)]);
    let tree = github_tree();
    let run = vars_with_github(&tree, &github, &[]);
    run.success();
    let asset_path = format!("/repos/acme/svc/releases/assets/{id}");
    let asks: Vec<Option<String>> = github
        .requests()
        .into_iter()
        .filter(|(server, path, _)| server == "api" && *path == asset_path)
        .map(|(_, _, authorization)| authorization)
        .collect();
    assert_eq!(
        asks,
        [Some(format!("Bearer {TOKEN}")), None],
        "back on the API after storage, the token must stay home"
    );
    for (server, path) in token_recipients(&github) {
        assert_eq!(server, "api", "the token reached {server} {path}");
    }
    assert_eq!(
        run.json()["source_code_hashes"]["staging"],
        openssl_hash_of(&tree, &bytes)
    );
}

/// Issue 23 §1: a secondary rate limit is a 403 without `retry-after`; GitHub asks for a
/// wait of at least a minute (a second here), then a retry — not a "bad token" error.
#[test]
fn a_secondary_rate_limit_403_without_retry_after_is_retried_not_called_unauthorized() {
    let github = FakeGithub::start();
    let bytes = zip_bytes("after the limit");
    github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", bytes.clone());
    github.api_behave(&[ApiBehaviour::Limited {
        status: 403,
        retry_after: None,
        reset: None,
    }]);
    let tree = github_tree();
    let started = std::time::Instant::now();
    let mut command = tree.command(&["vars", "--github-api-url", &github.api_url]);
    let run = common::Run::from(
        command
            .env("GITHUB_TOKEN", TOKEN)
            .env("LAMBDA_GITOPS_GITHUB_MIN_WAIT", "1")
            .output()
            .unwrap(),
    );
    run.success();
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(
        run.json()["source_code_hashes"]["staging"],
        openssl_hash_of(&tree, &bytes)
    );
    assert_eq!(
        github.api_requests_to("/repos/acme/svc/releases/tags/"),
        [
            "/repos/acme/svc/releases/tags/svc-v1.1.0",
            "/repos/acme/svc/releases/tags/svc-v1.1.0"
        ]
    );
    assert!(
        run.stderr.contains("GitHub's secondary rate limit (`")
            && run
                .stderr
                .contains("answered HTTP 403 Forbidden): waiting 1s (GitHub named no time"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("GITHUB_TOKEN"), "{}", run.stderr);
}

/// A `retry-after` longer than the run may wait is not slept through: the run fails at once,
/// saying what GitHub asked for and how long the run may wait.
#[test]
fn a_retry_after_past_the_runs_deadline_fails_at_once_and_says_why() {
    let github = FakeGithub::start();
    github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", zip_bytes("x"));
    github.api_behave(&[ApiBehaviour::Limited {
        status: 429,
        retry_after: Some(3600),
        reset: None,
    }]);
    let tree = github_tree();
    let started = std::time::Instant::now();
    vars_against(&tree, &github, Some(TOKEN), &[]).fails_with(&[
        "GitHub's secondary rate limit (`",
        "answered HTTP 429 Too Many Requests): waiting 1h 0m (as its `retry-after` asks) would pass the run's deadline for GitHub's rate limits (",
        " left of 10m)",
        "hint: GitHub limits how fast and how many requests at once one token makes",
        "`LAMBDA_GITOPS_GITHUB_MAX_WAIT`",
    ]);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(github.api_requests(), 1);
}

/// Issue 23 §4: GitHub's `digest` of the asset is checked; a mismatch is refused, names both
/// digests, and leaves nothing in the cache.
#[test]
fn an_asset_whose_digest_differs_is_refused_and_nothing_is_cached() {
    let github = FakeGithub::start();
    let bytes = zip_bytes("tampered in storage");
    let id = github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", bytes.clone());
    let claimed = "1".repeat(64);
    github.set_digest(id, &format!("sha256:{claimed}"));
    let tree = github_tree();
    vars_with_github(&tree, &github, &[]).fails_with(&[
        &format!("has SHA-256 {}", sha256_hex(&bytes)),
        &format!("but the release's checksum says {claimed}"),
    ]);
    assert_eq!(cached_files(&tree), Vec::<std::path::PathBuf>::new());
}

/// With GitHub's digest and no checksum file, the package is verified (no warning).
#[test]
fn an_asset_whose_digest_matches_needs_no_checksum_file() {
    let github = FakeGithub::start();
    let bytes = zip_bytes("digested");
    let id = github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", bytes.clone());
    github.set_digest(id, &format!("sha256:{}", sha256_hex(&bytes)));
    let tree = github_tree();
    let run = vars_against(&tree, &github, Some(TOKEN), &[]);
    run.success();
    assert!(!run.stderr.contains("not verified"), "{}", run.stderr);
    assert_eq!(
        run.json()["source_code_hashes"]["staging"],
        openssl_hash_of(&tree, &bytes)
    );
}

/// GitHub's digest and the release's `SHA256SUMS` disagree: neither is trusted, nothing is
/// downloaded.
#[test]
fn a_digest_that_disagrees_with_the_checksum_file_is_refused_before_downloading() {
    let github = FakeGithub::start();
    let bytes = zip_bytes("which one is right?");
    let id = github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", bytes.clone());
    github.set_digest(id, &format!("sha256:{}", sha256_hex(&bytes)));
    let other = "2".repeat(64);
    github.add_asset(
        "acme/svc",
        "svc-v1.1.0",
        "SHA256SUMS",
        format!("{other}  svc-1.1.0.zip\n").into_bytes(),
    );
    let tree = github_tree();
    vars_with_github(&tree, &github, &[]).fails_with(&[&format!(
        "GitHub's digest of `svc-1.1.0.zip` is `sha256:{}`, but the release's checksum says {other} (in `SHA256SUMS`)",
        sha256_hex(&bytes)
    )]);
    let blob = format!("/blob/{id}?");
    assert!(
        !github
            .requests()
            .iter()
            .any(|(server, path, _)| server == "storage" && path.starts_with(&blob)),
        "the package was downloaded: {:?}",
        github.requests()
    );
    assert_eq!(cached_files(&tree), Vec::<std::path::PathBuf>::new());
}

/// Issue 23 §4: an asset GitHub is still receiving (`state: open`) is refused.
#[test]
fn an_asset_still_uploading_is_refused() {
    let github = FakeGithub::start();
    let id = github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", zip_bytes("half"));
    github.set_state(id, "open");
    let tree = github_tree();
    vars_with_github(&tree, &github, &[]).fails_with(&[
        "GitHub release `svc-v1.1.0` of `acme/svc`: the release is still uploading `svc-1.1.0.zip` (its state is `open`)",
        "hint: wait for the release's upload to finish",
    ]);
    assert_eq!(github.downloads(), 0);
    assert_eq!(cached_files(&tree), Vec::<std::path::PathBuf>::new());
}

/// Issue 23 §5: GitHub hides a private repository behind a 404; the error says the token may
/// lack access and which permission reading a release needs.
#[test]
fn a_404_on_a_private_repository_says_access_may_be_missing() {
    let github = FakeGithub::start();
    github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", zip_bytes("x"));
    github.make_private("acme/svc", "ghp_a_token_with_access");
    let tree = github_tree();
    let run = vars_with_github(&tree, &github, &[]);
    run.fails_with(&[
        "GitHub release `svc-v1.1.0` of `acme/svc`: not found",
        "the repository is private and the token may be missing access to it (to read the release it needs `contents: read`)",
    ]);
    assert!(!run.stderr.contains(TOKEN));
    vars_against(&tree, &github, None, &[]).fails_with(&[
        "the repository is private and needs a token (`GITHUB_TOKEN`) (to read the release it needs `contents: read`)",
    ]);
}

/// Issue 23 §5: a 410 is GitHub no longer serving the API version; said so, not retried.
#[test]
fn a_410_says_the_api_version_is_gone() {
    let github = FakeGithub::start();
    github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", zip_bytes("x"));
    github.api_behave(&[ApiBehaviour::Gone]);
    let tree = github_tree();
    vars_with_github(&tree, &github, &[]).fails_with(&[
        "could not read the release: `",
        "answered HTTP 410 Gone: API version 2022-11-28 is no longer supported",
        "GitHub no longer serves what was asked for — the REST API version `2022-11-28` this build speaks",
        "hint: if GitHub retired the API version, upgrade lambda-gitops",
    ]);
    assert_eq!(github.api_requests(), 1);
}

#[test]
fn an_http_api_url_off_loopback_is_refused_before_any_request() {
    let tree = github_tree();
    let run = common::Run::from(
        tree.command(&["vars", "--github-api-url", "http://ghe.example.com/api/v3"])
            .env("GITHUB_TOKEN", TOKEN)
            .output()
            .unwrap(),
    );
    run.fails_with(&[
        "`http://ghe.example.com/api/v3` is plain http to a host off this machine",
        "`--allow-insecure-api`",
    ]);
    assert!(!run.stderr.contains(TOKEN));
}

#[test]
fn a_rate_limited_api_says_so_with_the_reset_time_and_asks_for_a_token() {
    let github = FakeGithub::start();
    github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", zip_bytes("x"));
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    github.api_behave(&[ApiBehaviour::RateLimited { reset }]);
    let tree = github_tree();
    vars_against(&tree, &github, None, &[]).fails_with(&[
        "GitHub API rate limit exceeded (it resets at ",
        " UTC, in 10 min)",
        "hint: set `GITHUB_TOKEN`",
    ]);
    // A primary rate limit is not hammered with retries.
    assert_eq!(github.api_requests(), 1);
}

#[test]
fn bad_credentials_say_which_token_to_check_and_never_show_it() {
    let github = FakeGithub::start();
    github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", zip_bytes("x"));
    github.api_behave(&[ApiBehaviour::Unauthorized]);
    let tree = github_tree();
    let mut command = tree.command(&["vars", "--github-api-url", &github.api_url]);
    let run = common::Run::from(
        command
            .env("GITHUB_TOKEN", TOKEN)
            .env("LAMBDA_GITOPS_LOG", "trace")
            .output()
            .unwrap(),
    );
    run.fails_with(&["answered HTTP 401", "check that `GITHUB_TOKEN`"]);
    assert!(!run.stderr.contains(TOKEN), "{}", run.stderr);
}

#[test]
fn a_truncated_close_delimited_body_is_never_cached() {
    let github = FakeGithub::start();
    let bytes = zip_bytes(&"close-delimited ".repeat(500));
    let id = github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", bytes.clone());
    // More cut-offs than retries; each one looks like a complete (short) response.
    github.behave(id, &vec![Behaviour::CutCloseDelimited; 5]);
    let tree = github_tree();
    vars_with_github(&tree, &github, &[])
        .fails_with(&["is not a zip file", "cut short or corrupt"]);
    assert_eq!(github.downloads(), 5, "cut-offs are retried within bounds");
    assert_eq!(cached_files(&tree), Vec::<std::path::PathBuf>::new());

    // One more cut-off, then the whole body: the run retries and caches the right file.
    github.behave(id, &[Behaviour::CutCloseDelimited]);
    let vars = vars_with_github(&tree, &github, &[]).success().json();
    assert_eq!(
        vars["source_code_hashes"]["staging"],
        openssl_hash_of(&tree, &bytes)
    );
}

#[test]
fn a_corrupt_zip_with_valid_first_bytes_is_refused_and_not_cached() {
    let github = FakeGithub::start();
    let mut corrupt = zip_bytes("looks fine at the start");
    let end = corrupt.len();
    corrupt.truncate(end - 22); // without its end-of-central-directory record
    corrupt.extend_from_slice(&[0u8; 22]);
    assert_eq!(&corrupt[..4], b"PK\x03\x04");
    github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", corrupt);
    let tree = github_tree();
    vars_with_github(&tree, &github, &[]).fails_with(&["is not a zip file", "central directory"]);
    assert_eq!(
        github.downloads(),
        1,
        "a complete but corrupt body is not retried"
    );
    assert_eq!(cached_files(&tree), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_path_package_that_is_not_a_whole_zip_is_refused() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    let mut cut = zip_bytes(&"payload ".repeat(100));
    cut.truncate(cut.len() / 2);
    std::fs::write(tree.gitops().join("packages/svc-1.1.0.zip"), cut).unwrap();
    tree.run(&["vars"]).fails_with(&[
        "packages/svc-1.1.0.zip` is not a zip file",
        "central directory",
    ]);
}

#[test]
fn two_api_origins_do_not_share_a_cache_entry() {
    let public = FakeGithub::start();
    let enterprise = FakeGithub::start();
    let public_bytes = zip_bytes("built on github.com");
    let enterprise_bytes = zip_bytes("built on the enterprise host");
    public.add_asset(
        "acme/svc",
        "svc-v1.1.0",
        "svc-1.1.0.zip",
        public_bytes.clone(),
    );
    enterprise.add_asset(
        "acme/svc",
        "svc-v1.1.0",
        "svc-1.1.0.zip",
        enterprise_bytes.clone(),
    );
    let tree = github_tree();
    let first = vars_with_github(&tree, &public, &[]).success().json();
    let second = vars_with_github(&tree, &enterprise, &[]).success().json();
    assert_eq!(
        first["source_code_hashes"]["staging"],
        openssl_hash_of(&tree, &public_bytes)
    );
    assert_eq!(
        second["source_code_hashes"]["staging"],
        openssl_hash_of(&tree, &enterprise_bytes)
    );
    assert_eq!(enterprise.downloads(), 1);
}

#[test]
fn a_slow_loris_download_fails_clearly_and_is_retried_within_bounds() {
    let github = FakeGithub::start();
    let id = github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", zip_bytes("slow"));
    github.behave(id, &vec![Behaviour::Stall; 10]);
    let tree = github_tree();
    vars_with_github(&tree, &github, &["--download-stall-timeout", "1s"])
        .fails_with(&["sent nothing for 1s", "raise `--download-stall-timeout`"]);
    assert_eq!(github.downloads(), 5, "one attempt and four retries");
    assert_eq!(cached_files(&tree), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_download_that_outlasts_the_deadline_fails() {
    let github = FakeGithub::start();
    let id = github.add_asset(
        "acme/svc",
        "svc-v1.1.0",
        "svc-1.1.0.zip",
        zip_bytes(&"never ending ".repeat(100)),
    );
    // One byte every 100 ms: never stalls, would take two minutes.
    github.behave(id, &[Behaviour::Dribble]);
    let tree = github_tree();
    vars_with_github(&tree, &github, &["--download-timeout", "2s"])
        .fails_with(&["did not finish within 2s", "raise `--download-timeout`"]);
    assert_eq!(github.downloads(), 1);
    assert_eq!(cached_files(&tree), Vec::<std::path::PathBuf>::new());
}

#[test]
fn an_unverified_release_is_warned_about_at_the_default_level() {
    let github = FakeGithub::start();
    github.add_asset(
        "acme/svc",
        "svc-v1.1.0",
        "svc-1.1.0.zip",
        zip_bytes("no checksums published"),
    );
    let tree = github_tree();
    let run = vars_against(&tree, &github, Some(TOKEN), &[]);
    run.success();
    assert!(
        run.stderr
            .contains("acme/svc@svc-v1.1.0/svc-1.1.0.zip: the release has no `SHA256SUMS` or `svc-1.1.0.zip.sha256`; the package is not verified"),
        "{}",
        run.stderr
    );
}

#[test]
fn temp_files_a_killed_run_left_in_the_cache_are_removed() {
    let github = FakeGithub::start();
    github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", zip_bytes("x"));
    let tree = github_tree();
    let dir = tree.cache().join("github");
    std::fs::create_dir_all(&dir).unwrap();
    let stale = dir.join(".partial-AbC123");
    std::fs::write(&stale, b"PK\x03\x04half of a package").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
    vars_with_github(&tree, &github, &[]).success();
    assert!(!stale.exists(), "the killed run's temp file is still there");
}

#[test]
fn a_package_size_limit_of_zero_or_beyond_reason_is_refused() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    for (size, message) in [("0", "refuses every package"), ("20GiB", "more than 10GiB")] {
        tree.run(&["vars", "--max-package-size", size])
            .fails_with(&["invalid value", message]);
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            }
            out.push(path);
        }
    }
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn each_download_is_labelled_with_its_service_version_and_deployments() {
    let github = FakeGithub::start();
    for version in ["1.0.0", "1.1.0"] {
        github.add_asset(
            "acme/svc",
            &format!("svc-v{version}"),
            &format!("svc-{version}.zip"),
            zip_bytes(&format!("release {version}")),
        );
    }
    let tree = github_tree();
    tree.env("production", "svc", "1.0.0", "svc-prod", "Projects/");
    tree.preview("pr-7", "svc", "1.1.0");

    let run = vars_against(&tree, &github, Some(TOKEN), &[]);
    run.success();
    // One download per package; each says whose it is before where it comes from.
    for line in [
        "svc 1.1.0 (staging, pr-7): acme/svc@svc-v1.1.0/svc-1.1.0.zip: downloaded",
        "svc 1.0.0 (production): acme/svc@svc-v1.0.0/svc-1.0.0.zip: downloaded",
    ] {
        assert!(run.stderr.contains(line), "{line}\n{}", run.stderr);
    }
    assert_eq!(github.downloads(), 2);
}
