//! One deployment's change, the types a report shows per row: [`DeploymentChange`] with
//! what its function runs with ([`PlannedSettings`]), whether its code changes
//! ([`CodeChange`]), its settings ([`SettingChange`]) and environment keys
//! ([`KeyChanges`]) before → after. Also the order deployments are listed in.

use serde::Serialize;

use super::Action;
use crate::desired::DeploymentKey;

/// What a function runs with, as the plan has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedSettings {
    pub runtime: Option<String>,
    pub handler: Option<String>,
    /// `None` when only known after apply (a role the module creates).
    pub role: Option<String>,
    pub memory_size: Option<u64>,
    pub timeout: Option<u64>,
    /// The environment variables' names; their values never reach a report.
    pub environment_keys: Vec<String>,
}

/// Whether the code a deployment runs changes: the package's SHA-256 (`source_code_hash`,
/// Lambda's CodeSha256).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CodeChange {
    /// A new function: its package is new to it.
    New,
    /// Other bytes: a new package.
    Changed,
    /// The same bytes: only metadata (version tag, settings) changes.
    Same,
    /// The function goes.
    Removed,
    /// The plan does not say (no package hash on either side: another module).
    Unknown,
}

/// One setting of a deployment that changes, as text for display (environment values are
/// never among them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingChange {
    pub name: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The environment variables' names that change; values are compared, never shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl KeyChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// One deployment's change: its function and what belongs to it (alias, permission, log
/// group, provisioned concurrency, its trigger).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentChange {
    /// `staging`, `production` or `pr-<N>` (the function's `environment` tag, else its
    /// address).
    pub deployment: String,
    pub function_name: String,
    /// The function's action; `update` when only what belongs to it changes.
    pub action: Action,
    pub version_before: Option<String>,
    pub version_after: Option<String>,
    pub code: CodeChange,
    /// After the change (for a new function, everything it runs with); `None` when deleted.
    pub settings: Option<PlannedSettings>,
    /// Before → after of each setting that changes (an update or replace).
    pub changes: Vec<SettingChange>,
    pub environment_keys: KeyChanges,
    pub trigger_before: Option<String>,
    pub trigger_after: Option<String>,
    /// Why terraform replaces it, in Lambda terms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replace_reasons: Vec<String>,
    /// What else happens to it, in Lambda terms (the permission moving to the alias, a log
    /// group adopted, the alias re-pointed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// For production's new package: whether it is what staging runs now (read through
    /// the Lambda API after the plan), or why that was not checked. `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<super::ArtifactProof>,
    /// How the new version reaches `live` when the strategy is gradual; `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<super::RolloutNote>,
    pub address: String,
}

impl DeploymentChange {
    pub fn pr(&self) -> Option<u64> {
        self.key().and_then(DeploymentKey::pr)
    }

    /// Its deployment key, unless another module's function names none.
    pub fn key(&self) -> Option<DeploymentKey> {
        DeploymentKey::parse(&self.deployment)
    }

    /// Staging or production (not a preview, nor another module's function).
    pub fn environment(&self) -> Option<crate::desired::Environment> {
        self.key().and_then(DeploymentKey::environment)
    }

    /// The keys' order (staging, production, previews by PR number), then anything else
    /// by name.
    pub(super) fn key_order(&self) -> (bool, Option<DeploymentKey>, String) {
        match self.key() {
            Some(key) => (false, Some(key), String::new()),
            None => (true, None, self.deployment.clone()),
        }
    }
}
