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

/// `apply --auto-approve --plan-dir DIR`, as the merge job runs it.
fn apply_reviewed(tree: &Tree, dir: &str) -> Run {
    run(tree, &["apply", "--auto-approve", "--plan-dir", dir])
}

fn functions(prefix: &str) -> serde_json::Map<String, Value> {
    emulator()
        .probe(&["functions", prefix])
        .as_object()
        .unwrap()
        .clone()
}

fn git(repo: &Path, args: &[&str]) -> String {
    common::git::git(repo, args).trim().to_owned()
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
    replace_plan(service_dir, &out.finish().unwrap().into_inner());
}

/// Puts `plan` in a saved plan's place, with the manifest's hash of it updated to match: the
/// manifest sits in the same untrusted folder.
fn replace_plan(service_dir: &Path, plan: &[u8]) {
    std::fs::write(service_dir.join("plan.tfplan"), plan).unwrap();
    let manifest_path = service_dir.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["inputs"]["plan"] = sha256_hex(plan).into();
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
    let stale = apply_reviewed(&tree, plan_dir);
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
    let refused = apply_reviewed(&tree, tampered.to_str().unwrap());
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
    let refused = apply_reviewed(&tree, tampered.to_str().unwrap());
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
    let refused = apply_reviewed(&tree, tampered.to_str().unwrap());
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
    let applied = apply_reviewed(&tree, plan_dir);
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
    let moved_on = apply_reviewed(&tree, later.to_str().unwrap());
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

/// The staging config of `keep` with its memory size.
fn staging_with_memory(tree: &Tree, memory: u32) {
    tree.write(
        "environments/staging/keep/config.yaml",
        &format!(
            "serviceName: keep\nenvName: staging\nlambda:\n  version: \"1.0.0\"\n  functionName: keep-staging\n  s3TriggerPrefix: \"staging/\"\n  memorySize: {memory}\ngitVersion:\n  sha: \"abcdef1234567\"\n  shortSha: \"abcdef1\"\n"
        ),
    );
}

/// A plan made by hand in lambda-gitops's own work dir for `keep`, with terraform's `flags`,
/// against the same module, variables and state — what an attacker who can replace the CI
/// artifact can make — put in the plan dir as `plan.tfplan`.
fn plant_plan(tree: &Tree, plan_dir: &Path, flags: &[&str]) {
    let work = tree.work().join("keep");
    let crafted = tree.temp.path().join("crafted.tfplan");
    let output = std::process::Command::new("terraform")
        .current_dir(&work)
        .envs(emulator().env())
        .env("TF_DATA_DIR", work.join(".terraform"))
        .env("TF_IN_AUTOMATION", "1")
        .args([
            "plan",
            "-input=false",
            "-lock=false",
            "-no-color",
            "-var-file=lambda-gitops.tfvars.json",
        ])
        .arg(format!("-out={}", crafted.display()))
        .args(flags)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "terraform plan {flags:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    replace_plan(&plan_dir.join("keep"), &std::fs::read(&crafted).unwrap());
}

/// Issue 18 §1: the honest artifact of a benign pull request (staging's memory 256 → 384)
/// with its plan file replaced by one that destroys, targets, force-replaces or only
/// refreshes — the manifest's hash set to match — is refused, and nothing changes in the
/// emulator; a `plan.json` that does not describe the plan made now is refused naming the
/// deployment and attribute; the honest artifact then applies.
#[test]
fn tampered_destroy_target_replace_and_refresh_only_plans_are_refused_with_nothing_changed() {
    let aws = emulator();
    aws.create_buckets(&["keep-uploads", "keep-packages"]);
    let tree = Tree::new();
    tree.standard("keep", &[]);
    staging_with_memory(&tree, 256);
    run(&tree, &["apply", "--auto-approve"]).success();
    let before = functions("keep-");
    assert_eq!(before["keep-staging"]["memory_size"], 256);

    // The pull request: staging's memory 256 → 384, planned and saved for review.
    staging_with_memory(&tree, 384);
    let plans = tree.temp.path().join("plans");
    run(&tree, &["plan", "--out-dir", plans.to_str().unwrap()]).success();
    let honest = std::fs::read(plans.join("keep/plan.tfplan")).unwrap();
    let honest_manifest = std::fs::read(plans.join("keep/manifest.json")).unwrap();

    let cases: [(&[&str], &str); 4] = [
        (&["-destroy", "-refresh=false"], "it is a destroy plan"),
        (
            &["-target=aws_lambda_function.this[\"production\"]"],
            "it targets `aws_lambda_function.this[\"production\"]`",
        ),
        (
            &["-replace=aws_lambda_function.this[\"production\"]"],
            "it forces the replacement of `aws_lambda_function.this[\"production\"]`",
        ),
        (&["-refresh-only"], "it is a refresh-only plan"),
    ];
    for (flags, refusal) in cases {
        plant_plan(&tree, &plans, flags);
        let refused = apply_reviewed(&tree, plans.to_str().unwrap());
        assert_eq!(refused.code, 1, "{flags:?}: {}", refused.stderr);
        assert!(
            refused.stderr.contains(refusal),
            "{flags:?}: {}",
            refused.stderr
        );
        assert!(!refused.stdout.contains("applied"), "{}", refused.stdout);
        let after = functions("keep-");
        assert_eq!(
            after.keys().collect::<Vec<_>>(),
            before.keys().collect::<Vec<_>>(),
            "{flags:?}: every function is still there"
        );
        for (name, function) in &after {
            assert_eq!(function["live"], before[name]["live"], "{flags:?}: {name}");
            assert_eq!(
                function["memory_size"], before[name]["memory_size"],
                "{flags:?}: {name}"
            );
        }
    }

    // The honest plan file, with a `plan.json` that describes another change than the one a
    // plan makes now: refused, naming the deployment and the attribute.
    std::fs::write(plans.join("keep/plan.tfplan"), &honest).unwrap();
    std::fs::write(plans.join("keep/manifest.json"), &honest_manifest).unwrap();
    let json_path = plans.join("keep/plan.json");
    let honest_json = std::fs::read_to_string(&json_path).unwrap();
    let mut described: Value = serde_json::from_str(&honest_json).unwrap();
    for change in described["resource_changes"].as_array_mut().unwrap() {
        if change["address"] == "aws_lambda_function.this[\"staging\"]" {
            change["change"]["after"]["memory_size"] = 512.into();
        }
    }
    std::fs::write(&json_path, described.to_string()).unwrap();
    let refused = apply_reviewed(&tree, plans.to_str().unwrap());
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(
            "keep: the plan made now is not the reviewed plan, so nothing was applied: staging: `aws_lambda_function.this[\"staging\"]` after.memory_size is 384 now, 512 as reviewed"
        ),
        "{}",
        refused.stderr
    );
    assert_eq!(functions("keep-")["keep-staging"]["memory_size"], 256);

    // The honest artifact applies: what was reviewed is what runs.
    std::fs::write(&json_path, honest_json).unwrap();
    let applied = apply_reviewed(&tree, plans.to_str().unwrap());
    applied.success();
    let after = functions("keep-");
    assert_eq!(after["keep-staging"]["memory_size"], 384);
    assert_eq!(after["keep-prod"]["live"], before["keep-prod"]["live"]);
}

/// Issue 18 §5: a plan file of five zero-filled 255 MiB entries (a zip bomb of about a
/// megabyte) is refused with a clear error before terraform starts, and the run's peak memory
/// stays far below what one entry would take.
#[test]
fn a_plan_archive_bomb_is_refused_within_a_bounded_peak_memory() {
    emulator().create_buckets(&["hand-uploads", "hand-packages"]);
    let tree = Tree::new();
    tree.standard("hand", &[]);
    let service_dir = tree.temp.path().join("bomb/hand");
    std::fs::create_dir_all(&service_dir).unwrap();
    let plan = service_dir.join("plan.tfplan");
    let made = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
             with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n\
             \x20   z.writestr('tfplan', b'\\x08\\x03')\n\
             \x20   block = bytes(1 << 20)\n\
             \x20   for i in range(5):\n\
             \x20       with z.open(f'tfconfig/m-/zeros{i}.tf', 'w', force_zip64=True) as f:\n\
             \x20           for _ in range(255):\n\
             \x20               f.write(block)\n",
        )
        .arg(&plan)
        .status()
        .unwrap();
    assert!(made.success());
    let bytes = std::fs::read(&plan).unwrap();
    assert!(bytes.len() < 4 << 20, "{} bytes", bytes.len());
    let hash = "0".repeat(64);
    let manifest = serde_json::json!({
        "schemaVersion": 1, "service": "hand", "toolVersion": "0.1.0", "gitopsCommit": null,
        "terraformVersion": "1.11.0", "providers": {}, "hasChanges": false,
        "inputs": {
            "configs": {}, "variables": hash, "module": {}, "packages": [],
            "adoptedLogGroups": [], "plan": sha256_hex(&bytes)
        }
    });
    std::fs::write(service_dir.join("manifest.json"), manifest.to_string()).unwrap();

    let stderr_path = tree.temp.path().join("stderr");
    let mut command = tree.command(&[
        "apply",
        "--auto-approve",
        "--plan-dir",
        tree.temp.path().join("bomb").to_str().unwrap(),
    ]);
    command
        .envs(emulator().env())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    let (code, peak_kib) = run_measured(command);
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("its plan and configuration unzip to more than 64 MiB"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("$ terraform"),
        "terraform never started: {stderr}"
    );
    // One entry alone would be 255 MiB; the reader keeps at most 64 MiB.
    assert!(peak_kib < 200 * 1024, "peak resident memory {peak_kib} KiB");
}

/// Runs `command` to its end; its exit code and peak resident memory (KiB), from the
/// kernel's own accounting of that child.
// The child is reaped by `wait4`, which `Child::wait` cannot do while giving its rusage.
#[allow(clippy::zombie_processes)]
fn run_measured(mut command: std::process::Command) -> (i32, i64) {
    use nix::libc;
    let child = command.spawn().unwrap();
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value of that plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, whose pid `spawn` returned; `status` and `usage` are
    // valid for writes.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    (libc::WEXITSTATUS(status), usage.ru_maxrss)
}
