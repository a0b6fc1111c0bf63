//! Reading `terraform show -json`: the bytes → [`PlanJson`], its `resource_changes` and
//! `resource_drift` as [`ResourceChange`]s, each with its [`Action`], the deployment its
//! address names and why terraform replaces it, in Lambda terms. Also the runner's
//! questions of a plan that need no facts: which deployments' resources it creates
//! ([`to_create`], [`log_groups_to_create`]) or replaces because they are [`tainted`].
//!
//! The report's other modules (`drift`, `guard`) read these types too: they are
//! crate-visible here and re-exported to `report` only.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::action::Action;
use crate::desired::DeploymentKey;

#[derive(Deserialize)]
pub(crate) struct PlanJson {
    #[serde(default)]
    pub(super) resource_changes: Vec<ResourceChange>,
    #[serde(default)]
    pub(crate) resource_drift: Vec<ResourceChange>,
}

#[derive(Deserialize)]
pub(crate) struct ResourceChange {
    pub(crate) address: String,
    /// Set when a `moved` block brings the resource here from another address.
    pub(crate) previous_address: Option<String>,
    #[serde(default)]
    pub(crate) mode: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) name: String,
    pub(crate) index: Option<Value>,
    pub(crate) change: Change,
    /// e.g. `replace_because_tainted`.
    pub(crate) action_reason: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Change {
    pub(crate) actions: Vec<String>,
    pub(crate) before: Option<Value>,
    pub(crate) after: Option<Value>,
    pub(crate) after_unknown: Option<Value>,
    /// Set when an `import` block adopts an existing object.
    pub(crate) importing: Option<Value>,
    /// The attributes that force a replace.
    pub(crate) replace_paths: Option<Value>,
}

impl ResourceChange {
    pub(crate) fn action(&self) -> Action {
        Action::from_actions(&self.change.actions)
    }

    pub(crate) fn before(&self) -> Option<&Value> {
        self.change.before.as_ref().filter(|v| !v.is_null())
    }

    pub(crate) fn after(&self) -> Option<&Value> {
        self.change.after.as_ref().filter(|v| !v.is_null())
    }

    /// The deployment key of a per-deployment resource, from its index (either module
    /// version), for resources other than functions.
    pub(crate) fn deployment(&self) -> Option<String> {
        match (&self.index, self.name.as_str()) {
            (Some(Value::String(pr)), "preview") => Some(format!("pr-{pr}")),
            (Some(Value::String(key)), _) => Some(key.clone()),
            _ => None,
        }
    }

    /// Why terraform replaces it, in Lambda terms.
    pub(super) fn replace_reasons(&self) -> Vec<String> {
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
pub(super) fn replace_reason(kind: &str, path: &[String]) -> String {
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

/// `value.path…` as a string.
pub(crate) fn text_at(value: Option<&Value>, path: &[&str]) -> Option<String> {
    let mut current = value?;
    for key in path {
        current = current.get(key)?;
    }
    current.as_str().map(str::to_owned)
}

/// The environment variables of a function's state: name → value (compared, never shown).
pub(crate) fn environment(value: Option<&Value>) -> BTreeMap<String, Value> {
    value
        .and_then(|v| v.get("environment"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|block| block.get("variables").and_then(Value::as_object))
        .flat_map(|variables| variables.iter().map(|(k, v)| (k.clone(), v.clone())))
        .collect()
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
