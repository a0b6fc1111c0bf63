//! A function's resource change → its deployment's [`DeploymentChange`]: which deployment
//! (its `environment` tag, else its address), the version before → after, whether the
//! package bytes change, the settings and environment keys that change (values never),
//! why a replace, and whether it only moves to the new module's address.

use serde_json::Value;

use super::super::plan_json::{environment, text_at, ResourceChange};
use super::planned_settings::{displayed_settings, function_settings};
use super::{Action, CodeChange, DeploymentChange, KeyChanges, SettingChange};

pub(super) fn function_change(resource: &ResourceChange, action: Action) -> DeploymentChange {
    let (before, after) = (resource.before(), resource.after());
    let unknown = resource.change.after_unknown.as_ref();
    // Without tags (another module), the bundled module's addresses still tell: the key
    // (`this["pr-7"]`), or the first module's `preview["7"]` and `environment["staging"]`.
    let from_address = resource
        .deployment()
        .unwrap_or_else(|| resource.name.clone());
    let (changes, environment_keys) = match (before, after) {
        (Some(old), Some(new)) if action.changes() => (
            setting_changes(old, new, unknown),
            key_changes(before, after),
        ),
        _ => (Vec::new(), KeyChanges::default()),
    };
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
        code: code_change(resource, action),
        settings: function_settings(after, unknown),
        changes,
        environment_keys,
        trigger_before: None,
        trigger_after: None,
        replace_reasons: replace_reasons(resource, action),
        notes: notes(resource),
        artifact: None,
        rollout: None,
        address: resource.address.clone(),
    }
}

/// Whether the package bytes change: the package's hash, else its object key, compared.
fn code_change(resource: &ResourceChange, action: Action) -> CodeChange {
    let (before, after) = (resource.before(), resource.after());
    let hash = |v: Option<&Value>| text_at(v, &["source_code_hash"]).filter(|h| !h.is_empty());
    let key = |v: Option<&Value>| text_at(v, &["s3_key"]);
    match action {
        Action::Create => CodeChange::New,
        Action::Delete => CodeChange::Removed,
        _ => {
            let after_unknown = resource
                .change
                .after_unknown
                .as_ref()
                .and_then(|u| u.get("source_code_hash"))
                .is_some_and(|flag| flag == &Value::Bool(true));
            if after_unknown || hash(before) != hash(after) || key(before) != key(after) {
                CodeChange::Changed
            } else if hash(before).is_some() || key(before).is_some() {
                CodeChange::Same
            } else {
                CodeChange::Unknown
            }
        }
    }
}

/// Each displayed setting whose text differs, before → after.
fn setting_changes(old: &Value, new: &Value, unknown: Option<&Value>) -> Vec<SettingChange> {
    let some = |s: String| (!s.is_empty()).then_some(s);
    displayed_settings(old, None)
        .into_iter()
        .zip(displayed_settings(new, unknown))
        .filter(|((_, was), (_, now))| was != now)
        .map(|((name, was), (_, now))| SettingChange {
            name,
            before: some(was),
            after: some(now),
        })
        .collect()
}

/// The environment keys added, removed and whose value changed (values compared only).
fn key_changes(before: Option<&Value>, after: Option<&Value>) -> KeyChanges {
    let (old_env, new_env) = (environment(before), environment(after));
    let mut keys = KeyChanges::default();
    for (key, value) in &new_env {
        match old_env.get(key) {
            None => keys.added.push(key.clone()),
            Some(old) if old != value => keys.changed.push(key.clone()),
            Some(_) => {}
        }
    }
    keys.removed = old_env
        .keys()
        .filter(|k| !new_env.contains_key(*k))
        .cloned()
        .collect();
    keys
}

/// Why a replaced function is replaced; terraform always has a reason, even unsaid.
fn replace_reasons(resource: &ResourceChange, action: Action) -> Vec<String> {
    if action != Action::Replace {
        return Vec::new();
    }
    let mut reasons = resource.replace_reasons();
    if reasons.is_empty() {
        reasons.push("terraform cannot update it in place".to_owned());
    }
    reasons
}

/// A function that a `moved` block brings to the new module's address says so.
fn notes(resource: &ResourceChange) -> Vec<String> {
    match &resource.previous_address {
        Some(previous) if *previous != resource.address => {
            vec!["moves to the new module's address (not re-created)".to_owned()]
        }
        _ => Vec::new(),
    }
}
