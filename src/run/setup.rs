//! What a terraform run needs before its first service: the checks before terraform
//! starts, the environment terraform runs in (one plugin cache, a mirror) and terraform
//! itself, located and its version read.

use crate::desired::DesiredService;
use crate::error::Error;
use crate::process::child_env::ChildEnv;
use crate::process::interrupts::Interrupts;
use crate::run::runner::RunnerSettings;
use crate::settings::{Settings, TerraformSettings};
use crate::terraform::binary::Terraform;
use crate::terraform::plugins::Plugins;
use crate::workdir::WorkRoot;

/// The checks before terraform starts (`aws/preflight.rs`), once per run and before
/// anything is staged: AWS credentials, then — with `buckets` — every distinct trigger and
/// package bucket of `services` at once. Needs the region (checked before).
pub async fn preflight(
    settings: &Settings,
    services: &[&DesiredService],
    buckets: bool,
    interrupts: &Interrupts,
) -> Result<(), Error> {
    use crate::aws::preflight;
    let checks = async {
        let config = crate::aws::sdk_config(&settings.aws_region).await;
        preflight::credentials(&config).await?;
        if buckets {
            let s3 = crate::aws::s3_client(&config, false);
            let buckets = preflight::buckets_of(services);
            preflight::buckets(&s3, &settings.aws_region, buckets).await?;
        }
        Ok::<_, preflight::PreflightError>(())
    };
    Ok(interrupts.guard(checks).await??)
}

/// The environment `plan`, `apply` and `destroy` run terraform in: the shared plugin cache
/// prepared (a mirror when `--plugin-mirror` names one) and its variables set.
pub fn terraform_env(
    settings: &Settings,
    options: &TerraformSettings,
    env: ChildEnv,
) -> Result<(Plugins, ChildEnv), Error> {
    let plugins = Plugins::prepare(
        &settings.cache_dir,
        options.plugin_mirror.as_deref(),
        &env,
        &settings.checkout,
    )?;
    let mut env = env;
    plugins.apply(&mut env);
    Ok((plugins, env))
}

/// Terraform located (its version read, bounded by `--terraform-timeout`) and everything a
/// runner needs from the command line: the bundled module, no `-destroy`, output shown
/// unless `-q`, folded in log groups under GitHub Actions.
pub async fn runner_settings(
    settings: &Settings,
    options: &TerraformSettings,
    (plugins, env): (Plugins, ChildEnv),
    interrupts: &Interrupts,
) -> Result<RunnerSettings, Error> {
    let timeout = options.terraform_timeout;
    let terraform = interrupts
        .guard(Terraform::locate(
            options.terraform_bin.as_deref(),
            &env,
            timeout,
        ))
        .await??;
    Ok(RunnerSettings {
        terraform,
        module_dir: None,
        backend: options.backend.clone(),
        lock_timeout: options.lock_timeout_text.clone(),
        grace: options.grace_period,
        destroy: false,
        timeout,
        color: settings.color,
        // `-q`: no terraform output at all; a failure's last lines go with its error.
        echo: settings.verbosity >= 0,
        log_groups: settings.ci.github_actions,
        env,
        aws_region: settings.aws_region.clone(),
        plugins,
    })
}

/// The work dir's root, locked for the whole run: waited for up to `--lock-timeout`, and
/// given up at an interrupt.
pub async fn lock_work_root(
    settings: &Settings,
    options: &TerraformSettings,
    interrupts: &Interrupts,
) -> Result<WorkRoot, Error> {
    Ok(WorkRoot::lock(
        &settings.work_dir,
        &settings.checkout,
        options.lock_timeout,
        || interrupts.first(),
    )
    .await?)
}
