//! A service's Terraform work dir, `<work-dir>/<service>/`: the staged packages (hard
//! links to the cache where possible, copies otherwise) under `packages/<sha256-hex>.zip`,
//! `terraform.tfvars.json`, and later the module, `plan.tfplan` and `plan.json`.
//! Everything a later `terraform apply` reads is inside it, named relative to it.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::render::TfVars;
use crate::stage::{Staged, StagedPackage};

pub const TFVARS_FILE: &str = "terraform.tfvars.json";
const PACKAGES_DIR: &str = "packages";

pub struct WorkDir {
    /// Absolute; terraform runs with this as its cwd.
    pub path: PathBuf,
}

impl WorkDir {
    pub fn create(work_root: &Path, service: &str) -> Result<Self, Error> {
        let path = work_root.join(service);
        std::fs::create_dir_all(path.join(PACKAGES_DIR))
            .map_err(|e| Error::io("create the work dir", &path, e))?;
        let path = path
            .canonicalize()
            .map_err(|e| Error::io("resolve the work dir", &path, e))?;
        Ok(Self { path })
    }

    /// Where a package lives, relative to the work dir (terraform's cwd): the same on every
    /// runner, so a plan made in another directory does not see the upload's `source` change.
    pub fn relative_package_path(package: &StagedPackage) -> String {
        format!("{PACKAGES_DIR}/{}.zip", package.digest.hex())
    }

    fn package_path(&self, package: &StagedPackage) -> PathBuf {
        self.path.join(Self::relative_package_path(package))
    }

    /// Places each of `staged` under `packages/` and removes packages no longer used.
    pub fn place_packages<'a>(
        &self,
        staged: impl IntoIterator<Item = &'a StagedPackage>,
    ) -> Result<(), Error> {
        let mut wanted = Vec::new();
        for package in staged {
            let target = self.package_path(package);
            wanted.push(target.clone());
            if target.is_file() {
                continue; // content-addressed: an existing file is this package
            }
            let io = |e| Error::io("place the package", &target, e);
            let temp = target.with_extension("zip.partial");
            let _ = std::fs::remove_file(&temp);
            if std::fs::hard_link(&package.path, &temp).is_err() {
                std::fs::copy(&package.path, &temp).map_err(io)?;
            }
            std::fs::rename(&temp, &target).map_err(io)?;
        }
        let dir = self.path.join(PACKAGES_DIR);
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, e))?;
        for entry in entries.flatten() {
            if !wanted.contains(&entry.path()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    pub fn write_tfvars(&self, vars: &TfVars) -> Result<(), Error> {
        let path = self.path.join(TFVARS_FILE);
        let mut text = serde_json::to_string_pretty(vars).expect("variables serialize");
        text.push('\n');
        std::fs::write(&path, text).map_err(|e| Error::io("write", &path, e))
    }

    /// Stages' files that `vars` refers to, for [`WorkDir::place_packages`].
    pub fn used_packages<'a>(vars: &TfVars, staged: &'a Staged) -> Vec<&'a StagedPackage> {
        staged
            .values()
            .filter(|package| vars.packages.contains_key(&package.digest.hex()))
            .collect()
    }
}
