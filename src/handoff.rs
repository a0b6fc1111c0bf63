//! The reviewed plan → apply handoff. `plan --out-dir DIR` saves, per service, the plan
//! terraform made (`plan.tfplan`), what it was made from (the module files, the variables)
//! and a manifest: the SHA-256 of every input that shapes the plan — the service's gitops
//! configs, the rendered variables, the module, the packages — the terraform and provider
//! versions, and the gitops commit (for the record only). Packages are recorded by hash, not
//! copied: they are content-addressed, and `apply` stages them again from their sources.
//!
//! `apply --plan-dir DIR` applies exactly that plan, or refuses with "stale plan: re-run
//! plan": it renders the inputs again from the checkout and compares each hash (a new
//! commit with the same inputs — the merge commit — is not stale), writes the module
//! itself and compares it, and checks the saved plan file before terraform reads it: its
//! embedded configuration and lock file must be exactly the module lambda-gitops wrote,
//! its backend the one this run names, its variables the ones rendered here. The plan dir
//! is untrusted input (it comes back as a CI artifact): only regular files inside it are
//! read, each bounded in size, names are checked, nothing in it runs. When state moved on
//! since the plan, terraform itself refuses the plan ("Saved plan is stale").
//!
//! ```text
//! DIR/<service>/manifest.json          what `apply` checks (schemaVersion 1)
//!              /plan.tfplan            the saved plan
//!              /plan.json              `terraform show -json` of it, for the record
//!              /lambda-gitops.tfvars.json
//!              /module/<file>          the module as terraform read it
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::child_env::ChildEnv;
use crate::desired::{DeploymentKey, DesiredService};
use crate::error::Error;
use crate::prepare::ServicePlan;
use crate::render::TfVars;
use crate::report::PlanFacts;
use crate::stage::hash::Hasher;
use crate::terraform::backend::BackendSettings;
use crate::terraform::module::{ModuleFiles, LOCK_FILE};
use crate::terraform::runner::Runner;
use crate::workdir::{self, WorkDir, VARS_FILE};

pub const MANIFEST: &str = "manifest.json";
pub const PLAN_FILE: &str = "plan.tfplan";
const PLAN_JSON: &str = "plan.json";
const MODULE_DIR: &str = "module";
pub const SCHEMA_VERSION: u32 = 1;

/// The most a manifest may weigh.
const MANIFEST_LIMIT: u64 = 1 << 20;
/// The most a saved plan may weigh (one service's plan is well under a megabyte).
const PLAN_LIMIT: u64 = 256 << 20;
/// The most an entry of the saved plan may weigh once unzipped.
const PLAN_ENTRY_LIMIT: u64 = 256 << 20;

/// What `plan` and `apply` do with a plan dir.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Handoff {
    #[default]
    None,
    /// `plan --out-dir DIR`.
    Save(PathBuf),
    /// `apply --plan-dir DIR`.
    Apply(PathBuf),
}

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

/// A plan dir's saved plan for one service, checked and read.
#[derive(Debug)]
pub struct Saved {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub plan: Vec<u8>,
}

fn sha256(bytes: &[u8]) -> String {
    let mut hasher = Hasher::default();
    hasher.update(bytes);
    hasher.finish().hex()
}

fn is_hex64(text: &str) -> bool {
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
fn module_hashes(module: &ModuleFiles) -> BTreeMap<String, String> {
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
fn lock_selections(lock: &str) -> BTreeMap<String, (String, Vec<String>)> {
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

/// The deployments of `vars` whose log groups the generated `import` blocks adopt, as
/// `(key, name)`; `None` when a key is not one of its deployments.
pub fn adopted(vars: &TfVars, keys: &[String]) -> Option<Vec<(DeploymentKey, String)>> {
    keys.iter()
        .map(|key| {
            let key = DeploymentKey::parse(key)?;
            let deployment = vars.deployments.get(&key)?;
            Some((key, format!("/aws/lambda/{}", deployment.function_name)))
        })
        .collect()
}

/// The deployment keys of the log groups an `import` file adopts (as lambda-gitops
/// writes it: `to = aws_cloudwatch_log_group.this["<key>"]`).
pub fn adopted_keys(imports: &str) -> Vec<String> {
    imports
        .lines()
        .filter_map(|line| {
            let rest = line
                .trim()
                .strip_prefix("to = aws_cloudwatch_log_group.this[\"")?;
            Some(rest.split('"').next()?.to_owned())
        })
        .collect()
}

/// The gitops checkout's commit, when it is a git work tree: git runs with the explicit
/// child environment (no token), stdin from null, never prompting, taking no locks.
pub fn gitops_commit(gitops_dir: &Path, env: &ChildEnv) -> Option<String> {
    let output = Command::new("git")
        .env_clear()
        .envs(env.iter())
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .current_dir(gitops_dir)
        .args(["rev-parse", "--verify", "HEAD"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let commit = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && commit.len() >= 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(commit)
}

/// What `plan --out-dir` knows of one service's plan.
pub struct Planned<'a> {
    pub service: &'a DesiredService,
    pub gitops_dir: &'a Path,
    pub work_dir: &'a WorkDir,
    pub vars: &'a TfVars,
    pub module: &'a ModuleFiles,
    pub terraform_version: &'a str,
    pub commit: Option<String>,
    pub has_changes: bool,
}

/// Saves one service's plan under `dir/<service>/`, replacing an earlier save there (a
/// directory that holds anything but a save is refused).
pub fn save(dir: &Path, planned: &Planned) -> Result<PathBuf, Error> {
    let name = &planned.service.name;
    let target = dir.join(name);
    let refuse = |message: String| Error::PlanDir {
        path: target.clone(),
        message,
    };
    match std::fs::symlink_metadata(&target) {
        Ok(meta) if meta.is_dir() => {
            let ours = std::fs::symlink_metadata(target.join(MANIFEST)).is_ok_and(|m| m.is_file());
            let empty = std::fs::read_dir(&target).is_ok_and(|mut e| e.next().is_none());
            if !ours && !empty {
                return Err(refuse(
                    "it holds files that no `plan --out-dir` wrote; choose an empty directory"
                        .into(),
                ));
            }
            std::fs::remove_dir_all(&target).map_err(|e| Error::io("remove", &target, e))?;
        }
        Ok(_) => return Err(refuse("it is not a directory".into())),
        Err(_) => {}
    }
    let module_dir = target.join(MODULE_DIR);
    std::fs::create_dir_all(&module_dir).map_err(|e| Error::io("create", &module_dir, e))?;

    let work = &planned.work_dir.path;
    let read = |name: &str| {
        let path = work.join(name);
        std::fs::read(&path).map_err(|e| Error::io("read", &path, e))
    };
    let plan = read(crate::terraform::runner::PLAN_FILE)?;
    let variables = read(VARS_FILE)?;
    let lock = std::fs::read_to_string(work.join(LOCK_FILE)).unwrap_or_default();
    for (file, text) in &planned.module.files {
        workdir::write_file(&module_dir.join(file), text.as_bytes())?;
    }
    workdir::write_file(&target.join(PLAN_FILE), &plan)?;
    workdir::write_file(&target.join(VARS_FILE), &variables)?;
    if let Ok(json) = read(crate::terraform::runner::PLAN_JSON) {
        workdir::write_file(&target.join(PLAN_JSON), &json)?;
    }
    let imports = planned
        .module
        .files
        .iter()
        .find(|(file, _)| file == crate::terraform::module::IMPORTS_FILE)
        .map(|(_, text)| adopted_keys(text))
        .unwrap_or_default();
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        service: name.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        gitops_commit: planned.commit.clone(),
        terraform_version: planned.terraform_version.to_owned(),
        providers: provider_versions(&lock),
        has_changes: planned.has_changes,
        inputs: Inputs {
            configs: config_hashes(planned.service, planned.gitops_dir)?,
            variables: sha256(&variables),
            module: module_hashes(planned.module),
            packages: planned.vars.packages.keys().cloned().collect(),
            adopted_log_groups: imports,
            plan: sha256(&plan),
        },
    };
    let mut text = serde_json::to_string_pretty(&manifest).expect("the manifest serializes");
    text.push('\n');
    // Last: a directory with a manifest is a whole save.
    workdir::write_file(&target.join(MANIFEST), text.as_bytes())?;
    Ok(target)
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

/// `apply --plan-dir`: the saved plan of `plan`'s service, checked against what this run
/// renders and writes, placed in its work dir and read. Its facts; the runner's next
/// [`Runner::apply`] applies it.
pub async fn load_plan(
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
    let terraform_version = runner.terraform().version.clone();
    let reasons = saved.differences(&Current {
        configs: config_hashes(plan.service, gitops_dir)?,
        variables: &variables,
        vars: &plan.vars,
        terraform_version: &terraform_version,
    });
    let stale = |reasons: Vec<String>| Error::StalePlan {
        service: name.clone(),
        reasons,
    };
    if !reasons.is_empty() {
        return Err(stale(reasons));
    }
    let adopted =
        adopted(&plan.vars, &saved.manifest.inputs.adopted_log_groups).ok_or_else(|| {
            stale(vec![
                "it adopts the log group of a deployment this run does not have".into(),
            ])
        })?;
    let work_dir = &plan.work_dir;
    let (facts, plan_json) = runner
        .load_saved(name, work_dir, &plan.vars, &adopted, |module| {
            saved.place(name, module, work_dir, backend)
        })
        .await?;
    check_variables(&plan_json, &variables).map_err(|message| Error::PlanDir {
        path: saved.dir.join(PLAN_FILE),
        message,
    })?;
    tracing::info!(
        "{name}: applying the plan saved in `{}`{}",
        saved.dir.display(),
        saved
            .manifest
            .gitops_commit
            .as_deref()
            .map(|c| format!(" at commit {}", &c[..c.len().min(12)]))
            .unwrap_or_default()
    );
    Ok(facts)
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

/// Reads a regular file inside `dir` (no symlink, at most `limit` bytes).
fn read_inside(dir: &Path, name: &str, limit: u64) -> Result<Vec<u8>, String> {
    let path = dir.join(name);
    let meta = std::fs::symlink_metadata(&path).map_err(|_| format!("`{name}` is missing"))?;
    if !meta.file_type().is_file() {
        return Err(format!("`{name}` is not a regular file"));
    }
    if meta.len() > limit {
        return Err(format!("`{name}` is larger than {limit} bytes"));
    }
    let file = std::fs::File::open(&path).map_err(|e| format!("`{name}`: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("`{name}`: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("`{name}` is larger than {limit} bytes"));
    }
    Ok(bytes)
}

/// Reads and checks `dir/<service>/`: the manifest's shape and the plan file's hash.
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
            return Err(Error::StalePlan {
                service: service.to_owned(),
                reasons: vec![format!("the plan dir has no plan for `{service}`")],
            })
        }
    }
    let within = |message: String| refuse(format!("{service}: {message}"));
    let text = read_inside(&service_dir, MANIFEST, MANIFEST_LIMIT).map_err(within)?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| within(format!("`{MANIFEST}` is not a manifest: {e}")))?;
    check_manifest(&manifest, service).map_err(within)?;
    let plan = read_inside(&service_dir, PLAN_FILE, PLAN_LIMIT).map_err(within)?;
    if sha256(&plan) != manifest.inputs.plan {
        return Err(within(format!(
            "`{PLAN_FILE}` is not the plan its manifest names"
        )));
    }
    Ok(Saved {
        dir: service_dir,
        manifest,
        plan,
    })
}

/// A manifest's values are of the shapes lambda-gitops writes.
fn check_manifest(manifest: &Manifest, service: &str) -> Result<(), String> {
    if manifest.schema_version != SCHEMA_VERSION {
        return Err(format!(
            "its manifest is schema version {}; this lambda-gitops reads {SCHEMA_VERSION}",
            manifest.schema_version
        ));
    }
    if manifest.service != service {
        return Err(format!(
            "its manifest is for `{}`",
            crate::problem::excerpt(&manifest.service)
        ));
    }
    let inputs = &manifest.inputs;
    let hashes = inputs
        .configs
        .values()
        .chain(inputs.module.values())
        .chain(&inputs.packages)
        .chain([&inputs.variables, &inputs.plan]);
    for hash in hashes {
        if !is_hex64(hash) {
            return Err(format!(
                "its manifest holds `{}` where a SHA-256 belongs",
                crate::problem::excerpt(hash)
            ));
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
            return Err(format!(
                "its manifest names a module file `{}`",
                crate::problem::excerpt(name)
            ));
        }
    }
    for key in &inputs.adopted_log_groups {
        if DeploymentKey::parse(key).is_none() {
            return Err(format!(
                "its manifest names a deployment `{}`",
                crate::problem::excerpt(key)
            ));
        }
    }
    Ok(())
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
                crate::error::backticked(&changed.into_iter().cloned().collect::<Vec<_>>())
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

    /// Checks the module the runner wrote (and the providers init installed) against the
    /// manifest, then the saved plan file itself, and puts it in the work dir.
    pub fn place(
        &self,
        service: &str,
        module: &ModuleFiles,
        work_dir: &WorkDir,
        backend: &BackendSettings,
    ) -> Result<(), Error> {
        let stale = |reasons: Vec<String>| Error::StalePlan {
            service: service.to_owned(),
            reasons,
        };
        if module_hashes(module) != self.manifest.inputs.module {
            return Err(stale(vec!["the module differs".into()]));
        }
        let lock = std::fs::read_to_string(work_dir.path.join(LOCK_FILE)).unwrap_or_default();
        if provider_versions(&lock) != self.manifest.providers {
            return Err(stale(vec![format!(
                "the providers differ: {:?} here, {:?} in the plan",
                provider_versions(&lock),
                self.manifest.providers
            )]));
        }
        check_plan_file(
            &self.plan,
            module,
            &lock,
            &backend.for_service(service),
            backend,
        )
        .map_err(|message| Error::PlanDir {
            path: self.dir.join(PLAN_FILE),
            message,
        })?;
        workdir::write_file(&work_dir.path.join(PLAN_FILE), &self.plan)
    }
}

/// The saved plan's own configuration, lock file and backend must be exactly what this run
/// wrote and names: terraform applies a plan with the configuration and backend inside it.
fn check_plan_file(
    plan: &[u8],
    module: &ModuleFiles,
    lock: &str,
    backend_config: &[String],
    backend: &BackendSettings,
) -> Result<(), String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(plan))
        .map_err(|e| format!("not a terraform plan file: {e}"))?;
    let mut config: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut tfplan = None;
    let mut saved_lock = None;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("not a terraform plan file: {e}"))?;
        let name = entry
            .name()
            .map_err(|e| format!("not a terraform plan file: {e}"))?
            .into_owned();
        if entry.is_dir() {
            continue;
        }
        if entry.size() > PLAN_ENTRY_LIMIT {
            return Err(format!(
                "its entry `{}` is too large",
                crate::problem::excerpt(&name)
            ));
        }
        let mut bytes = Vec::new();
        (&mut entry)
            .take(PLAN_ENTRY_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("its entry `{}`: {e}", crate::problem::excerpt(&name)))?;
        if bytes.len() as u64 > PLAN_ENTRY_LIMIT {
            return Err(format!(
                "its entry `{}` is too large",
                crate::problem::excerpt(&name)
            ));
        }
        match name.as_str() {
            "tfplan" => tfplan = Some(bytes),
            "tfstate" | "tfstate-prev" => {}
            ".terraform.lock.hcl" => saved_lock = Some(bytes),
            "tfconfig/modules.json" => {
                let modules: serde_json::Value = serde_json::from_slice(&bytes)
                    .map_err(|_| "its module manifest is not JSON".to_owned())?;
                // `[{"Key": "", "Dir": "."}]`: the root module alone.
                let only_root = modules
                    .as_array()
                    .is_some_and(|m| m.iter().all(|m| m["Key"] == "" && m["Dir"] == "."));
                if !only_root {
                    return Err("it calls modules lambda-gitops does not write".into());
                }
            }
            other => match other.strip_prefix("tfconfig/m-/") {
                Some(file) => {
                    config.insert(file.to_owned(), bytes);
                }
                None => {
                    return Err(format!(
                        "it holds `{}`, which a plan of lambda-gitops's module does not",
                        crate::problem::excerpt(other)
                    ))
                }
            },
        }
    }
    let ours: BTreeMap<String, Vec<u8>> = module
        .files
        .iter()
        .filter(|(name, _)| name != LOCK_FILE)
        .map(|(name, text)| (name.clone(), text.as_bytes().to_vec()))
        .collect();
    if config != ours {
        return Err("its configuration is not the module lambda-gitops wrote".into());
    }
    // Terraform writes the lock file anew into the plan: the same selections, its own text.
    if saved_lock.is_some_and(|saved| {
        lock_selections(&String::from_utf8_lossy(&saved)) != lock_selections(lock)
    }) {
        return Err("its provider lock file is not the one init wrote".into());
    }
    let tfplan = tfplan.ok_or("it has no plan (`tfplan`)")?;
    check_backend(&tfplan, backend.backend.name(), backend_config)
}

/// The backend stored in the plan (`tfplan`, a protocol buffer: field 13 holds the type,
/// its configuration as a MessagePack object, and the workspace) must be this run's: its
/// type, each `-backend-config` value, nothing else set, the default workspace.
fn check_backend(tfplan: &[u8], kind: &str, pairs: &[String]) -> Result<(), String> {
    let unreadable = || "its backend cannot be read".to_owned();
    let backend = protobuf_fields(tfplan)
        .ok_or_else(unreadable)?
        .into_iter()
        .find(|(field, _)| *field == 13)
        .map(|(_, bytes)| bytes)
        .ok_or_else(unreadable)?;
    let fields = protobuf_fields(backend).ok_or_else(unreadable)?;
    let field = |number: u32| fields.iter().find(|(f, _)| *f == number).map(|(_, b)| *b);
    let saved_kind = field(1).map(String::from_utf8_lossy).unwrap_or_default();
    let workspace = field(3).map(String::from_utf8_lossy).unwrap_or_default();
    let msgpack = field(2)
        .and_then(protobuf_fields)
        .and_then(|dynamic| dynamic.into_iter().find(|(f, _)| *f == 1).map(|(_, b)| b))
        .ok_or_else(unreadable)?;
    let config = rmpv::decode::read_value(&mut &msgpack[..]).map_err(|_| unreadable())?;
    if saved_kind != kind {
        return Err(format!(
            "it was made for the `{}` backend, this run names `{kind}`",
            crate::problem::excerpt(&saved_kind)
        ));
    }
    if workspace != "default" {
        return Err("it was made in another workspace".into());
    }
    let mut wanted: BTreeMap<&str, &str> = BTreeMap::new();
    for pair in pairs {
        if let Some((key, value)) = pair.split_once('=') {
            wanted.insert(key.trim(), value);
        }
    }
    let entries = config.as_map().ok_or_else(unreadable)?;
    let mut seen = 0;
    for (key, value) in entries {
        let key = key.as_str().ok_or_else(unreadable)?;
        let text = match value {
            rmpv::Value::Nil => continue,
            rmpv::Value::String(s) => s.as_str().unwrap_or_default().to_owned(),
            rmpv::Value::Boolean(b) => b.to_string(),
            rmpv::Value::Integer(i) => i.to_string(),
            rmpv::Value::F64(f) => f.to_string(),
            _ => String::from("(a structured value)"),
        };
        match wanted.get(key) {
            Some(value) if *value == text => seen += 1,
            _ => {
                return Err(format!(
                    "its backend setting `{}` is not this run's",
                    crate::problem::excerpt(key)
                ))
            }
        }
    }
    if seen != wanted.len() {
        return Err("its backend lacks a `--backend-config` setting of this run".into());
    }
    Ok(())
}

/// The length-delimited fields of a protocol buffer message, `(number, bytes)`; other wire
/// types are skipped. `None` when the bytes are not a message.
fn protobuf_fields(mut bytes: &[u8]) -> Option<Vec<(u32, &[u8])>> {
    fn varint(bytes: &mut &[u8]) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = bytes.split_first()?;
            *bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        let number = u32::try_from(key >> 3).ok()?;
        match key & 7 {
            0 => {
                varint(&mut bytes)?;
            }
            1 => bytes = bytes.get(8..)?,
            5 => bytes = bytes.get(4..)?,
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).ok()?;
                let (value, rest) = (bytes.get(..len)?, bytes.get(len..)?);
                fields.push((number, value));
                bytes = rest;
            }
            _ => return None,
        }
    }
    Some(fields)
}

/// The saved plan's variables (`show -json`) must be the ones rendered here.
pub fn check_variables(plan_json: &str, vars_json: &[u8]) -> Result<(), String> {
    let plan: serde_json::Value =
        serde_json::from_str(plan_json).map_err(|_| "its JSON cannot be read".to_owned())?;
    let ours: serde_json::Value =
        serde_json::from_slice(vars_json).map_err(|_| "the variables cannot be read".to_owned())?;
    let ours = ours.as_object().ok_or("the variables are not an object")?;
    for (name, value) in ours {
        if plan["variables"][name]["value"] != *value {
            return Err(format!(
                "its variable `{name}` is not the one rendered here"
            ));
        }
    }
    Ok(())
}

/// Terraform refused a saved plan because the state changed since it was made.
pub fn state_moved_on(terraform_output: &[String]) -> bool {
    terraform_output
        .iter()
        .any(|line| line.contains("Saved plan is stale"))
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
    fn adopted_log_groups_are_read_back_from_the_generated_imports() {
        let text = crate::render::log_group_imports(&[
            (DeploymentKey::Staging, "/aws/lambda/a".into()),
            (DeploymentKey::Preview(7), "/aws/lambda/b".into()),
        ]);
        assert_eq!(adopted_keys(&text), ["staging", "pr-7"]);
    }

    #[test]
    fn the_backend_of_a_plan_file_is_read_from_its_protocol_buffer() {
        // field 13 { 1: "s3", 2: { 1: msgpack {bucket: "b", key: "k", encrypt: nil} }, 3: "default" }
        let mut config = Vec::new();
        let map = rmpv::Value::Map(vec![
            ("bucket".into(), "state".into()),
            ("key".into(), "lambda/a.tfstate".into()),
            ("encrypt".into(), rmpv::Value::Nil),
            ("use_lockfile".into(), true.into()),
        ]);
        rmpv::encode::write_value(&mut config, &map).unwrap();
        let field = |number: u8, bytes: &[u8]| {
            let mut out = vec![(number << 3) | 2, bytes.len() as u8];
            out.extend_from_slice(bytes);
            out
        };
        let dynamic = field(1, &config);
        let mut backend = field(1, b"s3");
        backend.extend(field(2, &dynamic));
        backend.extend(field(3, b"default"));
        let mut tfplan = vec![0x08, 0x01]; // a varint field first
        tfplan.extend(field(13, &backend));
        let ours = [
            "bucket=state".to_owned(),
            "key=lambda/a.tfstate".to_owned(),
            "use_lockfile=true".to_owned(),
        ];
        assert_eq!(check_backend(&tfplan, "s3", &ours), Ok(()));
        let other = [
            "bucket=state".to_owned(),
            "key=lambda/b.tfstate".to_owned(),
            "use_lockfile=true".to_owned(),
        ];
        assert_eq!(
            check_backend(&tfplan, "s3", &other),
            Err("its backend setting `key` is not this run's".to_owned())
        );
        assert!(check_backend(&tfplan, "local", &ours).is_err());
        assert!(check_backend(&tfplan, "s3", &ours[..2]).is_err());
        assert!(check_backend(b"\xff\xff", "s3", &ours).is_err());
        assert!(check_backend(&[], "s3", &ours).is_err());
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
    }
}
