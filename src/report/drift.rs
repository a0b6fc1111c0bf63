//! Drift: what changed outside the gitops repo (terraform's `resource_drift`), attribute
//! by attribute, as a reviewer or a scheduled drift check needs it — only what this plan
//! changes back (what it leaves alone is outside what the repo manages), without the
//! provider's null ↔ empty read-back noise, environment values never shown.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::facts::{environment, Action, PlanJson, ResourceChange};
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
        let deployment = drifted
            .deployment()
            .filter(|key| DeploymentKey::parse(key).is_some());
        let (before, after) = (drifted.before(), drifted.after());
        let (Some(before), Some(after)) = (before, after) else {
            if before.is_some() {
                found.push(Drift {
                    deployment,
                    address: drifted.address.clone(),
                    attribute: None,
                    before: None,
                    after: None,
                    reverted,
                });
            }
            continue;
        };
        let empty = Value::Object(Default::default());
        let (old, new) = (
            before
                .as_object()
                .unwrap_or_else(|| empty.as_object().unwrap()),
            after
                .as_object()
                .unwrap_or_else(|| empty.as_object().unwrap()),
        );
        let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for name in names {
            if DRIFT_IGNORED.contains(&name.as_str()) {
                continue;
            }
            let (was, now) = (old.get(name), new.get(name));
            if same_ignoring_empty(was, now) {
                continue;
            }
            let entry = |attribute: String, before: Option<String>, after: Option<String>| Drift {
                deployment: deployment.clone(),
                address: drifted.address.clone(),
                attribute: Some(attribute),
                before,
                after,
                reverted,
            };
            if drifted.kind == "aws_lambda_function" && name == "environment" {
                let (old_env, new_env) = (environment(Some(before)), environment(Some(after)));
                let keys: BTreeSet<&String> = old_env.keys().chain(new_env.keys()).collect();
                for key in keys {
                    let shown = |v: Option<&Value>| v.map(|_| "(value hidden)".to_owned());
                    if old_env.get(key) != new_env.get(key) {
                        found.push(entry(
                            format!("environment variable {key}"),
                            shown(old_env.get(key)).or(Some("(unset)".into())),
                            shown(new_env.get(key)).or(Some("(unset)".into())),
                        ));
                    }
                }
                continue;
            }
            if name == "tags" {
                let tags =
                    |v: Option<&Value>| v.and_then(Value::as_object).cloned().unwrap_or_default();
                let (old_tags, new_tags) = (tags(was), tags(now));
                let keys: BTreeSet<&String> = old_tags.keys().chain(new_tags.keys()).collect();
                for key in keys {
                    if !same_ignoring_empty(old_tags.get(key), new_tags.get(key)) {
                        found.push(entry(
                            format!("tag {key}"),
                            old_tags.get(key).map(display_value),
                            new_tags.get(key).map(display_value),
                        ));
                    }
                }
                continue;
            }
            found.push(entry(
                name.clone(),
                was.filter(|v| !is_empty(v)).map(display_value),
                now.filter(|v| !is_empty(v)).map(display_value),
            ));
        }
    }
    found
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
