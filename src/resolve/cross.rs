//! Rules across files: what no single file can get wrong on its own, checked on the
//! resolved state, with lines looked up in the checked files' documents.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::desired::{Deployment, DeploymentKey, DesiredService, Repo};
use crate::problem::Problem;
use crate::validate::Checked;
use crate::yaml::Document;

/// Function names are unique; each service's trigger prefixes are prefix-free; no two
/// services share a trigger bucket.
pub fn check(repo: &Repo, checked: &Checked, problems: &mut Vec<Problem>) {
    let lines = Lines::of(checked);
    unique_function_names(repo, &lines, problems);
    for service in &repo.services {
        disjoint_trigger_prefixes(service, &lines, problems);
    }
    one_service_per_bucket(repo, &lines, problems);
}

/// Line lookups in the checked files' documents.
struct Lines<'a> {
    docs: HashMap<&'a Path, &'a Document>,
}

impl<'a> Lines<'a> {
    fn of(checked: &'a Checked) -> Self {
        let docs = checked
            .services
            .values()
            .map(|s| &s.source)
            .chain(checked.environments.iter().map(|e| &e.source))
            .chain(checked.previews.iter().map(|p| &p.source))
            .map(|source| (source.path.as_path(), &source.doc))
            .collect();
        Self { docs }
    }

    fn line(&self, file: &Path, path: &[&str]) -> Option<usize> {
        self.docs.get(file).and_then(|doc| doc.line_of(path))
    }

    /// Where a deployment's `key` (`functionName`, `s3TriggerPrefix`) is written: its own
    /// file for staging and production; for a preview, the service's `lambda.preview`
    /// template, else the preview file.
    fn blame(
        &self,
        service: &DesiredService,
        deployment: &Deployment,
        key: &str,
        message: String,
    ) -> Problem {
        let template = ["lambda", "preview", key];
        let (file, line) = match deployment.key {
            DeploymentKey::Preview(_) if self.line(&service.file, &template).is_some() => {
                (&service.file, self.line(&service.file, &template))
            }
            DeploymentKey::Preview(_) => {
                (&deployment.file, self.line(&deployment.file, &["lambda"]))
            }
            _ => (
                &deployment.file,
                self.line(&deployment.file, &["lambda", key]),
            ),
        };
        Problem::new(file, line, message)
    }
}

fn unique_function_names(repo: &Repo, lines: &Lines<'_>, problems: &mut Vec<Problem>) {
    let mut owners: BTreeMap<&str, Vec<(&str, DeploymentKey)>> = BTreeMap::new();
    for service in &repo.services {
        for deployment in service.deployments() {
            owners
                .entry(deployment.function_name.as_str())
                .or_default()
                .push((service.name.as_str(), deployment.key));
        }
    }
    for service in &repo.services {
        for deployment in service.deployments() {
            let users = &owners[deployment.function_name.as_str()];
            if users.len() < 2 {
                continue;
            }
            let others: Vec<String> = users
                .iter()
                .filter(|(name, key)| (*name, *key) != (service.name.as_str(), deployment.key))
                .map(|(name, key)| format!("{name} {key}"))
                .collect();
            problems.push(lines.blame(
                service,
                deployment,
                "functionName",
                format!(
                    "function `{}` ({} {}) is also used by {}",
                    deployment.function_name,
                    service.name,
                    deployment.key,
                    others.join(", ")
                ),
            ));
        }
    }
}

fn disjoint_trigger_prefixes(
    service: &DesiredService,
    lines: &Lines<'_>,
    problems: &mut Vec<Problem>,
) {
    let deployments: Vec<_> = service.deployments().collect();
    for (i, a) in deployments.iter().enumerate() {
        if a.trigger_prefix.is_empty() {
            problems.push(lines.blame(
                service,
                a,
                "s3TriggerPrefix",
                format!(
                    "the S3 trigger prefix of {} {} is empty: it would catch every upload",
                    service.name, a.key
                ),
            ));
            continue;
        }
        for b in &deployments[i + 1..] {
            let (short, long) = if a.trigger_prefix.len() <= b.trigger_prefix.len() {
                (a, b)
            } else {
                (b, a)
            };
            if !short.trigger_prefix.is_empty()
                && long.trigger_prefix.starts_with(&short.trigger_prefix)
            {
                problems.push(
                    lines.blame(
                        service, long, "s3TriggerPrefix",
                        format!(
                            "trigger prefix `{}` of {} overlaps `{}` of {} ({})",
                            long.trigger_prefix,
                            long.key,
                            short.trigger_prefix,
                            short.key,
                            short.file.display()
                        ),
                    )
                    .with_hint("S3 refuses overlapping notification filters (\"Configuration is ambiguously defined\"): make the prefixes disjoint, e.g. `staging/` and `Projects/`"),
                );
            }
        }
    }
}

fn one_service_per_bucket(repo: &Repo, lines: &Lines<'_>, problems: &mut Vec<Problem>) {
    let mut by_bucket: BTreeMap<&str, Vec<&DesiredService>> = BTreeMap::new();
    for service in &repo.services {
        by_bucket
            .entry(service.trigger_bucket.as_str())
            .or_default()
            .push(service);
    }
    for (bucket, services) in by_bucket {
        if services.len() < 2 {
            continue;
        }
        let names: Vec<String> = services.iter().map(|s| s.name.clone()).collect();
        for service in services {
            problems.push(
                Problem::new(
                    &service.file,
                    lines.line(&service.file, &["lambda", "triggerBucket"]),
                    format!(
                        "trigger bucket `{bucket}` is shared by services {}",
                        crate::problem::backticked(&names)
                    ),
                )
                .with_hint("S3 keeps one notification configuration per bucket, so one service's apply would wipe the other's triggers: give each service its own trigger bucket"),
            );
        }
    }
}
