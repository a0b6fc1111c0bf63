//! End to end: the binary, real terraform, the real AWS provider and moto on loopback. One
//! emulator serves the whole file; each test has its own service, buckets and functions.
//! Everything is checked through the emulator's API (the AWS SDK, `tests/common/aws.rs`),
//! not terraform's output.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::aws::{emulator, Emulator};
use common::{openssl_base64_sha256, Run, Tree};
use serde_json::{json, Value};

/// What `apply --auto-approve` logs when one `terraform apply` plans and applies, the state
/// checked first (issue 21).
const EARLY: &str = "the state holds nothing of another service: planning and applying in one step";

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

/// A deployment's `live` alias: the version it points at and that version's code.
fn live(function: &Value) -> (String, String) {
    (
        function["live"].as_str().unwrap_or_default().to_owned(),
        function["live_code_sha256"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// The numbered versions a function has published (`$LATEST` left out).
fn published(function: &Value) -> Vec<String> {
    function["versions"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|v| *v != "$LATEST")
        .cloned()
        .collect()
}

fn log_groups(aws: &Emulator, prefix: &str) -> BTreeMap<String, Value> {
    serde_json::from_value(aws.probe(&["log-groups", prefix])).unwrap()
}

fn policy(aws: &Emulator, function: &str, qualifier: &str) -> BTreeMap<String, Value> {
    serde_json::from_value(aws.probe(&["policy", function, qualifier])).unwrap()
}

/// a–e of the issue, in order, on one service: create (each function behind its `live`
/// alias, with its log group and an alias-scoped S3 permission), no-op, close a preview
/// (function, alias, permission, trigger and log group all go), roll staging back while
/// production is promoted to the same S3 object, then revert the rollback — each change
/// publishes a version and moves the alias, and old versions beyond `keepVersions` go.
#[test]
fn a_service_lives_through_create_noop_preview_removal_rollback_and_promotion() {
    let aws = emulator();
    aws.create_buckets(&["life-uploads", "life-packages"]);
    let tree = Tree::new();
    tree.standard("life", &[7, 9]);
    tree.service_with(
        "life",
        "    path: \"packages/life-{version}.zip\"\n",
        "  keepVersions: 2\n",
    );
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
    // A state that holds nothing of another service is planned and applied in one step
    // (issues 12 §1 and 21).
    assert!(first.stderr.contains(EARLY), "{}", first.stderr);
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
    for (name, function) in &created {
        // Each function runs a published version behind `live`, never $LATEST.
        let (version, code) = live(function);
        assert!(version.parse::<u32>().is_ok(), "{name}: live → {version:?}");
        assert_eq!(code, function["code_sha256"].as_str().unwrap(), "{name}");
        assert_eq!(function["tags"]["service"], "life", "{name}");
        assert_eq!(
            function["tags"]["lambda_gitops_version"],
            env!("CARGO_PKG_VERSION"),
            "{name}"
        );
        // S3 may invoke the alias, from the trigger bucket of this account only.
        let statement = &function["live_policy"]["AllowS3InvokeLive"];
        assert_eq!(
            statement["source_arn"], "arn:aws:s3:::life-uploads",
            "{name}"
        );
        assert_eq!(statement["source_account"], "123456789012", "{name}");
        assert_eq!(
            statement["resource"],
            format!("{}:live", function["arn"].as_str().unwrap()),
            "{name}"
        );
    }
    assert_eq!(
        notifications(aws, "life-uploads"),
        map(&[
            ("staging/", "life-staging:live"),
            ("Projects/", "life-prod:live"),
            ("preview/pr-7/", "life-prod-pr-7:live"),
            ("preview/pr-9/", "life-prod-pr-9:live"),
            ("preview/pr-42/", "life-prod-pr-42:live"),
        ])
    );
    let groups = log_groups(aws, "/aws/lambda/life-");
    assert_eq!(groups.len(), 5, "{groups:?}");
    for name in created.keys() {
        let group = &groups[&format!("/aws/lambda/{name}")];
        assert_eq!(group["retention"], 30, "{name}");
        assert_eq!(group["tags"]["service"], "life", "{name}");
    }
    assert_eq!(
        groups["/aws/lambda/life-prod-pr-7"]["tags"]["environment"],
        "pr-7"
    );

    // The module outputs the design's vocabulary, exactly as `vars` derives it.
    let outputs: Value =
        serde_json::from_str(&terraform(&tree.work().join("life"), &["output", "-json"]).stdout)
            .unwrap();
    let vars = run(&tree, &["vars"]);
    vars.success();
    let vars = vars.json();
    assert_eq!(
        outputs["preview_prs"]["value"],
        serde_json::json!(["7", "9", "42"])
    );
    for name in ["preview_prs", "versions", "source_code_hashes"] {
        assert_eq!(outputs[name]["value"], vars[name], "{name}");
    }
    assert_eq!(
        outputs["source_code_hashes"]["value"]["staging"],
        package("1.1.0")
    );
    assert_eq!(
        outputs["deployments"]["value"]["pr-9"]["alias_arn"],
        format!(
            "{}:live",
            created["life-prod-pr-9"]["arn"].as_str().unwrap()
        )
    );

    // b. An immediate plan has nothing to do.
    let noop = run(&tree, &["plan", "--detailed-exitcode"]);
    assert_eq!(noop.code, 0, "{}\n{}", noop.stdout, noop.stderr);
    assert!(noop.stdout.contains("life: no changes"), "{}", noop.stdout);

    // c. A closed PR's directory is deleted: its function, alias, permission, trigger and
    // log group go, nothing else.
    tree.remove("environments/preview/pr-7");
    let removed = run(&tree, &["apply", "--auto-approve"]);
    removed.success();
    // Its own resources only, so it too is planned and applied in one step — and the
    // report still says what went.
    assert!(removed.stderr.contains(EARLY), "{}", removed.stderr);
    assert!(
        removed
            .stdout
            .lines()
            .any(|line| line.contains("pr-7") && line.contains("delete")),
        "{}",
        removed.stdout
    );
    let after = functions(aws, "life-");
    assert!(!after.contains_key("life-prod-pr-7"));
    assert_eq!(policy(aws, "life-prod-pr-7", "live"), BTreeMap::new());
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
        assert_eq!(after[name]["live"], created[name]["live"], "{name}");
    }
    let triggers = notifications(aws, "life-uploads");
    assert!(!triggers.contains_key("preview/pr-7/"), "{triggers:?}");
    assert_eq!(triggers.len(), 4);
    let groups = log_groups(aws, "/aws/lambda/life-");
    assert!(
        !groups.contains_key("/aws/lambda/life-prod-pr-7"),
        "{groups:?}"
    );
    assert_eq!(groups.len(), 4);

    // d. Rollback and promotion in one change: staging goes back to an older version and
    // production gets it too — the very same S3 object. Each publishes a version and its
    // alias moves there.
    tree.env("staging", "life", "1.0.9", "life-staging", "staging/");
    tree.env("production", "life", "1.0.9", "life-prod", "Projects/");
    let rollback = run(&tree, &["apply", "--auto-approve", "--format", "json"]);
    rollback.success();
    let report = rollback.json();
    let staging_change = report["services"][0]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["deployment"] == "staging")
        .unwrap()
        .clone();
    assert_eq!(staging_change["versionBefore"], "1.1.0");
    assert_eq!(staging_change["versionAfter"], "1.0.9");
    // keepVersions 2: nothing to delete yet.
    assert_eq!(report["services"][0]["versionCleanup"]["deleted"], 0);
    let rolled = functions(aws, "life-");
    let older_hash = openssl_base64_sha256(&older);
    assert_eq!(code_hash(&rolled, "life-staging"), older_hash);
    assert_eq!(rolled["life-staging"]["tags"]["version"], "1.0.9");
    for name in ["life-staging", "life-prod"] {
        let (version, code) = live(&rolled[name]);
        assert_ne!(
            version,
            live(&created[name]).0,
            "{name}: the alias did not move"
        );
        assert_eq!(code, older_hash, "{name}");
        assert_eq!(published(&rolled[name]).len(), 2, "{name}");
    }
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

    // e. The rollback is reverted in the gitops repo: staging runs the earlier package
    // again (same CodeSha256) as a new version, and of its three versions the oldest,
    // neither aliased nor among the newest two, is deleted. $LATEST stays.
    tree.env("staging", "life", "1.1.0", "life-staging", "staging/");
    let revert = run(&tree, &["apply", "--auto-approve", "--format", "json"]);
    revert.success();
    assert_eq!(
        revert.json()["services"][0]["versionCleanup"]["deleted"],
        1,
        "{}",
        revert.stdout
    );
    assert!(
        revert
            .stderr
            .contains("version clean-up deleted 1 old version"),
        "{}",
        revert.stderr
    );
    let reverted = functions(aws, "life-");
    let staging = &reverted["life-staging"];
    assert_eq!(live(staging).1, package("1.1.0"));
    assert_eq!(code_hash(&reverted, "life-staging"), package("1.1.0"));
    assert_eq!(published(staging).len(), 2, "{staging}");
    assert!(staging["versions"]["$LATEST"].is_string());
    assert!(
        !published(staging).contains(&live(&created["life-staging"]).0),
        "the oldest version was kept: {staging}"
    );
    // Production keeps both its versions (two is within keepVersions).
    assert_eq!(published(&reverted["life-prod"]).len(), 2);

    // f. Issue 9: someone raises staging's memory in the console. The scheduled drift
    // check (`--refresh`: terraform reads every service, changed since its last apply or
    // not — issue 21) exits 2 and names what drifted, in Lambda terms, without the
    // provider's read-back noise.
    aws.probe(&["set-memory", "life-staging", "1024"]);
    let drift = run(&tree, &["plan", "--detailed-exitcode", "--refresh"]);
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    assert!(
        drift.stdout.contains("drift: staging (aws_lambda_function.this[\"staging\"]): memory_size changed outside the gitops repo: 128 → 1024, this plan reverts it"),
        "{}",
        drift.stdout
    );
    assert_eq!(
        drift.stdout.matches("drift: ").count(),
        1,
        "{}",
        drift.stdout
    );

    // g. A pull request adds preview 11 and bumps staging: its one comment on the local
    // GitHub says both in Lambda terms, from terraform's real plan.
    tree.preview("pr-11", "life", "1.2.0-pr11");
    tree.package("packages/life-1.2.0-pr11.zip", "life pr 11");
    tree.env("staging", "life", "1.2.0", "life-staging", "staging/");
    tree.package("packages/life-1.2.0.zip", "life 1.2.0");
    let github = common::github::FakeGithub::start();
    let token = "ghs_e2e_token_never_shown";
    let commented = Run::from(
        tree.command(&["plan", "--github-comment", "--pr", "11"])
            .envs(emulator().env())
            .env("GITHUB_REPOSITORY", "acme/gitops")
            .env("GITHUB_API_URL", &github.api_url)
            .env("GITHUB_TOKEN", token)
            .output()
            .unwrap(),
    );
    commented.success();
    let comments = github.comments("acme/gitops", 11);
    assert_eq!(comments.len(), 1);
    let body = &comments[0].body;
    for needle in [
        "`staging` update `1.1.0` → `1.2.0` (new package)",
        "previews added: `pr-11`",
        "| `pr-11` | create | `life-prod-pr-11` | → `1.2.0-pr11` |",
        "to remove: superseded, `staging` ran it before this version change",
        "- `staging` `memory_size`: `128` → `1024`, this plan reverts it",
    ] {
        assert!(body.contains(needle), "{needle:?} is not in:\n{body}");
    }
    assert!(!body.contains(token));
}

/// Runs terraform itself in `dir` against the emulator; its output.
fn terraform(dir: &std::path::Path, args: &[&str]) -> Run {
    let run = Run::from(
        std::process::Command::new("terraform")
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TF_IN_AUTOMATION", "1")
            .envs(emulator().env())
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    );
    run.success();
    run
}

fn sha256_hex(path: &std::path::Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The variables the first module version (tests/fixtures/module-v1, the module at
/// commit 163e52e) took for a standard service with staging, production and previews,
/// as that lambda-gitops rendered them; the packages are placed beside them.
fn v1_variables(tree: &Tree, service: &str, prs: &[u64], work: &std::path::Path) -> Value {
    let mut packages = serde_json::Map::new();
    let mut place = |version: &str| {
        let file = tree
            .gitops()
            .join(format!("packages/{service}-{version}.zip"));
        let hex = sha256_hex(&file);
        let relative = format!("packages/{hex}.zip");
        std::fs::create_dir_all(work.join("packages")).unwrap();
        std::fs::copy(&file, work.join(&relative)).unwrap();
        packages.insert(hex.clone(), relative.into());
        (hex, openssl_base64_sha256(&file))
    };
    let (staging_hex, staging_hash) = place("1.1.0");
    let (production_hex, production_hash) = place("1.0.0");
    let previews: Vec<(String, String, String)> = prs
        .iter()
        .map(|pr| {
            let (hex, hash) = place(&format!("1.1.0-pr{pr}"));
            (pr.to_string(), hex, hash)
        })
        .collect();
    let by_pr = |f: &dyn Fn(&(String, String, String)) -> Value| -> Value {
        previews
            .iter()
            .map(|p| (p.0.clone(), f(p)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    serde_json::json!({
        "service_name": service, "aws_region": "us-east-1",
        "runtime": "python3.12", "handler": "app.handler", "memory_size": 128, "timeout": 3,
        "role_arn": "", "trigger_bucket": format!("{service}-uploads"),
        "package_bucket": format!("{service}-packages"),
        "package_key_prefix": format!("lambda-packages/{service}/"), "packages": packages,
        "staging_version": "1.1.0", "staging_commit_sha": "abcdef1234567",
        "staging_source_code_hash": staging_hash, "staging_function_name": format!("{service}-staging"),
        "staging_trigger_prefix": "staging/", "staging_environment": {}, "staging_package": staging_hex,
        "production_version": "1.0.0", "production_commit_sha": "abcdef1234567",
        "production_source_code_hash": production_hash, "production_function_name": format!("{service}-prod"),
        "production_trigger_prefix": "Projects/", "production_environment": {}, "production_package": production_hex,
        "preview_prs": previews.iter().map(|p| p.0.clone()).collect::<Vec<_>>(),
        "preview_versions": by_pr(&|p| format!("1.1.0-pr{}", p.0).into()),
        "preview_commit_shas": by_pr(&|_| "1234567abc".into()),
        "preview_source_code_hashes": by_pr(&|p| p.2.clone().into()),
        "preview_function_names": by_pr(&|p| format!("{service}-prod-pr-{}", p.0).into()),
        "preview_trigger_prefixes": by_pr(&|p| format!("preview/pr-{}/", p.0).into()),
        "preview_environment": {},
        "preview_packages": by_pr(&|p| p.1.clone().into()),
        "preview_s3_keys": {},
    })
}

/// Issue 10 §1, "upgrade without replacement": a service applied with the first module
/// version (its state, work dir and functions as that lambda-gitops left them; staging's
/// function has run, so its log group exists) is upgraded by the bundled module. The plan
/// moves every function to its new address and replaces or destroys no function and no
/// notification; the S3 permissions move to the alias create-before-destroy (the new one
/// exists before the trigger points at it and before the old one goes); the existing log
/// group is adopted, not created. The service's name is long enough that the first module
/// cut its role's name short: the role is renamed create-before-destroy, the functions
/// switch to it in place. Afterwards nothing is left to change.
#[test]
fn state_of_the_first_module_upgrades_without_replacing_a_function_or_a_trigger() {
    let aws = emulator();
    // 50 characters: `<service>-lambda-execution` would be 67.
    let service = format!("up{}", "x".repeat(48));
    let name = |suffix: &str| format!("{service}-{suffix}");
    aws.create_buckets(&[&name("uploads"), &name("packages")]);
    let tree = Tree::new();
    tree.standard(&service, &[7]);
    let work = tree.work().join(&service);
    let v1 = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/module-v1");
    std::fs::create_dir_all(&work).unwrap();
    for entry in std::fs::read_dir(&v1).unwrap().flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        if file.ends_with(".tf") || file == ".terraform.lock.hcl" {
            std::fs::copy(entry.path(), work.join(&*file)).unwrap();
        }
    }
    let variables = v1_variables(&tree, &service, &[7], &work);
    std::fs::write(
        work.join("lambda-gitops.tfvars.json"),
        variables.to_string(),
    )
    .unwrap();
    terraform(&work, &["init", "-input=false", "-no-color"]);
    terraform(
        &work,
        &[
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            "-var-file=lambda-gitops.tfvars.json",
        ],
    );
    let before = functions(aws, &service);
    assert_eq!(before.len(), 3);
    assert_eq!(
        notifications(aws, &name("uploads"))["staging/"],
        name("staging"),
        "the first module triggers the function itself"
    );
    let old_role = format!("{service}-lambda-execut");
    assert_eq!(
        before[&name("staging")]["role"],
        format!("arn:aws:iam::123456789012:role/{old_role}")
    );
    // Staging has run: Lambda made its log group, without retention.
    aws.probe(&[
        "create-log-group",
        &format!("/aws/lambda/{}", name("staging")),
    ]);

    let upgrade = run(&tree, &["apply", "--auto-approve"]);
    upgrade.success();
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("plan.json")).unwrap()).unwrap();
    let changes = plan["resource_changes"].as_array().unwrap();
    let actions = |address: &str| -> Vec<String> {
        let change = changes
            .iter()
            .find(|c| c["address"] == address)
            .unwrap_or_else(|| panic!("{address} is not in the plan"));
        serde_json::from_value(change["change"]["actions"].clone()).unwrap()
    };
    for change in changes {
        let kind = change["type"].as_str().unwrap();
        let acts = &change["change"]["actions"];
        if matches!(kind, "aws_lambda_function" | "aws_s3_bucket_notification") {
            assert!(
                !acts.as_array().unwrap().iter().any(|a| a == "delete"),
                "{} is {acts}",
                change["address"]
            );
        }
    }
    for (to, from) in [
        ("this[\"staging\"]", "environment[\"staging\"]"),
        ("this[\"production\"]", "environment[\"production\"]"),
        ("this[\"pr-7\"]", "preview[\"7\"]"),
    ] {
        let address = format!("aws_lambda_function.{to}");
        let change = changes.iter().find(|c| c["address"] == address).unwrap();
        assert_eq!(
            change["previous_address"],
            format!("aws_lambda_function.{from}"),
            "{address}"
        );
        assert_eq!(actions(&address), ["update"], "{address}");
    }
    for key in ["staging", "production", "pr-7"] {
        assert_eq!(
            actions(&format!("aws_lambda_permission.s3[\"{key}\"]")),
            ["create", "delete"],
            "{key}: the permission must be replaced create-before-destroy"
        );
    }
    assert_eq!(actions("aws_s3_bucket_notification.triggers"), ["update"]);
    assert_eq!(actions("aws_iam_role.execution[0]"), ["create", "delete"]);
    let staging_group = changes
        .iter()
        .find(|c| c["address"] == "aws_cloudwatch_log_group.this[\"staging\"]")
        .unwrap();
    assert_eq!(
        staging_group["change"]["importing"]["id"],
        format!("/aws/lambda/{}", name("staging"))
    );
    assert_eq!(
        actions("aws_cloudwatch_log_group.this[\"production\"]"),
        ["create"]
    );
    assert!(
        upgrade.stdout.contains("1 to import") && upgrade.stdout.contains("(3 moved)"),
        "{}",
        upgrade.stdout
    );

    // The order terraform applied it in: each new permission, then the trigger onto the
    // aliases, and only then the old permissions.
    let lines: Vec<&str> = upgrade.stderr.lines().collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} never happened:\n{}", upgrade.stderr))
    };
    let triggers_moved = at("aws_s3_bucket_notification.triggers: Modifications complete");
    for key in ["staging", "production", "pr-7"] {
        let created = at(&format!(
            "aws_lambda_permission.s3[\"{key}\"]: Creation complete"
        ));
        let removed = at(&format!(
            "aws_lambda_permission.s3[\"{key}\"] (deposed object"
        ));
        assert!(
            created < triggers_moved && triggers_moved < removed,
            "{key}: created at {created}, trigger moved at {triggers_moved}, old removed at {removed}"
        );
    }

    // The functions are the same functions, running the same code behind `live`.
    let after = functions(aws, &service);
    let roles: BTreeMap<String, Value> =
        serde_json::from_value(aws.probe(&["roles", "up"])).unwrap();
    let role_names: Vec<&String> = roles.keys().collect();
    assert_eq!(role_names.len(), 1, "the old role is left: {role_names:?}");
    let new_role = role_names[0];
    assert!(new_role.len() <= 64 && *new_role != old_role, "{new_role}");
    for (name, function) in &after {
        assert_eq!(
            function["role"],
            format!("arn:aws:iam::123456789012:role/{new_role}"),
            "{name}"
        );
        assert_eq!(function["arn"], before[name]["arn"], "{name}");
        assert_eq!(
            function["code_sha256"], before[name]["code_sha256"],
            "{name}"
        );
        assert_eq!(live(function).1, function["code_sha256"].as_str().unwrap());
        // The old, unqualified statement is gone: the alias's is the only one.
        let statements = function["live_policy"].as_object().unwrap();
        let sids: Vec<&String> = statements.keys().collect();
        assert_eq!(sids, ["AllowS3InvokeLive"], "{name}");
        assert_eq!(
            statements["AllowS3InvokeLive"]["source_account"],
            "123456789012"
        );
    }
    assert_eq!(
        notifications(aws, &name("uploads")),
        map(&[
            ("staging/", &format!("{}:live", name("staging"))),
            ("Projects/", &format!("{}:live", name("prod"))),
            ("preview/pr-7/", &format!("{}:live", name("prod-pr-7"))),
        ])
    );
    let groups = log_groups(aws, &format!("/aws/lambda/{service}"));
    let staging_group = &groups[&format!("/aws/lambda/{}", name("staging"))];
    assert_eq!(staging_group["retention"], 30);
    assert_eq!(staging_group["tags"]["service"], service.as_str());
    assert_eq!(groups.len(), 3);

    let again = run(&tree, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

/// Issue 10 §3: every setting, at service level and overridden per environment and for
/// previews, reaches the functions, their log groups and the created role — read back
/// through the emulator. The service's name is long: its role's name still fits IAM's 64
/// characters and stays unique (a hash of the whole name). Provisioned concurrency, which
/// the emulator does not serve, is checked in the plan alone.
#[test]
fn every_setting_reaches_the_functions_their_log_groups_and_role() {
    let aws = emulator();
    aws.create_buckets(&["set-uploads", "set-packages"]);
    let layer = aws.probe(&["publish-layer", "set-deps"]);
    let layer = layer.as_str().unwrap();
    // IDs of the shape EC2 gives: Lambda takes them as they are (the emulator, like the
    // AWS provider, looks none of them up), so no network is created for them.
    let subnets: Vec<String> = vec![
        "subnet-0a1b2c3d4e5f60718".into(),
        "subnet-0918273645abcdef0".into(),
    ];
    let groups: Vec<String> = vec!["sg-0fedcba9876543210".into()];
    let service = format!("settings-{}", "x".repeat(51));
    assert_eq!(service.len(), 60);
    let tree = Tree::new();
    let config = |provisioned: &str| {
        format!(
            r#"serviceName: {service}
deploymentType: lambda
lambda:
  runtime: python3.12
  handler: app.handler
  architecture: arm64
  layers: ["{layer}"]
  ephemeralStorage: 1024
  memorySize: 256
  timeout: 20
  environment: {{SHARED: service, MODE: service}}
  reservedConcurrency: 5
{provisioned}  tracing: Active
  vpc:
    subnetIds: [{subnets}]
    securityGroupIds: [{groups}]
  logRetentionDays: 14
  description: "every setting"
  tags: {{team: data, cost-center: "42"}}
  keepVersions: 3
  triggerBucket: set-uploads
  packageBucket: set-packages
  package:
    path: "packages/set-{{version}}.zip"
  preview:
    functionName: "set-pr-{{pr}}"
    memorySize: 192
    environment: {{MODE: preview}}
"#,
            subnets = subnets.join(", "),
            groups = groups.join(", "),
        )
    };
    tree.write(
        &format!("services/{service}/config.yaml"),
        &config("  provisionedConcurrency: 2\n"),
    );
    tree.write(
        &format!("environments/staging/{service}/config.yaml"),
        &format!("serviceName: {service}\nenvName: staging\nlambda:\n  version: \"1.0.0\"\n  functionName: set-staging\n  s3TriggerPrefix: staging/\n  memorySize: 512\n  timeout: 60\n  reservedConcurrency: 3\n  provisionedConcurrency: 0\n  environment: {{MODE: staging}}\n"),
    );
    tree.write(
        &format!("environments/production/{service}/config.yaml"),
        &format!("serviceName: {service}\nenvName: production\nlambda:\n  version: \"1.0.0\"\n  functionName: set-prod\n  s3TriggerPrefix: Projects/\n"),
    );
    tree.preview("pr-5", &service, "1.0.0");
    tree.package("packages/set-1.0.0.zip", "settings 1.0.0");

    // Provisioned concurrency: on production's alias only (previews do not inherit it,
    // staging sets 0), in the plan.
    let plan = run(&tree, &["plan"]);
    plan.success();
    let planned: Value = serde_json::from_str(
        &std::fs::read_to_string(tree.work().join(&service).join("plan.json")).unwrap(),
    )
    .unwrap();
    let provisioned: Vec<(&str, &Value)> = planned["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "aws_lambda_provisioned_concurrency_config")
        .map(|c| {
            (
                c["address"].as_str().unwrap(),
                &c["change"]["after"]["provisioned_concurrent_executions"],
            )
        })
        .collect();
    assert_eq!(
        provisioned,
        [(
            "aws_lambda_provisioned_concurrency_config.live[\"production\"]",
            &Value::from(2)
        )]
    );

    tree.write(&format!("services/{service}/config.yaml"), &config(""));
    run(&tree, &["apply", "--auto-approve"]).success();
    let created = functions(aws, "set-");
    let names: Vec<&str> = created.keys().map(String::as_str).collect();
    assert_eq!(names, ["set-pr-5", "set-prod", "set-staging"]);
    let env = |pairs: &[(&str, &str)]| -> Value {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    for (name, memory, timeout, reserved, mode) in [
        ("set-staging", 512, 60, 3, "staging"),
        ("set-prod", 256, 20, 5, "service"),
        ("set-pr-5", 192, 20, 5, "preview"),
    ] {
        let f = &created[name];
        assert_eq!(f["memory_size"], memory, "{name}");
        assert_eq!(f["timeout"], timeout, "{name}");
        assert_eq!(f["reserved_concurrency"], reserved, "{name}");
        assert_eq!(
            f["environment"],
            env(&[("SHARED", "service"), ("MODE", mode)]),
            "{name}"
        );
        assert_eq!(f["architectures"], serde_json::json!(["arm64"]), "{name}");
        assert_eq!(f["layers"], serde_json::json!([layer]), "{name}");
        assert_eq!(f["ephemeral_storage"], 1024, "{name}");
        assert_eq!(f["tracing"], "Active", "{name}");
        let mut want_subnets = subnets.clone();
        want_subnets.sort();
        assert_eq!(f["subnet_ids"], serde_json::json!(want_subnets), "{name}");
        assert_eq!(f["security_group_ids"], serde_json::json!(groups), "{name}");
        assert_eq!(f["description"], "every setting", "{name}");
        assert_eq!(f["tags"]["team"], "data", "{name}");
        assert_eq!(f["tags"]["cost-center"], "42", "{name}");
        assert_eq!(f["tags"]["service"], service.as_str(), "{name}");
    }
    let logs = log_groups(aws, "/aws/lambda/set-");
    assert_eq!(logs.len(), 3);
    for (group, value) in &logs {
        assert_eq!(value["retention"], 14, "{group}");
        assert_eq!(value["tags"]["team"], "data", "{group}");
    }

    // The created role: its name fits IAM's limit and carries a hash of the whole service
    // name; it may write to these log groups only, send traces and manage the network
    // interfaces of a VPC function — nothing else.
    let role = {
        use sha2::Digest;
        let hash: String = sha2::Sha256::digest(service.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{}-{}-lambda-execution", &service[..38], &hash[..8])
    };
    assert_eq!(role.len(), 64);
    let roles: BTreeMap<String, Value> =
        serde_json::from_value(aws.probe(&["roles", "settings-"])).unwrap();
    let policies = &roles[&role];
    for function in created.values() {
        assert_eq!(
            function["role"],
            format!("arn:aws:iam::123456789012:role/{role}")
        );
    }
    let names: Vec<&String> = policies.as_object().unwrap().keys().collect();
    assert_eq!(names, ["logging", "network-interfaces", "tracing"]);
    let mut logging: Vec<String> =
        serde_json::from_value(policies["logging"]["Statement"][0]["Resource"].clone()).unwrap();
    logging.sort();
    assert_eq!(
        logging,
        ["set-pr-5", "set-prod", "set-staging"]
            .map(|f| format!("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{f}:*"))
    );
    assert_eq!(
        policies["tracing"]["Statement"][0]["Action"],
        serde_json::json!(["xray:PutTraceSegments", "xray:PutTelemetryRecords"])
    );
    let network_actions = policies["network-interfaces"]["Statement"][0]["Action"]
        .as_array()
        .unwrap();
    assert!(network_actions
        .iter()
        .all(|a| a.as_str().unwrap().starts_with("ec2:")));
    assert!(network_actions.contains(&Value::from("ec2:CreateNetworkInterface")));
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
    // (Beside it, A's apply left its record: `lock/terraform.tfstate.lambda-gitops-applied.json`.)
    let objects: Vec<String> =
        serde_json::from_value(aws.probe(&["objects", "lock-state"])).unwrap();
    let states: Vec<&String> = objects.iter().filter(|key| !is_record(key)).collect();
    assert_eq!(states, ["lock/terraform.tfstate"]);
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
        // A fixed state key, and symlinks out of the checkout, planted too.
        tree.write(
            &format!(".lambda-gitops/{name}/backend_override.tf"),
            "terraform {\n  backend \"s3\" {\n    key = \"fixed.tfstate\"\n  }\n}\n",
        );
        let outside = tree.temp.path().join(format!("outside-{name}.tfvars.json"));
        std::fs::write(&outside, r#"{"memory_size": 3008}"#).unwrap();
        std::os::unix::fs::symlink(
            &outside,
            tree.gitops()
                .join(format!(".lambda-gitops/{name}/terraform.tfvars.json")),
        )
        .unwrap();
        std::os::unix::fs::symlink(
            tree.temp.path(),
            tree.gitops()
                .join(format!(".lambda-gitops/{name}/terraform.d")),
        )
        .unwrap();
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
    let objects: Vec<String> = serde_json::from_value(aws.probe(&["objects", "ci-state"])).unwrap();
    let states: Vec<&String> = objects.iter().filter(|key| !is_record(key)).collect();
    assert_eq!(states, ["lambda/ci-a.tfstate", "lambda/ci-b.tfstate"]);
    assert!(runner_temp.join("lambda-gitops/ci-a/main.tf").is_file());
    assert_eq!(walk(&planted), before, "the checkout was written to");

    let again = with_backend(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

/// The record of a service's last apply, beside its state object.
fn is_record(key: &str) -> bool {
    key.ends_with(".lambda-gitops-applied.json")
}

/// Issue 12 §3: an `apply` with nothing changed starts no terraform — on a fresh CI runner
/// too (the record of the last apply lies beside each S3 state) — but only while every
/// function runs what the gitops repo declares: a function whose `version` tag was changed
/// outside terraform is applied again, the other service still skipped. `status` reads the
/// same through the Lambda API (exit 2 on a difference).
#[test]
fn an_apply_with_nothing_changed_starts_no_terraform_until_aws_drifts() {
    let aws = emulator();
    aws.create_buckets(&[
        "nop-a-uploads",
        "nop-a-packages",
        "nop-b-uploads",
        "nop-b-packages",
        "nop-state",
    ]);
    let tree = Tree::new();
    tree.standard("nop-a", &[3]);
    tree.standard("nop-b", &[]);
    let backend = readme_backend("nop-state", "lambda/{service}.tfstate");
    let on_runner = |runner: &str, args: &[&str]| {
        let runner_temp = tree.temp.path().join(runner);
        std::fs::create_dir_all(&runner_temp).unwrap();
        let mut all: Vec<&str> = args.to_vec();
        if args[0] != "status" {
            all.extend(backend.iter().map(String::as_str));
        }
        let run = Run::from(ci_command(&tree, &runner_temp, &all).output().unwrap());
        (run, runner_temp.join("lambda-gitops"))
    };
    let (first, _) = on_runner("runner-1", &["apply", "--auto-approve"]);
    first.success();
    let objects: Vec<String> =
        serde_json::from_value(aws.probe(&["objects", "nop-state"])).unwrap();
    for service in ["nop-a", "nop-b"] {
        let record = format!("lambda/{service}.tfstate.lambda-gitops-applied.json");
        assert!(objects.contains(&record), "{objects:?}");
    }

    // A fresh runner: nothing changed, nothing drifted — no terraform at all.
    let (noop, work) = on_runner("runner-2", &["apply", "--auto-approve"]);
    noop.success();
    for service in ["nop-a", "nop-b"] {
        assert!(
            noop.stdout
                .contains(&format!("{service}: no changes since the last apply")),
            "{}",
            noop.stdout
        );
        assert!(
            !work.join(service).join(".terraform").exists(),
            "{service}: terraform ran\n{}",
            noop.stderr
        );
    }
    let (status, _) = on_runner("runner-2", &["status"]);
    assert_eq!(status.code, 0, "{}\n{}", status.stdout, status.stderr);
    assert_eq!(status.stdout.lines().count(), 5, "{}", status.stdout);

    // Someone retags staging's function by hand: `status` sees it, and the next apply
    // runs terraform for that service only, which puts the tag back.
    aws.probe(&["tag", "nop-a-staging", "version", "9.9.9"]);
    let (status, _) = on_runner("runner-3", &["status", "--format", "json"]);
    assert_eq!(status.code, 2, "{}\n{}", status.stdout, status.stderr);
    let differing: Vec<String> = status.json()["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["matches"] == false)
        .map(|d| d["function_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(differing, ["nop-a-staging"]);
    let (drift, work) = on_runner("runner-3", &["apply", "--auto-approve"]);
    drift.success();
    assert!(work.join("nop-a/.terraform").exists(), "{}", drift.stderr);
    assert!(!work.join("nop-b/.terraform").exists(), "{}", drift.stderr);
    assert!(
        drift
            .stdout
            .contains("nop-b: no changes since the last apply"),
        "{}",
        drift.stdout
    );
    assert_eq!(
        functions(aws, "nop-a-staging")["nop-a-staging"]["tags"]["version"],
        "1.1.0"
    );
    let (status, _) = on_runner("runner-3", &["status"]);
    assert_eq!(status.code, 0, "{}\n{}", status.stdout, status.stderr);

    // `--refresh` runs terraform without any change.
    let (refreshed, work) = on_runner(
        "runner-4",
        &["apply", "--auto-approve", "--refresh", "--service", "nop-b"],
    );
    refreshed.success();
    assert!(
        work.join("nop-b/.terraform").exists(),
        "{}",
        refreshed.stderr
    );
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
    // The state holds fa's resources: fb is planned, and its plan read and guarded before
    // any apply.
    assert!(!refused.stderr.contains(EARLY), "{}", refused.stderr);
    for needle in [
        "fb: the plan would replace `aws_cloudwatch_log_group.this[\"production\"]`",
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
            // Symlinks are listed, never followed (one points out of the checkout).
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A service removed from the repo: `destroy` removes everything its state holds — its
/// functions (with their aliases and versions), log groups, triggers, role and packages —
/// and a second `destroy` finds nothing left. The last service going leaves an empty repo,
/// which `destroy` accepts.
#[test]
fn a_removed_services_destroy_leaves_nothing_of_it_in_the_emulator() {
    let aws = emulator();
    aws.create_buckets(&["gone-uploads", "gone-packages"]);
    let tree = Tree::new();
    tree.standard("gone", &[3]);
    run(&tree, &["apply", "--auto-approve"]).success();
    assert_eq!(functions(aws, "gone-").len(), 3);
    assert_eq!(notifications(aws, "gone-uploads").len(), 3);

    for dir in [
        "services/gone",
        "environments/staging/gone",
        "environments/production/gone",
        "environments/preview/pr-3",
    ] {
        tree.remove(dir);
    }
    let destroyed = run(&tree, &["destroy", "--service", "gone", "--auto-approve"]);
    destroyed.success();
    assert!(
        destroyed.stdout.contains("to destroy"),
        "{}",
        destroyed.stdout
    );

    assert_eq!(functions(aws, "gone-"), BTreeMap::new());
    assert_eq!(log_groups(aws, "/aws/lambda/gone-"), BTreeMap::new());
    assert_eq!(notifications(aws, "gone-uploads"), BTreeMap::new());
    let roles: BTreeMap<String, Value> =
        serde_json::from_value(aws.probe(&["roles", "gone"])).unwrap();
    assert_eq!(roles, BTreeMap::new());
    let objects: Vec<String> =
        serde_json::from_value(aws.probe(&["objects", "gone-packages"])).unwrap();
    assert_eq!(objects, Vec::<String>::new());

    let again = run(&tree, &["destroy", "--service", "gone", "--auto-approve"]);
    again.success();
    assert!(
        again.stdout.contains("gone: no changes"),
        "{}",
        again.stdout
    );
}

/// Issue 18 §7: Ctrl-C while terraform creates the functions of a first apply leaves them in
/// AWS, out of the state or tainted in it (the provider's wait for each was cancelled). The
/// next apply adopts or untaints each function that is provably this service's (its tags and
/// its execution role), with its alias, and completes; a function of the same name that is
/// not is named and never taken over.
#[test]
fn an_apply_after_an_interrupted_first_apply_adopts_the_functions_and_completes() {
    let aws = emulator();
    aws.create_buckets(&["halt-uploads", "halt-packages"]);
    let tree = Tree::new();
    tree.standard("halt", &[3]);
    let mut child = tree
        .command(&["apply", "--auto-approve"])
        .envs(aws.env())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let creating = line.contains("aws_lambda_function.this[") && line.contains("Creating...");
        seen.push(line);
        if creating {
            // Interrupt once a function exists in AWS and terraform waits for it.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while functions(aws, "halt-").is_empty() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
            break;
        }
    }
    seen.extend(lines.map(Result::unwrap));
    let status = child.wait().unwrap();
    let interrupted = seen.join("\n");
    assert_eq!(status.code(), Some(130), "{interrupted}");
    let left = functions(aws, "halt-");
    assert!(!left.is_empty(), "a function exists after the interrupt");
    assert!(
        left.values().all(|f| f["live"].is_null()),
        "no alias was made before the interrupt: {left:?}"
    );

    let again = run(&tree, &["apply", "--auto-approve"]);
    again.success();
    assert!(
        again.stderr.contains("halt: adopting `"),
        "{}",
        again.stderr
    );
    for name in left.keys() {
        assert!(
            again.stderr.contains(name.as_str()),
            "{name}: {}",
            again.stderr
        );
    }
    let now = functions(aws, "halt-");
    let names: Vec<&String> = now.keys().collect();
    assert_eq!(names, ["halt-prod", "halt-prod-pr-3", "halt-staging"]);
    for (name, function) in &now {
        let (version, hash) = live(function);
        assert!(!version.is_empty(), "{name} runs through `live`");
        assert_eq!(hash, function["code_sha256"], "{name}");
    }
    assert_eq!(now["halt-prod-pr-3"]["tags"]["version"], "1.1.0-pr3");
    assert_eq!(
        run(&tree, &["plan", "--detailed-exitcode"]).code,
        0,
        "nothing is left to do"
    );

    // A function of a new deployment's name that is not this service's: named, not adopted.
    let zip = tree.package("packages/stranger.zip", "not ours");
    aws.probe(&["function", "halt-prod-pr-9", zip.to_str().unwrap(), "other"]);
    tree.preview("pr-9", "halt", "1.1.0-pr9");
    tree.package("packages/halt-1.1.0-pr9.zip", "halt pr 9");
    let refused = run(&tree, &["apply", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(
            "halt: the function `halt-prod-pr-9` exists, is not in this service's state and is not provably its `pr-9` deployment (service: none, environment: none, another execution role)"
        ),
        "{}",
        refused.stderr
    );
    let stranger = &functions(aws, "halt-prod-pr-9")["halt-prod-pr-9"];
    assert_eq!(stranger["tags"]["version"], "other");
    assert!(stranger["live"].is_null(), "the stranger is untouched");
}

/// Issue 21: a changing `apply --auto-approve` costs what bare terraform's does — one
/// `terraform apply` plans and applies, with no `plan -out`, no `show -json` and no second
/// provider start — after lambda-gitops took the state's lock and checked the state itself
/// (the README's backend: S3 with `use_lockfile`). The function runs the new package, the
/// report says what changed, and no lock is left. A state someone else has locked is left
/// to them: the apply plans first, which waits for their lock and fails naming it.
#[test]
fn a_changing_apply_plans_and_applies_in_one_terraform_process_under_the_state_lock() {
    let aws = emulator();
    aws.create_buckets(&[
        "one-a-uploads",
        "one-a-packages",
        "one-b-uploads",
        "one-b-packages",
        "one-state",
    ]);
    let tree = Tree::new();
    tree.standard("one-a", &[]);
    tree.standard("one-b", &[]);
    let calls = tree.temp.path().join("terraform-calls");
    let wrapper = tree.temp.path().join("terraform");
    let real = which::which("terraform").unwrap();
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$(basename \"$PWD\") $*\" >> '{}'\nexec '{}' \"$@\"\n",
            calls.display(),
            real.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let backend = readme_backend("one-state", "lambda/{service}.tfstate");
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "--auto-approve", "--format", "json"];
        args.extend(extra);
        args.extend(["--terraform-bin", wrapper.to_str().unwrap()]);
        args.extend(backend.iter().map(String::as_str));
        let mut command = tree.command(&args);
        Run::from(command.envs(aws.env()).output().unwrap())
    };
    // What terraform was asked to do, per service, besides `version` and `init`.
    let work = |calls: &std::path::Path| -> Vec<String> {
        let text = std::fs::read_to_string(calls).unwrap_or_default();
        let _ = std::fs::remove_file(calls);
        text.lines()
            .filter(|line| !line.contains(" version") && !line.contains(" init "))
            .map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                format!("{} {}", words[0], words[1..].join(" "))
            })
            .collect()
    };
    let one_step = |service: &str| {
        format!("{service} apply -input=false -auto-approve -json -var-file=lambda-gitops.tfvars.json -lock=false")
    };

    apply(&[]).success();
    let mut first = work(&calls);
    first.sort();
    assert_eq!(first, [one_step("one-a"), one_step("one-b")]);
    assert_eq!(functions(aws, "one-").len(), 4);

    tree.env("staging", "one-a", "1.2.0", "one-a-staging", "staging/");
    let package = tree.package("packages/one-a-1.2.0.zip", "one-a 1.2.0");
    let run = apply(&[]);
    run.success();
    assert_eq!(work(&calls), [one_step("one-a")], "{}", run.stderr);
    let report = run.json();
    let services = report["services"].as_array().unwrap();
    let a = services.iter().find(|s| s["service"] == "one-a").unwrap();
    assert_eq!(a["outcome"], "applied", "{a}");
    // The new package object, the function and its `live` alias, the superseded package.
    assert_eq!(
        a["counts"],
        json!({"add": 1, "change": 2, "destroy": 1, "import": 0, "moved": 0}),
        "{a}"
    );
    let staging = a["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["deployment"] == "staging")
        .unwrap();
    assert_eq!(
        (
            &staging["action"],
            &staging["versionBefore"],
            &staging["versionAfter"]
        ),
        (&json!("update"), &json!("1.1.0"), &json!("1.2.0")),
        "{staging}"
    );
    assert_eq!(staging["code"], "changed", "{staging}");
    assert_eq!(
        code_hash(&functions(aws, "one-a-"), "one-a-staging"),
        openssl_base64_sha256(&package)
    );
    let objects: Vec<String> =
        serde_json::from_value(aws.probe(&["objects", "one-state"])).unwrap();
    assert!(
        !objects.iter().any(|key| key.ends_with(".tflock")),
        "a lock was left: {objects:?}"
    );

    // Someone else holds one-a's lock: it is theirs to release.
    let lock = tree.temp.path().join("their.tflock");
    std::fs::write(
        &lock,
        r#"{"ID":"their-lock-id","Operation":"OperationTypeApply","Info":"","Who":"someone@elsewhere","Version":"1.11.4","Created":"2026-12-06T00:00:00Z","Path":"one-state/lambda/one-a.tfstate"}"#,
    )
    .unwrap();
    let lock_key = "lambda/one-a.tfstate.tflock";
    aws.probe(&["put", "one-state", lock_key, lock.to_str().unwrap()]);
    tree.env("staging", "one-a", "1.3.0", "one-a-staging", "staging/");
    tree.package("packages/one-a-1.3.0.zip", "one-a 1.3.0");
    let held = apply(&["--lock-timeout", "0s"]);
    assert_eq!(held.code, 1, "{}", held.stderr);
    assert!(held.stderr.contains("their-lock-id"), "{}", held.stderr);
    let asked = work(&calls);
    assert!(
        asked.len() == 1 && asked[0].starts_with("one-a plan "),
        "{asked:?}"
    );
    let still = aws.probe(&["get", "one-state", lock_key]);
    assert!(still.as_str().unwrap().contains("their-lock-id"), "{still}");
}
