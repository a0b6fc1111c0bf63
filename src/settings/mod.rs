//! Resolved settings: flags, environment and defaults merged once, checked, and typed.
//! Nothing past this point reads the environment or sees the argument parser.

use std::path::{Path, PathBuf};

pub mod deploy;
pub mod edit;
pub mod matrix;
pub mod rollout;

pub use deploy::{DeploySettings, Handoff, Mode, TerraformSettings};
pub use edit::{
    DestroySettings, PreviewSetSettings, PreviewSettings, PromoteSettings, PruneSettings,
    SetVersionSettings,
};
pub use matrix::MatrixSettings;
pub use rollout::RolloutSettings;

pub use crate::ci::CiSettings;
use crate::cli::{ColorChoice, GlobalArgs};
use crate::env_vars;
use crate::error::Error;
use crate::github::policy::{self, Refusal};
pub use crate::github::GithubSettings;
use crate::secret::{redact_url, Secret};

const DEFAULT_GITHUB_API: &str = "https://api.github.com";

#[derive(Debug, Clone)]
pub struct Settings {
    /// The gitops dir as the user named it (messages show paths under it this way).
    pub gitops_dir: PathBuf,
    /// Outside `checkout`: `--work-dir`, else [`crate::workdir::default_root`].
    pub work_dir: PathBuf,
    /// Canonical root of the checkout holding the gitops dir (its git work tree, else the
    /// gitops dir): nothing terraform reads may come from under it.
    pub checkout: PathBuf,
    pub cache_dir: PathBuf,
    /// Canonical directory every `path` package source must resolve inside.
    pub package_root: PathBuf,
    pub github: GithubSettings,
    /// How long a run may wait for GitHub's rate limits.
    pub github_waits: crate::retry::RateLimitWaits,
    pub max_package_size: u64,
    /// One package download, retries included, fails after this long.
    pub download_timeout: std::time::Duration,
    /// A response that sends nothing for this long fails (and is retried).
    pub download_stall_timeout: std::time::Duration,
    /// Empty when neither the flag nor the environment names one.
    pub aws_region: String,
    pub color: bool,
    /// -2 (errors only) … 2 (trace).
    pub verbosity: i8,
    /// `--allow-empty`: no Lambda service is not an error.
    pub allow_empty: bool,
    /// What the CI environment (GitHub Actions) says about this run.
    pub ci: CiSettings,
}

impl Settings {
    /// What staging needs of these settings.
    pub fn staging(&self) -> crate::stage::StageSettings<'_> {
        crate::stage::StageSettings {
            github: &self.github,
            github_waits: self.github_waits,
            cache_dir: &self.cache_dir,
            max_package_size: self.max_package_size,
            download_timeout: self.download_timeout,
            download_stall_timeout: self.download_stall_timeout,
        }
    }
}

impl Settings {
    /// Merges the global flags with the environment (`env` returns a variable's value).
    pub fn resolve(
        args: &GlobalArgs,
        env: impl Fn(&str) -> Option<String>,
        stderr_is_terminal: bool,
    ) -> Result<Self, Error> {
        let non_empty = |name: &str| env(name).filter(|v| !v.is_empty());
        let gitops_dir = args.gitops_dir.clone();
        if !gitops_dir.is_dir() {
            return Err(Error::GitopsDirMissing { path: gitops_dir });
        }
        let cache_dir = cache_dir(args, &non_empty)?;
        let dirs = Directories::resolve(args, &gitops_dir, &cache_dir, &non_empty)?;
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stderr_is_terminal && non_empty(env_vars::NO_COLOR).is_none(),
        };
        Ok(Self {
            gitops_dir,
            work_dir: dirs.work_dir,
            checkout: dirs.checkout,
            cache_dir,
            package_root: dirs.package_root,
            github: github(args, &non_empty)?,
            github_waits: rate_limit_waits(&non_empty)?,
            max_package_size: args.max_package_size,
            download_timeout: args.download_timeout,
            download_stall_timeout: args.download_stall_timeout,
            aws_region: args
                .aws_region
                .clone()
                .or_else(|| non_empty(env_vars::AWS_REGION))
                .or_else(|| non_empty(env_vars::AWS_DEFAULT_REGION))
                .unwrap_or_default(),
            color,
            verbosity: args.verbose as i8 - args.quiet as i8,
            allow_empty: args.allow_empty,
            ci: CiSettings::resolve(&env),
        })
    }
}

/// `--cache-dir`, else `$XDG_CACHE_HOME/lambda-gitops`, else `~/.cache/lambda-gitops`.
fn cache_dir(
    args: &GlobalArgs,
    non_empty: &dyn Fn(&str) -> Option<String>,
) -> Result<PathBuf, Error> {
    if let Some(dir) = &args.cache_dir {
        return Ok(dir.clone());
    }
    match (
        non_empty(env_vars::XDG_CACHE_HOME),
        non_empty(env_vars::HOME),
    ) {
        (Some(xdg), _) => Ok(PathBuf::from(xdg).join("lambda-gitops")),
        (None, Some(home)) => Ok(PathBuf::from(home).join(".cache").join("lambda-gitops")),
        (None, None) => Err(Error::NoCacheDir),
    }
}

/// The checkout holding the gitops dir, and the directories that must lie outside it
/// (the work dir, the cache dir) or inside it (the package root).
struct Directories {
    checkout: PathBuf,
    work_dir: PathBuf,
    package_root: PathBuf,
}

impl Directories {
    fn resolve(
        args: &GlobalArgs,
        gitops_dir: &Path,
        cache_dir: &Path,
        non_empty: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let checkout = match git_work_tree(gitops_dir) {
            Some(tree) => tree,
            None => gitops_dir
                .canonicalize()
                .map_err(|source| Error::io("resolve the gitops dir", gitops_dir, source))?,
        };
        let work_dir = match &args.work_dir {
            Some(dir) => {
                crate::workdir::refuse_inside_checkout("`--work-dir`", dir, &checkout)?;
                dir.clone()
            }
            None => {
                let runner_temp = non_empty(env_vars::RUNNER_TEMP).map(PathBuf::from);
                let dir =
                    crate::workdir::default_root(runner_temp.as_deref(), cache_dir, gitops_dir);
                crate::workdir::refuse_inside_checkout("the default work dir", &dir, &checkout)?;
                dir
            }
        };
        let what = if args.cache_dir.is_some() {
            "`--cache-dir`"
        } else {
            "the default cache dir"
        };
        crate::workdir::refuse_inside_checkout(what, cache_dir, &checkout)?;
        let package_root = match &args.package_root {
            Some(root) => root.clone(),
            None => git_work_tree(gitops_dir).unwrap_or_else(|| gitops_dir.to_path_buf()),
        };
        let package_root = package_root
            .canonicalize()
            .map_err(|source| Error::io("resolve the package root", &package_root, source))?;
        Ok(Self {
            checkout,
            work_dir,
            package_root,
        })
    }
}

/// The GitHub API (`--github-api-url`, else `$GITHUB_API_URL`) and the token.
fn github(
    args: &GlobalArgs,
    non_empty: &dyn Fn(&str) -> Option<String>,
) -> Result<GithubSettings, Error> {
    let api_text = args
        .github_api_url
        .clone()
        .or_else(|| non_empty(env_vars::GITHUB_API_URL))
        .unwrap_or_else(|| DEFAULT_GITHUB_API.to_owned());
    Ok(GithubSettings {
        api_url: parse_api_url(&api_text, args.allow_insecure_api)?,
        token: non_empty(env_vars::GITHUB_TOKEN)
            .or_else(|| non_empty(env_vars::GH_TOKEN))
            .map(Secret::new),
        allow_insecure: args.allow_insecure_api,
    })
}

/// The API URL, checked by the GitHub client's transport policy; it ends in `/` so that
/// appended segments keep any path prefix (GitHub Enterprise serves the API under `/api/v3`).
fn parse_api_url(text: &str, allow_insecure: bool) -> Result<reqwest::Url, Error> {
    policy::api_base(text, allow_insecure).map_err(|refusal| match refusal {
        Refusal::NotHttp => Error::InvalidApiUrl {
            url: redact_url(text),
        },
        Refusal::Insecure => Error::InsecureApiUrl {
            url: redact_url(text),
        },
    })
}

/// The rate-limit budget and first back-off, from the environment (whole seconds).
fn rate_limit_waits(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<crate::retry::RateLimitWaits, Error> {
    let seconds = |name: &'static str, default: std::time::Duration| match env(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse::<u64>()
            .map(std::time::Duration::from_secs)
            .map_err(|_| Error::Argument {
                name,
                message: format!("is `{text}`, not a whole number of seconds"),
            }),
    };
    Ok(crate::retry::RateLimitWaits {
        budget: seconds(
            env_vars::LAMBDA_GITOPS_GITHUB_MAX_WAIT,
            crate::retry::DEFAULT_RATE_LIMIT_BUDGET,
        )?,
        fallback: seconds(
            env_vars::LAMBDA_GITOPS_GITHUB_MIN_WAIT,
            crate::retry::DEFAULT_RATE_LIMIT_FALLBACK,
        )?,
    })
}

/// The nearest ancestor of `dir` (itself included) that holds `.git`.
fn git_work_tree(dir: &Path) -> Option<PathBuf> {
    let start = dir.canonicalize().ok()?;
    start
        .ancestors()
        .find(|candidate| candidate.join(".git").exists())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn resolve(args: &[&str], vars: &[(&str, &str)]) -> Result<Settings, Error> {
        let dir = tempfile::tempdir().unwrap();
        let mut argv = vec![
            "lambda-gitops",
            "scan",
            "--gitops-dir",
            dir.path().to_str().unwrap(),
        ];
        argv.extend_from_slice(args);
        let cli = Cli::parse_from(argv);
        let lookup = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        Settings::resolve(&cli.global, lookup, false)
    }

    #[test]
    fn rate_limit_waits_default_to_githubs_minute_and_ten_minutes_a_run() {
        let s = resolve(&[], &[("HOME", "/h")]).unwrap();
        assert_eq!(s.github_waits, crate::retry::RateLimitWaits::default());
        assert_eq!(s.github_waits.fallback, std::time::Duration::from_secs(60));
        let s = resolve(
            &[],
            &[
                ("HOME", "/h"),
                ("LAMBDA_GITOPS_GITHUB_MAX_WAIT", "5"),
                ("LAMBDA_GITOPS_GITHUB_MIN_WAIT", "1"),
            ],
        )
        .unwrap();
        assert_eq!(s.github_waits.budget, std::time::Duration::from_secs(5));
        assert_eq!(s.github_waits.fallback, std::time::Duration::from_secs(1));
        let error = resolve(
            &[],
            &[("HOME", "/h"), ("LAMBDA_GITOPS_GITHUB_MAX_WAIT", "1h")],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "`LAMBDA_GITOPS_GITHUB_MAX_WAIT` is `1h`, not a whole number of seconds"
        );
    }

    #[test]
    fn github_token_prefers_github_token_over_gh_token() {
        let s = resolve(
            &[],
            &[("HOME", "/h"), ("GH_TOKEN", "b"), ("GITHUB_TOKEN", "a")],
        )
        .unwrap();
        assert_eq!(s.github.token.unwrap().expose(), "a");
        let s = resolve(&[], &[("HOME", "/h"), ("GH_TOKEN", "b")]).unwrap();
        assert_eq!(s.github.token.unwrap().expose(), "b");
    }

    #[test]
    fn api_url_flag_beats_environment_and_keeps_its_path() {
        let s = resolve(
            &["--github-api-url", "http://127.0.0.1:9/api/v3"],
            &[("HOME", "/h"), ("GITHUB_API_URL", "http://other")],
        )
        .unwrap();
        assert_eq!(s.github.api_url.as_str(), "http://127.0.0.1:9/api/v3/");
        let s = resolve(&[], &[("HOME", "/h")]).unwrap();
        assert_eq!(s.github.api_url.as_str(), "https://api.github.com/");
        assert!(resolve(&["--github-api-url", "ftp://x"], &[("HOME", "/h")]).is_err());
    }

    #[test]
    fn an_http_api_url_off_loopback_is_refused_unless_allowed() {
        let refused = resolve(
            &["--github-api-url", "http://ghe.example.com/api/v3"],
            &[("HOME", "/h")],
        );
        assert!(matches!(refused, Err(Error::InsecureApiUrl { .. })));
        let refused = resolve(
            &[],
            &[("HOME", "/h"), ("GITHUB_API_URL", "http://ghe.example.com")],
        );
        assert!(matches!(refused, Err(Error::InsecureApiUrl { .. })));
        let allowed = resolve(
            &[
                "--github-api-url",
                "http://ghe.example.com/api/v3",
                "--allow-insecure-api",
            ],
            &[("HOME", "/h")],
        )
        .unwrap();
        assert_eq!(
            allowed.github.api_url.as_str(),
            "http://ghe.example.com/api/v3/"
        );
        assert!(allowed.github.allow_insecure);
    }

    #[test]
    fn the_work_dir_defaults_outside_the_gitops_dir() {
        let s = resolve(&[], &[("HOME", "/h"), ("RUNNER_TEMP", "/runner/_temp")]).unwrap();
        assert_eq!(s.work_dir, PathBuf::from("/runner/_temp/lambda-gitops"));
        let s = resolve(&[], &[("HOME", "/h")]).unwrap();
        assert!(
            s.work_dir.starts_with("/h/.cache/lambda-gitops/work"),
            "{:?}",
            s.work_dir
        );
    }

    #[test]
    fn the_github_actions_environment_is_read_once_and_checked() {
        let s = resolve(
            &[],
            &[
                ("HOME", "/h"),
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_STEP_SUMMARY", "/runner/summary.md"),
                ("GITHUB_REPOSITORY", "acme/gitops"),
                ("GITHUB_SERVER_URL", "https://github.com"),
                ("GITHUB_RUN_ID", "12345"),
                ("GITHUB_EVENT_PATH", "/runner/event.json"),
            ],
        )
        .unwrap();
        assert!(s.ci.github_actions);
        assert_eq!(s.ci.step_summary, Some(PathBuf::from("/runner/summary.md")));
        assert_eq!(
            s.ci.run_url.as_deref(),
            Some("https://github.com/acme/gitops/actions/runs/12345")
        );
        let outside = resolve(
            &[],
            &[
                ("HOME", "/h"),
                ("GITHUB_STEP_SUMMARY", "/tmp/s.md"),
                ("GITHUB_SERVER_URL", "https://github.com"),
                ("GITHUB_REPOSITORY", "acme/gitops"),
                ("GITHUB_RUN_ID", "1) [x](javascript:1"),
            ],
        )
        .unwrap();
        assert!(!outside.ci.github_actions);
        assert_eq!(outside.ci.step_summary, None, "only under GitHub Actions");
        assert_eq!(outside.ci.run_url, None);
    }

    #[test]
    fn cache_dir_follows_xdg_then_home() {
        let s = resolve(&[], &[("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]).unwrap();
        assert_eq!(s.cache_dir, PathBuf::from("/x/lambda-gitops"));
        let s = resolve(&[], &[("HOME", "/h")]).unwrap();
        assert_eq!(s.cache_dir, PathBuf::from("/h/.cache/lambda-gitops"));
    }
}
