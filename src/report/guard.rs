//! The foreign-resource guard: which service each resource of a plan's prior state belongs
//! to. A plan that changes another service's resources (a shared state) is refused by the
//! runner before anything is applied.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::action::Action;
use super::plan_json::{text_at, Change, ResourceChange};

/// A change to a resource that belongs to another service: its `service` tag, or for
/// untagged resources the tagged function or role they point at, names `owner`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignChange {
    pub address: String,
    pub action: Action,
    pub owner: String,
}

/// The `service` tag of a resource's prior state (`tags`, else `tags_all`).
fn service_tag(value: Option<&Value>) -> Option<String> {
    text_at(value, &["tags", "service"]).or_else(|| text_at(value, &["tags_all", "service"]))
}

/// Which service the resources of a plan's prior state belong to: tagged ones say so;
/// permissions, notifications and inline policies are traced to the tagged function or
/// role they point at.
pub(super) struct Owners {
    by_function: BTreeMap<String, String>,
    by_role: BTreeMap<String, String>,
}

impl Owners {
    pub(super) fn of(resources: &[&ResourceChange]) -> Self {
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

    pub(super) fn owner(&self, resource: &ResourceChange) -> Option<String> {
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

/// The services other than `service` that own a managed resource of a terraform state (the
/// JSON of a plan file's `tfstate`: the state the plan was made against). When there is
/// none, no plan made against that state can change another service's resource: it can
/// only create those. `None` when the state cannot be read as one.
pub fn other_owners_in_state(service: &str, state: &Value) -> Option<BTreeSet<String>> {
    let mut resources = Vec::new();
    for resource in state.get("resources")?.as_array()? {
        if resource.get("mode").and_then(Value::as_str) != Some("managed") {
            continue;
        }
        let kind = resource.get("type")?.as_str()?;
        for instance in resource.get("instances")?.as_array()? {
            resources.push(ResourceChange {
                address: String::new(),
                previous_address: None,
                mode: "managed".to_owned(),
                kind: kind.to_owned(),
                name: String::new(),
                index: None,
                change: Change {
                    actions: Vec::new(),
                    before: instance.get("attributes").cloned(),
                    after: None,
                    after_unknown: None,
                    importing: None,
                    replace_paths: None,
                },
                action_reason: None,
            });
        }
    }
    let all: Vec<&ResourceChange> = resources.iter().collect();
    let owners = Owners::of(&all);
    Some(
        resources
            .iter()
            .filter_map(|resource| owners.owner(resource))
            .filter(|owner| owner != service)
            .collect(),
    )
}

/// A Lambda ARN without its qualifier: `arn:aws:lambda:<region>:<account>:function:<name>`.
pub(crate) fn unqualified(arn: &str) -> &str {
    match arn.match_indices(':').nth(6) {
        Some((at, _)) => &arn[..at],
        None => arn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(resources: Value) -> Value {
        json!({"version": 4, "resources": resources})
    }

    #[test]
    fn a_state_holding_another_services_function_or_what_points_at_it_names_that_service() {
        let function = |service: &str, name: &str| {
            json!({"mode": "managed", "type": "aws_lambda_function", "name": "this",
                "instances": [{"attributes": {"function_name": name,
                    "arn": format!("arn:aws:lambda:us-east-1:1:function:{name}"),
                    "tags": {"service": service}}}]})
        };
        let permission = |function: &str| {
            json!({"mode": "managed", "type": "aws_lambda_permission", "name": "s3",
                "instances": [{"attributes": {"function_name": function}}]})
        };
        let data = json!({"mode": "data", "type": "aws_caller_identity", "name": "me",
            "instances": [{"attributes": {"tags": {"service": "other"}}}]});

        let own = state(json!([
            function("a", "a-staging"),
            permission("a-staging"),
            data
        ]));
        assert_eq!(other_owners_in_state("a", &own), Some(BTreeSet::new()));
        assert_eq!(
            other_owners_in_state("a", &state(json!([]))),
            Some(BTreeSet::new())
        );

        let shared = state(json!([
            function("a", "a-staging"),
            function("b", "b-staging")
        ]));
        assert_eq!(
            other_owners_in_state("a", &shared),
            Some(BTreeSet::from(["b".to_owned()]))
        );
        // A permission on another service's function is that service's, untagged or not.
        let theirs = state(json!([
            function("a", "a-staging"),
            function("b", "b-prod"),
            permission("b-prod")
        ]));
        assert_eq!(
            other_owners_in_state("a", &theirs),
            Some(BTreeSet::from(["b".to_owned()]))
        );

        assert_eq!(other_owners_in_state("a", &json!({"version": 4})), None);
        assert_eq!(other_owners_in_state("a", &json!("not a state")), None);
    }
}
