//! A function's settings as a plan has them: its `before` or `after` object (and
//! `after_unknown`) → [`PlannedSettings`] (what it runs with) and the display text of each
//! setting a reviewer compares (memory with its unit, `(known after apply)`, reserved
//! concurrency `unreserved`, …). Environment values are never among them.

use serde_json::Value;

use super::super::plan_json::{environment, text_at};
use super::PlannedSettings;

/// Said of a setting whose value the plan only knows after apply.
const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// Whether `after_unknown` flags `key` as only known after apply.
fn known_after_apply(unknown: Option<&Value>, key: &str) -> bool {
    unknown
        .and_then(|u| u.get(key))
        .is_some_and(|flag| flag == &Value::Bool(true))
}

pub(super) fn function_settings(
    value: Option<&Value>,
    unknown: Option<&Value>,
) -> Option<PlannedSettings> {
    let value = value.filter(|v| v.is_object())?;
    let number = |key: &str| value.get(key).and_then(Value::as_u64);
    Some(PlannedSettings {
        runtime: text_at(Some(value), &["runtime"]),
        handler: text_at(Some(value), &["handler"]),
        role: text_at(Some(value), &["role"]).filter(|_| !known_after_apply(unknown, "role")),
        memory_size: number("memory_size"),
        timeout: number("timeout"),
        environment_keys: environment(Some(value)).into_keys().collect(),
    })
}

/// The settings a reviewer compares, as display text: `(name, value)`. Environment values
/// are not among them.
pub(super) fn displayed_settings(
    value: &Value,
    unknown: Option<&Value>,
) -> Vec<(&'static str, String)> {
    let text = |key: &str| setting_text(value, unknown, key);
    let block = |key: &str, field: &str| block_text(value, key, field);
    vec![
        ("runtime", text("runtime")),
        ("handler", text("handler")),
        ("memory", with_unit(text("memory_size"), "MiB")),
        ("timeout", with_unit(text("timeout"), "s")),
        ("role", text("role")),
        ("architecture", text("architectures")),
        ("ephemeral storage", ephemeral_storage(value)),
        ("layers", text("layers")),
        ("tracing", block("tracing_config", "mode")),
        ("subnets", block("vpc_config", "subnet_ids")),
        ("security groups", block("vpc_config", "security_group_ids")),
        ("reserved concurrency", reserved_concurrency(value, unknown)),
        ("description", text("description")),
    ]
}

/// A top-level setting as text: lists joined with `, `, empty when unset.
fn setting_text(value: &Value, unknown: Option<&Value>, key: &str) -> String {
    if known_after_apply(unknown, key) {
        return KNOWN_AFTER_APPLY.to_owned();
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
}

/// `field` of the first `key` block (`vpc_config`, `tracing_config`, …) as text.
fn block_text(value: &Value, key: &str, field: &str) -> String {
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
}

/// `value unit`, unless there is no value or it is only known after apply.
fn with_unit(value: String, unit: &str) -> String {
    if value.is_empty() || value.starts_with('(') {
        value
    } else {
        format!("{value} {unit}")
    }
}

fn ephemeral_storage(value: &Value) -> String {
    let size = block_text(value, "ephemeral_storage", "size");
    if size.is_empty() {
        size
    } else {
        format!("{size} MiB")
    }
}

/// Lambda's `-1` is no reservation.
fn reserved_concurrency(value: &Value, unknown: Option<&Value>) -> String {
    match value.get("reserved_concurrent_executions") {
        Some(Value::Number(n)) if n.as_i64() == Some(-1) => "unreserved".to_owned(),
        _ => setting_text(value, unknown, "reserved_concurrent_executions"),
    }
}
