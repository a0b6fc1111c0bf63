//! Stage 3 — resolve: the checked configs → the desired state per service, checked across
//! files. Substitutes `{version}` and `{pr}`, applies defaults and each environment's
//! overrides ([`overrides`], [`rollout`]), picks commit SHAs, resolves each deployment's package
//! ([`package`]), then runs the rules no single file can break ([`cross`]: unique function
//! names, disjoint trigger prefixes, one service per bucket). It reads validate's output
//! and its single-value rules; validate never reads this stage.

mod cross;
mod overrides;
mod package;
mod rollout;

use std::path::Path;

use crate::desired::Environment;
use crate::desired::{
    Deployment, DeploymentKey, DesiredService, FunctionSettings, PackageRef, Repo, Rollout,
    DEFAULT_KEEP_VERSIONS,
};
use crate::problem::Problem;
use crate::validate::files::{CheckedEnv, CheckedPreview, CheckedService};
use crate::validate::{rules, Checked};

const DEFAULT_PREVIEW_PREFIX: &str = "preview/pr-{pr}/";

pub struct Roots<'a> {
    /// `path` sources are relative to the gitops dir…
    pub gitops_dir: &'a Path,
    /// …and must resolve inside this canonical directory.
    pub package_root: &'a Path,
}

pub fn resolve(checked: &Checked, roots: &Roots<'_>, problems: &mut Vec<Problem>) -> Repo {
    let services = checked
        .services
        .iter()
        .map(|(name, service)| resolve_service(checked, name, service, roots, problems))
        .collect();
    let repo = Repo { services };
    cross::check(&repo, checked, problems);
    repo
}

/// What one service's checked files resolve to.
struct Context<'a> {
    name: &'a str,
    service: &'a CheckedService,
    defaults: FunctionSettings,
    /// The service's rollout, before any environment's keys.
    rollout: Rollout,
    keep_versions: u32,
    roots: &'a Roots<'a>,
}

fn resolve_service(
    checked: &Checked,
    name: &str,
    service: &CheckedService,
    roots: &Roots<'_>,
    problems: &mut Vec<Problem>,
) -> DesiredService {
    let lambda = &service.config.lambda;
    let context = Context {
        name,
        service,
        defaults: overrides::service(lambda),
        rollout: rollout::merged(&Rollout::default(), lambda.rollout.as_ref()),
        keep_versions: lambda.keep_versions.unwrap_or(DEFAULT_KEEP_VERSIONS),
        roots,
    };
    let mut desired = DesiredService {
        name: name.to_owned(),
        file: service.source.path.clone(),
        defaults: context.defaults.clone(),
        role_arn: lambda.role_arn.clone(),
        trigger_bucket: lambda.trigger_bucket.clone(),
        package_bucket: lambda.package_bucket.clone(),
        staging: None,
        production: None,
        previews: Vec::new(),
    };
    for env in checked
        .environments
        .iter()
        .filter(|env| env.config.service_name == name)
    {
        let deployment = environment_deployment(&context, env, problems);
        match env.env {
            Environment::Staging => desired.staging = deployment,
            Environment::Production => desired.production = deployment,
        }
    }
    desired.previews = previews(checked, &context, problems);
    desired
}

fn environment_deployment(
    context: &Context<'_>,
    env: &CheckedEnv,
    problems: &mut Vec<Problem>,
) -> Option<Deployment> {
    let config = &env.config.lambda;
    let key = match env.env {
        Environment::Staging => DeploymentKey::Staging,
        Environment::Production => DeploymentKey::Production,
    };
    let settings =
        overrides::overridden(&context.defaults, &config.overrides(), &config.environment);
    let origins = overrides::Origins {
        service: &context.service.source,
        overrides: Some((&env.source, &["lambda"])),
        what: key.to_string(),
    };
    overrides::check(&settings, &origins, problems);
    let rollout = rollout::merged(&context.rollout, config.rollout.as_ref());
    rollout::check(&rollout, &settings, &origins, problems);
    let package = package::resolve(
        context.service,
        &config.version,
        &env.source,
        context.roots,
        problems,
    )?;
    Some(Deployment {
        key,
        file: env.source.path.clone(),
        version: config.version.clone(),
        commit_sha: env
            .config
            .git_version
            .as_ref()
            .map(|git| git.sha.clone())
            .unwrap_or_default(),
        function_name: config.function_name.clone(),
        trigger_prefix: config.s3_trigger_prefix.clone(),
        package,
        settings,
        keep_versions: context.keep_versions,
        rollout,
    })
}

/// The service's previews in PR order; none when they cannot be named.
fn previews(
    checked: &Checked,
    context: &Context<'_>,
    problems: &mut Vec<Problem>,
) -> Vec<Deployment> {
    let mut previews: Vec<_> = checked
        .previews
        .iter()
        .filter(|p| p.config.service_name == context.name)
        .collect();
    previews.sort_by_key(|preview| preview.pr);
    let Some(template) = preview_name_template(checked, context, &previews, problems) else {
        return Vec::new();
    };
    let preview = &context.service.config.lambda.preview;
    let settings = overrides::overridden(
        &overrides::preview_base(&context.defaults),
        &preview.overrides(),
        &preview.environment,
    );
    let origins = overrides::Origins {
        service: &context.service.source,
        overrides: Some((&context.service.source, &["lambda", "preview"])),
        what: "previews".to_owned(),
    };
    overrides::check(&settings, &origins, problems);
    previews
        .into_iter()
        .filter_map(|p| preview_deployment(context, p, &template, &settings, problems))
        .collect()
}

/// `lambda.preview.functionName`, else the production function's name with `-pr-{pr}`.
/// `None` when there are no previews to name, when the production config is there but
/// invalid (its own problem says so), or when there is nothing to name them after (one
/// problem for the service).
fn preview_name_template(
    checked: &Checked,
    context: &Context<'_>,
    previews: &[&CheckedPreview],
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let (name, service) = (context.name, context.service);
    if previews.is_empty() {
        return None;
    }
    if let Some(template) = &service.config.lambda.preview.function_name {
        return Some(template.clone());
    }
    let production = checked
        .environments
        .iter()
        .find(|env| env.env == Environment::Production && env.config.service_name == name);
    if let Some(production) = production {
        return Some(format!(
            "{}-pr-{{pr}}",
            production.config.lambda.function_name
        ));
    }
    if checked
        .env_files
        .contains(&(name.to_owned(), Environment::Production))
    {
        return None;
    }
    let prs: Vec<String> = previews.iter().map(|p| format!("pr-{}", p.pr)).collect();
    problems.push(
        service
            .source
            .at(
                &["lambda"],
                format!(
                    "`{name}` has previews ({}) but neither `lambda.preview.functionName` nor a production config (`environments/production/{name}/config.yaml`) to name them after",
                    crate::problem::backticked(&prs)
                ),
            )
            .with_hint("set `lambda.preview.functionName`, e.g. `my-function-pr-{pr}`"),
    );
    None
}

fn preview_deployment(
    context: &Context<'_>,
    preview: &CheckedPreview,
    template: &str,
    settings: &FunctionSettings,
    problems: &mut Vec<Problem>,
) -> Option<Deployment> {
    let service = context.service;
    let lambda = &service.config.lambda;
    let pr = preview.pr.to_string();
    let function_name = template.replace("{pr}", &pr);
    if let Err(message) = rules::function_name(&function_name) {
        problems.push(service.source.at(
            &["lambda", "preview", "functionName"],
            format!("for pr-{pr}: {message}"),
        ));
        return None;
    }
    let values = &preview.config.lambda;
    let package = match &values.s3_key {
        Some(key) => PackageRef::S3 {
            bucket: lambda.package_bucket.clone(),
            key: key.clone(),
        },
        None => package::resolve(
            service,
            &values.version,
            &preview.source,
            context.roots,
            problems,
        )?,
    };
    let commit_sha = values
        .commit_sha
        .clone()
        .or_else(|| {
            preview
                .config
                .git_version
                .as_ref()
                .map(|git| git.sha.clone())
        })
        .unwrap_or_default();
    Some(Deployment {
        key: DeploymentKey::Preview(preview.pr),
        file: preview.source.path.clone(),
        version: values.version.clone(),
        commit_sha,
        function_name,
        trigger_prefix: lambda
            .preview
            .s3_trigger_prefix
            .as_deref()
            .unwrap_or(DEFAULT_PREVIEW_PREFIX)
            .replace("{pr}", &pr),
        package,
        settings: settings.clone(),
        keep_versions: context.keep_versions,
        // Previews always deploy all at once.
        rollout: Rollout::default(),
    })
}
