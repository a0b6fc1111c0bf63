//! The proof of the artifact, read through the Lambda API: what staging's alias `live`
//! runs (the published version, its CodeSha256 and since when), compared with the package
//! production gets. In: a service's [`TfVars`] (the functions and the base64 SHA-256 of each
//! deployment's package) and its plan's [`PlanFacts`]. Out: an [`ArtifactProof`] on
//! production's change — asked of Lambda only when production's package changes, bounded
//! in time, and never failing the plan: what could not be read is "not checked: why".
//! `promote --require-deployed` reads the source's function through [`read`] too.

use std::time::Duration;

use crate::aws::status::{self, Running, StatusError};
use crate::desired::DeploymentKey;
use crate::process::interrupts::Interrupts;
use crate::render::TfVars;
use crate::report::{ArtifactProof, PlanFacts, StagingPackage};
use crate::settings::Settings;

/// How long reading one function may take (three Lambda calls and their retries).
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// What staging runs, or why it could not be read (a sentence for the report).
pub type StagingRead = Result<Running, String>;

/// What `function` runs now ([`status::running`]), within [`READ_TIMEOUT`].
pub async fn read(client: &aws_sdk_lambda::Client, function: &str) -> Result<Running, StatusError> {
    tokio::time::timeout(READ_TIMEOUT, status::running(client, function))
        .await
        .unwrap_or_else(|_| {
            Err(StatusError::Unreachable {
                function: function.to_owned(),
            })
        })
}

/// `code_sha256` (the package production gets) compared with what staging's `live` runs.
pub fn proof(code_sha256: &str, staging: &StagingRead) -> ArtifactProof {
    match staging {
        Ok(running) if running.qualifier != status::LIVE_ALIAS => ArtifactProof::not_checked(
            code_sha256,
            format!(
                "staging's function `{}` has no alias `{}`",
                running.function_name,
                status::LIVE_ALIAS
            ),
        ),
        Ok(running) => ArtifactProof::compare(
            code_sha256,
            StagingPackage {
                function_name: running.function_name.clone(),
                function_version: running.function_version.clone(),
                code_sha256: running.code_sha256.clone(),
                since: running.since.clone(),
            },
        ),
        Err(why) => ArtifactProof::not_checked(code_sha256, why.clone()),
    }
}

/// What staging's function runs, read before terraform when the plan may be applied while
/// it is read (`apply --auto-approve`): afterwards staging could already run this very
/// run's package. `None` otherwise, or when the service has no production deployment.
pub async fn read_before_apply(
    settings: &Settings,
    vars: &TfVars,
    applies_early: bool,
    interrupts: &Interrupts,
) -> Option<StagingRead> {
    if !applies_early || !vars.deployments.contains_key(&DeploymentKey::Production) {
        return None;
    }
    Some(read_staging(settings, vars, interrupts).await)
}

/// Puts the proof on production's change when its package changes (staging read now,
/// unless `early` holds what it ran before terraform); nothing is read otherwise.
pub async fn attach(
    facts: &mut PlanFacts,
    settings: &Settings,
    vars: &TfVars,
    early: Option<StagingRead>,
    interrupts: &Interrupts,
) {
    if facts.needs_artifact_proof().is_none() {
        return;
    }
    let Some(production) = vars.deployments.get(&DeploymentKey::Production) else {
        return;
    };
    let staging = match early {
        Some(read) => read,
        None => read_staging(settings, vars, interrupts).await,
    };
    let proof = proof(&production.package.source_code_hash, &staging);
    tracing::info!(
        "{}: production's package: {}",
        facts.service,
        crate::report::text::artifact_line(&proof, &|s| format!("`{s}`"))
    );
    facts.attach_artifact_proof(proof);
}

/// What the service's staging function runs, or why that could not be read.
async fn read_staging(settings: &Settings, vars: &TfVars, interrupts: &Interrupts) -> StagingRead {
    let Some(staging) = vars.deployments.get(&DeploymentKey::Staging) else {
        return Err("the service has no staging deployment".into());
    };
    let function = &staging.function_name;
    let client = crate::aws::lambda_client(&settings.aws_region).await;
    match interrupts.guard(read(&client, function)).await {
        // The checkout names staging's function: only the service's own staging function,
        // as its tags say, proves anything.
        Ok(Ok(running)) if running.owner.0.as_deref() != Some(&vars.service_name) => Err(format!(
            "`{function}` is not this service's function (its `service` tag is {})",
            running.owner.0.as_deref().unwrap_or("missing")
        )),
        Ok(Ok(running)) if running.owner.1.as_deref() != Some("staging") => Err(format!(
            "`{function}` is not staging's function (its `environment` tag is {})",
            running.owner.1.as_deref().unwrap_or("missing")
        )),
        Ok(Ok(running)) => Ok(running),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("reading `{function}` was interrupted")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(qualifier: &str, sha: &str) -> Running {
        Running {
            function_name: "svc-staging".into(),
            qualifier: qualifier.into(),
            function_version: "4".into(),
            version_tag: Some("1.1.0".into()),
            code_sha256: sha.into(),
            since: Some("2026-12-01T14:02:33Z".into()),
            owner: (Some("svc".into()), Some("staging".into())),
        }
    }

    #[test]
    fn production_gets_the_bytes_staging_runs_behind_live() {
        let proof = proof("abc=", &Ok(running(status::LIVE_ALIAS, "abc=")));
        assert_eq!(proof.same_as_staging, Some(true));
        let staging = proof.staging.expect("staging read");
        assert_eq!(staging.function_version, "4");
        assert_eq!(staging.since.as_deref(), Some("2026-12-01T14:02:33Z"));
    }

    #[test]
    fn production_gets_bytes_staging_does_not_run() {
        let proof = proof("new=", &Ok(running(status::LIVE_ALIAS, "old=")));
        assert_eq!(proof.same_as_staging, Some(false));
        assert_eq!(proof.code_sha256, "new=");
        assert_eq!(proof.staging.unwrap().code_sha256, "old=");
    }

    #[test]
    fn staging_without_live_or_unreadable_is_not_checked_and_says_why() {
        let proof = super::proof("abc=", &Ok(running("$LATEST", "abc=")));
        assert_eq!(proof.same_as_staging, None);
        assert_eq!(
            proof.not_checked.as_deref(),
            Some("staging's function `svc-staging` has no alias `live`")
        );
        let error = StatusError::NoFunction {
            function: "svc-staging".into(),
        };
        let proof = super::proof("abc=", &Err(error.to_string()));
        assert_eq!(proof.same_as_staging, None);
        assert_eq!(
            proof.not_checked.as_deref(),
            Some("the function `svc-staging` does not exist")
        );
    }
}
