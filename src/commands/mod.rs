//! The subcommands. Each reads [`Settings`], runs the pipeline stages it needs, and writes
//! data to stdout; logs go to stderr through `tracing`.

pub mod deploy;
pub mod destroy;
pub mod matrix;
pub mod preview;
pub mod promote;
pub mod scan;
pub mod set_version;
pub mod status;
pub mod vars;

use crate::child_env::ChildEnv;
use crate::cli::TerraformOptions;
use crate::desired::{DesiredService, Repo};
use crate::error::Error;
use crate::interrupts::Interrupts;
use crate::problem;
use crate::resolve::Roots;
use crate::settings::Settings;
use crate::terraform::binary::Terraform;
use crate::terraform::plugins::Plugins;
use crate::terraform::runner::RunnerSettings;

/// Scan → validate → resolve: the part of the pipeline every command shares. No network.
/// An invalid repo is every problem at once; a repo without a Lambda service is an error
/// unless `--allow-empty`.
pub fn load_repo(settings: &Settings) -> Result<Repo, Error> {
    let tree = crate::scan::scan(&settings.gitops_dir);
    let mut problems = Vec::new();
    let checked = crate::validate::validate(&tree, &mut problems);
    let roots = Roots {
        gitops_dir: &settings.gitops_dir,
        package_root: &settings.package_root,
    };
    let repo = crate::resolve::resolve(&checked, &roots, &mut problems);
    if !problems.is_empty() {
        return Err(Error::Invalid {
            problems: problem::sorted(problems),
        });
    }
    if repo.services.is_empty() && !settings.allow_empty {
        return Err(Error::NoServices {
            gitops_dir: settings.gitops_dir.clone(),
            canonical: tree.root,
            service_configs: tree.services.len(),
        });
    }
    tracing::debug!(
        "{} Lambda service(s) in `{}`",
        repo.services.len(),
        settings.gitops_dir.display()
    );
    Ok(repo)
}

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

/// The services named by `--service` (all of them when none is named; none for an empty
/// repo, which [`load_repo`] only returns under `--allow-empty`).
pub fn select<'a>(repo: &'a Repo, names: &[String]) -> Result<Vec<&'a DesiredService>, Error> {
    if names.is_empty() {
        return Ok(repo.services.iter().collect());
    }
    names
        .iter()
        .map(|name| {
            repo.services
                .iter()
                .find(|s| &s.name == name)
                .ok_or_else(|| Error::UnknownService {
                    name: name.clone(),
                    known: known(repo),
                })
        })
        .collect()
}

pub fn known(repo: &Repo) -> Vec<String> {
    repo.services.iter().map(|s| s.name.clone()).collect()
}

/// Lines of data on stdout (what an edit changed).
pub fn print_lines(lines: &[String]) -> Result<(), Error> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    lines
        .iter()
        .try_for_each(|line| writeln!(stdout, "{line}"))
        .and_then(|()| stdout.flush())
        .map_err(Error::Stdout)
}

/// The environment `plan`, `apply` and `destroy` run terraform in: the shared plugin cache
/// prepared (a mirror when `--plugin-mirror` names one) and its variables set.
pub fn terraform_env(
    settings: &Settings,
    options: &TerraformOptions,
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
    options: &TerraformOptions,
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
        backend: options.backend(),
        lock_timeout: options.lock_timeout.text.clone(),
        grace: std::time::Duration::from_secs(options.grace_period),
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
