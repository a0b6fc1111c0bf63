//! Rules across files: what no single file can get wrong on its own.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::desired::Repo;
use crate::problem::Problem;
use crate::validate::yaml::line_of;

/// Function names are unique; each service's trigger prefixes are prefix-free; no two
/// services share a trigger bucket.
pub fn check(repo: &Repo, texts: &HashMap<PathBuf, &str>, problems: &mut Vec<Problem>) {
    let line = |file: &Path, path: &[&str]| texts.get(file).and_then(|text| line_of(text, path));

    let mut owners: BTreeMap<&str, Vec<(&str, String)>> = BTreeMap::new();
    for service in &repo.services {
        for deployment in service.deployments() {
            owners
                .entry(deployment.function_name.as_str())
                .or_default()
                .push((service.name.as_str(), deployment.key.to_string()));
        }
    }
    for service in &repo.services {
        for deployment in service.deployments() {
            let users = &owners[deployment.function_name.as_str()];
            if users.len() > 1 {
                let others: Vec<String> = users
                    .iter()
                    .filter(|(name, target)| {
                        (*name, target.as_str())
                            != (service.name.as_str(), deployment.key.to_string().as_str())
                    })
                    .map(|(name, target)| format!("{name} {target}"))
                    .collect();
                problems.push(Problem::new(
                    &deployment.file,
                    line(&deployment.file, &["lambda", "functionName"]),
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

        let deployments: Vec<_> = service.deployments().collect();
        for (i, a) in deployments.iter().enumerate() {
            if a.trigger_prefix.is_empty() {
                problems.push(Problem::new(
                    &a.file,
                    line(&a.file, &["lambda", "s3TriggerPrefix"]),
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
                        Problem::new(
                            &long.file,
                            line(&long.file, &["lambda", "s3TriggerPrefix"]),
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

    let mut by_bucket: BTreeMap<&str, Vec<&crate::desired::DesiredService>> = BTreeMap::new();
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
                    line(&service.file, &["lambda", "triggerBucket"]),
                    format!(
                        "trigger bucket `{bucket}` is shared by services {}",
                        crate::error::backticked(&names)
                    ),
                )
                .with_hint("S3 keeps one notification configuration per bucket, so one service's apply would wipe the other's triggers: give each service its own trigger bucket"),
            );
        }
    }
}
