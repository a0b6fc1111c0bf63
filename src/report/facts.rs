//! `terraform show -json plan.tfplan` → [`PlanFacts`]: what a plan means in Lambda terms,
//! per deployment (`staging`, `production`, `pr-<N>`): the function, its version before →
//! after, whether the package bytes change (`source_code_hash`) or only metadata, which
//! settings and environment *keys* change (values never), trigger prefixes, previews added
//! and removed, a replace with why (terraform's `replace_paths`), package objects uploaded
//! or superseded, the upgrade's moves and imports, and drift (`resource_drift`): what was
//! changed outside the gitops repo and whether this plan reverts it. Built once per plan;
//! every report format reads it, none re-parses plans.
//!
//! Read from the plan's JSON, never from terraform's human output: a replace is
//! `["delete","create"]` or `["create","delete"]`. Both module versions' addresses are read
//! (`this["pr-7"]` and the first module's `environment["staging"]`, `preview["7"]`), so an
//! upgrade plan reads right. It also names every change to a resource of another service
//! (`foreign`), which the runner refuses.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::desired::DeploymentKey;

use super::drift::drift;
pub use super::drift::Drift;
pub use super::guard::ForeignChange;
use super::guard::Owners;

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
    pub(crate) fn from_actions(actions: &[String]) -> Self {
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

    /// The past tense, for a report after `apply`.
    pub fn past(self) -> &'static str {
        match self {
            Self::Create => "created",
            Self::Update => "updated",
            Self::Replace => "replaced",
            Self::Delete => "deleted",
            Self::NoOp => "unchanged",
            Self::Read => "read",
        }
    }

    pub fn changes(self) -> bool {
        matches!(
            self,
            Self::Create | Self::Update | Self::Replace | Self::Delete
        )
    }
}

/// What a function runs with, as the plan has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
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

/// Whether the code a deployment runs changes: the package's SHA-256 (`source_code_hash`,
/// Lambda's CodeSha256).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CodeChange {
    /// A new function: its package is new to it.
    New,
    /// Other bytes: a new package.
    Changed,
    /// The same bytes: only metadata (version tag, settings) changes.
    Same,
    /// The function goes.
    Removed,
    /// The plan does not say (no package hash on either side: another module).
    Unknown,
}

/// One setting of a deployment that changes, as text for display (environment values are
/// never among them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingChange {
    pub name: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The environment variables' names that change; values are compared, never shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl KeyChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// One deployment's change: its function and what belongs to it (alias, permission, log
/// group, provisioned concurrency, its trigger).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentChange {
    /// `staging`, `production` or `pr-<N>` (the function's `environment` tag, else its
    /// address).
    pub deployment: String,
    pub function_name: String,
    /// The function's action; `update` when only what belongs to it changes.
    pub action: Action,
    pub version_before: Option<String>,
    pub version_after: Option<String>,
    pub code: CodeChange,
    /// After the change (for a new function, everything it runs with); `None` when deleted.
    pub settings: Option<FunctionSettings>,
    /// Before → after of each setting that changes (an update or replace).
    pub changes: Vec<SettingChange>,
    pub environment_keys: KeyChanges,
    pub trigger_before: Option<String>,
    pub trigger_after: Option<String>,
    /// Why terraform replaces it, in Lambda terms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replace_reasons: Vec<String>,
    /// What else happens to it, in Lambda terms (the permission moving to the alias, a log
    /// group adopted, the alias re-pointed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub address: String,
}

impl DeploymentChange {
    pub fn pr(&self) -> Option<u64> {
        DeploymentKey::parse(&self.deployment).and_then(DeploymentKey::pr)
    }

    fn key_order(&self) -> (u8, u64, String) {
        deployment_order(&self.deployment)
    }
}

/// A package object in the bucket (content-addressed: its key is its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageChange {
    /// Hex SHA-256 of the package.
    pub sha256: String,
    /// `create` (uploaded), `delete` (superseded), or another action.
    pub action: Action,
    /// The deployments that run it after (an upload) or ran it before (a removal).
    pub deployments: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TriggerChange {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// Previews by PR number.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PreviewChange {
    pub added: Vec<u64>,
    pub removed: Vec<u64>,
}

/// What an upgrade from the first module version does, besides the deployments' changes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Upgrade {
    /// Resources that only move to the new module's addresses (`moved` blocks).
    pub moved: usize,
    /// Existing objects adopted into the state (`import` blocks), e.g. log groups.
    pub imported: Vec<String>,
}

/// A delete or replace of a staging or production function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Warning {
    pub environment: String,
    pub function_name: String,
    pub action: Action,
    /// Why, for a replace.
    pub reasons: Vec<String>,
}

impl Warning {
    pub fn outcome(&self) -> &'static str {
        if self.action == Action::Delete {
            "DELETED"
        } else {
            "REPLACED (deleted and re-created)"
        }
    }

    /// Past tense, after an apply.
    pub fn outcome_past(&self) -> &'static str {
        if self.action == Action::Delete {
            "was DELETED"
        } else {
            "was REPLACED (deleted and re-created)"
        }
    }

    pub fn because(&self) -> String {
        if self.reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", self.reasons.join("; "))
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} function `{}` will be {}{}",
            self.environment,
            self.function_name,
            self.outcome(),
            self.because()
        )
    }
}

impl From<Warning> for String {
    fn from(warning: Warning) -> Self {
        warning.to_string()
    }
}

/// Other resources of the service that change (the role, its policies, the bucket
/// notification as a whole), with why when replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherChange {
    pub address: String,
    pub action: Action,
    /// What the resource is, in the service's terms.
    pub meaning: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
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

/// Terraform's resource counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// Existing objects the plan adopts into the state (`import` blocks).
    pub import: usize,
    /// Resources that only move to a new address (`moved` blocks).
    pub moved: usize,
}

impl Counts {
    /// Resource actions an apply performs (a replace is two).
    pub fn actions(&self) -> usize {
        self.add + self.change + self.destroy
    }
}

/// One service's plan in Lambda terms.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanFacts {
    /// The JSON report names the service beside its facts.
    #[serde(skip)]
    pub service: String,
    pub has_changes: bool,
    pub counts: Counts,
    /// Staging, production, then previews by PR number; every deployment the plan touches
    /// or keeps.
    pub deployments: Vec<DeploymentChange>,
    pub previews: PreviewChange,
    pub triggers: TriggerChange,
    pub packages: Vec<PackageChange>,
    pub upgrade: Upgrade,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<OtherChange>,
    pub drift: Vec<Drift>,
    /// Deletes and replaces of staging or production functions.
    pub warnings: Vec<Warning>,
    /// Changes to other services' resources: a plan with any is refused.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<ForeignChange>,
    /// After an apply: the old versions deleted. `None` for a plan.
    pub version_cleanup: Option<VersionCleanup>,
}

impl PlanFacts {
    /// A plan with no changes, for a runner that knows so without `show -json`.
    pub fn unchanged(service: &str) -> Self {
        Self {
            service: service.to_owned(),
            has_changes: false,
            counts: Counts::default(),
            deployments: Vec::new(),
            previews: PreviewChange::default(),
            triggers: TriggerChange::default(),
            packages: Vec::new(),
            upgrade: Upgrade::default(),
            other: Vec::new(),
            drift: Vec::new(),
            warnings: Vec::new(),
            foreign: Vec::new(),
            version_cleanup: None,
        }
    }

    /// The facts of a plan without changes, from the variables: every deployment's function
    /// as declared. Stands in for reading `show -json` of a plan terraform said
    /// (`-detailed-exitcode` 0) changes nothing, and for an apply skipped as a no-op.
    pub fn as_declared(service: &str, vars: &crate::render::TfVars) -> Self {
        let mut facts = Self::unchanged(service);
        facts.deployments = vars
            .deployments
            .iter()
            .map(|(key, deployment)| DeploymentChange {
                deployment: key.to_string(),
                function_name: deployment.function_name.clone(),
                action: Action::NoOp,
                version_before: Some(deployment.version.clone()),
                version_after: Some(deployment.version.clone()),
                code: CodeChange::Same,
                settings: Some(FunctionSettings {
                    runtime: Some(deployment.settings.runtime.clone()),
                    handler: Some(deployment.settings.handler.clone()),
                    role: Some(vars.role_arn.clone()).filter(|role| !role.is_empty()),
                    memory_size: Some(deployment.settings.memory_size.into()),
                    timeout: Some(deployment.settings.timeout.into()),
                    environment_keys: deployment.settings.environment.keys().cloned().collect(),
                }),
                changes: Vec::new(),
                environment_keys: KeyChanges::default(),
                trigger_before: Some(deployment.trigger_prefix.clone()),
                trigger_after: Some(deployment.trigger_prefix.clone()),
                replace_reasons: Vec::new(),
                notes: Vec::new(),
                address: format!("aws_lambda_function.this[\"{key}\"]"),
            })
            .collect();
        facts.deployments.sort_by_key(DeploymentChange::key_order);
        facts
    }

    /// Reads a plan's JSON; any bytes give facts or an error.
    pub fn from_plan_json(service: &str, plan_json: &[u8]) -> Result<Self, serde_json::Error> {
        let plan: PlanJson = serde_json::from_slice(plan_json)?;
        Ok(build(service, &plan))
    }

    /// The deployments the plan changes (not the unchanged ones).
    pub fn changed(&self) -> impl Iterator<Item = &DeploymentChange> {
        self.deployments.iter().filter(|d| d.action.changes())
    }
}

#[derive(Deserialize)]
pub(super) struct PlanJson {
    #[serde(default)]
    resource_changes: Vec<ResourceChange>,
    #[serde(default)]
    pub(super) resource_drift: Vec<ResourceChange>,
}

#[derive(Deserialize)]
pub(super) struct ResourceChange {
    pub(super) address: String,
    /// Set when a `moved` block brings the resource here from another address.
    pub(super) previous_address: Option<String>,
    #[serde(default)]
    pub(super) mode: String,
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) name: String,
    pub(super) index: Option<Value>,
    pub(super) change: Change,
    /// e.g. `replace_because_tainted`.
    pub(super) action_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Change {
    pub(super) actions: Vec<String>,
    pub(super) before: Option<Value>,
    pub(super) after: Option<Value>,
    pub(super) after_unknown: Option<Value>,
    /// Set when an `import` block adopts an existing object.
    pub(super) importing: Option<Value>,
    /// The attributes that force a replace.
    pub(super) replace_paths: Option<Value>,
}

impl ResourceChange {
    pub(super) fn action(&self) -> Action {
        Action::from_actions(&self.change.actions)
    }

    pub(super) fn before(&self) -> Option<&Value> {
        self.change.before.as_ref().filter(|v| !v.is_null())
    }

    pub(super) fn after(&self) -> Option<&Value> {
        self.change.after.as_ref().filter(|v| !v.is_null())
    }

    /// The deployment key of a per-deployment resource, from its index (either module
    /// version), for resources other than functions.
    pub(super) fn deployment(&self) -> Option<String> {
        match (&self.index, self.name.as_str()) {
            (Some(Value::String(pr)), "preview") => Some(format!("pr-{pr}")),
            (Some(Value::String(key)), _) => Some(key.clone()),
            _ => None,
        }
    }

    /// Why terraform replaces it, in Lambda terms.
    fn replace_reasons(&self) -> Vec<String> {
        let mut reasons: Vec<String> = self
            .change
            .replace_paths
            .as_ref()
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|path| {
                let parts: Vec<String> = path
                    .as_array()?
                    .iter()
                    .map(|p| match p {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                Some(replace_reason(&self.kind, &parts))
            })
            .collect();
        match self.action_reason.as_deref() {
            Some("replace_because_tainted") => {
                reasons.push("tainted: an earlier apply failed while creating it".to_owned())
            }
            Some("replace_by_request") => reasons.push("replacement requested".to_owned()),
            _ => {}
        }
        let mut seen = BTreeSet::new();
        reasons.retain(|reason| seen.insert(reason.clone()));
        reasons
    }
}

/// The S3 permission of the bundled module is replaced create-before-destroy: on an
/// upgrade it moves from the function to its `live` alias.
const PERMISSION_MOVES: &str =
    "the S3 permission is re-created on the `live` alias, the new one before the old one goes (S3 can invoke throughout)";

/// What a forced replace means for the deployment, per resource type and attribute.
fn replace_reason(kind: &str, path: &[String]) -> String {
    let attribute = path.first().map(String::as_str).unwrap_or("");
    let known = match (kind, attribute) {
        ("aws_lambda_function", "function_name") => {
            Some("function name changed: the ARN changes, callers break")
        }
        ("aws_lambda_function", "package_type") => {
            Some("package type changed: a new function is created")
        }
        ("aws_lambda_alias", "name") | ("aws_lambda_alias", "function_name") => {
            Some("the alias moves to another function: its ARN changes")
        }
        ("aws_lambda_permission", "function_name") => {
            Some("the S3 permission follows the function to its new name")
        }
        ("aws_lambda_permission", _) => Some(PERMISSION_MOVES),
        ("aws_cloudwatch_log_group", "name") => {
            Some("log group name changed: logs go to a new group, the old group and its logs are deleted")
        }
        ("aws_iam_role", "name") => {
            Some("role name changed: the new role is created first, the functions switch to it in place")
        }
        ("aws_s3_bucket_notification", "bucket") => {
            Some("trigger bucket changed: the old bucket's notifications are removed")
        }
        ("aws_s3_object", _) => Some("package object re-uploaded"),
        ("aws_iam_role_policy", "role") => Some("follows the execution role to its new name"),
        _ => None,
    };
    match known {
        Some(text) => text.to_owned(),
        None => format!("`{}` cannot change in place", path.join(".")),
    }
}

/// The facts of a parsed plan.
fn build(service: &str, plan: &PlanJson) -> PlanFacts {
    let resources: Vec<&ResourceChange> = plan
        .resource_changes
        .iter()
        .filter(|r| r.mode != "data")
        .collect();
    let mut facts = PlanFacts::unchanged(service);
    let owners = Owners::of(&resources);
    let mut deployments: BTreeMap<String, DeploymentChange> = BTreeMap::new();
    let mut belongings: Vec<(&ResourceChange, Action)> = Vec::new();
    for resource in &resources {
        let action = resource.action();
        let counts = &mut facts.counts;
        match action {
            Action::Create => counts.add += 1,
            Action::Update => counts.change += 1,
            Action::Delete => counts.destroy += 1,
            Action::Replace => {
                counts.add += 1;
                counts.destroy += 1;
            }
            Action::NoOp | Action::Read => {}
        }
        if let Some(importing) = &resource.change.importing {
            counts.import += 1;
            let id = importing
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or(&resource.address);
            facts.upgrade.imported.push(id.to_owned());
        }
        counts.moved += usize::from(
            resource
                .previous_address
                .as_ref()
                .is_some_and(|previous| *previous != resource.address),
        );
        if action.changes() && action != Action::Create {
            if let Some(owner) = owners.owner(resource).filter(|owner| owner != service) {
                facts.foreign.push(ForeignChange {
                    address: resource.address.clone(),
                    action,
                    owner,
                });
            }
        }
        match resource.kind.as_str() {
            "aws_lambda_function" => {
                let change = function_change(resource, action);
                deployments.insert(change.deployment.clone(), change);
            }
            "aws_s3_bucket_notification" => {
                let before = prefixes(resource.before());
                let after = prefixes(resource.after());
                let triggers = &mut facts.triggers;
                triggers
                    .added
                    .extend(after.difference(&before).map(|(p, _)| p.clone()));
                triggers
                    .removed
                    .extend(before.difference(&after).map(|(p, _)| p.clone()));
                belongings.push((resource, action));
            }
            _ => belongings.push((resource, action)),
        }
    }
    for (resource, action) in belongings {
        attach(&mut facts, &mut deployments, resource, action);
    }
    facts.upgrade.moved = facts.counts.moved;
    facts.has_changes = facts.counts.actions() + facts.counts.import + facts.counts.moved > 0;
    let mut deployments: Vec<DeploymentChange> = deployments.into_values().collect();
    deployments.sort_by_key(DeploymentChange::key_order);
    for deployment in &deployments {
        match (deployment.pr(), deployment.action) {
            (Some(pr), Action::Create) => facts.previews.added.push(pr),
            (Some(pr), Action::Delete) => facts.previews.removed.push(pr),
            _ => {}
        }
    }
    facts.warnings = deployments
        .iter()
        .filter(|d| matches!(d.deployment.as_str(), "staging" | "production"))
        .filter(|d| matches!(d.action, Action::Delete | Action::Replace))
        .map(|d| Warning {
            environment: d.deployment.clone(),
            function_name: d.function_name.clone(),
            action: d.action,
            reasons: d.replace_reasons.clone(),
        })
        .collect();
    facts.packages = package_changes(&resources, &deployments);
    facts.drift = drift(plan, &resources);
    facts.deployments = deployments;
    facts
}

/// Attaches a resource that is not a function to its deployment, the packages or `other`.
fn attach(
    facts: &mut PlanFacts,
    deployments: &mut BTreeMap<String, DeploymentChange>,
    resource: &ResourceChange,
    action: Action,
) {
    let kind = resource.kind.as_str();
    if kind == "aws_s3_bucket_notification" {
        // Each deployment's prefix, by the block's id (the deployment key).
        for (prefix, id) in prefixes(resource.before()) {
            if let Some(d) = id.and_then(|id| deployments.get_mut(&id)) {
                d.trigger_before = Some(prefix);
            }
        }
        for (prefix, id) in prefixes(resource.after()) {
            if let Some(d) = id.and_then(|id| deployments.get_mut(&id)) {
                d.trigger_after = Some(prefix);
            }
        }
        if action == Action::Replace || action == Action::Delete {
            facts.other.push(OtherChange {
                address: resource.address.clone(),
                action,
                meaning: meaning(resource),
                reasons: resource.replace_reasons(),
            });
        }
        return;
    }
    if kind == "aws_s3_object" {
        return;
    }
    let per_deployment = matches!(
        kind,
        "aws_lambda_alias"
            | "aws_lambda_permission"
            | "aws_cloudwatch_log_group"
            | "aws_lambda_provisioned_concurrency_config"
    );
    let deployment = resource
        .deployment()
        .filter(|_| per_deployment)
        .and_then(|key| deployments.get_mut(&key));
    let Some(deployment) = deployment else {
        if action.changes() {
            facts.other.push(OtherChange {
                address: resource.address.clone(),
                action,
                meaning: meaning(resource),
                reasons: if action == Action::Replace {
                    resource.replace_reasons()
                } else {
                    Vec::new()
                },
            });
        }
        return;
    };
    let (before, after) = (resource.before(), resource.after());
    let mut touched = action.changes();
    match kind {
        "aws_cloudwatch_log_group" => {
            let retention = |v: Option<&Value>| {
                v.and_then(|v| v.get("retention_in_days"))
                    .and_then(Value::as_u64)
                    .map(|days| match days {
                        0 => "never expire".to_owned(),
                        days => format!("{days} days"),
                    })
            };
            if resource.change.importing.is_some() {
                deployment.notes.push(
                    "its log group exists already: adopted into the state, not created".to_owned(),
                );
            }
            if matches!(action, Action::Update | Action::Replace)
                && retention(before) != retention(after)
            {
                deployment.changes.push(SettingChange {
                    name: "log retention",
                    before: retention(before),
                    after: retention(after),
                });
            }
            if action == Action::Replace {
                deployment.notes.extend(resource.replace_reasons());
            }
            if resource.change.importing.is_some() && action == Action::NoOp {
                touched = true;
            }
        }
        "aws_lambda_provisioned_concurrency_config" => {
            let count = |v: Option<&Value>| {
                v.and_then(|v| v.get("provisioned_concurrent_executions"))
                    .and_then(Value::as_u64)
                    .map(|n| n.to_string())
            };
            if action.changes() && count(before) != count(after) {
                deployment.changes.push(SettingChange {
                    name: "provisioned concurrency",
                    before: count(before),
                    after: count(after),
                });
            }
        }
        "aws_lambda_permission" if action == Action::Replace => {
            let mut reasons = resource.replace_reasons();
            if reasons.is_empty() {
                reasons.push(replace_reason(&resource.kind, &[]));
            }
            deployment.notes.extend(reasons);
        }
        // With a new version the alias follows it: nothing to add. Alone, it was moved
        // outside the gitops repo and goes back.
        "aws_lambda_alias" if action == Action::Update && deployment.action == Action::NoOp => {
            deployment
                .notes
                .push("the `live` alias is pointed back at the deployed version".to_owned());
        }
        _ => {}
    }
    if touched && deployment.action == Action::NoOp {
        deployment.action = Action::Update;
    }
    let mut seen = BTreeSet::new();
    deployment.notes.retain(|note| seen.insert(note.clone()));
}

/// What a resource outside the deployments is, for a reviewer.
fn meaning(resource: &ResourceChange) -> &'static str {
    match (resource.kind.as_str(), resource.name.as_str()) {
        ("aws_iam_role", _) => "the functions' execution role",
        ("aws_iam_role_policy", "logging") => {
            "the execution role's permission to write to the functions' log groups, updated as they come and go"
        }
        ("aws_iam_role_policy", "tracing") => {
            "the execution role's permission to send X-Ray traces"
        }
        ("aws_iam_role_policy", "network") => {
            "the execution role's permission to create network interfaces in the VPC"
        }
        ("aws_s3_bucket_notification", _) => "the trigger bucket's notifications",
        _ => "",
    }
}

/// `value.path…` as a string.
pub(super) fn text_at(value: Option<&Value>, path: &[&str]) -> Option<String> {
    let mut current = value?;
    for key in path {
        current = current.get(key)?;
    }
    current.as_str().map(str::to_owned)
}

/// The log groups a plan creates (not replaces): `(deployment, name)`, for the runner to
/// look up and adopt when they exist already. Any bytes give a list, maybe empty.
pub fn log_groups_to_create(plan_json: &[u8]) -> Vec<(DeploymentKey, String)> {
    to_create(plan_json, "aws_cloudwatch_log_group", "name")
}

/// The deployments whose `kind` resource the plan would create, with the attribute `name`
/// of each (the name AWS knows the object by).
pub fn to_create(plan_json: &[u8], kind: &str, name: &str) -> Vec<(DeploymentKey, String)> {
    deployments_where(plan_json, kind, |r| {
        (Action::from_actions(&r.change.actions) == Action::Create)
            .then(|| text_at(r.change.after.as_ref(), &[name]))
            .flatten()
    })
}

/// The deployments whose `kind` resource the plan replaces only because it is tainted (an
/// apply stopped while creating it), with the attribute `name` of each.
pub fn tainted(plan_json: &[u8], kind: &str, name: &str) -> Vec<(DeploymentKey, String)> {
    deployments_where(plan_json, kind, |r| {
        (r.action_reason.as_deref() == Some("replace_because_tainted"))
            .then(|| text_at(r.change.before.as_ref(), &[name]))
            .flatten()
    })
}

/// The deployments whose `kind` resource `pick` names.
fn deployments_where(
    plan_json: &[u8],
    kind: &str,
    pick: impl Fn(&ResourceChange) -> Option<String>,
) -> Vec<(DeploymentKey, String)> {
    let Ok(plan) = serde_json::from_slice::<PlanJson>(plan_json) else {
        return Vec::new();
    };
    plan.resource_changes
        .iter()
        .filter(|r| r.mode != "data" && r.kind == kind)
        .filter_map(|r| {
            let key = DeploymentKey::parse(r.index.as_ref()?.as_str()?)?;
            Some((key, pick(r)?))
        })
        .collect()
}

/// The environment variables of a function's state: name → value (compared, never shown).
pub(super) fn environment(value: Option<&Value>) -> BTreeMap<String, Value> {
    value
        .and_then(|v| v.get("environment"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|block| block.get("variables").and_then(Value::as_object))
        .flat_map(|variables| variables.iter().map(|(k, v)| (k.clone(), v.clone())))
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
    Some(FunctionSettings {
        runtime: text_at(Some(value), &["runtime"]),
        handler: text_at(Some(value), &["handler"]),
        role: text_at(Some(value), &["role"]).filter(|_| !known_after_apply("role")),
        memory_size: number("memory_size"),
        timeout: number("timeout"),
        environment_keys: environment(Some(value)).into_keys().collect(),
    })
}

/// The settings a reviewer compares, as display text: `(name, value)`. Environment values
/// are not among them.
fn displayed_settings(value: &Value, unknown: Option<&Value>) -> Vec<(&'static str, String)> {
    let known_after_apply = |key: &str| {
        unknown
            .and_then(|u| u.get(key))
            .is_some_and(|flag| flag == &Value::Bool(true))
    };
    let text = |key: &str| -> String {
        if known_after_apply(key) {
            return "(known after apply)".to_owned();
        }
        match value.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        }
    };
    let block = |key: &str, field: &str| -> String {
        value
            .get(key)
            .and_then(Value::as_array)
            .and_then(|blocks| blocks.first())
            .and_then(|b| b.get(field))
            .map(|v| match v {
                Value::String(s) => s.clone(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            })
            .unwrap_or_default()
    };
    let with_unit = |key: &str, unit: &str| {
        let value = text(key);
        if value.is_empty() || value.starts_with('(') {
            value
        } else {
            format!("{value} {unit}")
        }
    };
    let reserved = match value.get("reserved_concurrent_executions") {
        Some(Value::Number(n)) if n.as_i64() == Some(-1) => "unreserved".to_owned(),
        _ => text("reserved_concurrent_executions"),
    };
    vec![
        ("runtime", text("runtime")),
        ("handler", text("handler")),
        ("memory", with_unit("memory_size", "MiB")),
        ("timeout", with_unit("timeout", "s")),
        ("role", text("role")),
        ("architecture", text("architectures")),
        ("ephemeral storage", {
            let size = block("ephemeral_storage", "size");
            if size.is_empty() {
                size
            } else {
                format!("{size} MiB")
            }
        }),
        ("layers", text("layers")),
        ("tracing", block("tracing_config", "mode")),
        ("subnets", block("vpc_config", "subnet_ids")),
        ("security groups", block("vpc_config", "security_group_ids")),
        ("reserved concurrency", reserved),
        ("description", text("description")),
    ]
}

fn function_change(resource: &ResourceChange, action: Action) -> DeploymentChange {
    let (before, after) = (resource.before(), resource.after());
    let unknown = resource.change.after_unknown.as_ref();
    // Without tags (another module), the bundled module's addresses still tell: the key
    // (`this["pr-7"]`), or the first module's `preview["7"]` and `environment["staging"]`.
    let from_address = resource
        .deployment()
        .unwrap_or_else(|| resource.name.clone());
    let hash = |v: Option<&Value>| text_at(v, &["source_code_hash"]).filter(|h| !h.is_empty());
    let code = match action {
        Action::Create => CodeChange::New,
        Action::Delete => CodeChange::Removed,
        _ => {
            let after_unknown = unknown
                .and_then(|u| u.get("source_code_hash"))
                .is_some_and(|flag| flag == &Value::Bool(true));
            let key = |v: Option<&Value>| text_at(v, &["s3_key"]);
            if after_unknown || hash(before) != hash(after) || key(before) != key(after) {
                CodeChange::Changed
            } else if hash(before).is_some() || key(before).is_some() {
                CodeChange::Same
            } else {
                CodeChange::Unknown
            }
        }
    };
    let mut changes = Vec::new();
    let mut environment_keys = KeyChanges::default();
    if let (Some(old), Some(new), true) = (before, after, action.changes()) {
        let old_settings = displayed_settings(old, None);
        for ((name, was), (_, now)) in old_settings
            .into_iter()
            .zip(displayed_settings(new, unknown))
        {
            if was != now {
                let some = |s: String| (!s.is_empty()).then_some(s);
                changes.push(SettingChange {
                    name,
                    before: some(was),
                    after: some(now),
                });
            }
        }
        let (old_env, new_env) = (environment(before), environment(after));
        for (key, value) in &new_env {
            match old_env.get(key) {
                None => environment_keys.added.push(key.clone()),
                Some(old) if old != value => environment_keys.changed.push(key.clone()),
                Some(_) => {}
            }
        }
        environment_keys.removed = old_env
            .keys()
            .filter(|k| !new_env.contains_key(*k))
            .cloned()
            .collect();
    }
    let mut replace_reasons = Vec::new();
    if action == Action::Replace {
        replace_reasons = resource.replace_reasons();
        if replace_reasons.is_empty() {
            replace_reasons.push("terraform cannot update it in place".to_owned());
        }
    }
    let mut notes = Vec::new();
    if let Some(previous) = &resource.previous_address {
        if *previous != resource.address {
            notes.push("moves to the new module's address (not re-created)".to_owned());
        }
    }
    DeploymentChange {
        deployment: text_at(after, &["tags", "environment"])
            .or_else(|| text_at(before, &["tags", "environment"]))
            .unwrap_or(from_address),
        function_name: text_at(after, &["function_name"])
            .or_else(|| text_at(before, &["function_name"]))
            .unwrap_or_default(),
        action,
        version_before: text_at(before, &["tags", "version"]),
        version_after: text_at(after, &["tags", "version"]),
        code,
        settings: function_settings(after, unknown),
        changes,
        environment_keys,
        trigger_before: None,
        trigger_after: None,
        replace_reasons,
        notes,
        address: resource.address.clone(),
    }
}

/// `(prefix, block id)` of each function block of a bucket notification.
fn prefixes(notification: Option<&Value>) -> BTreeSet<(String, Option<String>)> {
    notification
        .and_then(|value| value.get("lambda_function"))
        .and_then(Value::as_array)
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|block| {
                    let prefix = block.get("filter_prefix").and_then(Value::as_str)?;
                    let id = block.get("id").and_then(Value::as_str).map(str::to_owned);
                    Some((prefix.to_owned(), id))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The package objects uploaded and removed, each with the deployments that run it after
/// (an upload) or ran it before (a removal: superseded by their version change).
fn package_changes(
    resources: &[&ResourceChange],
    deployments: &[DeploymentChange],
) -> Vec<PackageChange> {
    let key_of = |d: &DeploymentChange, after: bool| -> Option<String> {
        let resource = resources.iter().find(|r| r.address == d.address)?;
        let value = if after {
            resource.after()
        } else {
            resource.before()
        };
        text_at(value, &["s3_key"])
    };
    resources
        .iter()
        .filter(|r| r.kind == "aws_s3_object" && r.action().changes())
        .map(|r| {
            let action = r.action();
            let sha256 = match &r.index {
                Some(Value::String(hex)) => hex.clone(),
                _ => r.address.clone(),
            };
            let object_key = text_at(r.after().or(r.before()), &["key"]);
            let after = action != Action::Delete;
            let users = deployments
                .iter()
                .filter(|d| {
                    let key = key_of(d, after);
                    key.is_some() && key == object_key
                })
                .map(|d| d.deployment.clone())
                .collect();
            PackageChange {
                sha256,
                action,
                deployments: users,
            }
        })
        .collect()
}

/// staging, production, then previews by PR number.
pub(crate) fn deployment_order(deployment: &str) -> (u8, u64, String) {
    match deployment {
        "staging" => (0, 0, String::new()),
        "production" => (1, 0, String::new()),
        other => match other.strip_prefix("pr-").and_then(|n| n.parse().ok()) {
            Some(pr) => (2, pr, String::new()),
            None => (3, 0, other.to_owned()),
        },
    }
}
