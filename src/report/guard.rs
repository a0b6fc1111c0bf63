//! The foreign-resource guard: which service each resource of a plan's prior state belongs
//! to. A plan that changes another service's resources (a shared state) is refused by the
//! runner before anything is applied.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::facts::{text_at, Action, ResourceChange};

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

/// A Lambda ARN without its qualifier: `arn:aws:lambda:<region>:<account>:function:<name>`.
pub(crate) fn unqualified(arn: &str) -> &str {
    match arn.match_indices(':').nth(6) {
        Some((at, _)) => &arn[..at],
        None => arn,
    }
}
