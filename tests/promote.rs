//! `promote --require-deployed` against the AWS API emulator: staging's function is created
//! directly through boto3 (no terraform, to stay fast), tagged, published behind the alias
//! `live` or not, and promotion happens only when what it runs is the version staging
//! declares with that version's package bytes.

mod common;

use common::aws::emulator;
use common::{Run, Tree};

/// Prepares Lambda functions in the emulator: `function NAME ZIP TAG` (create, tagged
/// `version=TAG` unless TAG is `-`), `publish NAME` (a version, and the alias `live` on
/// it), `code NAME ZIP` (new `$LATEST` code).
fn setup(args: &[&str]) {
    emulator().probe(args);
}

fn promote(tree: &Tree, service: &str, require: bool) -> Run {
    let mut command = tree.command(&["promote", "--service", service]);
    if require {
        command.arg("--require-deployed");
    }
    command.envs(emulator().env());
    Run::from(command.output().unwrap())
}

/// A service whose staging runs 1.1.0 and production 1.0.0; the staging package's path.
fn service(name: &str) -> (Tree, String) {
    let tree = Tree::new();
    tree.standard(name, &[]);
    let package = tree.gitops().join(format!("packages/{name}-1.1.0.zip"));
    (tree, package.display().to_string())
}

fn production(tree: &Tree, name: &str) -> String {
    std::fs::read_to_string(
        tree.gitops()
            .join(format!("environments/production/{name}/config.yaml")),
    )
    .unwrap()
}

#[test]
fn a_staging_function_running_the_declared_version_and_bytes_is_promoted() {
    let (tree, package) = service("pa");
    setup(&["function", "pa-staging", &package, "1.1.0"]);
    setup(&["publish", "pa-staging"]);
    // `$LATEST` moves on; the alias `live` is what runs.
    let other = tree.package("other.zip", "something else");
    setup(&["code", "pa-staging", &other.display().to_string()]);
    let run = promote(&tree, "pa", true);
    run.success();
    assert!(production(&tree, "pa").contains("version: \"1.1.0\""));
    assert!(
        run.stderr
            .contains("staging runs `1.1.0` (live) with the package's bytes"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_staging_function_tagged_with_another_version_is_not_promoted() {
    let (tree, package) = service("pb");
    setup(&["function", "pb-staging", &package, "1.0.0"]);
    setup(&["publish", "pb-staging"]);
    let before = production(&tree, "pb");
    promote(&tree, "pb", true).fails_with(&[
        "`pb`: staging does not run what it declares, so it is not promoted",
        "`pb-staging` (alias `live` → version 1) is tagged version `1.0.0`, not `1.1.0`",
        "hint: apply staging first",
    ]);
    assert_eq!(production(&tree, "pb"), before);
}

#[test]
fn other_bytes_behind_the_live_alias_are_not_promoted() {
    let (tree, package) = service("pc");
    let other = tree
        .package("other.zip", "something else")
        .display()
        .to_string();
    setup(&["function", "pc-staging", &other, "1.1.0"]);
    setup(&["publish", "pc-staging"]);
    // `$LATEST` has the right bytes, but they were never published to `live`.
    setup(&["code", "pc-staging", &package]);
    let before = production(&tree, "pc");
    let expected = common::openssl_base64_sha256(std::path::Path::new(&package));
    promote(&tree, "pc", true).fails_with(&[
        "`pc-staging` (alias `live` → version 1) runs code with SHA-256",
        &format!("but the package of `1.1.0` hashes to `{expected}`"),
    ]);
    assert_eq!(production(&tree, "pc"), before);
}

#[test]
fn without_an_alias_latest_is_what_runs() {
    let (tree, package) = service("pd");
    setup(&["function", "pd-staging", &package, "-"]);
    promote(&tree, "pd", true).fails_with(&["`pd-staging` (`$LATEST`) has no `version` tag"]);
    let (tree, package) = service("pe");
    setup(&["function", "pe-staging", &package, "1.1.0"]);
    promote(&tree, "pe", true).success();
    assert!(production(&tree, "pe").contains("version: \"1.1.0\""));
}

#[test]
fn a_staging_function_that_does_not_exist_is_not_promoted() {
    let (tree, _) = service("pf");
    let before = production(&tree, "pf");
    promote(&tree, "pf", true).fails_with(&["the function `pf-staging` does not exist"]);
    assert_eq!(production(&tree, "pf"), before);
    // Without the check, nothing is asked of AWS.
    promote(&tree, "pf", false).success();
    assert!(production(&tree, "pf").contains("version: \"1.1.0\""));
}

/// Seconds since the epoch of an RFC 3339 date in UTC, as the report gives it.
fn epoch_seconds(date: &str) -> i64 {
    use aws_sdk_lambda::primitives::{DateTime, DateTimeFormat};
    DateTime::from_str(date, DateTimeFormat::DateTime)
        .unwrap_or_else(|e| panic!("`{date}` is no RFC 3339 date in UTC: {e}"))
        .secs()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Real terraform against the emulator: a service applied (staging 1.1.0, production
/// 1.0.0); production set to the version staging runs is proven the same package, with
/// staging's CodeSha256 read behind `live` and the date its version was published; set to a
/// version staging does not run, it is a warning.
#[test]
fn production_is_proven_against_the_package_staging_runs_and_warned_when_staging_does_not_run_it() {
    let aws = emulator();
    aws.create_buckets(&["pg-uploads", "pg-packages"]);
    let (tree, staged) = service("pg");
    let run = |args: &[&str]| Run::from(tree.command(args).envs(aws.env()).output().unwrap());
    let before_apply = now();
    let first = run(&["apply", "--auto-approve", "--format", "json"]);
    first.success();
    // Production is new: staging is read before the one-step apply creates it.
    let created = common::deployment_of(&first.json(), "production");
    assert_eq!(
        created["artifact"]["notChecked"], "the function `pg-staging` does not exist",
        "{created}"
    );
    let live = aws.probe(&["functions", "pg-staging"])["pg-staging"].clone();
    let staging_sha = common::openssl_base64_sha256(std::path::Path::new(&staged));
    assert_eq!(live["live_code_sha256"], staging_sha.as_str());

    tree.env("production", "pg", "1.1.0", "pg-prod", "Projects/");
    let plan = run(&["plan", "--format", "json"]);
    plan.success();
    let report = plan.json();
    let proof = &common::deployment_of(&report, "production")["artifact"];
    assert_eq!(proof["sameAsStaging"], true, "{report}");
    assert_eq!(proof["codeSha256"], staging_sha.as_str());
    assert_eq!(proof["stagingCodeSha256"], staging_sha.as_str());
    assert_eq!(proof["stagingFunction"], "pg-staging");
    assert_eq!(proof["stagingVersion"], live["live"]);
    let since = epoch_seconds(proof["stagingSince"].as_str().unwrap());
    assert!(
        (before_apply - 1..=now()).contains(&since),
        "staging's version was published by this test's apply, not at {since}"
    );
    assert_eq!(report["services"][0]["warnings"], serde_json::json!([]));
    // The text report says it in words.
    let text = run(&["plan"]);
    text.success();
    assert!(
        text.stdout.contains("same package staging has run since ")
            && text
                .stdout
                .contains(&format!(" UTC (CodeSha256 {staging_sha})")),
        "{}",
        text.stdout
    );

    let other = tree.package("packages/pg-1.0.1.zip", "pg 1.0.1");
    tree.env("production", "pg", "1.0.1", "pg-prod", "Projects/");
    let plan = run(&["plan", "--format", "json"]);
    plan.success();
    let report = plan.json();
    let proof = &common::deployment_of(&report, "production")["artifact"];
    assert_eq!(proof["sameAsStaging"], false, "{report}");
    assert_eq!(
        proof["codeSha256"],
        common::openssl_base64_sha256(&other).as_str()
    );
    assert_eq!(proof["stagingCodeSha256"], staging_sha.as_str());
    assert_eq!(
        report["services"][0]["warnings"],
        serde_json::json!([format!(
            "production gets a package staging does not run (staging runs CodeSha256 `{staging_sha}`)"
        )])
    );
}
