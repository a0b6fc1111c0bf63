//! The reviewed plan against the plan made now. In: two plan JSON documents (`terraform show
//! -json`): the reviewed one from the plan dir, and the one this run made from the merged
//! checkout and the current state. Out: every difference in what they would do, each naming
//! the deployment, the resource and the attribute — empty when they do the same.
//!
//! Compared per managed resource instance that changes (any action but no-op): the actions,
//! the values before and after, which values are unknown until apply, which are sensitive,
//! the paths that force a replacement, why terraform chose the action, an import and a move.
//! Left out, as nothing that can differ in substance: data sources (read, never changed),
//! unchanged resources, outputs, drift (it is in the values before), the timestamp.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::desired::DeploymentKey;

/// One way the plan made now differs from the reviewed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The deployment the resource belongs to, when it is one's.
    pub deployment: Option<DeploymentKey>,
    pub address: String,
    /// What differs: `actions`, or a path into the values such as `after.memory_size`.
    pub attribute: String,
    /// Each side, shown only where it cannot hold an environment value.
    pub reviewed: Option<String>,
    pub now: Option<String>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(key) = &self.deployment {
            write!(f, "{key}: ")?;
        }
        write!(f, "`{}` {}", self.address, self.attribute)?;
        match (&self.reviewed, &self.now) {
            (Some(reviewed), Some(now)) => write!(f, " is {now} now, {reviewed} as reviewed"),
            _ => write!(f, " differs from the reviewed plan"),
        }
    }
}

/// The fields of a resource change that say what it does.
const COMPARED: [&str; 9] = [
    "actions",
    "before",
    "after",
    "after_unknown",
    "before_sensitive",
    "after_sensitive",
    "replace_paths",
    "importing",
    "action_reason",
];

/// The changing managed resource instances of a plan JSON, by address: what each does.
pub fn changes(plan: &Value) -> BTreeMap<String, Value> {
    let mut changes = BTreeMap::new();
    for change in plan["resource_changes"].as_array().into_iter().flatten() {
        let actions = &change["change"]["actions"];
        // An import or a move takes an object over even when nothing else changes.
        let changing = actions
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a != "no-op"))
            || !change["change"]["importing"].is_null()
            || !change["previous_address"].is_null();
        if change["mode"] != "managed" || !changing {
            continue;
        }
        let Some(address) = change["address"].as_str() else {
            continue;
        };
        let mut what = serde_json::Map::new();
        for field in COMPARED {
            let value = match field {
                "action_reason" => change["action_reason"].clone(),
                _ => change["change"][field].clone(),
            };
            what.insert(field.to_owned(), value);
        }
        what.insert(
            "previous_address".into(),
            change["previous_address"].clone(),
        );
        let key = match &change["deposed"] {
            Value::String(deposed) => format!("{address} (deposed {deposed})"),
            _ => address.to_owned(),
        };
        changes.insert(key, Value::Object(what));
    }
    changes
}

/// Every difference between what the reviewed plan and the plan made now would do.
pub fn differences(reviewed: &Value, now: &Value) -> Vec<Difference> {
    let reviewed = changes(reviewed);
    let now = changes(now);
    let mut found = Vec::new();
    for address in reviewed
        .keys()
        .chain(now.keys().filter(|a| !reviewed.contains_key(*a)))
    {
        match (reviewed.get(address), now.get(address)) {
            (Some(before), Some(after)) => {
                let mut paths = Vec::new();
                diff_paths(before, after, String::new(), &mut paths);
                found.extend(
                    paths
                        .into_iter()
                        .map(|(path, r, n)| difference(address, path, r, n)),
                );
            }
            (Some(change), None) => found.push(
                difference(address, "is not changed now".into(), None, None)
                    .with_actions(Some(change), None),
            ),
            (None, Some(change)) => found.push(
                difference(
                    address,
                    "is changed now, not in the reviewed plan".into(),
                    None,
                    None,
                )
                .with_actions(None, Some(change)),
            ),
            (None, None) => {}
        }
    }
    found
}

fn difference(
    address: &str,
    attribute: String,
    reviewed: Option<&Value>,
    now: Option<&Value>,
) -> Difference {
    // Only plain values are shown: an object may hold environment values.
    let shown = |value: Option<&Value>| {
        value
            .filter(|v| is_plain(v) && !holds_environment(&attribute))
            .map(|v| crate::problem::excerpt(&v.to_string()))
    };
    // Addresses and paths come from the reviewed JSON too: one line, control characters
    // escaped, like every quoted outside string.
    Difference {
        deployment: deployment_of(address),
        address: crate::problem::excerpt(address),
        reviewed: shown(reviewed),
        now: shown(now),
        attribute: crate::problem::excerpt(&attribute),
    }
}

impl Difference {
    /// A resource only one side changes: the other side's actions, where they are known.
    fn with_actions(mut self, reviewed: Option<&Value>, now: Option<&Value>) -> Self {
        let actions = |side: Option<&Value>| {
            side.map(|change| crate::problem::excerpt(&change["actions"].to_string()))
                .or(Some("nothing".into()))
        };
        self.attribute = format!("actions ({})", self.attribute);
        self.reviewed = actions(reviewed);
        self.now = actions(now);
        self
    }
}

fn is_plain(value: &Value) -> bool {
    match value {
        Value::Object(_) => false,
        Value::Array(items) => items
            .iter()
            .all(|item| !item.is_object() && !item.is_array()),
        _ => true,
    }
}

/// Lambda environment values are never shown (the report names keys only).
fn holds_environment(attribute: &str) -> bool {
    attribute.contains(".environment") || attribute.contains("variables")
}

/// `aws_lambda_function.this["pr-7"]` → `pr-7`.
fn deployment_of(address: &str) -> Option<DeploymentKey> {
    let key = address.split("[\"").nth(1)?.split('"').next()?;
    DeploymentKey::parse(key)
}

/// The paths at which two values differ, with each side's value there (leaves only).
fn diff_paths<'a>(
    reviewed: &'a Value,
    now: &'a Value,
    path: String,
    found: &mut Vec<(String, Option<&'a Value>, Option<&'a Value>)>,
) {
    if reviewed == now {
        return;
    }
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (reviewed, now) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                let (x, y) = (
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                );
                diff_paths(x, y, join(key), found);
            }
        }
        // The actions are one value: `["delete", "create"]` is a replace.
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() && path != "actions" => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_paths(x, y, format!("{path}[{i}]"), found);
            }
        }
        _ => found.push((path, Some(reviewed), Some(now))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(changes: Value) -> Value {
        json!({ "format_version": "1.2", "timestamp": "2026-12-05T10:00:00Z", "resource_changes": changes })
    }

    fn function(memory: u64, actions: &[&str]) -> Value {
        json!({
            "address": "aws_lambda_function.this[\"staging\"]",
            "mode": "managed",
            "type": "aws_lambda_function",
            "change": {
                "actions": actions,
                "before": { "memory_size": 256, "environment": [{ "variables": { "TOKEN": "old" } }] },
                "after": { "memory_size": memory, "environment": [{ "variables": { "TOKEN": "old" } }] },
                "after_unknown": { "version": true },
                "before_sensitive": false,
                "after_sensitive": false
            }
        })
    }

    #[test]
    fn the_same_changes_at_another_time_are_no_difference() {
        let reviewed = plan(json!([function(384, &["update"])]));
        let mut now = reviewed.clone();
        now["timestamp"] = "2026-12-06T09:00:00Z".into();
        now["resource_changes"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "address": "data.aws_partition.current", "mode": "data", "change": { "actions": ["read"] } }));
        assert_eq!(differences(&reviewed, &now), []);
    }

    #[test]
    fn a_different_value_names_the_deployment_and_the_attribute() {
        let found = differences(
            &plan(json!([function(384, &["update"])])),
            &plan(json!([function(512, &["update"])])),
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].to_string(),
            "staging: `aws_lambda_function.this[\"staging\"]` after.memory_size is 512 now, 384 as reviewed"
        );
    }

    #[test]
    fn a_destroy_in_place_of_the_reviewed_update_is_a_difference_that_hides_environment_values() {
        let mut destroy = function(256, &["delete"]);
        destroy["change"]["after"] = Value::Null;
        let found = differences(
            &plan(json!([function(384, &["update"])])),
            &plan(json!([destroy])),
        );
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("actions is [\"delete\"] now, [\"update\"] as reviewed")),
            "{text:?}"
        );
        assert!(!text.iter().any(|t| t.contains("old")), "{text:?}");
    }

    #[test]
    fn an_import_or_a_move_without_other_changes_is_still_compared() {
        let mut import = function(256, &["no-op"]);
        import["change"]["importing"] = json!({ "id": "thumb-staging" });
        let found = differences(&plan(json!([])), &plan(json!([import])));
        assert_eq!(found.len(), 1, "{found:?}");
        let mut moved = function(256, &["no-op"]);
        moved["previous_address"] = "aws_lambda_function.old".into();
        assert_eq!(
            differences(&plan(json!([])), &plan(json!([moved]))).len(),
            1
        );
        assert_eq!(
            differences(&plan(json!([])), &plan(json!([function(256, &["no-op"])]))),
            []
        );
    }

    #[test]
    fn a_change_only_one_side_makes_is_a_difference() {
        let found = differences(&plan(json!([])), &plan(json!([function(384, &["update"])])));
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .to_string()
                .contains("is changed now, not in the reviewed plan"),
            "{}",
            found[0]
        );
        let found = differences(&plan(json!([function(384, &["update"])])), &plan(json!([])));
        assert!(
            found[0].to_string().contains("is not changed now"),
            "{}",
            found[0]
        );
    }
}
