//! `apply --plan-dir`: the saved plan read as untrusted evidence, and the plan this run makes
//! itself applied only when it does what was reviewed (see the module's doc in `mod.rs`).

use super::refusal::Refusal;
use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::compare;
use super::manifest::{check_manifest, config_hashes, module_hashes, provider_versions, Manifest};
use super::plan_file::{self, PlanFile};
use super::provenance;
use super::{sha256, MANIFEST, PLAN_FILE, PLAN_JSON};
use crate::error::Error;
use crate::hash::Hasher;
use crate::render::TfVars;
use crate::report::PlanFacts;
use crate::run::prepare::ServicePlan;
use crate::run::runner::{self, Runner};
use crate::terraform::backend::BackendSettings;
use crate::terraform::module::{ModuleFiles, LOCK_FILE};
use crate::workdir::{WorkDir, VARS_FILE};

/// The most a manifest may weigh.
const MANIFEST_LIMIT: u64 = 1 << 20;
/// The most the reviewed plan's JSON may weigh.
const REVIEWED_LIMIT: u64 = 16 << 20;
/// The most differences an error lists.
const SHOWN_DIFFERENCES: usize = 10;

/// A plan dir's saved plan for one service, checked and read.
#[derive(Debug)]
pub struct Saved {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub plan: PlanFile,
    /// `plan.json`: what was reviewed (none for a plan without changes).
    pub reviewed: Option<Value>,
}

/// `apply --plan-dir`: checks the saved plan of `plan`'s service, makes this run's own plan,
/// and returns its facts when it does what the saved one was reviewed to do; the runner's
/// next [`Runner::apply`] applies this run's plan — never the saved file.
pub async fn plan_reviewed(
    runner: &mut Runner,
    dir: &Path,
    plan: &ServicePlan<'_>,
    gitops_dir: &Path,
    backend: &BackendSettings,
) -> Result<PlanFacts, Error> {
    let name = &plan.service.name;
    let saved = load(dir, name)?;
    let vars_path = plan.work_dir.path.join(VARS_FILE);
    let variables = std::fs::read(&vars_path).map_err(|e| Error::io("read", &vars_path, e))?;
    let reasons = saved.differences(&Current {
        configs: config_hashes(plan.service, gitops_dir)?,
        variables: &variables,
        vars: &plan.vars,
        terraform_version: &runner.terraform().version,
    });
    if !reasons.is_empty() {
        return Err(stale(name, reasons));
    }
    provenance::check_intent(&saved.plan).map_err(|message| saved.refuse(message))?;

    // This run's own plan, from the merged checkout and the current state.
    runner.hold_early_apply();
    let facts = runner.plan(name, &plan.work_dir, &plan.vars).await?;
    let module = runner
        .written_module()
        .cloned()
        .ok_or_else(|| saved.refuse("a plan of `--module-dir` cannot be handed over"))?;
    saved.check_made_like(name, &module, &plan.work_dir, backend)?;
    saved.check_same_state(name, &plan.work_dir)?;
    saved.check_same_changes(name, &plan.work_dir, facts.has_changes)?;
    tracing::info!(
        "{name}: this run's plan does what the plan saved in `{}` was reviewed to do{}",
        saved.dir.display(),
        saved
            .manifest
            .gitops_commit
            .as_deref()
            .map(|c| format!(" (reviewed at commit {})", &c[..c.len().min(12)]))
            .unwrap_or_default()
    );
    Ok(facts)
}

fn stale(service: &str, reasons: Vec<String>) -> Error {
    Error::StalePlan {
        service: service.to_owned(),
        reasons,
    }
}

/// An apply that terraform refused because the state moved on since the plan was made is a
/// stale plan; any other error stays what it is.
pub fn stale_if_state_moved_on(error: Error, service: &str) -> Error {
    match &error {
        Error::TerraformFailed(failure) if state_moved_on(&failure.tail) => Error::StalePlan {
            service: service.to_owned(),
            reasons: vec!["the state changed since the plan was made".into()],
        },
        _ => error,
    }
}

/// Opens a regular file inside `dir` (no symlink, at most `limit` bytes).
fn open_inside(dir: &Path, name: &str, limit: u64) -> Result<std::fs::File, Refusal> {
    let path = dir.join(name);
    let meta = std::fs::symlink_metadata(&path).map_err(|_| Refusal::Missing(name.to_owned()))?;
    if !meta.file_type().is_file() {
        return Err(Refusal::NotAFile(name.to_owned()));
    }
    if meta.len() > limit {
        return Err(too_large(name, limit));
    }
    std::fs::File::open(&path).map_err(|e| unreadable(name, e))
}

/// Reads a regular file inside `dir` (no symlink, at most `limit` bytes).
fn read_inside(dir: &Path, name: &str, limit: u64) -> Result<Vec<u8>, Refusal> {
    let file = open_inside(dir, name, limit)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(name, e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(name, limit));
    }
    Ok(bytes)
}

fn too_large(name: &str, limit: u64) -> Refusal {
    Refusal::TooLarge {
        name: name.to_owned(),
        limit,
    }
}

fn unreadable(name: &str, error: std::io::Error) -> Refusal {
    Refusal::Unreadable {
        name: name.to_owned(),
        reason: error.to_string(),
    }
}

/// A plan JSON document inside `dir`.
fn read_json(dir: &Path, name: &str, limit: u64) -> Result<Value, Refusal> {
    let bytes = read_inside(dir, name, limit)?;
    serde_json::from_slice(&bytes).map_err(|_| Refusal::NotPlanJson(name.to_owned()))
}

/// The SHA-256 (hex) of what `reader` holds, read to its end.
fn sha256_of(reader: &mut impl Read) -> std::io::Result<String> {
    let mut hasher = Hasher::default();
    let mut buffer = vec![0; 1 << 16];
    loop {
        match reader.read(&mut buffer)? {
            0 => return Ok(hasher.finish().hex()),
            read => hasher.update(&buffer[..read]),
        }
    }
}

/// Reads and checks `dir/<service>/`: the manifest's shape, the plan file's hash and
/// contents (bounded), and the reviewed JSON.
pub fn load(dir: &Path, service: &str) -> Result<Saved, Error> {
    let refuse = |message: String| Error::PlanDir {
        path: dir.to_path_buf(),
        message,
    };
    let meta = std::fs::symlink_metadata(dir).map_err(|e| refuse(e.to_string()))?;
    if !meta.is_dir() {
        return Err(refuse("it is not a directory".into()));
    }
    let service_dir = dir.join(service);
    match std::fs::symlink_metadata(&service_dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(refuse(format!("`{service}` is not a directory"))),
        Err(_) => {
            return Err(stale(
                service,
                vec![format!("the plan dir has no plan for `{service}`")],
            ))
        }
    }
    let within = |message: String| refuse(format!("{service}: {message}"));
    let text = read_inside(&service_dir, MANIFEST, MANIFEST_LIMIT)
        .map_err(|refusal| within(refusal.to_string()))?;
    if serde_json::from_slice::<super::unchanged::UnchangedManifest>(&text).is_ok() {
        return Err(within(
            "it was checked against its last apply without terraform: no plan was saved".into(),
        ));
    }
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| {
        within(format!(
            "`{MANIFEST}` is not a manifest: {}",
            crate::problem::excerpt(&e.to_string())
        ))
    })?;
    check_manifest(&manifest, service).map_err(|refusal| within(refusal.to_string()))?;
    let mut file = open_inside(&service_dir, PLAN_FILE, plan_file::FILE_LIMIT)
        .map_err(|refusal| within(refusal.to_string()))?;
    let hash = sha256_of(&mut file).map_err(|e| within(format!("`{PLAN_FILE}`: {e}")))?;
    if hash != manifest.inputs.plan {
        return Err(within(format!(
            "`{PLAN_FILE}` is not the plan its manifest names"
        )));
    }
    file.rewind()
        .map_err(|e| within(format!("`{PLAN_FILE}`: {e}")))?;
    let plan = PlanFile::read(&mut file).map_err(|m| within(format!("`{PLAN_FILE}`: {m}")))?;
    let reviewed = match manifest.has_changes {
        true => Some(
            read_json(&service_dir, PLAN_JSON, REVIEWED_LIMIT)
                .map_err(|refusal| within(refusal.to_string()))?,
        ),
        false => None,
    };
    Ok(Saved {
        dir: service_dir,
        manifest,
        plan,
        reviewed,
    })
}

/// What this run would plan from, to compare with a saved plan's manifest.
pub struct Current<'a> {
    pub configs: BTreeMap<String, String>,
    pub variables: &'a [u8],
    pub vars: &'a TfVars,
    pub terraform_version: &'a str,
}

impl Saved {
    /// Why the saved plan is not the plan of these inputs; empty when it is. The commit is
    /// not an input.
    pub fn differences(&self, current: &Current) -> Vec<String> {
        let inputs = &self.manifest.inputs;
        let mut reasons = Vec::new();
        if inputs.configs != current.configs {
            let mut changed: Vec<&String> = inputs
                .configs
                .iter()
                .filter(|(name, hash)| current.configs.get(*name) != Some(*hash))
                .map(|(name, _)| name)
                .collect();
            changed.extend(
                current
                    .configs
                    .keys()
                    .filter(|name| !inputs.configs.contains_key(*name)),
            );
            reasons.push(format!(
                "the gitops config changed: {}",
                crate::problem::backticked(
                    &changed
                        .into_iter()
                        .map(|name| crate::problem::excerpt(name))
                        .collect::<Vec<_>>()
                )
            ));
        }
        if inputs.variables != sha256(current.variables) {
            reasons.push("the rendered variables differ".to_owned());
        }
        let packages: Vec<String> = current.vars.packages.keys().cloned().collect();
        if inputs.packages != packages {
            reasons.push("the package hashes differ".to_owned());
        }
        if self.manifest.terraform_version != current.terraform_version {
            reasons.push(format!(
                "terraform is {}, the plan was made with {}",
                current.terraform_version, self.manifest.terraform_version
            ));
        }
        reasons
    }

    /// The module this run's plan was made with (and the providers init installed) must be
    /// the one in the manifest, and the saved plan's own configuration, lock file and backend
    /// exactly what this run wrote and names.
    fn check_made_like(
        &self,
        service: &str,
        module: &ModuleFiles,
        work_dir: &WorkDir,
        backend: &BackendSettings,
    ) -> Result<(), Error> {
        if module_hashes(module) != self.manifest.inputs.module {
            return Err(stale(service, vec!["the module differs".into()]));
        }
        let lock = std::fs::read_to_string(work_dir.path.join(LOCK_FILE)).unwrap_or_default();
        if provider_versions(&lock) != self.manifest.providers {
            return Err(stale(
                service,
                vec![format!(
                    "the providers differ: {:?} here, {:?} in the plan",
                    provider_versions(&lock),
                    self.manifest.providers
                )],
            ));
        }
        provenance::check_made_from(
            &self.plan,
            module,
            &lock,
            &backend.for_service(service),
            backend,
        )
        .map_err(|message| self.refuse(message))
    }

    /// This run's plan was made against the state the saved one was (terraform's own test:
    /// the state's lineage and serial).
    fn check_same_state(&self, service: &str, work_dir: &WorkDir) -> Result<(), Error> {
        let path = work_dir.path.join(runner::PLAN_FILE);
        let ours = std::fs::File::open(&path)
            .map_err(|e| e.to_string())
            .and_then(|file| PlanFile::read(file).map_err(|refusal| refusal.to_string()))
            .map_err(|message| Error::PlanJson { path, message })?;
        if ours.prior_state != self.plan.prior_state {
            return Err(stale(
                service,
                vec!["the state changed since the plan was made".into()],
            ));
        }
        Ok(())
    }

    /// What this run's plan does is what the reviewed `plan.json` showed.
    fn check_same_changes(
        &self,
        service: &str,
        work_dir: &WorkDir,
        has_changes: bool,
    ) -> Result<(), Error> {
        let now =
            match has_changes {
                true => read_json(&work_dir.path, runner::PLAN_JSON, REVIEWED_LIMIT).map_err(
                    |refusal| Error::PlanJson {
                        path: work_dir.path.join(runner::PLAN_JSON),
                        message: refusal.to_string(),
                    },
                )?,
                false => Value::Null,
            };
        let differences =
            compare::differences(self.reviewed.as_ref().unwrap_or(&Value::Null), &now);
        let mut shown: Vec<String> = differences
            .iter()
            .take(SHOWN_DIFFERENCES)
            .map(ToString::to_string)
            .collect();
        if has_changes != self.manifest.has_changes {
            shown.push(match has_changes {
                true => "the reviewed plan had no changes; a plan now has some".into(),
                false => "the reviewed plan had changes; a plan now has none".into(),
            });
        }
        if shown.is_empty() {
            return Ok(());
        }
        Err(Error::NotReviewed {
            service: service.to_owned(),
            shown,
            more: differences.len().saturating_sub(SHOWN_DIFFERENCES),
        })
    }

    fn refuse(&self, reason: impl std::fmt::Display) -> Error {
        Error::PlanDir {
            path: self.dir.join(PLAN_FILE),
            message: reason.to_string(),
        }
    }
}

/// Terraform refused a saved plan because the state changed since it was made.
pub fn state_moved_on(terraform_output: &[String]) -> bool {
    terraform_output
        .iter()
        .any(|line| line.contains("Saved plan is stale"))
}
