//! The module a service's work dir runs: the bundled one (embedded in the binary, so one
//! installed file works anywhere) with the provider lock file shipped beside it and the
//! generated `moved` and `import` blocks of this run, or `--module-dir`'s `*.tf` files (and
//! its lock file, when it has one), plus a generated backend file. The work dir is the root
//! module.

use std::path::{Path, PathBuf};

use super::TerraformError;
use crate::terraform::backend::Backend;
use crate::workdir;

/// The bundled module, `terraform/` in the source tree.
pub const BUNDLED: [(&str, &str); 5] = [
    ("versions.tf", include_str!("../../terraform/versions.tf")),
    ("variables.tf", include_str!("../../terraform/variables.tf")),
    ("main.tf", include_str!("../../terraform/main.tf")),
    ("outputs.tf", include_str!("../../terraform/outputs.tf")),
    ("moved.tf", include_str!("../../terraform/moved.tf")),
];

/// The bundled module's provider selection (`terraform providers lock`), with hashes for
/// [`LOCK_PLATFORMS`] only: the filesystem mirror it was made from holds no other build.
pub const BUNDLED_LOCK: &str = include_str!("../../terraform/.terraform.lock.hcl");

/// The platforms whose provider hashes [`BUNDLED_LOCK`] holds. Elsewhere terraform records
/// the hashes of what it installs (trust on first use, in lambda-gitops's own work dir).
pub const LOCK_PLATFORMS: [&str; 1] = ["linux_amd64"];

pub const LOCK_FILE: &str = ".terraform.lock.hcl";
const BACKEND_FILE: &str = "lambda_gitops_backend.tf";
/// Generated beside the bundled module: one `moved` block per preview
/// ([`crate::render::preview_moves`]).
pub const MOVED_FILE: &str = "lambda_gitops_moved.tf";
/// Generated beside the bundled module: `import` blocks for log groups that already exist
/// ([`crate::render::log_group_imports`]); written on every plan, empty when none.
pub const IMPORTS_FILE: &str = "lambda_gitops_imports.tf";

/// Files generated for the bundled module, by name. Another module gets none: its
/// addresses are its own.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    pub moved: String,
    pub imports: String,
}

/// What [`write`] put into the work dir.
#[derive(Debug, Clone)]
pub struct ModuleFiles {
    /// Name and contents of every file written, the lock file included when shipped.
    pub files: Vec<(String, String)>,
    /// A lock file was written: init must not change it (`-lockfile=readonly`).
    pub lock_shipped: bool,
}

impl ModuleFiles {
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|(name, _)| name.as_str())
    }
}

/// terraform's name for the platform this binary was built for, e.g. `linux_amd64`.
pub fn platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{os}_{arch}")
}

/// Whether the bundled lock file fits `terraform` here: a platform it has hashes for, and
/// terraform itself (OpenTofu resolves `hashicorp/aws` through its own registry address).
pub fn bundled_lock_fits(terraform: &Path) -> bool {
    let name = terraform.file_name().unwrap_or_default().to_string_lossy();
    LOCK_PLATFORMS.contains(&platform().as_str()) && !name.starts_with("tofu")
}

/// Writes the module (with `generated`, when it is the bundled one), its lock file (see
/// [`bundled_lock_fits`]) and the backend into `work_dir`. Files are replaced by rename, so
/// nothing is written through a symlink.
pub fn write(
    work_dir: &Path,
    module_dir: Option<&Path>,
    backend: Backend,
    ship_bundled_lock: bool,
    generated: &Generated,
) -> Result<ModuleFiles, TerraformError> {
    let module = contents(module_dir, backend, ship_bundled_lock, generated)?;
    for (name, text) in &module.files {
        workdir::write_file(&work_dir.join(name), text.as_bytes())?;
    }
    Ok(module)
}

/// What [`write`] would write, without writing it (the inputs of a run, for
/// [`crate::run::fingerprint`]).
pub fn contents(
    module_dir: Option<&Path>,
    backend: Backend,
    ship_bundled_lock: bool,
    generated: &Generated,
) -> Result<ModuleFiles, TerraformError> {
    let mut files: Vec<(String, String)> = match module_dir {
        None => BUNDLED
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .chain([
                (MOVED_FILE.to_owned(), generated.moved.clone()),
                (IMPORTS_FILE.to_owned(), generated.imports.clone()),
            ])
            .collect(),
        Some(dir) => read_module(dir)?,
    };
    let lock = match module_dir {
        None => ship_bundled_lock.then(|| BUNDLED_LOCK.to_owned()),
        Some(dir) => {
            let path = dir.join(LOCK_FILE);
            match std::fs::read_to_string(&path) {
                Ok(text) => Some(text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(TerraformError::io("read", &path, e)),
            }
        }
    };
    let lock_shipped = lock.is_some();
    if let Some(text) = lock {
        files.push((LOCK_FILE.to_owned(), text));
    }
    files.push((BACKEND_FILE.to_owned(), backend.block()));
    Ok(ModuleFiles {
        files,
        lock_shipped,
    })
}

fn read_module(dir: &Path) -> Result<Vec<(String, String)>, TerraformError> {
    let files = terraform_files(dir)?;
    if files.is_empty() {
        return Err(TerraformError::EmptyModule {
            dir: dir.to_path_buf(),
        });
    }
    files
        .into_iter()
        .map(|path| {
            let text =
                std::fs::read_to_string(&path).map_err(|e| TerraformError::io("read", &path, e))?;
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            Ok((name, text))
        })
        .collect()
}

/// `*.tf` and `*.tf.json` directly in `dir`, sorted.
fn terraform_files(dir: &Path) -> Result<Vec<PathBuf>, TerraformError> {
    let entries = std::fs::read_dir(dir).map_err(|e| TerraformError::io("list", dir, e))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            path.is_file() && (name.ends_with(".tf") || name.ends_with(".tf.json"))
        })
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_module_is_written_with_its_lock_file_and_backend() {
        let dir = tempfile::tempdir().unwrap();
        let written = write(dir.path(), None, Backend::S3, true, &Generated::default()).unwrap();
        assert!(written.lock_shipped);
        assert!(std::fs::read_to_string(dir.path().join("main.tf"))
            .unwrap()
            .contains("aws_s3_bucket_notification"));
        assert!(std::fs::read_to_string(dir.path().join(BACKEND_FILE))
            .unwrap()
            .contains("backend \"s3\""));
        assert_eq!(
            std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap(),
            BUNDLED_LOCK
        );
        let unlocked = write(
            dir.path(),
            None,
            Backend::Local,
            false,
            &Generated::default(),
        )
        .unwrap();
        for generated in [MOVED_FILE, IMPORTS_FILE] {
            assert!(
                unlocked.names().any(|name| name == generated),
                "{generated}"
            );
        }
        assert!(!unlocked.lock_shipped);
        assert!(!unlocked.names().any(|name| name == LOCK_FILE));
    }

    #[test]
    fn a_symlink_in_the_work_dir_is_replaced_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.tf");
        std::fs::write(&outside, "# someone else's file").unwrap();
        let work = dir.path().join("work");
        std::fs::create_dir(&work).unwrap();
        std::os::unix::fs::symlink(&outside, work.join("main.tf")).unwrap();
        write(&work, None, Backend::Local, true, &Generated::default()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&outside).unwrap(),
            "# someone else's file"
        );
        assert!(!std::fs::symlink_metadata(work.join("main.tf"))
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn the_bundled_lock_file_pins_the_provider_the_module_requires() {
        assert!(BUNDLED_LOCK.contains("provider \"registry.terraform.io/hashicorp/aws\""));
        assert!(BUNDLED_LOCK.contains("h1:"));
        let versions = BUNDLED[0].1;
        assert!(
            versions.contains("\">= 5.60, < 7.0\""),
            "versions.tf changed: regenerate terraform/.terraform.lock.hcl"
        );
        assert!(BUNDLED_LOCK.contains("constraints = \">= 5.60.0, < 7.0.0\""));
    }

    #[test]
    fn another_module_gets_no_generated_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let module = dir.path().join("module");
        std::fs::create_dir(&module).unwrap();
        std::fs::write(module.join("main.tf"), "# mine\n").unwrap();
        let generated = Generated {
            moved: "moved {}".into(),
            imports: "import {}".into(),
        };
        let written = write(dir.path(), Some(&module), Backend::Local, true, &generated).unwrap();
        let names: Vec<&str> = written.names().collect();
        assert_eq!(names, ["main.tf", BACKEND_FILE]);
    }

    #[test]
    fn the_bundled_module_knows_nothing_of_emulators() {
        for (name, text) in BUNDLED {
            for word in ["localhost", "127.0.0.1", "moto", "endpoint", "skip_"] {
                assert!(!text.contains(word), "{name} mentions {word}");
            }
        }
    }
}
