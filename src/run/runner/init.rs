//! The `init` step and what precedes every plan: the module written into the work dir,
//! every file lambda-gitops did not write scrubbed, an earlier plan removed, and `init
//! -reconfigure` with the backend's `-backend-config` pairs (secret in the command line
//! shown) — skipped when the module, lock file, backend, providers and terraform are what
//! the last init recorded in the data dir's marker. One init at a time fills the shared
//! plugin cache.
//!
//! In: the service, its [`WorkDir`], and the generated `moved`/`import` blocks. Out: the
//! [`ModuleFiles`] written (also kept for `plan --out-dir`), the work dir ready for `plan`.

use super::Runner;
use crate::error::Error;
use crate::hash::Hasher;
use crate::terraform::module::{self, Generated, ModuleFiles};
use crate::terraform::plugins;
use crate::workdir::{Marker, WorkDir};

impl Runner {
    /// The work dir as terraform must find it: module written, what lambda-gitops did not
    /// write scrubbed, no earlier plan, init when needed. The module files written.
    pub(super) async fn ready(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        generated: &Generated,
    ) -> Result<ModuleFiles, Error> {
        self.check_interrupted()?;
        let module = module::write(
            &work_dir.path,
            self.settings.module_dir.as_deref(),
            self.settings.backend.backend,
            module::bundled_lock_fits(&self.settings.terraform.path),
            generated,
        )?;
        let marker = work_dir.data_dir_marker()?;
        let lock_path = work_dir.path.join(module::LOCK_FILE);
        // Without a shipped lock file, the one terraform recorded stays while the init that
        // wrote it vouches for it.
        let recorded_lock = !module.lock_shipped
            && marker
                .as_ref()
                .is_some_and(|m| m.lock_file.is_some() && m.lock_file == sha256_of(&lock_path));
        let mut written: Vec<&str> = module.names().collect();
        if recorded_lock {
            written.push(module::LOCK_FILE);
        }
        for name in work_dir.scrub(&written)? {
            tracing::warn!(
                "{service}: removed `{name}` from the work dir: lambda-gitops did not write it and terraform would read it"
            );
        }
        work_dir.clear_plan()?;

        let backend_config = self.settings.backend.for_service(service);
        let fingerprint = self.init_fingerprint(&module, &backend_config);
        let current = marker.is_some_and(|m| m.fingerprint == fingerprint)
            && (module.lock_shipped || recorded_lock)
            && plugins::providers_present(&work_dir.data_dir());
        if current {
            tracing::debug!("{service}: terraform init is current; skipped");
        } else {
            self.init(service, work_dir, &module, &backend_config, fingerprint)
                .await?;
        }
        self.module = Some(module.clone());
        Ok(module)
    }

    /// `init` with the backend config, under the plugin cache's init lock; the marker then
    /// records what this init saw.
    async fn init(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        module: &ModuleFiles,
        backend_config: &[String],
        fingerprint: String,
    ) -> Result<(), Error> {
        let mut args = vec![
            "init".to_owned(),
            "-input=false".to_owned(),
            "-reconfigure".to_owned(),
        ];
        if module.lock_shipped {
            args.push("-lockfile=readonly".to_owned());
        }
        args.extend(self.no_color());
        let first_secret = args.len();
        args.extend(
            backend_config
                .iter()
                .map(|pair| format!("-backend-config={pair}")),
        );
        let secrets: Vec<usize> = (first_secret..args.len()).collect();
        // One init at a time may fill the shared plugin cache; the others then link to it.
        let lock = self
            .settings
            .plugins
            .lock_for_init(&self.interrupts)
            .await?;
        self.run(service, work_dir, args, &secrets, false, &[0])
            .await?;
        drop(lock);
        work_dir.write_data_dir_marker(&Marker {
            fingerprint,
            lock_file: sha256_of(&work_dir.path.join(module::LOCK_FILE)),
        })?;
        Ok(())
    }

    /// What an init depends on: the module, lock and backend files, the backend config,
    /// where providers come from and the terraform binary. Not the generated `moved` and `import` blocks: they change
    /// with the previews and the log groups found, and init does not read them.
    fn init_fingerprint(&self, module: &ModuleFiles, backend_config: &[String]) -> String {
        let mut hasher = Hasher::default();
        let generated = [module::MOVED_FILE, module::IMPORTS_FILE];
        for (name, text) in module
            .files
            .iter()
            .filter(|(name, _)| !generated.contains(&name.as_str()))
        {
            hasher.update(name.as_bytes());
            hasher.update(&[0]);
            hasher.update(text.as_bytes());
            hasher.update(&[0]);
        }
        for pair in backend_config {
            hasher.update(pair.as_bytes());
            hasher.update(&[0]);
        }
        hasher.update(self.settings.plugins.identity.as_bytes());
        hasher.update(&[0]);
        hasher.update(self.settings.terraform.path.to_string_lossy().as_bytes());
        hasher.update(self.settings.terraform.version.as_bytes());
        hasher.finish().hex()
    }
}

/// SHA-256 hex of a regular file's bytes; `None` when there is none.
fn sha256_of(path: &std::path::Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let mut hasher = Hasher::default();
    hasher.update(&bytes);
    Some(hasher.finish().hex())
}
