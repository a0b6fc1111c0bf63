//! One step of a rollout in progress, decided from its record, its alarms and the time:
//! any alarm in `ALARM` aborts it (at once, whatever the interval); otherwise nothing
//! happens before the step's interval is over; then an alarm without data (or missing) holds
//! it — inconclusive, never a pass — and only with every alarm `OK` does the new version get
//! the next weight, or all the traffic at the last step.

use crate::aws::alarms::{Alarm, State};

use super::record::RolloutState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The step's interval is not over: nothing changes before `due` (unix seconds).
    Wait { due: u64 },
    /// Inconclusive: these alarms have no data (or do not exist); the step holds.
    Hold { alarms: Vec<String> },
    /// The new version's share becomes `weight` percent.
    Advance { weight: u8 },
    /// The new version takes all the traffic.
    Complete,
    /// `alarm` is in `ALARM`: traffic goes back to the old version.
    Abort { alarm: String, reason: String },
}

/// The next step of `state` at `now`, given its alarms.
pub fn next(state: &RolloutState, alarms: &[Alarm], now: u64) -> Step {
    if let Some(fired) = alarms.iter().find(|a| a.state == State::Alarm) {
        return Step::Abort {
            alarm: fired.name.clone(),
            reason: fired.reason.clone(),
        };
    }
    if now < state.next_due() {
        return Step::Wait {
            due: state.next_due(),
        };
    }
    let inconclusive: Vec<String> = alarms
        .iter()
        .filter(|a| a.state != State::Ok)
        .map(|a| format!("`{}` is {}", a.name, a.state.name()))
        .collect();
    if !inconclusive.is_empty() {
        return Step::Hold {
            alarms: inconclusive,
        };
    }
    let weights = state.config.weights();
    match weights.get(state.step + 1) {
        Some(100) | None => Step::Complete,
        Some(weight) => Step::Advance { weight: *weight },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{Rollout, Strategy};
    use crate::run::rollout::record::{Side, Status};

    fn state(strategy: Strategy, step: usize) -> RolloutState {
        let side = |v: &str| Side {
            version: v.into(),
            gitops_version: v.into(),
            code_sha256: v.into(),
        };
        RolloutState {
            function_name: "f".into(),
            config: Rollout {
                strategy,
                percent: 25,
                interval_seconds: 60,
                alarms: vec!["errors".into()],
            },
            from: side("1"),
            to: side("2"),
            step,
            started_at: 1000,
            stepped_at: 1000,
            status: Status::InProgress,
        }
    }

    fn alarm(state: State) -> Vec<Alarm> {
        vec![Alarm {
            name: "errors".into(),
            state,
            reason: "Threshold Crossed".into(),
        }]
    }

    #[test]
    fn a_step_waits_for_its_interval_then_advances_and_the_last_completes() {
        let linear = state(Strategy::Linear, 0);
        assert_eq!(
            next(&linear, &alarm(State::Ok), 1059),
            Step::Wait { due: 1060 }
        );
        assert_eq!(
            next(&linear, &alarm(State::Ok), 1060),
            Step::Advance { weight: 50 }
        );
        assert_eq!(
            next(&state(Strategy::Linear, 2), &alarm(State::Ok), 2000),
            Step::Complete
        );
        assert_eq!(next(&state(Strategy::Canary, 0), &[], 2000), Step::Complete);
    }

    #[test]
    fn an_alarm_aborts_at_once_and_an_alarm_without_data_holds_the_step() {
        let canary = state(Strategy::Canary, 0);
        assert_eq!(
            next(&canary, &alarm(State::Alarm), 1001),
            Step::Abort {
                alarm: "errors".into(),
                reason: "Threshold Crossed".into()
            }
        );
        assert_eq!(
            next(&canary, &alarm(State::InsufficientData), 5000),
            Step::Hold {
                alarms: vec!["`errors` is INSUFFICIENT_DATA".into()]
            }
        );
        assert!(matches!(
            next(&canary, &alarm(State::Missing), 5000),
            Step::Hold { .. }
        ));
    }
}
