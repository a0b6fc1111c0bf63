//! `plan --out-dir` for a service with nothing changed since its last apply: no terraform
//! ran, so there is no plan to save. Its manifest says so instead — unchanged, checked
//! against the last apply, with the fingerprint of the inputs checked — and `apply
//! --plan-dir` reads it back: that service is applied nothing, and only while the same
//! evidence holds (the decision is `run/last_applied.rs`'s).
//!
//! ```text
//! DIR/<service>/manifest.json   {"schemaVersion": 1, "service": …, "toolVersion": …,
//!                                "gitopsCommit": …, "checkedAgainstLastApply":
//!                                {"fingerprint": "<hex SHA-256>"}}
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::manifest::is_hex64;
use super::{MANIFEST, SCHEMA_VERSION};
use crate::error::Error;
use crate::workdir;

/// The most an unchanged service's manifest may weigh.
const LIMIT: u64 = 64 << 10;

/// The manifest of a service `plan --out-dir` checked against its last apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnchangedManifest {
    pub schema_version: u32,
    pub service: String,
    pub tool_version: String,
    /// Recorded, never compared (as in a saved plan's manifest).
    pub gitops_commit: Option<String>,
    pub checked_against_last_apply: LastApplyEvidence,
}

/// What the check without terraform saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LastApplyEvidence {
    /// The fingerprint of the inputs (`run/fingerprint.rs`), equal to the last apply's.
    pub fingerprint: String,
}

/// Saves under `dir/<service>/` that `service` was unchanged since its last apply, replacing
/// an earlier save there (a directory holding anything else is refused).
pub fn save_unchanged(
    dir: &Path,
    service: &str,
    fingerprint: &str,
    commit: Option<String>,
) -> Result<std::path::PathBuf, Error> {
    let target = dir.join(service);
    super::save::clear(&target)?;
    std::fs::create_dir_all(&target).map_err(|e| Error::io("create", &target, e))?;
    let manifest = UnchangedManifest {
        schema_version: SCHEMA_VERSION,
        service: service.to_owned(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        gitops_commit: commit,
        checked_against_last_apply: LastApplyEvidence {
            fingerprint: fingerprint.to_owned(),
        },
    };
    let mut text = serde_json::to_string_pretty(&manifest).expect("the manifest serializes");
    text.push('\n');
    workdir::write_file(&target.join(MANIFEST), text.as_bytes())?;
    Ok(target)
}

/// The fingerprint `dir/<service>/manifest.json` says the review checked, when it is the
/// manifest of an unchanged service. `None` for anything else: a saved plan, or what
/// `apply --plan-dir` refuses when it reads it as one.
pub fn reviewed_fingerprint(dir: &Path, service: &str) -> Option<String> {
    let path = dir.join(service).join(MANIFEST);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > LIMIT {
        return None;
    }
    let bytes = std::fs::read(&path).ok()?;
    let manifest: UnchangedManifest = serde_json::from_slice(&bytes).ok()?;
    let evidence = manifest.checked_against_last_apply.fingerprint;
    let ours = manifest.schema_version == SCHEMA_VERSION
        && manifest.service == service
        && is_hex64(&evidence);
    ours.then_some(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchanged_services_manifest_reads_back_only_for_that_service() {
        let temp = tempfile::tempdir().unwrap();
        let fingerprint = "ab".repeat(32);
        save_unchanged(temp.path(), "a", &fingerprint, None).unwrap();
        assert_eq!(
            reviewed_fingerprint(temp.path(), "a"),
            Some(fingerprint.clone())
        );
        assert_eq!(reviewed_fingerprint(temp.path(), "b"), None);
        // Copied under another service's name, it is not that service's evidence.
        std::fs::create_dir_all(temp.path().join("b")).unwrap();
        std::fs::copy(
            temp.path().join("a").join(MANIFEST),
            temp.path().join("b").join(MANIFEST),
        )
        .unwrap();
        assert_eq!(reviewed_fingerprint(temp.path(), "b"), None);
    }
}
