//! Stage 7 — report: `terraform show -json plan.tfplan` → what changes per environment,
//! for humans (text), reviewers (a Markdown pull-request comment) and machines (JSON).
//! Read from the plan's JSON, never from terraform's human output: a replace is
//! `["delete","create"]` or `["create","delete"]`. Per function it keeps the effective
//! settings a reviewer must see (runtime, handler, role, memory, timeout, environment
//! *keys* — never values), and it names every change to a resource of another service.
//! It reads the module's addresses of both versions (`this["pr-7"]` and the first
//! module's `environment["staging"]`, `preview["7"]`), so an upgrade plan reads right.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::desired::DeploymentKey;

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

/// What a function runs with, as the plan has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FunctionSettings {
    pub runtime: Option<String>,
    pub handler: Option<String>,
    /// `None` when only known after apply (a role the module creates).
    pub role: Option<String>,
    pub memory_size: Option<u64>,
    pub timeout: Option<u64>,
    /// The environment variables' names; their values never reach a report.
    pub environment_keys: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionChange {
    /// `staging`, `production` or `pr-<N>` (from the function's `environment` tag).
    pub environment: String,
    pub function_name: String,
    pub action: Action,
    pub version_before: Option<String>,
    pub version_after: Option<String>,
    /// Before the change; `None` for a new function.
    pub settings_before: Option<FunctionSettings>,
    /// After the change; `None` for a deleted function.
    pub settings: Option<FunctionSettings>,
    pub address: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TriggerChange {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// A delete or replace of a staging or production function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Warning {
    pub environment: String,
    pub function_name: String,
    pub action: Action,
}

impl Warning {
    fn outcome(&self) -> &'static str {
        if self.action == Action::Delete {
            "DELETED"
        } else {
            "REPLACED (deleted and re-created)"
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} function `{}` will be {}",
            self.environment,
            self.function_name,
            self.outcome()
        )
    }
}

impl From<Warning> for String {
    fn from(warning: Warning) -> Self {
        warning.to_string()
    }
}

/// A change to a resource that belongs to another service: its `service` tag, or for
/// untagged resources the tagged function or role they point at, names `owner`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignChange {
    pub address: String,
    pub action: Action,
    pub owner: String,
}

/// What the version clean-up after an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VersionCleanup {
    /// Published versions deleted, across the service's functions.
    pub deleted: usize,
    /// Why it stopped early; the apply itself succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub service: String,
    pub has_changes: bool,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// Existing objects the plan adopts into the state (`import` blocks).
    pub import: usize,
    /// Resources that only move to a new address (`moved` blocks).
    pub moved: usize,
    pub functions: Vec<FunctionChange>,
    pub triggers: TriggerChange,
    /// Deletes and replaces of staging or production functions.
    pub warnings: Vec<Warning>,
    /// Changes to other services' resources: a plan with any is refused.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<ForeignChange>,
    /// After an apply: the old versions deleted. `None` for a plan.
    pub version_cleanup: Option<VersionCleanup>,
}

#[derive(Deserialize)]
struct PlanJson {
    #[serde(default)]
    resource_changes: Vec<ResourceChange>,
}

#[derive(Deserialize)]
struct ResourceChange {
    address: String,
    /// Set when a `moved` block brings the resource here from another address.
    previous_address: Option<String>,
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
    after_unknown: Option<Value>,
    /// Set when an `import` block adopts an existing object.
    importing: Option<Value>,
}

/// Summarises a plan's JSON; any bytes give a summary or an error.
pub fn summarize(service: &str, plan_json: &[u8]) -> Result<Summary, serde_json::Error> {
    let plan: PlanJson = serde_json::from_slice(plan_json)?;
    let resources: Vec<&ResourceChange> = plan
        .resource_changes
        .iter()
        .filter(|r| r.mode != "data")
        .collect();
    let mut summary = Summary {
        service: service.to_owned(),
        has_changes: false,
        add: 0,
        change: 0,
        destroy: 0,
        import: 0,
        moved: 0,
        functions: Vec::new(),
        triggers: TriggerChange::default(),
        warnings: Vec::new(),
        foreign: Vec::new(),
        version_cleanup: None,
    };
    let owners = Owners::of(&resources);
    for resource in resources {
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
        summary.import += usize::from(resource.change.importing.is_some());
        summary.moved += usize::from(
            resource
                .previous_address
                .as_ref()
                .is_some_and(|previous| *previous != resource.address),
        );
        if matches!(action, Action::Update | Action::Replace | Action::Delete) {
            if let Some(owner) = owners.owner(resource).filter(|owner| owner != service) {
                summary.foreign.push(ForeignChange {
                    address: resource.address.clone(),
                    action,
                    owner,
                });
            }
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
    summary.has_changes =
        summary.add + summary.change + summary.destroy + summary.import + summary.moved > 0;
    summary
        .functions
        .sort_by_key(|f| environment_order(&f.environment));
    summary.warnings = summary
        .functions
        .iter()
        .filter(|f| matches!(f.environment.as_str(), "staging" | "production"))
        .filter(|f| matches!(f.action, Action::Delete | Action::Replace))
        .map(|f| Warning {
            environment: f.environment.clone(),
            function_name: f.function_name.clone(),
            action: f.action,
        })
        .collect();
    Ok(summary)
}

/// `value.path…` as a string.
fn text_at(value: Option<&Value>, path: &[&str]) -> Option<String> {
    let mut current = value?;
    for key in path {
        current = current.get(key)?;
    }
    current.as_str().map(str::to_owned)
}

/// The `service` tag of a resource's prior state (`tags`, else `tags_all`).
fn service_tag(value: Option<&Value>) -> Option<String> {
    text_at(value, &["tags", "service"]).or_else(|| text_at(value, &["tags_all", "service"]))
}

/// Which service the resources of a plan's prior state belong to: tagged ones say so;
/// permissions, notifications and inline policies are traced to the tagged function or
/// role they point at.
struct Owners {
    by_function: BTreeMap<String, String>,
    by_role: BTreeMap<String, String>,
}

impl Owners {
    fn of(resources: &[&ResourceChange]) -> Self {
        let mut owners = Self {
            by_function: BTreeMap::new(),
            by_role: BTreeMap::new(),
        };
        for resource in resources {
            let before = resource.change.before.as_ref();
            let Some(service) = service_tag(before) else {
                continue;
            };
            let (map, fields): (_, &[&str]) = match resource.kind.as_str() {
                "aws_lambda_function" => (&mut owners.by_function, &["function_name", "arn"]),
                "aws_iam_role" => (&mut owners.by_role, &["name", "id", "arn"]),
                _ => continue,
            };
            for field in fields {
                if let Some(id) = text_at(before, &[field]) {
                    map.insert(id, service.clone());
                }
            }
        }
        owners
    }

    fn owner(&self, resource: &ResourceChange) -> Option<String> {
        let before = resource.change.before.as_ref();
        if let Some(service) = service_tag(before) {
            return Some(service);
        }
        let find = |map: &BTreeMap<String, String>, id: Option<String>| map.get(&id?).cloned();
        // An alias ARN (`…:function:<name>:live`) belongs to its function.
        let function_of = |arn: Option<String>| {
            let arn = arn?;
            find(&self.by_function, Some(arn.clone()))
                .or_else(|| find(&self.by_function, Some(unqualified(&arn).to_owned())))
        };
        match resource.kind.as_str() {
            "aws_lambda_permission"
            | "aws_lambda_alias"
            | "aws_lambda_provisioned_concurrency_config" => {
                find(&self.by_function, text_at(before, &["function_name"]))
            }
            "aws_iam_role_policy" | "aws_iam_role_policy_attachment" => {
                find(&self.by_role, text_at(before, &["role"]))
            }
            "aws_s3_bucket_notification" => before
                .and_then(|value| value.get("lambda_function"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|block| function_of(text_at(Some(block), &["lambda_function_arn"])))
                .next(),
            _ => None,
        }
    }
}

/// A Lambda ARN without its qualifier: `arn:aws:lambda:<region>:<account>:function:<name>`.
fn unqualified(arn: &str) -> &str {
    match arn.match_indices(':').nth(6) {
        Some((at, _)) => &arn[..at],
        None => arn,
    }
}

/// The log groups a plan creates (not replaces): `(deployment, name)`, for the runner to
/// look up and adopt when they exist already. Any bytes give a list, maybe empty.
pub fn log_groups_to_create(plan_json: &[u8]) -> Vec<(DeploymentKey, String)> {
    let Ok(plan) = serde_json::from_slice::<PlanJson>(plan_json) else {
        return Vec::new();
    };
    plan.resource_changes
        .iter()
        .filter(|r| r.mode != "data" && r.kind == "aws_cloudwatch_log_group")
        .filter(|r| Action::from_actions(&r.change.actions) == Action::Create)
        .filter_map(|r| {
            let key = DeploymentKey::parse(r.index.as_ref()?.as_str()?)?;
            Some((key, text_at(r.change.after.as_ref(), &["name"])?))
        })
        .collect()
}

fn function_settings(value: Option<&Value>, unknown: Option<&Value>) -> Option<FunctionSettings> {
    let value = value.filter(|v| v.is_object())?;
    let number = |key: &str| value.get(key).and_then(Value::as_u64);
    let known_after_apply = |key: &str| {
        unknown
            .and_then(|u| u.get(key))
            .is_some_and(|flag| flag == &Value::Bool(true))
    };
    let mut environment_keys: Vec<String> = value
        .get("environment")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|block| block.get("variables").and_then(Value::as_object))
        .flat_map(|variables| variables.keys().cloned())
        .collect();
    environment_keys.sort();
    environment_keys.dedup();
    Some(FunctionSettings {
        runtime: text_at(Some(value), &["runtime"]),
        handler: text_at(Some(value), &["handler"]),
        role: text_at(Some(value), &["role"]).filter(|_| !known_after_apply("role")),
        memory_size: number("memory_size"),
        timeout: number("timeout"),
        environment_keys,
    })
}

fn function_change(resource: &ResourceChange, action: Action) -> FunctionChange {
    let (before, after) = (
        resource.change.before.as_ref(),
        resource.change.after.as_ref(),
    );
    // Without tags (another module), the bundled module's addresses still tell: the key
    // (`this["pr-7"]`), or the first module's `preview["7"]` and `environment["staging"]`.
    let from_address = match (&resource.index, resource.name.as_str()) {
        (Some(Value::String(pr)), "preview") => format!("pr-{pr}"),
        (Some(Value::String(key)), _) => key.clone(),
        _ => resource.name.clone(),
    };
    FunctionChange {
        environment: text_at(after, &["tags", "environment"])
            .or_else(|| text_at(before, &["tags", "environment"]))
            .unwrap_or(from_address),
        function_name: text_at(after, &["function_name"])
            .or_else(|| text_at(before, &["function_name"]))
            .unwrap_or_default(),
        action,
        version_before: text_at(before, &["tags", "version"]),
        version_after: text_at(after, &["tags", "version"]),
        settings_before: function_settings(before, None),
        settings: function_settings(after, resource.change.after_unknown.as_ref()),
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
    /// Terraform's last lines when a terraform command failed (its own error message).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub terraform_output: Vec<String>,
}

/// One effective setting for display: its label, the value before (when it differs) and
/// after.
struct SettingRow {
    label: &'static str,
    before: Option<String>,
    after: String,
}

/// The settings worth showing for a function: all of them for a create, update or
/// replace, with the old value where it changes; none for a no-op or delete.
fn setting_rows(function: &FunctionChange) -> Vec<SettingRow> {
    if !matches!(
        function.action,
        Action::Create | Action::Update | Action::Replace
    ) {
        return Vec::new();
    }
    let Some(after) = &function.settings else {
        return Vec::new();
    };
    let describe = |settings: &FunctionSettings| -> [(&'static str, String); 6] {
        let or_unknown = |value: &Option<String>| {
            value
                .clone()
                .unwrap_or_else(|| "(known after apply)".to_owned())
        };
        [
            ("runtime", or_unknown(&settings.runtime)),
            ("handler", or_unknown(&settings.handler)),
            (
                "memory",
                settings
                    .memory_size
                    .map(|m| format!("{m} MiB"))
                    .unwrap_or_else(|| "(known after apply)".to_owned()),
            ),
            (
                "timeout",
                settings
                    .timeout
                    .map(|t| format!("{t} s"))
                    .unwrap_or_else(|| "(known after apply)".to_owned()),
            ),
            ("role", or_unknown(&settings.role)),
            (
                "environment keys",
                if settings.environment_keys.is_empty() {
                    "(none)".to_owned()
                } else {
                    settings.environment_keys.join(", ")
                },
            ),
        ]
    };
    let before = function.settings_before.as_ref().map(describe);
    describe(after)
        .into_iter()
        .enumerate()
        .map(|(i, (label, value))| {
            let old = before
                .as_ref()
                .map(|b| b[i].1.clone())
                .filter(|old| *old != value);
            SettingRow {
                label,
                before: old,
                after: value,
            }
        })
        .collect()
}

/// A pull-request comment (GitHub-flavoured Markdown) for every service of a run. Every
/// string that comes from the gitops repo, the plan or an error goes through [`code`] or
/// [`cell`]: it cannot add links, images, headings, HTML, table cells or lines.
pub fn markdown(title: &str, summaries: &[Summary], failures: &[Failure]) -> String {
    let (add, change, destroy) = summaries.iter().fold((0, 0, 0), |(a, c, d), s| {
        (a + s.add, c + s.change, d + s.destroy)
    });
    let mut out = format!(
        "## lambda-gitops {title}: {add} to add, {change} to change, {destroy} to destroy\n"
    );
    for failure in failures {
        out.push_str(&format!(
            "\n:x: {} failed: {}\n",
            code(&failure.service),
            code(&failure.error)
        ));
    }
    for summary in summaries {
        out.push_str(&format!("\n### {}", code(&summary.service)));
        if !summary.has_changes {
            out.push_str(" — no changes");
        }
        out.push_str(
            "\n\n| environment | action | function | version | settings |\n|---|---|---|---|---|\n",
        );
        for f in &summary.functions {
            let settings: Vec<String> = setting_rows(f)
                .iter()
                .map(|row| match &row.before {
                    Some(before) => {
                        format!("{} {} → {}", row.label, cell(before), cell(&row.after))
                    }
                    None => format!("{} {}", row.label, cell(&row.after)),
                })
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&f.environment),
                f.action.as_str(),
                cell(&f.function_name),
                markdown_versions(f),
                settings.join(" · ")
            ));
        }
        let triggers: Vec<String> = summary
            .triggers
            .added
            .iter()
            .map(|p| format!("+{}", code(p)))
            .chain(
                summary
                    .triggers
                    .removed
                    .iter()
                    .map(|p| format!("-{}", code(p))),
            )
            .collect();
        if !triggers.is_empty() {
            out.push_str(&format!("\n**Triggers:** {}\n", triggers.join(" ")));
        }
        for warning in &summary.warnings {
            out.push_str(&format!(
                "\n> [!WARNING]\n> the {} function {} will be {}\n",
                code(&warning.environment),
                code(&warning.function_name),
                warning.outcome()
            ));
        }
    }
    out
}

fn markdown_versions(function: &FunctionChange) -> String {
    let v = |text: &String| cell(text);
    match (
        function.action,
        &function.version_before,
        &function.version_after,
    ) {
        (Action::Create, _, Some(after)) => format!("→ {}", v(after)),
        (Action::Delete, Some(before), _) => format!("{} → (deleted)", v(before)),
        (_, Some(before), Some(after)) if before != after => {
            format!("{} → {}", v(before), v(after))
        }
        (_, _, Some(after)) => v(after),
        (_, Some(before), None) => v(before),
        _ => String::new(),
    }
}

/// Text from outside as an inline code span, inside which Markdown and HTML mean nothing.
/// Line breaks and other control characters, and the bidirectional controls that could
/// make it read differently, become U+FFFD; the fence is one backtick longer than any run
/// inside.
pub fn code(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    if clean.is_empty() {
        return String::new();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in clean.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let all_spaces = clean.chars().all(|c| c == ' ');
    let pad = clean.starts_with('`')
        || clean.ends_with('`')
        || (!all_spaces && clean.starts_with(' ') && clean.ends_with(' '));
    let space = if pad { " " } else { "" };
    format!("{fence}{space}{clean}{space}{fence}")
}

/// [`code`] for a table cell: GitHub splits cells on `|` even inside code spans, unless
/// escaped.
pub fn cell(text: &str) -> String {
    code(text).replace('|', "\\|")
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

/// The human report of one service's plan: a line per function, then the settings of
/// each function that is created or changed.
pub fn text(summary: &Summary) -> String {
    let mut out = String::new();
    if summary.has_changes {
        let import = match summary.import {
            0 => String::new(),
            n => format!("{n} to import, "),
        };
        let moved = match summary.moved {
            0 => String::new(),
            n => format!(" ({n} moved)"),
        };
        out.push_str(&format!(
            "{}: {import}{} to add, {} to change, {} to destroy{moved}\n",
            summary.service, summary.add, summary.change, summary.destroy
        ));
    } else {
        out.push_str(&format!("{}: no changes\n", summary.service));
    }
    let width =
        |f: fn(&FunctionChange) -> usize| summary.functions.iter().map(f).max().unwrap_or(0);
    let env_width = width(|f| f.environment.chars().count());
    let name_width = width(|f| f.function_name.chars().count());
    for function in &summary.functions {
        let versions = version_change(function);
        out.push_str(&format!(
            "  {:env_width$}  {:7}  {:name_width$}  {}\n",
            function.environment,
            function.action.as_str(),
            function.function_name,
            versions
        ));
        let rows: Vec<String> = setting_rows(function)
            .into_iter()
            .map(|row| match row.before {
                Some(before) => format!("{} {before} → {}", row.label, row.after),
                None => format!("{} {}", row.label, row.after),
            })
            .collect();
        if !rows.is_empty() {
            out.push_str(&format!(
                "  {:env_width$}  {:7}  {}\n",
                "",
                "",
                rows.join(", ")
            ));
        }
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

// ---------------------------------------------------------------------------------------
// The run as CI renders it (the pull-request comment, the job summary, `--format markdown`,
// annotations): `RunFacts` → `ci::Rendering`. An interim filling from the summaries above
// until the report speaks in deployments; the renderers read only the `Rendering`, so this
// is the one place to change what they say.

/// What a `plan` or `apply` run produced.
pub struct RunFacts<'a> {
    /// `plan` or `apply`.
    pub command: &'a str,
    pub summaries: &'a [Summary],
    pub failures: &'a [Failure],
    /// The error that ended the run before its services were planned (an invalid repo, a
    /// package that could not be staged, …).
    pub error: Option<&'a crate::error::Error>,
    /// Terraform's own plan text, per service: `(service, text)`.
    pub plan_outputs: &'a [(String, String)],
}

/// The run for CI renderers: the headline and per-service counts first, then errors
/// (validation problems with file and line, terraform's last lines), warnings, the tables,
/// and terraform's plan text.
pub fn rendering(run: &RunFacts) -> crate::ci::Rendering {
    use crate::ci::annotations::Annotation;
    let failed = run.error.is_some() || !run.failures.is_empty();
    let has_changes = run.summaries.iter().any(|s| s.has_changes);
    let (add, change, destroy) = run.summaries.iter().fold((0, 0, 0), |(a, c, d), s| {
        (a + s.add, c + s.change, d + s.destroy)
    });
    let command = run.command;
    let failed_services = match run.failures.len() {
        0 => String::new(),
        1 => " (1 service failed)".to_owned(),
        n => format!(" ({n} services failed)"),
    };
    let mut summary = if run.error.is_some() || (run.summaries.is_empty() && failed) {
        format!("## lambda-gitops {command} failed\n")
    } else if has_changes {
        format!("## lambda-gitops {command}: {add} to add, {change} to change, {destroy} to destroy{failed_services}\n")
    } else {
        format!("## lambda-gitops {command}: no changes{failed_services}\n")
    };
    let mut services: Vec<String> = run
        .summaries
        .iter()
        .map(|s| {
            let what = if s.has_changes {
                format!(
                    "{} to add, {} to change, {} to destroy",
                    s.add, s.change, s.destroy
                )
            } else {
                "no changes".to_owned()
            };
            format!("{} {what}", code(&s.service))
        })
        .collect();
    services.extend(
        run.failures
            .iter()
            .map(|f| format!("{} :x: failed", code(&f.service))),
    );
    if !services.is_empty() {
        summary.push_str(&format!("\n{}\n", services.join(" · ")));
    }

    let mut errors = Vec::new();
    let mut annotations = Vec::new();
    if let Some(error) = run.error {
        match error {
            crate::error::Error::Invalid { problems } => {
                for problem in problems {
                    let mut block = format!(
                        ":x: {}: {}\n",
                        code(&problem.location()),
                        code(&problem.message)
                    );
                    if let Some(hint) = &problem.hint {
                        block.push_str(&format!("hint: {}\n", code(hint)));
                    }
                    errors.push(block);
                    annotations.push(
                        Annotation::error("invalid gitops config", problem.message.clone())
                            .at(&problem.file, problem.line),
                    );
                }
            }
            crate::error::Error::Stage { errors: staging } => {
                for stage_error in staging {
                    let text = stage_error.to_string();
                    errors.push(format!(":x: {}\n", code(&text)));
                    annotations.push(Annotation::error("package not staged", text));
                }
            }
            _ => {}
        }
        let text = full_message(error);
        let mut block = format!(":x: {}\n", code(&text));
        if let Some(hint) = error.hint() {
            block.push_str(&format!("hint: {}\n", code(&hint)));
        }
        errors.push(block);
        annotations.push(Annotation::error(
            format!("lambda-gitops {command} failed"),
            text,
        ));
    }
    for failure in run.failures {
        let mut block = format!(
            ":x: {} failed: {}\n",
            code(&failure.service),
            code(&failure.error)
        );
        if !failure.terraform_output.is_empty() {
            let text = crate::ci::markdown::redact_environment_values(
                &crate::ci::markdown::sanitize(&failure.terraform_output.join("\n")),
            );
            let fence = crate::ci::markdown::fence_for(&text);
            block.push_str(&format!("\n{fence}text\n{text}\n{fence}\n"));
        }
        errors.push(block);
        annotations.push(Annotation::error(
            format!("{}: {command} failed", failure.service),
            format!("{}\n{}", failure.error, failure.terraform_output.join("\n")),
        ));
    }

    let mut warnings = Vec::new();
    for warning in run.summaries.iter().flat_map(|s| &s.warnings) {
        warnings.push(format!(
            "> [!WARNING]\n> the {} function {} will be {}\n",
            code(&warning.environment),
            code(&warning.function_name),
            warning.outcome()
        ));
        annotations.push(Annotation::warning(
            format!("{} {}", warning.environment, warning.action.as_str()),
            warning.to_string(),
        ));
    }

    let mut details = Vec::new();
    for summary in run.summaries {
        let status = if summary.has_changes {
            ""
        } else {
            " — no changes"
        };
        details.push(format!("### {}{status}\n\n", code(&summary.service)));
        if summary.functions.is_empty() {
            continue;
        }
        details.push(
            "| environment | action | function | version | settings |\n|---|---|---|---|---|\n"
                .to_owned(),
        );
        for f in &summary.functions {
            let settings: Vec<String> = setting_rows(f)
                .iter()
                .map(|row| match &row.before {
                    Some(before) => {
                        format!("{} {} → {}", row.label, cell(before), cell(&row.after))
                    }
                    None => format!("{} {}", row.label, cell(&row.after)),
                })
                .collect();
            details.push(format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&f.environment),
                f.action.as_str(),
                cell(&f.function_name),
                markdown_versions(f),
                settings.join(" · ")
            ));
        }
        let triggers: Vec<String> = summary
            .triggers
            .added
            .iter()
            .map(|p| format!("+{}", code(p)))
            .chain(
                summary
                    .triggers
                    .removed
                    .iter()
                    .map(|p| format!("-{}", code(p))),
            )
            .collect();
        let end = if triggers.is_empty() {
            "\n".to_owned()
        } else {
            format!("\n**Triggers:** {}\n\n", triggers.join(" "))
        };
        details.push(end);
    }

    let logs = run
        .plan_outputs
        .iter()
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(service, text)| crate::ci::Log {
            title: format!("terraform plan: {service}"),
            text: text.clone(),
        })
        .collect();

    crate::ci::Rendering {
        has_changes,
        failed,
        summary,
        errors,
        warnings,
        details,
        logs,
        annotations,
    }
}

/// An error and its causes on one line, as `error::render` shows them.
fn full_message(error: &crate::error::Error) -> String {
    let mut text = error.to_string();
    if matches!(
        error,
        crate::error::Error::Io { .. } | crate::error::Error::Stdout(_)
    ) {
        return text;
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let function = &summary.functions[0];
        assert_eq!(
            function.settings,
            Some(FunctionSettings {
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
        let comment = markdown("plan", std::slice::from_ref(&summary), &[]);
        assert!(comment.contains("memory `256 MiB`"), "{comment}");
        assert!(
            comment.contains("environment keys `DB_PASSWORD, MODE`"),
            "{comment}"
        );
        let json = serde_json::to_string(&summary).unwrap();
        assert!(json.contains("\"memory_size\":256"), "{json}");
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
        assert!(text.contains("memory 128 MiB → 4096 MiB"), "{text}");
        assert!(
            text.contains("environment keys MODE → EXTRA, MODE"),
            "{text}"
        );
        assert!(text.contains("runtime python3.12,"), "{text}");
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
                summary.import,
                summary.moved,
                summary.add,
                summary.change,
                summary.destroy
            ),
            (1, 1, 3, 2, 3)
        );
        let environments: Vec<&str> = summary
            .functions
            .iter()
            .map(|f| f.environment.as_str())
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
            terraform_output: Vec::new(),
        };
        let comment = markdown("plan", &[summary], &[failure]);
        assert!(
            comment.starts_with("## lambda-gitops plan: 1 to add, 0 to change, 1 to destroy\n"),
            "{comment}"
        );
        assert!(
            comment.contains("| `production` | replace | `f-production` | `1` → `2` |"),
            "{comment}"
        );
        assert!(
            comment.contains(
                "> [!WARNING]\n> the `production` function `f-production` will be REPLACED"
            ),
            "{comment}"
        );
        assert!(
            comment
                .contains(":x: `other` failed: `` `terraform plan` exited with code 1 <oops|> ``"),
            "{comment}"
        );
    }

    #[test]
    fn an_empty_plan_has_no_changes() {
        let summary = summarize("svc", &plan(serde_json::json!([]))).unwrap();
        assert!(!summary.has_changes);
        assert_eq!(text(&summary), "svc: no changes\n");
    }

    #[test]
    fn code_spans_hold_any_text_verbatim() {
        assert_eq!(code("plain"), "`plain`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code(" padded "), "`  padded  `");
        assert_eq!(code("line\nbreak"), "`line\u{fffd}break`");
        assert_eq!(code(""), "");
        assert_eq!(cell("a|b"), "`a\\|b`");
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

        let hostile_function = |text: &str, i: usize| FunctionChange {
            environment: text.to_owned(),
            function_name: format!("{text}{i}"),
            action: Action::Update,
            version_before: Some(text.to_owned()),
            version_after: Some(format!("{text}!")),
            settings_before: None,
            settings: Some(FunctionSettings {
                runtime: Some(text.to_owned()),
                handler: Some(text.to_owned()),
                role: Some(text.to_owned()),
                memory_size: Some(128),
                timeout: Some(3),
                environment_keys: vec![text.to_owned()],
            }),
            address: "aws_lambda_function.x".to_owned(),
        };
        let summaries: Vec<Summary> = HOSTILE
            .iter()
            .map(|text| Summary {
                service: (*text).to_owned(),
                has_changes: true,
                add: 1,
                change: 1,
                destroy: 1,
                import: 0,
                moved: 0,
                functions: vec![hostile_function(text, 1), hostile_function(text, 2)],
                triggers: TriggerChange {
                    added: vec![(*text).to_owned()],
                    removed: vec![format!("{text}/old")],
                },
                warnings: vec![Warning {
                    environment: (*text).to_owned(),
                    function_name: (*text).to_owned(),
                    action: Action::Delete,
                }],
                foreign: Vec::new(),
                version_cleanup: None,
            })
            .collect();
        let failures: Vec<Failure> = HOSTILE
            .iter()
            .map(|text| Failure {
                service: (*text).to_owned(),
                error: format!("error: {text}"),
                terraform_output: Vec::new(),
            })
            .collect();
        let comment = markdown("plan", &summaries, &failures);

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
                    let _ = markdown("plan", &[summary], &[]);
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
                    let _ = markdown("plan", &[summary], &[]);
                }
            }
        }
    }
}
