//! Why a plan dir, or the saved plan in it, cannot be used: each reason a value, worded as
//! the error shows it after `the plan dir `DIR` cannot be used: `. Names and values that
//! came from the plan dir are excerpted before they get here.

use crate::problem::backticked;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    // A file of the plan dir (`verify.rs`).
    #[error("`{0}` is missing")]
    Missing(String),
    #[error("`{0}` is not a regular file")]
    NotAFile(String),
    #[error("`{name}` is larger than {limit} bytes")]
    TooLarge { name: String, limit: u64 },
    #[error("`{name}`: {reason}")]
    Unreadable { name: String, reason: String },
    #[error("`{0}` is not a plan's JSON")]
    NotPlanJson(String),

    // The plan file's archive (`plan_file.rs`).
    #[error("not a terraform plan file: {0}")]
    NotAPlanFile(String),
    #[error("it has no plan (`tfplan`)")]
    NoPlan,
    #[error("it unzips to more than {0} MiB")]
    UnzipsPast(u64),
    #[error("its plan and configuration unzip to more than {0} MiB")]
    HoldsPast(u64),
    #[error("its plan (`tfplan`) unzips to more than {0} MiB")]
    PlanPast(u64),
    #[error("its module manifest is not JSON")]
    ModulesNotJson,
    #[error("it calls modules lambda-gitops does not write")]
    CallsModules,
    #[error("it holds `{0}`, which a plan of lambda-gitops's module does not")]
    ForeignEntry(String),
    #[error("its entry `{name}`: {reason}")]
    Entry { name: String, reason: String },
    #[error("its prior state (`tfstate`) is not a terraform state")]
    NotAState,

    // What the plan does (`provenance.rs`).
    #[error("its plan (`tfplan`) cannot be read")]
    PlanUnreadable,
    #[error("it is a destroy plan (`plan -destroy`); only `lambda-gitops destroy` destroys, from a plan it makes itself")]
    Destroy,
    #[error("it is a refresh-only plan (`plan -refresh-only`), which lambda-gitops never makes")]
    RefreshOnly,
    #[error("it was made in an unknown mode ({0})")]
    UnknownMode(u64),
    #[error("it targets {} (`-target`); lambda-gitops applies only whole plans", backticked(.0))]
    Targets(Vec<String>),
    #[error("it forces the replacement of {} (`-replace`), which lambda-gitops never asks for", backticked(.0))]
    Replaces(Vec<String>),
    #[error("terraform marked it errored: it is incomplete")]
    Errored,

    // What the plan was made from (`provenance.rs`).
    #[error("its configuration is not the module lambda-gitops wrote")]
    OtherConfiguration,
    #[error("its provider lock file is not the one init wrote")]
    OtherLock,
    #[error("its backend cannot be read")]
    BackendUnreadable,
    #[error("it was made for the `{saved}` backend, this run names `{ours}`")]
    OtherBackend { saved: String, ours: String },
    #[error("it was made in another workspace")]
    OtherWorkspace,
    #[error("its backend setting `{0}` is not this run's")]
    OtherSetting(String),
    #[error("its backend lacks a `--backend-config` setting of this run")]
    MissingSetting,

    // The manifest (`manifest.rs`).
    #[error("its manifest holds a version, provider or commit lambda-gitops never writes")]
    ManifestValues,
    #[error("its manifest is schema version {found}; this lambda-gitops reads {reads}")]
    Schema { found: u32, reads: u32 },
    #[error("its manifest is for `{0}`")]
    OtherService(String),
    #[error("its manifest holds `{0}` where a SHA-256 belongs")]
    NotAHash(String),
    #[error("its manifest names a module file `{0}`")]
    ModuleFile(String),
    #[error("its manifest names a deployment `{0}`")]
    Deployment(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_as_the_error_shows_it() {
        assert_eq!(
            Refusal::OtherSetting("key".into()).to_string(),
            "its backend setting `key` is not this run's"
        );
        assert_eq!(
            Refusal::Targets(vec!["a.b".into(), "c.d".into()]).to_string(),
            "it targets `a.b`, `c.d` (`-target`); lambda-gitops applies only whole plans"
        );
        assert_eq!(
            Refusal::TooLarge {
                name: "plan.json".into(),
                limit: 10
            }
            .to_string(),
            "`plan.json` is larger than 10 bytes"
        );
        assert_eq!(
            Refusal::Schema { found: 9, reads: 1 }.to_string(),
            "its manifest is schema version 9; this lambda-gitops reads 1"
        );
    }
}
