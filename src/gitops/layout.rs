//! Where each file of the layout lives, relative to the gitops dir. Names are checked
//! before they become paths: a service name never holds `/` or starts with `.`.

use std::path::PathBuf;

use crate::desired::Environment;

/// `environments/<env>/<service>/config.yaml`.
pub fn env_config(env: Environment, service: &str) -> PathBuf {
    ["environments", env.as_str(), service, "config.yaml"]
        .iter()
        .collect()
}

/// `environments/preview/pr-<N>`.
pub fn preview_dir(pr: u64) -> PathBuf {
    ["environments", "preview", &format!("pr-{pr}")]
        .iter()
        .collect()
}

/// `environments/preview/pr-<N>/services/<service>.values.yaml`.
pub fn preview_values(pr: u64, service: &str) -> PathBuf {
    preview_dir(pr)
        .join("services")
        .join(format!("{service}.values.yaml"))
}
