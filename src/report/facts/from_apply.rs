//! The facts of a one-step apply (`terraform apply -json`, no saved plan to `show`): the
//! plan it made is rebuilt from what lambda-gitops read itself — the state before (every
//! resource's attributes as they were), the state after (as they are now) and terraform's
//! events (which resource it planned to create, update, replace, delete or move, and why) —
//! and read by the same [`super::build`] as a saved plan's JSON.
//!
//! Two things a saved plan says and the events do not: which attributes forced a replace
//! (the attributes known to force one that differ stand in), and the values behind drift
//! (an object deleted outside is named; which attributes drifted, `plan` shows).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::super::plan_json::{Change, PlanJson, ResourceChange};
use super::PlanFacts;
use crate::terraform::events::{Event, ResourceEvent};

/// One resource instance of a state, with what its address is made of.
struct Instance {
    mode: String,
    kind: String,
    name: String,
    index: Option<Value>,
    attributes: Value,
}

impl PlanFacts {
    /// The facts of an apply made in one step, from the state before (`None`: there was
    /// none), the state after (`None`: it could not be read) and terraform's events.
    pub fn from_apply(
        service: &str,
        before: Option<&Value>,
        after: Option<&Value>,
        events: &[Event],
    ) -> Self {
        super::build::build(service, &plan_of(before, after, events))
    }
}

/// The plan a one-step apply made, as `show -json` would have given it.
fn plan_of(before: Option<&Value>, after: Option<&Value>, events: &[Event]) -> PlanJson {
    let old = instances(before);
    let new = instances(after);
    let planned: BTreeMap<&str, &ResourceEvent> = events
        .iter()
        .filter_map(|event| match event {
            Event::Planned(change) => Some((change.address.as_str(), change)),
            _ => None,
        })
        .collect();
    let moved_away: BTreeSet<&str> = planned
        .values()
        .filter_map(|c| c.previous_address.as_deref())
        .collect();
    let addresses: BTreeSet<&str> = old
        .keys()
        .filter(|address| !moved_away.contains(address.as_str()))
        .chain(new.keys())
        .map(String::as_str)
        .chain(planned.keys().copied())
        .collect();
    let resource_changes = addresses
        .into_iter()
        .filter_map(|address| {
            let event = planned.get(address).copied();
            let previous = event.and_then(|e| e.previous_address.as_deref());
            let was = old.get(previous.unwrap_or(address));
            let now = new.get(address);
            resource_change(address, was, now, event)
        })
        .collect();
    let resource_drift = events
        .iter()
        .filter_map(|event| match event {
            Event::Drift(change) if change.action == "delete" => {
                let was = old.get(&change.address)?;
                Some(resource(
                    &change.address,
                    was,
                    Some(&was.attributes),
                    None,
                    None,
                ))
            }
            _ => None,
        })
        .collect();
    PlanJson {
        resource_changes,
        resource_drift,
    }
}

/// One resource's change: what the event says was done, between its attributes before and
/// after (a resource in neither state nor the events is not one).
fn resource_change(
    address: &str,
    was: Option<&Instance>,
    now: Option<&Instance>,
    event: Option<&ResourceEvent>,
) -> Option<ResourceChange> {
    let shape = was.or(now);
    let parsed;
    let shape = match shape {
        Some(instance) => instance,
        None => {
            parsed = parse_address(address)?;
            &parsed
        }
    };
    let action = event.map_or("noop", |e| e.action.as_str());
    let before = (action != "create")
        .then(|| was.map(|i| &i.attributes))
        .flatten();
    let after = match action {
        "delete" => None,
        // Not changed: as it was, when the state after could not be read.
        "noop" | "move" | "import" => now.or(was).map(|i| &i.attributes),
        _ => now.map(|i| &i.attributes),
    };
    let mut change = resource(address, shape, before, after, event);
    if action == "replace" {
        change.change.replace_paths = Some(forced(&shape.kind, before, after));
    }
    Some(change)
}

/// A resource change of `shape`'s type and index, with the event's action and reason.
fn resource(
    address: &str,
    shape: &Instance,
    before: Option<&Value>,
    after: Option<&Value>,
    event: Option<&ResourceEvent>,
) -> ResourceChange {
    let actions: &[&str] = match event.map(|e| e.action.as_str()) {
        Some("create") => &["create"],
        Some("update") => &["update"],
        Some("delete") => &["delete"],
        Some("replace") => &["delete", "create"],
        Some("read") => &["read"],
        _ => &["no-op"],
    };
    ResourceChange {
        address: address.to_owned(),
        previous_address: event.and_then(|e| e.previous_address.clone()),
        mode: shape.mode.clone(),
        kind: shape.kind.clone(),
        name: shape.name.clone(),
        index: shape.index.clone(),
        change: Change {
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
            before: before.cloned(),
            after: after.cloned(),
            after_unknown: None,
            importing: event
                .and_then(|e| e.importing.clone())
                .map(|id| serde_json::json!({ "id": id })),
            replace_paths: None,
        },
        action_reason: event.and_then(|e| e.reason.as_deref()).map(|reason| {
            match reason {
                "tainted" => "replace_because_tainted",
                "requested" => "replace_by_request",
                "cannot_update" => "replace_because_cannot_update",
                other => other,
            }
            .to_owned()
        }),
    }
}

/// The attributes that force a replace of `kind` (those the report explains) and differ.
fn forced(kind: &str, before: Option<&Value>, after: Option<&Value>) -> Value {
    let candidates: &[&str] = match kind {
        "aws_lambda_function" => &["function_name", "package_type"],
        "aws_lambda_alias" => &["name", "function_name"],
        "aws_lambda_permission" => &["function_name", "qualifier", "statement_id", "source_arn"],
        "aws_cloudwatch_log_group" | "aws_iam_role" => &["name"],
        "aws_s3_bucket_notification" => &["bucket"],
        "aws_s3_object" => &["bucket", "key"],
        "aws_iam_role_policy" => &["role", "name"],
        _ => &[],
    };
    let value = |state: Option<&Value>, name: &str| state.and_then(|s| s.get(name)).cloned();
    Value::Array(
        candidates
            .iter()
            .filter(|name| value(before, name) != value(after, name))
            .map(|name| serde_json::json!([name]))
            .collect(),
    )
}

/// Every resource instance of a state (terraform's format 4), by address.
fn instances(state: Option<&Value>) -> BTreeMap<String, Instance> {
    let mut found = BTreeMap::new();
    let resources = state
        .and_then(|s| s.get("resources"))
        .and_then(Value::as_array);
    for resource in resources.into_iter().flatten() {
        let text = |key: &str| resource.get(key).and_then(Value::as_str).unwrap_or("");
        let (mode, kind, name) = (text("mode"), text("type"), text("name"));
        let module = text("module");
        let instances = resource.get("instances").and_then(Value::as_array);
        for instance in instances.into_iter().flatten() {
            let index = instance.get("index_key").cloned();
            let mut address = String::new();
            if !module.is_empty() {
                address.push_str(module);
                address.push('.');
            }
            if mode == "data" {
                address.push_str("data.");
            }
            address.push_str(&format!("{kind}.{name}{}", index_suffix(index.as_ref())));
            found.insert(
                address,
                Instance {
                    mode: mode.to_owned(),
                    kind: kind.to_owned(),
                    name: name.to_owned(),
                    index,
                    attributes: instance.get("attributes").cloned().unwrap_or(Value::Null),
                },
            );
        }
    }
    found
}

/// `["pr-7"]`, `[0]` or nothing, as terraform writes an instance's key in its address.
fn index_suffix(index: Option<&Value>) -> String {
    match index {
        Some(Value::String(key)) => format!("[{}]", Value::String(key.clone())),
        Some(Value::Number(n)) => format!("[{n}]"),
        _ => String::new(),
    }
}

/// The type, name and key an address of the root module names (`type.name["key"]`).
fn parse_address(address: &str) -> Option<Instance> {
    let (head, index) = match address.split_once('[') {
        Some((head, rest)) => (head, serde_json::from_str(rest.strip_suffix(']')?).ok()),
        None => (address, None),
    };
    let (mode, head) = match head.strip_prefix("data.") {
        Some(rest) => ("data", rest),
        None => ("managed", head),
    };
    let (kind, name) = head.split_once('.')?;
    Some(Instance {
        mode: mode.to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
        index,
        attributes: Value::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Action;
    use serde_json::json;

    fn function(key: &str, version: &str, hash: &str) -> Value {
        json!({
            "mode": "managed", "type": "aws_lambda_function", "name": "this",
            "instances": [{"index_key": key, "attributes": {
                "function_name": format!("svc-{key}"), "version": version,
                "source_code_hash": hash, "s3_key": format!("{hash}.zip"),
                "runtime": "python3.12", "handler": "app.handler", "memory_size": 128,
                "timeout": 3, "tags": {"service": "svc", "version": version},
                "environment": []
            }}]
        })
    }

    fn planned(address: &str, action: &str, reason: Option<&str>) -> Event {
        Event::Planned(ResourceEvent {
            address: address.to_owned(),
            previous_address: None,
            action: action.to_owned(),
            reason: reason.map(str::to_owned),
            importing: None,
        })
    }

    #[test]
    fn an_update_a_new_preview_and_a_removed_one_read_as_a_saved_plan_would() {
        let before = json!({"version": 4, "resources": [
            function("staging", "3", "aaa"), function("pr-7", "1", "ppp")
        ]});
        let after = json!({"version": 4, "resources": [
            function("staging", "4", "bbb"), function("pr-9", "1", "qqq")
        ]});
        let events = [
            planned(r#"aws_lambda_function.this["staging"]"#, "update", None),
            planned(r#"aws_lambda_function.this["pr-9"]"#, "create", None),
            planned(
                r#"aws_lambda_function.this["pr-7"]"#,
                "delete",
                Some("delete_because_each_key"),
            ),
        ];
        let facts = PlanFacts::from_apply("svc", Some(&before), Some(&after), &events);
        assert!(facts.has_changes);
        assert_eq!(
            (facts.counts.add, facts.counts.change, facts.counts.destroy),
            (1, 1, 1)
        );
        assert_eq!(facts.previews.added, vec![9]);
        assert_eq!(facts.previews.removed, vec![7]);
        let staging = facts
            .deployments
            .iter()
            .find(|d| d.deployment == "staging")
            .unwrap();
        assert_eq!(staging.action, Action::Update);
        assert_eq!(staging.version_before.as_deref(), Some("3"));
        assert_eq!(staging.version_after.as_deref(), Some("4"));
        assert!(facts.foreign.is_empty());
    }

    #[test]
    fn a_replace_names_the_attribute_that_forced_it_and_an_unchanged_apply_changes_nothing() {
        let before = json!({"resources": [function("staging", "3", "aaa")]});
        let mut after = before.clone();
        after["resources"][0]["instances"][0]["attributes"]["function_name"] = json!("renamed");
        let events = [planned(
            r#"aws_lambda_function.this["staging"]"#,
            "replace",
            Some("cannot_update"),
        )];
        let facts = PlanFacts::from_apply("svc", Some(&before), Some(&after), &events);
        let staging = &facts.deployments[0];
        assert_eq!(staging.action, Action::Replace);
        assert!(
            staging
                .replace_reasons
                .iter()
                .any(|r| r.contains("function name")),
            "{:?}",
            staging.replace_reasons
        );
        let unchanged = PlanFacts::from_apply("svc", Some(&before), Some(&before), &[]);
        assert!(!unchanged.has_changes);
        assert_eq!(unchanged.deployments.len(), 1);
    }

    #[test]
    fn a_change_to_another_services_resource_is_still_named_as_foreign() {
        let mut other = function("staging", "1", "zzz");
        other["instances"][0]["attributes"]["tags"] = json!({"service": "billing"});
        let before = json!({"resources": [other]});
        let events = [planned(
            r#"aws_lambda_function.this["staging"]"#,
            "delete",
            None,
        )];
        let facts = PlanFacts::from_apply("svc", Some(&before), None, &events);
        assert_eq!(facts.foreign.len(), 1);
        assert_eq!(facts.foreign[0].owner, "billing");
    }

    #[test]
    fn addresses_are_written_and_read_as_terraform_writes_them() {
        assert_eq!(index_suffix(Some(&json!("pr-7"))), r#"["pr-7"]"#);
        assert_eq!(index_suffix(Some(&json!(2))), "[2]");
        let parsed = parse_address(r#"aws_s3_object.package["abc"]"#).unwrap();
        assert_eq!(
            (parsed.kind.as_str(), parsed.name.as_str()),
            ("aws_s3_object", "package")
        );
        assert_eq!(parsed.index, Some(json!("abc")));
        assert!(parse_address("nonsense").is_none());
    }
}
