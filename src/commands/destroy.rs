//! `lambda-gitops destroy --service NAME`: what a service removed from the gitops repo
//! still runs, destroyed. `plan` and `apply` warn about such a service (`orphans.rs`); this
//! is how it goes. The service's state is planned with `-destroy` against the bundled
//! module with no deployment, the plan is shown, the service's name must be typed (or
//! `--auto-approve` given), and exactly that plan is applied. The same guards as `apply`
//! hold: a state holding another service's resources is refused, the work dir is locked.

use crate::error::Error;
use crate::exit_code;
use crate::process::child_env::ChildEnv;
use crate::process::interrupts::Interrupts;
use crate::report;
use crate::run::runner::{Runner, RunnerSettings};
use crate::settings::DestroySettings;
use crate::settings::Settings;
use crate::terminal::prompt;

pub async fn run(
    settings: &Settings,
    args: DestroySettings,
    interrupts: Interrupts,
    env: ChildEnv,
) -> Result<u8, Error> {
    let service = args.service.as_str();
    crate::run::destroy::refuse(settings, &args, &interrupts).await?;
    let root = crate::run::setup::lock_work_root(settings, &args.terraform, &interrupts).await?;
    let work_dir = root.service(service)?;
    let vars = crate::render::nothing(service, &settings.aws_region);
    work_dir.place_packages(std::iter::empty())?;
    work_dir.write_vars(&vars)?;

    let prepared = super::terraform_env(settings, &args.terraform, env)?;
    let runner = super::runner_settings(settings, &args.terraform, prepared, &interrupts).await?;
    let mut runner = Runner::new(
        RunnerSettings {
            destroy: true,
            ..runner
        },
        interrupts.clone(),
    );

    let summary = runner.plan(service, &work_dir, &vars).await?;
    crate::run::print(&report::text::text(&summary, false))?;
    if !summary.has_changes {
        tracing::info!("{service}: its state holds nothing to destroy");
        return Ok(exit_code::SUCCESS);
    }
    if !args.auto_approve {
        let typed = prompt::ask(
            &format!("Destroy everything above? Type the service's name, `{service}`, to confirm:"),
            &interrupts,
        )
        .await?;
        if typed.trim() != service {
            return Err(Error::DestroyDeclined {
                service: service.to_owned(),
            });
        }
    }
    runner.apply(service, &work_dir).await?;
    crate::run::print(&report::text::applied_line(&summary))?;
    Ok(exit_code::SUCCESS)
}
