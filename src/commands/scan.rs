//! `lambda-gitops scan`: validate and list what the gitops dir declares. No network.
//!
//! JSON shape (`--format json`), stable under `format_version`:
//! ```json
//! { "format_version": "1",
//!   "services": [ { "name", "file", "runtime", "handler", "trigger_bucket", "package_bucket",
//!                   "role_arn", "settings": Settings,
//!                   "staging": Deployment | null, "production": Deployment | null,
//!                   "previews": [Deployment] } ] }
//! Deployment = { "deployment", "target" (the same key, its first name), "pr" (previews only), "file", "version", "commit_sha",
//!                "function_name", "trigger_prefix", "package": { "kind", … },
//!                "settings": Settings (after the environment's overrides), "keep_versions",
//!                "rollout": { "strategy", "percent", "intervalSeconds", "alarms" } }
//! Settings = { "runtime", "handler", "architecture", "layers", "ephemeral_storage",
//!              "memory_size", "timeout", "environment", "reserved_concurrency",
//!              "provisioned_concurrency", "tracing", "vpc", "log_retention_days",
//!              "description", "tags" }
//! ```

use std::io::Write;

use serde::Serialize;

use crate::desired::{Deployment, DeploymentKey, FunctionSettings, PackageRef, Repo, Rollout};
use crate::error::Error;
use crate::report::format::ListFormat;
use crate::settings::Settings;

pub fn run(settings: &Settings, format: ListFormat) -> Result<(), Error> {
    let repo = super::load_repo(settings)?;
    let text = match format {
        ListFormat::Json => {
            let mut json = serde_json::to_string_pretty(&ScanJson::from(&repo))
                .expect("scan output serializes");
            json.push('\n');
            json
        }
        ListFormat::Text => text(&repo),
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(Error::Stdout)
}

fn text(repo: &Repo) -> String {
    let mut out = String::new();
    if repo.services.is_empty() {
        out.push_str("no Lambda services\n");
    }
    for service in &repo.services {
        out.push_str(&format!("{}  ({})\n", service.name, service.file.display()));
        let rows: Vec<[String; 4]> = service
            .deployments()
            .map(|d| {
                [
                    d.key.to_string(),
                    d.version.clone(),
                    d.function_name.clone(),
                    d.trigger_prefix.clone(),
                ]
            })
            .collect();
        let width = |column: usize| rows.iter().map(|row| row[column].len()).max().unwrap_or(0);
        let widths = [width(0), width(1), width(2)];
        for row in &rows {
            out.push_str(&format!(
                "  {:w0$}  {:w1$}  {:w2$}  {}\n",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            ));
        }
        if rows.is_empty() {
            out.push_str("  (no environment declared)\n");
        }
    }
    out
}

#[derive(Serialize)]
struct ScanJson<'a> {
    format_version: &'static str,
    services: Vec<ServiceJson<'a>>,
}

#[derive(Serialize)]
struct ServiceJson<'a> {
    name: &'a str,
    file: String,
    runtime: &'a str,
    handler: &'a str,
    trigger_bucket: &'a str,
    package_bucket: &'a str,
    role_arn: Option<&'a str>,
    /// The service's own settings, before any environment's overrides.
    settings: &'a FunctionSettings,
    staging: Option<DeploymentJson<'a>>,
    production: Option<DeploymentJson<'a>>,
    previews: Vec<DeploymentJson<'a>>,
}

#[derive(Serialize)]
struct DeploymentJson<'a> {
    /// The deployment key, as the report's JSON names it.
    deployment: DeploymentKey,
    /// The same key under its first name, kept for scripts that read it.
    target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pr: Option<u64>,
    file: String,
    version: &'a str,
    commit_sha: &'a str,
    function_name: &'a str,
    trigger_prefix: &'a str,
    package: &'a PackageRef,
    settings: &'a FunctionSettings,
    keep_versions: u32,
    /// How a new version reaches `live`: previews always all at once.
    rollout: &'a Rollout,
}

impl<'a> From<&'a Deployment> for DeploymentJson<'a> {
    fn from(d: &'a Deployment) -> Self {
        Self {
            deployment: d.key,
            target: d.key.to_string(),
            pr: match d.key {
                DeploymentKey::Preview(pr) => Some(pr),
                _ => None,
            },
            file: d.file.display().to_string(),
            version: &d.version,
            commit_sha: &d.commit_sha,
            function_name: &d.function_name,
            trigger_prefix: &d.trigger_prefix,
            package: &d.package,
            settings: &d.settings,
            keep_versions: d.keep_versions,
            rollout: &d.rollout,
        }
    }
}

impl<'a> From<&'a Repo> for ScanJson<'a> {
    fn from(repo: &'a Repo) -> Self {
        Self {
            format_version: "1",
            services: repo
                .services
                .iter()
                .map(|s| ServiceJson {
                    name: &s.name,
                    file: s.file.display().to_string(),
                    runtime: &s.defaults.runtime,
                    handler: &s.defaults.handler,
                    trigger_bucket: &s.trigger_bucket,
                    package_bucket: &s.package_bucket,
                    role_arn: s.role_arn.as_deref(),
                    settings: &s.defaults,
                    staging: s.staging.as_ref().map(Into::into),
                    production: s.production.as_ref().map(Into::into),
                    previews: s.previews.iter().map(Into::into).collect(),
                })
                .collect(),
        }
    }
}
