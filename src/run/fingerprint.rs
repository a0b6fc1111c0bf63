//! The inputs of one service's terraform run, as one SHA-256: the module as lambda-gitops
//! writes it (the generated `moved` blocks included, the `import` blocks — found through AWS
//! while planning — not), the variables (package hashes, every setting, lambda-gitops's
//! version), the backend and its settings, and the terraform binary (its path, size and
//! modification time: an upgrade changes it without running `terraform version`). Equal
//! fingerprints mean terraform would be given exactly the same run.

use std::path::Path;

use crate::hash::Hasher;
use crate::render::TfVars;
use crate::terraform::backend::Backend;
use crate::terraform::module::ModuleFiles;

/// What a run is made of, borrowed from where it was prepared.
pub struct Inputs<'a> {
    pub module: &'a ModuleFiles,
    pub vars: &'a TfVars,
    pub backend: Backend,
    /// The `-backend-config` pairs with `{service}` substituted.
    pub backend_config: &'a [String],
    /// The terraform binary, resolved on `PATH`.
    pub terraform: &'a Path,
}

/// The hex SHA-256 of `inputs`. Every part is length-prefixed, so no two different inputs
/// run together into one byte string.
pub fn of(inputs: &Inputs) -> String {
    let mut hasher = Hasher::default();
    let mut part = |bytes: &[u8]| {
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    part(b"lambda-gitops inputs 1");
    let generated_per_plan = crate::terraform::module::IMPORTS_FILE;
    for (name, text) in &inputs.module.files {
        if name != generated_per_plan {
            part(name.as_bytes());
            part(text.as_bytes());
        }
    }
    // The version a rollout holds `live` on is left out: it moves with the rollout, and
    // what `live` runs is checked against the record anyway (`noop.rs`).
    let mut vars = inputs.vars.clone();
    for deployment in vars.deployments.values_mut() {
        deployment.live_version = None;
        deployment.live_code_sha256 = None;
    }
    part(
        serde_json::to_string(&vars)
            .expect("variables serialize")
            .as_bytes(),
    );
    part(inputs.backend.name().as_bytes());
    for pair in inputs.backend_config {
        part(pair.as_bytes());
    }
    part(binary_identity(inputs.terraform).as_bytes());
    hasher.finish().hex()
}

/// A binary's canonical path, size and modification time.
fn binary_identity(path: &Path) -> String {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let meta = std::fs::metadata(&canonical).ok();
    let modified = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}\0{}\0{modified}",
        canonical.display(),
        meta.map(|m| m.len()).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terraform::module::{self, Generated};

    fn vars(role: &str) -> TfVars {
        TfVars {
            service_name: "svc".into(),
            aws_region: "us-east-1".into(),
            tool_version: "0.1.0".into(),
            role_arn: role.into(),
            trigger_bucket: "t".into(),
            package_bucket: "p".into(),
            package_key_prefix: "lambda-packages/svc/".into(),
            packages: Default::default(),
            deployments: Default::default(),
        }
    }

    #[test]
    fn every_input_changes_the_fingerprint_but_the_import_blocks_do_not() {
        let temp = tempfile::tempdir().unwrap();
        let terraform = temp.path().join("terraform");
        std::fs::write(&terraform, "#!/bin/sh\n").unwrap();
        let module = |moved: &str, imports: &str| {
            module::contents(
                None,
                Backend::Local,
                true,
                &Generated {
                    moved: moved.into(),
                    imports: imports.into(),
                },
            )
            .unwrap()
        };
        let base_module = module("", "");
        let base_vars = vars("");
        let config = ["path=a".to_owned()];
        let inputs = |module: &ModuleFiles, vars: &TfVars, backend, config: &[String]| {
            of(&Inputs {
                module,
                vars,
                backend,
                backend_config: config,
                terraform: &terraform,
            })
        };
        let base = inputs(&base_module, &base_vars, Backend::Local, &config);
        assert_eq!(
            base,
            inputs(&base_module, &base_vars, Backend::Local, &config)
        );
        let with_imports = module("", "import {}");
        assert_eq!(
            base,
            inputs(&with_imports, &base_vars, Backend::Local, &config)
        );
        let moved = module("moved {}", "");
        assert_ne!(base, inputs(&moved, &base_vars, Backend::Local, &config));
        assert_ne!(
            base,
            inputs(
                &base_module,
                &vars("arn:aws:iam::1:role/x"),
                Backend::Local,
                &config
            )
        );
        assert_ne!(base, inputs(&base_module, &base_vars, Backend::S3, &config));
        assert_ne!(
            base,
            inputs(&base_module, &base_vars, Backend::Local, &["path=b".into()])
        );
        std::fs::write(&terraform, "#!/bin/sh\n# upgraded\n").unwrap();
        assert_ne!(
            base,
            inputs(&base_module, &base_vars, Backend::Local, &config)
        );
    }
}
