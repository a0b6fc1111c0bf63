//! The single-value rules of `lambda.rollout` — its strategy, percent, interval and alarm
//! names — and [`interval_seconds`], the interval parser resolve uses to turn a checked
//! `5m` into 300. Each rule takes one value and returns the message of what is wrong.

use crate::desired::Strategy;
use crate::problem::excerpt;
use crate::validate::rules;

/// The most alarms one rollout watches.
pub const MAX_ALARMS: usize = 20;
/// CloudWatch's limit on an alarm name, in characters.
const MAX_ALARM_NAME_CHARS: usize = 255;

/// One of `allAtOnce`, `canary`, `linear`, with a "did you mean".
pub fn strategy(value: &str) -> Result<(), String> {
    rules::one_of(value, &Strategy::NAMES, "strategy")
}

/// 1–99: 0 would never move traffic and 100 is `allAtOnce`.
pub fn percent(value: i128) -> Result<(), String> {
    if (1..=99).contains(&value) {
        return Ok(());
    }
    let mut message = format!("percent {value} must be a whole number from 1 to 99");
    if value == 100 {
        message.push_str(": 100% at once is `strategy: allAtOnce`");
    }
    Err(message)
}

/// A non-empty, printable name CloudWatch accepts (1–255 characters).
pub fn alarm_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("an alarm name must not be empty".to_owned());
    }
    rules::printable(name, "alarm")?;
    let count = name.chars().count();
    (count <= MAX_ALARM_NAME_CHARS)
        .then_some(())
        .ok_or_else(|| {
            format!(
                "alarm `{}` is {count} characters; CloudWatch allows {MAX_ALARM_NAME_CHARS}",
                excerpt(name)
            )
        })
}

/// `30s`, `5m`, `1h`, `1h30m`, `2m30s`: whole hours, minutes and seconds, each unit at
/// most once and in that order, at least one second in all → the seconds.
///
/// Hand-written rather than a general duration crate's, which would also take days,
/// milliseconds and spaces: a rollout interval is a few minutes or hours, and anything else
/// is more likely a typo than a wish.
pub fn interval_seconds(text: &str) -> Result<u64, String> {
    let invalid = || {
        format!(
            "interval `{}` is not a duration: write whole hours, minutes and seconds, e.g. `30s`, `5m`, `1h30m`",
            excerpt(text)
        )
    };
    const UNITS: [(char, u64); 3] = [('h', 3600), ('m', 60), ('s', 1)];
    let mut total: u64 = 0;
    let mut rest = text;
    // Units come in order: the next one is looked for only after the last one seen.
    let mut next = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = rest[digits..].chars().next().ok_or_else(invalid)?;
        let index = UNITS[next..]
            .iter()
            .position(|(name, _)| *name == unit)
            .filter(|_| digits > 0)
            .ok_or_else(invalid)?
            + next;
        let count: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        total = count
            .checked_mul(UNITS[index].1)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(invalid)?;
        next = index + 1;
        rest = &rest[digits + unit.len_utf8()..];
    }
    if text.is_empty() {
        return Err(invalid());
    }
    (total >= 1)
        .then_some(total)
        .ok_or_else(|| format!("interval `{}` must be at least 1s", excerpt(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_hours_minutes_and_seconds_in_that_order() {
        for (text, seconds) in [
            ("1s", 1),
            ("30s", 30),
            ("5m", 300),
            ("1h", 3600),
            ("1h30m", 5400),
            ("2m30s", 150),
            ("1h0m5s", 3605),
            ("90m", 5400),
            ("007s", 7),
        ] {
            assert_eq!(interval_seconds(text), Ok(seconds), "{text}");
        }
    }

    #[test]
    fn an_interval_without_a_unit_out_of_order_fractional_or_spaced_is_refused() {
        for bad in [
            "", "300", "5", "m", "5 m", " 5m", "5m ", "5M", "5min", "1.5h", "30m1h", "5m5m", "1d",
            "500ms", "-5s", "+5s", "1h30", "h1", "5mm",
        ] {
            let message = interval_seconds(bad).unwrap_err();
            assert!(message.contains("is not a duration"), "{bad:?}: {message}");
        }
        let huge = format!("{}h", u64::MAX);
        assert!(interval_seconds(&huge).is_err());
    }

    #[test]
    fn an_interval_under_a_second_is_refused() {
        for zero in ["0s", "0m", "0h0m0s"] {
            let message = interval_seconds(zero).unwrap_err();
            assert!(message.contains("at least 1s"), "{zero}: {message}");
        }
    }

    #[test]
    fn percents_strategies_and_alarm_names() {
        assert!(percent(1).is_ok() && percent(99).is_ok());
        for bad in [0, -5, 100, 150, i128::from(u64::MAX)] {
            assert!(percent(bad).is_err(), "{bad}");
        }
        assert!(percent(100).unwrap_err().contains("allAtOnce"));
        assert!(strategy("linear").is_ok());
        let message = strategy("canery").unwrap_err();
        assert!(message.contains("did you mean `canary`?"), "{message}");
        assert!(
            message.contains("`allAtOnce`, `canary`, `linear`"),
            "{message}"
        );
        assert!(alarm_name("thumbnailer-errors").is_ok());
        assert!(alarm_name("").is_err());
        assert!(alarm_name("  ").is_err());
        assert!(alarm_name("a\nb").is_err());
        assert!(alarm_name(&"a".repeat(255)).is_ok());
        assert!(alarm_name(&"a".repeat(256)).is_err());
    }
}
