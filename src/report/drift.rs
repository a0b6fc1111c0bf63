//! Drift: what changed outside the gitops repo (terraform's `resource_drift`), attribute
//! by attribute, as a reviewer or a scheduled drift check needs it — only what this plan
//! changes back (what it leaves alone is outside what the repo manages), without the
//! provider's null ↔ empty read-back noise, environment values never shown.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::action::Action;
use super::plan_json::{environment, PlanJson, ResourceChange};
use crate::desired::DeploymentKey;

/// Something changed outside the gitops repo (terraform's `resource_drift`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// The deployment it belongs to, when it does.
    pub deployment: Option<String>,
    pub address: String,
    /// The attribute that changed, e.g. `memory_size`, `environment key MODE`; `None` when
    /// the whole object was deleted outside.
    pub attribute: Option<String>,
    /// Display values (environment values are never shown).
    pub before: Option<String>,
    pub after: Option<String>,
    /// This plan changes the resource back.
    pub reverted: bool,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.deployment {
            Some(deployment) => format!("{deployment} ({})", self.address),
            None => self.address.clone(),
        };
        let outcome = if self.reverted {
            "this plan reverts it"
        } else {
            "this plan does not change it back"
        };
        match &self.attribute {
            None => write!(
                f,
                "{what}: deleted outside the gitops repo, {}",
                if self.reverted {
                    "this plan re-creates it"
                } else {
                    outcome
                }
            ),
            Some(attribute) => write!(
                f,
                "{what}: {attribute} changed outside the gitops repo: {} → {}, {outcome}",
                self.before.as_deref().unwrap_or("(none)"),
                self.after.as_deref().unwrap_or("(none)")
            ),
        }
    }
}

/// Attributes that change on every deploy or mirror others: not drift a reviewer acts on.
const DRIFT_IGNORED: [&str; 15] = [
    "inline_policy",
    "managed_policy_arns",
    "code_sha256",
    "last_modified",
    "version",
    "qualified_arn",
    "qualified_invoke_arn",
    "tags_all",
    "source_code_size",
    "arn",
    "invoke_arn",
    "id",
    "etag",
    "version_id",
    "timeouts",
];

/// What changed outside the gitops repo: terraform's `resource_drift`, attribute by
/// attribute, without the provider's null ↔ empty noise.
pub(super) fn drift(plan: &PlanJson, resources: &[&ResourceChange]) -> Vec<Drift> {
    let mut found = Vec::new();
    for drifted in plan.resource_drift.iter().filter(|r| r.mode != "data") {
        let planned = resources
            .iter()
            .find(|r| r.address == drifted.address)
            .map(|r| r.action());
        let reverted = planned.is_some_and(Action::changes);
        // What the plan does not change back is outside what the gitops repo manages
        // (values the provider reads back, policies kept in other resources): not drift
        // that a reviewer or a drift check acts on.
        if !reverted {
            continue;
        }
        found.extend(resource_drift(drifted, reverted));
    }
    found
}

/// One drifted resource: each attribute that changed, or the whole object when it was
/// deleted outside.
fn resource_drift(drifted: &ResourceChange, reverted: bool) -> Vec<Drift> {
    let deployment = drifted
        .deployment()
        .filter(|key| DeploymentKey::parse(key).is_some());
    let entry = |attribute: Option<String>, before: Option<String>, after: Option<String>| Drift {
        deployment: deployment.clone(),
        address: drifted.address.clone(),
        attribute,
        before,
        after,
        reverted,
    };
    let (before, after) = (drifted.before(), drifted.after());
    let (Some(before), Some(after)) = (before, after) else {
        return match before {
            Some(_) => vec![entry(None, None, None)],
            None => Vec::new(),
        };
    };
    let empty = serde_json::Map::new();
    let old = before.as_object().unwrap_or(&empty);
    let new = after.as_object().unwrap_or(&empty);
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut found = Vec::new();
    for name in names {
        if DRIFT_IGNORED.contains(&name.as_str()) {
            continue;
        }
        let (was, now) = (old.get(name), new.get(name));
        if same_ignoring_empty(was, now) {
            continue;
        }
        let changes = if drifted.kind == "aws_lambda_function" && name == "environment" {
            environment_drift(before, after)
        } else if name == "tags" {
            tag_drift(was, now)
        } else {
            vec![(
                name.clone(),
                was.filter(|v| !is_empty(v)).map(display_value),
                now.filter(|v| !is_empty(v)).map(display_value),
            )]
        };
        found.extend(
            changes
                .into_iter()
                .map(|(attribute, was, now)| entry(Some(attribute), was, now)),
        );
    }
    found
}

/// An attribute that changed: `(attribute, before, after)` as display text.
type Changed = (String, Option<String>, Option<String>);

/// Each environment variable set, unset or changed outside, its value hidden.
fn environment_drift(before: &Value, after: &Value) -> Vec<Changed> {
    let (old_env, new_env) = (environment(Some(before)), environment(Some(after)));
    let keys: BTreeSet<&String> = old_env.keys().chain(new_env.keys()).collect();
    let shown = |v: Option<&Value>| v.map(|_| "(value hidden)".to_owned());
    keys.into_iter()
        .filter(|key| old_env.get(*key) != new_env.get(*key))
        .map(|key| {
            (
                format!("environment variable {key}"),
                shown(old_env.get(key)).or(Some("(unset)".into())),
                shown(new_env.get(key)).or(Some("(unset)".into())),
            )
        })
        .collect()
}

/// Each tag changed outside.
fn tag_drift(was: Option<&Value>, now: Option<&Value>) -> Vec<Changed> {
    let tags = |v: Option<&Value>| v.and_then(Value::as_object).cloned().unwrap_or_default();
    let (old_tags, new_tags) = (tags(was), tags(now));
    let keys: BTreeSet<&String> = old_tags.keys().chain(new_tags.keys()).collect();
    keys.into_iter()
        .filter(|key| !same_ignoring_empty(old_tags.get(*key), new_tags.get(*key)))
        .map(|key| {
            (
                format!("tag {key}"),
                old_tags.get(key).map(display_value),
                new_tags.get(key).map(display_value),
            )
        })
        .collect()
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// Equal, taking null, `""`, `[]` and `{}` for the same (the provider reads back an empty
/// value for an attribute that was never set), at any depth.
fn same_ignoring_empty(a: Option<&Value>, b: Option<&Value>) -> bool {
    let a = a.filter(|v| !is_empty(v));
    let b = b.filter(|v| !is_empty(v));
    match (a, b) {
        (None, None) => true,
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter()
                .all(|k| same_ignoring_empty(x.get(k), y.get(k)))
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| same_ignoring_empty(Some(p), Some(q)))
        }
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// A value for display: strings as they are, at most 80 characters; anything structured
/// as compact JSON, as long.
fn display_value(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(79).collect();
        format!("{cut}…")
    } else {
        text
    }
}
