//! Issue 22, end to end against the emulator with real terraform: canary and linear
//! rollouts on the `live` alias, read back through the Lambda API after every step, the
//! CloudWatch alarms set through the API, and a `plan --detailed-exitcode` that finds
//! nothing to do at every stage (terraform never fights the rollout).

mod common;

use std::collections::BTreeMap;

use common::aws::{emulator, Emulator};
use common::{Run, Tree};
use serde_json::json;

fn run(tree: &Tree, args: &[&str]) -> Run {
    let mut command = tree.command(args);
    Run::from(command.envs(emulator().env()).output().unwrap())
}

/// Production's config: `version`, and `rollout` (YAML lines under `lambda:`).
fn production(tree: &Tree, service: &str, version: &str, rollout: &str) {
    tree.write(
        &format!("environments/production/{service}/config.yaml"),
        &format!(
            "serviceName: {service}\nenvName: production\nlambda:\n  version: \"{version}\"\n  functionName: {service}-prod\n  s3TriggerPrefix: \"Projects/\"\n{rollout}gitVersion:\n  sha: \"abcdef1234567\"\n  shortSha: \"abcdef1\"\n"
        ),
    );
}

fn canary(interval: &str, alarm: &str) -> String {
    format!("  rollout:\n    strategy: canary\n    percent: 10\n    interval: {interval}\n    alarms: [{alarm}]\n")
}

/// `live`: the version it points at and the weights it routes (version → share).
fn live(aws: &Emulator, function: &str) -> (String, BTreeMap<String, f64>) {
    let alias = aws.probe(&["alias", function]);
    let weights = alias["weights"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
        .collect();
    (alias["version"].as_str().unwrap().to_owned(), weights)
}

fn clean_plan(tree: &Tree, when: &str) {
    let plan = run(tree, &["plan", "--detailed-exitcode", "--refresh"]);
    assert_eq!(
        plan.code, 0,
        "{when}: the plan finds something to do:\n{}\n{}",
        plan.stdout, plan.stderr
    );
}

#[test]
fn a_canary_starts_holds_for_its_interval_and_missing_data_then_completes_and_a_rollback_goes_at_once(
) {
    let aws = emulator();
    aws.create_buckets(&["cy-uploads", "cy-packages"]);
    aws.probe(&["alarm", "cy-errors", "OK"]);
    let tree = Tree::new();
    tree.standard("cy", &[]);
    production(&tree, "cy", "1.0.0", &canary("15s", "cy-errors"));

    // The first deploy has nothing to shift from: all at once, and the report says why.
    let first = run(&tree, &["apply", "--auto-approve", "--format", "json"]);
    first.success();
    let note = &common::deployment_of(&first.json(), "production")["rollout"];
    assert_eq!(note["phase"], "allAtOnce", "{note}");
    assert!(
        note["reason"].as_str().unwrap().contains("first deploy"),
        "{note}"
    );
    let (old, weights) = live(aws, "cy-prod");
    assert!(weights.is_empty(), "{weights:?}");
    clean_plan(&tree, "after the first deploy");

    // A new version: `live` stays on the old one and routes 10% to the new one.
    production(&tree, "cy", "1.1.0", &canary("15s", "cy-errors"));
    let started = run(&tree, &["apply", "--auto-approve", "--format", "json"]);
    let step_taken = std::time::Instant::now();
    started.success();
    let note = &common::deployment_of(&started.json(), "production")["rollout"];
    assert_eq!(
        (&note["phase"], &note["strategy"], &note["weights"]),
        (&json!("starts"), &json!("canary"), &json!([10, 100])),
        "{note}"
    );
    let (version, weights) = live(aws, "cy-prod");
    assert_eq!(version, old, "live moved at once");
    let (new, share) = weights.iter().next().expect("a weight on the new version");
    assert_ne!(new, &old);
    assert!((share - 0.1).abs() < 1e-9, "{weights:?}");

    // Before the interval is over nothing moves.
    let early = run(&tree, &["rollout"]);
    early.success();
    assert!(early.stdout.contains("next step due"), "{}", early.stdout);
    assert_eq!(live(aws, "cy-prod"), (old.clone(), weights.clone()));
    // `status` knows the rollout: the old version behind `live` is what should run now.
    let status = run(&tree, &["status"]);
    assert_eq!(status.code, 0, "{}\n{}", status.stdout, status.stderr);
    assert!(
        status
            .stdout
            .contains("ok: canary 1.0.0 → 1.1.0 in progress: 10% on version"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("alarms: cy-errors"),
        "{}",
        status.stdout
    );
    clean_plan(&tree, "during the rollout");

    // Without data the alarm proves nothing: the step holds.
    let interval = std::time::Duration::from_secs(16);
    std::thread::sleep(interval.saturating_sub(step_taken.elapsed()));
    aws.probe(&["alarm", "cy-errors", "INSUFFICIENT_DATA"]);
    let held = run(&tree, &["rollout", "--format", "json"]);
    held.success();
    assert_eq!(
        held.json()["rollouts"][0]["action"],
        "held",
        "{}",
        held.stdout
    );
    assert_eq!(live(aws, "cy-prod"), (old.clone(), weights.clone()));

    // With the alarm OK the canary completes: all traffic on the new version.
    aws.probe(&["alarm", "cy-errors", "OK"]);
    let done = run(&tree, &["rollout"]);
    done.success();
    assert!(
        done.stdout.contains("completed: all traffic on version"),
        "{}",
        done.stdout
    );
    let (version, weights) = live(aws, "cy-prod");
    assert_eq!(&version, new);
    assert!(weights.values().all(|w| *w == 0.0), "{weights:?}");
    // A completed rollout is a no-op: the next apply starts no terraform.
    let noop = run(&tree, &["apply", "--auto-approve", "--format", "json"]);
    noop.success();
    assert_eq!(
        noop.json()["services"][0]["checkedWithoutTerraform"],
        true,
        "{}",
        noop.stderr
    );
    clean_plan(&tree, "after the rollout completed");

    // Back to the version `live` ran before: all at once, no rollout.
    production(&tree, "cy", "1.0.0", &canary("15s", "cy-errors"));
    let back = run(&tree, &["apply", "--auto-approve", "--format", "json"]);
    back.success();
    let note = &common::deployment_of(&back.json(), "production")["rollout"];
    assert_eq!(note["phase"], "allAtOnce", "{note}");
    assert!(
        note["reason"]
            .as_str()
            .unwrap()
            .contains("rollback to 1.0.0"),
        "{note}"
    );
    let (version, weights) = live(aws, "cy-prod");
    assert_ne!(&version, new);
    assert!(weights.values().all(|w| *w == 0.0), "{weights:?}");
    clean_plan(&tree, "after the rollback");
}

#[test]
fn an_alarm_rolls_back_with_exit_3_and_the_version_waits_for_a_change_or_a_retry() {
    let aws = emulator();
    aws.create_buckets(&["ab-uploads", "ab-packages"]);
    aws.probe(&["alarm", "ab-errors", "OK"]);
    let tree = Tree::new();
    tree.standard("ab", &[]);
    production(&tree, "ab", "1.0.0", &canary("1h", "ab-errors"));
    run(&tree, &["apply", "--auto-approve"]).success();
    let (old, _) = live(aws, "ab-prod");
    production(&tree, "ab", "1.1.0", &canary("1h", "ab-errors"));
    run(&tree, &["apply", "--auto-approve"]).success();

    // The alarm fires: back to the old version at once, whatever the interval.
    aws.probe(&["alarm", "ab-errors", "ALARM"]);
    let aborted = run(&tree, &["rollout", "--format", "json"]);
    assert_eq!(aborted.code, 3, "{}\n{}", aborted.stdout, aborted.stderr);
    let report = aborted.json();
    let rollout = &report["rollouts"][0];
    assert_eq!(
        (&rollout["action"], &rollout["alarm"]),
        (&json!("aborted"), &json!("ab-errors")),
        "{rollout}"
    );
    assert_eq!(report["schemaVersion"], 1);
    let (version, weights) = live(aws, "ab-prod");
    assert_eq!(version, old);
    assert!(weights.values().all(|w| *w == 0.0), "{weights:?}");
    let status = run(&tree, &["status"]);
    assert_eq!(status.code, 2, "{}\n{}", status.stdout, status.stderr);
    assert!(
        status.stdout.contains("aborted (`ab-errors` in ALARM"),
        "{}",
        status.stdout
    );
    clean_plan(&tree, "after the abort");

    // The same version is not rolled out again by the next apply.
    aws.probe(&["alarm", "ab-errors", "OK"]);
    let again = run(&tree, &["apply", "--auto-approve", "--format", "json"]);
    again.success();
    assert_eq!(
        common::deployment_of(&again.json(), "production")["rollout"]["phase"],
        "aborted"
    );
    let (version, weights) = live(aws, "ab-prod");
    assert_eq!(version, old);
    assert!(weights.values().all(|w| *w == 0.0), "{weights:?}");

    // Unless asked: it starts again; then `--complete` finishes it now.
    run(&tree, &["apply", "--auto-approve", "--retry-rollout"]).success();
    let (version, weights) = live(aws, "ab-prod");
    assert_eq!(version, old);
    let (new, _) = weights
        .iter()
        .find(|(_, w)| **w > 0.0)
        .expect("the retried rollout routes to the new version");
    let new = new.clone();
    let completed = run(&tree, &["rollout", "--complete"]);
    completed.success();
    assert!(
        completed.stdout.contains("finished early"),
        "{}",
        completed.stdout
    );
    assert_eq!(live(aws, "ab-prod").0, new);

    // A newer version mid-rollout restarts from what `live` ran before it.
    for (version, payload) in [("1.2.0", "ab 1.2.0"), ("1.3.0", "ab 1.3.0")] {
        tree.package(&format!("packages/ab-{version}.zip"), payload);
    }
    production(&tree, "ab", "1.2.0", &canary("1h", "ab-errors"));
    run(&tree, &["apply", "--auto-approve"]).success();
    let (stable, first) = live(aws, "ab-prod");
    assert_eq!(stable, new);
    production(&tree, "ab", "1.3.0", &canary("1h", "ab-errors"));
    let restarted = run(&tree, &["apply", "--auto-approve", "--format", "json"]);
    restarted.success();
    assert_eq!(
        common::deployment_of(&restarted.json(), "production")["rollout"]["phase"],
        "starts"
    );
    let (version, weights) = live(aws, "ab-prod");
    assert_eq!(
        version, new,
        "the restart shifts from the version before both"
    );
    let routed: Vec<&String> = weights
        .iter()
        .filter(|(_, w)| **w > 0.0)
        .map(|(v, _)| v)
        .collect();
    assert_eq!(routed.len(), 1, "{weights:?}");
    assert!(
        !first.contains_key(routed[0]),
        "still routed to 1.2.0: {weights:?}"
    );

    // `--abort` by hand: back to the old version, exit 0.
    let abort = run(&tree, &["rollout", "--abort"]);
    abort.success();
    assert!(abort.stdout.contains("aborted by hand"), "{}", abort.stdout);
    let (version, weights) = live(aws, "ab-prod");
    assert_eq!(version, new);
    assert!(weights.values().all(|w| *w == 0.0), "{weights:?}");
}

/// Two `rollout` runs on two CI runners at once (the README's S3 backend): one step.
#[test]
fn two_rollout_runs_at_once_take_one_step() {
    let aws = emulator();
    aws.create_buckets(&["tw-uploads", "tw-packages", "tw-state"]);
    let tree = Tree::new();
    tree.standard("tw", &[]);
    let linear = "  rollout:\n    strategy: linear\n    percent: 30\n    interval: 2s\n";
    production(&tree, "tw", "1.0.0", linear);
    let backend = [
        "--backend",
        "s3",
        "--backend-config",
        "bucket=tw-state",
        "--backend-config",
        "key=lambda/{service}.tfstate",
        "--backend-config",
        "region=us-east-1",
        "--backend-config",
        "use_lockfile=true",
    ];
    let command = |work: &str, args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(backend);
        let mut command = tree.command_in(&tree.temp.path().join(work), &all);
        command.envs(aws.env());
        command
    };
    Run::from(command("a", &["apply", "--auto-approve"]).output().unwrap()).success();
    production(&tree, "tw", "1.1.0", linear);
    Run::from(command("a", &["apply", "--auto-approve"]).output().unwrap()).success();
    let (_, weights) = live(aws, "tw-prod");
    assert!(
        weights.values().any(|w| (w - 0.3).abs() < 1e-9),
        "{weights:?}"
    );

    std::thread::sleep(std::time::Duration::from_secs(2));
    let runs: Vec<std::process::Child> = ["a", "b"]
        .iter()
        .map(|work| {
            command(work, &["rollout"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in runs {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
    }
    let (_, weights) = live(aws, "tw-prod");
    assert!(
        weights.values().any(|w| (w - 0.6).abs() < 1e-9),
        "one step from 30% is 60%: {weights:?}"
    );
    let objects: Vec<String> = serde_json::from_value(aws.probe(&["objects", "tw-state"])).unwrap();
    assert!(
        !objects.iter().any(|k| k.ends_with(".tflock")),
        "{objects:?}"
    );
}
