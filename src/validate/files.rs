//! Each file on its own: decide whether it is about Lambda, parse it strictly and check its
//! values.
//!
//! A file is left alone only when it provably belongs to something else: its service's
//! config declares another `deploymentType` (Kubernetes services share the tree), or the
//! file itself does. Every other file is read as a possible Lambda one, and a file that is
//! wrong — or that cannot be told apart from a Lambda one — is a problem, never skipped:
//! a skipped preview would be destroyed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::config::{EnvConfig, EnvValue, GitVersion, PreviewValues, ServiceConfig};
use crate::problem::Problem;
use crate::scan::{EnvFile, EnvName, PreviewFile, SourceFile, Tree};
use crate::validate::rules;
use crate::validate::yaml::{closest, document, typed};
use crate::yaml::{probe, Document};

/// A file that was read as a Lambda one: its path and parsed document, for line lookups.
pub struct Source {
    pub path: PathBuf,
    pub doc: Document,
}

impl Source {
    /// A problem at the key `path` of this file.
    pub fn at(&self, path: &[&str], message: impl Into<String>) -> Problem {
        Problem::new(&self.path, self.doc.line_of(path), message)
    }
}

pub struct CheckedService {
    pub source: Source,
    pub config: ServiceConfig,
}

pub struct CheckedEnv {
    pub env: EnvName,
    pub source: Source,
    pub config: EnvConfig,
}

pub struct CheckedPreview {
    pub pr: u64,
    pub source: Source,
    pub config: PreviewValues,
}

/// The files that passed, ready to resolve.
#[derive(Default)]
pub struct Checked {
    /// By service name.
    pub services: BTreeMap<String, CheckedService>,
    pub environments: Vec<CheckedEnv>,
    pub previews: Vec<CheckedPreview>,
    /// Every environment file of a Lambda service, valid or not: an invalid production
    /// config has its own problem and must not also read as a missing one.
    pub env_files: BTreeSet<(String, EnvName)>,
}

/// What `services/<dir>/config.yaml` says the service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServiceKind {
    Lambda,
    /// Another `deploymentType` (or none): its files are not ours.
    Other,
    /// The config could not be read, so nobody can tell.
    Unreadable,
}

pub fn check(tree: &Tree, problems: &mut Vec<Problem>) -> Checked {
    let mut checked = Checked::default();
    let mut kinds: BTreeMap<&str, ServiceKind> = BTreeMap::new();

    for service in &tree.services {
        let doc = match document(&service.file) {
            Ok(doc) => doc,
            Err(problem) => {
                // A Kubernetes config that only the strict reading refuses (a Latin-1
                // comment, a byte-order mark, a duplicate key) still says what it is.
                let declared = service
                    .file
                    .bytes()
                    .ok()
                    .and_then(|bytes| probe::top_level_scalar(bytes, "deploymentType"));
                let kind = match declared {
                    Some(kind) if kind != "lambda" => ServiceKind::Other,
                    _ => {
                        problems.push(problem);
                        ServiceKind::Unreadable
                    }
                };
                kinds.insert(&service.dir, kind);
                continue;
            }
        };
        match deployment_type(&doc) {
            Some("lambda") => {
                kinds.insert(&service.dir, ServiceKind::Lambda);
                let source = Source {
                    path: service.file.path.clone(),
                    doc,
                };
                if let Some(config) = parse_checked(&service.file, &source, problems, |config| {
                    check_service(&source, &service.dir, config)
                }) {
                    checked
                        .services
                        .insert(service.dir.clone(), CheckedService { source, config });
                }
            }
            declared => {
                if let Some(declared) = declared.filter(|d| closest(d, &["lambda"]).is_some()) {
                    problems.push(
                        Problem::new(
                            &service.file.path,
                            doc.line_of(&["deploymentType"]),
                            format!("deploymentType `{declared}` is not a known type"),
                        )
                        .with_hint("did you mean `lambda`?"),
                    );
                }
                kinds.insert(&service.dir, ServiceKind::Other);
            }
        }
    }
    let lambda_names: Vec<&str> = kinds
        .iter()
        .filter(|(_, kind)| **kind == ServiceKind::Lambda)
        .map(|(name, _)| *name)
        .collect();

    for env_file in &tree.environments {
        let EnvFile { env, dir, file } = env_file;
        let kind = kinds.get(dir.as_str()).copied();
        if kind == Some(ServiceKind::Other) {
            continue;
        }
        if kind == Some(ServiceKind::Lambda) {
            checked.env_files.insert((dir.clone(), *env));
        }
        let doc = match kind {
            Some(ServiceKind::Lambda) => document(file).map_err(|p| problems.push(p)).ok(),
            _ => unclaimed(
                file,
                dir,
                kind,
                "an environment config",
                &lambda_names,
                problems,
            ),
        };
        let Some(doc) = doc else { continue };
        let source = Source {
            path: file.path.clone(),
            doc,
        };
        let config = parse_checked(file, &source, problems, |config| {
            check_env(&source, *env, dir, config)
        });
        if let (Some(config), Some(ServiceKind::Lambda)) = (config, kind) {
            checked.environments.push(CheckedEnv {
                env: *env,
                source,
                config,
            });
        }
    }

    for preview in &tree.previews {
        let PreviewFile { dir, service, file } = preview;
        let kind = kinds.get(service.as_str()).copied();
        if kind == Some(ServiceKind::Other) {
            continue;
        }
        let doc = match kind {
            Some(ServiceKind::Lambda) => document(file).map_err(|p| problems.push(p)).ok(),
            _ => unclaimed(file, service, kind, "a preview", &lambda_names, problems),
        };
        let pr = match rules::preview_dir(dir) {
            Ok(pr) => Some(pr),
            Err(message) => {
                if kind == Some(ServiceKind::Lambda) || doc.is_some() {
                    problems.push(Problem::new(&file.path, None, message));
                }
                None
            }
        };
        let Some(doc) = doc else { continue };
        let source = Source {
            path: file.path.clone(),
            doc,
        };
        let config = parse_checked(file, &source, problems, |config| {
            check_preview(&source, service, config)
        });
        if let (Some(config), Some(pr), Some(ServiceKind::Lambda)) = (config, pr, kind) {
            checked.previews.push(CheckedPreview { pr, source, config });
        }
    }
    checked
}

/// The top-level `deploymentType`, when it is a scalar.
fn deployment_type(doc: &Document) -> Option<&str> {
    doc.root
        .get(&["deploymentType"])
        .and_then(|node| node.as_scalar())
        .map(|scalar| scalar.value.as_str())
}

/// Deserializes `source` as `T` and runs `rules` on it: the config when both pass.
fn parse_checked<T: serde::de::DeserializeOwned>(
    file: &SourceFile,
    source: &Source,
    problems: &mut Vec<Problem>,
    rules: impl FnOnce(&T) -> Vec<Problem>,
) -> Option<T> {
    match typed::<T>(file, &source.doc) {
        Ok(config) => {
            let found = rules(&config);
            let clean = found.is_empty();
            problems.extend(found);
            clean.then_some(config)
        }
        Err(problem) => {
            problems.push(problem);
            None
        }
    }
}

/// A file of `service` when `services/<service>/config.yaml` is missing (`kind` `None`) or
/// unreadable. Left alone when it declares another `deploymentType`; read as a Lambda file
/// (its own problems reported, never deployed) when it looks like one and the config is
/// unreadable; otherwise a problem, because nobody can tell it is not a Lambda file.
fn unclaimed(
    file: &SourceFile,
    service: &str,
    kind: Option<ServiceKind>,
    what: &str,
    lambda_names: &[&str],
    problems: &mut Vec<Problem>,
) -> Option<Document> {
    let config = format!("services/{service}/config.yaml");
    let doc = match document(file) {
        Ok(doc) => doc,
        Err(problem) => {
            let declared = file
                .bytes()
                .ok()
                .and_then(|bytes| probe::top_level_scalar(bytes, "deploymentType"));
            if declared.is_some_and(|d| d != "lambda") {
                return None;
            }
            problems.push(problem.with_hint(format!(
                "no readable `{config}` says what `{service}` is, so this may be a Lambda file"
            )));
            return None;
        }
    };
    let declared = deployment_type(&doc);
    if declared.is_some_and(|d| d != "lambda") {
        return None;
    }
    let looks_lambda = declared.is_some() || doc.root.entry("lambda").is_some();
    match (kind, looks_lambda) {
        // The config's own problem fails the run; this file's problems are worth knowing too.
        (Some(_), true) => Some(doc),
        (Some(_), false) => None,
        (None, true) => {
            let line = doc
                .line_of(&["deploymentType"])
                .or_else(|| doc.line_of(&["lambda"]));
            let mut problem = Problem::new(
                &file.path,
                line,
                format!(
                    "{what} of `{service}`, which is not a Lambda service: there is no `{config}`"
                ),
            );
            if let Some(best) = closest(service, lambda_names) {
                problem = problem.with_hint(format!("did you mean the directory `{best}`?"));
            }
            problems.push(problem);
            None
        }
        (None, false) => {
            problems.push(
                Problem::new(
                    &file.path,
                    None,
                    format!("cannot tell whether this is a Lambda file: there is no `{config}` to say what `{service}` is"),
                )
                .with_hint(format!(
                    "add `{config}` with its `deploymentType`, or declare `deploymentType` (e.g. `kubernetes`) in this file"
                )),
            );
            None
        }
    }
}

/// Collects failed rules as problems at their keys.
struct Rules<'a> {
    source: &'a Source,
    problems: Vec<Problem>,
}

impl<'a> Rules<'a> {
    fn new(source: &'a Source) -> Self {
        Self {
            source,
            problems: Vec::new(),
        }
    }

    fn check(&mut self, result: Result<(), String>, path: &[&str]) {
        if let Err(message) = result {
            self.problems.push(self.source.at(path, message));
        }
    }

    fn environment(&mut self, environment: &BTreeMap<String, EnvValue>, path: &[&str]) {
        for key in environment.keys() {
            let mut key_path = path.to_vec();
            key_path.push(key);
            self.check(rules::env_key(key), &key_path);
        }
        let pairs = environment.iter().map(|(k, v)| (k.as_str(), v.0.as_str()));
        self.check(rules::env_size(pairs), path);
    }

    fn done(self) -> Vec<Problem> {
        self.problems
    }
}

fn check_service(source: &Source, dir: &str, config: &ServiceConfig) -> Vec<Problem> {
    let mut rule = Rules::new(source);
    rule.check(
        name_matches(&config.service_name, dir, "its directory")
            .and_then(|()| rules::service_name(&config.service_name)),
        &["serviceName"],
    );
    let lambda = &config.lambda;
    for (value, name) in [(&lambda.runtime, "runtime"), (&lambda.handler, "handler")] {
        rule.check(
            non_empty(value, name).and_then(|()| rules::printable(value, name)),
            &["lambda", name],
        );
    }
    if let Some(memory) = lambda.memory_size {
        rule.check(
            in_range(memory, 128, 10_240, "memorySize (MiB)"),
            &["lambda", "memorySize"],
        );
    }
    if let Some(timeout) = lambda.timeout {
        rule.check(
            in_range(timeout, 1, 900, "timeout (seconds)"),
            &["lambda", "timeout"],
        );
    }
    if let Some(role) = &lambda.role_arn {
        rule.check(
            rules::printable(role, "roleArn").and_then(|()| {
                role.starts_with("arn:").then_some(()).ok_or_else(|| {
                    format!("roleArn `{}` is not an ARN", crate::problem::excerpt(role))
                })
            }),
            &["lambda", "roleArn"],
        );
    }
    rule.check(
        rules::bucket(&lambda.trigger_bucket),
        &["lambda", "triggerBucket"],
    );
    rule.check(
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
        rule.check(
            Err("`package` must have exactly one of `githubRelease`, `url` or `path`".into()),
            &["lambda", "package"],
        );
    }
    if let Some(release) = &package.github_release {
        let at = |key| ["lambda", "package", "githubRelease", key];
        rule.check(rules::repository(&release.repository), &at("repository"));
        // The version is checked where it is chosen; here, the template's own characters.
        rule.check(
            rules::release_segment(&release.tag.replace("{version}", "0"), "tag"),
            &at("tag"),
        );
        rule.check(
            rules::release_segment(&release.asset.replace("{version}", "0"), "asset"),
            &at("asset"),
        );
    }
    if let Some(url) = &package.url {
        let valid = rules::printable(url, "url").is_ok()
            && reqwest::Url::parse(&url.replace("{version}", "0"))
                .is_ok_and(|parsed| matches!(parsed.scheme(), "http" | "https"));
        rule.check(
            valid
                .then_some(())
                .ok_or_else(|| "`url` must be an http(s) URL".to_owned()),
            &["lambda", "package", "url"],
        );
    }
    if let Some(path) = &package.path {
        rule.check(
            non_empty(path, "path").and_then(|()| rules::printable(path, "path")),
            &["lambda", "package", "path"],
        );
    }

    let preview = &lambda.preview;
    if let Some(template) = &preview.function_name {
        let at = ["lambda", "preview", "functionName"];
        rule.check(
            has_placeholder(template, "{pr}", "preview.functionName"),
            &at,
        );
        rule.check(rules::function_name(&template.replace("{pr}", "1")), &at);
    }
    if let Some(template) = &preview.s3_trigger_prefix {
        let at = ["lambda", "preview", "s3TriggerPrefix"];
        rule.check(
            has_placeholder(template, "{pr}", "preview.s3TriggerPrefix"),
            &at,
        );
        rule.check(rules::printable(template, "s3TriggerPrefix"), &at);
    }
    rule.environment(&preview.environment, &["lambda", "preview", "environment"]);
    rule.done()
}

fn check_env(source: &Source, env: EnvName, dir: &str, config: &EnvConfig) -> Vec<Problem> {
    let mut rule = Rules::new(source);
    rule.check(
        name_matches(&config.service_name, dir, "its directory"),
        &["serviceName"],
    );
    rule.check(
        (config.env_name == env.as_str())
            .then_some(())
            .ok_or_else(|| {
                format!(
                    "envName `{}` does not match its directory `{}`",
                    crate::problem::excerpt(&config.env_name),
                    env.as_str()
                )
            }),
        &["envName"],
    );
    let lambda = &config.lambda;
    rule.check(rules::version(&lambda.version), &["lambda", "version"]);
    rule.check(
        rules::function_name(&lambda.function_name),
        &["lambda", "functionName"],
    );
    rule.check(
        non_empty(&lambda.s3_trigger_prefix, "s3TriggerPrefix")
            .and_then(|()| rules::printable(&lambda.s3_trigger_prefix, "s3TriggerPrefix")),
        &["lambda", "s3TriggerPrefix"],
    );
    rule.environment(&lambda.environment, &["lambda", "environment"]);
    if let Some(git) = &config.git_version {
        check_git_version(git, &mut rule);
    }
    rule.done()
}

fn check_preview(source: &Source, service: &str, config: &PreviewValues) -> Vec<Problem> {
    let mut rule = Rules::new(source);
    rule.check(
        name_matches(&config.service_name, service, "its file name"),
        &["serviceName"],
    );
    if let Some(kind) = &config.deployment_type {
        rule.check(
            (kind == "lambda").then_some(()).ok_or_else(|| {
                format!(
                    "deploymentType `{}` must be `lambda` for a Lambda service",
                    crate::problem::excerpt(kind)
                )
            }),
            &["deploymentType"],
        );
    }
    rule.check(
        rules::version(&config.lambda.version),
        &["lambda", "version"],
    );
    if let Some(sha) = &config.lambda.commit_sha {
        rule.check(rules::commit_sha(sha), &["lambda", "commitSha"]);
    }
    if let Some(key) = &config.lambda.s3_key {
        rule.check(
            (!key.is_empty() && !key.starts_with('/'))
                .then_some(())
                .ok_or_else(|| {
                    format!(
                        "s3Key `{}` must be a non-empty key without a leading `/`",
                        crate::problem::excerpt(key)
                    )
                })
                .and_then(|()| rules::printable(key, "s3Key")),
            &["lambda", "s3Key"],
        );
    }
    if let Some(git) = &config.git_version {
        check_git_version(git, &mut rule);
    }
    rule.done()
}

fn check_git_version(git: &GitVersion, rule: &mut Rules<'_>) {
    rule.check(rules::commit_sha(&git.sha), &["gitVersion", "sha"]);
    if let Some(short) = &git.short_sha {
        rule.check(rules::commit_sha(short), &["gitVersion", "shortSha"]);
    }
}

fn name_matches(declared: &str, expected: &str, what: &str) -> Result<(), String> {
    (declared == expected).then_some(()).ok_or_else(|| {
        format!(
            "serviceName `{}` does not match {what} `{expected}`",
            crate::problem::excerpt(declared)
        )
    })
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
        format!(
            "{name} `{}` must contain `{placeholder}`, or every preview would share it",
            crate::problem::excerpt(template)
        )
    })
}
