//! Which terraform to run: `--terraform-bin`, else `terraform`, else `tofu` on PATH; at
//! least version 1.5 (`-detailed-exitcode` on saved plans, `show -json` of plan format 1.x).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;

use super::TerraformError;
use crate::process::child_env::ChildEnv;

const MINIMUM: (u64, u64) = (1, 5);
/// `terraform version` answers at once; one that does not is not a terraform to trust.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Terraform {
    pub path: PathBuf,
    pub version: String,
}

#[derive(Deserialize)]
struct VersionJson {
    terraform_version: String,
}

impl Terraform {
    /// Finds the binary and checks its version: `terraform version -json`, with the same
    /// explicit environment as every other command and at most [`VERSION_TIMEOUT`] to answer.
    /// `timeout` bounds the wait further (`--terraform-timeout`).
    pub async fn locate(
        explicit: Option<&Path>,
        env: &ChildEnv,
        timeout: Duration,
    ) -> Result<Self, TerraformError> {
        let timeout = timeout.min(VERSION_TIMEOUT);
        let path = find(explicit)?;
        let output = tokio::process::Command::new(&path)
            .args(["version", "-json"])
            .env_clear()
            .envs(env.iter())
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(timeout, output)
            .await
            .map_err(|_| TerraformError::VersionTimeout {
                path: path.clone(),
                after: timeout,
            })?
            .map_err(|source| TerraformError::Start {
                path: path.clone(),
                source,
            })?;
        let version = serde_json::from_slice::<VersionJson>(&output.stdout)
            .map(|v| v.terraform_version)
            .map_err(|_| TerraformError::Version {
                path: path.clone(),
                version: String::from_utf8_lossy(&output.stdout)
                    .trim()
                    .chars()
                    .take(200)
                    .collect(),
            })?;
        if !at_least(&version, MINIMUM) {
            return Err(TerraformError::Version { path, version });
        }
        tracing::debug!("using `{}` version {version}", path.display());
        Ok(Self { path, version })
    }

    /// The binary's file name (`terraform`, `tofu`), for hints a user will type.
    pub fn name(&self) -> String {
        program_name(&self.path)
    }
}

/// The binary `--terraform-bin` names, else `terraform`, else `tofu`, on `PATH`, without
/// running it.
pub fn find(explicit: Option<&Path>) -> Result<PathBuf, TerraformError> {
    match explicit {
        Some(path) => which::which(path).map_err(|_| TerraformError::NotFound {
            tried: vec![path.display().to_string()],
        }),
        None => which::which("terraform")
            .or_else(|_| which::which("tofu"))
            .map_err(|_| TerraformError::NotFound {
                tried: vec!["terraform".into(), "tofu".into()],
            }),
    }
}

/// A program's file name, for hints a user will type.
pub fn program_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "terraform".to_owned())
}

fn at_least(version: &str, (major, minor): (u64, u64)) -> bool {
    let mut parts = version
        .trim_start_matches('v')
        .split(['.', '-'])
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= (major, minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(at_least("1.11.4", (1, 5)));
        assert!(at_least("1.5.0", (1, 5)));
        assert!(at_least("2.0.0-alpha", (1, 5)));
        assert!(!at_least("1.4.7", (1, 5)));
        assert!(!at_least("0.15.5", (1, 5)));
    }
}
