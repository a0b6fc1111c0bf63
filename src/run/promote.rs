//! What `promote` decides: the release the source environment runs (from its validated
//! config, or the problems of the files the promotion touches), and with
//! `--require-deployed` whether its function already runs that version with the package's
//! bytes — the same bytes the target will get, read as the plan's proof of the artifact
//! reads them ([`super::artifact`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::desired::{Deployment, Environment};
use crate::error::Error;
use crate::gitops::{layout, Release};
use crate::problem;
use crate::process::interrupts::Interrupts;
use crate::run::edit::Session;
use crate::settings::Settings;
use crate::terminal::progress::Progress;

/// The version and commit `from` runs, from its validated config. A config that is not
/// there, or not valid, is an error naming the problems of both files the promotion
/// touches (or of a folder on their way).
pub fn source_release(
    session: &Session,
    service: &str,
    from: Environment,
    to: Environment,
) -> Result<Release, Error> {
    let (checked, problems) = session.validate();
    if !checked.services.contains_key(service) {
        session.lambda_service(service)?;
    }
    let source = checked
        .environments
        .iter()
        .find(|env| env.env == from && env.config.service_name == service);
    let Some(source) = source else {
        let shown = session.gitops.shown(&layout::env_config(from, service));
        let target = session.gitops.shown(&layout::env_config(to, service));
        let own: Vec<_> = problems
            .into_iter()
            .filter(|p| shown.starts_with(&p.file) || target.starts_with(&p.file))
            .collect();
        return Err(if own.is_empty() {
            Error::NoEnvironment {
                service: service.to_owned(),
                env: from.as_str(),
                path: shown,
            }
        } else {
            Error::Invalid {
                problems: problem::sorted(own),
            }
        });
    };
    Ok(Release {
        version: source.config.lambda.version.clone(),
        sha: source
            .config
            .git_version
            .as_ref()
            .map(|git| git.sha.clone()),
    })
}

/// Stages the deployment's package (as `plan` would) and compares it, and the version,
/// with what its function runs.
pub async fn require_deployed(
    settings: &Settings,
    service: &str,
    env: Environment,
    deployment: &Deployment,
    progress: Arc<dyn Progress>,
    interrupts: &Interrupts,
) -> Result<(), Error> {
    if settings.aws_region.is_empty() {
        return Err(Error::NoRegion);
    }
    let packages = BTreeSet::from([deployment.package.clone()]);
    let staged = interrupts
        .guard(crate::stage::Stager::new(settings.staging()).stage_all(packages, progress))
        .await?
        .map_err(|errors| Error::Stage { errors })?;
    let expected = staged[&deployment.package].digest.base64();
    let client = crate::aws::lambda_client(&settings.aws_region).await;
    let running = interrupts
        .guard(super::artifact::read(&client, &deployment.function_name))
        .await??;
    let reasons = crate::aws::status::differences(&running, &deployment.version, &expected);
    if !reasons.is_empty() {
        return Err(Error::NotDeployed {
            service: service.to_owned(),
            env: env.as_str(),
            reasons,
        });
    }
    // From staging through `live`: the plan's proof line, with since when.
    let proof = (env == Environment::Staging
        && running.qualifier == crate::aws::status::LIVE_ALIAS)
        .then(|| super::artifact::proof(&expected, &Ok(running.clone())))
        .map(|proof| {
            let line = crate::report::text::artifact_line(&proof, &|s| format!("`{s}`"));
            format!(": {line}")
        });
    tracing::info!(
        "{service}: {} runs `{}` ({}) with the package's bytes{}",
        env.as_str(),
        deployment.version,
        running.qualifier,
        proof.unwrap_or_default()
    );
    Ok(())
}
