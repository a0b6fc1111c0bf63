//! Stage 3 — resolve: the checked configs → the desired state per service, checked across
//! files. Substitutes `{version}` and `{pr}`, applies defaults, picks commit SHAs, resolves
//! each deployment's package ([`package`]), then runs the rules no single file can break
//! ([`cross`]: unique function names, disjoint trigger prefixes, one service per bucket).

mod cross;
mod package;

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::EnvValue;
use crate::desired::{
    Deployment, DeploymentKey, DesiredService, PackageRef, Repo, DEFAULT_MEMORY_MIB,
    DEFAULT_TIMEOUT_SECONDS,
};
use crate::problem::Problem;
use crate::scan::EnvName;
use crate::validate::files::{CheckedPreview, CheckedService};
use crate::validate::{rules, Checked};

const DEFAULT_PREVIEW_PREFIX: &str = "preview/pr-{pr}/";

pub struct Roots<'a> {
    /// `path` sources are relative to the gitops dir…
    pub gitops_dir: &'a Path,
    /// …and must resolve inside this canonical directory.
    pub package_root: &'a Path,
}

pub fn resolve(checked: &Checked, roots: &Roots<'_>, problems: &mut Vec<Problem>) -> Repo {
    let mut services = Vec::new();
    for (name, service) in &checked.services {
        let lambda = &service.config.lambda;
        let mut desired = DesiredService {
            name: name.clone(),
            file: service.source.path.clone(),
            runtime: lambda.runtime.clone(),
            handler: lambda.handler.clone(),
            memory_size: lambda.memory_size.unwrap_or(DEFAULT_MEMORY_MIB),
            timeout: lambda.timeout.unwrap_or(DEFAULT_TIMEOUT_SECONDS),
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
            .filter(|env| &env.config.service_name == name)
        {
            let config = &env.config.lambda;
            let Some(package) =
                package::resolve(service, &config.version, &env.source, roots, problems)
            else {
                continue;
            };
            let deployment = Deployment {
                key: match env.env {
                    EnvName::Staging => DeploymentKey::Staging,
                    EnvName::Production => DeploymentKey::Production,
                },
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
                environment: env_strings(&config.environment),
                package,
            };
            match env.env {
                EnvName::Staging => desired.staging = Some(deployment),
                EnvName::Production => desired.production = Some(deployment),
            }
        }

        let mut previews: Vec<_> = checked
            .previews
            .iter()
            .filter(|p| &p.config.service_name == name)
            .collect();
        previews.sort_by_key(|preview| preview.pr);
        if let Some(template) = preview_name_template(checked, name, service, &previews, problems) {
            for preview in previews {
                if let Some(deployment) =
                    preview_deployment(service, preview, &template, roots, problems)
                {
                    desired.previews.push(deployment);
                }
            }
        }
        services.push(desired);
    }
    let repo = Repo { services };
    cross::check(&repo, checked, problems);
    repo
}

/// `lambda.preview.functionName`, else the production function's name with `-pr-{pr}`.
/// `None` when there are no previews to name, when the production config is there but
/// invalid (its own problem says so), or when there is nothing to name them after (one
/// problem for the service).
fn preview_name_template(
    checked: &Checked,
    name: &str,
    service: &CheckedService,
    previews: &[&CheckedPreview],
    problems: &mut Vec<Problem>,
) -> Option<String> {
    if previews.is_empty() {
        return None;
    }
    if let Some(template) = &service.config.lambda.preview.function_name {
        return Some(template.clone());
    }
    let production = checked
        .environments
        .iter()
        .find(|env| env.env == EnvName::Production && env.config.service_name == name);
    if let Some(production) = production {
        return Some(format!(
            "{}-pr-{{pr}}",
            production.config.lambda.function_name
        ));
    }
    if checked
        .env_files
        .contains(&(name.to_owned(), EnvName::Production))
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
                    crate::error::backticked(&prs)
                ),
            )
            .with_hint("set `lambda.preview.functionName`, e.g. `my-function-pr-{pr}`"),
    );
    None
}

fn preview_deployment(
    service: &CheckedService,
    preview: &CheckedPreview,
    template: &str,
    roots: &Roots<'_>,
    problems: &mut Vec<Problem>,
) -> Option<Deployment> {
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
        None => package::resolve(service, &values.version, &preview.source, roots, problems)?,
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
        environment: env_strings(&lambda.preview.environment),
        package,
    })
}

/// Environment variables as Lambda takes them: text, exactly as written.
fn env_strings(environment: &BTreeMap<String, EnvValue>) -> BTreeMap<String, String> {
    environment
        .iter()
        .map(|(key, value)| (key.clone(), value.0.clone()))
        .collect()
}
