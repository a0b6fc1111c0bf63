//! CloudWatch alarms a rollout watches: each named alarm's state (`OK`, `ALARM`,
//! `INSUFFICIENT_DATA`) and its reason, read in one `DescribeAlarms` (at most 100 names;
//! a rollout names at most 20). An alarm that does not exist is reported as missing, never
//! taken for `OK`.

use super::AwsError;

/// What an alarm says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    pub name: String,
    pub state: State,
    /// CloudWatch's reason for the state.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ok,
    Alarm,
    InsufficientData,
    /// No alarm of that name (in this account and region).
    Missing,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Alarm => "ALARM",
            Self::InsufficientData => "INSUFFICIENT_DATA",
            Self::Missing => "missing",
        }
    }
}

/// The alarms `names`, in that order.
pub async fn read(
    config: &aws_config::SdkConfig,
    names: &[String],
) -> Result<Vec<Alarm>, AwsError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let client = aws_sdk_cloudwatch::Client::new(config);
    let found = client
        .describe_alarms()
        .set_alarm_names(Some(names.to_vec()))
        .alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
        .alarm_types(aws_sdk_cloudwatch::types::AlarmType::CompositeAlarm)
        .max_records(100)
        .send()
        .await
        .map_err(|error| AwsError::new("read the rollout's CloudWatch alarms", &error))?;
    use aws_sdk_cloudwatch::types::StateValue;
    let states: Vec<(String, State, String)> = found
        .metric_alarms()
        .iter()
        .map(|a| (a.alarm_name(), a.state_value(), a.state_reason()))
        .chain(
            found
                .composite_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.state_value(), a.state_reason())),
        )
        .map(|(name, state, reason)| {
            let state = match state {
                Some(StateValue::Ok) => State::Ok,
                Some(StateValue::Alarm) => State::Alarm,
                _ => State::InsufficientData,
            };
            (
                name.unwrap_or_default().to_owned(),
                state,
                reason.unwrap_or_default().to_owned(),
            )
        })
        .collect();
    Ok(names
        .iter()
        .map(|name| match states.iter().find(|(n, _, _)| n == name) {
            Some((_, state, reason)) => Alarm {
                name: name.clone(),
                state: *state,
                reason: reason.clone(),
            },
            None => Alarm {
                name: name.clone(),
                state: State::Missing,
                reason: "no such alarm".into(),
            },
        })
        .collect())
}
