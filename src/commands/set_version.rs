//! `lambda-gitops set-version`: the version (and commit) staging or production runs, set in
//! its `environments/<env>/<service>/config.yaml` without touching anything else there.

use crate::error::Error;
use crate::exit_code;
use crate::gitops::layout;
use crate::run::edit::{self, service_arg, Session};
use crate::settings::SetVersionSettings;
use crate::settings::Settings;

pub fn run(settings: &Settings, args: SetVersionSettings) -> Result<u8, Error> {
    let service = service_arg(&args.service)?;
    let release = edit::release(&args.version, args.sha.as_deref())?;
    let env = args.env;
    let mut session = Session::open(settings)?;
    session.lambda_service(service)?;
    let relative = layout::env_config(env, service);
    let edited = session
        .edit(&relative, |edit| release.write(edit, false))?
        .ok_or_else(|| Error::NoEnvironment {
            service: service.to_owned(),
            env: env.as_str(),
            path: session.gitops.shown(&relative),
        })?;
    let changes: Vec<_> = edited.change.iter().cloned().collect();
    session.commit(settings, &changes, false)?;
    super::print_lines(&edited.lines())?;
    Ok(exit_code::SUCCESS)
}
