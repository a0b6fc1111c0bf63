//! The directories terraform reads, lambda-gitops's alone.
//!
//! `<work-dir>/` lies outside the gitops checkout (on a pull request every file there is the
//! author's) and is locked for a whole run: `lambda-gitops.lock` holds the pid of the run
//! that has it. `<work-dir>/<service>/` holds exactly what lambda-gitops writes:
//! `packages/<sha256-hex>.zip` (hard links to the cache where possible, copies otherwise),
//! the variables `lambda-gitops.tfvars.json` (passed with `-var-file`; terraform auto-loads
//! no file of that name), the module with its lock file and backend
//! ([`crate::terraform::module`]), terraform's data dir `.terraform/` (`TF_DATA_DIR`, kept
//! only when lambda-gitops's marker is in it), `plan.tfplan`, `plan.json` and, with the local
//! backend, the state. Anything else terraform would read is removed before it runs.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use crate::hash::{Digest, Hasher};
use crate::io_error::IoError;
use crate::process::interrupts::Interrupt;

/// The variables, passed with `-var-file`: a name terraform never loads by itself.
pub const VARS_FILE: &str = "lambda-gitops.tfvars.json";
/// In the work dir root: locked for a run, holding its pid. Beside the per-service dirs, so
/// its name holds a dot, which a service name never does (`validate::rules::service_name`).
pub const LOCK_FILE: &str = "lambda-gitops.lock";
/// Terraform's data dir (`TF_DATA_DIR`) inside a service's work dir.
pub const DATA_DIR: &str = ".terraform";
/// In the data dir: written by lambda-gitops after each init (see [`Marker`]).
pub const DATA_DIR_MARKER: &str = "lambda-gitops-init.json";
const PACKAGES_DIR: &str = "packages";
/// How long a command without `--lock-timeout` (`vars`) waits for the work dir lock.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(300);
/// Files terraform writes itself and lambda-gitops keeps: the state (local backend) and
/// its lock, the saved plan and its JSON.
const TERRAFORM_OUTPUTS: [&str; 5] = [
    "terraform.tfstate",
    "terraform.tfstate.backup",
    ".terraform.tfstate.lock.info",
    "plan.tfplan",
    "plan.json",
];

/// `$RUNNER_TEMP/lambda-gitops` on a CI runner, else `<cache-dir>/work/<16 hex digits of
/// the SHA-256 of the canonical gitops dir>`: one work dir per gitops checkout.
pub fn default_root(runner_temp: Option<&Path>, cache_dir: &Path, gitops_dir: &Path) -> PathBuf {
    if let Some(temp) = runner_temp {
        return temp.join("lambda-gitops");
    }
    let canonical = gitops_dir
        .canonicalize()
        .unwrap_or_else(|_| gitops_dir.to_path_buf());
    let mut hasher = Hasher::default();
    hasher.update(canonical.as_os_str().as_encoded_bytes());
    cache_dir.join("work").join(&hasher.finish().hex()[..16])
}

/// `path` absolute with every symlink resolved, even when it does not exist yet: its
/// nearest existing ancestor is canonicalized and the rest applied by name (those parts do
/// not exist, so none is a symlink).
pub fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let absolute = std::path::absolute(path)?;
    let components: Vec<Component> = absolute.components().collect();
    for existing in (1..=components.len()).rev() {
        let prefix: PathBuf = components[..existing].iter().collect();
        match prefix.canonicalize() {
            Ok(mut resolved) => {
                for component in &components[existing..] {
                    match component {
                        Component::ParentDir => {
                            resolved.pop();
                        }
                        Component::Normal(name) => resolved.push(name),
                        _ => {}
                    }
                }
                return Ok(resolved);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(absolute)
}

/// What goes wrong with the work dir: a file operation, a directory inside the checkout,
/// a lock another run holds, or an interrupt while waiting for it.
#[derive(Debug, thiserror::Error)]
pub enum WorkdirError {
    #[error(transparent)]
    Io(#[from] IoError),

    #[error("{what} `{}` is inside the checkout `{}`: terraform would read whatever a pull request commits there", path.display(), checkout.display())]
    InsideCheckout {
        what: String,
        path: PathBuf,
        checkout: PathBuf,
    },

    #[error("the work dir `{}` is in use by {}", path.display(), pid.map(|pid| format!("pid {pid}")).unwrap_or_else(|| "another run".to_owned()))]
    Locked { path: PathBuf, pid: Option<u32> },

    #[error("interrupted by {:?} while waiting for the work dir lock", .0.signal())]
    Interrupted(Interrupt),
}

impl WorkdirError {
    fn io(action: &'static str, path: &Path, error: std::io::Error) -> Self {
        Self::Io(IoError::new(action, path, error))
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Self::InsideCheckout { .. } => Some(
                "leave `--work-dir` and `--cache-dir` out (the defaults lie outside it) or choose directories outside the checkout".into(),
            ),
            Self::Locked { .. } => Some(
                "wait for that run to finish, raise `--lock-timeout`, or give this run its own `--work-dir`".into(),
            ),
            Self::Io(_) | Self::Interrupted(_) => None,
        }
    }
}

/// Refuses `dir` (a work or cache dir, named in messages as `what`) inside `checkout`, the
/// canonical root of the gitops checkout.
pub fn refuse_inside_checkout(what: &str, dir: &Path, checkout: &Path) -> Result<(), WorkdirError> {
    let resolved = resolve(dir).map_err(|e| WorkdirError::io("resolve", dir, e))?;
    if resolved.starts_with(checkout) {
        return Err(WorkdirError::InsideCheckout {
            what: what.to_owned(),
            path: dir.to_path_buf(),
            checkout: checkout.to_path_buf(),
        });
    }
    Ok(())
}

/// Takes the lock on `file` (the work dir `path`'s `lock_path`), trying every 100 ms until
/// `timeout` and saying once who holds it; stops when `interrupted` says so.
async fn wait_for_lock(
    file: &std::fs::File,
    lock_path: &Path,
    path: &Path,
    timeout: Duration,
    interrupted: impl Fn() -> Option<Interrupt>,
) -> Result<(), WorkdirError> {
    let deadline = Instant::now() + timeout;
    let mut announced = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid = read_pid(lock_path);
                if Instant::now() >= deadline {
                    return Err(WorkdirError::Locked {
                        path: path.to_path_buf(),
                        pid,
                    });
                }
                if !announced {
                    announced = true;
                    tracing::warn!(
                        "waiting for the work dir lock held by {} on `{}` (up to {}s)…",
                        pid.map(|pid| format!("pid {pid}"))
                            .unwrap_or_else(|| "another run".to_owned()),
                        path.display(),
                        timeout.as_secs()
                    );
                }
                if let Some(signal) = interrupted() {
                    return Err(WorkdirError::Interrupted(signal));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(WorkdirError::io("lock", lock_path, e))
            }
        }
    }
}

/// The locked work dir root: released when dropped (or when the process dies).
#[derive(Debug)]
pub struct WorkRoot {
    path: PathBuf,
    checkout: PathBuf,
    _lock: std::fs::File,
}

impl WorkRoot {
    /// Creates `path` and takes its lock, waiting up to `timeout` for another run to release
    /// it; `interrupted` is asked while waiting.
    pub async fn lock(
        path: &Path,
        checkout: &Path,
        timeout: Duration,
        interrupted: impl Fn() -> Option<Interrupt>,
    ) -> Result<Self, WorkdirError> {
        refuse_inside_checkout("the work dir", path, checkout)?;
        std::fs::create_dir_all(path)
            .map_err(|e| WorkdirError::io("create the work dir", path, e))?;
        let path = path
            .canonicalize()
            .map_err(|e| WorkdirError::io("resolve the work dir", path, e))?;
        refuse_inside_checkout("the work dir", &path, checkout)?;
        let lock_path = path.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| WorkdirError::io("open", &lock_path, e))?;
        wait_for_lock(&file, &lock_path, &path, timeout, interrupted).await?;
        let record = || -> std::io::Result<()> {
            file.set_len(0)?;
            (&file).write_all(format!("{}\n", std::process::id()).as_bytes())
        };
        record().map_err(|e| WorkdirError::io("write", &lock_path, e))?;
        Ok(Self {
            path,
            checkout: checkout.to_path_buf(),
            _lock: file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `<root>/<service>/`, created as a real directory (a symlink there is removed).
    pub fn service(&self, service: &str) -> Result<WorkDir, WorkdirError> {
        let path = self.path.join(service);
        for dir in [path.clone(), path.join(PACKAGES_DIR)] {
            if is_symlink(&dir) {
                std::fs::remove_file(&dir).map_err(|e| WorkdirError::io("remove", &dir, e))?;
            }
            std::fs::create_dir_all(&dir)
                .map_err(|e| WorkdirError::io("create the work dir", &dir, e))?;
        }
        refuse_inside_checkout("the work dir", &path, &self.checkout)?;
        Ok(WorkDir { path })
    }
}

fn read_pid(lock_path: &Path) -> Option<u32> {
    std::fs::read_to_string(lock_path).ok()?.trim().parse().ok()
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink())
}

fn is_regular_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_file())
}

/// Writes `bytes` to `path` through a temp file and a rename: a symlink at `path` is
/// replaced, never written through. An identical regular file is left alone.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    if is_regular_file(path) && std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let io = |e| IoError::new("write", path, e);
    let mut temp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .map_err(io)?;
    temp.write_all(bytes).map_err(io)?;
    temp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Whether terraform (or OpenTofu) would read a file of this name in its working directory:
/// configuration, variables, overrides, lock and CLI files, tests, version pins of version
/// managers, and the implied provider mirror `terraform.d/`. State (`terraform.tfstate*`) is
/// data terraform keeps there itself and is never removed.
pub fn terraform_reads(name: &str) -> bool {
    const SUFFIXES: [&str; 12] = [
        ".tf",
        ".tf.json",
        ".tofu",
        ".tofu.json",
        ".tfvars",
        ".tfvars.json",
        ".tftest.hcl",
        ".tftest.json",
        ".tofutest.hcl",
        ".tofutest.json",
        ".tfmock.hcl",
        ".tfmock.json",
    ];
    const NAMES: [&str; 6] = [
        ".terraform.lock.hcl",
        ".terraformrc",
        "terraform.rc",
        "terraform.d",
        ".terraform-version",
        ".opentofu-version",
    ];
    NAMES.contains(&name) || SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
}

/// What lambda-gitops records in the data dir after an init.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Marker {
    /// The module, backend settings and terraform the init was for.
    pub fingerprint: String,
    /// SHA-256 hex of `.terraform.lock.hcl` as the init left it.
    pub lock_file: Option<String>,
}

/// A service's Terraform work dir.
pub struct WorkDir {
    /// Absolute; terraform runs with this as its cwd.
    pub path: PathBuf,
}

impl WorkDir {
    /// Where a package lives, relative to the work dir (terraform's cwd): the same on every
    /// runner, so a plan made in another directory does not see the upload's `source` change.
    pub fn relative_package_path(digest: &Digest) -> String {
        format!("{PACKAGES_DIR}/{}.zip", digest.hex())
    }

    /// Places each package (its digest, the file on disk) under `packages/` and removes
    /// everything else there.
    pub fn place_packages<'a>(
        &self,
        packages: impl IntoIterator<Item = (&'a Digest, &'a Path)>,
    ) -> Result<(), WorkdirError> {
        let mut wanted = Vec::new();
        for (digest, file) in packages {
            let target = self.path.join(Self::relative_package_path(digest));
            wanted.push(target.clone());
            if is_regular_file(&target) {
                continue; // content-addressed: an existing file is this package
            }
            let io = |e| WorkdirError::io("place the package", &target, e);
            let temp = target.with_extension("zip.partial");
            let _ = std::fs::remove_file(&temp);
            if std::fs::hard_link(file, &temp).is_err() {
                std::fs::copy(file, &temp).map_err(io)?;
            }
            std::fs::rename(&temp, &target).map_err(io)?;
        }
        let dir = self.path.join(PACKAGES_DIR);
        let entries = std::fs::read_dir(&dir).map_err(|e| WorkdirError::io("list", &dir, e))?;
        for entry in entries.flatten() {
            if !wanted.contains(&entry.path()) {
                remove(&entry.path())?;
            }
        }
        Ok(())
    }

    /// Writes the variables file terraform reads.
    pub fn write_vars(&self, vars: &impl serde::Serialize) -> Result<(), WorkdirError> {
        let mut text = serde_json::to_string_pretty(vars).expect("variables serialize");
        text.push('\n');
        Ok(write_file(&self.path.join(VARS_FILE), text.as_bytes())?)
    }

    /// Terraform's data dir, passed as `TF_DATA_DIR`.
    pub fn data_dir(&self) -> PathBuf {
        self.path.join(DATA_DIR)
    }

    /// Removes every entry terraform would read (see [`terraform_reads`]) that is not one of
    /// `written`, the files lambda-gitops wrote for this run; returns their names.
    pub fn scrub(&self, written: &[&str]) -> Result<Vec<String>, WorkdirError> {
        let entries =
            std::fs::read_dir(&self.path).map_err(|e| WorkdirError::io("list", &self.path, e))?;
        let mut removed = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = written.contains(&name.as_str())
                || name == VARS_FILE
                || name == DATA_DIR
                || name == PACKAGES_DIR
                || TERRAFORM_OUTPUTS.contains(&name.as_str());
            if !ours && terraform_reads(&name) {
                remove(&entry.path())?;
                removed.push(name);
            }
        }
        removed.sort();
        Ok(removed)
    }

    /// Removes the last run's saved plan, so nothing can apply or report a stale one.
    pub fn clear_plan(&self) -> Result<(), WorkdirError> {
        for name in ["plan.tfplan", "plan.json"] {
            let path = self.path.join(name);
            if std::fs::symlink_metadata(&path).is_ok() {
                remove(&path)?;
            }
        }
        Ok(())
    }

    /// The marker of the init that made the data dir. A data dir without one (not made by
    /// lambda-gitops, or by an init that never finished) is deleted, as is anything at its
    /// place that is not a plain directory.
    pub fn data_dir_marker(&self) -> Result<Option<Marker>, WorkdirError> {
        let dir = self.data_dir();
        let Ok(meta) = std::fs::symlink_metadata(&dir) else {
            return Ok(None);
        };
        let marker_path = dir.join(DATA_DIR_MARKER);
        let marker = (meta.is_dir() && is_regular_file(&marker_path))
            .then(|| std::fs::read_to_string(&marker_path).ok())
            .flatten()
            .and_then(|text| serde_json::from_str::<Marker>(&text).ok());
        if marker.is_none() {
            tracing::warn!(
                "`{}` was not made by lambda-gitops; removing it",
                dir.display()
            );
            remove(&dir)?;
        }
        Ok(marker)
    }

    pub fn write_data_dir_marker(&self, marker: &Marker) -> Result<(), WorkdirError> {
        let dir = self.data_dir();
        std::fs::create_dir_all(&dir).map_err(|e| WorkdirError::io("create", &dir, e))?;
        let text = serde_json::to_string(marker).expect("the marker serializes");
        Ok(write_file(&dir.join(DATA_DIR_MARKER), text.as_bytes())?)
    }
}

/// Removes a file, a symlink (never what it points at) or a directory tree.
fn remove(path: &Path) -> Result<(), WorkdirError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WorkdirError::io("inspect", path, e)),
    };
    let result = if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    result.map_err(|e| WorkdirError::io("remove", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_do_not_exist_yet_resolve_through_their_existing_ancestor() {
        let temp = tempfile::tempdir().unwrap();
        let base = temp.path().canonicalize().unwrap();
        std::fs::create_dir(base.join("checkout")).unwrap();
        std::os::unix::fs::symlink(base.join("checkout"), base.join("link")).unwrap();
        assert_eq!(
            resolve(&base.join("link/new/deeper")).unwrap(),
            base.join("checkout/new/deeper")
        );
        assert_eq!(
            resolve(&base.join("elsewhere/../checkout/x")).unwrap(),
            base.join("checkout/x")
        );
        let checkout = base.join("checkout");
        assert!(refuse_inside_checkout("w", &base.join("link/.lambda-gitops"), &checkout).is_err());
        assert!(refuse_inside_checkout("w", &checkout, &checkout).is_err());
        assert!(refuse_inside_checkout("w", &base.join("checkout-work"), &checkout).is_ok());
        assert!(refuse_inside_checkout("w", &base.join("checkout/../work"), &checkout).is_ok());
    }

    #[test]
    fn the_default_work_dir_is_per_gitops_dir_or_under_the_runner_temp() {
        let a = default_root(None, Path::new("/c"), Path::new("/nonexistent/a"));
        let b = default_root(None, Path::new("/c"), Path::new("/nonexistent/b"));
        assert_ne!(a, b);
        assert!(a.starts_with("/c/work"), "{a:?}");
        assert_eq!(a.file_name().unwrap().len(), 16);
        assert_eq!(
            default_root(Some(Path::new("/rt")), Path::new("/c"), Path::new("/g")),
            Path::new("/rt/lambda-gitops")
        );
    }

    #[test]
    fn scrubbing_removes_what_terraform_would_read_and_keeps_what_lambda_gitops_wrote() {
        let temp = tempfile::tempdir().unwrap();
        let work = WorkDir {
            path: temp.path().to_path_buf(),
        };
        for name in [
            "main.tf",
            "x.auto.tfvars.json",
            "terraform.tfvars",
            "override.tf",
            "extra_override.tf.json",
            "evil.tofu",
            ".terraform.lock.hcl",
            VARS_FILE,
            "terraform.tfstate",
            "notes.txt",
        ] {
            std::fs::write(temp.path().join(name), "x").unwrap();
        }
        std::fs::create_dir_all(temp.path().join("terraform.d/plugins")).unwrap();
        let removed = work.scrub(&["main.tf"]).unwrap();
        assert_eq!(
            removed,
            [
                ".terraform.lock.hcl",
                "evil.tofu",
                "extra_override.tf.json",
                "override.tf",
                "terraform.d",
                "terraform.tfvars",
                "x.auto.tfvars.json"
            ]
        );
        for kept in ["main.tf", VARS_FILE, "terraform.tfstate", "notes.txt"] {
            assert!(temp.path().join(kept).exists(), "{kept}");
        }
    }

    #[test]
    fn a_data_dir_without_lambda_gitops_marker_is_deleted() {
        let temp = tempfile::tempdir().unwrap();
        let work = WorkDir {
            path: temp.path().to_path_buf(),
        };
        let provider = work.data_dir().join("providers/x/terraform-provider-aws");
        std::fs::create_dir_all(provider.parent().unwrap()).unwrap();
        std::fs::write(&provider, "#!/bin/sh").unwrap();
        assert_eq!(work.data_dir_marker().unwrap(), None);
        assert!(!work.data_dir().exists());

        let marker = Marker {
            fingerprint: "f".into(),
            lock_file: None,
        };
        work.write_data_dir_marker(&marker).unwrap();
        std::fs::create_dir_all(provider.parent().unwrap()).unwrap();
        assert_eq!(work.data_dir_marker().unwrap(), Some(marker));
        assert!(provider.parent().unwrap().exists());

        // A symlink in its place goes; what it points at stays.
        std::fs::remove_dir_all(work.data_dir()).unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), work.data_dir()).unwrap();
        assert_eq!(work.data_dir_marker().unwrap(), None);
        assert!(!is_symlink(&work.data_dir()));
        assert!(elsewhere.path().exists());
    }
}
