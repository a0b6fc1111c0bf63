//! Stage 3 — resolve: checked configs → the desired state per service. Substitutes
//! `{version}` and `{pr}`, applies defaults, picks commit SHAs, and resolves `path`
//! sources, refusing any that land outside the package root.

use std::path::Path;

use crate::config::PackageSource;
use crate::desired::{
    Deployment, DeploymentKey, DesiredService, PackageRef, Repo, DEFAULT_MEMORY_MIB,
    DEFAULT_TIMEOUT_SECONDS,
};
use crate::problem::Problem;
use crate::scan::{EnvName, SourceFile};
use crate::validate::files::{at, env_strings, Checked, CheckedService};

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
            file: service.file.path.clone(),
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
            let Some(package) = package_ref(service, &config.version, &env.file, roots, problems)
            else {
                continue;
            };
            let deployment = Deployment {
                key: match env.env {
                    EnvName::Staging => DeploymentKey::Staging,
                    EnvName::Production => DeploymentKey::Production,
                },
                file: env.file.path.clone(),
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
        for preview in previews {
            let template = match (&lambda.preview.function_name, &desired.production) {
                (Some(template), _) => template.clone(),
                (None, Some(production)) => format!("{}-pr-{{pr}}", production.function_name),
                (None, None) => {
                    problems.push(
                        at(&service.file, &["lambda"], format!(
                            "`{name}` has previews (e.g. `{}`) but no production config to name them after",
                            preview.file.path.display()
                        ))
                        .with_hint("set `lambda.preview.functionName`, e.g. `my-function-pr-{pr}`"),
                    );
                    break;
                }
            };
            let pr = preview.pr.to_string();
            let function_name = template.replace("{pr}", &pr);
            if let Err(message) = crate::validate::rules::function_name(&function_name) {
                problems.push(at(
                    &service.file,
                    &["lambda", "preview", "functionName"],
                    format!("for pr-{pr}: {message}"),
                ));
                continue;
            }
            let values = &preview.config.lambda;
            let package = match &values.s3_key {
                Some(key) => PackageRef::S3 {
                    bucket: lambda.package_bucket.clone(),
                    key: key.clone(),
                },
                None => match package_ref(service, &values.version, &preview.file, roots, problems)
                {
                    Some(package) => package,
                    None => continue,
                },
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
            desired.previews.push(Deployment {
                key: DeploymentKey::Preview(preview.pr),
                file: preview.file.path.clone(),
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
            });
        }
        services.push(desired);
    }
    Repo { services }
}

/// The service's package source with `version` substituted. `declared_in` is the file that
/// chose the version: it is named when a `path` source does not resolve.
fn package_ref(
    service: &CheckedService,
    version: &str,
    declared_in: &SourceFile,
    roots: &Roots<'_>,
    problems: &mut Vec<Problem>,
) -> Option<PackageRef> {
    let substitute = |template: &str| template.replace("{version}", version);
    let PackageSource {
        github_release,
        url,
        path,
    } = &service.config.lambda.package;
    if let Some(release) = github_release {
        return Some(PackageRef::GithubRelease {
            repository: release.repository.clone(),
            tag: substitute(&release.tag),
            asset: substitute(&release.asset),
        });
    }
    if let Some(url) = url {
        return Some(PackageRef::Url {
            url: substitute(url),
        });
    }
    let template = path.as_deref()?;
    let relative = substitute(template);
    let joined = roots.gitops_dir.join(&relative);
    match joined.canonicalize() {
        Ok(canonical) if canonical.starts_with(roots.package_root) && canonical.is_file() => {
            Some(PackageRef::Path { path: canonical })
        }
        Ok(canonical) if !canonical.starts_with(roots.package_root) => {
            problems.push(
                at(&service.file, &["lambda", "package", "path"], format!(
                    "package path `{relative}` resolves to `{}`, outside the package root `{}`",
                    canonical.display(),
                    roots.package_root.display()
                ))
                .with_hint("configs come from pull requests: a path source may only name files inside the repository (see `--package-root`)"),
            );
            None
        }
        Ok(_) => {
            problems.push(at(
                &service.file,
                &["lambda", "package", "path"],
                format!("package path `{relative}` is not a file"),
            ));
            None
        }
        Err(error) => {
            problems.push(
                at(
                    declared_in,
                    &["lambda", "version"],
                    format!(
                        "package `{}` for version `{version}` cannot be read: {error}",
                        joined.display()
                    ),
                )
                .with_hint(format!(
                    "the path comes from `lambda.package.path: {template}` in `{}`",
                    service.file.path.display()
                )),
            );
            None
        }
    }
}
