//! `lambda-gitops vars`: stage one service's packages, write its work dir, and print the
//! variables JSON on stdout — exactly what the module receives — with the design's
//! vocabulary derived from the deployments beside it (`preview_prs`, `versions`,
//! `source_code_hashes`: the module outputs the same).

use std::io::Write;
use std::sync::Arc;

use serde::Serialize;

use crate::error::Error;
use crate::process::interrupts::Interrupts;
use crate::render::{Derived, TfVars};
use crate::settings::Settings;
use crate::terminal::progress::Progress;

/// The variables file's contents, then what is derived from them.
#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    vars: &'a TfVars,
    #[serde(flatten)]
    derived: Derived,
}

pub async fn run(
    settings: &Settings,
    service: Option<String>,
    progress: Arc<dyn Progress>,
    interrupts: Interrupts,
) -> Result<(), Error> {
    let repo = super::load_repo(settings)?;
    let names: Vec<String> = service.into_iter().collect();
    let selected = super::select(&repo, &names)?;
    if selected.is_empty() {
        // Only under `--allow-empty`: no service, no variables.
        return Ok(());
    }
    let [service] = selected.as_slice() else {
        return Err(Error::ServiceRequired {
            known: super::known(&repo),
        });
    };
    let root = crate::workdir::WorkRoot::lock(
        &settings.work_dir,
        &settings.checkout,
        crate::workdir::DEFAULT_LOCK_WAIT,
        || interrupts.first(),
    )
    .await?;
    let prepared = interrupts
        .guard(crate::run::prepare::prepare(
            settings,
            &root,
            &[service],
            progress,
        ))
        .await??;
    let vars = &prepared[0].vars;
    let shown = Shown {
        vars,
        derived: vars.derived(),
    };
    let mut json = serde_json::to_string_pretty(&shown).expect("variables serialize");
    json.push('\n');
    std::io::stdout()
        .lock()
        .write_all(json.as_bytes())
        .map_err(Error::Stdout)
}
