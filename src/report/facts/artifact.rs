//! The proof of the artifact: whether the package an environment promoted into
//! (production) is about to get is byte for byte the one staging runs now. In: the package's
//! base64 SHA-256 and what staging's `live` alias runs, read through the Lambda API by the
//! run level — or why it could not be read. Out: an [`ArtifactProof`] on production's
//! [`DeploymentChange`], and a [`Warning`] when staging does not run that package.

use serde::Serialize;

use super::{CodeChange, DeploymentChange, PlanFacts, Warning};
use crate::desired::Environment;

/// What staging's alias `live` runs, as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StagingPackage {
    #[serde(rename = "stagingFunction")]
    pub function_name: String,
    /// The published version `live` points at.
    #[serde(rename = "stagingVersion")]
    pub function_version: String,
    /// Base64 SHA-256 of its code (Lambda's `CodeSha256`).
    #[serde(rename = "stagingCodeSha256")]
    pub code_sha256: String,
    /// When that version was published, RFC 3339 in UTC.
    #[serde(rename = "stagingSince")]
    pub since: Option<String>,
}

/// Whether a deployment's new package is what staging runs now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactProof {
    /// `true`: the same bytes staging's `live` runs; `false`: other bytes; `null`: not
    /// checked (see `notChecked`).
    pub same_as_staging: Option<bool>,
    /// Base64 SHA-256 of the package the deployment gets.
    pub code_sha256: String,
    #[serde(flatten)]
    pub staging: Option<StagingPackage>,
    /// Why staging's package could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_checked: Option<String>,
}

impl ArtifactProof {
    /// `code_sha256` (the package the deployment gets) compared with what staging runs.
    pub fn compare(code_sha256: &str, staging: StagingPackage) -> Self {
        Self {
            same_as_staging: Some(staging.code_sha256 == code_sha256),
            code_sha256: code_sha256.to_owned(),
            staging: Some(staging),
            not_checked: None,
        }
    }

    /// Staging's package could not be read: `reason` says why.
    pub fn not_checked(code_sha256: &str, reason: impl Into<String>) -> Self {
        Self {
            same_as_staging: None,
            code_sha256: code_sha256.to_owned(),
            staging: None,
            not_checked: Some(reason.into()),
        }
    }
}

/// The environment promoted into, whose new packages are proven against staging.
pub const PROMOTED_INTO: Environment = Environment::Production;

impl PlanFacts {
    /// The deployment of the environment promoted into whose package changes (a new
    /// function or other bytes): the one that needs a proof. `None` when none does.
    pub fn needs_artifact_proof(&self) -> Option<&DeploymentChange> {
        self.deployments.iter().find(|d| gets_a_new_package(d))
    }

    /// Puts `proof` on the deployment that needs it; a package staging does not run also
    /// becomes a warning.
    pub fn attach_artifact_proof(&mut self, proof: ArtifactProof) {
        let Some(deployment) = self.deployments.iter_mut().find(|d| gets_a_new_package(d)) else {
            return;
        };
        if let (Some(false), Some(staging)) = (proof.same_as_staging, &proof.staging) {
            self.warnings.push(Warning::not_on_staging(
                PROMOTED_INTO,
                &deployment.function_name,
                &staging.code_sha256,
            ));
        }
        deployment.artifact = Some(proof);
    }
}

/// A deployment of the environment promoted into that gets a package: a new function, or
/// other bytes.
fn gets_a_new_package(d: &DeploymentChange) -> bool {
    d.environment() == Some(PROMOTED_INTO)
        && d.action.changes()
        && matches!(d.code, CodeChange::Changed | CodeChange::New)
}
