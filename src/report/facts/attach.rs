//! Every resource that is not a function → where a reviewer looks for it: a deployment's
//! alias, permission, log group or provisioned concurrency becomes its deployment's notes
//! and setting changes (and makes an unchanged deployment an `update`); the bucket
//! notification sets each deployment's trigger prefix before → after; anything else that
//! changes (the role, its policies) becomes an [`OtherChange`] with what it means.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::super::plan_json::{replace_reason, ResourceChange};
use super::{Action, DeploymentChange, OtherChange, PlanFacts, SettingChange};

/// Attaches a resource that is not a function to its deployment, the packages or `other`.
pub(super) fn attach(
    facts: &mut PlanFacts,
    deployments: &mut BTreeMap<String, DeploymentChange>,
    resource: &ResourceChange,
    action: Action,
) {
    let kind = resource.kind.as_str();
    if kind == "aws_s3_bucket_notification" {
        attach_notification(facts, deployments, resource, action);
        return;
    }
    if kind == "aws_s3_object" {
        return;
    }
    let per_deployment = matches!(
        kind,
        "aws_lambda_alias"
            | "aws_lambda_permission"
            | "aws_cloudwatch_log_group"
            | "aws_lambda_provisioned_concurrency_config"
    );
    let deployment = resource
        .deployment()
        .filter(|_| per_deployment)
        .and_then(|key| deployments.get_mut(&key));
    match deployment {
        Some(deployment) => attach_to_deployment(deployment, resource, action),
        None if action.changes() => facts.other.push(OtherChange {
            address: resource.address.clone(),
            action,
            meaning: meaning(resource),
            reasons: if action == Action::Replace {
                resource.replace_reasons()
            } else {
                Vec::new()
            },
        }),
        None => {}
    }
}

/// Each deployment's trigger prefix before → after, by the block's id (the deployment
/// key); the notification as a whole in `other` when it is replaced or deleted.
fn attach_notification(
    facts: &mut PlanFacts,
    deployments: &mut BTreeMap<String, DeploymentChange>,
    resource: &ResourceChange,
    action: Action,
) {
    for (prefix, id) in prefixes(resource.before()) {
        if let Some(d) = id.and_then(|id| deployments.get_mut(&id)) {
            d.trigger_before = Some(prefix);
        }
    }
    for (prefix, id) in prefixes(resource.after()) {
        if let Some(d) = id.and_then(|id| deployments.get_mut(&id)) {
            d.trigger_after = Some(prefix);
        }
    }
    if action == Action::Replace || action == Action::Delete {
        facts.other.push(OtherChange {
            address: resource.address.clone(),
            action,
            meaning: meaning(resource),
            reasons: resource.replace_reasons(),
        });
    }
}

/// What a resource of the deployment's own does to it, in its notes and setting changes.
fn attach_to_deployment(
    deployment: &mut DeploymentChange,
    resource: &ResourceChange,
    action: Action,
) {
    let mut touched = action.changes();
    match resource.kind.as_str() {
        "aws_cloudwatch_log_group" => touched |= attach_log_group(deployment, resource, action),
        "aws_lambda_provisioned_concurrency_config" => {
            attach_provisioned_concurrency(deployment, resource, action)
        }
        "aws_lambda_permission" if action == Action::Replace => {
            let mut reasons = resource.replace_reasons();
            if reasons.is_empty() {
                reasons.push(replace_reason(&resource.kind, &[]));
            }
            deployment.notes.extend(reasons);
        }
        // With a new version the alias follows it: nothing to add. Alone, it was moved
        // outside the gitops repo and goes back.
        "aws_lambda_alias" if action == Action::Update && deployment.action == Action::NoOp => {
            deployment
                .notes
                .push("the `live` alias is pointed back at the deployed version".to_owned());
        }
        _ => {}
    }
    if touched && deployment.action == Action::NoOp {
        deployment.action = Action::Update;
    }
    let mut seen = BTreeSet::new();
    deployment.notes.retain(|note| seen.insert(note.clone()));
}

/// A log group adopted, its retention changed or it replaced; true when only adopted
/// (which touches the deployment though terraform changes nothing).
fn attach_log_group(
    deployment: &mut DeploymentChange,
    resource: &ResourceChange,
    action: Action,
) -> bool {
    let (before, after) = (resource.before(), resource.after());
    let retention = |v: Option<&Value>| {
        v.and_then(|v| v.get("retention_in_days"))
            .and_then(Value::as_u64)
            .map(|days| match days {
                0 => "never expire".to_owned(),
                days => format!("{days} days"),
            })
    };
    let importing = resource.change.importing.is_some();
    if importing {
        deployment
            .notes
            .push("its log group exists already: adopted into the state, not created".to_owned());
    }
    if matches!(action, Action::Update | Action::Replace) && retention(before) != retention(after) {
        deployment.changes.push(SettingChange {
            name: "log retention",
            before: retention(before),
            after: retention(after),
        });
    }
    if action == Action::Replace {
        deployment.notes.extend(resource.replace_reasons());
    }
    importing && action == Action::NoOp
}

fn attach_provisioned_concurrency(
    deployment: &mut DeploymentChange,
    resource: &ResourceChange,
    action: Action,
) {
    let (before, after) = (resource.before(), resource.after());
    let count = |v: Option<&Value>| {
        v.and_then(|v| v.get("provisioned_concurrent_executions"))
            .and_then(Value::as_u64)
            .map(|n| n.to_string())
    };
    if action.changes() && count(before) != count(after) {
        deployment.changes.push(SettingChange {
            name: "provisioned concurrency",
            before: count(before),
            after: count(after),
        });
    }
}

/// What a resource outside the deployments is, for a reviewer.
fn meaning(resource: &ResourceChange) -> &'static str {
    match (resource.kind.as_str(), resource.name.as_str()) {
        ("aws_iam_role", _) => "the functions' execution role",
        ("aws_iam_role_policy", "logging") => {
            "the execution role's permission to write to the functions' log groups, updated as they come and go"
        }
        ("aws_iam_role_policy", "tracing") => {
            "the execution role's permission to send X-Ray traces"
        }
        ("aws_iam_role_policy", "network") => {
            "the execution role's permission to create network interfaces in the VPC"
        }
        ("aws_s3_bucket_notification", _) => "the trigger bucket's notifications",
        _ => "",
    }
}

/// `(prefix, block id)` of each function block of a bucket notification.
pub(super) fn prefixes(notification: Option<&Value>) -> BTreeSet<(String, Option<String>)> {
    notification
        .and_then(|value| value.get("lambda_function"))
        .and_then(Value::as_array)
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|block| {
                    let prefix = block.get("filter_prefix").and_then(Value::as_str)?;
                    let id = block.get("id").and_then(Value::as_str).map(str::to_owned);
                    Some((prefix.to_owned(), id))
                })
                .collect()
        })
        .unwrap_or_default()
}
