//! `plan --out-dir` → `apply --plan-dir`, with real terraform, the real AWS provider and
//! moto on loopback (one emulator for this file): the reviewed plan is the one applied,
//! also from a new commit with the same inputs; a plan whose gitops input changed, a plan
//! dir tampered with, another state, and a state that moved on since the plan are refused,
//! and nothing is applied then.

mod common;

use std::io::{Read, Write};
use std::path::Path;

use common::aws::emulator;
use common::{Run, Tree};
use serde_json::Value;

fn run(tree: &Tree, args: &[&str]) -> Run {
    Run::from(tree.command(args).envs(emulator().env()).output().unwrap())
}

fn functions(prefix: &str) -> serde_json::Map<String, Value> {
    emulator()
        .probe(&["functions", prefix])
        .as_object()
        .unwrap()
        .clone()
}

fn git(repo: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .current_dir(repo)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env_remove("GIT_DIR")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn commit(repo: &Path, message: &str) -> String {
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "--allow-empty", "-m", message]);
    git(repo, &["rev-parse", "HEAD"])
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The saved plan with one more file in its embedded configuration (a resource that would
/// run a command on the CI machine), its manifest updated to match.
fn plant_configuration(service_dir: &Path) {
    let plan_path = service_dir.join("plan.tfplan");
    let bytes = std::fs::read(&plan_path).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.start_file(name, options).unwrap();
        out.write_all(&data).unwrap();
    }
    out.start_file("tfconfig/m-/evil.tf", options).unwrap();
    out.write_all(
        b"resource \"terraform_data\" \"x\" {\n  provisioner \"local-exec\" {\n    command = \"touch /tmp/planted\"\n  }\n}\n",
    )
    .unwrap();
    let planted = out.finish().unwrap().into_inner();
    std::fs::write(&plan_path, &planted).unwrap();
    let manifest_path = service_dir.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["inputs"]["plan"] = sha256_hex(&planted).into();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
}

/// Issue 9 §4 and "Done when": the plan reviewed on the pull request is the one applied
/// after the merge, and `apply --plan-dir` refuses a plan whose gitops input changed.
#[test]
fn the_reviewed_plan_is_applied_and_one_whose_input_changed_is_refused() {
    let aws = emulator();
    aws.create_buckets(&["hand-uploads", "hand-packages"]);
    let tree = Tree::new();
    tree.standard("hand", &[]);
    let repo = tree.gitops();
    git(&repo, &["init", "-q"]);
    commit(&repo, "main");
    // The pull request adds preview 4.
    tree.preview("pr-4", "hand", "1.1.0-pr4");
    tree.package("packages/hand-1.1.0-pr4.zip", "hand pr 4");
    let reviewed = commit(&repo, "preview 4");
    let plans = tree.temp.path().join("plans");
    let plan = run(&tree, &["plan", "--out-dir", plans.to_str().unwrap()]);
    plan.success();
    let saved = plans.join("hand");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(saved.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["schemaVersion"], 1);
    assert_eq!(manifest["service"], "hand");
    assert_eq!(manifest["gitopsCommit"], reviewed.as_str());
    assert_eq!(manifest["hasChanges"], true);
    assert_eq!(
        manifest["providers"]["registry.terraform.io/hashicorp/aws"],
        "5.100.0"
    );
    assert!(manifest["terraformVersion"]
        .as_str()
        .unwrap()
        .starts_with("1."));
    let configs = manifest["inputs"]["configs"].as_object().unwrap();
    assert!(
        configs.contains_key("environments/preview/pr-4/services/hand.values.yaml")
            && configs.contains_key("services/hand/config.yaml"),
        "{configs:?}"
    );
    assert_eq!(manifest["inputs"]["packages"].as_array().unwrap().len(), 3);
    assert!(saved.join("plan.tfplan").is_file());
    assert!(saved.join("module/main.tf").is_file());
    assert!(saved.join("lambda-gitops.tfvars.json").is_file());
    // Packages are recorded by hash, not copied: they are content-addressed.
    let zips = walk(&plans)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "zip"))
        .count();
    assert_eq!(zips, 0);
    let plan_dir = plans.to_str().unwrap();

    // A later push changes the preview's version: the saved plan no longer matches.
    tree.preview("pr-4", "hand", "1.1.0-pr4b");
    tree.package("packages/hand-1.1.0-pr4b.zip", "hand pr 4b");
    let stale = run(&tree, &["apply", "--auto-approve", "--plan-dir", plan_dir]);
    assert_eq!(stale.code, 1, "{}", stale.stderr);
    assert!(
        stale.stderr.contains("hand: stale plan: re-run plan (the gitops config changed: `environments/preview/pr-4/services/hand.values.yaml`; the rendered variables differ; the package hashes differ)"),
        "{}",
        stale.stderr
    );
    assert!(functions("hand-").is_empty(), "nothing is applied");

    // Back to what was reviewed, in a new commit (as the merge commit is): not stale.
    tree.preview("pr-4", "hand", "1.1.0-pr4");
    let merge = commit(&repo, "merge");
    assert_ne!(merge, reviewed);

    // A plan dir whose plan gained a resource in its embedded configuration is refused
    // before terraform applies anything, and nothing of it runs.
    let tampered = tree.temp.path().join("tampered");
    copy_dir(&plans, &tampered);
    plant_configuration(&tampered.join("hand"));
    let refused = run(
        &tree,
        &[
            "apply",
            "--auto-approve",
            "--plan-dir",
            tampered.to_str().unwrap(),
        ],
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("its configuration is not the module lambda-gitops wrote"),
        "{}",
        refused.stderr
    );
    assert!(!Path::new("/tmp/planted").exists());
    // A manifest that does not name the plan file beside it.
    std::fs::write(tampered.join("hand/plan.tfplan"), b"PK").unwrap();
    let refused = run(
        &tree,
        &[
            "apply",
            "--auto-approve",
            "--plan-dir",
            tampered.to_str().unwrap(),
        ],
    );
    assert!(
        refused
            .stderr
            .contains("`plan.tfplan` is not the plan its manifest names"),
        "{}",
        refused.stderr
    );
    // A plan file that is a symlink is not followed.
    std::fs::remove_file(tampered.join("hand/plan.tfplan")).unwrap();
    std::os::unix::fs::symlink(saved.join("plan.tfplan"), tampered.join("hand/plan.tfplan"))
        .unwrap();
    let refused = run(
        &tree,
        &[
            "apply",
            "--auto-approve",
            "--plan-dir",
            tampered.to_str().unwrap(),
        ],
    );
    assert!(
        refused
            .stderr
            .contains("`plan.tfplan` is not a regular file"),
        "{}",
        refused.stderr
    );
    assert!(functions("hand-").is_empty(), "nothing is applied");

    // The plan names its state: applying it to another one is refused.
    let other_state = tree.temp.path().join("other.tfstate");
    let refused = run(
        &tree,
        &[
            "apply",
            "--auto-approve",
            "--plan-dir",
            plan_dir,
            "--backend-config",
            &format!("path={}", other_state.display()),
        ],
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("its backend"), "{}", refused.stderr);
    assert!(functions("hand-").is_empty(), "nothing is applied");

    // The reviewed plan applies, from the merge commit.
    let applied = run(&tree, &["apply", "--auto-approve", "--plan-dir", plan_dir]);
    applied.success();
    assert!(
        applied.stdout.contains("hand: applied: "),
        "{}",
        applied.stdout
    );
    let created = functions("hand-");
    let names: Vec<&String> = created.keys().collect();
    assert_eq!(names, ["hand-prod", "hand-prod-pr-4", "hand-staging"]);
    assert_eq!(created["hand-prod-pr-4"]["tags"]["version"], "1.1.0-pr4");

    // State moves on between the plan and its apply: terraform's own check refuses it.
    tree.env("staging", "hand", "1.0.0", "hand-staging", "staging/");
    let later = tree.temp.path().join("later");
    run(&tree, &["plan", "--out-dir", later.to_str().unwrap()]).success();
    run(&tree, &["apply", "--auto-approve"]).success();
    let moved_on = run(
        &tree,
        &[
            "apply",
            "--auto-approve",
            "--plan-dir",
            later.to_str().unwrap(),
        ],
    );
    assert_eq!(moved_on.code, 1, "{}", moved_on.stderr);
    assert!(
        moved_on
            .stderr
            .contains("hand: stale plan: re-run plan (the state changed since the plan was made)"),
        "{}",
        moved_on.stderr
    );
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
