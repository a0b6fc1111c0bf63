//! `vars`: staging packages (repository paths, GitHub releases, URLs) and the variables
//! the module receives.

mod common;

use common::github::{Behaviour, FakeGithub};
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
    for pr in ["7", "42", "1001"] {
        let file = tree.gitops().join(format!("packages/svc-1.1.0-pr{pr}.zip"));
        assert_eq!(
            vars["preview_source_code_hashes"][pr],
            openssl_base64_sha256(&file),
            "pr {pr}"
        );
        assert_eq!(vars["preview_versions"][pr], format!("1.1.0-pr{pr}"));
        assert_eq!(vars["preview_commit_shas"][pr], "1234567abc");
        assert_eq!(
            vars["preview_function_names"][pr],
            format!("svc-prod-pr-{pr}")
        );
        assert_eq!(
            vars["preview_trigger_prefixes"][pr],
            format!("preview/pr-{pr}/")
        );
    }
    let staging = tree.gitops().join("packages/svc-1.1.0.zip");
    assert_eq!(
        vars["staging_source_code_hash"],
        openssl_base64_sha256(&staging)
    );
    assert_eq!(vars["staging_version"], "1.1.0");
    assert_eq!(vars["staging_commit_sha"], "abcdef1234567");
    assert_eq!(
        vars["production_source_code_hash"],
        openssl_base64_sha256(&tree.gitops().join("packages/svc-1.0.0.zip"))
    );

    // The file written to the work dir is what was printed, and its packages are in place.
    let written =
        std::fs::read_to_string(tree.work().join("svc/lambda-gitops.tfvars.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&written).unwrap(),
        vars
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
fn undeclared_environments_are_empty_strings() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.remove("environments/production");
    let vars = tree.run(&["vars"]).success().json();
    assert_eq!(vars["production_version"], "");
    assert_eq!(vars["production_commit_sha"], "");
    assert_eq!(vars["production_source_code_hash"], "");
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

fn github_tree(github: &FakeGithub) -> Tree {
    let tree = Tree::new();
    tree.service(
        "svc",
        "    githubRelease: {repository: acme/svc, tag: \"svc-v{version}\", asset: \"svc-{version}.zip\"}\n",
    );
    tree.env("staging", "svc", "1.1.0", "svc-staging", "staging/");
    tree.env("production", "svc", "1.1.0", "svc-prod", "Projects/");
    let _ = github;
    tree
}

fn vars_with_github(tree: &Tree, github: &FakeGithub, extra: &[&str]) -> common::Run {
    let mut args = vec!["vars", "--github-api-url", &github.api_url, "-vv"];
    args.extend_from_slice(extra);
    common::Run::from(
        tree.command(&args)
            .env("GITHUB_TOKEN", TOKEN)
            .output()
            .unwrap(),
    )
}

#[test]
fn github_assets_are_downloaded_once_and_the_token_stays_on_the_api_host() {
    let github = FakeGithub::start();
    let bytes = zip_bytes("release 1.1.0");
    github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", bytes.clone());
    let tree = github_tree(&github);

    let run = vars_with_github(&tree, &github, &[]);
    run.success();
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "the token leaked into the output"
    );
    let vars = run.json();
    let expected = {
        let file = tree.temp.path().join("asset.zip");
        std::fs::write(&file, &bytes).unwrap();
        openssl_base64_sha256(&file)
    };
    // Staging and production share the version: one download serves both.
    assert_eq!(vars["staging_source_code_hash"], expected);
    assert_eq!(vars["production_source_code_hash"], expected);
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
    let tree = github_tree(&github);
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
    let tree = github_tree(&github);
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
    let tree = github_tree(&github);
    let run = vars_with_github(&tree, &github, &[]);
    run.success();
    assert_eq!(github.downloads(), 3);
    assert!(run.stderr.contains("retrying"), "{}", run.stderr);
}

#[test]
fn a_cut_off_download_never_leaves_a_file_a_later_run_trusts() {
    let github = FakeGithub::start();
    let bytes = zip_bytes(&"truncated ".repeat(1000));
    let id = github.add_asset("acme/svc", "svc-v1.1.0", "svc-1.1.0.zip", bytes.clone());
    // More cut-offs than retries: the run fails.
    github.behave(id, &vec![Behaviour::Truncate; 5]);
    let tree = github_tree(&github);
    vars_with_github(&tree, &github, &[]).fails_with(&["cut off"]);
    let leftovers: Vec<_> = walk(&tree.cache())
        .into_iter()
        .filter(|p| p.is_file())
        .collect();
    assert!(leftovers.is_empty(), "the cache holds {leftovers:?}");

    // The next run downloads the whole file and gets the right hash.
    let vars = vars_with_github(&tree, &github, &[]).success().json();
    let file = tree.temp.path().join("whole.zip");
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(
        vars["staging_source_code_hash"],
        openssl_base64_sha256(&file)
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
    let tree = github_tree(&github);
    vars_with_github(&tree, &github, &[]).fails_with(&["but the release's checksum says", &wrong]);
    assert!(
        walk(&tree.cache()).iter().all(|p| !p.is_file()),
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
    let tree = github_tree(&github);
    vars_with_github(&tree, &github, &[]).success();
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
    let tree = github_tree(&github);
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
    assert_eq!(first, second);
    // The second run asked with If-None-Match and got 304: one body served in all.
    assert_eq!(github.downloads(), 2);
    assert_eq!(github.bodies_served(), 1);
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
