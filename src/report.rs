//! Stage 7 — report: `terraform show -json plan.tfplan` → what changes per environment,
//! for humans (text) and machines (JSON). Read from the plan's JSON, never from terraform's
//! human output: a replace is `["delete","create"]` or `["create","delete"]`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    NoOp,
    Read,
}

impl Action {
    fn from_actions(actions: &[String]) -> Self {
        let has = |name: &str| actions.iter().any(|a| a == name);
        match (has("create"), has("delete"), has("update"), has("read")) {
            (true, true, _, _) => Self::Replace,
            (true, false, _, _) => Self::Create,
            (false, true, _, _) => Self::Delete,
            (_, _, true, _) => Self::Update,
            (_, _, _, true) => Self::Read,
            _ => Self::NoOp,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Replace => "replace",
            Self::Delete => "delete",
            Self::NoOp => "no-op",
            Self::Read => "read",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionChange {
    /// `staging`, `production` or `pr-<N>` (from the function's `environment` tag).
    pub environment: String,
    pub function_name: String,
    pub action: Action,
    pub version_before: Option<String>,
    pub version_after: Option<String>,
    pub address: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TriggerChange {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub service: String,
    pub has_changes: bool,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub functions: Vec<FunctionChange>,
    pub triggers: TriggerChange,
    /// Deletes and replaces of staging or production functions.
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
struct PlanJson {
    #[serde(default)]
    resource_changes: Vec<ResourceChange>,
}

#[derive(Deserialize)]
struct ResourceChange {
    address: String,
    #[serde(default)]
    mode: String,
    #[serde(rename = "type")]
    kind: String,
    name: String,
    index: Option<Value>,
    change: Change,
}

#[derive(Deserialize)]
struct Change {
    actions: Vec<String>,
    before: Option<Value>,
    after: Option<Value>,
}

/// Summarises a plan's JSON.
pub fn summarize(service: &str, plan_json: &str) -> Result<Summary, serde_json::Error> {
    let plan: PlanJson = serde_json::from_str(plan_json)?;
    let mut summary = Summary {
        service: service.to_owned(),
        has_changes: false,
        add: 0,
        change: 0,
        destroy: 0,
        functions: Vec::new(),
        triggers: TriggerChange::default(),
        warnings: Vec::new(),
    };
    for resource in plan.resource_changes.iter().filter(|r| r.mode != "data") {
        let action = Action::from_actions(&resource.change.actions);
        match action {
            Action::Create => summary.add += 1,
            Action::Update => summary.change += 1,
            Action::Delete => summary.destroy += 1,
            Action::Replace => {
                summary.add += 1;
                summary.destroy += 1;
            }
            Action::NoOp | Action::Read => {}
        }
        match resource.kind.as_str() {
            "aws_lambda_function" => summary.functions.push(function_change(resource, action)),
            "aws_s3_bucket_notification" => {
                let before = prefixes(resource.change.before.as_ref());
                let after = prefixes(resource.change.after.as_ref());
                summary
                    .triggers
                    .added
                    .extend(after.difference(&before).cloned());
                summary
                    .triggers
                    .removed
                    .extend(before.difference(&after).cloned());
            }
            _ => {}
        }
    }
    summary.has_changes = summary.add + summary.change + summary.destroy > 0;
    summary
        .functions
        .sort_by_key(|f| environment_order(&f.environment));
    for function in &summary.functions {
        let permanent = matches!(function.environment.as_str(), "staging" | "production");
        if permanent && matches!(function.action, Action::Delete | Action::Replace) {
            summary.warnings.push(format!(
                "the {} function `{}` will be {}",
                function.environment,
                function.function_name,
                if function.action == Action::Delete {
                    "DELETED"
                } else {
                    "REPLACED (deleted and re-created)"
                }
            ));
        }
    }
    Ok(summary)
}

fn function_change(resource: &ResourceChange, action: Action) -> FunctionChange {
    let field = |value: Option<&Value>, path: &[&str]| -> Option<String> {
        let mut current = value?;
        for key in path {
            current = current.get(key)?;
        }
        current.as_str().map(str::to_owned)
    };
    let (before, after) = (
        resource.change.before.as_ref(),
        resource.change.after.as_ref(),
    );
    // Without tags (another module), the bundled module's addresses still tell.
    let from_address = match (&resource.index, resource.name.as_str()) {
        (Some(Value::String(pr)), "preview") => format!("pr-{pr}"),
        (Some(Value::String(environment)), _) => environment.clone(),
        _ => resource.name.clone(),
    };
    FunctionChange {
        environment: field(after, &["tags", "environment"])
            .or_else(|| field(before, &["tags", "environment"]))
            .unwrap_or(from_address),
        function_name: field(after, &["function_name"])
            .or_else(|| field(before, &["function_name"]))
            .unwrap_or_default(),
        action,
        version_before: field(before, &["tags", "version"]),
        version_after: field(after, &["tags", "version"]),
        address: resource.address.clone(),
    }
}

fn prefixes(notification: Option<&Value>) -> BTreeSet<String> {
    notification
        .and_then(|value| value.get("lambda_function"))
        .and_then(Value::as_array)
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|block| {
                    block
                        .get("filter_prefix")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// staging, production, then previews by PR number.
fn environment_order(environment: &str) -> (u8, u64, String) {
    match environment {
        "staging" => (0, 0, String::new()),
        "production" => (1, 0, String::new()),
        other => match other.strip_prefix("pr-").and_then(|n| n.parse().ok()) {
            Some(pr) => (2, pr, String::new()),
            None => (3, 0, other.to_owned()),
        },
    }
}

/// A service whose plan or apply failed, for the reports printed at the end.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub service: String,
    pub error: String,
}

/// A pull-request comment (GitHub-flavoured Markdown) for every service of a run.
pub fn markdown(title: &str, summaries: &[Summary], failures: &[Failure]) -> String {
    let (add, change, destroy) = summaries.iter().fold((0, 0, 0), |(a, c, d), s| {
        (a + s.add, c + s.change, d + s.destroy)
    });
    let mut out = format!(
        "## lambda-gitops {title}: {add} to add, {change} to change, {destroy} to destroy\n"
    );
    for failure in failures {
        out.push_str(&format!(
            "\n:x: **{}** failed: {}\n",
            failure.service,
            escape(&failure.error)
        ));
    }
    for summary in summaries {
        out.push_str(&format!("\n### {}", summary.service));
        if !summary.has_changes {
            out.push_str(" — no changes");
        }
        out.push_str("\n\n| environment | action | function | version |\n|---|---|---|---|\n");
        for f in &summary.functions {
            out.push_str(&format!(
                "| {} | {} | `{}` | {} |\n",
                f.environment,
                f.action.as_str(),
                f.function_name,
                escape(&version_change(f))
            ));
        }
        let triggers = trigger_changes(&summary.triggers);
        if !triggers.is_empty() {
            let words: Vec<String> = triggers.iter().map(|t| format!("`{t}`")).collect();
            out.push_str(&format!("\n**Triggers:** {}\n", words.join(" ")));
        }
        for warning in &summary.warnings {
            out.push_str(&format!("\n> [!WARNING]\n> {}\n", escape(warning)));
        }
    }
    out
}

/// Keeps user text from breaking a Markdown table or opening an HTML tag.
fn escape(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `+prefix` for each trigger added, then `-prefix` for each removed.
fn trigger_changes(triggers: &TriggerChange) -> Vec<String> {
    let added = triggers.added.iter().map(|p| format!("+{p}"));
    let removed = triggers.removed.iter().map(|p| format!("-{p}"));
    added.chain(removed).collect()
}

fn version_change(function: &FunctionChange) -> String {
    match (
        function.action,
        &function.version_before,
        &function.version_after,
    ) {
        (Action::Create, _, Some(after)) => format!("→ {after}"),
        (Action::Delete, Some(before), _) => format!("{before} → (deleted)"),
        (_, Some(before), Some(after)) if before != after => format!("{before} → {after}"),
        (_, _, Some(after)) => after.clone(),
        (_, Some(before), None) => before.clone(),
        _ => String::new(),
    }
}

/// The human report of one service's plan.
pub fn text(summary: &Summary) -> String {
    let mut out = String::new();
    if summary.has_changes {
        out.push_str(&format!(
            "{}: {} to add, {} to change, {} to destroy\n",
            summary.service, summary.add, summary.change, summary.destroy
        ));
    } else {
        out.push_str(&format!("{}: no changes\n", summary.service));
    }
    let width =
        |f: fn(&FunctionChange) -> usize| summary.functions.iter().map(f).max().unwrap_or(0);
    let env_width = width(|f| f.environment.len());
    let name_width = width(|f| f.function_name.len());
    for function in &summary.functions {
        let versions = version_change(function);
        out.push_str(&format!(
            "  {:env_width$}  {:7}  {:name_width$}  {}\n",
            function.environment,
            function.action.as_str(),
            function.function_name,
            versions
        ));
    }
    let triggers = trigger_changes(&summary.triggers);
    if !triggers.is_empty() {
        out.push_str(&format!("  triggers: {}\n", triggers.join("  ")));
    }
    for warning in &summary.warnings {
        out.push_str(&format!("  WARNING: {warning}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(changes: Value) -> String {
        serde_json::json!({ "format_version": "1.2", "resource_changes": changes }).to_string()
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
                serde_json::json!({"function_name": format!("f-{env}"), "tags": {"environment": env, "version": version}})
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
            .functions
            .iter()
            .map(|f| (f.environment.as_str(), f.action))
            .collect();
        assert_eq!(
            actions,
            [
                ("staging", Action::Replace),
                ("production", Action::Delete),
                ("pr-7", Action::Replace)
            ]
        );
        assert_eq!((summary.add, summary.change, summary.destroy), (2, 0, 3));
        assert_eq!(summary.warnings.len(), 2, "{:?}", summary.warnings);
        let text = text(&summary);
        assert!(
            text.contains("WARNING: the production function `f-production` will be DELETED"),
            "{text}"
        );
        assert!(text.contains("1 → (deleted)"), "{text}");
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
        };
        let comment = markdown("plan", &[summary], &[failure]);
        assert!(
            comment.starts_with("## lambda-gitops plan: 1 to add, 0 to change, 1 to destroy\n"),
            "{comment}"
        );
        assert!(
            comment.contains("| production | replace | `f-production` | 1 → 2 |"),
            "{comment}"
        );
        assert!(
            comment.contains(
                "> [!WARNING]\n> the production function `f-production` will be REPLACED"
            ),
            "{comment}"
        );
        assert!(
            comment.contains(
                ":x: **other** failed: `terraform plan` exited with code 1 &lt;oops\\|&gt;"
            ),
            "{comment}"
        );
    }

    #[test]
    fn an_empty_plan_has_no_changes() {
        let summary = summarize("svc", &plan(serde_json::json!([]))).unwrap();
        assert!(!summary.has_changes);
        assert_eq!(text(&summary), "svc: no changes\n");
    }
}
