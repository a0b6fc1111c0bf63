//! The values of each kind of Lambda file, checked on their own with the single-value
//! [`rules`]: a problem per failed rule, at the line of its key (or list item). Rules that
//! need more than one file (merged environments, overrides against the service's
//! settings, names across services) run in [`crate::resolve`].

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{
    EnvConfig, EnvValue, GitVersion, LambdaService, Overrides, PackageSource, PreviewTemplate,
    PreviewValues, RolloutConfig, ServiceConfig, VpcConfig,
};
use crate::desired::Environment;
use crate::desired::{Architecture, Tracing};
use crate::problem::{excerpt, Problem};
use crate::validate::checked::Source;
use crate::validate::{rollout, rules};

/// Lambda's limits on a function's layers, subnets and security groups.
const MAX_LAYERS: usize = 5;
const MAX_SUBNETS: usize = 16;
const MAX_SECURITY_GROUPS: usize = 5;
/// A sanity bound: more spare versions than this only fill Lambda's code storage.
const MAX_KEEP_VERSIONS: u32 = 1000;

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

    fn check_item(&mut self, result: Result<(), String>, path: &[&str], index: usize) {
        if let Err(message) = result {
            self.problems
                .push(self.source.at_item(path, index, message));
        }
    }

    /// Each item of the list at `path` by `rule`, no item twice, at most `max` items (the
    /// limit of `who`).
    fn list(
        &mut self,
        items: &[String],
        path: &[&str],
        (max, who): (usize, &str),
        what: &str,
        rule: fn(&str) -> Result<(), String>,
    ) {
        let mut seen = BTreeSet::new();
        for (index, item) in items.iter().enumerate() {
            let result = rule(item).and_then(|()| {
                seen.insert(item.as_str())
                    .then_some(())
                    .ok_or_else(|| format!("{what} `{}` is listed twice", excerpt(item)))
            });
            self.check_item(result, path, index);
        }
        if items.len() > max {
            self.check(
                Err(format!(
                    "{} {what}s are listed; {who} allows at most {max}",
                    items.len()
                )),
                path,
            );
        }
    }

    fn environment(&mut self, environment: &BTreeMap<String, EnvValue>, path: &[&str]) {
        for key in environment.keys() {
            self.check(rules::env_key(key), &with(path, key));
        }
        let pairs = environment.iter().map(|(k, v)| (k.as_str(), v.0.as_str()));
        self.check(rules::env_size(pairs), path);
    }

    /// The keys an environment config or the preview template may override, under `path`.
    fn overrides(&mut self, overrides: &Overrides, path: &[&str]) {
        if let Some(memory) = overrides.memory_size {
            self.check(
                rules::in_range(memory, 128, 10_240, "memorySize (MiB)"),
                &with(path, "memorySize"),
            );
        }
        if let Some(timeout) = overrides.timeout {
            self.check(
                rules::in_range(timeout, 1, 900, "timeout (seconds)"),
                &with(path, "timeout"),
            );
        }
        // Reserved and provisioned concurrency: any count Lambda's account limit allows
        // (u32 already refuses negatives); provisioned against reserved runs in resolve,
        // after the overrides are applied.
    }

    /// `lambda.rollout` of a service or an environment, at `path`.
    fn rollout(&mut self, config: &RolloutConfig, path: &[&str]) {
        if let Some(strategy) = &config.strategy {
            self.check(rollout::strategy(strategy), &with(path, "strategy"));
        }
        if let Some(percent) = config.percent {
            self.check(rollout::percent(percent.0), &with(path, "percent"));
        }
        if let Some(interval) = &config.interval {
            self.check(
                rollout::interval_seconds(interval).map(drop),
                &with(path, "interval"),
            );
        }
        if let Some(alarms) = &config.alarms {
            let names: Vec<String> = alarms.iter().map(|name| name.0.clone()).collect();
            self.list(
                &names,
                &with(path, "alarms"),
                (rollout::MAX_ALARMS, "a rollout"),
                "alarm",
                rollout::alarm_name,
            );
        }
    }

    /// A `rollout` key at `path` of a preview's file: refused, never ignored.
    fn no_rollout(&mut self, path: &[&str]) {
        if self.source.doc.line_of(path).is_some() {
            self.problems.push(
                self.source
                    .at(
                        path,
                        "previews always deploy all at once: `rollout` is not accepted for a preview",
                    )
                    .with_hint(
                        "set `lambda.rollout` in the service's config (for staging and production) or in an environment's config",
                    ),
            );
        }
    }

    fn done(self) -> Vec<Problem> {
        self.problems
    }
}

/// `path` with `key` appended.
fn with<'a>(path: &[&'a str], key: &'a str) -> Vec<&'a str> {
    let mut full = path.to_vec();
    full.push(key);
    full
}

/// `services/<dir>/config.yaml`.
pub fn service(source: &Source, dir: &str, config: &ServiceConfig) -> Vec<Problem> {
    let mut rule = Rules::new(source);
    rule.check(
        name_matches(&config.service_name, dir, "its directory")
            .and_then(|()| rules::service_name(&config.service_name)),
        &["serviceName"],
    );
    let lambda = &config.lambda;
    function(&mut rule, lambda);
    settings(&mut rule, lambda);
    rule.check(
        rules::bucket(&lambda.trigger_bucket),
        &["lambda", "triggerBucket"],
    );
    rule.check(
        rules::bucket(&lambda.package_bucket),
        &["lambda", "packageBucket"],
    );
    package(&mut rule, &lambda.package);
    preview_template(&mut rule, &lambda.preview);
    rule.done()
}

/// Runtime, handler and role: what the function is.
fn function(rule: &mut Rules<'_>, lambda: &LambdaService) {
    for (value, name) in [(&lambda.runtime, "runtime"), (&lambda.handler, "handler")] {
        rule.check(
            non_empty(value, name).and_then(|()| rules::printable(value, name)),
            &["lambda", name],
        );
    }
    if let Some(role) = &lambda.role_arn {
        rule.check(
            rules::printable(role, "roleArn").and_then(|()| rules::role_arn(role)),
            &["lambda", "roleArn"],
        );
    }
}

/// The function's settings (§3 of the deployment model): ranges, ARN shapes, limits.
fn settings(rule: &mut Rules<'_>, lambda: &LambdaService) {
    let at = |key| ["lambda", key];
    if let Some(architecture) = &lambda.architecture {
        rule.check(
            rules::one_of(architecture, &Architecture::NAMES, "architecture"),
            &at("architecture"),
        );
    }
    if let Some(layers) = &lambda.layers {
        rule.list(
            layers,
            &at("layers"),
            (MAX_LAYERS, "Lambda"),
            "layer",
            rules::layer_arn,
        );
    }
    if let Some(storage) = lambda.ephemeral_storage {
        rule.check(
            rules::in_range(storage, 512, 10_240, "ephemeralStorage (MiB)"),
            &at("ephemeralStorage"),
        );
    }
    rule.overrides(
        &Overrides {
            memory_size: lambda.memory_size,
            timeout: lambda.timeout,
            reserved_concurrency: lambda.reserved_concurrency,
            provisioned_concurrency: lambda.provisioned_concurrency,
        },
        &["lambda"],
    );
    rule.environment(&lambda.environment, &at("environment"));
    if let Some(tracing) = &lambda.tracing {
        rule.check(
            rules::one_of(tracing, &Tracing::NAMES, "tracing"),
            &at("tracing"),
        );
    }
    if let Some(vpc) = &lambda.vpc {
        network(rule, vpc);
    }
    if let Some(days) = lambda.log_retention_days {
        rule.check(rules::log_retention_days(days), &at("logRetentionDays"));
    }
    if let Some(description) = &lambda.description {
        rule.check(rules::description(description), &at("description"));
    }
    tags(rule, &lambda.tags);
    if let Some(keep) = lambda.keep_versions {
        rule.check(
            rules::in_range(keep, 0, MAX_KEEP_VERSIONS, "keepVersions"),
            &at("keepVersions"),
        );
    }
    if let Some(config) = &lambda.rollout {
        rule.rollout(config, &at("rollout"));
    }
}

fn network(rule: &mut Rules<'_>, vpc: &VpcConfig) {
    let subnets = ["lambda", "vpc", "subnetIds"];
    let groups = ["lambda", "vpc", "securityGroupIds"];
    for (items, path, what) in [
        (&vpc.subnet_ids, subnets, "subnet"),
        (&vpc.security_group_ids, groups, "security group"),
    ] {
        if items.is_empty() {
            rule.check(
                Err(format!(
                    "`vpc` needs at least one {what}: a function in a VPC without one cannot start"
                )),
                &path,
            );
        }
    }
    rule.list(
        &vpc.subnet_ids,
        &subnets,
        (MAX_SUBNETS, "Lambda"),
        "subnet",
        rules::subnet_id,
    );
    rule.list(
        &vpc.security_group_ids,
        &groups,
        (MAX_SECURITY_GROUPS, "Lambda"),
        "security group",
        rules::security_group_id,
    );
}

fn tags(rule: &mut Rules<'_>, tags: &BTreeMap<String, EnvValue>) {
    for (key, value) in tags {
        let path = ["lambda", "tags", key.as_str()];
        rule.check(
            rules::tag_key(key).and_then(|()| rules::tag_value(key, &value.0)),
            &path,
        );
    }
    if tags.len() > rules::MAX_TAGS {
        rule.check(
            Err(format!(
                "{} tags are set; AWS allows 50 per resource and lambda-gitops sets {} itself, so at most {}",
                tags.len(),
                rules::OWN_TAGS.len(),
                rules::MAX_TAGS
            )),
            &["lambda", "tags"],
        );
    }
}

fn package(rule: &mut Rules<'_>, package: &PackageSource) {
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
}

fn preview_template(rule: &mut Rules<'_>, preview: &PreviewTemplate) {
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
    rule.overrides(&preview.overrides(), &["lambda", "preview"]);
    rule.no_rollout(&["lambda", "preview", "rollout"]);
}

/// `environments/{staging,production}/<dir>/config.yaml`.
pub fn environment(
    source: &Source,
    env: Environment,
    dir: &str,
    config: &EnvConfig,
) -> Vec<Problem> {
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
                    excerpt(&config.env_name),
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
    rule.overrides(&lambda.overrides(), &["lambda"]);
    if let Some(config) = &lambda.rollout {
        rule.rollout(config, &["lambda", "rollout"]);
    }
    if let Some(git) = &config.git_version {
        git_version(git, &mut rule);
    }
    rule.done()
}

/// `environments/preview/pr-<N>/services/<service>.values.yaml`.
pub fn preview(source: &Source, service: &str, config: &PreviewValues) -> Vec<Problem> {
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
                    excerpt(kind)
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
                        excerpt(key)
                    )
                })
                .and_then(|()| rules::printable(key, "s3Key")),
            &["lambda", "s3Key"],
        );
    }
    rule.no_rollout(&["lambda", "rollout"]);
    if let Some(git) = &config.git_version {
        git_version(git, &mut rule);
    }
    rule.done()
}

fn git_version(git: &GitVersion, rule: &mut Rules<'_>) {
    rule.check(rules::commit_sha(&git.sha), &["gitVersion", "sha"]);
    if let Some(short) = &git.short_sha {
        rule.check(rules::commit_sha(short), &["gitVersion", "shortSha"]);
    }
}

fn name_matches(declared: &str, expected: &str, what: &str) -> Result<(), String> {
    (declared == expected).then_some(()).ok_or_else(|| {
        format!(
            "serviceName `{}` does not match {what} `{expected}`",
            excerpt(declared)
        )
    })
}

fn non_empty(value: &str, name: &str) -> Result<(), String> {
    (!value.trim().is_empty())
        .then_some(())
        .ok_or_else(|| format!("`{name}` must not be empty"))
}

fn has_placeholder(template: &str, placeholder: &str, name: &str) -> Result<(), String> {
    template.contains(placeholder).then_some(()).ok_or_else(|| {
        format!(
            "{name} `{}` must contain `{placeholder}`, or every preview would share it",
            excerpt(template)
        )
    })
}
