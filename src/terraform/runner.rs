//! The terraform commands for one service's work dir, in order: `init` (skipped when the
//! module, backend and terraform are what the last init saw), `plan -out=plan.tfplan
//! -detailed-exitcode`, `show -json plan.tfplan` (kept as `plan.json`), and `apply` of
//! exactly that saved plan.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::child_env::ChildEnv;
use crate::error::{Error, TerraformFailure, TerraformTimeout};
use crate::interrupts::Interrupts;
use crate::report::{self, Summary};
use crate::stage::hash::Hasher;
use crate::terraform::binary::Terraform;
use crate::terraform::module::{self, Backend};
use crate::terraform::process::{self, Finished, Invocation, RunOptions};

pub const PLAN_FILE: &str = "plan.tfplan";
pub const PLAN_JSON: &str = "plan.json";
/// Inside `.terraform/`, so that removing it forces a fresh init.
const INIT_STAMP: &str = ".terraform/lambda-gitops-init";

#[derive(Debug, Clone)]
pub struct RunnerSettings {
    pub terraform: Terraform,
    pub module_dir: Option<PathBuf>,
    pub backend: Backend,
    /// `KEY=VALUE` pairs for `-backend-config`.
    pub backend_config: Vec<String>,
    /// For `-lock-timeout`, e.g. `5m`.
    pub lock_timeout: String,
    pub grace: Duration,
    /// How long one terraform command may run (`--terraform-timeout`).
    pub timeout: Duration,
    pub color: bool,
    /// Show terraform's output live on stderr (off with `-q`).
    pub echo: bool,
    /// The environment of every terraform command.
    pub env: ChildEnv,
}

pub struct Runner {
    settings: RunnerSettings,
    interrupts: Interrupts,
}

impl Runner {
    pub fn new(settings: RunnerSettings, interrupts: Interrupts) -> Self {
        Self {
            settings,
            interrupts,
        }
    }

    /// Fails when a signal has arrived: nothing new starts after an interrupt.
    pub fn check_interrupted(&self) -> Result<(), Error> {
        match self.interrupts.first() {
            Some(signal) => Err(Error::Interrupted {
                signal,
                terraform_ran: false,
            }),
            None => Ok(()),
        }
    }

    /// Writes the module, inits when needed, plans and summarises.
    pub async fn plan(&mut self, service: &str, work_dir: &Path) -> Result<Summary, Error> {
        self.check_interrupted()?;
        let files = module::write(
            work_dir,
            self.settings.module_dir.as_deref(),
            self.settings.backend,
        )?;
        self.init(service, work_dir, &files).await?;

        let mut args = vec![
            "plan".to_owned(),
            "-input=false".to_owned(),
            format!("-out={PLAN_FILE}"),
            "-detailed-exitcode".to_owned(),
            format!("-lock-timeout={}", self.settings.lock_timeout),
        ];
        args.extend(self.no_color());
        // -detailed-exitcode: 0 no changes, 2 changes.
        self.run(service, work_dir, args, &[], false, &[0, 2])
            .await?;

        let show = vec!["show".to_owned(), "-json".to_owned(), PLAN_FILE.to_owned()];
        let finished = self.run(service, work_dir, show, &[], true, &[0]).await?;
        let plan_json = work_dir.join(PLAN_JSON);
        std::fs::write(&plan_json, &finished.stdout)
            .map_err(|e| Error::io("write", &plan_json, e))?;
        report::summarize(service, &finished.stdout).map_err(|e| Error::PlanJson {
            path: plan_json,
            message: e.to_string(),
        })
    }

    /// Applies the saved plan of the last [`Runner::plan`].
    pub async fn apply(&mut self, service: &str, work_dir: &Path) -> Result<(), Error> {
        self.check_interrupted()?;
        let mut args = vec![
            "apply".to_owned(),
            "-input=false".to_owned(),
            format!("-lock-timeout={}", self.settings.lock_timeout),
        ];
        args.extend(self.no_color());
        args.push(PLAN_FILE.to_owned());
        self.run(service, work_dir, args, &[], false, &[0]).await?;
        Ok(())
    }

    async fn init(
        &mut self,
        service: &str,
        work_dir: &Path,
        files: &[(String, String)],
    ) -> Result<(), Error> {
        let stamp = self.init_fingerprint(files);
        let stamp_path = work_dir.join(INIT_STAMP);
        if std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str())
            && work_dir.join(".terraform.lock.hcl").is_file()
        {
            tracing::debug!("{service}: terraform init is current; skipped");
            return Ok(());
        }
        let mut args = vec![
            "init".to_owned(),
            "-input=false".to_owned(),
            "-reconfigure".to_owned(),
        ];
        args.extend(self.no_color());
        let first_secret = args.len();
        args.extend(
            self.settings
                .backend_config
                .iter()
                .map(|pair| format!("-backend-config={pair}")),
        );
        let secrets: Vec<usize> = (first_secret..args.len()).collect();
        self.run(service, work_dir, args, &secrets, false, &[0])
            .await?;
        let write = || {
            std::fs::create_dir_all(work_dir.join(".terraform"))?;
            std::fs::write(&stamp_path, stamp)
        };
        write().map_err(|e| Error::io("write", &stamp_path, e))
    }

    /// What an init depends on: the module and backend files, the backend config and the
    /// terraform binary.
    fn init_fingerprint(&self, files: &[(String, String)]) -> String {
        let mut hasher = Hasher::default();
        for (name, text) in files {
            hasher.update(name.as_bytes());
            hasher.update(&[0]);
            hasher.update(text.as_bytes());
            hasher.update(&[0]);
        }
        for pair in &self.settings.backend_config {
            hasher.update(pair.as_bytes());
            hasher.update(&[0]);
        }
        hasher.update(self.settings.terraform.path.to_string_lossy().as_bytes());
        hasher.update(self.settings.terraform.version.as_bytes());
        hasher.finish().hex()
    }

    fn no_color(&self) -> Option<String> {
        (!self.settings.color).then(|| "-no-color".to_owned())
    }

    fn invocation(&self, work_dir: &Path, args: Vec<String>, secrets: &[usize]) -> Invocation {
        Invocation {
            program: self.settings.terraform.path.clone(),
            args,
            secret_args: secrets.to_vec(),
            cwd: work_dir.to_path_buf(),
            env: self.settings.env.clone(),
        }
    }

    /// Runs one command; an exit code outside `success_codes` is a `TerraformFailed`.
    async fn run(
        &mut self,
        service: &str,
        work_dir: &Path,
        args: Vec<String>,
        secrets: &[usize],
        capture: bool,
        success_codes: &[i32],
    ) -> Result<Finished, Error> {
        self.check_interrupted()?;
        let invocation = self.invocation(work_dir, args, secrets);
        tracing::info!("{service}: $ {}", invocation.display());
        let options = RunOptions {
            capture_stdout: capture,
            echo: self.settings.echo,
            grace: self.settings.grace,
            timeout: Some(self.settings.timeout),
        };
        let finished = process::run(&invocation, options, &mut self.interrupts)
            .await
            .map_err(|source| Error::TerraformStart {
                path: invocation.program.clone(),
                source: source.source,
            })?;
        let program = self.settings.terraform.name();
        let cwd = work_dir.to_path_buf();
        if let Some(signal) = finished.interrupted {
            return Err(match (finished.killed, finished.lock_id) {
                (true, _) => Error::InterruptedKilled {
                    signal,
                    program,
                    cwd,
                },
                (false, Some(lock_id)) => Error::InterruptedLocked {
                    signal,
                    lock_id,
                    program,
                    cwd,
                },
                (false, None) => Error::Interrupted {
                    signal,
                    terraform_ran: true,
                },
            });
        }
        if finished.timed_out {
            return Err(Error::TerraformTimedOut(Box::new(TerraformTimeout {
                service: service.to_owned(),
                command: invocation.display(),
                after: self.settings.timeout,
                killed: finished.killed,
                program,
                cwd,
            })));
        }
        if !finished
            .code
            .is_some_and(|code| success_codes.contains(&code))
        {
            return Err(failure(service, &finished, &invocation, program));
        }
        Ok(finished)
    }
}

fn failure(service: &str, finished: &Finished, invocation: &Invocation, program: String) -> Error {
    Error::TerraformFailed(Box::new(TerraformFailure {
        service: service.to_owned(),
        command: invocation.display(),
        code: finished.code,
        signal: finished.signal,
        lock_id: finished.lock_id.clone(),
        program,
        cwd: invocation.cwd.clone(),
        tail: finished.tail.clone(),
    }))
}
