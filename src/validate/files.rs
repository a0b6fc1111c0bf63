//! Each file on its own: parse it strictly and check its values. Files that are not about
//! Lambda (Kubernetes services share the tree) are left alone; files that are, and are
//! wrong, become problems — never skipped.

use std::collections::BTreeMap;

use crate::config::{
    DeploymentTypeProbe, EnvConfig, EnvValue, GitVersion, LambdaKeyProbe, PreviewValues,
    ServiceConfig,
};
use crate::problem::Problem;
use crate::scan::{EnvName, SourceFile, Tree};
use crate::validate::rules;
use crate::validate::yaml::{closest, line_of, parse};

pub struct CheckedService {
    pub file: SourceFile,
    pub config: ServiceConfig,
}

pub struct CheckedEnv {
    pub env: EnvName,
    pub file: SourceFile,
    pub config: EnvConfig,
}

pub struct CheckedPreview {
    pub pr: u64,
    pub file: SourceFile,
    pub config: PreviewValues,
}

#[derive(Default)]
pub struct Checked {
    /// By service name.
    pub services: BTreeMap<String, CheckedService>,
    pub environments: Vec<CheckedEnv>,
    pub previews: Vec<CheckedPreview>,
}

/// Records a rule's failure as a problem at the key `path` of `file`.
fn rule_at<'a>(
    file: &'a SourceFile,
    problems: &'a mut Vec<Problem>,
) -> impl FnMut(Result<(), String>, &[&str]) + 'a {
    move |result, path| {
        if let Err(message) = result {
            problems.push(at(file, path, message));
        }
    }
}

/// A problem at the key `path` of `file`.
pub fn at(file: &SourceFile, path: &[&str], message: impl Into<String>) -> Problem {
    Problem::new(&file.path, line_of(&file.text, path), message)
}

pub fn check(tree: &Tree, problems: &mut Vec<Problem>) -> Checked {
    let mut checked = Checked::default();

    // Service dirs that are Lambda services, even when their config has errors: env and
    // preview files for them are still ours to check.
    let mut lambda_dirs = Vec::new();
    // Services of another deploymentType (Kubernetes): their own files are not ours.
    let mut other_dirs = Vec::new();
    for service in &tree.services {
        let probe = match parse::<DeploymentTypeProbe>(&service.file) {
            Ok(probe) => probe,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        if probe.deployment_type.as_deref() != Some("lambda") {
            other_dirs.push(service.dir.as_str());
            continue;
        }
        lambda_dirs.push(service.dir.clone());
        match parse::<ServiceConfig>(&service.file) {
            Ok(config) => {
                let before = problems.len();
                check_service(&service.file, &service.dir, &config, problems);
                if problems.len() == before {
                    checked.services.insert(
                        service.dir.clone(),
                        CheckedService {
                            file: service.file.clone(),
                            config,
                        },
                    );
                }
            }
            Err(problem) => problems.push(problem),
        }
    }
    let lambda_names: Vec<&str> = lambda_dirs.iter().map(String::as_str).collect();

    for env_file in &tree.environments {
        let is_lambda_service = lambda_names.contains(&env_file.dir.as_str());
        if !is_lambda_service {
            match parse::<LambdaKeyProbe>(&env_file.file) {
                Ok(LambdaKeyProbe { lambda: None }) => continue,
                Ok(_) => {
                    let mut problem = at(
                        &env_file.file,
                        &["lambda"],
                        format!(
                            "declares `lambda` but `services/{}/config.yaml` is not a Lambda service",
                            env_file.dir
                        ),
                    );
                    if let Some(best) = closest(&env_file.dir, &lambda_names) {
                        problem =
                            problem.with_hint(format!("did you mean the directory `{best}`?"));
                    }
                    problems.push(problem);
                    continue;
                }
                // A Kubernetes service's config, however it is written, is ArgoCD's business.
                Err(_) if other_dirs.contains(&env_file.dir.as_str()) => continue,
                // Broken YAML of an unknown service might hide a Lambda config: say so
                // rather than skip it.
                Err(problem) => {
                    problems.push(problem);
                    continue;
                }
            }
        }
        match parse::<EnvConfig>(&env_file.file) {
            Ok(config) => {
                let before = problems.len();
                check_env(
                    &env_file.file,
                    env_file.env,
                    &env_file.dir,
                    &config,
                    problems,
                );
                if problems.len() == before {
                    checked.environments.push(CheckedEnv {
                        env: env_file.env,
                        file: env_file.file.clone(),
                        config,
                    });
                }
            }
            Err(problem) => problems.push(problem),
        }
    }

    for preview in &tree.previews {
        if !lambda_names.contains(&preview.service.as_str()) {
            match parse::<DeploymentTypeProbe>(&preview.file) {
                Ok(probe) if probe.deployment_type.as_deref() == Some("lambda") => {
                    problems.push(at(
                        &preview.file,
                        &["deploymentType"],
                        format!(
                            "a Lambda preview of `{}`, which is not a Lambda service in `services/`",
                            preview.service
                        ),
                    ));
                }
                // Values of a Kubernetes service's preview: not ours.
                _ => {}
            }
            continue;
        }
        let pr = match rules::preview_dir(&preview.dir) {
            Ok(pr) => Some(pr),
            Err(message) => {
                problems.push(Problem::new(&preview.file.path, None, message));
                None
            }
        };
        match parse::<PreviewValues>(&preview.file) {
            Ok(config) => {
                let before = problems.len();
                check_preview(&preview.file, &preview.service, &config, problems);
                if let (Some(pr), true) = (pr, problems.len() == before) {
                    checked.previews.push(CheckedPreview {
                        pr,
                        file: preview.file.clone(),
                        config,
                    });
                }
            }
            Err(problem) => problems.push(problem),
        }
    }
    checked
}

fn check_service(
    file: &SourceFile,
    dir: &str,
    config: &ServiceConfig,
    problems: &mut Vec<Problem>,
) {
    let mut rule = rule_at(file, problems);
    rule(
        name_matches(&config.service_name, dir, "its directory"),
        &["serviceName"],
    );
    let lambda = &config.lambda;
    rule(
        non_empty(&lambda.runtime, "runtime"),
        &["lambda", "runtime"],
    );
    rule(
        non_empty(&lambda.handler, "handler"),
        &["lambda", "handler"],
    );
    if let Some(memory) = lambda.memory_size {
        rule(
            in_range(memory, 128, 10_240, "memorySize (MiB)"),
            &["lambda", "memorySize"],
        );
    }
    if let Some(timeout) = lambda.timeout {
        rule(
            in_range(timeout, 1, 900, "timeout (seconds)"),
            &["lambda", "timeout"],
        );
    }
    if let Some(role) = &lambda.role_arn {
        rule(
            role.starts_with("arn:")
                .then_some(())
                .ok_or_else(|| format!("roleArn `{role}` is not an ARN")),
            &["lambda", "roleArn"],
        );
    }
    rule(
        rules::bucket(&lambda.trigger_bucket),
        &["lambda", "triggerBucket"],
    );
    rule(
        rules::bucket(&lambda.package_bucket),
        &["lambda", "packageBucket"],
    );

    let package = &lambda.package;
    let sources = [
        package.github_release.is_some(),
        package.url.is_some(),
        package.path.is_some(),
    ];
    if sources.iter().filter(|set| **set).count() != 1 {
        rule(
            Err("`package` must have exactly one of `githubRelease`, `url` or `path`".into()),
            &["lambda", "package"],
        );
    }
    if let Some(release) = &package.github_release {
        rule(
            rules::repository(&release.repository),
            &["lambda", "package", "githubRelease", "repository"],
        );
        rule(
            non_empty(&release.tag, "tag"),
            &["lambda", "package", "githubRelease", "tag"],
        );
        rule(
            non_empty(&release.asset, "asset"),
            &["lambda", "package", "githubRelease", "asset"],
        );
    }
    if let Some(url) = &package.url {
        let valid = reqwest::Url::parse(&url.replace("{version}", "0"))
            .is_ok_and(|parsed| matches!(parsed.scheme(), "http" | "https"));
        rule(
            valid
                .then_some(())
                .ok_or_else(|| "`url` must be an http(s) URL".to_owned()),
            &["lambda", "package", "url"],
        );
    }
    if let Some(path) = &package.path {
        rule(non_empty(path, "path"), &["lambda", "package", "path"]);
    }

    let preview = &lambda.preview;
    if let Some(template) = &preview.function_name {
        rule(
            has_placeholder(template, "{pr}", "preview.functionName"),
            &["lambda", "preview", "functionName"],
        );
        rule(
            rules::function_name(&template.replace("{pr}", "1")),
            &["lambda", "preview", "functionName"],
        );
    }
    if let Some(template) = &preview.s3_trigger_prefix {
        rule(
            has_placeholder(template, "{pr}", "preview.s3TriggerPrefix"),
            &["lambda", "preview", "s3TriggerPrefix"],
        );
    }
    for key in preview.environment.keys() {
        rule(
            rules::env_key(key),
            &["lambda", "preview", "environment", key],
        );
    }
}

fn check_env(
    file: &SourceFile,
    env: EnvName,
    dir: &str,
    config: &EnvConfig,
    problems: &mut Vec<Problem>,
) {
    let mut rule = rule_at(file, problems);
    rule(
        name_matches(&config.service_name, dir, "its directory"),
        &["serviceName"],
    );
    rule(
        (config.env_name == env.as_str())
            .then_some(())
            .ok_or_else(|| {
                format!(
                    "envName `{}` does not match its directory `{}`",
                    config.env_name,
                    env.as_str()
                )
            }),
        &["envName"],
    );
    let lambda = &config.lambda;
    rule(rules::version(&lambda.version), &["lambda", "version"]);
    rule(
        rules::function_name(&lambda.function_name),
        &["lambda", "functionName"],
    );
    rule(
        non_empty(&lambda.s3_trigger_prefix, "s3TriggerPrefix"),
        &["lambda", "s3TriggerPrefix"],
    );
    for key in lambda.environment.keys() {
        rule(rules::env_key(key), &["lambda", "environment", key]);
    }
    if let Some(git) = &config.git_version {
        check_git_version(git, &mut rule);
    }
}

fn check_preview(
    file: &SourceFile,
    service: &str,
    config: &PreviewValues,
    problems: &mut Vec<Problem>,
) {
    let mut rule = rule_at(file, problems);
    rule(
        name_matches(&config.service_name, service, "its file name"),
        &["serviceName"],
    );
    if let Some(kind) = &config.deployment_type {
        rule(
            (kind == "lambda").then_some(()).ok_or_else(|| {
                format!("deploymentType `{kind}` must be `lambda` for a Lambda service")
            }),
            &["deploymentType"],
        );
    }
    rule(
        rules::version(&config.lambda.version),
        &["lambda", "version"],
    );
    if let Some(sha) = &config.lambda.commit_sha {
        rule(rules::commit_sha(sha), &["lambda", "commitSha"]);
    }
    if let Some(key) = &config.lambda.s3_key {
        rule(
            (!key.is_empty() && !key.starts_with('/'))
                .then_some(())
                .ok_or_else(|| {
                    format!("s3Key `{key}` must be a non-empty key without a leading `/`")
                }),
            &["lambda", "s3Key"],
        );
    }
    if let Some(git) = &config.git_version {
        check_git_version(git, &mut rule);
    }
}

fn check_git_version(git: &GitVersion, rule: &mut impl FnMut(Result<(), String>, &[&str])) {
    rule(rules::commit_sha(&git.sha), &["gitVersion", "sha"]);
    if let Some(short) = &git.short_sha {
        rule(rules::commit_sha(short), &["gitVersion", "shortSha"]);
    }
}

fn name_matches(declared: &str, expected: &str, what: &str) -> Result<(), String> {
    (declared == expected)
        .then_some(())
        .ok_or_else(|| format!("serviceName `{declared}` does not match {what} `{expected}`"))
}

fn non_empty(value: &str, name: &str) -> Result<(), String> {
    (!value.trim().is_empty())
        .then_some(())
        .ok_or_else(|| format!("`{name}` must not be empty"))
}

fn in_range(value: u32, min: u32, max: u32, name: &str) -> Result<(), String> {
    (min..=max)
        .contains(&value)
        .then_some(())
        .ok_or_else(|| format!("{name} {value} must be between {min} and {max}"))
}

fn has_placeholder(template: &str, placeholder: &str, name: &str) -> Result<(), String> {
    template.contains(placeholder).then_some(()).ok_or_else(|| {
        format!("{name} `{template}` must contain `{placeholder}`, or every preview would share it")
    })
}

/// Environment variables as Lambda takes them: text.
pub fn env_strings(environment: &BTreeMap<String, EnvValue>) -> BTreeMap<String, String> {
    environment
        .iter()
        .map(|(key, value)| (key.clone(), value.to_string()))
        .collect()
}
