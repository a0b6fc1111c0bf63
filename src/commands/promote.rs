//! `lambda-gitops promote`: copy the version and commit SHA one environment runs (staging)
//! into another's config (production), as `set-version` would write them. With
//! `--require-deployed`, only what the source environment has actually run is promoted:
//! its function's `version` tag must be that version and the code behind its `live` alias
//! (else `$LATEST`) must hash to the package that version resolves to — the same bytes
//! the target will get.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::desired::Deployment;
use crate::desired::Environment;
use crate::error::Error;
use crate::exit_code;
use crate::gitops::layout;
use crate::gitops::Release;
use crate::problem;
use crate::process::interrupts::Interrupts;
use crate::run::edit::{service_arg, Session};
use crate::settings::PromoteSettings;
use crate::settings::Settings;
use crate::terminal::progress::Progress;

pub async fn run(
    settings: &Settings,
    args: PromoteSettings,
    progress: Arc<dyn Progress>,
    interrupts: Interrupts,
) -> Result<u8, Error> {
    let service = service_arg(&args.service)?;
    let (from, to) = (args.from, args.to);
    if from == to {
        return Err(Error::Argument {
            name: "--to",
            message: format!(
                "`{}` is also `--from`: there is nothing to promote",
                to.as_str()
            ),
        });
    }
    let mut session = Session::open(settings)?;
    let release = source_release(&session, service, from, to)?;
    let target_path = layout::env_config(to, service);
    let edited = session
        .edit(&target_path, |edit| release.write(edit, false))?
        .ok_or_else(|| Error::NoEnvironment {
            service: service.to_owned(),
            env: to.as_str(),
            path: session.gitops.shown(&target_path),
        })?;
    let target_has_git = session
        .document(&target_path)?
        .is_some_and(|(_, doc)| doc.root.get(&["gitVersion"]).is_some());
    if release.sha.is_none() && target_has_git {
        return Err(Error::NoGitVersion {
            service: service.to_owned(),
            from: from.as_str(),
            to: to.as_str(),
        });
    }
    if args.require_deployed {
        let repo = super::load_repo(settings)?;
        let desired = repo
            .services
            .iter()
            .find(|s| s.name == service)
            .expect("validated above");
        let deployment = desired
            .environment(from)
            .expect("its config passed validation");
        require_deployed(settings, service, from, deployment, progress, &interrupts).await?;
    }
    let changes: Vec<_> = edited.change.iter().cloned().collect();
    session.commit(settings, &changes, false)?;
    super::print_lines(&edited.lines())?;
    Ok(exit_code::SUCCESS)
}

/// The version and commit `from` runs, from its validated config. A config that is not
/// there, or not valid, is an error naming the problems of both files the promotion
/// touches (or of a folder on their way).
fn source_release(
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
async fn require_deployed(
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
        .guard(crate::aws::status::running(
            &client,
            &deployment.function_name,
        ))
        .await??;
    let reasons = crate::aws::status::differences(&running, &deployment.version, &expected);
    if !reasons.is_empty() {
        return Err(Error::NotDeployed {
            service: service.to_owned(),
            env: env.as_str(),
            reasons,
        });
    }
    tracing::info!(
        "{service}: {} runs `{}` ({}) with the package's bytes",
        env.as_str(),
        deployment.version,
        running.qualifier
    );
    Ok(())
}
