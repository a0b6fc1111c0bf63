//! `plan` and `apply` around a fake terraform (a script written into the temp dir): what
//! reaches terraform, exit codes across services, hints. The real terraform runs in e2e.rs.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::{Run, Tree};

const FAKE_TERRAFORM: &str = r#"#!/bin/sh
# Records each call and its environment, then acts like terraform enough for lambda-gitops.
echo "$*" >> "$FAKE_DIR/calls"
env > "$FAKE_DIR/env"
service=$(basename "$PWD")
case "$1" in
  version) echo "{\"terraform_version\": \"${FAKE_VERSION:-1.11.4}\"}" ;;
  init) : > .terraform.lock.hcl; echo "Terraform has been successfully initialized!" ;;
  plan)
    case "$(cat "$FAKE_DIR/plan-mode" 2>/dev/null)" in
      graceful)
        trap 'echo TERM >> "$FAKE_DIR/signals"; sleep 0.5; exit 1' TERM
        trap 'echo INT >> "$FAKE_DIR/signals"; sleep 0.5; exit 1' INT
        echo "planning slowly"
        while :; do sleep 0.1; done ;;
      stubborn)
        trap 'echo ignored >> "$FAKE_DIR/signals"' TERM INT
        echo "planning slowly"
        while :; do sleep 0.1; done ;;
    esac
    code=$(cat "$FAKE_DIR/plan-exit-$service" 2>/dev/null || echo 0)
    if [ "$code" = 1 ]; then
      printf 'Error: Error acquiring the state lock\n\nLock Info:\n  ID:        1f2e3d4c-lock\n  Path:      state\n' >&2
    fi
    : > plan.tfplan
    exit "$code" ;;
  show)
    if [ "$(cat "$FAKE_DIR/plan-exit-$service" 2>/dev/null)" = 2 ]; then
      cat <<JSON
{"format_version":"1.2","resource_changes":[{"address":"aws_lambda_function.staging[\"staging\"]","mode":"managed","type":"aws_lambda_function","name":"staging","index":"staging",
 "change":{"actions":["update"],"before":{"function_name":"$service-staging","tags":{"environment":"staging","version":"1.0.0"}},"after":{"function_name":"$service-staging","tags":{"environment":"staging","version":"1.1.0"}}}}]}
JSON
    else
      echo '{"format_version":"1.2","resource_changes":[]}'
    fi ;;
  apply) echo "Apply complete!" ;;
esac
"#;

struct Fake {
    dir: PathBuf,
}

impl Fake {
    fn new(tree: &Tree) -> Self {
        let dir = tree.temp.path().join("fake");
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("terraform");
        std::fs::write(&bin, FAKE_TERRAFORM).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir }
    }

    fn plan_exits(&self, service: &str, code: u8) {
        std::fs::write(
            self.dir.join(format!("plan-exit-{service}")),
            code.to_string(),
        )
        .unwrap();
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn run(&self, tree: &Tree, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = tree.command(args);
        command
            .arg("--terraform-bin")
            .arg(self.dir.join("terraform"))
            .env("FAKE_DIR", &self.dir)
            .env("AWS_REGION", "eu-west-2")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null());
        Run::from(command.output().unwrap())
    }
}

#[test]
fn an_invalid_repo_never_starts_terraform() {
    let tree = Tree::new();
    tree.standard("a", &[7]);
    tree.preview("pr-7x", "a", "1.0.0");
    let fake = Fake::new(&tree);
    fake.run(&tree, &["plan"], &[]).fails_with(&["pr-7x"]);
    fake.run(&tree, &["apply", "--auto-approve"], &[])
        .fails_with(&["pr-7x"]);
    assert_eq!(fake.calls(), Vec::<String>::new());
}

#[test]
fn terraform_runs_in_automation_mode_without_the_github_token() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    fake.run(
        &tree,
        &["plan"],
        &[
            ("GITHUB_TOKEN", "ghp_secret_value"),
            ("GH_TOKEN", "gh_secret_value"),
        ],
    )
    .success();
    let env = std::fs::read_to_string(fake.dir.join("env")).unwrap();
    assert!(
        !env.contains("secret_value"),
        "a token reached terraform:\n{env}"
    );
    assert!(
        env.lines().any(|line| line == "TF_IN_AUTOMATION=1"),
        "{env}"
    );
    let calls = fake.calls();
    assert_eq!(calls[0], "version -json");
    assert!(calls[1].starts_with("init -input=false"), "{calls:?}");
    assert!(
        calls[2]
            .starts_with("plan -input=false -out=plan.tfplan -detailed-exitcode -lock-timeout=5m"),
        "{calls:?}"
    );
    assert_eq!(calls[3], "show -json plan.tfplan");
    // Written by lambda-gitops into the work dir: the module, its backend and the plan JSON.
    for file in [
        "main.tf",
        "variables.tf",
        "lambda_gitops_backend.tf",
        "terraform.tfvars.json",
        "plan.json",
    ] {
        assert!(tree.work().join("a").join(file).is_file(), "{file}");
    }

    // A second plan reuses the init.
    fake.run(&tree, &["plan"], &[]).success();
    assert_eq!(
        fake.calls()
            .iter()
            .filter(|call| call.starts_with("init"))
            .count(),
        1
    );
}

#[test]
fn across_services_the_worst_outcome_wins() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    tree.standard("b", &[]);
    tree.standard("c", &[]);
    let fake = Fake::new(&tree);
    fake.plan_exits("b", 2);

    let run = fake.run(&tree, &["plan", "--detailed-exitcode"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.contains("a: no changes"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("b: 0 to add, 1 to change, 0 to destroy"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("staging  update   b-staging  1.0.0 → 1.1.0"),
        "{}",
        run.stdout
    );
    // Without --detailed-exitcode, changes are success.
    assert_eq!(fake.run(&tree, &["plan"], &[]).code, 0);

    // An error in one service beats changes in another; the others are still planned.
    fake.plan_exits("a", 1);
    let run = fake.run(
        &tree,
        &["plan", "--detailed-exitcode", "--format", "json"],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["exit_code"], 1);
    assert_eq!(report["failures"][0]["service"], "a");
    let planned: Vec<&str> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(planned, ["b", "c"]);
    assert_eq!(
        report["services"][0]["functions"][0]["version_after"],
        "1.1.0"
    );
}

#[test]
fn a_lock_error_ends_with_the_force_unlock_hint() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    fake.plan_exits("a", 1);
    let run = fake.run(&tree, &["plan"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("exited with code 1"), "{}", run.stderr);
    assert!(
        run.stderr.contains("force-unlock 1f2e3d4c-lock"),
        "{}",
        run.stderr
    );
}

#[test]
fn apply_needs_auto_approve_without_a_terminal_and_applies_the_saved_plan() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    fake.run(&tree, &["apply"], &[])
        .fails_with(&["needs `--auto-approve` when stdin is not a terminal"]);
    assert_eq!(fake.calls(), Vec::<String>::new());

    fake.plan_exits("a", 2);
    fake.run(&tree, &["apply", "--auto-approve"], &[]).success();
    let calls = fake.calls();
    assert_eq!(
        calls.last().unwrap(),
        "apply -input=false -lock-timeout=5m -no-color plan.tfplan"
    );

    // Nothing to change: nothing is applied.
    fake.plan_exits("a", 0);
    let before = fake.calls().len();
    fake.run(&tree, &["apply", "--auto-approve"], &[]).success();
    assert!(!fake.calls()[before..]
        .iter()
        .any(|call| call.starts_with("apply")));
}

#[test]
fn an_old_terraform_is_refused_before_it_runs_anything() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    fake.run(&tree, &["plan"], &[("FAKE_VERSION", "1.4.6")])
        .fails_with(&["version `1.4.6`", "1.5 or later"]);
    assert_eq!(fake.calls(), ["version -json"]);
}

#[test]
fn a_users_module_replaces_the_bundled_one_and_the_region_reaches_the_variables() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let module = tree.temp.path().join("my-module");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(module.join("lambda.tf"), "# my own module\n").unwrap();
    let fake = Fake::new(&tree);
    fake.run(
        &tree,
        &["plan", "--module-dir", module.to_str().unwrap()],
        &[],
    )
    .success();
    let work = tree.work().join("a");
    assert!(work.join("lambda.tf").is_file());
    assert!(
        !work.join("main.tf").exists(),
        "the bundled module was written too"
    );
    let vars: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("terraform.tfvars.json")).unwrap())
            .unwrap();
    assert_eq!(vars["aws_region"], "eu-west-2");
}

#[test]
fn plan_without_a_region_stops_before_terraform() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    let mut command = tree.command(&["plan"]);
    command
        .arg("--terraform-bin")
        .arg(fake.dir.join("terraform"))
        .env("FAKE_DIR", &fake.dir);
    Run::from(command.output().unwrap()).fails_with(&["no AWS region"]);
    assert_eq!(fake.calls(), Vec::<String>::new());
}

#[test]
fn markdown_reports_make_a_pull_request_comment() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    tree.standard("b", &[]);
    let fake = Fake::new(&tree);
    fake.plan_exits("b", 2);
    let run = fake.run(&tree, &["plan", "--format", "markdown"], &[]);
    run.success();
    assert!(
        run.stdout
            .starts_with("## lambda-gitops plan: 0 to add, 1 to change, 0 to destroy\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("### a — no changes"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("| staging | update | `b-staging` | 1.0.0 → 1.1.0 |"),
        "{}",
        run.stdout
    );
}

/// Runs `plan` with the fake in `mode`, sends SIGTERM twice once it is planning; returns
/// the exit code, stderr and the signals the fake terraform saw.
fn terminate_twice(mode: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    use std::io::{BufRead, BufReader};
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    std::fs::write(fake.dir.join("plan-mode"), mode).unwrap();
    let mut args = vec!["plan"];
    args.extend_from_slice(extra);
    let mut command = tree.command(&args);
    command
        .arg("--terraform-bin")
        .arg(fake.dir.join("terraform"))
        .env("FAKE_DIR", &fake.dir)
        .env("AWS_REGION", "eu-west-2")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let planning = line.contains("planning slowly");
        seen.push(line);
        if planning {
            break;
        }
    }
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    seen.extend(lines.map(Result::unwrap));
    let status = child.wait().unwrap();
    let signals = std::fs::read_to_string(fake.dir.join("signals")).unwrap_or_default();
    (status.code(), seen.join("\n"), signals)
}

#[test]
fn sigterm_is_relayed_to_terraform_exactly_once_and_exits_143() {
    let (code, stderr, signals) = terminate_twice("graceful", &[]);
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(
        signals, "TERM\n",
        "terraform must see one signal:\n{stderr}"
    );
    assert!(
        stderr.contains("relayed SIGTERM to terraform once"),
        "{stderr}"
    );
    assert!(stderr.contains("not interrupting it again"), "{stderr}");
}

#[test]
fn a_terraform_that_ignores_the_signal_is_killed_after_the_grace_period() {
    let (code, stderr, signals) = terminate_twice("stubborn", &["--grace-period", "1"]);
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(signals, "ignored\n", "{stderr}");
    assert!(
        stderr.contains("did not stop within 1s; killing it"),
        "{stderr}"
    );
}
