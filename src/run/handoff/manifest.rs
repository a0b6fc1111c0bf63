//! The manifest of a saved plan: what `plan --out-dir` records of the inputs that shaped it
//! (each by SHA-256), and the shapes a manifest read back must have.

use super::refusal::Refusal;
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{sha256, SCHEMA_VERSION};
use crate::desired::{DeploymentKey, DesiredService};
use crate::error::Error;
use crate::terraform::module::{ModuleFiles, LOCK_FILE};

/// The manifest of one service's saved plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    pub schema_version: u32,
    pub service: String,
    /// The lambda-gitops that made the plan.
    pub tool_version: String,
    /// `git rev-parse HEAD` of the gitops checkout, when it is a git work tree. Recorded,
    /// never compared: the merge commit applies the plan its pull request reviewed.
    pub gitops_commit: Option<String>,
    pub terraform_version: String,
    /// Provider address → version, from the lock file after init.
    pub providers: BTreeMap<String, String>,
    /// The plan had changes.
    pub has_changes: bool,
    pub inputs: Inputs,
}

/// SHA-256 (hex) of everything that shapes a service's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Inputs {
    /// The service's gitops files, by path relative to the gitops dir.
    pub configs: BTreeMap<String, String>,
    /// `lambda-gitops.tfvars.json` as rendered.
    pub variables: String,
    /// Every file of the module as written into the work dir (generated blocks, lock and
    /// backend files included).
    pub module: BTreeMap<String, String>,
    /// The packages uploaded, by their SHA-256 (the content-addressed key).
    pub packages: Vec<String>,
    /// The deployments whose existing log groups the plan adopts (`import` blocks).
    pub adopted_log_groups: Vec<String>,
    /// `plan.tfplan`.
    pub plan: String,
}

pub(super) fn is_hex64(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The service's gitops files and their hashes.
pub fn config_hashes(
    service: &DesiredService,
    gitops_dir: &Path,
) -> Result<BTreeMap<String, String>, Error> {
    let files = std::iter::once(&service.file).chain(service.deployments().map(|d| &d.file));
    // Named relative to the gitops dir however it was spelt (`.` on one runner, an
    // absolute path on another).
    let root =
        std::fs::canonicalize(gitops_dir).map_err(|e| Error::io("resolve", gitops_dir, e))?;
    let mut hashes = BTreeMap::new();
    for file in files {
        let bytes = std::fs::read(file).map_err(|e| Error::io("read", file, e))?;
        let canonical = std::fs::canonicalize(file).map_err(|e| Error::io("resolve", file, e))?;
        let name = canonical
            .strip_prefix(&root)
            .unwrap_or(file)
            .to_string_lossy()
            .into_owned();
        hashes.insert(name, sha256(&bytes));
    }
    Ok(hashes)
}

/// The module files the runner wrote, and their hashes.
pub(super) fn module_hashes(module: &ModuleFiles) -> BTreeMap<String, String> {
    module
        .files
        .iter()
        .map(|(name, text)| (name.clone(), sha256(text.as_bytes())))
        .collect()
}

/// Provider address → version from a `.terraform.lock.hcl`.
pub fn provider_versions(lock: &str) -> BTreeMap<String, String> {
    let mut versions = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in lock.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("provider \"") {
            current = rest.split('"').next().map(str::to_owned);
        } else if let (Some(provider), Some(rest)) = (&current, line.strip_prefix("version")) {
            if let Some(value) = rest.trim_start().strip_prefix('=') {
                versions.insert(provider.clone(), value.trim().trim_matches('"').to_owned());
            }
        } else if line == "}" {
            current = None;
        }
    }
    versions
}

/// Provider address → (version, sorted hashes) from a `.terraform.lock.hcl`.
pub(super) fn lock_selections(lock: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let versions = provider_versions(lock);
    let mut hashes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in lock.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("provider \"") {
            current = rest.split('"').next().map(str::to_owned);
        } else if line == "}" {
            current = None;
        } else if let Some(provider) = &current {
            let quoted = line.trim_end_matches(',').trim_matches('"');
            if quoted.starts_with("h1:") || quoted.starts_with("zh:") {
                hashes
                    .entry(provider.clone())
                    .or_default()
                    .push(quoted.to_owned());
            }
        }
    }
    versions
        .into_iter()
        .map(|(provider, version)| {
            let mut list = hashes.remove(&provider).unwrap_or_default();
            list.sort();
            (provider, (version, list))
        })
        .collect()
}

/// A manifest's values are of the shapes lambda-gitops writes.
/// The versions and the commit are of the shapes lambda-gitops writes: they reach messages
/// and the log, where a line break could pass for a CI workflow command.
fn check_versions(manifest: &Manifest) -> Result<(), Refusal> {
    let version = |text: &str| {
        (1..=64).contains(&text.len())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'))
    };
    let commit = manifest.gitops_commit.as_deref().is_none_or(|commit| {
        (40..=64).contains(&commit.len()) && commit.bytes().all(|b| b.is_ascii_hexdigit())
    });
    let providers = manifest.providers.iter().all(|(address, v)| {
        version(v) && address.len() <= 200 && address.chars().all(|c| c.is_ascii_graphic())
    });
    let fine = version(&manifest.tool_version)
        && version(&manifest.terraform_version)
        && providers
        && commit;
    match fine {
        true => Ok(()),
        false => Err(Refusal::ManifestValues),
    }
}

pub(super) fn check_manifest(manifest: &Manifest, service: &str) -> Result<(), Refusal> {
    if manifest.schema_version != SCHEMA_VERSION {
        return Err(Refusal::Schema {
            found: manifest.schema_version,
            reads: SCHEMA_VERSION,
        });
    }
    if manifest.service != service {
        return Err(Refusal::OtherService(crate::problem::excerpt(
            &manifest.service,
        )));
    }
    check_versions(manifest)?;
    let inputs = &manifest.inputs;
    let hashes = inputs
        .configs
        .values()
        .chain(inputs.module.values())
        .chain(&inputs.packages)
        .chain([&inputs.variables, &inputs.plan]);
    for hash in hashes {
        if !is_hex64(hash) {
            return Err(Refusal::NotAHash(crate::problem::excerpt(hash)));
        }
    }
    for name in inputs.module.keys() {
        let hidden = name.starts_with('.') && name != LOCK_FILE;
        let plain = !name.is_empty()
            && !hidden
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !plain {
            return Err(Refusal::ModuleFile(crate::problem::excerpt(name)));
        }
    }
    for key in &inputs.adopted_log_groups {
        if DeploymentKey::parse(key).is_none() {
            return Err(Refusal::Deployment(crate::problem::excerpt(key)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_versions_are_read_from_a_lock_file() {
        let lock = "# comment\nprovider \"registry.terraform.io/hashicorp/aws\" {\n  version     = \"5.100.0\"\n  constraints = \">= 5.0\"\n  hashes = [\n    \"h1:x\",\n  ]\n}\n";
        assert_eq!(
            provider_versions(lock),
            BTreeMap::from([(
                "registry.terraform.io/hashicorp/aws".to_owned(),
                "5.100.0".to_owned()
            )])
        );
        assert!(provider_versions("").is_empty());
    }

    #[test]
    fn manifests_with_names_or_hashes_lambda_gitops_never_writes_are_refused() {
        let hash = "a".repeat(64);
        let manifest = Manifest {
            schema_version: 1,
            service: "a".into(),
            tool_version: "0".into(),
            gitops_commit: None,
            terraform_version: "1.11.0".into(),
            providers: BTreeMap::new(),
            has_changes: true,
            inputs: Inputs {
                configs: BTreeMap::from([("services/a/config.yaml".into(), hash.clone())]),
                variables: hash.clone(),
                module: BTreeMap::from([
                    ("main.tf".into(), hash.clone()),
                    (LOCK_FILE.into(), hash.clone()),
                ]),
                packages: vec![hash.clone()],
                adopted_log_groups: vec!["staging".into()],
                plan: hash.clone(),
            },
        };
        assert_eq!(check_manifest(&manifest, "a"), Ok(()));
        assert!(check_manifest(&manifest, "b").is_err());
        for bad in ["../main.tf", "sub/main.tf", ".hidden.tf", ""] {
            let mut m = manifest.clone();
            m.inputs.module.insert(bad.into(), hash.clone());
            assert!(check_manifest(&m, "a").is_err(), "{bad}");
        }
        let mut m = manifest.clone();
        m.inputs.plan = "not a hash".into();
        assert!(check_manifest(&m, "a").is_err());
        let mut m = manifest.clone();
        m.inputs.adopted_log_groups = vec!["pr-07".into()];
        assert!(check_manifest(&m, "a").is_err());
        // What reaches the log must not hold a line break (a workflow command) or split a
        // character when shortened.
        let mut m = manifest.clone();
        m.terraform_version = "1.11.0\n::error::planted".into();
        assert!(check_manifest(&m, "a").is_err());
        let mut m = manifest.clone();
        m.gitops_commit = Some("é".repeat(20));
        assert!(check_manifest(&m, "a").is_err());
        let mut m = manifest.clone();
        m.gitops_commit = Some("0123456789abcdef0123456789abcdef01234567".into());
        assert_eq!(check_manifest(&m, "a"), Ok(()));
    }
}
