//! How a deployment's new version reaches `live` when its strategy is gradual, as this
//! run decided it (`run/rollout/decide.rs`): a rollout starts (its weights, interval and
//! alarms), one is in progress or was aborted (`live` stays on the old version), or the new
//! version goes all at once and why (a first deploy, a rollback).

use serde::Serialize;

use crate::desired::Strategy;

/// What this run does about a deployment's rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RolloutPhase {
    Starts,
    InProgress,
    Aborted,
    AllAtOnce,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutNote {
    pub strategy: Strategy,
    pub phase: RolloutPhase,
    /// The new version's share at each step, in percent.
    pub weights: Vec<u8>,
    pub interval_seconds: u64,
    pub alarms: Vec<String>,
    /// The share it has now (in progress or aborted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u8>,
    /// Why all at once, or why it was aborted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl RolloutNote {
    /// One line: `by canary, 10% for 5m, then 100%; alarms: `a`, `b``, or what holds.
    pub fn describe(&self, quote: &dyn Fn(&str) -> String) -> String {
        match self.phase {
            RolloutPhase::Starts => format!("{}{}", self.plan(), self.alarms_text(quote)),
            RolloutPhase::InProgress => format!(
                "{} rollout in progress at {}%: `lambda-gitops rollout` takes the next step",
                self.strategy.name(),
                self.weight.unwrap_or_default()
            ),
            RolloutPhase::Aborted => format!(
                "{} rollout aborted ({}): `live` stays on the old version until the version changes or `apply --retry-rollout`",
                self.strategy.name(),
                quote(self.reason.as_deref().unwrap_or("aborted"))
            ),
            RolloutPhase::AllAtOnce => format!(
                "all at once, not by {}: {}",
                self.strategy.name(),
                quote(self.reason.as_deref().unwrap_or(""))
            ),
        }
    }

    /// `by canary, 10% for 5m, then 100%` or `by linear, 25%, 50%, 75% every 5m, then 100%`.
    fn plan(&self) -> String {
        let interval = crate::terraform::process::humanize(std::time::Duration::from_secs(
            self.interval_seconds,
        ));
        let steps: Vec<String> = self
            .weights
            .iter()
            .filter(|w| **w < 100)
            .map(|w| format!("{w}%"))
            .collect();
        let each = if steps.len() > 1 { "every" } else { "for" };
        format!(
            "by {}, {} {each} {interval}, then 100%",
            self.strategy.name(),
            steps.join(", ")
        )
    }

    fn alarms_text(&self, quote: &dyn Fn(&str) -> String) -> String {
        match self.alarms.is_empty() {
            true => "; no alarms".into(),
            false => {
                let names: Vec<String> = self.alarms.iter().map(|a| quote(a)).collect();
                format!("; alarms: {}", names.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(strategy: Strategy, weights: &[u8], phase: RolloutPhase) -> RolloutNote {
        RolloutNote {
            strategy,
            phase,
            weights: weights.to_vec(),
            interval_seconds: 300,
            alarms: vec!["errors".into(), "p99".into()],
            weight: Some(10),
            reason: Some("`errors` is in ALARM".into()),
        }
    }

    #[test]
    fn a_rollout_reads_as_its_steps_interval_and_alarms() {
        let quote = |s: &str| format!("`{s}`");
        assert_eq!(
            note(Strategy::Canary, &[10, 100], RolloutPhase::Starts).describe(&quote),
            "by canary, 10% for 5m, then 100%; alarms: `errors`, `p99`"
        );
        assert_eq!(
            note(Strategy::Linear, &[25, 50, 75, 100], RolloutPhase::Starts).describe(&quote),
            "by linear, 25%, 50%, 75% every 5m, then 100%; alarms: `errors`, `p99`"
        );
        assert!(note(Strategy::Canary, &[10, 100], RolloutPhase::Aborted)
            .describe(&quote)
            .contains("until the version changes or `apply --retry-rollout`"));
    }
}
