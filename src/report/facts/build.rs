//! A parsed plan ([`PlanJson`]) → its [`PlanFacts`]: terraform's counts, imports and
//! moves, changes to other services' resources, each function's deployment (then what
//! belongs to it, in `attach.rs`), trigger prefixes added and removed, previews added and
//! removed, warnings, package objects uploaded or superseded and drift.

use std::collections::BTreeMap;

use serde_json::Value;

use super::super::drift::drift;
use super::super::guard::Owners;
use super::super::plan_json::{text_at, PlanJson, ResourceChange};
use super::attach::{attach, prefixes};
use super::function::function_change;
use super::warning::warnings;
use super::{
    Action, DeploymentChange, ForeignChange, PackageChange, PlanFacts, PreviewChange, TriggerChange,
};

/// The facts of a parsed plan.
pub(super) fn build(service: &str, plan: &PlanJson) -> PlanFacts {
    let resources: Vec<&ResourceChange> = plan
        .resource_changes
        .iter()
        .filter(|r| r.mode != "data")
        .collect();
    let mut facts = PlanFacts::unchanged(service);
    let owners = Owners::of(&resources);
    let mut deployments: BTreeMap<String, DeploymentChange> = BTreeMap::new();
    let mut belongings: Vec<(&ResourceChange, Action)> = Vec::new();
    for resource in &resources {
        let action = resource.action();
        count(&mut facts, resource, action);
        if action.changes() && action != Action::Create {
            if let Some(owner) = owners.owner(resource).filter(|owner| owner != service) {
                facts.foreign.push(ForeignChange {
                    address: resource.address.clone(),
                    action,
                    owner,
                });
            }
        }
        match resource.kind.as_str() {
            "aws_lambda_function" => {
                let change = function_change(resource, action);
                deployments.insert(change.deployment.clone(), change);
            }
            "aws_s3_bucket_notification" => {
                add_trigger_changes(&mut facts.triggers, resource);
                belongings.push((resource, action));
            }
            _ => belongings.push((resource, action)),
        }
    }
    for (resource, action) in belongings {
        attach(&mut facts, &mut deployments, resource, action);
    }
    facts.upgrade.moved = facts.counts.moved;
    facts.has_changes = facts.counts.actions() + facts.counts.import + facts.counts.moved > 0;
    let mut deployments: Vec<DeploymentChange> = deployments.into_values().collect();
    deployments.sort_by_key(DeploymentChange::key_order);
    facts.previews = preview_changes(&deployments);
    facts.warnings = warnings(&deployments);
    facts.packages = package_changes(&resources, &deployments);
    facts.drift = drift(plan, &resources);
    facts.deployments = deployments;
    facts
}

/// Counts one resource change as terraform does, with what it imports and moves.
fn count(facts: &mut PlanFacts, resource: &ResourceChange, action: Action) {
    let counts = &mut facts.counts;
    match action {
        Action::Create => counts.add += 1,
        Action::Update => counts.change += 1,
        Action::Delete => counts.destroy += 1,
        Action::Replace => {
            counts.add += 1;
            counts.destroy += 1;
        }
        Action::NoOp | Action::Read => {}
    }
    if let Some(importing) = &resource.change.importing {
        counts.import += 1;
        let id = importing
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or(&resource.address);
        facts.upgrade.imported.push(id.to_owned());
    }
    counts.moved += usize::from(
        resource
            .previous_address
            .as_ref()
            .is_some_and(|previous| *previous != resource.address),
    );
}

/// The prefixes a bucket notification adds and removes.
fn add_trigger_changes(triggers: &mut TriggerChange, notification: &ResourceChange) {
    let before = prefixes(notification.before());
    let after = prefixes(notification.after());
    triggers
        .added
        .extend(after.difference(&before).map(|(p, _)| p.clone()));
    triggers
        .removed
        .extend(before.difference(&after).map(|(p, _)| p.clone()));
}

/// The previews created and deleted, by PR number, in the deployments' order.
fn preview_changes(deployments: &[DeploymentChange]) -> PreviewChange {
    let mut previews = PreviewChange::default();
    for deployment in deployments {
        match (deployment.pr(), deployment.action) {
            (Some(pr), Action::Create) => previews.added.push(pr),
            (Some(pr), Action::Delete) => previews.removed.push(pr),
            _ => {}
        }
    }
    previews
}

/// The package objects uploaded and removed, each with the deployments that run it after
/// (an upload) or ran it before (a removal: superseded by their version change).
fn package_changes(
    resources: &[&ResourceChange],
    deployments: &[DeploymentChange],
) -> Vec<PackageChange> {
    let key_of = |d: &DeploymentChange, after: bool| -> Option<String> {
        let resource = resources.iter().find(|r| r.address == d.address)?;
        let value = if after {
            resource.after()
        } else {
            resource.before()
        };
        text_at(value, &["s3_key"])
    };
    resources
        .iter()
        .filter(|r| r.kind == "aws_s3_object" && r.action().changes())
        .map(|r| {
            let action = r.action();
            let sha256 = match &r.index {
                Some(Value::String(hex)) => hex.clone(),
                _ => r.address.clone(),
            };
            let object_key = text_at(r.after().or(r.before()), &["key"]);
            let after = action != Action::Delete;
            let users = deployments
                .iter()
                .filter(|d| {
                    let key = key_of(d, after);
                    key.is_some() && key == object_key
                })
                .map(|d| d.deployment.clone())
                .collect();
            PackageChange {
                sha256,
                action,
                deployments: users,
            }
        })
        .collect()
}
