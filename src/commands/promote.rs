//! `lambda-gitops promote`: copy the version and commit SHA one environment runs (staging)
//! into another's config (production), as `set-version` would write them. With
//! `--require-deployed`, only what the source environment has actually run is promoted:
//! its function's `version` tag must be that version and the code behind its `live` alias
//! (else `$LATEST`) must hash to the package that version resolves to — the same bytes
//! the target will get.

use std::sync::Arc;

use crate::error::Error;
use crate::exit_code;
use crate::gitops::layout;
use crate::process::interrupts::Interrupts;
use crate::run::edit::{service_arg, Session};
use crate::settings::PromoteSettings;
use crate::settings::Settings;
use crate::terminal::progress::Progress;

pub async fn run(
    settings: &Settings,
    args: PromoteSettings,
    progress: Arc<dyn Progress>,
    interrupts: Interrupts,
) -> Result<u8, Error> {
    let service = service_arg(&args.service)?;
    let (from, to) = (args.from, args.to);
    if from == to {
        return Err(Error::Argument {
            name: "--to",
            message: format!(
                "`{}` is also `--from`: there is nothing to promote",
                to.as_str()
            ),
        });
    }
    let mut session = Session::open(settings)?;
    let release = crate::run::promote::source_release(&session, service, from, to)?;
    let target_path = layout::env_config(to, service);
    let edited = session
        .edit(&target_path, |edit| release.write(edit, false))?
        .ok_or_else(|| Error::NoEnvironment {
            service: service.to_owned(),
            env: to.as_str(),
            path: session.gitops.shown(&target_path),
        })?;
    let target_has_git = session
        .document(&target_path)?
        .is_some_and(|(_, doc)| doc.root.get(&["gitVersion"]).is_some());
    if release.sha.is_none() && target_has_git {
        return Err(Error::NoGitVersion {
            service: service.to_owned(),
            from: from.as_str(),
            to: to.as_str(),
        });
    }
    if args.require_deployed {
        let repo = super::load_repo(settings)?;
        let desired = repo
            .services
            .iter()
            .find(|s| s.name == service)
            .expect("validated above");
        let deployment = desired
            .environment(from)
            .expect("its config passed validation");
        crate::run::promote::require_deployed(
            settings,
            service,
            from,
            deployment,
            progress,
            &interrupts,
        )
        .await?;
    }
    let changes: Vec<_> = edited.change.iter().cloned().collect();
    session.commit(settings, &changes, false)?;
    super::print_lines(&edited.lines())?;
    Ok(exit_code::SUCCESS)
}
