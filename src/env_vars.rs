//! Every environment variable lambda-gitops reads, named and documented in one place.

/// GitHub token for release downloads; sent only to the GitHub API origin, never on a
/// redirect (see `github::policy`).
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
/// Fallback token name used by the `gh` CLI.
pub const GH_TOKEN: &str = "GH_TOKEN";
/// GitHub API base URL (GitHub Enterprise, tests); `--github-api-url` wins. Plain http only
/// on loopback unless `--allow-insecure-api`.
pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
/// How long after its first GitHub call a run may still be waiting for GitHub's rate limits,
/// in seconds (default 600). A wait GitHub asks for (`retry-after`, the limit's reset) that
/// would end later fails at once.
pub const LAMBDA_GITOPS_GITHUB_MAX_WAIT: &str = "LAMBDA_GITOPS_GITHUB_MAX_WAIT";
/// The first wait after a rate limit for which GitHub names no time, in seconds (default 60,
/// GitHub's "at least one minute"; it doubles on each repeat). Lower it only against a test
/// server.
pub const LAMBDA_GITOPS_GITHUB_MIN_WAIT: &str = "LAMBDA_GITOPS_GITHUB_MIN_WAIT";
/// Base of the default cache dir (`$XDG_CACHE_HOME/lambda-gitops`).
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
/// Home directory, for `~/.cache/lambda-gitops`.
pub const HOME: &str = "HOME";
/// Disables colour when set to anything non-empty (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// Log filter override, in `tracing_subscriber::EnvFilter` syntax (e.g. `lambda_gitops=trace`).
pub const LAMBDA_GITOPS_LOG: &str = "LAMBDA_GITOPS_LOG";
/// AWS region for the module, when `--aws-region` is not given.
pub const AWS_REGION: &str = "AWS_REGION";
/// Second fallback for the AWS region.
pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";

/// Set by GitHub Actions: the runner's per-job temp dir; the default work dir goes there.
pub const RUNNER_TEMP: &str = "RUNNER_TEMP";
/// Set by GitHub Actions to `true`: validation errors become annotations, terraform's
/// output is folded in log groups, and the Markdown report goes to the job summary.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// Set by GitHub Actions: the file the job summary (Markdown) is appended to.
pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
/// Set by GitHub Actions: `owner/name` of the repository the workflow runs in, where
/// `--github-comment` comments; the default of `preview prune --repo`.
pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
/// Set by GitHub Actions: the event payload (JSON), for the pull request's number.
pub const GITHUB_EVENT_PATH: &str = "GITHUB_EVENT_PATH";
/// Set by GitHub Actions: the checkout; annotation paths are made relative to it.
pub const GITHUB_WORKSPACE: &str = "GITHUB_WORKSPACE";
/// Set by GitHub Actions: with `GITHUB_REPOSITORY` and `GITHUB_RUN_ID`, the link to the
/// workflow run in comments.
pub const GITHUB_SERVER_URL: &str = "GITHUB_SERVER_URL";
/// Set by GitHub Actions: the workflow run's id.
pub const GITHUB_RUN_ID: &str = "GITHUB_RUN_ID";

/// Not read but set, for every terraform command: its data dir, inside the service's work
/// dir, whatever the caller's environment holds.
pub const TF_DATA_DIR: &str = "TF_DATA_DIR";
/// Read (the user's CLI config, to keep it) and set, for every terraform command: the CLI
/// config lambda-gitops writes when it adds a plugin mirror or drops a config inside the
/// checkout.
pub const TF_CLI_CONFIG_FILE: &str = "TF_CLI_CONFIG_FILE";
/// Set for every terraform command: the provider cache shared by every work dir and run.
pub const TF_PLUGIN_CACHE_DIR: &str = "TF_PLUGIN_CACHE_DIR";
/// Set for every terraform command: no "next steps" advice in its output.
pub const TF_IN_AUTOMATION: &str = "TF_IN_AUTOMATION";
/// Set to `0` for every terraform command: it never waits for input.
pub const TF_INPUT: &str = "TF_INPUT";
/// Terraform's workspace, passed through to terraform: another than `default` puts the state
/// under another key, which lambda-gitops does not read itself (the one-step apply and
/// rollouts then stand aside).
pub const TF_WORKSPACE: &str = "TF_WORKSPACE";

/// Variables that hold credentials lambda-gitops itself uses and that no child process needs.
pub const TOKENS: [&str; 2] = [GITHUB_TOKEN, GH_TOKEN];

/// Never passed to a child process: the tokens above, GitHub Enterprise's spellings of them,
/// and the GitHub Actions runtime tokens (artifact/cache API, OIDC token requests) that
/// terraform has no use for. A variable whose value holds the token is dropped too
/// ([`crate::process::child_env::ChildEnv`]).
pub const CHILD_DENYLIST: [&str; 6] = [
    GITHUB_TOKEN,
    GH_TOKEN,
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
];
