//! End to end: the binary, real terraform, the real AWS provider and moto on loopback. One
//! emulator serves the whole file; each test has its own service, buckets and functions.
//! Everything is checked through the emulator's API (tests/aws_probe.py), not terraform's
//! output.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::aws::{emulator, Emulator};
use common::{openssl_base64_sha256, Run, Tree};
use serde_json::Value;

fn run(tree: &Tree, args: &[&str]) -> Run {
    Run::from(tree.command(args).envs(emulator().env()).output().unwrap())
}

fn functions(aws: &Emulator, prefix: &str) -> BTreeMap<String, Value> {
    serde_json::from_value(aws.probe(&["functions", prefix])).unwrap()
}

fn notifications(aws: &Emulator, bucket: &str) -> BTreeMap<String, String> {
    serde_json::from_value(aws.probe(&["notifications", bucket])).unwrap()
}

fn code_hash(functions: &BTreeMap<String, Value>, name: &str) -> String {
    functions[name]["code_sha256"].as_str().unwrap().to_owned()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// a–e of the issue, in order, on one service: create, no-op, remove a preview, roll back
/// staging, promote staging's version to production.
#[test]
fn a_service_lives_through_create_noop_preview_removal_rollback_and_promotion() {
    let aws = emulator();
    aws.create_buckets(&["life-uploads", "life-packages"]);
    let tree = Tree::new();
    tree.standard("life", &[7, 9]);
    let older = tree.package("packages/life-1.0.9.zip", "life 1.0.9");
    // Preview 42 runs an object already in the package bucket.
    let manual = tree.package("manual-pr-42.zip", "built by the PR's own workflow");
    aws.probe(&[
        "put",
        "life-packages",
        "manual/pr-42.zip",
        manual.to_str().unwrap(),
    ]);
    tree.write(
        "environments/preview/pr-42/services/life.values.yaml",
        "serviceName: life\ndeploymentType: lambda\nlambda:\n  version: \"1.1.0-pr42\"\n  commitSha: \"42abcdef\"\n  s3Key: manual/pr-42.zip\n",
    );
    let package = |version: &str| {
        openssl_base64_sha256(&tree.gitops().join(format!("packages/life-{version}.zip")))
    };

    // a. The first apply creates staging, production and the previews.
    let first = run(&tree, &["apply", "--auto-approve"]);
    first.success();
    assert!(first.stdout.contains("life: "), "{}", first.stdout);
    let created = functions(aws, "life-");
    let names: Vec<&str> = created.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "life-prod",
            "life-prod-pr-42",
            "life-prod-pr-7",
            "life-prod-pr-9",
            "life-staging"
        ]
    );
    assert_eq!(code_hash(&created, "life-staging"), package("1.1.0"));
    assert_eq!(code_hash(&created, "life-prod"), package("1.0.0"));
    assert_eq!(code_hash(&created, "life-prod-pr-7"), package("1.1.0-pr7"));
    assert_eq!(code_hash(&created, "life-prod-pr-9"), package("1.1.0-pr9"));
    assert_eq!(
        code_hash(&created, "life-prod-pr-42"),
        openssl_base64_sha256(&manual)
    );
    assert_eq!(created["life-staging"]["tags"]["version"], "1.1.0");
    assert_eq!(created["life-prod-pr-42"]["tags"]["commit_sha"], "42abcdef");
    assert_eq!(
        notifications(aws, "life-uploads"),
        map(&[
            ("staging/", "life-staging"),
            ("Projects/", "life-prod"),
            ("preview/pr-7/", "life-prod-pr-7"),
            ("preview/pr-9/", "life-prod-pr-9"),
            ("preview/pr-42/", "life-prod-pr-42"),
        ])
    );

    // b. An immediate plan has nothing to do.
    let noop = run(&tree, &["plan", "--detailed-exitcode"]);
    assert_eq!(noop.code, 0, "{}\n{}", noop.stdout, noop.stderr);
    assert!(noop.stdout.contains("life: no changes"), "{}", noop.stdout);

    // c. A closed PR's directory is deleted: its function and its prefix go, nothing else.
    tree.remove("environments/preview/pr-7");
    run(&tree, &["apply", "--auto-approve"]).success();
    let after = functions(aws, "life-");
    assert!(!after.contains_key("life-prod-pr-7"));
    for name in [
        "life-staging",
        "life-prod",
        "life-prod-pr-9",
        "life-prod-pr-42",
    ] {
        assert_eq!(
            after[name]["code_sha256"], created[name]["code_sha256"],
            "{name}"
        );
        assert_eq!(
            after[name]["last_modified"], created[name]["last_modified"],
            "{name} was touched"
        );
    }
    let triggers = notifications(aws, "life-uploads");
    assert!(!triggers.contains_key("preview/pr-7/"), "{triggers:?}");
    assert_eq!(triggers.len(), 4);

    // d. Rollback: staging goes back to an older version.
    tree.env("staging", "life", "1.0.9", "life-staging", "staging/");
    let rollback = run(&tree, &["apply", "--auto-approve"]);
    rollback.success();
    assert!(
        rollback.stdout.contains("1.1.0 → 1.0.9"),
        "{}",
        rollback.stdout
    );
    let rolled = functions(aws, "life-");
    assert_eq!(
        code_hash(&rolled, "life-staging"),
        openssl_base64_sha256(&older)
    );
    assert_eq!(rolled["life-staging"]["tags"]["version"], "1.0.9");

    // e. Promotion: production gets staging's version, and the very same S3 object.
    tree.env("production", "life", "1.0.9", "life-prod", "Projects/");
    run(&tree, &["apply", "--auto-approve"]).success();
    let promoted = functions(aws, "life-");
    assert_eq!(
        code_hash(&promoted, "life-prod"),
        code_hash(&promoted, "life-staging")
    );
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(tree.work().join("life/terraform.tfstate")).unwrap(),
    )
    .unwrap();
    let s3_key = |environment: &str| {
        state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["type"] == "aws_lambda_function")
            .flat_map(|r| r["instances"].as_array().unwrap())
            .find(|instance| instance["index_key"] == environment)
            .map(|instance| {
                instance["attributes"]["s3_key"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .unwrap()
    };
    assert_eq!(s3_key("staging"), s3_key("production"));
    let objects: Vec<String> =
        serde_json::from_value(aws.probe(&["objects", "life-packages"])).unwrap();
    assert_eq!(
        objects
            .iter()
            .filter(|key| **key == s3_key("staging"))
            .count(),
        1,
        "{objects:?}"
    );
}

/// f. Two applies against one S3 state with `use_lockfile`: while A's apply holds the lock
/// (frozen there, so the moment cannot pass), B fails on it at once with the force-unlock
/// hint; A then finishes and the state stays whole.
#[test]
fn a_concurrent_apply_on_an_s3_state_meets_the_lock_and_the_state_stays_whole() {
    let aws = emulator();
    aws.create_buckets(&["lock-uploads", "lock-packages", "lock-state"]);
    let tree = Tree::new();
    tree.standard("lock", &[1, 2, 3]);
    let backend = [
        "--backend",
        "s3",
        "--backend-config",
        "bucket=lock-state",
        "--backend-config",
        "key=lock/terraform.tfstate",
        "--backend-config",
        "region=us-east-1",
        "--backend-config",
        "use_lockfile=true",
    ];
    let with_work = |work: &str, args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(backend.iter().map(|s| s.to_string()));
        let mut command = tree.command_in(
            &tree.temp.path().join(work),
            &all.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        command.envs(aws.env());
        command
    };
    // Runner B is initialised beforehand, so that it reaches the lock quickly.
    let warm = Run::from(with_work("b", &["plan"]).output().unwrap());
    warm.success();

    let mut a = with_work("a", &["apply", "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut a_lines = BufReader::new(a.stderr.take().unwrap()).lines();
    let mut a_seen = Vec::new();
    for line in a_lines.by_ref() {
        let line = line.unwrap();
        let applying = line.contains("Creating...");
        a_seen.push(line);
        if applying {
            break;
        }
    }
    assert!(
        a_seen.last().is_some_and(|l| l.contains("Creating...")),
        "runner A never applied:\n{}",
        a_seen.join("\n")
    );
    // A's terraform apply holds the lock now; freeze it (its own process group) there.
    let terraform = children(a.id())
        .into_iter()
        .next()
        .expect("runner A runs terraform");
    let group = nix::unistd::Pid::from_raw(terraform as i32);
    nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let objects: Vec<String> =
        serde_json::from_value(aws.probe(&["objects", "lock-state"])).unwrap();
    assert!(
        objects.iter().any(|key| key.ends_with(".tflock")),
        "{objects:?}"
    );
    let b = Run::from(
        with_work("b", &["apply", "--auto-approve", "--lock-timeout", "0s"])
            .output()
            .unwrap(),
    );
    nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGCONT).unwrap();
    a_seen.extend(a_lines.map(Result::unwrap));
    let a_status = a.wait().unwrap();
    assert!(
        a_status.success(),
        "runner A failed:\n{}",
        a_seen.join("\n")
    );
    assert_eq!(b.code, 1, "runner B did not fail:\n{}", b.stderr);
    assert!(
        b.stderr.contains("Error acquiring the state lock"),
        "{}",
        b.stderr
    );
    assert!(
        b.stderr.contains("force-unlock"),
        "the lock hint is missing:\n{}",
        b.stderr
    );

    // The state is whole: no lock is left, and a fresh plan against it has nothing to do.
    let objects: Vec<String> =
        serde_json::from_value(aws.probe(&["objects", "lock-state"])).unwrap();
    assert_eq!(objects, ["lock/terraform.tfstate"]);
    let state: Value = serde_json::from_str(
        aws.probe(&["get", "lock-state", "lock/terraform.tfstate"])
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let functions_in_state: usize = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "aws_lambda_function")
        .map(|r| r["instances"].as_array().unwrap().len())
        .sum();
    assert_eq!(functions_in_state, 5, "the state lost functions");
    let check = Run::from(
        with_work("c", &["plan", "--detailed-exitcode"])
            .output()
            .unwrap(),
    );
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
    assert_eq!(functions(aws, "lock-").len(), 5);
}

/// The pids whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            stat.rfind(')')
                .and_then(|end| stat[end + 1..].split_whitespace().nth(1)?.parse().ok())
                == Some(pid)
        })
        .collect()
}

/// g. SIGINT during apply is relayed once; terraform stops cleanly; nothing needs unlocking.
#[test]
fn an_interrupted_apply_stops_cleanly_and_leaves_no_lock() {
    let aws = emulator();
    aws.create_buckets(&["sig-uploads", "sig-packages"]);
    let tree = Tree::new();
    tree.standard("sig", &[1, 2, 3, 4, 5, 6]);
    let mut command = tree.command(&["apply", "--auto-approve"]);
    let mut child = command
        .envs(aws.env())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);

    // Interrupt as soon as terraform is creating resources; once the first is relayed,
    // interrupt again: that one must not reach terraform.
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let mut lines = stderr.lines();
    let mut interrupts = 0;
    for line in lines.by_ref() {
        let line = line.unwrap();
        let trigger = (interrupts == 0 && line.contains("Creating..."))
            || (interrupts == 1 && line.contains("relayed SIGINT"));
        seen.push(line);
        if trigger {
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
            interrupts += 1;
            if interrupts == 2 {
                break;
            }
        }
    }
    seen.extend(lines.map(Result::unwrap));
    let status = child.wait().unwrap();
    let stderr = seen.join("\n");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("relayed SIGINT to terraform once"),
        "{stderr}"
    );
    assert_eq!(interrupts, 2, "{stderr}");
    assert!(
        stderr.contains("Gracefully shutting down") || stderr.contains("Interrupt received"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Two interrupts received"),
        "terraform saw the second interrupt:\n{stderr}"
    );

    // The next plan takes the lock without any force-unlock and sees what is left to do.
    let next = run(
        &tree,
        &["plan", "--detailed-exitcode", "--lock-timeout", "0s"],
    );
    assert!(
        next.code == 2 || next.code == 0,
        "{}\n{}",
        next.stdout,
        next.stderr
    );
    assert!(!next.stderr.contains("force-unlock"), "{}", next.stderr);
}

/// The binary as the gitops repo's CI job runs it on a pull request: cwd = the gitops
/// checkout, no `--work-dir` or `--cache-dir`, the GitHub Actions variables set.
fn ci_command(tree: &Tree, runner_temp: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lambda-gitops"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", tree.temp.path())
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("RUNNER_TEMP", runner_temp)
        .envs(emulator().env())
        .current_dir(tree.gitops())
        .args(args)
        .arg("--gitops-dir")
        .arg(tree.gitops())
        .stdin(Stdio::null());
    command
}

/// The README's CI recipe for an S3 state: one state object per service.
fn readme_backend(bucket: &str, key: &str) -> Vec<String> {
    [
        "--backend",
        "s3",
        "--backend-config",
        &format!("bucket={bucket}"),
        "--backend-config",
        &format!("key={key}"),
        "--backend-config",
        "region=us-east-1",
        "--backend-config",
        "use_lockfile=true",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Issue 7, "Done when": a pull-request checkout that plants `.lambda-gitops/` content — a
/// provider script that would leave a mark if run, and an auto-loaded variables file that
/// would raise the memory — plans and applies two services with the README's backend recipe,
/// run the way CI runs it. Nothing planted runs or applies; each service has its own state.
#[test]
fn a_pull_request_checkout_with_planted_content_plans_and_applies_two_services_on_their_own_states()
{
    let aws = emulator();
    aws.create_buckets(&[
        "ci-a-uploads",
        "ci-a-packages",
        "ci-b-uploads",
        "ci-b-packages",
        "ci-state",
    ]);
    let tree = Tree::new();
    let mark = tree.temp.path().join("planted-provider-ran");
    for name in ["ci-a", "ci-b"] {
        tree.standard(name, &[]);
        tree.service_with(
            name,
            &format!("    path: \"packages/{name}-{{version}}.zip\"\n"),
            "  memorySize: 256\n",
        );
        tree.write(
            &format!(".lambda-gitops/{name}/.terraform/providers/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0_x5"),
            &format!("#!/bin/sh\ntouch '{}'\nexit 1\n", mark.display()),
        );
        tree.write(
            &format!(".lambda-gitops/{name}/x.auto.tfvars.json"),
            r#"{"memory_size": 3008}"#,
        );
        tree.write(&format!(".lambda-gitops/{name}/override.tf"), "locals {}\n");
    }
    let planted = tree.gitops().join(".lambda-gitops");
    for entry in walk(&planted) {
        if entry.to_string_lossy().contains("terraform-provider-") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    let before = walk(&planted);
    let runner_temp = tree.temp.path().join("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let backend = readme_backend("ci-state", "lambda/{service}.tfstate");
    let with_backend = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(backend.iter().map(String::as_str));
        Run::from(ci_command(&tree, &runner_temp, &all).output().unwrap())
    };

    let plan = with_backend(&["plan", "--detailed-exitcode", "--format", "markdown"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("memory `256 MiB`"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("3008"), "{}", plan.stdout);
    with_backend(&["apply", "--auto-approve"]).success();

    let created = functions(aws, "ci-");
    let names: Vec<&str> = created.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["ci-a-prod", "ci-a-staging", "ci-b-prod", "ci-b-staging"]
    );
    for (name, function) in &created {
        assert_eq!(function["memory_size"], 256, "{name}");
        assert_eq!(
            function["tags"]["service"],
            &name[..4],
            "{name} is tagged with its service"
        );
    }
    assert!(
        !mark.exists(),
        "terraform ran a provider planted in the checkout"
    );
    let states: Vec<String> = serde_json::from_value(aws.probe(&["objects", "ci-state"])).unwrap();
    assert_eq!(states, ["lambda/ci-a.tfstate", "lambda/ci-b.tfstate"]);
    assert!(runner_temp.join("lambda-gitops/ci-a/main.tf").is_file());
    assert_eq!(walk(&planted), before, "the checkout was written to");

    let again = with_backend(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

/// Issue 7 §2, defence in depth: two services run one at a time on one fixed state key —
/// the old README recipe. The second service's plan would destroy the first one's
/// functions: it is refused before apply, and the first service keeps running.
#[test]
fn a_plan_that_would_destroy_another_services_functions_is_refused() {
    let aws = emulator();
    aws.create_buckets(&[
        "fa-uploads",
        "fa-packages",
        "fb-uploads",
        "fb-packages",
        "fx-state",
    ]);
    let tree = Tree::new();
    tree.standard("fa", &[]);
    tree.standard("fb", &[]);
    let backend = readme_backend("fx-state", "lambda/terraform.tfstate");
    let apply = |service: &str| {
        let mut args = vec!["apply", "--auto-approve", "--service", service];
        args.extend(backend.iter().map(String::as_str));
        run(&tree, &args)
    };
    apply("fa").success();
    assert_eq!(functions(aws, "fa-").len(), 2);

    let refused = apply("fb");
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    for needle in [
        "fb: the plan would replace `aws_iam_role.execution[0]`",
        "of `fa`",
        "s3 backend key=lambda/terraform.tfstate",
        "--backend-config key=lambda/{service}.tfstate",
    ] {
        assert!(
            refused.stderr.contains(needle),
            "{needle:?}:\n{}",
            refused.stderr
        );
    }
    let fa = functions(aws, "fa-");
    assert_eq!(fa.len(), 2, "fa's functions were destroyed");
    assert!(functions(aws, "fb-").is_empty());
}

/// Every file under `dir`, sorted.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
