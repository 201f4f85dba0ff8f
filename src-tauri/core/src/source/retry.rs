//! Retry timing for HTTP calls: exponential backoff with jitter, and the server's
//! `retry_after` when it gives one.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first try.
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Timeout of each request.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based): the server's hint if it gave one,
    /// else `base * 2^(retry-1)` with ±50 % jitter, never above `max_delay`.
    pub fn delay(&self, retry: u32, server_hint: Option<Duration>) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let jitter = 0.5 + fastrand::f64();
        let backoff = exp.mul_f64(jitter).min(self.max_delay);
        match server_hint {
            // Honour the server (but not a hint of 0, which would retry in a hot loop). A
            // longer wait than `max_delay` is left to the next poll rather than slept here.
            Some(hint) => hint.max(backoff).min(self.max_delay),
            None => backoff,
        }
    }
}

/// The longest wait a server may ask for: one rate-limit window.
const MAX_HINT: Duration = Duration::from_secs(900);

/// A `retry_after` in seconds from a header or a body, when it is a sane number: finite, not
/// negative, and capped at one rate-limit window (a hostile value neither panics nor hangs).
pub fn hint(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && seconds >= 0.0)
        .then(|| Duration::from_secs_f64(seconds.min(MAX_HINT.as_secs_f64())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        for _ in 0..50 {
            let d1 = p.delay(1, None);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(150));
            let d3 = p.delay(3, None);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(600));
            assert!(p.delay(20, None) <= Duration::from_secs(1));
        }
    }

    #[test]
    fn server_hint_wins() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(66))),
            Duration::from_secs(60),
            "capped at max_delay"
        );
        assert!(
            p.delay(1, Some(Duration::ZERO)) >= Duration::from_millis(250),
            "no hot loop"
        );
    }

    #[test]
    fn hostile_hints_are_tamed() {
        assert_eq!(hint(-5.0), None);
        assert_eq!(hint(f64::NAN), None);
        assert_eq!(hint(f64::INFINITY), None);
        assert_eq!(hint(1e12), Some(MAX_HINT));
        assert_eq!(hint(1e300), Some(MAX_HINT));
        assert_eq!(hint(2.5), Some(Duration::from_millis(2500)));
    }
}
