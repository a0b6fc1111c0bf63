//! `plan` warns about state left by services no longer in the gitops repo — in the work dir
//! (local backend) and in an S3 state bucket whose key template holds `{service}` — naming
//! the service and how to destroy it. Terraform is a fake here (what it plans does not
//! matter); the S3 bucket is the AWS API emulator's.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::aws::emulator;
use common::{Run, Tree};

const FAKE_TERRAFORM: &str = r#"#!/bin/sh
data="${TF_DATA_DIR:-.terraform}"
case "$1" in
  version) echo '{"terraform_version": "1.11.4"}' ;;
  init) mkdir -p "$data"; [ -f .terraform.lock.hcl ] || : > .terraform.lock.hcl ;;
  plan) : > plan.tfplan ;;
  show) echo '{"format_version":"1.2","resource_changes":[]}' ;;
esac
"#;

const MANAGED: &str = r#"{"version":4,"terraform_version":"1.11.4","resources":[{"mode":"managed","type":"aws_lambda_function","name":"staging","provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","instances":[{"index_key":"staging","attributes":{"function_name":"x"}}]}]}"#;
const EMPTY: &str = r#"{"version":4,"terraform_version":"1.11.4","resources":[]}"#;

fn terraform(tree: &Tree) -> PathBuf {
    let bin = tree.temp.path().join("terraform");
    std::fs::write(&bin, FAKE_TERRAFORM).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn plan(tree: &Tree, args: &[&str], env: &[(String, String)]) -> Run {
    let mut command = tree.command(&["plan"]);
    command
        .args(args)
        .arg("--terraform-bin")
        .arg(terraform(tree))
        .env("AWS_REGION", "us-east-1")
        .envs(common::aws::around_fake_terraform(tree, "us-east-1"))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::null());
    Run::from(command.output().unwrap())
}

#[test]
fn plan_warns_about_local_state_of_a_service_removed_from_the_repo() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    for (service, state) in [("a", MANAGED), ("old", MANAGED), ("destroyed", EMPTY)] {
        let dir = tree.work().join(service);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("terraform.tfstate"), state).unwrap();
    }
    let run = plan(&tree, &[], &[]);
    run.success();
    let state = tree.work().join("old/terraform.tfstate");
    assert!(
        run.stderr.contains(&format!(
            "state for `old` remains at `{}`, but the gitops repo has no Lambda service `old`",
            state.display()
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Destroy them with `lambda-gitops destroy --service old`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("`destroyed`"), "{}", run.stderr);
    assert!(!run.stderr.contains("state for `a`"), "{}", run.stderr);
    // Selecting one service does not make the others look removed.
    tree.standard("b", &[]);
    let run = plan(&tree, &["--service", "b"], &[]);
    run.success();
    assert!(!run.stderr.contains("state for `a`"), "{}", run.stderr);
    assert!(run.stderr.contains("state for `old`"), "{}", run.stderr);
}

#[test]
fn plan_warns_about_state_in_the_s3_bucket_for_a_service_removed_from_the_repo() {
    let aws = emulator();
    let bucket = "orphaned-state";
    aws.create_buckets(&[bucket]);
    let tree = Tree::new();
    tree.standard("a", &[]);
    for (key, state) in [
        ("lambda/a.tfstate", MANAGED),
        ("lambda/old.tfstate", MANAGED),
        ("lambda/destroyed.tfstate", EMPTY),
        ("lambda/nested/x.tfstate", MANAGED),
        ("elsewhere/other.tfstate", MANAGED),
    ] {
        let file = tree.temp.path().join("state.json");
        std::fs::write(&file, state).unwrap();
        aws.probe(&["put", bucket, key, &file.display().to_string()]);
    }
    let run = plan(
        &tree,
        &[
            "--backend",
            "s3",
            "--backend-config",
            &format!("bucket={bucket}"),
            "--backend-config",
            "key=lambda/{service}.tfstate",
            "--backend-config",
            "region=us-east-1",
        ],
        &aws.env(),
    );
    run.success();
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.contains("remains at"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains(&format!(
            "state for `old` remains at `s3://{bucket}/lambda/old.tfstate`"
        )) && warnings[0].contains("lambda-gitops destroy --service old"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_state_bucket_that_cannot_be_listed_is_a_warning_not_a_failure() {
    let aws = emulator();
    let tree = Tree::new();
    tree.standard("a", &[]);
    let run = plan(
        &tree,
        &[
            "--backend",
            "s3",
            "--backend-config",
            "bucket=no-such-state-bucket",
            "--backend-config",
            "key=lambda/{service}.tfstate",
        ],
        &aws.env(),
    );
    run.success();
    assert!(
        run.stderr.contains(
            "could not look for the state of services removed from the gitops repo: listing `s3://no-such-state-bucket/lambda/`: no such bucket or key"
        ),
        "{}",
        run.stderr
    );
}
