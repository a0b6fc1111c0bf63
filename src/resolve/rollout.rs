//! A deployment's rollout: lambda-gitops's defaults, the service's `lambda.rollout` over
//! them, the environment's over that — key by key, `alarms` as one list — then the rule
//! only the merged deployment can break: a gradual rollout weights the `live` alias, and
//! Lambda refuses provisioned concurrency on a weighted alias. Previews never come here:
//! they always deploy all at once.

use crate::config::RolloutConfig;
use crate::desired::{FunctionSettings, Rollout, Strategy};
use crate::problem::Problem;
use crate::resolve::overrides::Origins;
use crate::validate::rollout::interval_seconds;

/// `base` with the keys `over` sets replaced. Validation has checked every value, so each
/// parses; one that did not would keep the base's.
pub fn merged(base: &Rollout, over: Option<&RolloutConfig>) -> Rollout {
    let Some(over) = over else {
        return base.clone();
    };
    Rollout {
        strategy: over
            .strategy
            .as_deref()
            .and_then(Strategy::parse)
            .unwrap_or(base.strategy),
        percent: over
            .percent
            .and_then(|percent| u8::try_from(percent.0).ok())
            .unwrap_or(base.percent),
        interval_seconds: over
            .interval
            .as_deref()
            .and_then(|text| interval_seconds(text).ok())
            .unwrap_or(base.interval_seconds),
        alarms: over
            .alarms
            .as_ref()
            .map(|alarms| alarms.iter().map(|name| name.0.clone()).collect())
            .unwrap_or_else(|| base.alarms.clone()),
    }
}

/// A gradual rollout on a deployment with provisioned concurrency: blamed on the key that
/// set the strategy, naming where the provisioned concurrency is set.
pub fn check(
    rollout: &Rollout,
    settings: &FunctionSettings,
    origins: &Origins<'_>,
    problems: &mut Vec<Problem>,
) {
    let provisioned = settings.provisioned_concurrency;
    if !rollout.gradual() || provisioned == 0 {
        return;
    }
    let (source, path) = origins.origin(&["provisionedConcurrency"]);
    let provisioned_at = source.location(&path);
    let strategy = rollout.strategy.name();
    problems.push(
        origins
            .at(
                &["rollout", "strategy"],
                format!(
                    "{}: strategy `{strategy}` shifts traffic through a weighted `live` alias, and Lambda refuses provisioned concurrency on a weighted alias; provisionedConcurrency is {provisioned} ({provisioned_at})",
                    origins.what
                ),
            )
            .with_hint(format!(
                "use `strategy: allAtOnce` for {0}, or set `provisionedConcurrency: 0` for {0}",
                origins.what
            )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AlarmName, Percent};

    fn config(strategy: Option<&str>, percent: Option<i128>) -> RolloutConfig {
        RolloutConfig {
            strategy: strategy.map(str::to_owned),
            percent: percent.map(Percent),
            ..RolloutConfig::default()
        }
    }

    #[test]
    fn an_environments_rollout_keys_win_one_by_one_over_the_services() {
        let service = RolloutConfig {
            interval: Some("1h30m".to_owned()),
            alarms: Some(vec![AlarmName("errors".to_owned())]),
            ..config(Some("canary"), Some(20))
        };
        let default = merged(&Rollout::default(), Some(&service));
        assert_eq!(
            default,
            Rollout {
                strategy: Strategy::Canary,
                percent: 20,
                interval_seconds: 5400,
                alarms: vec!["errors".to_owned()],
            }
        );
        let staging = merged(&default, Some(&config(None, Some(5))));
        assert_eq!(staging.strategy, Strategy::Canary);
        assert_eq!(staging.percent, 5);
        assert_eq!(staging.interval_seconds, 5400);
        assert_eq!(staging.alarms, ["errors"]);
        let linear = RolloutConfig {
            alarms: Some(vec![]),
            ..config(Some("linear"), None)
        };
        let production = merged(&default, Some(&linear));
        assert_eq!(production.strategy, Strategy::Linear);
        assert_eq!(production.percent, 20);
        assert!(production.alarms.is_empty(), "an empty list clears them");
        assert_eq!(merged(&default, None), default);
    }

    #[test]
    fn without_any_rollout_a_deployment_goes_all_at_once() {
        let rollout = merged(&merged(&Rollout::default(), None), None);
        assert_eq!(rollout, Rollout::default());
        assert!(!rollout.gradual());
    }
}
