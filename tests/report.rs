//! The report's renderings of real plans: `tests/fixtures/plans/*.json` are the
//! `resource_changes` and `resource_drift` of plans terraform made of the bundled module
//! against the AWS emulator (`show -json`, trimmed to those keys):
//!
//! - `preview-and-staging.json`: a service with staging, production and preview 7 is
//!   applied; then staging's memory is changed outside the gitops repo, a pull request bumps
//!   staging 1.1.0 → 1.2.0, adds preview 9, removes preview 7 and renames production's
//!   function (`cap-prod` → `cap-production`).
//! - `upgrade-from-v1.json`: a service applied with the first module version, planned with
//!   the bundled one (moves, a log group imported, permissions moved to the alias, the role
//!   renamed create-before-destroy).
//!
//! Snapshots (`tests/snapshots/`) redact package hashes; review a change with
//! `cargo insta review`.

use lambda_gitops::ci::comment::{self, Scope};
use lambda_gitops::report::Command;
use lambda_gitops::report::{self, ApplyProgress, Failure, PlanFacts, Report};

fn fixture(name: &str) -> PlanFacts {
    let path = format!("{}/tests/fixtures/plans/{name}", env!("CARGO_MANIFEST_DIR"));
    let service = match name {
        "upgrade-from-v1.json" => "upxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        _ => "cap",
    };
    PlanFacts::from_plan_json(service, &std::fs::read(path).unwrap()).unwrap()
}

fn run<'a>(command: Command, summaries: &'a [PlanFacts], failures: &'a [Failure]) -> Report<'a> {
    Report {
        command,
        summaries,
        failures,
        error: None,
        plan_outputs: &[],
        exit_code: 0,
    }
}

/// The pull-request comment's body for a run.
fn comment_body(report: &Report) -> String {
    comment::body(
        &report::rendering(report),
        &Scope::All,
        "the job's log",
        "<sub>footer</sub>",
    )
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({filters => vec![
            (r"\b[0-9a-f]{64}\b", "[sha256]"),
            (r"package (`?)[0-9a-f]{12}", "package $1[sha256 prefix]"),
        ]}, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

#[test]
fn a_pull_request_that_adds_a_preview_and_bumps_staging_reads_in_lambda_terms() {
    let facts = fixture("preview-and-staging.json");
    let staging = &facts.deployments[0];
    assert_eq!(staging.deployment, "staging");
    assert_eq!(
        (
            staging.version_before.as_deref(),
            staging.version_after.as_deref()
        ),
        (Some("1.1.0"), Some("1.2.0"))
    );
    assert_eq!(staging.code, report::CodeChange::Changed);
    assert_eq!(facts.previews.added, [9]);
    assert_eq!(facts.previews.removed, [7]);
    // The superseded package objects are part of the version changes, not bare destroys.
    let superseded: Vec<&[String]> = facts
        .packages
        .iter()
        .filter(|p| p.action == report::Action::Delete)
        .map(|p| p.deployments.as_slice())
        .collect();
    assert_eq!(
        superseded,
        [&["pr-7".to_owned()][..], &["staging".to_owned()][..]]
    );
    // Production's function is renamed: a replace, with why, in a warning.
    assert_eq!(
        facts.warnings[0].to_string(),
        "the production function `cap-production` will be REPLACED (deleted and re-created): function name changed: the ARN changes, callers break"
    );
    // Memory changed outside the gitops repo, and the plan reverts it; the provider's
    // read-back noise (the role's inline policies, the objects' metadata) is not drift.
    let drift: Vec<String> = facts.drift.iter().map(ToString::to_string).collect();
    assert_eq!(
        drift,
        ["staging (aws_lambda_function.this[\"staging\"]): memory_size changed outside the gitops repo: 128 → 1024, this plan reverts it"]
    );

    let report = run(Command::Plan, std::slice::from_ref(&facts), &[]);
    let body = comment_body(&report);
    assert!(
        body.contains("`staging` update `1.1.0` → `1.2.0` (new package)"),
        "{body}"
    );
    assert!(body.contains("previews added: `pr-9`"), "{body}");
    assert!(body.contains("previews removed: `pr-7`"), "{body}");
    snapshot!("preview_and_staging_comment", body);
    snapshot!(
        "preview_and_staging_text",
        report::text::text(&facts, false)
    );
}

#[test]
fn the_json_report_carries_the_same_facts_with_its_schema_version() {
    let facts = fixture("preview-and-staging.json");
    let report = run(Command::Plan, std::slice::from_ref(&facts), &[]);
    let json: serde_json::Value = serde_json::from_str(&report::json::json(&report)).unwrap();
    assert_eq!(json["schemaVersion"], 1);
    assert_eq!(json["command"], "plan");
    assert_eq!(json["outcome"], "changes");
    let service = &json["services"][0];
    assert_eq!(service["service"], "cap");
    assert_eq!(service["outcome"], "changes");
    assert_eq!(service["previews"]["added"], serde_json::json!([9]));
    let staging = &service["deployments"][0];
    assert_eq!(staging["deployment"], "staging");
    assert_eq!(staging["versionBefore"], "1.1.0");
    assert_eq!(staging["versionAfter"], "1.2.0");
    assert_eq!(staging["code"], "changed");
    assert_eq!(
        service["deployments"][1]["replaceReasons"][0],
        "function name changed: the ARN changes, callers break"
    );
    assert_eq!(service["drift"][0]["attribute"], "memory_size");
    assert_eq!(service["drift"][0]["reverted"], true);
    snapshot!(
        "preview_and_staging_json",
        serde_json::to_string_pretty(&json["services"][0]["deployments"]).unwrap()
    );
}

#[test]
fn after_apply_the_report_speaks_in_the_past_tense() {
    let facts = fixture("preview-and-staging.json");
    let report = run(Command::Apply, std::slice::from_ref(&facts), &[]);
    let body = comment_body(&report);
    assert!(
        body.starts_with("<!-- lambda-gitops: all -->\n## lambda-gitops apply: applied — 10 added, 4 changed, 10 destroyed\n"),
        "{body}"
    );
    assert!(body.contains("| `pr-9` | created |"), "{body}");
    assert!(
        body.contains("> the `production` function `cap-production` was REPLACED"),
        "{body}"
    );
    assert!(!body.contains(" will "), "{body}");
    assert!(!body.contains("to add"), "{body}");
    assert_eq!(
        report::text::applied_line(&facts),
        "cap: applied: 10 added, 4 changed, 10 destroyed\n"
    );
}

#[test]
fn a_failed_apply_says_how_far_it_got_and_shows_terraforms_own_error() {
    let facts = fixture("preview-and-staging.json");
    let failures = [Failure {
        service: "cap".into(),
        error: "cap: `terraform apply` exited with code 1".into(),
        terraform_output: vec![
            "aws_lambda_function.this[\"pr-9\"]: Creating...".into(),
            "".into(),
            "Error: creating Lambda Function (cap-production-pr-9): InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda.".into(),
        ],
        facts: Some(facts.clone()),
        applied: Some(ApplyProgress { done: 6, total: 24 }),
    }];
    let report = run(Command::Apply, &[], &failures);
    let body = comment_body(&report);
    assert!(
        body.starts_with("<!-- lambda-gitops: all -->\n## lambda-gitops apply failed\n\n- `cap` :x: failed after 6 of 24 changes\n"),
        "{body}"
    );
    assert!(
        body.contains("InvalidParameterValueException: The role defined"),
        "{body}"
    );
    let json: serde_json::Value = serde_json::from_str(&report::json::json(&report)).unwrap();
    assert_eq!(json["outcome"], "failed");
    assert_eq!(json["services"][0]["outcome"], "failed");
    assert_eq!(
        json["services"][0]["applied"],
        serde_json::json!({"done": 6, "total": 24})
    );
    assert_eq!(
        json["services"][0]["deployments"][0]["versionAfter"],
        "1.2.0"
    );
}

#[test]
fn no_changes_is_one_short_line() {
    let facts = PlanFacts::unchanged("cap");
    assert_eq!(report::text::text(&facts, false), "cap: no changes\n");
    let report = run(Command::Plan, std::slice::from_ref(&facts), &[]);
    let body = comment_body(&report);
    assert_eq!(
        body,
        "<!-- lambda-gitops: all -->\n## lambda-gitops plan: no changes\n\n<sub>footer</sub>\n"
    );
}

#[test]
fn an_upgrade_from_the_first_module_reads_as_moves_and_adoptions_not_scary_replaces() {
    let facts = fixture("upgrade-from-v1.json");
    assert!(facts.warnings.is_empty(), "{:?}", facts.warnings);
    assert_eq!(facts.upgrade.moved, 3);
    assert_eq!(facts.upgrade.imported.len(), 1);
    for deployment in &facts.deployments {
        assert_eq!(deployment.action, report::Action::Update, "{deployment:?}");
        assert_eq!(deployment.code, report::CodeChange::Same, "{deployment:?}");
        assert!(
            deployment
                .notes
                .iter()
                .any(|n| n.starts_with("the S3 permission is re-created on the `live` alias")),
            "{deployment:?}"
        );
    }
    let report = run(Command::Plan, std::slice::from_ref(&facts), &[]);
    let body = comment_body(&report);
    snapshot!("upgrade_comment", body);
}
