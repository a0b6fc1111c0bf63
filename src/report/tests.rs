//! Unit tests of the plan facts and their renderings, on hand-written plan JSON.

use serde_json::Value;

use crate::desired::DeploymentKey;

use super::facts::*;
use super::guard::unqualified;
use crate::report::for_ci::rendering;
use crate::report::text::text as text_of;
use crate::report::{Failure, Report};

fn summarize(service: &str, json: &[u8]) -> Result<PlanFacts, serde_json::Error> {
    PlanFacts::from_plan_json(service, json)
}

fn text(facts: &PlanFacts) -> String {
    text_of(facts, false)
}

/// The comment's Markdown for a plan run.
fn markdown(
    command: crate::report::Command,
    summaries: &[PlanFacts],
    failures: &[Failure],
) -> String {
    let report = Report {
        command,
        summaries,
        failures,
        error: None,
        plan_outputs: &[],
        exit_code: 0,
    };
    crate::ci::markdown::document(&rendering(&report), 1 << 20, "the log")
}

fn plan(changes: Value) -> Vec<u8> {
    serde_json::json!({ "format_version": "1.2", "resource_changes": changes })
        .to_string()
        .into_bytes()
}

fn function(
    name: &str,
    index: Value,
    actions: &[&str],
    before: Option<(&str, &str)>,
    after: Option<(&str, &str)>,
) -> Value {
    let state = |v: Option<(&str, &str)>| {
        v.map(|(env, version)| {
            serde_json::json!({"function_name": format!("f-{env}"), "tags": {"service": "svc", "environment": env, "version": version}})
        })
    };
    serde_json::json!({
        "address": format!("aws_lambda_function.{name}[{index}]"),
        "mode": "managed", "type": "aws_lambda_function", "name": name, "index": index,
        "change": {"actions": actions, "before": state(before), "after": state(after)}
    })
}

#[test]
fn replaces_either_way_round_and_deletes_of_production_are_flagged() {
    let json = plan(serde_json::json!([
        function(
            "staging",
            "staging".into(),
            &["create", "delete"],
            Some(("staging", "1")),
            Some(("staging", "2"))
        ),
        function(
            "production",
            "production".into(),
            &["delete"],
            Some(("production", "1")),
            None
        ),
        function(
            "preview",
            "7".into(),
            &["delete", "create"],
            Some(("pr-7", "1")),
            Some(("pr-7", "2"))
        ),
    ]));
    let summary = summarize("svc", &json).unwrap();
    let actions: Vec<_> = summary
        .deployments
        .iter()
        .map(|f| (f.deployment.as_str(), f.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("staging", Action::Replace),
            ("production", Action::Delete),
            ("pr-7", Action::Replace)
        ]
    );
    assert_eq!(
        (
            summary.counts.add,
            summary.counts.change,
            summary.counts.destroy
        ),
        (2, 0, 3)
    );
    assert_eq!(summary.warnings.len(), 2, "{:?}", summary.warnings);
    assert!(summary.foreign.is_empty());
    let text = text(&summary);
    assert!(
        text.contains("WARNING: the production function `f-production` will be DELETED"),
        "{text}"
    );
    assert!(text.contains("1 → (deleted)"), "{text}");
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(
        json["warnings"][1],
        "the production function `f-production` will be DELETED"
    );
    assert!(json.get("foreign").is_none());
}

#[test]
fn updates_show_versions_and_no_ops_are_listed() {
    let json = plan(serde_json::json!([
        function("staging", "staging".into(), &["update"], Some(("staging", "0.1.5")), Some(("staging", "0.1.6"))),
        function("production", "production".into(), &["no-op"], Some(("production", "0.1.5")), Some(("production", "0.1.5"))),
        {"address": "aws_s3_bucket_notification.triggers", "mode": "managed", "type": "aws_s3_bucket_notification", "name": "triggers",
         "change": {"actions": ["update"],
                    "before": {"lambda_function": [{"filter_prefix": "staging/"}, {"filter_prefix": "preview/pr-7/"}]},
                    "after": {"lambda_function": [{"filter_prefix": "staging/"}, {"filter_prefix": "preview/pr-9/"}]}}}
    ]));
    let summary = summarize("svc", &json).unwrap();
    assert!(summary.has_changes);
    assert!(summary.warnings.is_empty());
    assert_eq!(summary.triggers.added, ["preview/pr-9/"]);
    assert_eq!(summary.triggers.removed, ["preview/pr-7/"]);
    let text = text(&summary);
    assert!(
        text.contains("staging     update   f-staging     0.1.5 → 0.1.6"),
        "{text}"
    );
    assert!(
        text.contains("production  no-op    f-production  0.1.5"),
        "{text}"
    );
    assert!(
        text.contains("triggers: +preview/pr-9/  -preview/pr-7/"),
        "{text}"
    );
}

/// A function resource as the bundled module plans it, with its settings.
fn configured(action: &[&str], before: Option<Value>, after: Option<Value>) -> Value {
    serde_json::json!({
        "address": "aws_lambda_function.environment[\"staging\"]", "mode": "managed",
        "type": "aws_lambda_function", "name": "environment", "index": "staging",
        "change": {"actions": action, "before": before, "after": after,
                   "after_unknown": {"role": after.is_some() && before.is_none()}}
    })
}

fn settings(memory: u64, env: Value) -> Value {
    serde_json::json!({
        "function_name": "f-staging", "runtime": "python3.12", "handler": "app.handler",
        "role": "arn:aws:iam::1:role/x", "memory_size": memory, "timeout": 3,
        "environment": [{"variables": env}],
        "tags": {"service": "svc", "environment": "staging", "version": "1"}
    })
}

#[test]
fn effective_settings_and_environment_keys_show_in_every_report_but_values_never() {
    let created = plan(serde_json::json!([configured(
        &["create"],
        None,
        Some(settings(
            256,
            serde_json::json!({"DB_PASSWORD": "hunter2", "MODE": "fast"})
        ))
    )]));
    let summary = summarize("svc", &created).unwrap();
    let function = &summary.deployments[0];
    assert_eq!(
        function.settings,
        Some(PlannedSettings {
            runtime: Some("python3.12".into()),
            handler: Some("app.handler".into()),
            role: None,
            memory_size: Some(256),
            timeout: Some(3),
            environment_keys: vec!["DB_PASSWORD".into(), "MODE".into()],
        })
    );
    let shown = text(&summary);
    assert!(
        shown.contains("runtime python3.12, handler app.handler, memory 256 MiB, timeout 3 s, role (known after apply), environment keys DB_PASSWORD, MODE"),
        "{shown}"
    );
    let comment = markdown(
        crate::report::Command::Plan,
        std::slice::from_ref(&summary),
        &[],
    );
    assert!(comment.contains("memory `256 MiB`"), "{comment}");
    assert!(
        comment.contains("environment keys `DB_PASSWORD, MODE`"),
        "{comment}"
    );
    let json = serde_json::to_string(&summary).unwrap();
    assert!(json.contains("\"memorySize\":256"), "{json}");
    for report in [shown, comment, json] {
        assert!(
            !report.contains("hunter2"),
            "an environment value leaked:\n{report}"
        );
    }

    // An update shows what changes, old value first.
    let updated = plan(serde_json::json!([configured(
        &["update"],
        Some(settings(128, serde_json::json!({"MODE": "fast"}))),
        Some(settings(
            4096,
            serde_json::json!({"MODE": "fast", "EXTRA": "1"})
        ))
    )]));
    let summary = summarize("svc", &updated).unwrap();
    let text = text(&summary);
    assert!(
        text.contains("memory 128 MiB → 4096 MiB, environment keys added EXTRA\n"),
        "{text}"
    );
    // Only what changes: the runtime stays, and so does MODE's value.
    assert!(!text.contains("runtime"), "{text}");
    assert!(!text.contains("MODE"), "{text}");
    assert_eq!(summary.deployments[0].environment_keys.added, ["EXTRA"]);
    // A value that changes names its key, never the values.
    let changed = plan(serde_json::json!([configured(
        &["update"],
        Some(settings(
            128,
            serde_json::json!({"MODE": "fast", "OLD": "x"})
        )),
        Some(settings(128, serde_json::json!({"MODE": "slow-secret"})))
    )]));
    let summary = summarize("svc", &changed).unwrap();
    let shown = text_of(&summary, false);
    assert!(
        shown.contains("environment keys removed OLD, value changed MODE\n"),
        "{shown}"
    );
    assert!(
        !shown.contains("slow-secret") && !shown.contains("fast"),
        "{shown}"
    );
}

#[test]
fn changes_to_resources_tagged_with_another_service_are_named_with_their_owner() {
    let arn = "arn:aws:lambda:us-east-1:1:function:a-staging";
    let json = plan(serde_json::json!([
        {"address": "aws_lambda_function.environment[\"staging\"]", "mode": "managed",
         "type": "aws_lambda_function", "name": "environment", "index": "staging",
         "change": {"actions": ["delete"], "before": {"function_name": "a-staging", "arn": arn, "tags": {"service": "a", "environment": "staging"}}, "after": null}},
        {"address": "aws_lambda_permission.s3[\"staging\"]", "mode": "managed",
         "type": "aws_lambda_permission", "name": "s3", "index": "staging",
         "change": {"actions": ["delete"], "before": {"function_name": "a-staging"}, "after": null}},
        {"address": "aws_s3_bucket_notification.triggers", "mode": "managed",
         "type": "aws_s3_bucket_notification", "name": "triggers",
         "change": {"actions": ["delete", "create"], "before": {"bucket": "a-uploads", "lambda_function": [{"lambda_function_arn": arn}]}, "after": {"bucket": "b-uploads"}}},
        {"address": "aws_iam_role.execution[0]", "mode": "managed", "type": "aws_iam_role", "name": "execution",
         "change": {"actions": ["delete", "create"], "before": {"name": "a-lambda-execution", "tags_all": {"service": "a"}}, "after": {"name": "b-lambda-execution"}}},
        {"address": "aws_iam_role_policy.logging[0]", "mode": "managed", "type": "aws_iam_role_policy", "name": "logging",
         "change": {"actions": ["delete", "create"], "before": {"role": "a-lambda-execution"}, "after": {"role": "b"}}},
        {"address": "aws_lambda_function.environment[\"production\"]", "mode": "managed",
         "type": "aws_lambda_function", "name": "environment", "index": "production",
         "change": {"actions": ["delete"], "before": {"function_name": "b-prod", "tags": {"service": "b"}}, "after": null}},
        {"address": "aws_s3_object.package[\"x\"]", "mode": "managed", "type": "aws_s3_object", "name": "package",
         "change": {"actions": ["create"], "before": null, "after": {"tags": {"service": "b"}}}}
    ]));
    let summary = summarize("b", &json).unwrap();
    let foreign: Vec<(&str, Action, &str)> = summary
        .foreign
        .iter()
        .map(|f| (f.address.as_str(), f.action, f.owner.as_str()))
        .collect();
    assert_eq!(
        foreign,
        [
            (
                "aws_lambda_function.environment[\"staging\"]",
                Action::Delete,
                "a"
            ),
            ("aws_lambda_permission.s3[\"staging\"]", Action::Delete, "a"),
            ("aws_s3_bucket_notification.triggers", Action::Replace, "a"),
            ("aws_iam_role.execution[0]", Action::Replace, "a"),
            ("aws_iam_role_policy.logging[0]", Action::Replace, "a"),
        ]
    );
    assert!(
        summarize("a", &json).unwrap().foreign.len() == 1,
        "b's own production function"
    );
}

/// An upgrade plan of the first module's state: functions move (`previous_address`)
/// and update, a log group is imported, another created, a permission replaced.
#[test]
fn upgrade_plans_count_moves_and_imports_and_read_both_module_versions() {
    let json = plan(serde_json::json!([
        {"address": "aws_lambda_function.this[\"pr-7\"]", "previous_address": "aws_lambda_function.preview[\"7\"]",
         "mode": "managed", "type": "aws_lambda_function", "name": "this", "index": "pr-7",
         "change": {"actions": ["update"], "before": {"function_name": "f-pr-7"}, "after": {"function_name": "f-pr-7"}}},
        {"address": "aws_lambda_function.preview[\"9\"]", "mode": "managed", "type": "aws_lambda_function",
         "name": "preview", "index": "9",
         "change": {"actions": ["delete"], "before": {"function_name": "f-pr-9"}, "after": null}},
        {"address": "aws_cloudwatch_log_group.this[\"staging\"]", "mode": "managed",
         "type": "aws_cloudwatch_log_group", "name": "this", "index": "staging",
         "change": {"actions": ["update"], "before": {"name": "/aws/lambda/f"}, "after": {"name": "/aws/lambda/f"},
                    "importing": {"id": "/aws/lambda/f"}}},
        {"address": "aws_cloudwatch_log_group.this[\"pr-7\"]", "mode": "managed",
         "type": "aws_cloudwatch_log_group", "name": "this", "index": "pr-7",
         "change": {"actions": ["create"], "before": null, "after": {"name": "/aws/lambda/f-pr-7"}}},
        {"address": "aws_cloudwatch_log_group.this[\"production\"]", "mode": "managed",
         "type": "aws_cloudwatch_log_group", "name": "this", "index": "production",
         "change": {"actions": ["delete", "create"], "before": {"name": "/aws/lambda/a"}, "after": {"name": "/aws/lambda/b"}}},
        {"address": "aws_lambda_permission.s3[\"pr-7\"]", "mode": "managed", "type": "aws_lambda_permission",
         "name": "s3", "index": "pr-7",
         "change": {"actions": ["create", "delete"], "before": {"function_name": "f-pr-7"}, "after": {"function_name": "f-pr-7"}}}
    ]));
    let summary = summarize("svc", &json).unwrap();
    assert_eq!(
        (
            summary.counts.import,
            summary.counts.moved,
            summary.counts.add,
            summary.counts.change,
            summary.counts.destroy
        ),
        (1, 1, 3, 2, 3)
    );
    let environments: Vec<&str> = summary
        .deployments
        .iter()
        .map(|f| f.deployment.as_str())
        .collect();
    assert_eq!(environments, ["pr-7", "pr-9"]);
    assert!(text(&summary)
        .starts_with("svc: 1 to import, 3 to add, 2 to change, 3 to destroy (1 moved)\n"));
    // Only plain creates are looked up for adoption; a replace is not.
    assert_eq!(
        log_groups_to_create(&json),
        [(DeploymentKey::Preview(7), "/aws/lambda/f-pr-7".to_owned())]
    );
    assert_eq!(log_groups_to_create(b"not json"), []);

    // A plan of nothing but moves still has changes to apply.
    let moves_only = plan(serde_json::json!([
        {"address": "aws_lambda_function.this[\"staging\"]", "previous_address": "aws_lambda_function.environment[\"staging\"]",
         "mode": "managed", "type": "aws_lambda_function", "name": "this", "index": "staging",
         "change": {"actions": ["no-op"], "before": {"function_name": "f"}, "after": {"function_name": "f"}}}
    ]));
    assert!(summarize("svc", &moves_only).unwrap().has_changes);
}

/// The notification invokes aliases now: an alias ARN, an alias and provisioned
/// concurrency are traced to the function they belong to.
#[test]
fn aliases_and_what_points_at_them_belong_to_their_functions_service() {
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:a-staging";
    let json = plan(serde_json::json!([
        {"address": "aws_lambda_function.this[\"staging\"]", "mode": "managed",
         "type": "aws_lambda_function", "name": "this", "index": "staging",
         "change": {"actions": ["no-op"], "before": {"function_name": "a-staging", "arn": arn, "tags": {"service": "a"}}, "after": {"function_name": "a-staging", "arn": arn, "tags": {"service": "a"}}}},
        {"address": "aws_lambda_alias.live[\"staging\"]", "mode": "managed", "type": "aws_lambda_alias",
         "name": "live", "index": "staging",
         "change": {"actions": ["delete"], "before": {"function_name": "a-staging"}, "after": null}},
        {"address": "aws_lambda_provisioned_concurrency_config.live[\"staging\"]", "mode": "managed",
         "type": "aws_lambda_provisioned_concurrency_config", "name": "live", "index": "staging",
         "change": {"actions": ["delete"], "before": {"function_name": "a-staging"}, "after": null}},
        {"address": "aws_s3_bucket_notification.triggers", "mode": "managed",
         "type": "aws_s3_bucket_notification", "name": "triggers",
         "change": {"actions": ["update"], "before": {"lambda_function": [{"lambda_function_arn": format!("{arn}:live")}]}, "after": {"lambda_function": []}}}
    ]));
    let foreign: Vec<(String, String)> = summarize("b", &json)
        .unwrap()
        .foreign
        .into_iter()
        .map(|f| (f.address, f.owner))
        .collect();
    assert_eq!(
        foreign,
        [
            (
                "aws_lambda_alias.live[\"staging\"]".to_owned(),
                "a".to_owned()
            ),
            (
                "aws_lambda_provisioned_concurrency_config.live[\"staging\"]".to_owned(),
                "a".to_owned()
            ),
            (
                "aws_s3_bucket_notification.triggers".to_owned(),
                "a".to_owned()
            ),
        ]
    );
    assert_eq!(unqualified(&format!("{arn}:live")), arn);
    assert_eq!(unqualified(arn), arn);
}

#[test]
fn markdown_comments_have_a_table_per_service_warnings_and_failures() {
    let json = plan(serde_json::json!([function(
        "environment",
        "production".into(),
        &["delete", "create"],
        Some(("production", "1")),
        Some(("production", "2"))
    )]));
    let summary = summarize("svc", &json).unwrap();
    let failure = Failure {
        service: "other".into(),
        error: "`terraform plan` exited with code 1 <oops|>".into(),
        ..Failure::default()
    };
    let comment = markdown(crate::report::Command::Plan, &[summary], &[failure]);
    assert!(
        comment.starts_with(
            "## lambda-gitops plan: 1 to add, 0 to change, 1 to destroy (1 service failed)\n"
        ),
        "{comment}"
    );
    assert!(
        comment.contains("| `production` | replace | `f-production` | `1` → `2` |"),
        "{comment}"
    );
    assert!(
        comment
            .contains("> [!WARNING]\n> the `production` function `f-production` will be REPLACED"),
        "{comment}"
    );
    assert!(
        comment.contains(":x: `other` failed: `` `terraform plan` exited with code 1 <oops|> ``"),
        "{comment}"
    );
}

#[test]
fn an_empty_plan_has_no_changes() {
    let summary = summarize("svc", &plan(serde_json::json!([]))).unwrap();
    assert!(!summary.has_changes);
    assert_eq!(text(&summary), "svc: no changes\n");
}

/// Issue 21: a hundred services unchanged since their last apply are one line of the
/// comment (the first ten named), never a line or a block each; the JSON entry and the
/// text say which services no terraform ran for.
#[test]
fn services_checked_without_terraform_are_one_line_of_the_comment() {
    let mut summaries: Vec<PlanFacts> = (1..=12)
        .map(|n| PlanFacts {
            checked_without_terraform: true,
            ..PlanFacts::unchanged(&format!("svc-{n:02}"))
        })
        .collect();
    summaries.push(PlanFacts::unchanged("planned"));
    let comment = markdown(crate::report::Command::Plan, &summaries, &[]);
    let named: Vec<String> = (1..=10).map(|n| format!("`svc-{n:02}`")).collect();
    assert_eq!(
        comment,
        format!(
            "## lambda-gitops plan: no changes\n\n- no changes since the last apply (checked without terraform): {}, 2 more\n",
            named.join(", ")
        )
    );
    assert_eq!(
        text(&summaries[0]),
        "svc-01: no changes since the last apply (checked without terraform)\n"
    );
    let report = Report {
        command: crate::report::Command::Plan,
        summaries: &summaries,
        failures: &[],
        error: None,
        plan_outputs: &[],
        exit_code: 0,
    };
    let json: Value = serde_json::from_str(&crate::report::json::json(&report)).unwrap();
    assert_eq!(json["services"][0]["checkedWithoutTerraform"], true);
    assert_eq!(json["services"][12].get("checkedWithoutTerraform"), None);
}

/// Strings a hostile config (or a state written by one) could put in front of a reviewer.
const HOSTILE: [&str; 12] = [
    "[click](https://evil.example)",
    "![pixel](https://evil.example/p.png)",
    "# Heading",
    "<img src=x onerror=alert(1)>",
    "a | b | c",
    "x\n### svc — no changes\n",
    "`` break out ``  [link](https://evil.example)",
    "<!-- hidden",
    "https://evil.example/autolink",
    "**bold** _em_ ~~strike~~",
    "\u{202e}segnahc on",
    "x\r\n|---|\r\n| fake | row |",
];

#[test]
fn the_markdown_report_escapes_every_string_it_did_not_write_itself() {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

    let hostile_function = |text: &str, i: usize| DeploymentChange {
        deployment: text.to_owned(),
        function_name: format!("{text}{i}"),
        action: Action::Update,
        version_before: Some(text.to_owned()),
        version_after: Some(format!("{text}!")),
        code: CodeChange::Changed,
        settings: None,
        changes: vec![SettingChange {
            name: "runtime",
            before: Some(text.to_owned()),
            after: Some(format!("{text}2")),
        }],
        environment_keys: KeyChanges {
            added: vec![text.to_owned()],
            removed: vec![format!("{text}-old")],
            changed: vec![format!("{text}-changed")],
        },
        trigger_before: Some(text.to_owned()),
        trigger_after: Some(format!("{text}/new")),
        replace_reasons: Vec::new(),
        notes: Vec::new(),
        artifact: Some(if i == 0 {
            ArtifactProof::not_checked(text, text)
        } else {
            ArtifactProof::compare(
                text,
                StagingPackage {
                    function_name: text.to_owned(),
                    function_version: text.to_owned(),
                    code_sha256: format!("{text}="),
                    since: Some(text.to_owned()),
                },
            )
        }),
        rollout: Some(super::facts::RolloutNote {
            strategy: crate::desired::Strategy::Canary,
            phase: if i == 0 {
                super::facts::RolloutPhase::Aborted
            } else {
                super::facts::RolloutPhase::Starts
            },
            weights: vec![10, 100],
            interval_seconds: 60,
            alarms: vec![text.to_owned()],
            weight: Some(10),
            reason: Some(text.to_owned()),
        }),
        address: "aws_lambda_function.x".to_owned(),
    };
    let summaries: Vec<PlanFacts> = HOSTILE
        .iter()
        .map(|text| {
            let mut facts = PlanFacts::unchanged(text);
            facts.has_changes = true;
            facts.counts = Counts {
                add: 1,
                change: 1,
                destroy: 1,
                import: 0,
                moved: 0,
            };
            facts.deployments = vec![hostile_function(text, 1), hostile_function(text, 2)];
            facts.triggers = TriggerChange {
                added: vec![(*text).to_owned()],
                removed: vec![format!("{text}/old")],
            };
            facts.packages = vec![PackageChange {
                sha256: (*text).to_owned(),
                action: Action::Delete,
                deployments: vec![(*text).to_owned()],
            }];
            facts.upgrade.imported = vec![(*text).to_owned()];
            facts.drift = vec![Drift {
                deployment: Some((*text).to_owned()),
                address: (*text).to_owned(),
                attribute: Some((*text).to_owned()),
                before: Some((*text).to_owned()),
                after: Some((*text).to_owned()),
                reverted: true,
            }];
            facts.warnings = vec![
                Warning {
                    environment: crate::desired::Environment::Production,
                    function_name: (*text).to_owned(),
                    action: Action::Delete,
                    reasons: Vec::new(),
                    not_on_staging: None,
                },
                Warning::not_on_staging(crate::desired::Environment::Production, text, text),
            ];
            facts
        })
        .collect();
    let failures: Vec<Failure> = HOSTILE
        .iter()
        .map(|text| Failure {
            service: (*text).to_owned(),
            error: format!("error: {text}"),
            ..Failure::default()
        })
        .collect();
    let comment = markdown(crate::report::Command::Plan, &summaries, &failures);

    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut headings = 0;
    let mut rows = 0;
    let mut cells_in_row = 0;
    let mut in_heading = false;
    let mut strong = 0;
    for event in Parser::new_ext(&comment, options) {
        match &event {
            Event::Html(_) | Event::InlineHtml(_) => {
                panic!("HTML got through: {event:?}\n{comment}")
            }
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => {
                panic!("a link got through: {event:?}\n{comment}")
            }
            Event::Start(Tag::Emphasis | Tag::Strikethrough) => {
                panic!("emphasis got through: {event:?}\n{comment}")
            }
            // Only ours: `**Triggers:**`, once per service.
            Event::Start(Tag::Strong) => strong += 1,
            Event::Start(Tag::Heading { .. }) => {
                headings += 1;
                in_heading = true;
            }
            Event::End(TagEnd::Heading(_)) => in_heading = false,
            Event::Text(text) if in_heading => assert!(
                text.starts_with("lambda-gitops plan:") || text.as_ref() == " — no changes",
                "heading text {text:?}"
            ),
            Event::Start(Tag::TableRow) => {
                rows += 1;
                cells_in_row = 0;
            }
            Event::Start(Tag::TableCell) => cells_in_row += 1,
            Event::End(TagEnd::TableRow) => assert_eq!(cells_in_row, 5, "{comment}"),
            Event::Text(text) => {
                assert!(!text.contains("no changes"), "a fake line: {text:?}");
                assert!(
                    !text.contains("evil"),
                    "outside a code span: {text:?}\n{comment}"
                );
            }
            _ => {}
        }
    }
    // The title and one heading per service; two function rows per service.
    assert_eq!(headings, 1 + HOSTILE.len(), "{comment}");
    assert_eq!(rows, 2 * HOSTILE.len(), "{comment}");
    assert_eq!(strong, HOSTILE.len(), "{comment}");
    // Every hostile string survives, verbatim but for control characters, in a code span.
    let spans: Vec<String> = Parser::new_ext(&comment, options)
        .filter_map(|event| match event {
            Event::Code(text) => Some(text.into_string()),
            _ => None,
        })
        .collect();
    for text in HOSTILE {
        let shown: String = text
            .chars()
            .map(|c| {
                if c.is_control() || c == '\u{202e}' {
                    '\u{fffd}'
                } else {
                    c
                }
            })
            .collect();
        assert!(
            spans.contains(&shown),
            "{shown:?} not shown as code:\n{comment}"
        );
    }
    assert!(!comment.contains('\u{202e}'));
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-z_]{0,12}".prop_map(Value::String),
            prop_oneof![
                Just("create"),
                Just("delete"),
                Just("update"),
                Just("no-op"),
                Just("aws_lambda_function"),
                Just("aws_s3_bucket_notification"),
                Just("aws_lambda_permission"),
                Just("aws_iam_role"),
                Just("data"),
                Just("service"),
                Just("tags"),
                Just("staging"),
                Just("pr-1"),
            ]
            .prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(5, 64, 8, |inner| {
            let keys = prop_oneof![
                "[a-z_]{1,10}",
                prop_oneof![
                    Just("resource_changes"),
                    Just("address"),
                    Just("mode"),
                    Just("type"),
                    Just("name"),
                    Just("index"),
                    Just("change"),
                    Just("actions"),
                    Just("before"),
                    Just("after"),
                    Just("after_unknown"),
                    Just("tags"),
                    Just("tags_all"),
                    Just("service"),
                    Just("function_name"),
                    Just("arn"),
                    Just("lambda_function"),
                    Just("lambda_function_arn"),
                    Just("filter_prefix"),
                    Just("environment"),
                    Just("variables"),
                    Just("memory_size"),
                    Just("role"),
                    Just("previous_address"),
                    Just("importing"),
                ]
                .prop_map(str::to_owned),
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(keys, inner, 0..8)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    fn kind() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("aws_lambda_function"),
            Just("aws_s3_bucket_notification"),
            Just("aws_lambda_permission"),
            Just("aws_iam_role"),
            Just("aws_iam_role_policy"),
            Just("aws_s3_object"),
            Just("aws_lambda_alias"),
            Just("aws_cloudwatch_log_group"),
            Just("aws_lambda_provisioned_concurrency_config"),
        ]
    }

    proptest! {
        #[test]
        fn the_plan_reader_gives_a_summary_or_an_error_for_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = summarize("svc", &bytes);
        }

        #[test]
        fn the_plan_reader_gives_a_summary_or_an_error_for_any_json(value in json()) {
            let bytes = value.to_string().into_bytes();
            if let Ok(summary) = summarize("svc", &bytes) {
                let _ = text(&summary);
                let _ = markdown(crate::report::Command::Plan, &[summary], &[]);
            }
        }

        #[test]
        fn plan_shaped_json_with_any_values_gives_a_summary_or_an_error(
            changes in prop::collection::vec((kind(), json(), json(), json()), 0..6)
        ) {
            let resources: Vec<Value> = changes
                .into_iter()
                .map(|(kind, before, after, index)| serde_json::json!({
                    "address": "x", "mode": "managed", "type": kind, "name": "environment",
                    "index": index,
                    "change": {"actions": ["delete", "create"], "before": before, "after": after}
                }))
                .collect();
            let bytes = plan(Value::Array(resources));
            if let Ok(summary) = summarize("svc", &bytes) {
                let _ = text(&summary);
                let _ = markdown(crate::report::Command::Plan, &[summary], &[]);
            }
        }
    }
}

/// Issue 9 §4: drift is what changed outside the gitops repo and the plan reverts; the
/// provider's read-back of unset attributes (null → "", [] or {}) is not, and neither is
/// what the plan leaves alone. Environment values are never shown, even drifted.
#[test]
fn drift_lists_real_changes_the_plan_reverts_without_null_to_empty_noise() {
    let state = |memory: u64, mode: &str, empty: Value| {
        serde_json::json!({
            "function_name": "f-staging", "memory_size": memory, "kms_key_arn": empty.clone(),
            "layers": empty.clone(), "logging_config": empty,
            "environment": [{"variables": {"MODE": mode}}],
            "tags": {"service": "svc", "environment": "staging", "version": "1"}
        })
    };
    let address = "aws_lambda_function.this[\"staging\"]";
    let json = serde_json::json!({
        "format_version": "1.2",
        "resource_drift": [
            {"address": address, "mode": "managed", "type": "aws_lambda_function", "name": "this", "index": "staging",
             "change": {"actions": ["update"], "before": state(128, "fast", Value::Null), "after": state(1024, "secret-slow", serde_json::json!(""))}},
            {"address": "aws_iam_role.execution[0]", "mode": "managed", "type": "aws_iam_role", "name": "execution",
             "change": {"actions": ["update"], "before": {"name": "r", "description": null}, "after": {"name": "r", "description": "set by hand"}}}
        ],
        "resource_changes": [
            {"address": address, "mode": "managed", "type": "aws_lambda_function", "name": "this", "index": "staging",
             "change": {"actions": ["update"], "before": state(1024, "secret-slow", serde_json::json!([])), "after": state(128, "fast", serde_json::json!({}))}},
            {"address": "aws_iam_role.execution[0]", "mode": "managed", "type": "aws_iam_role", "name": "execution",
             "change": {"actions": ["no-op"], "before": {"name": "r"}, "after": {"name": "r"}}}
        ]
    });
    let facts = summarize("svc", json.to_string().as_bytes()).unwrap();
    let drift: Vec<String> = facts.drift.iter().map(ToString::to_string).collect();
    assert_eq!(
        drift,
        [
            "staging (aws_lambda_function.this[\"staging\"]): environment variable MODE changed outside the gitops repo: (value hidden) → (value hidden), this plan reverts it",
            "staging (aws_lambda_function.this[\"staging\"]): memory_size changed outside the gitops repo: 128 → 1024, this plan reverts it",
        ]
    );
    let shown = text(&facts)
        + &markdown(
            crate::report::Command::Plan,
            std::slice::from_ref(&facts),
            &[],
        );
    assert!(!shown.contains("secret-slow"), "{shown}");
    assert!(
        !shown.contains("kms_key_arn") && !shown.contains("description"),
        "{shown}"
    );
}

/// Issue 9 §1: a replace is named with why, from terraform's `replace_paths`.
#[test]
fn replaces_say_why_in_lambda_terms() {
    let json = plan(serde_json::json!([
        {"address": "aws_lambda_function.this[\"production\"]", "mode": "managed", "type": "aws_lambda_function",
         "name": "this", "index": "production",
         "change": {"actions": ["create", "delete"], "replace_paths": [["function_name"]],
                    "before": {"function_name": "old", "tags": {"environment": "production", "version": "1"}},
                    "after": {"function_name": "new", "tags": {"environment": "production", "version": "1"}}}},
        {"address": "aws_cloudwatch_log_group.this[\"production\"]", "mode": "managed", "type": "aws_cloudwatch_log_group",
         "name": "this", "index": "production",
         "change": {"actions": ["delete", "create"], "replace_paths": [["name"]],
                    "before": {"name": "/aws/lambda/old"}, "after": {"name": "/aws/lambda/new"}}},
        {"address": "aws_lambda_function.this[\"pr-3\"]", "mode": "managed", "type": "aws_lambda_function",
         "name": "this", "index": "pr-3", "action_reason": "replace_because_tainted",
         "change": {"actions": ["delete", "create"], "before": {"function_name": "p"}, "after": {"function_name": "p"}}}
    ]));
    let facts = summarize("svc", &json).unwrap();
    assert_eq!(
        facts.warnings[0].to_string(),
        "the production function `new` will be REPLACED (deleted and re-created): function name changed: the ARN changes, callers break"
    );
    assert_eq!(
        facts.deployments[0].notes,
        ["log group name changed: logs go to a new group, the old group and its logs are deleted"]
    );
    assert_eq!(
        facts.deployments[1].replace_reasons,
        ["tainted: an earlier apply failed while creating it"]
    );
}
