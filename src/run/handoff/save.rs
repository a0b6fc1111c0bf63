//! `plan --out-dir`: one service's plan saved with its manifest, and an older save removed
//! when a plan fails.

use std::path::{Path, PathBuf};

use super::manifest::{config_hashes, module_hashes, provider_versions, Inputs, Manifest};
use super::{sha256, MANIFEST, MODULE_DIR, PLAN_FILE, PLAN_JSON, SCHEMA_VERSION};
use crate::desired::DesiredService;
use crate::error::Error;
use crate::process::child_env::ChildEnv;
use crate::render::TfVars;
use crate::terraform::module::{ModuleFiles, LOCK_FILE};
use crate::workdir::{self, WorkDir, VARS_FILE};

/// The gitops checkout's commit, when it is a git work tree.
pub fn gitops_commit(gitops_dir: &Path, env: &ChildEnv) -> Option<String> {
    crate::git::head_commit(gitops_dir, env)
}

/// What `plan --out-dir` knows of one service's plan.
pub struct Planned<'a> {
    pub service: &'a DesiredService,
    pub gitops_dir: &'a Path,
    pub work_dir: &'a WorkDir,
    pub vars: &'a TfVars,
    pub module: &'a ModuleFiles,
    pub terraform_version: &'a str,
    /// The deployments whose existing log group the plan adopts.
    pub adopted_log_groups: &'a [crate::desired::DeploymentKey],
    pub commit: Option<String>,
    pub has_changes: bool,
}

/// Saves one service's plan under `dir/<service>/`, replacing an earlier save there (a
/// directory that holds anything but a save is refused).
pub fn save(dir: &Path, planned: &Planned) -> Result<PathBuf, Error> {
    let target = dir.join(&planned.service.name);
    clear(&target)?;
    let module_dir = target.join(MODULE_DIR);
    std::fs::create_dir_all(&module_dir).map_err(|e| Error::io("create", &module_dir, e))?;

    let work = &planned.work_dir.path;
    let read = |name: &str| {
        let path = work.join(name);
        std::fs::read(&path).map_err(|e| Error::io("read", &path, e))
    };
    let plan = read(crate::run::runner::PLAN_FILE)?;
    let variables = read(VARS_FILE)?;
    let lock = std::fs::read_to_string(work.join(LOCK_FILE)).unwrap_or_default();
    for (file, text) in &planned.module.files {
        workdir::write_file(&module_dir.join(file), text.as_bytes())?;
    }
    workdir::write_file(&target.join(PLAN_FILE), &plan)?;
    workdir::write_file(&target.join(VARS_FILE), &variables)?;
    if let Ok(json) = read(crate::run::runner::PLAN_JSON) {
        workdir::write_file(&target.join(PLAN_JSON), &json)?;
    }
    let manifest = manifest(planned, &lock, &variables, &plan)?;
    let mut text = serde_json::to_string_pretty(&manifest).expect("the manifest serializes");
    text.push('\n');
    // Last: a directory with a manifest is a whole save.
    workdir::write_file(&target.join(MANIFEST), text.as_bytes())?;
    Ok(target)
}

/// Removes an earlier save at `target`; refuses a directory that holds anything else, and
/// anything that is not a directory.
pub(super) fn clear(target: &Path) -> Result<(), Error> {
    let refuse = |message: String| Error::PlanDir {
        path: target.to_path_buf(),
        message,
    };
    match std::fs::symlink_metadata(target) {
        Ok(meta) if meta.is_dir() => {
            let ours = std::fs::symlink_metadata(target.join(MANIFEST)).is_ok_and(|m| m.is_file());
            let empty = std::fs::read_dir(target).is_ok_and(|mut e| e.next().is_none());
            if !ours && !empty {
                return Err(refuse(
                    "it holds files that no `plan --out-dir` wrote; choose an empty directory"
                        .into(),
                ));
            }
            std::fs::remove_dir_all(target).map_err(|e| Error::io("remove", target, e))?;
        }
        Ok(_) => return Err(refuse("it is not a directory".into())),
        Err(_) => {}
    }
    Ok(())
}

/// The manifest of a save: what the plan was made from (`lock`: the lock file's text,
/// `variables` and `plan`: the saved files' bytes).
fn manifest(
    planned: &Planned,
    lock: &str,
    variables: &[u8],
    plan: &[u8],
) -> Result<Manifest, Error> {
    let imports = planned
        .adopted_log_groups
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(Manifest {
        schema_version: SCHEMA_VERSION,
        service: planned.service.name.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        gitops_commit: planned.commit.clone(),
        terraform_version: planned.terraform_version.to_owned(),
        providers: provider_versions(lock),
        has_changes: planned.has_changes,
        inputs: Inputs {
            configs: config_hashes(planned.service, planned.gitops_dir)?,
            variables: sha256(variables),
            module: module_hashes(planned.module),
            packages: planned.vars.packages.keys().cloned().collect(),
            adopted_log_groups: imports,
            plan: sha256(plan),
        },
    })
}

/// Removes an earlier save of `service` under `dir` (one that holds a manifest), so a plan
/// that fails leaves no older plan behind to be applied.
pub fn forget(dir: &Path, service: &str) -> Result<(), Error> {
    let target = dir.join(service);
    let ours = std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir())
        && std::fs::symlink_metadata(target.join(MANIFEST)).is_ok_and(|m| m.is_file());
    if ours {
        std::fs::remove_dir_all(&target).map_err(|e| Error::io("remove", &target, e))?;
    }
    Ok(())
}
