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
        "environments/production/svc/config.yaml:3: YAML syntax error",
        "environments/staging/svc/config.yaml:4: lambda: missing field `functionName`",
        "services/svc/config.yaml:10: lambda.memorySize: invalid type: string \"lots\", expected u32",
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
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:5: function `svc-prod` (svc staging) is also used by svc production",
    ]);
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
    scan(&tree).fails_with(&[
        "environments/staging/mystery/config.yaml:1: YAML syntax error",
        "no readable `services/mystery/config.yaml` says what `mystery` is",
    ]);
}

// --- Previews and environment configs are never skipped (issue 7 §3, §5) ---

#[test]
fn a_preview_of_an_unknown_service_that_does_not_parse_is_an_error() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    // The service was renamed; its old preview file is broken.
    tree.write(
        "environments/preview/pr-8/services/old-svc.values.yaml",
        "serviceName: old-svc\nlambda: {version: [unclosed\n",
    );
    scan(&tree).fails_with(&[
        "environments/preview/pr-8/services/old-svc.values.yaml:2: YAML syntax error",
        "no readable `services/old-svc/config.yaml` says what `old-svc` is",
    ]);
}

#[test]
fn a_lambda_preview_of_an_unknown_service_is_an_error_even_without_deployment_type() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.write(
        "environments/preview/pr-8/services/scv.values.yaml",
        "serviceName: svc\nlambda:\n  version: \"1.1.0\"\n",
    );
    scan(&tree).fails_with(&[
        "environments/preview/pr-8/services/scv.values.yaml:2: a preview of `scv`, which is not a Lambda service",
        "did you mean the directory `svc`?",
    ]);
}

#[test]
fn a_preview_nobody_can_tell_apart_from_a_lambda_one_is_an_error() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.write(
        "environments/preview/pr-8/services/mystery.values.yaml",
        "image:\n  tag: pr-8\n",
    );
    scan(&tree).fails_with(&[
        "environments/preview/pr-8/services/mystery.values.yaml: cannot tell whether this is a Lambda file",
        "declare `deploymentType`",
    ]);

    // Declaring what it is settles it, even when the strict reading refuses the file.
    tree.write(
        "environments/preview/pr-8/services/mystery.values.yaml",
        "deploymentType: kubernetes\nimage: {tag: pr-8}\nimage: {tag: pr-9}\n",
    );
    scan(&tree).success();
}

#[test]
fn previews_of_a_service_whose_config_has_a_syntax_error_are_still_checked() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.write(
        "services/svc/config.yaml",
        "serviceName: svc\ndeploymentType: lambda\nlambda: [unclosed\n",
    );
    tree.write(
        "environments/preview/pr-7/services/svc.values.yaml",
        "serviceName: svc\ndeploymentType: lambda\nlambda:\n  verison: \"1.1.0\"\n",
    );
    let run = scan(&tree);
    run.fails_with(&[
        "services/svc/config.yaml:3: YAML syntax error",
        "environments/preview/pr-7/services/svc.values.yaml:4: lambda: unknown field `verison`",
        "2 problems",
    ]);
    assert!(
        !run.stderr.contains("not a Lambda service"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_invalid_production_config_gives_its_own_error_only() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.write(
        "environments/production/svc/config.yaml",
        "serviceName: svc\nenvName: production\nlambda:\n  version: \"1.0.0\"\n  functionName: [svc-prod\n",
    );
    let run = scan(&tree);
    run.fails_with(&[
        "environments/production/svc/config.yaml:5: YAML syntax error",
        "1 problem",
    ]);
    assert!(!run.stderr.contains("to name them after"), "{}", run.stderr);

    // A valid production config whose package is missing still names the previews.
    tree.env("production", "svc", "9.9.9", "svc-prod", "Projects/");
    let run = scan(&tree);
    run.fails_with(&[
        "environments/production/svc/config.yaml:4",
        "cannot be read",
        "1 problem",
    ]);
    assert!(!run.stderr.contains("to name them after"), "{}", run.stderr);
}

#[test]
fn a_new_service_may_preview_before_production_when_its_template_names_them() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.remove("environments/production");
    tree.service_with(
        "svc",
        "    path: \"packages/svc-{version}.zip\"\n",
        "  preview:\n    functionName: \"svc-pr-{pr}\"\n",
    );
    let run = tree.run(&["scan", "--format", "json"]);
    run.success();
    assert_eq!(
        run.json()["services"][0]["previews"][0]["function_name"],
        "svc-pr-7"
    );
}

#[test]
fn an_environment_config_of_an_unknown_service_without_a_lambda_key_cannot_be_told_apart() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.write(
        "environments/staging/mystery/config.yaml",
        "serviceName: mystery\nenvName: staging\nreplicas: 2\n",
    );
    scan(&tree).fails_with(&[
        "environments/staging/mystery/config.yaml: cannot tell whether this is a Lambda file",
    ]);
}

// --- Files and what errors may quote (issue 7 §4) ---

#[test]
fn a_config_symlinked_outside_the_repo_is_refused_without_reading_it() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    let outside = tree.temp.path().join("runner-secret.yaml");
    std::fs::write(&outside, "deploymentType: lambda\nlambda: hunter2-token\n").unwrap();
    tree.remove("services/svc/config.yaml");
    std::os::unix::fs::symlink(&outside, tree.gitops().join("services/svc/config.yaml")).unwrap();
    let run = scan(&tree);
    run.fails_with(&[
        "services/svc/config.yaml: resolves outside the gitops dir (through a symlink); refused without reading it",
    ]);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);

    // A directory of the layout that leads outside is refused the same way, at the link.
    let elsewhere = tree.temp.path().join("elsewhere");
    std::fs::create_dir_all(elsewhere.join("svc")).unwrap();
    std::fs::write(elsewhere.join("svc/config.yaml"), "lambda: hunter2-token\n").unwrap();
    tree.remove("services/svc/config.yaml");
    tree.path_service("svc");
    tree.remove("environments/staging");
    std::os::unix::fs::symlink(&elsewhere, tree.gitops().join("environments/staging")).unwrap();
    let run = scan(&tree);
    run.fails_with(&["environments/staging: resolves outside the gitops dir"]);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
}

#[test]
fn file_contents_in_errors_are_one_line_of_at_most_200_characters() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    let long = "x".repeat(5000);
    tree.service_with(
        "svc",
        "    path: \"packages/svc-{version}.zip\"\n",
        &format!("  memorySize: \"{long}\\nsecond line\"\n"),
    );
    let run = scan(&tree);
    run.fails_with(&["services/svc/config.yaml:10: lambda.memorySize: invalid type: string \"xxx"]);
    assert!(!run.stderr.contains(&"x".repeat(201)), "{}", run.stderr);
    assert!(!run.stderr.contains("second line"), "{}", run.stderr);
}

#[test]
fn a_release_tag_that_would_leave_its_api_endpoint_is_refused_before_any_request() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.service(
        "svc",
        "    githubRelease: {repository: o/r, tag: \"../../../user/repos?x={version}\", asset: \"a.zip\"}\n",
    );
    scan(&tree).fails_with(&[
        "services/svc/config.yaml:9: tag `../../../user/repos?x=0` must be one URL path segment",
    ]);

    // A harmless template, steered by the version a pull request chooses.
    tree.service(
        "svc",
        "    githubRelease: {repository: o/r, tag: \"{version}\", asset: \"svc-{version}.zip\"}\n",
    );
    tree.env("staging", "svc", "..", "svc-staging", "staging/");
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:4: with version `..`: tag `..` must be one URL path segment",
    ]);
}

// --- What the function gets is what the file says (issue 8 §1) ---

fn env_block(entries: &str) -> String {
    format!("serviceName: svc\nenvName: staging\nlambda:\n  version: \"1.1.0\"\n  functionName: svc-staging\n  s3TriggerPrefix: staging/\n  environment:\n{entries}")
}

#[test]
fn environment_values_reach_the_function_exactly_as_written() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.write(
        "environments/staging/svc/config.yaml",
        &env_block("    DECIMAL: 1.10\n    HEX: 0x1F\n    BIG: 123456789012345678901234567890\n    INF: .inf\n    BOOL: yes\n    OCTAL: 0o17\n    QUOTED: \"1.10\"\n"),
    );
    let run = tree.run(&["vars"]);
    run.success();
    let environment = &run.json()["deployments"]["staging"]["environment"];
    assert_eq!(
        environment,
        &serde_json::json!({
            "DECIMAL": "1.10", "HEX": "0x1F", "BIG": "123456789012345678901234567890",
            "INF": ".inf", "BOOL": "yes", "OCTAL": "0o17", "QUOTED": "1.10"
        })
    );
}

#[test]
fn null_and_nested_environment_values_are_refused_with_their_line() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.write(
        "environments/staging/svc/config.yaml",
        &env_block("    EMPTY:\n    NESTED: {a: b}\n"),
    );
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:8: lambda.environment.EMPTY: the value is null",
    ]);
    tree.write(
        "environments/staging/svc/config.yaml",
        &env_block("    NESTED: {a: b}\n"),
    );
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:8: lambda.environment.NESTED: invalid type: map, expected text",
    ]);
}

#[test]
fn environment_keys_lambda_reserves_are_refused() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.write(
        "environments/staging/svc/config.yaml",
        &env_block(
            "    AWS_SESSION_TOKEN: x\n    AWS_LAMBDA_RUNTIME_API: y\n    LAMBDA_TASK_ROOT: z\n",
        ),
    );
    scan(&tree).fails_with(&[
        "config.yaml:8: environment variable `AWS_SESSION_TOKEN` is reserved by Lambda",
        "config.yaml:9: environment variable `AWS_LAMBDA_RUNTIME_API` is reserved",
        "config.yaml:10: environment variable `LAMBDA_TASK_ROOT` is reserved",
    ]);
}

#[test]
fn an_environment_over_lambdas_4_kb_is_refused() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    let value = "v".repeat(2100);
    tree.write(
        "environments/staging/svc/config.yaml",
        &env_block(&format!("    A: {value}\n    B: {value}\n")),
    );
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:7: the environment is 4202 bytes (keys and values); Lambda allows 4096",
    ]);
}

#[test]
fn duplicate_keys_are_refused_naming_both_lines() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.write(
        "environments/staging/svc/config.yaml",
        "serviceName: svc\nenvName: staging\nlambda:\n  version: \"1.1.0\"\n  functionName: svc-staging\n  s3TriggerPrefix: staging/\n  version: \"6.6.6\"\n",
    );
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:7: duplicate key `version`: it is also at line 4",
    ]);
    tree.write(
        "environments/staging/svc/config.yaml",
        &env_block("    {A: 1, B: 2, A: 3}\n").replace("  environment:\n    ", "  environment: "),
    );
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:7: duplicate key `A`: it is also at line 7",
    ]);
}

#[test]
fn control_characters_in_strings_that_reach_reports_are_refused() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.env(
        "staging",
        "svc",
        "1.1.0",
        "svc-staging",
        "staging/\\n::warning::all clear",
    );
    tree.write(
        "environments/preview/pr-7/services/svc.values.yaml",
        "serviceName: svc\nlambda:\n  version: \"1.1.0-pr7\"\n  s3Key: \"k\\u001b[2J\"\n",
    );
    tree.service_with(
        "svc",
        "    path: \"packages/svc-{version}.zip\"\n",
        "  roleArn: \"arn:x\\r\\nfake\"\n",
    );
    let run = scan(&tree);
    run.fails_with(&[
        "environments/staging/svc/config.yaml:6: `s3TriggerPrefix` `staging/…` holds a control character or line break",
        "environments/preview/pr-7/services/svc.values.yaml:4: `s3Key` `k\\u{1b}[2J` holds a control character",
        "services/svc/config.yaml:10: `roleArn` `arn:x…` holds a control character",
    ]);
    assert!(!run.stderr.contains("\n::warning"), "{}", run.stderr);
}

// --- Bounded input (issue 8 §2) ---

#[test]
fn bom_and_latin1_are_errors_in_lambda_files_and_ignored_in_kubernetes_files() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    let staging = tree.gitops().join("environments/staging/svc/config.yaml");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(std::fs::read(&staging).unwrap());
    std::fs::write(&staging, &bytes).unwrap();
    let production = tree
        .gitops()
        .join("environments/production/svc/config.yaml");
    let mut bytes = std::fs::read(&production).unwrap();
    bytes.extend(b"# r\xE9sum\xE9\n");
    std::fs::write(&production, &bytes).unwrap();
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:1: the file starts with a byte-order mark",
        "environments/production/svc/config.yaml:10: the file is not UTF-8",
        "save the file as UTF-8 without a byte-order mark",
    ]);

    let tree = Tree::new();
    tree.standard("svc", &[]);
    let dir = tree.gitops();
    std::fs::create_dir_all(dir.join("services/api")).unwrap();
    std::fs::write(
        dir.join("services/api/config.yaml"),
        b"\xEF\xBB\xBF# caf\xE9\nserviceName: api\ndeploymentType: kubernetes\n",
    )
    .unwrap();
    tree.write("environments/staging/api/config.yaml", "x");
    std::fs::write(
        dir.join("environments/staging/api/config.yaml"),
        b"image: caf\xE9\n",
    )
    .unwrap();
    tree.write("environments/preview/pr-3/services/api.values.yaml", "x");
    std::fs::write(
        dir.join("environments/preview/pr-3/services/api.values.yaml"),
        b"\xFF\xFEi\x00m\x00",
    )
    .unwrap();
    scan(&tree).success();
}

#[test]
fn a_config_over_1_mib_is_refused_before_parsing() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    let mut text =
        std::fs::read_to_string(tree.gitops().join("environments/staging/svc/config.yaml"))
            .unwrap();
    text.push_str(&"# padding\n".repeat(110_000));
    tree.write("environments/staging/svc/config.yaml", &text);
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml: the file is 1100",
        "YAML files are read up to 1 MiB",
    ]);
    // A Kubernetes service's large file is not ours to judge.
    tree.standard("svc", &[]);
    tree.write("services/api/config.yaml", "deploymentType: kubernetes\n");
    tree.write("environments/staging/api/config.yaml", &text);
    scan(&tree).success();
}

#[test]
fn anchors_and_aliases_are_refused_in_lambda_configs() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.write(
        "environments/staging/svc/config.yaml",
        "serviceName: svc\nenvName: staging\nlambda:\n  version: &v \"1.1.0\"\n  functionName: svc-staging\n  s3TriggerPrefix: *v\n",
    );
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:4: anchors (`&name`) are not accepted in Lambda configs",
    ]);
}

// --- The Lambda settings of the deployment model (issue 10 §3) ---

/// A service config whose `lambda:` block holds `settings` (YAML, indented 2) after its
/// runtime and handler, so line numbers are easy to count: `settings` starts at line 6.
fn settings_service(settings: &str) -> String {
    format!(
        "serviceName: svc\ndeploymentType: lambda\nlambda:\n  runtime: python3.12\n  handler: app.handler\n{settings}  triggerBucket: svc-uploads\n  packageBucket: svc-packages\n  package:\n    path: \"packages/svc-{{version}}.zip\"\n"
    )
}

#[test]
fn every_setting_is_checked_with_its_line() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.write(
        "services/svc/config.yaml",
        &settings_service(concat!(
            "  architecture: arm\n",                                      // 6
            "  layers:\n",                                                // 7
            "    - arn:aws:lambda:eu-west-2:123456789012:layer:deps:3\n", // 8
            "    - arn:aws:lambda:eu-west-2:123456789012:layer:deps\n",   // 9
            "  ephemeralStorage: 256\n",                                  // 10
            "  memorySize: 64\n",                                         // 11
            "  timeout: 901\n",                                           // 12
            "  environment: {AWS_REGION: x}\n",                           // 13
            "  tracing: active\n",                                        // 14
            "  vpc:\n",                                                   // 15
            "    subnetIds: [subnet-0123abcd, subnet-XYZ]\n",             // 16
            "    securityGroupIds: []\n",                                 // 17
            "  logRetentionDays: 13\n",                                   // 18
            "  description: \"d\\u0007\"\n",                              // 19
            "  tags: {service: mine, \"aws:x\": y, ok: \"a#b\"}\n",       // 20
            "  keepVersions: 5000\n",                                     // 21
            "  roleArn: \"arn:aws:iam::1:role/x\"\n",                     // 22
        )),
    );
    scan(&tree).fails_with(&[
        "services/svc/config.yaml:6: architecture `arm` must be one of `x86_64`, `arm64` (did you mean `arm64`?)",
        "services/svc/config.yaml:9: layer `arn:aws:lambda:eu-west-2:123456789012:layer:deps` is not a layer version ARN",
        "services/svc/config.yaml:10: ephemeralStorage (MiB) 256 must be between 512 and 10240",
        "services/svc/config.yaml:11: memorySize (MiB) 64 must be between 128 and 10240",
        "services/svc/config.yaml:12: timeout (seconds) 901 must be between 1 and 900",
        "services/svc/config.yaml:13: environment variable `AWS_REGION` is reserved by Lambda",
        "services/svc/config.yaml:14: tracing `active` must be one of `Active`, `PassThrough` (did you mean `Active`?)",
        "services/svc/config.yaml:16: subnet `subnet-XYZ` is not a subnet ID",
        "services/svc/config.yaml:17: `vpc` needs at least one security group",
        "services/svc/config.yaml:18: logRetentionDays 13 is not a retention CloudWatch Logs accepts",
        "services/svc/config.yaml:19: `description` `d\\u{7}` holds a control character",
        "services/svc/config.yaml:20: tag `service` is set by lambda-gitops itself",
        "services/svc/config.yaml:20: tag `aws:x`: the `aws:` prefix is reserved by AWS",
        "services/svc/config.yaml:20: the value of tag `ok` must be at most 256 letters",
        "services/svc/config.yaml:21: keepVersions 5000 must be between 0 and 1000",
        "services/svc/config.yaml:22: roleArn `arn:aws:iam::1:role/x` is not an IAM role ARN",
    ]);
}

#[test]
fn lambdas_limits_on_layers_subnets_and_security_groups_are_checked() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    let layers: String = (1..=6)
        .map(|n| format!("    - arn:aws:lambda:eu-west-2:123456789012:layer:l{n}:1\n"))
        .collect();
    let groups: Vec<String> = (0..6).map(|n| format!("sg-0000000{n}")).collect();
    tree.write(
        "services/svc/config.yaml",
        &settings_service(&format!(
            "  layers:\n{layers}  vpc:\n    subnetIds: [subnet-0123abcd, subnet-0123abcd]\n    securityGroupIds: [{}]\n",
            groups.join(", ")
        )),
    );
    scan(&tree).fails_with(&[
        "services/svc/config.yaml:6: 6 layers are listed; Lambda allows at most 5",
        "services/svc/config.yaml:14: subnet `subnet-0123abcd` is listed twice",
        "services/svc/config.yaml:15: 6 security groups are listed; Lambda allows at most 5",
    ]);
}

#[test]
fn overrides_are_checked_where_they_are_written() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    let staging = |extra: &str| {
        format!("serviceName: svc\nenvName: staging\nlambda:\n  version: \"1.1.0\"\n  functionName: svc-staging\n  s3TriggerPrefix: staging/\n{extra}")
    };
    tree.write(
        "environments/staging/svc/config.yaml",
        &staging("  memorySize: 20000\n  timeout: 0\n"),
    );
    tree.write(
        "services/svc/config.yaml",
        &settings_service("  preview:\n    memorySize: 100\n    timeout: 1000\n"),
    );
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:7: memorySize (MiB) 20000 must be between 128 and 10240",
        "environments/staging/svc/config.yaml:8: timeout (seconds) 0 must be between 1 and 900",
        "services/svc/config.yaml:7: memorySize (MiB) 100 must be between 128 and 10240",
        "services/svc/config.yaml:8: timeout (seconds) 1000 must be between 1 and 900",
    ]);
    tree.write(
        "environments/staging/svc/config.yaml",
        &staging("  reservedConcurrency: -1\n"),
    );
    tree.write(
        "services/svc/config.yaml",
        &settings_service("  preview:\n    bogus: 1\n"),
    );
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:7: lambda.reservedConcurrency: invalid value: integer `-1`, expected u32",
        "services/svc/config.yaml:7: lambda.preview: unknown field `bogus`",
    ]);
}

/// What only the merged settings can break: the service's environment with an
/// environment's over it past Lambda's 4 KB, and provisioned concurrency beyond the
/// reserved — each blamed on the key that set the value.
#[test]
fn merged_settings_are_checked_and_blamed_on_the_key_that_set_them() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    let half = "v".repeat(2100);
    tree.write(
        "services/svc/config.yaml",
        &settings_service(&format!(
            "  environment: {{A: {half}}}\n  reservedConcurrency: 2\n  provisionedConcurrency: 3\n"
        )),
    );
    tree.write(
        "environments/staging/svc/config.yaml",
        &format!("serviceName: svc\nenvName: staging\nlambda:\n  version: \"1.1.0\"\n  functionName: svc-staging\n  s3TriggerPrefix: staging/\n  environment: {{B: {half}}}\n  provisionedConcurrency: 1\n"),
    );
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:7: staging: with the service's variables merged in, the environment is 4202 bytes (keys and values); Lambda allows 4096",
        "services/svc/config.yaml:8: production: provisionedConcurrency 3 exceeds reservedConcurrency 2",
    ]);
    let run = scan(&tree);
    // Staging's own provisioned concurrency (1) fits; previews get none.
    assert!(
        !run.stderr.contains("staging: provisionedConcurrency"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("previews: provisionedConcurrency"),
        "{}",
        run.stderr
    );
}

#[test]
fn every_setting_reaches_the_variables_after_overrides() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.write(
        "services/svc/config.yaml",
        &settings_service(concat!(
            "  architecture: arm64\n",
            "  layers: [\"arn:aws:lambda:eu-west-2:123456789012:layer:deps:3\"]\n",
            "  ephemeralStorage: 2048\n",
            "  memorySize: 256\n",
            "  timeout: 20\n",
            "  environment: {SHARED: \"1\", MODE: service}\n",
            "  reservedConcurrency: 10\n",
            "  provisionedConcurrency: 4\n",
            "  tracing: Active\n",
            "  vpc: {subnetIds: [subnet-0123abcd], securityGroupIds: [sg-0123abcd]}\n",
            "  logRetentionDays: 90\n",
            "  description: the service\n",
            "  tags: {team: data}\n",
            "  keepVersions: 2\n",
            "  preview:\n",
            "    timeout: 5\n",
            "    environment: {MODE: preview}\n",
        )),
    );
    tree.write(
        "environments/staging/svc/config.yaml",
        "serviceName: svc\nenvName: staging\nlambda:\n  version: \"1.1.0\"\n  functionName: svc-staging\n  s3TriggerPrefix: staging/\n  memorySize: 1024\n  reservedConcurrency: 5\n  provisionedConcurrency: 0\n  environment: {MODE: staging}\n",
    );
    let vars = tree.run(&["vars"]).success().json();
    let d = &vars["deployments"];
    for key in ["staging", "production", "pr-7"] {
        assert_eq!(d[key]["architecture"], "arm64", "{key}");
        assert_eq!(
            d[key]["layers"][0],
            "arn:aws:lambda:eu-west-2:123456789012:layer:deps:3"
        );
        assert_eq!(d[key]["ephemeral_storage"], 2048);
        assert_eq!(d[key]["tracing"], "Active");
        assert_eq!(d[key]["vpc"]["subnet_ids"][0], "subnet-0123abcd");
        assert_eq!(d[key]["log_retention_days"], 90);
        assert_eq!(d[key]["description"], "the service");
        assert_eq!(d[key]["tags"], serde_json::json!({"team": "data"}));
        assert_eq!(d[key]["environment"]["SHARED"], "1", "{key}");
    }
    let settings = |key: &str| {
        (
            d[key]["memory_size"].as_u64().unwrap(),
            d[key]["timeout"].as_u64().unwrap(),
            d[key]["reserved_concurrency"].as_u64().unwrap(),
            d[key]["provisioned_concurrency"].as_u64().unwrap(),
            d[key]["environment"]["MODE"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(settings("staging"), (1024, 20, 5, 0, "staging".into()));
    assert_eq!(settings("production"), (256, 20, 10, 4, "service".into()));
    assert_eq!(settings("pr-7"), (256, 5, 10, 0, "preview".into()));
    let scan_json = tree.run(&["scan", "--format", "json"]).success().json();
    assert_eq!(
        scan_json["services"][0]["staging"]["settings"]["memory_size"],
        1024
    );
    assert_eq!(scan_json["services"][0]["staging"]["keep_versions"], 2);
    assert_eq!(scan_json["services"][0]["settings"]["memory_size"], 256);
}

// `lambda.rollout`: the service's default, each environment's keys over it, previews never.

/// `environments/<env>/svc/config.yaml` of the standard tree with `extra` (YAML under
/// `lambda:`, indented 2) from line 7.
fn env_with(tree: &Tree, env: &str, extra: &str) {
    let (function, prefix) = match env {
        "staging" => ("svc-staging", "staging/"),
        _ => ("svc-prod", "Projects/"),
    };
    let version = if env == "staging" { "1.1.0" } else { "1.0.0" };
    tree.write(
        &format!("environments/{env}/svc/config.yaml"),
        &format!("serviceName: svc\nenvName: {env}\nlambda:\n  version: \"{version}\"\n  functionName: {function}\n  s3TriggerPrefix: {prefix}\n{extra}"),
    );
}

#[test]
fn an_unknown_key_under_rollout_is_refused_with_its_line_and_a_suggestion() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.write(
        "services/svc/config.yaml",
        &settings_service("  rollout:\n    strategy: canary\n    percentage: 10\n"),
    );
    scan(&tree).fails_with(&[
        "services/svc/config.yaml:8: lambda.rollout: unknown field `percentage`",
        "did you mean `percent`?",
    ]);
}

#[test]
fn an_unknown_strategy_is_refused_listing_the_three_with_a_suggestion() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    env_with(&tree, "staging", "  rollout:\n    strategy: Canery\n");
    scan(&tree).fails_with(&[
        "environments/staging/svc/config.yaml:8: strategy `Canery` must be one of `allAtOnce`, `canary`, `linear` (did you mean `canary`?)",
    ]);
}

#[test]
fn a_percent_that_is_not_a_whole_number_from_1_to_99_is_refused_with_its_line() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.write(
        "services/svc/config.yaml",
        &settings_service("  rollout:\n    percent: 0\n"),
    );
    env_with(&tree, "staging", "  rollout:\n    percent: 10.5\n");
    env_with(
        &tree,
        "production",
        "  rollout: {strategy: linear, percent: 100}\n",
    );
    scan(&tree).fails_with(&[
        "services/svc/config.yaml:7: percent 0 must be a whole number from 1 to 99",
        "environments/staging/svc/config.yaml:8: lambda.rollout.percent: invalid type: number `10.5`, expected a whole number of percent from 1 to 99",
        "environments/production/svc/config.yaml:7: percent 100 must be a whole number from 1 to 99: 100% at once is `strategy: allAtOnce`",
        "3 problems",
    ]);
}

#[test]
fn an_interval_that_does_not_parse_or_is_under_a_second_is_refused_with_its_line() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.write(
        "services/svc/config.yaml",
        &settings_service("  rollout:\n    strategy: canary\n    interval: 5 minutes\n"),
    );
    env_with(&tree, "staging", "  rollout:\n    interval: 0s\n");
    env_with(&tree, "production", "  rollout:\n    interval: 300\n");
    scan(&tree).fails_with(&[
        "services/svc/config.yaml:8: interval `5 minutes` is not a duration: write whole hours, minutes and seconds, e.g. `30s`, `5m`, `1h30m`",
        "environments/staging/svc/config.yaml:8: interval `0s` must be at least 1s",
        "environments/production/svc/config.yaml:8: interval `300` is not a duration",
        "3 problems",
    ]);
}

#[test]
fn more_than_20_alarms_or_an_empty_or_non_text_alarm_name_is_refused_with_its_line() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    let alarms: Vec<String> = (1..=21).map(|n| format!("svc-alarm-{n}")).collect();
    tree.write(
        "services/svc/config.yaml",
        &settings_service(&format!(
            "  rollout:\n    alarms: [{}]\n",
            alarms.join(", ")
        )),
    );
    env_with(
        &tree,
        "staging",
        "  rollout:\n    alarms:\n      - svc-errors\n      - \"\"\n",
    );
    env_with(
        &tree,
        "production",
        "  rollout:\n    alarms:\n      - svc-errors\n      - {name: svc-p99}\n",
    );
    scan(&tree).fails_with(&[
        "services/svc/config.yaml:7: 21 alarms are listed; a rollout allows at most 20",
        "environments/staging/svc/config.yaml:10: an alarm name must not be empty",
        "environments/production/svc/config.yaml:10: lambda.rollout.alarms",
        "invalid type: map, expected a CloudWatch alarm name (text)",
        "3 problems",
    ]);
    env_with(
        &tree,
        "production",
        "  rollout:\n    alarms:\n      - svc-errors\n      -\n",
    );
    scan(&tree).fails_with(&[
        "environments/production/svc/config.yaml:10: lambda.rollout.alarms",
        "an alarm name is null",
    ]);
}

/// The service asks for a canary and keeps provisioned concurrency: staging turns its own
/// off and passes; production inherits both, and Lambda would refuse the weighted alias.
#[test]
fn a_services_canary_is_refused_where_the_deployment_keeps_provisioned_concurrency() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.write(
        "services/svc/config.yaml",
        &settings_service("  provisionedConcurrency: 2\n  rollout:\n    strategy: canary\n"),
    );
    env_with(&tree, "staging", "  provisionedConcurrency: 0\n");
    let run = scan(&tree);
    run.fails_with(&[
        "services/svc/config.yaml:8: production: strategy `canary` shifts traffic through a weighted `live` alias, and Lambda refuses provisioned concurrency on a weighted alias; provisionedConcurrency is 2 (",
        "services/svc/config.yaml:6)",
        "hint: use `strategy: allAtOnce` for production, or set `provisionedConcurrency: 0` for production",
        "1 problem",
    ]);
    assert!(!run.stderr.contains("staging: strategy"), "{}", run.stderr);
    assert!(!run.stderr.contains("pr-7"), "{}", run.stderr);
}

/// Checked after the merge, across files: the environment's strategy against the
/// service's provisioned concurrency, both named; `plan` fails before terraform starts.
#[test]
fn an_environments_linear_rollout_is_refused_against_the_services_provisioned_concurrency() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.write(
        "services/svc/config.yaml",
        &settings_service("  provisionedConcurrency: 2\n"),
    );
    env_with(
        &tree,
        "production",
        "  rollout:\n    strategy: linear\n    percent: 25\n",
    );
    let needles = [
        "environments/production/svc/config.yaml:8: production: strategy `linear` shifts traffic through a weighted `live` alias, and Lambda refuses provisioned concurrency on a weighted alias; provisionedConcurrency is 2 (",
        "services/svc/config.yaml:6)",
        "1 problem",
    ];
    scan(&tree).fails_with(&needles);
    let terraform = common::fake_terraform::FakeTerraform::new(&tree);
    terraform.ci(&tree, &["plan"], &[]).fails_with(&needles);
    assert!(terraform.calls().is_empty(), "{:?}", terraform.calls());
}

#[test]
fn a_rollout_for_a_preview_is_refused_because_previews_always_deploy_all_at_once() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.write(
        "environments/preview/pr-7/services/svc.values.yaml",
        "serviceName: svc\ndeploymentType: lambda\nlambda:\n  version: \"1.1.0-pr7\"\n  rollout:\n    strategy: canary\n",
    );
    tree.write(
        "services/svc/config.yaml",
        &settings_service("  preview:\n    rollout: {strategy: canary}\n"),
    );
    scan(&tree).fails_with(&[
        "environments/preview/pr-7/services/svc.values.yaml:5: previews always deploy all at once",
        "services/svc/config.yaml:7: previews always deploy all at once",
        "2 problems",
    ]);
}

/// The service's canary with its alarms; staging sets its own percent and interval, key by
/// key; production keeps the service's; the preview goes all at once.
#[test]
fn a_valid_canary_resolves_per_environment_key_by_key() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    tree.write(
        "services/svc/config.yaml",
        &settings_service(concat!(
            "  rollout:\n",
            "    strategy: canary\n",
            "    percent: 10\n",
            "    interval: 5m\n",
            "    alarms: [svc-errors, svc-p99]\n",
        )),
    );
    env_with(
        &tree,
        "staging",
        "  rollout:\n    percent: 25\n    interval: 1h30m\n",
    );
    let json = tree.run(&["scan", "--format", "json"]).success().json();
    let service = &json["services"][0];
    assert_eq!(
        service["staging"]["rollout"],
        serde_json::json!({"strategy": "canary", "percent": 25, "intervalSeconds": 5400,
                           "alarms": ["svc-errors", "svc-p99"]})
    );
    assert_eq!(
        service["production"]["rollout"],
        serde_json::json!({"strategy": "canary", "percent": 10, "intervalSeconds": 300,
                           "alarms": ["svc-errors", "svc-p99"]})
    );
    assert_eq!(
        service["previews"][0]["rollout"],
        serde_json::json!({"strategy": "allAtOnce", "percent": 10, "intervalSeconds": 300,
                           "alarms": []})
    );
    // Existing keys stay.
    assert_eq!(service["staging"]["keep_versions"], 5);
}
