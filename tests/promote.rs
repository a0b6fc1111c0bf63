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
