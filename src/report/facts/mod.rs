//! `terraform show -json plan.tfplan` → [`PlanFacts`]: what a plan means in Lambda terms,
//! per deployment (`staging`, `production`, `pr-<N>`): the function, its version before →
//! after, whether the package bytes change (`source_code_hash`) or only metadata, which
//! settings and environment *keys* change (values never), trigger prefixes, previews added
//! and removed, a replace with why (terraform's `replace_paths`), package objects uploaded
//! or superseded, the upgrade's moves and imports, and drift (`resource_drift`): what was
//! changed outside the gitops repo and whether this plan reverts it. Built once per plan;
//! every report format reads it, none re-parses plans.
//!
//! Read from the plan's JSON, never from terraform's human output: a replace is
//! `["delete","create"]` or `["create","delete"]`. Both module versions' addresses are read
//! (`this["pr-7"]` and the first module's `environment["staging"]`, `preview["7"]`), so an
//! upgrade plan reads right. It also names every change to a resource of another service
//! (`foreign`), which the runner refuses.
//!
//! Inside: `../plan_json.rs` reads the JSON; `build.rs` makes the facts of it, with
//! `function.rs` (a function → its deployment's change), `settings.rs` (a function's
//! settings as text), `attach.rs` (everything else → its deployment or `other`) and
//! `warning.rs`; `artifact.rs` puts the proof of the artifact (read by the run level)
//! on production's change; `deployment.rs` (and `../action.rs`) hold the per-deployment types.

mod artifact;
mod attach;
mod build;
mod deployment;
mod from_apply;
mod function;
mod planned_settings;
mod rollout;
mod warning;

use serde::Serialize;

pub use super::action::Action;
pub use super::drift::Drift;
pub use super::guard::ForeignChange;
use super::plan_json::PlanJson;
pub use super::plan_json::{log_groups_to_create, tainted, to_create};
pub use artifact::{ArtifactProof, StagingPackage, PROMOTED_INTO};
pub use deployment::{CodeChange, DeploymentChange, KeyChanges, PlannedSettings, SettingChange};
pub use rollout::{RolloutNote, RolloutPhase};
pub use warning::Warning;

/// A package object in the bucket (content-addressed: its key is its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageChange {
    /// Hex SHA-256 of the package.
    pub sha256: String,
    /// `create` (uploaded), `delete` (superseded), or another action.
    pub action: Action,
    /// The deployments that run it after (an upload) or ran it before (a removal).
    pub deployments: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TriggerChange {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// Previews by PR number.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PreviewChange {
    pub added: Vec<u64>,
    pub removed: Vec<u64>,
}

/// What an upgrade from the first module version does, besides the deployments' changes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Upgrade {
    /// Resources that only move to the new module's addresses (`moved` blocks).
    pub moved: usize,
    /// Existing objects adopted into the state (`import` blocks), e.g. log groups.
    pub imported: Vec<String>,
}

/// Other resources of the service that change (the role, its policies, the bucket
/// notification as a whole), with why when replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherChange {
    pub address: String,
    pub action: Action,
    /// What the resource is, in the service's terms.
    pub meaning: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// What the version clean-up after an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VersionCleanup {
    /// Published versions deleted, across the service's functions.
    pub deleted: usize,
    /// Why it stopped early; the apply itself succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Terraform's resource counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// Existing objects the plan adopts into the state (`import` blocks).
    pub import: usize,
    /// Resources that only move to a new address (`moved` blocks).
    pub moved: usize,
}

impl Counts {
    /// Resource actions an apply performs (a replace is two).
    pub fn actions(&self) -> usize {
        self.add + self.change + self.destroy
    }
}

/// One service's plan in Lambda terms.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanFacts {
    /// The JSON report names the service beside its facts.
    #[serde(skip)]
    pub service: String,
    pub has_changes: bool,
    pub counts: Counts,
    /// Staging, production, then previews by PR number; every deployment the plan touches
    /// or keeps.
    pub deployments: Vec<DeploymentChange>,
    pub previews: PreviewChange,
    pub triggers: TriggerChange,
    pub packages: Vec<PackageChange>,
    pub upgrade: Upgrade,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<OtherChange>,
    pub drift: Vec<Drift>,
    /// Deletes and replaces of staging or production functions.
    pub warnings: Vec<Warning>,
    /// Changes to other services' resources: a plan with any is refused.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<ForeignChange>,
    /// After an apply: the old versions deleted. `None` for a plan.
    pub version_cleanup: Option<VersionCleanup>,
    /// No terraform ran: the inputs are those of the last apply and every function runs
    /// what is declared (`run/noop.rs`). Only present when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub checked_without_terraform: bool,
}

impl PlanFacts {
    /// A plan with no changes, for a runner that knows so without `show -json`.
    pub fn unchanged(service: &str) -> Self {
        Self {
            service: service.to_owned(),
            has_changes: false,
            counts: Counts::default(),
            deployments: Vec::new(),
            previews: PreviewChange::default(),
            triggers: TriggerChange::default(),
            packages: Vec::new(),
            upgrade: Upgrade::default(),
            other: Vec::new(),
            drift: Vec::new(),
            warnings: Vec::new(),
            foreign: Vec::new(),
            version_cleanup: None,
            checked_without_terraform: false,
        }
    }

    /// A service with nothing changed since its last apply, checked without terraform:
    /// every deployment as declared.
    pub fn checked_against_last_apply(service: &str, vars: &crate::render::TfVars) -> Self {
        Self {
            checked_without_terraform: true,
            ..Self::as_declared(service, vars)
        }
    }

    /// The facts of a plan without changes, from the variables: every deployment's function
    /// as declared. Stands in for reading `show -json` of a plan terraform said
    /// (`-detailed-exitcode` 0) changes nothing, and for an apply skipped as a no-op.
    pub fn as_declared(service: &str, vars: &crate::render::TfVars) -> Self {
        let mut facts = Self::unchanged(service);
        facts.deployments = vars
            .deployments
            .iter()
            .map(|(key, deployment)| DeploymentChange {
                deployment: key.to_string(),
                function_name: deployment.function_name.clone(),
                action: Action::NoOp,
                version_before: Some(deployment.version.clone()),
                version_after: Some(deployment.version.clone()),
                code: CodeChange::Same,
                settings: Some(PlannedSettings {
                    runtime: Some(deployment.settings.runtime.clone()),
                    handler: Some(deployment.settings.handler.clone()),
                    role: Some(vars.role_arn.clone()).filter(|role| !role.is_empty()),
                    memory_size: Some(deployment.settings.memory_size.into()),
                    timeout: Some(deployment.settings.timeout.into()),
                    environment_keys: deployment.settings.environment.keys().cloned().collect(),
                }),
                changes: Vec::new(),
                environment_keys: KeyChanges::default(),
                trigger_before: Some(deployment.trigger_prefix.clone()),
                trigger_after: Some(deployment.trigger_prefix.clone()),
                replace_reasons: Vec::new(),
                notes: Vec::new(),
                artifact: None,
                rollout: None,
                address: format!("aws_lambda_function.this[\"{key}\"]"),
            })
            .collect();
        facts.deployments.sort_by_key(DeploymentChange::key_order);
        facts
    }

    /// Reads a plan's JSON; any bytes give facts or an error.
    pub fn from_plan_json(service: &str, plan_json: &[u8]) -> Result<Self, serde_json::Error> {
        let plan: PlanJson = serde_json::from_slice(plan_json)?;
        Ok(build::build(service, &plan))
    }

    /// The deployments the plan changes (not the unchanged ones).
    pub fn changed(&self) -> impl Iterator<Item = &DeploymentChange> {
        self.deployments.iter().filter(|d| d.action.changes())
    }
}
