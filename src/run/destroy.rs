//! Whether `destroy` may go ahead: a service name, a terminal to type it on (or
//! `--auto-approve`), a valid gitops repo that no longer declares the service — an apply
//! would otherwise create again what this destroys — a region, and credentials.

use std::io::IsTerminal;

use crate::error::Error;
use crate::process::interrupts::Interrupts;
use crate::settings::{DestroySettings, Settings};
use crate::validate::rules;

pub async fn refuse(
    settings: &Settings,
    args: &DestroySettings,
    interrupts: &Interrupts,
) -> Result<(), Error> {
    let service = args.service.as_str();
    rules::service_name(service).map_err(|message| Error::DestroyRefused {
        service: service.to_owned(),
        reason: message,
    })?;
    if !args.auto_approve && !std::io::stdin().is_terminal() {
        return Err(Error::DestroyRefused {
            service: service.to_owned(),
            reason: "stdin is not a terminal to type its name on; pass `--auto-approve`".to_owned(),
        });
    }
    // The repo must be valid and must not declare the service any more: an apply would
    // otherwise create again what this destroys. Destroying the last one leaves none.
    let declared = match super::repo::load_repo(settings) {
        Ok(repo) => super::repo::known(&repo),
        Err(Error::NoServices { .. }) => Vec::new(),
        Err(error) => return Err(error),
    };
    if declared.iter().any(|name| name == service) {
        return Err(Error::DestroyDeclared {
            service: service.to_owned(),
        });
    }
    if settings.aws_region.is_empty() {
        return Err(Error::NoRegion);
    }
    // Credentials only: a removed service's buckets are no longer declared anywhere.
    super::setup::preflight(settings, &[], false, interrupts).await?;
    Ok(())
}
