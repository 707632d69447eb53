//! [`RetryPolicy`]: how many attempts a call gets and how long to wait between them.
//!
//! Pure computation only: exponential backoff with full jitter, and the `Retry-After` rule. It decides
//! nothing about *which* failures are retried (that is `http`'s job) and never sleeps.

use std::time::Duration;

use rand::Rng;

/// How often and how patiently a failed call is retried.
///
/// Connection errors, timeouts and 5xx responses are retried, for every method: GETs, PUTs, PATCHes and
/// DELETEs are idempotent, and every POST carries an `Idempotency-Key` reused on each attempt of one logical
/// call. Before retry `n` (1 for the second attempt) the client waits a random time between zero and
/// `min(max_delay, base_delay × 2^(n-1))` ("full jitter"); a 503 or a 429 (rate limited) with a
/// `Retry-After` header in seconds is waited out instead, capped at `max_delay`. A 429 is retried like a
/// 5xx, within the same attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included; 1 means no retry. 0 is treated as 1.
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry.
    pub base_delay: Duration,
    /// The largest wait between two attempts, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 200 ms base, 5 s max.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// A policy with these limits.
    pub fn new(max_attempts: u32, base_delay: Duration, max_delay: Duration) -> RetryPolicy {
        RetryPolicy { max_attempts, base_delay, max_delay }
    }

    /// One attempt, no retry: for tests that want to see the first failure.
    pub fn none() -> RetryPolicy {
        RetryPolicy { max_attempts: 1, base_delay: Duration::ZERO, max_delay: Duration::ZERO }
    }

    /// Whether another attempt may follow attempt number `attempt` (1-based).
    pub fn allows_another(&self, attempt: u32) -> bool {
        attempt < self.max_attempts.max(1)
    }

    /// The upper bound of the wait before retry `retry` (1 for the second attempt):
    /// `min(max_delay, base_delay × 2^(retry-1))`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(31);
        self.base_delay.saturating_mul(1u32 << exponent).min(self.max_delay)
    }

    /// The wait before retry `retry`, with `unit` a uniform random number in `[0, 1]` picking the point in
    /// `[0, ceiling]`. A `Retry-After` (from a 503 or 429) replaces the backoff, capped at `max_delay`.
    pub fn delay_with(&self, retry: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_delay);
        }
        self.ceiling(retry).mul_f64(unit.clamp(0.0, 1.0))
    }

    /// The wait before retry `retry`, with fresh randomness.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let unit = rand::rng().random_range(0.0..=1.0);
        self.delay_with(retry, retry_after, unit)
    }
}

/// The seconds of a `Retry-After` header (the HTTP-date form is not used by the backend and is ignored).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::new(6, Duration::from_millis(200), Duration::from_secs(5))
    }

    #[test]
    fn the_ceiling_doubles_from_the_base_and_stops_at_the_max() {
        let policy = policy();
        assert_eq!(policy.ceiling(1), Duration::from_millis(200));
        assert_eq!(policy.ceiling(2), Duration::from_millis(400));
        assert_eq!(policy.ceiling(3), Duration::from_millis(800));
        assert_eq!(policy.ceiling(5), Duration::from_millis(3200));
        assert_eq!(policy.ceiling(6), Duration::from_secs(5));
        assert_eq!(policy.ceiling(1000), Duration::from_secs(5), "no overflow on huge retry numbers");
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling() {
        let policy = policy();
        assert_eq!(policy.delay_with(3, None, 0.0), Duration::ZERO);
        assert_eq!(policy.delay_with(3, None, 1.0), Duration::from_millis(800));
        assert_eq!(policy.delay_with(3, None, 0.5), Duration::from_millis(400));
        assert_eq!(policy.delay_with(3, None, 7.0), Duration::from_millis(800), "unit is clamped");
        for retry in 1..10 {
            for _ in 0..200 {
                let delay = policy.delay(retry, None);
                assert!(delay <= policy.ceiling(retry), "retry {retry}: {delay:?}");
            }
        }
    }

    #[test]
    fn jitter_actually_varies() {
        let policy = policy();
        let delays: std::collections::HashSet<Duration> = (0..50).map(|_| policy.delay(4, None)).collect();
        assert!(delays.len() > 10, "{delays:?}");
    }

    #[test]
    fn retry_after_replaces_the_backoff_and_is_capped() {
        let policy = policy();
        assert_eq!(policy.delay_with(1, Some(Duration::from_secs(2)), 0.0), Duration::from_secs(2));
        assert_eq!(policy.delay_with(1, Some(Duration::from_secs(120)), 0.3), Duration::from_secs(5));
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
    }

    #[test]
    fn attempts_are_counted_from_one() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.max_attempts, 4);
        assert!(policy.allows_another(3));
        assert!(!policy.allows_another(4));
        assert!(!RetryPolicy::none().allows_another(1));
        assert!(!RetryPolicy::new(0, Duration::ZERO, Duration::ZERO).allows_another(1));
    }
}
