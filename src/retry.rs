//! Retries for every network call (GitHub API, downloads, S3): one backoff policy, and
//! one way for an error to say whether another attempt may succeed and when. Rate limits
//! have their own, slower back-off ([`rate_limit_backoff`]) and a run-wide budget
//! ([`RateLimitWaits`]): GitHub asks clients to wait, not to hammer.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// A `Retry-After` on a server error (5xx) is honoured up to this long; past it the computed
/// delay is used. Rate limits are waited for in full, within [`RateLimitWaits::budget`].
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// What an error tells the retry loop.
pub trait Transient {
    /// Whether another attempt may succeed (a connect error, 5xx, 429, a cut-off body).
    fn is_transient(&self) -> bool;
    /// The delay the server asked for, if any.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

/// The backoff every request of a run shares: 4 retries, 250 ms doubling to 8 s, jittered.
pub fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(8))
        .with_max_times(4)
        .with_jitter()
}

/// How long a run may wait on a server's rate limits (GitHub's primary and secondary ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitWaits {
    /// Rate-limit waits end at most this long after the client was made (the run's first
    /// GitHub call): a wait that would end later is not started, and the call fails at
    /// once, saying how long the server asked for.
    pub budget: Duration,
    /// The first wait when the server names no time ("wait for at least one minute", says
    /// GitHub); each further one for the same request doubles.
    pub fallback: Duration,
}

/// [`RateLimitWaits::budget`] unless `LAMBDA_GITOPS_GITHUB_MAX_WAIT` says otherwise.
pub const DEFAULT_RATE_LIMIT_BUDGET: Duration = Duration::from_secs(600);
/// [`RateLimitWaits::fallback`]: GitHub's "at least one minute".
pub const DEFAULT_RATE_LIMIT_FALLBACK: Duration = Duration::from_secs(60);
/// Waits for one request before it fails as still rate-limited.
pub const RATE_LIMIT_RETRIES: usize = 4;

impl Default for RateLimitWaits {
    fn default() -> Self {
        Self {
            budget: DEFAULT_RATE_LIMIT_BUDGET,
            fallback: DEFAULT_RATE_LIMIT_FALLBACK,
        }
    }
}

/// The back-off between rate-limited attempts of one request: `fallback`, doubling, at most
/// [`RATE_LIMIT_RETRIES`] times. Not jittered: the budget check must see the real wait.
pub fn rate_limit_backoff(fallback: Duration) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(fallback)
        .with_factor(2.0)
        .without_max_delay()
        .with_max_times(RATE_LIMIT_RETRIES)
}

/// Runs `attempt` until it succeeds, fails permanently, or the backoff is spent. A
/// `Retry-After` from the server replaces the computed delay (capped at a minute).
/// `what` names the thing fetched in the warning logged before each retry.
pub async fn with_retries<T, E, F, Fut>(what: &str, attempt: F) -> Result<T, E>
where
    E: Transient + std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    attempt
        .retry(backoff())
        .sleep(tokio::time::sleep)
        .when(E::is_transient)
        .adjust(|error: &E, delay| {
            delay.map(|delay| {
                error
                    .retry_after()
                    .map_or(delay, |after| after.min(MAX_RETRY_AFTER))
            })
        })
        .notify(|error, delay| {
            tracing::warn!("{error}; retrying {what} in {delay:.1?}");
        })
        .await
}

/// `Retry-After` in seconds (the form GitHub and S3 use; an HTTP date is ignored).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, thiserror::Error)]
    #[error("boom")]
    struct Boom(bool);

    impl Transient for Boom {
        fn is_transient(&self) -> bool {
            self.0
        }
        fn retry_after(&self) -> Option<Duration> {
            Some(Duration::ZERO)
        }
    }

    #[tokio::test]
    async fn transient_errors_are_retried_four_times_and_permanent_ones_never() {
        let attempts = AtomicUsize::new(0);
        let result: Result<(), Boom> = with_retries("`x`", || async {
            attempts.fetch_add(1, Ordering::SeqCst);
            Err(Boom(true))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(attempts.load(Ordering::SeqCst), 5);

        let attempts = AtomicUsize::new(0);
        let _: Result<(), Boom> = with_retries("`x`", || async {
            attempts.fetch_add(1, Ordering::SeqCst);
            Err(Boom(false))
        })
        .await;
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_rate_limit_backs_off_from_a_minute_doubling_four_times() {
        use backon::BackoffBuilder;
        let delays: Vec<Duration> = rate_limit_backoff(DEFAULT_RATE_LIMIT_FALLBACK)
            .build()
            .collect();
        let minutes: Vec<u64> = delays.iter().map(|d| d.as_secs() / 60).collect();
        assert_eq!(minutes, [1, 2, 4, 8]);
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
