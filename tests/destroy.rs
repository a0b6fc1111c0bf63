//! `destroy --service NAME` around a fake terraform: refusals before terraform starts, the
//! `-destroy` plan applied exactly, the typed confirmation. The real terraform and emulator
//! run in e2e.rs (`a_removed_services_destroy_leaves_nothing_of_it_in_the_emulator`).

mod common;

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::fake_terraform::FakeTerraform;
use common::Tree;

/// A repo with service `kept`; `gone` was removed from it.
fn tree() -> Tree {
    let tree = Tree::new();
    tree.standard("kept", &[]);
    tree
}

/// The plan JSON of destroying `gone`'s staging function.
fn destroy_plan() -> serde_json::Value {
    serde_json::json!({
        "format_version": "1.2",
        "resource_changes": [{
            "address": "aws_lambda_function.this[\"staging\"]",
            "mode": "managed", "type": "aws_lambda_function", "name": "this", "index": "staging",
            "change": {
                "actions": ["delete"],
                "before": {"function_name": "gone-staging", "tags": {"service": "gone", "deployment": "staging", "version": "1.0.0"}},
                "after": null
            }
        }]
    })
}

#[test]
fn destroying_a_service_the_repo_still_declares_is_refused_before_terraform_starts() {
    let tree = tree();
    let fake = FakeTerraform::new(&tree);
    let run = fake.ci(
        &tree,
        &["destroy", "--service", "kept", "--auto-approve"],
        &[],
    );
    run.fails_with(&[
        "`kept` is a Lambda service of the gitops repo",
        "remove `services/kept/`",
    ]);
    assert_eq!(fake.calls(), Vec::<String>::new());
}

#[test]
fn a_service_name_that_is_not_one_is_refused_before_anything_is_written() {
    let tree = tree();
    let fake = FakeTerraform::new(&tree);
    for name in ["../kept", "a/b", ""] {
        let run = fake.ci(
            &tree,
            &["destroy", "--service", name, "--auto-approve"],
            &[],
        );
        run.fails_with(&["cannot be destroyed"]);
    }
    assert_eq!(fake.calls(), Vec::<String>::new());
    assert!(!tree
        .temp
        .path()
        .join("runner-temp/lambda-gitops/a")
        .exists());
}

#[test]
fn without_a_terminal_destroy_needs_auto_approve() {
    let tree = tree();
    let fake = FakeTerraform::new(&tree);
    let run = fake.ci(&tree, &["destroy", "--service", "gone"], &[]);
    run.fails_with(&["pass `--auto-approve`"]);
    assert_eq!(fake.calls(), Vec::<String>::new());
}

#[test]
fn destroy_plans_the_state_with_destroy_against_no_deployment_and_applies_that_plan() {
    let tree = tree();
    let fake = FakeTerraform::new(&tree);
    fake.plans(
        "gone",
        "  # aws_lambda_function.this[\"staging\"] will be destroyed\n",
        &destroy_plan(),
    );
    let run = fake.ci(
        &tree,
        &["destroy", "--service", "gone", "--auto-approve"],
        &[],
    );
    run.success();
    assert!(
        run.stdout
            .contains("gone: 0 to add, 0 to change, 1 to destroy"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("gone-staging"), "{}", run.stdout);
    let calls = fake.calls();
    let plan = calls
        .iter()
        .find(|c| c.starts_with("plan "))
        .expect("a plan");
    assert!(plan.split(' ').any(|arg| arg == "-destroy"), "{calls:?}");
    assert_eq!(
        calls.last().unwrap(),
        "apply -input=false -lock-timeout=5m -no-color plan.tfplan"
    );
    // The variables name the service and no deployment: nothing of the repo reaches it.
    let vars: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            tree.temp
                .path()
                .join("runner-temp/lambda-gitops/gone/lambda-gitops.tfvars.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(vars["service_name"], "gone");
    assert_eq!(vars["deployments"], serde_json::json!({}));
    assert_eq!(vars["packages"], serde_json::json!({}));
}

#[test]
fn a_state_that_holds_nothing_is_left_alone() {
    let tree = tree();
    let fake = FakeTerraform::new(&tree);
    let run = fake.ci(
        &tree,
        &["destroy", "--service", "gone", "--auto-approve"],
        &[],
    );
    run.success();
    assert!(run.stdout.contains("gone: no changes"), "{}", run.stdout);
    assert!(!fake.calls().iter().any(|c| c.starts_with("apply")));
}

#[test]
fn a_plan_that_would_destroy_another_services_resources_is_refused() {
    let tree = tree();
    let fake = FakeTerraform::new(&tree);
    let mut plan = destroy_plan();
    plan["resource_changes"][0]["change"]["before"]["tags"]["service"] = "kept".into();
    fake.plans("gone", "", &plan);
    let run = fake.ci(
        &tree,
        &["destroy", "--service", "gone", "--auto-approve"],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("another service's resources"),
        "{}",
        run.stderr
    );
    assert!(!fake.calls().iter().any(|c| c.starts_with("apply")));
}

/// Runs `destroy` on a terminal and types `answer` at its question.
fn destroy_typing(tree: &Tree, fake: &FakeTerraform, answer: &str) -> (Option<i32>, String) {
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut command = fake.ci_command(tree, &["destroy", "--service", "gone"], &[]);
    command
        .stdin(Stdio::from(pty.slave))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains("to confirm:") {
        assert_ne!(
            stderr.read(&mut byte).unwrap(),
            0,
            "no question:\n{}",
            String::from_utf8_lossy(&seen)
        );
        seen.push(byte[0]);
    }
    let mut master = std::fs::File::from(pty.master);
    master.write_all(format!("{answer}\n").as_bytes()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "destroy hung after the answer");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    (
        status.code(),
        format!("{}{rest}", String::from_utf8_lossy(&seen)),
    )
}

#[test]
fn destroy_goes_ahead_only_when_the_services_name_is_typed() {
    let tree = tree();
    let fake = FakeTerraform::new(&tree);
    fake.plans("gone", "", &destroy_plan());

    let (code, stderr) = destroy_typing(&tree, &fake, "yes");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("destroy cancelled"), "{stderr}");
    assert!(
        !fake.calls().iter().any(|c| c.starts_with("apply")),
        "{:?}",
        fake.calls()
    );

    let (code, stderr) = destroy_typing(&tree, &fake, "gone");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        fake.calls().iter().any(|c| c.starts_with("apply")),
        "{:?}",
        fake.calls()
    );
}
