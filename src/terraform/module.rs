//! The module a service's work dir runs: the bundled one (embedded in the binary, so one
//! installed file works anywhere) or `--module-dir`'s `*.tf` files, plus a generated
//! backend file. The work dir is the root module.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// The bundled module, `terraform/` in the source tree.
pub const BUNDLED: [(&str, &str); 4] = [
    ("versions.tf", include_str!("../../terraform/versions.tf")),
    ("variables.tf", include_str!("../../terraform/variables.tf")),
    ("main.tf", include_str!("../../terraform/main.tf")),
    ("outputs.tf", include_str!("../../terraform/outputs.tf")),
];

const BACKEND_FILE: &str = "lambda_gitops_backend.tf";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// State in the work dir (`terraform.tfstate`).
    Local,
    /// State in S3; configure it with `--backend-config` (bucket, key, region, use_lockfile…).
    S3,
}

impl Backend {
    fn block(self) -> &'static str {
        match self {
            Self::Local => "terraform {\n  backend \"local\" {}\n}\n",
            Self::S3 => "terraform {\n  backend \"s3\" {}\n}\n",
        }
    }
}

/// Writes the module and backend into `work_dir`, removing `*.tf` files that are no longer
/// part of it. Returns the files' contents, for the init fingerprint.
pub fn write(
    work_dir: &Path,
    module_dir: Option<&Path>,
    backend: Backend,
) -> Result<Vec<(String, String)>, Error> {
    let mut files: Vec<(String, String)> = match module_dir {
        None => BUNDLED
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect(),
        Some(dir) => read_module(dir)?,
    };
    files.push((BACKEND_FILE.to_owned(), backend.block().to_owned()));

    for (name, text) in &files {
        let path = work_dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            std::fs::write(&path, text).map_err(|e| Error::io("write", &path, e))?;
        }
    }
    for stale in terraform_files(work_dir)? {
        let name = stale
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if !files.iter().any(|(file, _)| *file == name) {
            std::fs::remove_file(&stale).map_err(|e| Error::io("remove", &stale, e))?;
        }
    }
    Ok(files)
}

fn read_module(dir: &Path) -> Result<Vec<(String, String)>, Error> {
    let files = terraform_files(dir)?;
    if files.is_empty() {
        return Err(Error::EmptyModule {
            dir: dir.to_path_buf(),
        });
    }
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
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
fn terraform_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))?;
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
    fn the_bundled_module_is_written_with_its_backend_and_stale_files_go() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("old.tf"), "# stale").unwrap();
        std::fs::write(dir.path().join("terraform.tfvars.json"), "{}").unwrap();
        write(dir.path(), None, Backend::S3).unwrap();
        assert!(!dir.path().join("old.tf").exists());
        assert!(dir.path().join("terraform.tfvars.json").exists());
        assert!(std::fs::read_to_string(dir.path().join("main.tf"))
            .unwrap()
            .contains("aws_s3_bucket_notification"));
        assert!(std::fs::read_to_string(dir.path().join(BACKEND_FILE))
            .unwrap()
            .contains("backend \"s3\""));
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
