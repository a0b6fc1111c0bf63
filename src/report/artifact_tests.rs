//! Unit tests of the proof of the artifact on production's change and of its renderings:
//! the same package as staging, one staging does not run, and not checked.

use super::facts::*;
use crate::report::{Command, Report};

/// A plan where staging's function keeps its package and production's gets a new one.
fn production_gets_a_new_package() -> PlanFacts {
    let function = |env: &str, before: (&str, &str), after: (&str, &str)| {
        let state = |(version, hash): (&str, &str)| {
            serde_json::json!({"function_name": format!("svc-{env}"), "source_code_hash": hash,
                               "tags": {"service": "svc", "environment": env, "version": version}})
        };
        serde_json::json!({
            "address": format!("aws_lambda_function.this[\"{env}\"]"), "mode": "managed",
            "type": "aws_lambda_function", "name": "this", "index": env,
            "change": {"actions": if before == after { ["no-op"] } else { ["update"] },
                       "before": state(before), "after": state(after)}
        })
    };
    let plan = serde_json::json!({"format_version": "1.2", "resource_changes": [
        function("staging", ("1.1.0", "new="), ("1.1.0", "new=")),
        function("production", ("1.0.0", "old="), ("1.1.0", "new=")),
    ]});
    PlanFacts::from_plan_json("svc", plan.to_string().as_bytes()).unwrap()
}

fn staging_runs(sha: &str) -> StagingPackage {
    StagingPackage {
        function_name: "svc-staging".into(),
        function_version: "4".into(),
        code_sha256: sha.into(),
        since: Some("2026-12-01T14:02:33.123Z".into()),
    }
}

/// The text, the Markdown comment and the JSON report of a plan run of `facts`.
fn renderings(facts: &PlanFacts) -> (String, String, serde_json::Value) {
    let summaries = std::slice::from_ref(facts);
    let report = Report {
        command: Command::Plan,
        summaries,
        failures: &[],
        error: None,
        plan_outputs: &[],
        exit_code: 0,
    };
    let markdown = crate::ci::markdown::document(&super::rendering(&report), 1 << 20, "the log");
    let json = serde_json::from_str(&super::json::json(&report)).unwrap();
    (super::text::text(facts, false), markdown, json)
}

#[test]
fn production_given_the_package_staging_runs_says_since_when_in_every_report() {
    let mut facts = production_gets_a_new_package();
    let production = facts.needs_artifact_proof().expect("production changes");
    assert_eq!(production.function_name, "svc-production");
    facts.attach_artifact_proof(ArtifactProof::compare("new=", staging_runs("new=")));
    assert!(facts.warnings.is_empty(), "{:?}", facts.warnings);
    let (text, markdown, json) = renderings(&facts);
    assert!(
        text.contains("same package staging has run since 2026-12-01 14:02 UTC (CodeSha256 new=)"),
        "{text}"
    );
    assert!(
        markdown.contains(
            "same package staging has run since 2026-12-01 14:02 UTC (CodeSha256 `new=`)"
        ),
        "{markdown}"
    );
    assert!(!markdown.contains("[!WARNING]"), "{markdown}");
    let deployments = &json["services"][0]["deployments"];
    assert_eq!(deployments[0]["deployment"], "staging");
    assert!(deployments[0].get("artifact").is_none(), "{json}");
    assert_eq!(
        deployments[1]["artifact"],
        serde_json::json!({
            "sameAsStaging": true,
            "codeSha256": "new=",
            "stagingFunction": "svc-staging",
            "stagingVersion": "4",
            "stagingCodeSha256": "new=",
            "stagingSince": "2026-12-01T14:02:33.123Z",
        })
    );
}

#[test]
fn production_given_a_package_staging_does_not_run_is_a_warning_in_every_report() {
    let mut facts = production_gets_a_new_package();
    facts.attach_artifact_proof(ArtifactProof::compare("new=", staging_runs("old=")));
    assert_eq!(facts.warnings.len(), 1);
    assert_eq!(
        facts.warnings[0].to_string(),
        "production gets a package staging does not run (staging runs CodeSha256 `old=`)"
    );
    let (text, markdown, json) = renderings(&facts);
    assert!(
        text.contains(
            "  WARNING: production gets a package staging does not run (staging runs CodeSha256 `old=`)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("not the package staging runs: staging has run CodeSha256 old= since 2026-12-01 14:02 UTC, this is new="),
        "{text}"
    );
    assert!(
        markdown.contains(
            "> [!WARNING]\n> production gets a package staging does not run (staging runs CodeSha256 `old=`)\n"
        ),
        "{markdown}"
    );
    let service = &json["services"][0];
    assert_eq!(
        service["deployments"][1]["artifact"]["sameAsStaging"],
        false
    );
    assert_eq!(
        service["deployments"][1]["artifact"]["stagingCodeSha256"],
        "old="
    );
    assert_eq!(
        service["warnings"],
        serde_json::json!([
            "production gets a package staging does not run (staging runs CodeSha256 `old=`)"
        ])
    );
    let annotations = super::rendering(&Report {
        command: Command::Plan,
        summaries: std::slice::from_ref(&facts),
        failures: &[],
        error: None,
        plan_outputs: &[],
        exit_code: 0,
    })
    .annotations;
    assert!(
        annotations
            .iter()
            .any(|a| a.title == "production: package not on staging"),
        "{annotations:?}"
    );
}

#[test]
fn a_proof_that_could_not_be_read_says_not_checked_and_why() {
    let mut facts = production_gets_a_new_package();
    facts.attach_artifact_proof(ArtifactProof::not_checked(
        "new=",
        "the function `svc-staging` does not exist",
    ));
    assert!(facts.warnings.is_empty());
    let (text, markdown, json) = renderings(&facts);
    assert!(
        text.contains(
            "package not checked against staging: the function `svc-staging` does not exist"
        ),
        "{text}"
    );
    assert!(
        markdown.contains(
            "package not checked against staging: ``the function `svc-staging` does not exist``"
        ),
        "{markdown}"
    );
    assert_eq!(
        json["services"][0]["deployments"][1]["artifact"],
        serde_json::json!({
            "sameAsStaging": null,
            "codeSha256": "new=",
            "notChecked": "the function `svc-staging` does not exist",
        })
    );
}

#[test]
fn no_proof_is_asked_for_when_production_keeps_its_package() {
    let plan = serde_json::json!({"format_version": "1.2", "resource_changes": [{
        "address": "aws_lambda_function.this[\"production\"]", "mode": "managed",
        "type": "aws_lambda_function", "name": "this", "index": "production",
        "change": {"actions": ["update"],
                   "before": {"function_name": "svc-production", "source_code_hash": "same=", "memory_size": 128,
                              "tags": {"environment": "production", "version": "1.0.0"}},
                   "after": {"function_name": "svc-production", "source_code_hash": "same=", "memory_size": 256,
                             "tags": {"environment": "production", "version": "1.0.0"}}}
    }]});
    let mut facts = PlanFacts::from_plan_json("svc", plan.to_string().as_bytes()).unwrap();
    assert!(facts.needs_artifact_proof().is_none());
    facts.attach_artifact_proof(ArtifactProof::compare("x=", staging_runs("y=")));
    assert!(facts.deployments[0].artifact.is_none());
    assert!(facts.warnings.is_empty());
}
