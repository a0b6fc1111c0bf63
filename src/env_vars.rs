//! Every environment variable lambda-gitops reads, named and documented in one place.

/// GitHub token for release downloads; sent only to the GitHub API origin, never on a
/// redirect (see `github::policy`).
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
/// Fallback token name used by the `gh` CLI.
pub const GH_TOKEN: &str = "GH_TOKEN";
/// GitHub API base URL (GitHub Enterprise, tests); `--github-api-url` wins. Plain http only
/// on loopback unless `--allow-insecure-api`.
pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
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

/// Set by GitHub Actions: `owner/name` of the repository the workflow runs in; the default
/// of `preview prune --repo`.
pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
/// Set by GitHub Actions: the runner's per-job temp dir; the default work dir goes there.
pub const RUNNER_TEMP: &str = "RUNNER_TEMP";
/// Not read but set, for every terraform command: its data dir, inside the service's work
/// dir, whatever the caller's environment holds.
pub const TF_DATA_DIR: &str = "TF_DATA_DIR";

/// Variables that hold credentials lambda-gitops itself uses and that no child process needs.
pub const TOKENS: [&str; 2] = [GITHUB_TOKEN, GH_TOKEN];

/// Never passed to a child process: the tokens above, GitHub Enterprise's spellings of them,
/// and the GitHub Actions runtime tokens (artifact/cache API, OIDC token requests) that
/// terraform has no use for. A variable whose value holds the token is dropped too
/// ([`crate::child_env::ChildEnv`]).
pub const CHILD_DENYLIST: [&str; 6] = [
    GITHUB_TOKEN,
    GH_TOKEN,
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
];
