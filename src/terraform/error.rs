//! What goes wrong at the terraform edge before a command runs: no terraform, one too old
//! or unable to start, a module dir without `*.tf` files, services sharing one state, a
//! plugin mirror the CLI config contradicts, and the file work around them. A command that
//! runs and fails is the run level's (`crate::error::TerraformFailure`).

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::io_error::IoError;
use crate::problem::backticked;
use crate::process::interrupts::Interrupt;
use crate::workdir::WorkdirError;

use super::process::humanize;

#[derive(Debug, thiserror::Error)]
pub enum TerraformError {
    #[error("no terraform found (tried {})", backticked(tried))]
    NotFound { tried: Vec<String> },

    #[error("could not start `{}`: {source}", path.display())]
    Start {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("`{}` is version `{version}`; lambda-gitops needs terraform 1.5 or later", path.display())]
    Version { path: PathBuf, version: String },

    #[error("`{} version -json` did not answer within {}", path.display(), humanize(*after))]
    VersionTimeout { path: PathBuf, after: Duration },

    #[error("the module dir `{}` holds no `*.tf` files", dir.display())]
    EmptyModule { dir: PathBuf },

    #[error("{} services would share one terraform state ({backend} backend, {}): each service's plan would destroy the functions of the services planned before it", services.len(), value.as_ref().map(|v| format!("`{setting}={v}`")).unwrap_or_else(|| format!("no `{setting}` given")))]
    SharedState {
        backend: &'static str,
        setting: &'static str,
        value: Option<String>,
        services: Vec<String>,
    },

    #[error("the terraform CLI config `{}` says where providers come from already; `--plugin-mirror` would be a second `provider_installation` block", config.display())]
    PluginMirrorConflict { config: PathBuf },

    #[error(transparent)]
    Io(#[from] IoError),

    #[error(transparent)]
    Workdir(#[from] WorkdirError),

    #[error("interrupted by {:?} while waiting for the plugin cache", .0.signal())]
    Interrupted(Interrupt),
}

impl TerraformError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, error: std::io::Error) -> Self {
        Self::Io(IoError::new(action, path, error))
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NotFound { .. } => Some("install terraform 1.5+ or pass `--terraform-bin`".into()),
            Self::SharedState { setting, .. } => Some(format!(
                "give each service its own state: `--backend-config {setting}=lambda/{{service}}.tfstate` (`{{service}}` becomes the service's name)"
            )),
            Self::PluginMirrorConflict { .. } => Some(
                "add the mirror to that config's `provider_installation` block, or leave `--plugin-mirror` out".into(),
            ),
            Self::Workdir(error) => error.hint(),
            _ => None,
        }
    }
}
