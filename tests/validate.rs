//! Invalid gitops repos: every problem at once, each naming its file (and line where YAML
//! gives one), exit 1, nothing on stdout and nothing written.

mod common;

use common::Tree;

fn scan(tree: &Tree) -> common::Run {
    tree.run(&["scan"])
}

#[test]
fn the_valid_standard_tree_scans() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    let run = scan(&tree);
    run.success();
    assert!(run.stdout.contains("svc-staging"), "{}", run.stdout);
    assert!(run.stdout.contains("pr-7"), "{}", run.stdout);
}

#[test]
fn a_misspelt_key_is_an_error_with_its_line_and_a_suggestion() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.write(
        "environments/staging/svc/config.yaml",
        "serviceName: svc\nenvName: staging\nlambda:\n  verison: \"1.1.0\"\n  functionName: svc-staging\n  s3TriggerPrefix: staging/\n",
    );
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:4",
        "unknown field `verison`",
        "did you mean `version`?",
    ]);
}

#[test]
fn syntax_errors_wrong_types_and_missing_fields_are_all_reported_at_once() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.write(
        "environments/production/svc/config.yaml",
        "serviceName: svc\nenvName: production\nlambda: [unclosed\n",
    );
    tree.write(
        "environments/staging/svc/config.yaml",
        "serviceName: svc\nenvName: staging\nlambda:\n  version: \"1.1.0\"\n  s3TriggerPrefix: staging/\n",
    );
    tree.service_with(
        "svc",
        "    path: \"packages/svc-{version}.zip\"\n",
        "  memorySize: lots\n",
    );
    let run = scan(&tree);
    run.fails_with(&[
        "environments/production/svc/config.yaml:3",
        "environments/staging/svc/config.yaml",
        "missing field `functionName`",
        "services/svc/config.yaml:10",
        "memorySize",
        "3 problems",
    ]);
}

#[test]
fn names_must_match_their_paths() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.write(
        "environments/staging/svc/config.yaml",
        "serviceName: other\nenvName: production\nlambda:\n  version: \"1.1.0\"\n  functionName: svc-staging\n  s3TriggerPrefix: staging/\n",
    );
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:1: serviceName `other` does not match its directory `svc`",
        "environments/staging/svc/config.yaml:2: envName `production` does not match its directory `staging`",
    ]);
}

#[test]
fn a_malformed_preview_directory_is_an_error_never_skipped() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.preview("pr-12abc", "svc", "1.1.0-pr12");
    scan(&tree).fails_with(&[
        "environments/preview/pr-12abc/services/svc.values.yaml",
        "preview directory `pr-12abc` must be named `pr-<number>`",
        "would be destroyed",
    ]);
}

#[test]
fn versions_function_names_and_shas_are_checked() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.env("staging", "svc", "1.1.0 beta", "svc.staging", "staging/");
    tree.write(
        "environments/preview/pr-3/services/svc.values.yaml",
        "serviceName: svc\nlambda:\n  version: \"1.0.0\"\n  commitSha: \"not-hex\"\n",
    );
    tree.package("packages/svc-1.0.0.zip", "x");
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:4: version `1.1.0 beta`",
        "environments/staging/svc/config.yaml:5: function name `svc.staging`",
        "environments/preview/pr-3/services/svc.values.yaml:4: commit SHA `not-hex`",
    ]);
}

#[test]
fn two_functions_may_not_share_a_name() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.env("staging", "svc", "1.1.0", "svc-prod", "staging/");
    scan(&tree).fails_with(&["function `svc-prod`", "is also used by svc production"]);
}

#[test]
fn a_templated_preview_name_that_is_too_long_is_refused() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    let long = "f".repeat(60);
    tree.service_with(
        "svc",
        "    path: \"packages/svc-{version}.zip\"\n",
        &format!("  preview:\n    functionName: \"{long}-{{pr}}\"\n"),
    );
    tree.preview("pr-123456", "svc", "1.1.0-pr7");
    scan(&tree).fails_with(&[
        "services/svc/config.yaml",
        "for pr-123456",
        "must be 1–64 characters",
    ]);
}

#[test]
fn overlapping_trigger_prefixes_are_refused_with_s3s_reason() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.env(
        "staging",
        "svc",
        "1.1.0",
        "svc-staging",
        "Projects/staging/",
    );
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:6",
        "trigger prefix `Projects/staging/` of staging overlaps `Projects/` of production",
        "ambiguously defined",
    ]);
}

#[test]
fn previews_without_a_production_need_a_function_name_template() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.remove("environments/production");
    scan(&tree).fails_with(&[
        "services/svc/config.yaml:3",
        "`svc` has previews (`pr-7`) but neither `lambda.preview.functionName` nor a production config",
        "set `lambda.preview.functionName`",
    ]);
}

#[test]
fn two_services_may_not_share_a_trigger_bucket() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    tree.standard("b", &[]);
    let shared = "    path: \"packages/b-{version}.zip\"\n";
    tree.write(
        "services/b/config.yaml",
        &format!("serviceName: b\ndeploymentType: lambda\nlambda:\n  runtime: python3.12\n  handler: app.handler\n  triggerBucket: a-uploads\n  packageBucket: b-packages\n  package:\n{shared}"),
    );
    scan(&tree).fails_with(&[
        "services/a/config.yaml:6",
        "services/b/config.yaml:6",
        "trigger bucket `a-uploads` is shared by services `a`, `b`",
        "one notification configuration per bucket",
    ]);
}

#[test]
fn a_path_source_may_not_leave_the_package_root() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    let outside = tree.temp.path().join("secret.zip");
    std::fs::write(&outside, common::zip_bytes("secret")).unwrap();
    // A symlink inside the repo that points outside it.
    std::os::unix::fs::symlink(&outside, tree.gitops().join("packages/svc-9.9.9.zip")).unwrap();
    tree.env("staging", "svc", "9.9.9", "svc-staging", "staging/");
    scan(&tree).fails_with(&["services/svc/config.yaml", "outside the package root"]);

    // `..` in the template is refused the same way.
    tree.env("staging", "svc", "1.1.0", "svc-staging", "staging/");
    tree.service("svc", "    path: \"../../secret.zip\"\n");
    scan(&tree).fails_with(&["outside the package root"]);
}

#[test]
fn a_missing_package_file_names_the_file_that_chose_the_version() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.env("staging", "svc", "2.0.0", "svc-staging", "staging/");
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:4",
        "svc-2.0.0.zip",
        "cannot be read",
    ]);
}

#[test]
fn kubernetes_services_and_their_files_are_ignored() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.write(
        "services/api/config.yaml",
        "serviceName: api\ndeploymentType: kubernetes\nchartPath: charts/api\nimage: {tag: x}\n",
    );
    tree.write(
        "environments/staging/api/config.yaml",
        "serviceName: api\nenvName: staging\nreplicas: 2\n",
    );
    tree.write(
        "environments/preview/pr-7/services/api.values.yaml",
        "image:\n  tag: pr-7\n",
    );
    tree.write(
        "environments/preview/feature-x/services/api.values.yaml",
        "image:\n  tag: x\n",
    );
    // Even a broken file of a Kubernetes service is not lambda-gitops's to judge.
    tree.write(
        "environments/production/api/config.yaml",
        "image: [unclosed\n",
    );
    let run = tree.run(&["scan", "--format", "json"]);
    run.success();
    let json = run.json();
    let services = json["services"].as_array().unwrap();
    assert_eq!(services.len(), 1);
    assert_eq!(services[0]["name"], "svc");
    assert_eq!(services[0]["previews"][0]["pr"], 7);
}

#[test]
fn a_lambda_config_for_an_unknown_service_is_an_error() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.env("staging", "scv", "1.1.0", "scv-staging", "x/");
    scan(&tree).fails_with(&[
        "environments/staging/scv/config.yaml:3",
        "not a Lambda service",
        "did you mean the directory `svc`?",
    ]);
}

#[test]
fn an_invalid_repo_writes_nothing() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.preview("pr-x", "svc", "1.0.0");
    tree.run(&["vars"]).fails_with(&["pr-x"]);
    assert!(!tree.work().exists(), "the work dir must not be created");
    assert!(!tree.cache().exists(), "the cache must not be touched");
}

#[test]
fn broken_yaml_of_an_unknown_service_is_reported_as_it_may_hide_a_lambda() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.write(
        "environments/staging/mystery/config.yaml",
        "lambda: [unclosed\n",
    );
    scan(&tree).fails_with(&["environments/staging/mystery/config.yaml:"]);
}
