//! `apply`'s record of what it last did, around terraform: before a `plan` or `apply`, per
//! service, the record is read and the no-op decision made ([`super::noop`]); before
//! terraform may change anything the record goes; after a successful apply a new one is
//! written. `plan` only reads it.

use crate::error::Error;
use crate::run::applied;
use crate::run::fingerprint;
use crate::run::handoff;
use crate::run::noop::{self, Decision};
use crate::run::prepare::ServicePlan;
use crate::settings::{DeploySettings, Handoff, Mode, Settings};
use crate::terraform::module;

/// Where a service's last apply is recorded, this run's fingerprint, and what to do.
pub struct LastApplied {
    pub store: applied::Store,
    pub fingerprint: String,
    pub decision: Decision,
    /// A record was read: it goes before terraform runs.
    pub recorded: bool,
    /// `apply --plan-dir`: the review found the service unchanged since its last apply,
    /// checked without terraform against these inputs (their fingerprint).
    pub reviewed_unchanged: Option<String>,
}

impl LastApplied {
    /// Terraform need not start: nothing changed since the last apply — and with `--plan-dir`,
    /// that is what the review found. `Err`: the review found the service unchanged, and that
    /// no longer holds (why).
    pub fn skips(&self) -> Result<bool, String> {
        let Some(reviewed) = &self.reviewed_unchanged else {
            return Ok(self.decision == Decision::Skip);
        };
        match &self.decision {
            Decision::Run(reason) => Err(reason.clone()),
            Decision::Skip if *reviewed != self.fingerprint => {
                Err("the inputs changed since the review".into())
            }
            Decision::Skip => Ok(true),
        }
    }
}

/// For `plan` and `apply`: per service, where its last apply is recorded and whether
/// terraform can be skipped. `None` for `--module-dir` (another module's resources are not
/// known to be the functions checked) and for `plan --refresh` (it runs terraform anyway).
pub async fn for_services(
    settings: &Settings,
    args: &DeploySettings,
    prepared: &[ServicePlan<'_>],
    terraform: &std::path::Path,
) -> Vec<Option<LastApplied>> {
    let plan_refresh = matches!(args.mode, Mode::Plan { refresh: true, .. });
    if args.module_dir.is_some() || plan_refresh {
        return prepared.iter().map(|_| None).collect();
    }
    let client = crate::aws::lambda_client(&settings.aws_region).await;
    crate::run::schedule::run_all(
        prepared,
        prepared.len(),
        || false,
        |plan| async {
            let reviewed = match &args.handoff {
                Handoff::Apply(dir) => handoff::reviewed_fingerprint(dir, &plan.service.name),
                _ => None,
            };
            let given = if reviewed.is_some() {
                // Nothing was planned for review: the same evidence must hold now.
                None
            } else if args.mode.refresh() {
                Some("`--refresh`")
            } else if matches!(args.handoff, Handoff::Apply(_)) {
                // The reviewed plan is applied as it is, or refused as stale.
                Some("`--plan-dir`")
            } else {
                None
            };
            let last = for_service(settings, args, plan, terraform, &client, given).await;
            last.map(|last| LastApplied {
                reviewed_unchanged: reviewed,
                ..last
            })
        },
    )
    .await
}

/// One service's record and decision; `None` when its module cannot be written.
async fn for_service(
    settings: &Settings,
    args: &DeploySettings,
    plan: &ServicePlan<'_>,
    terraform: &std::path::Path,
    client: &aws_sdk_lambda::Client,
    run_anyway: Option<&str>,
) -> Option<LastApplied> {
    let name = &plan.service.name;
    let backend = &args.terraform.backend;
    let module = module::contents(
        None,
        backend.backend,
        module::bundled_lock_fits(terraform),
        &module::Generated {
            moved: crate::render::preview_moves(&plan.vars),
            imports: String::new(),
        },
    )
    .ok()?;
    let backend_config = backend.for_service(name);
    let fingerprint = fingerprint::of(&fingerprint::Inputs {
        module: &module,
        vars: &plan.vars,
        backend: backend.backend,
        backend_config: &backend_config,
        terraform,
    });
    let store =
        applied::Store::for_service(backend, name, &plan.work_dir.path, &settings.aws_region).await;
    let (decision, recorded) = match store.read().await {
        Ok(record) => match run_anyway {
            Some(reason) => (Decision::Run(reason.into()), record.is_some()),
            None => (
                noop::decide(client, &fingerprint, record.as_ref(), &plan.vars).await,
                record.is_some(),
            ),
        },
        // Unreadable (say, the credentials may not read it): nothing to trust or remove.
        Err(error) => (
            Decision::Run(format!("the last apply's record: {error}")),
            false,
        ),
    };
    if let Decision::Run(reason) = &decision {
        tracing::debug!("{name}: running terraform: {reason}");
    }
    Some(LastApplied {
        store,
        fingerprint,
        decision,
        recorded,
        reviewed_unchanged: None,
    })
}

/// Before terraform may change anything: the last apply's record goes, so an apply that
/// fails half-way leaves none that a later run could trust.
pub async fn forget(service: &str, last: Option<&LastApplied>) -> Result<(), Error> {
    let Some(last) = last.filter(|last| last.recorded) else {
        return Ok(());
    };
    last.store.forget().await.map_err(|error| Error::Aws {
        service: service.to_owned(),
        action: "remove the record of the last apply",
        message: error.to_string(),
        hint: Some("the credentials need to delete the record beside the state (`s3:DeleteObject` on the state bucket)".into()),
    })
}

/// After a successful apply: what each function runs now, with this run's fingerprint, is
/// the record a later run may skip on. A failure to keep it only costs that later run time.
pub async fn remember(service: &str, plan: &ServicePlan<'_>, last: &LastApplied, region: &str) {
    let client = crate::aws::lambda_client(region).await;
    let statuses = crate::aws::status::check_all(&client, plan.vars.declared()).await;
    let Some(record) = noop::record(&last.fingerprint, &statuses) else {
        tracing::debug!("{service}: a function does not run what is declared; no record kept");
        return;
    };
    match last.store.write(&record).await {
        Ok(()) => tracing::debug!(
            "{service}: recorded this apply at {}",
            last.store.location()
        ),
        Err(error) => tracing::warn!(
            "{service}: could not record this apply ({error}); the next apply runs terraform"
        ),
    }
}
