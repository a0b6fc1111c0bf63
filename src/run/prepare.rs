//! Stages 4–5 for a set of services: stage every package they need (each once, across
//! services), render each service's variables and write its work dir under the locked
//! work dir root. The result, one [`ServicePlan`] per service, is what the terraform stage
//! runs.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::desired::DesiredService;
use crate::error::Error;
use crate::render::{render, TfVars};
use crate::settings::Settings;
use crate::stage::Stager;
use crate::terminal::progress::Progress;
use crate::workdir::{WorkDir, WorkRoot};

/// One service, ready for terraform: its desired state, its work dir (packages and
/// variables written) and the variables themselves.
pub struct ServicePlan<'a> {
    pub service: &'a DesiredService,
    pub work_dir: WorkDir,
    pub vars: TfVars,
    /// The service's rollouts and what this run does with each (`rollout::plan`).
    pub rollouts: Option<crate::run::rollout::Planned>,
}

pub async fn prepare<'a>(
    settings: &Settings,
    root: &WorkRoot,
    services: &[&'a DesiredService],
    progress: Arc<dyn Progress>,
) -> Result<Vec<ServicePlan<'a>>, Error> {
    let packages: BTreeSet<_> = services
        .iter()
        .flat_map(|service| service.deployments().map(|d| d.package.clone()))
        .collect();
    let staged = Stager::new(settings.staging())
        .labelled(crate::stage::labels::of(services.iter().copied()))
        .stage_all(packages, progress)
        .await
        .map_err(|errors| Error::Stage { errors })?;

    services
        .iter()
        .map(|service| {
            let work_dir = root.service(&service.name)?;
            let vars = render(service, &settings.aws_region, &staged, |package| {
                WorkDir::relative_package_path(&package.digest)
            });
            work_dir.place_packages(
                vars.used_packages(&staged)
                    .into_iter()
                    .map(|package| (&package.digest, package.path.as_path())),
            )?;
            work_dir.write_vars(&vars)?;
            Ok(ServicePlan {
                service,
                work_dir,
                vars,
                rollouts: None,
            })
        })
        .collect()
}
