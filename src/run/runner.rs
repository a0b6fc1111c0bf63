//! The terraform commands for one service's work dir, in order: `init` (skipped when the
//! module, backend, providers and terraform are what the last init saw; one init at a time
//! fills the shared plugin cache), `plan -var-file=… -out=plan.tfplan -detailed-exitcode`,
//! `show -json plan.tfplan` (kept as `plan.json`; skipped when the plan has no changes), and
//! `apply` of exactly that saved plan. Before any of them the work dir is made to hold only
//! what lambda-gitops wrote ([`WorkDir::scrub`]); every command gets `TF_DATA_DIR`. A plan
//! that touches another service's resources is refused before anything is applied.
//!
//! With the bundled module, the work dir also gets this run's generated blocks: a `moved`
//! block per preview (state of the first module version moves, nothing is replaced), and
//! `import` blocks for log groups the plan would create but that exist already (a function
//! that ever ran has one) — found through the AWS API, after which the plan is made again.

use std::path::PathBuf;
use std::time::Duration;

use crate::env_vars;
use crate::error::{Error, TerraformFailure, TerraformTimeout};
use crate::hash::Hasher;
use crate::process::child_env::ChildEnv;
use crate::process::interrupts::Interrupts;
use crate::render::{self, TfVars};
use crate::report::{self, PlanFacts};
use crate::terraform::backend::BackendSettings;
use crate::terraform::binary::Terraform;
use crate::terraform::module::{self, Generated, ModuleFiles};
use crate::terraform::plugins::{self, Plugins};
use crate::terraform::process::{self, Echo, Finished, Invocation, OutputBuffer, RunOptions};
use crate::workdir::{Marker, WorkDir, VARS_FILE};

pub const PLAN_FILE: &str = "plan.tfplan";
pub const PLAN_JSON: &str = "plan.json";

#[derive(Debug, Clone)]
pub struct RunnerSettings {
    pub terraform: Terraform,
    pub module_dir: Option<PathBuf>,
    /// The backend and its `-backend-config` pairs, `{service}` not yet substituted.
    pub backend: BackendSettings,
    /// For `-lock-timeout`, e.g. `5m`.
    pub lock_timeout: String,
    pub grace: Duration,
    /// Plan the destruction of everything in the state (`plan -destroy`): `lambda-gitops
    /// destroy` of a service removed from the repo.
    pub destroy: bool,
    /// How long one terraform command may run (`--terraform-timeout`).
    pub timeout: Duration,
    pub color: bool,
    /// Show terraform's output live on stderr (off with `-q`).
    pub echo: bool,
    /// Fold each command's output in a GitHub Actions log group (commands paused inside).
    pub log_groups: bool,
    /// The environment of every terraform command.
    pub env: ChildEnv,
    /// The region terraform gets, for the AWS API calls the runner makes itself.
    pub aws_region: String,
    /// The shared plugin cache (its variables are in `env` already) and its init lock.
    pub plugins: Plugins,
}

pub struct Runner {
    settings: RunnerSettings,
    interrupts: Interrupts,
    /// The human-readable text of the last `plan` (its stdout), for the report.
    plan_output: Option<String>,
    /// The facts of the last plan, for the report of an apply that fails.
    planned: Option<PlanFacts>,
    /// The stdout of the last `apply`, whatever its outcome: how far it got.
    apply_output: Option<String>,
    /// The stdout of the last command run with [`Stdout::ShowAndKeep`].
    kept: Option<String>,
    /// The module files last written into a work dir.
    module: Option<ModuleFiles>,
    /// Where terraform's output goes while other services run too; `None`: live.
    buffer: Option<OutputBuffer>,
    /// An approved `apply` follows every plan: one that can only create starts at once.
    apply_early: bool,
    /// The last plan was applied already (it could only create).
    applied: bool,
}

impl Runner {
    pub fn new(settings: RunnerSettings, interrupts: Interrupts) -> Self {
        Self {
            settings,
            interrupts,
            plan_output: None,
            planned: None,
            apply_output: None,
            kept: None,
            module: None,
            buffer: None,
            apply_early: false,
            applied: false,
        }
    }

    /// The facts of the last successful plan, once.
    pub fn take_planned(&mut self) -> Option<PlanFacts> {
        self.planned.take()
    }

    /// What the last `apply` printed on stdout (also when it failed), once.
    pub fn take_apply_output(&mut self) -> Option<String> {
        self.apply_output.take()
    }

    /// A runner whose plans are applied without a question (`apply --auto-approve`): a plan
    /// that can only create is applied while its JSON is read, not after.
    pub fn applying(mut self) -> Self {
        self.apply_early = true;
        self
    }

    /// The next plans are not applied while read, even by an [`Runner::applying`] runner:
    /// `apply --plan-dir` compares a plan with the reviewed one before anything is applied.
    pub fn hold_early_apply(&mut self) {
        self.apply_early = false;
    }

    /// A runner whose commands' output is kept (see [`Runner::take_output`]) rather than
    /// shown as it comes: several services run at once.
    pub fn buffered(mut self) -> Self {
        self.buffer = Some(OutputBuffer::default());
        self
    }

    /// The output kept so far by a [`Runner::buffered`] runner, command lines included.
    pub fn take_output(&self) -> Option<String> {
        self.buffer
            .as_ref()
            .map(OutputBuffer::take)
            .filter(|text| !text.is_empty())
    }

    /// Terraform's own text of the last successful [`Runner::plan`], once.
    pub fn take_plan_output(&mut self) -> Option<String> {
        self.plan_output.take()
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

    /// Writes the module, clears out what lambda-gitops did not write, inits when needed,
    /// plans (again, when existing log groups must be adopted) and summarises.
    pub async fn plan(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        vars: &TfVars,
    ) -> Result<PlanFacts, Error> {
        self.planned = None;
        self.applied = false;
        let mut generated = Generated {
            moved: render::preview_moves(vars),
            imports: render::log_group_imports(&[]),
        };
        // A plan without changes touches nothing, foreign or not: `show -json` (a second
        // start of the provider) is skipped, and the report says so from the variables.
        if !self.plan_once(service, work_dir, &generated).await? {
            return Ok(PlanFacts::as_declared(service, vars));
        }
        let plan_json = if self.applies_unread(service, work_dir, vars).await {
            self.apply_while_reading(service, work_dir).await?
        } else {
            let mut plan_json = self.show_json(service, work_dir).await?;
            if self.settings.module_dir.is_none() {
                let adopt = self.adoption(service, &plan_json).await?;
                if !adopt.is_empty() {
                    tracing::info!(
                        "{service}: adopting {}, which exist(s) already; planning again",
                        crate::problem::backticked(&adopt.names())
                    );
                    generated.imports = render::imports(&adopt);
                    for (key, _) in &adopt.untainted {
                        self.untaint(
                            service,
                            work_dir,
                            &format!("aws_lambda_function.this[\"{key}\"]"),
                        )
                        .await?;
                    }
                    if !self.plan_once(service, work_dir, &generated).await? {
                        return Ok(PlanFacts::as_declared(service, vars));
                    }
                    plan_json = self.show_json(service, work_dir).await?;
                }
            }
            plan_json
        };
        let plan_path = work_dir.path.join(PLAN_JSON);
        let summary = PlanFacts::from_plan_json(service, plan_json.as_bytes()).map_err(|e| {
            Error::PlanJson {
                path: plan_path,
                message: e.to_string(),
            }
        })?;
        self.refuse_foreign(service, &summary)?;
        self.planned = Some(summary.clone());
        Ok(summary)
    }

    /// Whether the saved plan may be applied while its JSON is read: an auto-approved
    /// `apply` of the bundled module without `import` blocks, whose plan was made against a
    /// state (the prior state saved in the plan file itself, so no other run's apply in
    /// between can make it wrong) holding no resource of another service — then the plan
    /// can change none, and the foreign-resource guard has nothing to guard — and none of
    /// whose log groups missing from that state exist already (those would be adopted, and
    /// an adopted object may belong to someone else).
    async fn applies_unread(&self, service: &str, work_dir: &WorkDir, vars: &TfVars) -> bool {
        if !self.apply_early || self.settings.module_dir.is_some() {
            return false;
        }
        let Some(state) = prior_state(&work_dir.path.join(PLAN_FILE)) else {
            return false;
        };
        if !report::guard::other_owners_in_state(service, &state).is_some_and(|o| o.is_empty()) {
            return false;
        }
        if has_tainted(&state) {
            return false;
        }
        let in_state = log_groups_in(&state);
        let names: Vec<String> = vars
            .deployments
            .values()
            .map(|d| format!("/aws/lambda/{}", d.function_name))
            .filter(|name| !in_state.contains(name))
            .collect();
        let in_state = functions_in(&state);
        let functions: Vec<String> = vars
            .deployments
            .values()
            .map(|d| d.function_name.clone())
            .filter(|name| !in_state.contains(name))
            .collect();
        let adopts_none = (names.is_empty() && functions.is_empty()) || {
            let config = crate::aws::sdk_config(&self.settings.aws_region).await;
            let lambda = aws_sdk_lambda::Client::new(&config);
            crate::aws::log_groups::existing(&config, &names)
                .await
                .is_ok_and(|existing| existing.is_empty())
                && !crate::aws::adopt::any_function_exists(&lambda, &functions).await
        };
        if adopts_none {
            tracing::info!(
                "{service}: the plan changes nothing of another service: applying it while it is read"
            );
        }
        adopts_none
    }

    /// `apply` of the saved plan and `show -json` of it side by side; the plan's JSON.
    async fn apply_while_reading(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
    ) -> Result<String, Error> {
        // The reader shows nothing: no log group, no paused commands around the apply's.
        let mut reader = Runner::new(
            RunnerSettings {
                log_groups: false,
                ..self.settings.clone()
            },
            self.interrupts.clone(),
        );
        reader.buffer = self.buffer.clone();
        let show = reader.show_json(service, work_dir);
        let apply = self.apply_now(service, work_dir);
        let (shown, applied) = tokio::join!(show, apply);
        if applied.is_err() {
            // An apply that failed part way is reported against the plan's facts.
            self.planned = shown
                .as_ref()
                .ok()
                .and_then(|json| PlanFacts::from_plan_json(service, json.as_bytes()).ok());
        }
        applied?;
        self.applied = true;
        shown
    }

    /// What the plan would create that exists already and is adopted: log groups, and the
    /// functions and aliases of this service that an interrupted apply left out of the state.
    async fn adoption(
        &self,
        service: &str,
        plan_json: &str,
    ) -> Result<crate::aws::adopt::Adoption, Error> {
        let plan = plan_json.as_bytes();
        let log_groups = report::log_groups_to_create(plan);
        let functions = report::to_create(plan, "aws_lambda_function", "function_name");
        let aliases = report::to_create(plan, "aws_lambda_alias", "function_name");
        let tainted = report::tainted(plan, "aws_lambda_function", "function_name");
        if log_groups.is_empty() && functions.is_empty() && aliases.is_empty() && tainted.is_empty()
        {
            return Ok(Default::default());
        }
        let config = crate::aws::sdk_config(&self.settings.aws_region).await;
        let names: Vec<String> = log_groups.iter().map(|(_, name)| name.clone()).collect();
        let existing = crate::aws::log_groups::existing(&config, &names)
            .await
            .map_err(|message| Error::Aws {
                service: service.to_owned(),
                action: "look up the log groups the plan creates",
                message,
                hint: Some("the credentials need `logs:DescribeLogGroups`: a function that ever ran has its log group already, and creating it again would fail".into()),
            })?;
        let lambda = aws_sdk_lambda::Client::new(&config);
        let adopt_error = |source| Error::Adopt {
            service: service.to_owned(),
            source,
        };
        let roles = report::to_create(plan, "aws_lambda_function", "role");
        let creating = candidates(functions, roles);
        let functions = crate::aws::adopt::functions(&lambda, service, &creating)
            .await
            .map_err(adopt_error)?;
        // An alias is its function's: adopted on a function in the state (not created by this
        // plan) or adopted just now.
        let created: Vec<_> = creating.iter().map(|c| c.key).collect();
        let owned = |key: &crate::desired::DeploymentKey| {
            !created.contains(key) || functions.iter().any(|(k, _)| k == key)
        };
        let aliases = crate::aws::adopt::aliases(&lambda, &aliases, owned)
            .await
            .map_err(adopt_error)?;
        // Untainting writes the state: only an approved apply does it, never a plan (whose
        // role may not write the state) nor `--plan-dir` (which compares first).
        let untainted = match self.apply_early {
            true => {
                let roles = report::tainted(plan, "aws_lambda_function", "role");
                let tainted = candidates(tainted, roles);
                crate::aws::adopt::functions(&lambda, service, &tainted)
                    .await
                    .map_err(adopt_error)?
            }
            false => {
                for (_, function) in &tainted {
                    tracing::warn!("{service}: the function `{function}` is tainted in the state (an apply stopped while creating it); `apply --auto-approve` keeps it if it is this service's");
                }
                Vec::new()
            }
        };
        Ok(crate::aws::adopt::Adoption {
            log_groups: log_groups
                .into_iter()
                .filter(|(_, name)| existing.contains(name))
                .collect(),
            functions,
            aliases,
            untainted,
        })
    }

    /// `terraform untaint ADDRESS`: the object an interrupted apply created is kept.
    async fn untaint(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        address: &str,
    ) -> Result<(), Error> {
        let args = vec![
            "untaint".to_owned(),
            format!("-lock-timeout={}", self.settings.lock_timeout),
            address.to_owned(),
        ];
        self.run(service, work_dir, args, &[], false, &[0])
            .await
            .map(drop)
    }

    fn refuse_foreign(&self, service: &str, summary: &PlanFacts) -> Result<(), Error> {
        if summary.foreign.is_empty() {
            return Ok(());
        }
        let mut owners: Vec<String> = summary.foreign.iter().map(|f| f.owner.clone()).collect();
        owners.sort();
        owners.dedup();
        Err(Error::ForeignResources {
            service: service.to_owned(),
            owners,
            changes: summary
                .foreign
                .iter()
                .map(|f| (f.action.as_str().to_owned(), f.address.clone()))
                .collect(),
            state: self.settings.backend.state_location(service),
        })
    }

    /// The work dir as terraform must find it: module written, what lambda-gitops did not
    /// write scrubbed, no earlier plan, init when needed. The module files written.
    async fn ready(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        generated: &Generated,
    ) -> Result<ModuleFiles, Error> {
        self.check_interrupted()?;
        let module = module::write(
            &work_dir.path,
            self.settings.module_dir.as_deref(),
            self.settings.backend.backend,
            module::bundled_lock_fits(&self.settings.terraform.path),
            generated,
        )?;
        let marker = work_dir.data_dir_marker()?;
        let lock_path = work_dir.path.join(module::LOCK_FILE);
        // Without a shipped lock file, the one terraform recorded stays while the init that
        // wrote it vouches for it.
        let recorded_lock = !module.lock_shipped
            && marker
                .as_ref()
                .is_some_and(|m| m.lock_file.is_some() && m.lock_file == sha256_of(&lock_path));
        let mut written: Vec<&str> = module.names().collect();
        if recorded_lock {
            written.push(module::LOCK_FILE);
        }
        for name in work_dir.scrub(&written)? {
            tracing::warn!(
                "{service}: removed `{name}` from the work dir: lambda-gitops did not write it and terraform would read it"
            );
        }
        work_dir.clear_plan()?;

        let backend_config = self.settings.backend.for_service(service);
        let fingerprint = self.init_fingerprint(&module, &backend_config);
        let current = marker.is_some_and(|m| m.fingerprint == fingerprint)
            && (module.lock_shipped || recorded_lock)
            && plugins::providers_present(&work_dir.data_dir());
        if current {
            tracing::debug!("{service}: terraform init is current; skipped");
        } else {
            self.init(service, work_dir, &module, &backend_config, fingerprint)
                .await?;
        }
        self.module = Some(module.clone());
        Ok(module)
    }

    /// One pass: the work dir [`Runner::ready`], `plan`; whether the plan has changes.
    async fn plan_once(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        generated: &Generated,
    ) -> Result<bool, Error> {
        self.ready(service, work_dir, generated).await?;

        let mut args = vec![
            "plan".to_owned(),
            "-input=false".to_owned(),
            format!("-var-file={VARS_FILE}"),
            format!("-out={PLAN_FILE}"),
            "-detailed-exitcode".to_owned(),
            format!("-lock-timeout={}", self.settings.lock_timeout),
        ];
        if self.settings.destroy {
            args.push("-destroy".to_owned());
        }
        args.extend(self.no_color());
        // -detailed-exitcode: 0 no changes, 2 changes.
        self.plan_output = None;
        let planned = self
            .run_keeping_stdout(service, work_dir, args, &[0, 2])
            .await?;
        self.plan_output = Some(planned.stdout);
        Ok(planned.code == Some(2))
    }

    /// `show -json` of the saved plan, kept as `plan.json`; the JSON.
    async fn show_json(&mut self, service: &str, work_dir: &WorkDir) -> Result<String, Error> {
        let show = vec!["show".to_owned(), "-json".to_owned(), PLAN_FILE.to_owned()];
        let finished = self.run(service, work_dir, show, &[], true, &[0]).await?;
        let plan_json = work_dir.path.join(PLAN_JSON);
        std::fs::write(&plan_json, &finished.stdout)
            .map_err(|e| Error::io("write", &plan_json, e))?;
        Ok(finished.stdout)
    }

    /// The module files the last plan wrote into the work dir (for `plan --out-dir`).
    pub fn written_module(&self) -> Option<&ModuleFiles> {
        self.module.as_ref()
    }

    /// The terraform this runner runs.
    pub fn terraform(&self) -> &Terraform {
        &self.settings.terraform
    }

    /// The environment terraform gets (and git, for the plan dir's commit).
    pub fn child_env(&self) -> &ChildEnv {
        &self.settings.env
    }

    /// Applies the saved plan of the last [`Runner::plan`] (done already when that plan
    /// could only create, see [`Runner::applying`]).
    pub async fn apply(&mut self, service: &str, work_dir: &WorkDir) -> Result<(), Error> {
        if self.applied {
            return Ok(());
        }
        self.apply_now(service, work_dir).await
    }

    async fn apply_now(&mut self, service: &str, work_dir: &WorkDir) -> Result<(), Error> {
        self.check_interrupted()?;
        let mut args = vec![
            "apply".to_owned(),
            "-input=false".to_owned(),
            format!("-lock-timeout={}", self.settings.lock_timeout),
        ];
        args.extend(self.no_color());
        args.push(PLAN_FILE.to_owned());
        self.apply_output = None;
        self.kept = None;
        let applied = self
            .run_with(service, work_dir, args, &[], Stdout::ShowAndKeep, &[0])
            .await;
        self.apply_output = self.kept.take();
        applied.map(drop)
    }

    async fn init(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        module: &ModuleFiles,
        backend_config: &[String],
        fingerprint: String,
    ) -> Result<(), Error> {
        let mut args = vec![
            "init".to_owned(),
            "-input=false".to_owned(),
            "-reconfigure".to_owned(),
        ];
        if module.lock_shipped {
            args.push("-lockfile=readonly".to_owned());
        }
        args.extend(self.no_color());
        let first_secret = args.len();
        args.extend(
            backend_config
                .iter()
                .map(|pair| format!("-backend-config={pair}")),
        );
        let secrets: Vec<usize> = (first_secret..args.len()).collect();
        // One init at a time may fill the shared plugin cache; the others then link to it.
        let lock = self
            .settings
            .plugins
            .lock_for_init(&self.interrupts)
            .await?;
        self.run(service, work_dir, args, &secrets, false, &[0])
            .await?;
        drop(lock);
        work_dir.write_data_dir_marker(&Marker {
            fingerprint,
            lock_file: sha256_of(&work_dir.path.join(module::LOCK_FILE)),
        })?;
        Ok(())
    }

    /// What an init depends on: the module, lock and backend files, the backend config,
    /// where providers come from and the terraform binary. Not the generated `moved` and `import` blocks: they change
    /// with the previews and the log groups found, and init does not read them.
    fn init_fingerprint(&self, module: &ModuleFiles, backend_config: &[String]) -> String {
        let mut hasher = Hasher::default();
        let generated = [module::MOVED_FILE, module::IMPORTS_FILE];
        for (name, text) in module
            .files
            .iter()
            .filter(|(name, _)| !generated.contains(&name.as_str()))
        {
            hasher.update(name.as_bytes());
            hasher.update(&[0]);
            hasher.update(text.as_bytes());
            hasher.update(&[0]);
        }
        for pair in backend_config {
            hasher.update(pair.as_bytes());
            hasher.update(&[0]);
        }
        hasher.update(self.settings.plugins.identity.as_bytes());
        hasher.update(&[0]);
        hasher.update(self.settings.terraform.path.to_string_lossy().as_bytes());
        hasher.update(self.settings.terraform.version.as_bytes());
        hasher.finish().hex()
    }

    fn no_color(&self) -> Option<String> {
        (!self.settings.color).then(|| "-no-color".to_owned())
    }

    fn invocation(&self, work_dir: &WorkDir, args: Vec<String>, secrets: &[usize]) -> Invocation {
        Invocation {
            program: self.settings.terraform.path.clone(),
            args,
            secret_args: secrets.to_vec(),
            cwd: work_dir.path.clone(),
            env: {
                let mut env = self.settings.env.clone();
                env.set(env_vars::TF_DATA_DIR, work_dir.data_dir());
                env
            },
        }
    }

    /// Runs one command; an exit code outside `success_codes` is a `TerraformFailed`.
    async fn run(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        args: Vec<String>,
        secrets: &[usize],
        capture: bool,
        success_codes: &[i32],
    ) -> Result<Finished, Error> {
        let output = if capture {
            Stdout::Capture
        } else {
            Stdout::Show
        };
        self.run_with(service, work_dir, args, secrets, output, success_codes)
            .await
    }

    /// [`Runner::run`], showing stdout and keeping all of it in [`Finished::stdout`].
    async fn run_keeping_stdout(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        args: Vec<String>,
        success_codes: &[i32],
    ) -> Result<Finished, Error> {
        self.run_with(
            service,
            work_dir,
            args,
            &[],
            Stdout::ShowAndKeep,
            success_codes,
        )
        .await
    }

    async fn run_with(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        args: Vec<String>,
        secrets: &[usize],
        stdout: Stdout,
        success_codes: &[i32],
    ) -> Result<Finished, Error> {
        self.check_interrupted()?;
        let invocation = self.invocation(work_dir, args, secrets);
        let echo = match (&self.buffer, self.settings.echo) {
            (_, false) => Echo::Off,
            (Some(buffer), true) => Echo::Buffer(buffer.clone()),
            (None, true) => Echo::Live,
        };
        let options = RunOptions {
            capture_stdout: stdout == Stdout::Capture,
            echo: echo.clone(),
            keep_stdout: stdout == Stdout::ShowAndKeep,
            grace: self.settings.grace,
            timeout: Some(self.settings.timeout),
        };
        // Under GitHub Actions the output folds under the command line, and nothing
        // terraform prints (values from the gitops repo) is taken for a workflow command.
        // (`show -json` prints nothing there: no group, commands paused all the same.)
        let command_line = format!("{service}: $ {}", invocation.display());
        // Buffered output is folded and paused as a whole, per service, when it is printed.
        if let Echo::Buffer(buffer) = &echo {
            buffer.push_line(&command_line);
        }
        let paused = (self.settings.log_groups && matches!(echo, Echo::Live))
            .then(crate::ci::annotations::StopCommands::new);
        let grouped = paused.is_some() && stdout != Stdout::Capture;
        match &paused {
            _ if matches!(echo, Echo::Buffer(_)) => {}
            Some(stop) if grouped => eprintln!(
                "{}\n{}",
                crate::ci::annotations::group(&command_line),
                stop.pause()
            ),
            Some(stop) => {
                tracing::info!("{command_line}");
                eprintln!("{}", stop.pause());
            }
            None => tracing::info!("{command_line}"),
        }
        let finished = process::run(&invocation, options, &mut self.interrupts).await;
        if let Some(stop) = &paused {
            eprintln!("{}", stop.resume());
            if grouped {
                eprintln!("{}", crate::ci::annotations::END_GROUP);
            }
        }
        let finished = finished.map_err(|source| {
            Error::Terraform(crate::terraform::TerraformError::Start {
                path: invocation.program.clone(),
                source: source.source,
            })
        })?;
        if stdout == Stdout::ShowAndKeep {
            self.kept = Some(finished.stdout.clone());
        }
        let program = self.settings.terraform.name();
        let cwd = work_dir.path.clone();
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

/// What happens to a command's stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stdout {
    /// Shown live (unless quiet), its last lines kept with stderr's.
    Show,
    /// Shown and kept whole (the plan's text).
    ShowAndKeep,
    /// Kept, not shown (`show -json`).
    Capture,
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

/// The state a saved plan was made against: the plan file's own `tfstate` (after refresh).
/// `None` when it cannot be read.
fn prior_state(plan_file: &std::path::Path) -> Option<serde_json::Value> {
    let file = std::fs::File::open(plan_file).ok()?;
    let mut archive = zip::ZipArchive::new(file).ok()?;
    let entry = archive.by_name("tfstate").ok()?;
    serde_json::from_reader(entry).ok()
}

/// The functions `names` with the roles `roles` gives them (by deployment).
fn candidates(
    names: Vec<(crate::desired::DeploymentKey, String)>,
    roles: Vec<(crate::desired::DeploymentKey, String)>,
) -> Vec<crate::aws::adopt::Candidate> {
    names
        .into_iter()
        .map(|(key, function)| crate::aws::adopt::Candidate {
            key,
            role: roles
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, r)| r.clone()),
            function,
        })
        .collect()
}

/// Whether a state holds an object marked tainted (an apply stopped while creating it).
fn has_tainted(state: &serde_json::Value) -> bool {
    let resources = state.get("resources").and_then(|r| r.as_array());
    resources
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("instances").and_then(|i| i.as_array()))
        .flatten()
        .any(|i| i.get("status").and_then(|s| s.as_str()) == Some("tainted"))
}

/// The names of the log groups a state holds.
fn log_groups_in(state: &serde_json::Value) -> std::collections::BTreeSet<String> {
    names_in(state, "aws_cloudwatch_log_group", "name")
}

/// The names of the functions a state holds.
fn functions_in(state: &serde_json::Value) -> std::collections::BTreeSet<String> {
    names_in(state, "aws_lambda_function", "function_name")
}

/// The attribute `name` of every instance of `kind` in a state.
fn names_in(
    state: &serde_json::Value,
    kind: &str,
    name: &str,
) -> std::collections::BTreeSet<String> {
    let resources = state.get("resources").and_then(|r| r.as_array());
    resources
        .into_iter()
        .flatten()
        .filter(|r| r.get("type").and_then(|t| t.as_str()) == Some(kind))
        .filter_map(|r| r.get("instances").and_then(|i| i.as_array()))
        .flatten()
        .filter_map(|i| i.get("attributes")?.get(name)?.as_str())
        .map(str::to_owned)
        .collect()
}

/// SHA-256 hex of a regular file's bytes; `None` when there is none.
fn sha256_of(path: &std::path::Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let mut hasher = Hasher::default();
    hasher.update(&bytes);
    Some(hasher.finish().hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_file(dir: &std::path::Path, state: &str) -> PathBuf {
        use std::io::Write;
        let path = dir.join(PLAN_FILE);
        let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        writer.start_file("tfplan", options).unwrap();
        writer.write_all(b"\x0a\x00").unwrap();
        writer.start_file("tfstate", options).unwrap();
        writer.write_all(state.as_bytes()).unwrap();
        writer.finish().unwrap();
        path
    }

    #[test]
    fn the_prior_state_and_its_log_groups_are_read_from_the_plan_file() {
        let temp = tempfile::tempdir().unwrap();
        let state = r#"{"version":4,"resources":[
            {"mode":"managed","type":"aws_cloudwatch_log_group","name":"this","instances":[
                {"attributes":{"name":"/aws/lambda/a-staging"}},
                {"attributes":{"name":"/aws/lambda/a-prod"}}]},
            {"mode":"managed","type":"aws_lambda_function","name":"this","instances":[
                {"attributes":{"name":"not a log group"}}]}]}"#;
        let read = prior_state(&plan_file(temp.path(), state)).unwrap();
        assert_eq!(
            log_groups_in(&read),
            ["/aws/lambda/a-prod", "/aws/lambda/a-staging"]
                .map(str::to_owned)
                .into()
        );
        assert_eq!(prior_state(&plan_file(temp.path(), "not json")), None);
        std::fs::write(temp.path().join(PLAN_FILE), "not a zip").unwrap();
        assert_eq!(prior_state(&temp.path().join(PLAN_FILE)), None);
        assert_eq!(prior_state(&temp.path().join("missing")), None);
    }
}
