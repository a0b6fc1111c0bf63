//! What a `plan` or `apply` does with a deployment whose strategy may be gradual, decided
//! before terraform starts from three things: what the gitops repo declares (the version
//! and its package's CodeSha256), what `live` runs now (the Lambda API) and the rollout
//! record. The decision says which published version `live` stays on while terraform
//! publishes the new one (rendered into the module's variables, so terraform never moves
//! what a rollout holds) and what happens once terraform is done.
//!
//! A first deploy (nothing to shift from) and a rollback to the version `live` ran before
//! go all at once; a rollout of the declared version in progress goes on (the `rollout`
//! command steps it); an aborted one holds `live` on the old version until the declared
//! version changes or `--retry-rollout`; any other new version starts a rollout — from the
//! version `live` ran before a rollout in progress, when one was (it restarts with the
//! newest version).

use crate::aws::status::Running;
use crate::desired::{DeploymentKey, Rollout};

use super::record::{RolloutState, Side, Status};

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Nothing gradual about it: `live` follows terraform's published version.
    AsUsual,
    /// A new version goes all at once though the strategy is gradual: why. With `clears`,
    /// the rollout recorded for it ends (its weights go, its record too).
    AllAtOnce { why: String, clears: bool },
    /// A rollout starts once terraform has published the new version: `live` stays on `from`.
    Start { from: Side },
    /// A rollout of the declared version goes on: `live` stays where it is.
    InProgress(RolloutState),
    /// The rollout of the declared version was aborted: `live` stays on the old version.
    Aborted(RolloutState),
}

impl Decision {
    /// The published version `live` stays on while terraform runs (`None`: it follows the
    /// function's newest version), and that version's code.
    pub fn holds(&self) -> Option<&Side> {
        match self {
            Self::Start { from } => Some(from),
            Self::InProgress(state) | Self::Aborted(state) => Some(&state.from),
            Self::AsUsual | Self::AllAtOnce { .. } => None,
        }
    }
}

/// What a deployment declares: its version, its package's CodeSha256 and its rollout.
#[derive(Debug, Clone, Copy)]
pub struct Declared<'a> {
    pub key: DeploymentKey,
    pub version: &'a str,
    pub code_sha256: &'a str,
    pub rollout: &'a Rollout,
}

/// What `declared` means given what `live` runs (`None`: no function or no `live` alias
/// yet) and the deployment's rollout record.
pub fn decide(
    declared: Declared<'_>,
    running: Option<&Running>,
    record: Option<&RolloutState>,
    retry: bool,
) -> Decision {
    let code_sha256 = declared.code_sha256;
    let gradual = declared.rollout.gradual() && declared.key.pr().is_none();
    if let Some(decision) = record.and_then(|r| by_record(declared, r, gradual, retry)) {
        return decision;
    }
    let open = record.filter(|r| !matches!(r.status, Status::Completed { .. }));
    let Some(running) = running.filter(|r| r.qualifier == crate::aws::status::LIVE_ALIAS) else {
        return match gradual {
            true => Decision::AllAtOnce {
                why: "the first deploy: there is no version to shift traffic from".into(),
                clears: open.is_some(),
            },
            false => Decision::AsUsual,
        };
    };
    if !gradual {
        return match open {
            Some(_) => Decision::AllAtOnce {
                why: "the strategy is allAtOnce now".into(),
                clears: true,
            },
            None => Decision::AsUsual,
        };
    }
    if open.is_none() && running.code_sha256 == code_sha256 {
        return Decision::AsUsual;
    }
    let from = match open {
        // A newer version mid-rollout: it restarts from what `live` ran before.
        Some(record) => record.from.clone(),
        None => Side {
            version: running.function_version.clone(),
            gitops_version: running.version_tag.clone().unwrap_or_default(),
            code_sha256: running.code_sha256.clone(),
        },
    };
    Decision::Start { from }
}

/// What the record alone decides: the declared version is the one it rolls out (go on, hold
/// after an abort, start again on a retry) or the one it shifted from (a rollback: at once).
fn by_record(
    declared: Declared<'_>,
    record: &RolloutState,
    gradual: bool,
    retry: bool,
) -> Option<Decision> {
    let version = declared.version;
    let same =
        |side: &Side| side.gitops_version == version && side.code_sha256 == declared.code_sha256;
    if same(&record.to) {
        return Some(match (&record.status, retry) {
            (Status::InProgress, _) => Decision::InProgress(record.clone()),
            (Status::Aborted { .. }, false) => Decision::Aborted(record.clone()),
            (Status::Aborted { .. }, true) if gradual => Decision::Start {
                from: record.from.clone(),
            },
            (Status::Aborted { .. }, true) => Decision::AllAtOnce {
                why: "the strategy is allAtOnce now".into(),
                clears: true,
            },
            (Status::Completed { .. }, _) => Decision::AsUsual,
        });
    }
    same(&record.from).then(|| Decision::AllAtOnce {
        why: format!(
            "a rollback to {version}, the version `live` ran before the rollout of {}",
            record.to.gitops_version
        ),
        clears: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::Strategy;

    /// Production declaring `0.1.<n>` with the package `sha<n>`.
    fn declared(n: u32, strategy: Strategy) -> (String, String, Rollout) {
        let rollout = Rollout {
            strategy,
            ..Rollout::default()
        };
        (format!("0.1.{n}"), format!("sha{n}"), rollout)
    }

    fn decide(
        declared: &(String, String, Rollout),
        running: Option<&Running>,
        record: Option<&RolloutState>,
        retry: bool,
    ) -> Decision {
        super::decide(
            Declared {
                key: DeploymentKey::Production,
                version: &declared.0,
                code_sha256: &declared.1,
                rollout: &declared.2,
            },
            running,
            record,
            retry,
        )
    }

    fn side(n: u32) -> Side {
        Side {
            version: n.to_string(),
            gitops_version: format!("0.1.{n}"),
            code_sha256: format!("sha{n}"),
        }
    }

    fn live(n: u32) -> Running {
        Running {
            function_name: "f".into(),
            qualifier: "live".into(),
            function_version: n.to_string(),
            version_tag: Some(format!("0.1.{n}")),
            code_sha256: format!("sha{n}"),
            since: None,
            owner: (None, None),
        }
    }

    fn record(from: u32, to: u32, status: Status) -> RolloutState {
        RolloutState {
            function_name: "f".into(),
            config: Rollout {
                strategy: Strategy::Canary,
                ..Rollout::default()
            },
            from: side(from),
            to: side(to),
            step: 0,
            started_at: 0,
            stepped_at: 0,
            status,
        }
    }

    #[test]
    fn a_new_version_starts_a_rollout_from_what_live_runs_and_the_first_deploy_goes_at_once() {
        let canary = declared(7, Strategy::Canary);
        assert_eq!(
            decide(&canary, Some(&live(6)), None, false),
            Decision::Start { from: side(6) }
        );
        assert!(matches!(
            decide(&canary, None, None, false),
            Decision::AllAtOnce { clears: false, .. }
        ));
        assert_eq!(
            decide(&declared(6, Strategy::Canary), Some(&live(6)), None, false),
            Decision::AsUsual,
            "live runs it already"
        );
        let at_once = declared(7, Strategy::AllAtOnce);
        assert_eq!(
            decide(&at_once, Some(&live(6)), None, false),
            Decision::AsUsual
        );
    }

    #[test]
    fn an_aborted_version_is_not_rolled_again_until_it_changes_or_a_retry_is_asked() {
        let canary = declared(7, Strategy::Canary);
        let aborted = record(
            6,
            7,
            Status::Aborted {
                at: 1,
                alarm: Some("errors".into()),
                reason: "r".into(),
            },
        );
        assert_eq!(
            decide(&canary, Some(&live(6)), Some(&aborted), false),
            Decision::Aborted(aborted.clone())
        );
        assert_eq!(
            decide(&canary, Some(&live(6)), Some(&aborted), true),
            Decision::Start { from: side(6) }
        );
        let newer = declared(8, Strategy::Canary);
        assert_eq!(
            decide(&newer, Some(&live(6)), Some(&aborted), false),
            Decision::Start { from: side(6) }
        );
    }

    #[test]
    fn a_newer_version_mid_rollout_restarts_from_the_old_one_and_a_rollback_goes_at_once() {
        let in_progress = record(6, 7, Status::InProgress);
        let same = declared(7, Strategy::Canary);
        assert_eq!(
            decide(&same, Some(&live(6)), Some(&in_progress), false),
            Decision::InProgress(in_progress.clone())
        );
        let newer = declared(8, Strategy::Canary);
        assert_eq!(
            decide(&newer, Some(&live(6)), Some(&in_progress), false),
            Decision::Start { from: side(6) }
        );
        let back = declared(6, Strategy::Canary);
        assert!(matches!(
            decide(&back, Some(&live(6)), Some(&in_progress), false),
            Decision::AllAtOnce { clears: true, ref why } if why.contains("rollback to 0.1.6")
        ));
        let completed = record(
            6,
            7,
            Status::Completed {
                at: 1,
                forced: false,
            },
        );
        assert!(matches!(
            decide(&back, Some(&live(7)), Some(&completed), false),
            Decision::AllAtOnce { clears: true, .. }
        ));
        assert_eq!(
            decide(&same, Some(&live(7)), Some(&completed), false),
            Decision::AsUsual
        );
    }
}
