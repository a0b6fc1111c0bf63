//! The environment a child process (terraform) runs with: lambda-gitops's own, minus every
//! credential it holds for itself — the GitHub token under any name, and GitHub Actions'
//! runtime tokens — plus what lambda-gitops sets for the child. Built once per run and
//! given to each command explicitly (`env_clear` first), so nothing is inherited by accident.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};

use crate::env_vars;
use crate::secret::Secret;

#[derive(Debug, Clone, Default)]
pub struct ChildEnv {
    vars: BTreeMap<OsString, OsString>,
}

impl ChildEnv {
    /// This process's environment without the credentials in `secrets` or [`env_vars::CHILD_DENYLIST`].
    pub fn inherit<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        Self::from_vars(std::env::vars_os(), secrets)
    }

    /// [`ChildEnv::inherit`] over given variables. A variable is dropped when its name is
    /// denied or its value holds a secret (a token copied into `INPUT_TOKEN`, say).
    pub fn from_vars<'a>(
        vars: impl IntoIterator<Item = (OsString, OsString)>,
        secrets: impl IntoIterator<Item = &'a Secret>,
    ) -> Self {
        let secrets: Vec<&[u8]> = secrets
            .into_iter()
            .map(|s| s.expose().as_bytes())
            .filter(|s| !s.is_empty())
            .collect();
        let holds_secret = |value: &OsStr| {
            let value = value.as_encoded_bytes();
            secrets
                .iter()
                .any(|secret| value.windows(secret.len()).any(|window| window == *secret))
        };
        let vars = vars
            .into_iter()
            .filter(|(name, value)| {
                !env_vars::CHILD_DENYLIST
                    .iter()
                    .any(|denied| name.as_os_str() == OsStr::new(denied))
                    && !holds_secret(value)
            })
            .collect();
        Self { vars }
    }

    /// Sets (or replaces) one variable for the child.
    pub fn set(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> &mut Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&OsString, &OsString)> {
        self.vars.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    #[test]
    fn tokens_never_reach_a_child_under_any_name() {
        let token = Secret::new("ghp_abcdef0123456789".into());
        let env = ChildEnv::from_vars(
            vars(&[
                ("PATH", "/bin"),
                ("GITHUB_TOKEN", "ghp_abcdef0123456789"),
                ("GH_TOKEN", "other"),
                ("ACTIONS_RUNTIME_TOKEN", "runtime"),
                ("INPUT_TOKEN", "ghp_abcdef0123456789"),
                ("AUTH_HEADER", "Bearer ghp_abcdef0123456789"),
                ("AWS_REGION", "eu-west-2"),
            ]),
            [&token],
        );
        let names: Vec<_> = env.iter().map(|(k, _)| k.to_str().unwrap()).collect();
        assert_eq!(names, ["AWS_REGION", "PATH"]);
    }

    #[test]
    fn set_replaces() {
        let mut env = ChildEnv::from_vars(vars(&[("TF_DATA_DIR", "x")]), []);
        env.set("TF_DATA_DIR", "y");
        assert_eq!(env.get("TF_DATA_DIR"), Some(OsStr::new("y")));
    }
}
