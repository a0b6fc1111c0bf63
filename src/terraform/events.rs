//! Terraform's machine-readable UI (`apply -json`): one JSON object per stdout line. Read
//! into [`Event`]s — the changes it planned, what it saw changed outside, its counts and
//! its diagnostics — and turned back into the human text a reader of the log expects
//! ([`text`]): the `@message` of each line, a diagnostic's detail under it.

use serde::Deserialize;
use serde_json::Value;

/// One resource change terraform planned (`planned_change`) or saw outside (`resource_drift`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceEvent {
    /// e.g. `aws_lambda_function.this["staging"]`.
    pub address: String,
    /// Where a `moved` block brings it from.
    pub previous_address: Option<String>,
    /// `create`, `update`, `replace`, `delete`, `move`, `import`, `noop`, `read`, `remove`.
    pub action: String,
    /// Why, e.g. `tainted`, `requested`, `cannot_update`, `delete_because_each_key`.
    pub reason: Option<String>,
    /// The ID an `import` block adopts.
    pub importing: Option<String>,
}

/// What one line of `-json` output says, as far as lambda-gitops reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Planned(ResourceEvent),
    Drift(ResourceEvent),
    /// `change_summary`: terraform's counts for `operation` (`plan`, `apply`, `destroy`).
    Summary {
        operation: String,
        add: usize,
        change: usize,
        import: usize,
        remove: usize,
    },
    /// An error or warning.
    Diagnostic {
        error: bool,
        summary: String,
    },
    /// Anything else (progress, outputs, the version line).
    Other,
}

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(rename = "@level", default)]
    level: String,
    #[serde(rename = "@message", default)]
    message: String,
    change: Option<Change>,
    changes: Option<Counts>,
    diagnostic: Option<Diagnostic>,
}

#[derive(Deserialize)]
struct Change {
    resource: Resource,
    previous_resource: Option<Resource>,
    action: String,
    reason: Option<String>,
    importing: Option<Value>,
}

#[derive(Deserialize)]
struct Resource {
    addr: String,
}

#[derive(Deserialize)]
struct Counts {
    #[serde(default)]
    add: usize,
    #[serde(default)]
    change: usize,
    #[serde(default)]
    import: usize,
    #[serde(default)]
    remove: usize,
    #[serde(default)]
    operation: String,
}

#[derive(Deserialize)]
struct Diagnostic {
    #[serde(default)]
    summary: String,
    #[serde(default)]
    detail: String,
}

/// The event of one line; `None` for a line that is not terraform's JSON.
pub fn parse(line: &str) -> Option<Event> {
    let line: Line = serde_json::from_str(line.trim()).ok()?;
    let resource = |change: Change| ResourceEvent {
        address: change.resource.addr,
        previous_address: change.previous_resource.map(|r| r.addr),
        action: change.action,
        reason: change.reason,
        importing: change
            .importing
            .as_ref()
            .and_then(|i| i.get("id"))
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    Some(match (line.kind.as_str(), line.change, line.changes) {
        ("planned_change", Some(change), _) => Event::Planned(resource(change)),
        ("resource_drift", Some(change), _) => Event::Drift(resource(change)),
        ("change_summary", _, Some(counts)) => Event::Summary {
            operation: counts.operation,
            add: counts.add,
            change: counts.change,
            import: counts.import,
            remove: counts.remove,
        },
        ("diagnostic", _, _) => Event::Diagnostic {
            error: line.level == "error",
            summary: line.diagnostic.map(|d| d.summary).unwrap_or(line.message),
        },
        _ => Event::Other,
    })
}

/// The events of a whole `-json` output, lines that are not JSON skipped.
pub fn parse_all(output: &str) -> Vec<Event> {
    output.lines().filter_map(parse).collect()
}

/// What a person reads for one line: its `@message`, and under a diagnostic its detail
/// (where terraform's lock error names the lock's ID). A line that is not terraform's
/// JSON is shown as it is.
pub fn text(line: &str) -> Vec<String> {
    let Ok(parsed) = serde_json::from_str::<Line>(line.trim()) else {
        return vec![line.to_owned()];
    };
    let mut lines = vec![parsed.message];
    if let Some(diagnostic) = parsed.diagnostic.filter(|d| !d.detail.is_empty()) {
        lines.extend(diagnostic.detail.lines().map(str::to_owned));
    }
    lines
}

/// The human text of a whole `-json` output.
pub fn text_of(output: &str) -> String {
    let mut text = String::new();
    for line in output.lines() {
        for shown in self::text(line) {
            text.push_str(&shown);
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLANNED: &str = r#"{"@level":"info","@message":"aws_s3_object.o[\"b\"]: Plan to delete","@module":"terraform.ui","change":{"resource":{"addr":"aws_s3_object.o[\"b\"]","module":"","resource":"aws_s3_object.o[\"b\"]","implied_provider":"aws","resource_type":"aws_s3_object","resource_name":"o","resource_key":"b"},"action":"delete","reason":"delete_because_each_key"},"type":"planned_change"}"#;

    #[test]
    fn planned_changes_drift_and_counts_are_read_from_terraforms_json_lines() {
        assert_eq!(
            parse(PLANNED),
            Some(Event::Planned(ResourceEvent {
                address: r#"aws_s3_object.o["b"]"#.into(),
                previous_address: None,
                action: "delete".into(),
                reason: Some("delete_because_each_key".into()),
                importing: None,
            }))
        );
        let moved = r#"{"@message":"x","type":"resource_drift","change":{"resource":{"addr":"a.b[\"pr-7\"]"},"previous_resource":{"addr":"a.c[\"7\"]"},"action":"update"}}"#;
        let Some(Event::Drift(drift)) = parse(moved) else {
            panic!("a drift event");
        };
        assert_eq!(drift.previous_address.as_deref(), Some(r#"a.c["7"]"#));
        let summary = r#"{"@message":"Apply complete! Resources: 1 added, 0 changed, 2 destroyed.","type":"change_summary","changes":{"add":1,"change":0,"import":0,"remove":2,"operation":"apply"}}"#;
        assert_eq!(
            parse(summary),
            Some(Event::Summary {
                operation: "apply".into(),
                add: 1,
                change: 0,
                import: 0,
                remove: 2
            })
        );
        assert_eq!(parse("Terraform has been initialized"), None);
        assert_eq!(
            parse(r#"{"type":"apply_start","@message":"m"}"#),
            Some(Event::Other)
        );
    }

    #[test]
    fn a_diagnostic_reads_as_terraforms_text_with_its_detail_so_a_lock_id_is_found() {
        let line = r#"{"@level":"error","@message":"Error: Error acquiring the state lock","type":"diagnostic","diagnostic":{"severity":"error","summary":"Error acquiring the state lock","detail":"Lock Info:\n  ID:        5a1b\n  Path:      b/k"}}"#;
        assert_eq!(
            text(line),
            vec![
                "Error: Error acquiring the state lock",
                "Lock Info:",
                "  ID:        5a1b",
                "  Path:      b/k"
            ]
        );
        assert_eq!(
            parse(line),
            Some(Event::Diagnostic {
                error: true,
                summary: "Error acquiring the state lock".into()
            })
        );
        assert_eq!(text("not json"), vec!["not json"]);
        assert_eq!(
            text_of(&format!("{PLANNED}\n")),
            "aws_s3_object.o[\"b\"]: Plan to delete\n"
        );
    }
}
