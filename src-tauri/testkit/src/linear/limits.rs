//! Linear's rate limits: per key, a leaky bucket of requests and one of complexity points,
//! each refilled at a constant `limit / period`, reported on every answer in the
//! `X-RateLimit-*` headers the SDK reads (`packages/sdk/src/error.ts`,
//! `RatelimitedLinearError`), plus `X-Complexity` for the request's own cost.

use std::time::{Duration, Instant};

/// Linear's rate limits for one key (leaky buckets refilled at `limit / period`).
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub requests_per_period: u32,
    pub complexity_per_period: u32,
    /// The most one query may cost.
    pub max_complexity: u32,
    pub period: Duration,
    /// The HTTP status of a `RATELIMITED` answer.
    pub status: u16,
}

impl Default for RateLimits {
    /// What an API key gets (Linear's published figures have moved between versions of its
    /// page; a client must go by the headers): 5,000 requests and 250,000 points an hour,
    /// 10,000 points a query.
    fn default() -> Self {
        Self {
            requests_per_period: 5_000,
            complexity_per_period: 250_000,
            max_complexity: 10_000,
            period: Duration::from_secs(3600),
            status: 400,
        }
    }
}

pub(crate) struct Bucket {
    pub requests: f64,
    pub complexity: f64,
    at: Instant,
}

impl Bucket {
    pub(crate) fn full(l: &RateLimits) -> Self {
        Self {
            requests: f64::from(l.requests_per_period),
            complexity: f64::from(l.complexity_per_period),
            at: Instant::now(),
        }
    }

    pub(crate) fn empty() -> Self {
        Self {
            requests: 0.0,
            complexity: 0.0,
            at: Instant::now(),
        }
    }

    pub(crate) fn refill(&mut self, l: &RateLimits) {
        let share = self.at.elapsed().as_secs_f64() / l.period.as_secs_f64().max(1e-9);
        let fill = |v: f64, limit: u32| (v + share * f64::from(limit)).min(f64::from(limit));
        self.requests = fill(self.requests, l.requests_per_period);
        self.complexity = fill(self.complexity, l.complexity_per_period);
        self.at = Instant::now();
    }
}

/// The headers of an answer to a key whose buckets are `b` (the resets are when each bucket
/// is full again, in UTC epoch milliseconds on the server's clock `now_ms`).
pub(crate) fn headers(
    b: &Bucket,
    l: &RateLimits,
    now_ms: i64,
    complexity: Option<f64>,
) -> Vec<(&'static str, String)> {
    let period_ms = l.period.as_millis() as f64;
    let reset = |left: f64, limit: u32| {
        let missing = (f64::from(limit) - left).max(0.0) / f64::from(limit.max(1));
        (now_ms + (missing * period_ms).ceil() as i64).to_string()
    };
    let mut h = vec![
        (
            "x-ratelimit-requests-limit",
            l.requests_per_period.to_string(),
        ),
        (
            "x-ratelimit-requests-remaining",
            (b.requests.floor() as i64).to_string(),
        ),
        (
            "x-ratelimit-requests-reset",
            reset(b.requests, l.requests_per_period),
        ),
        (
            "x-ratelimit-complexity-limit",
            l.complexity_per_period.to_string(),
        ),
        (
            "x-ratelimit-complexity-remaining",
            (b.complexity.floor() as i64).to_string(),
        ),
        (
            "x-ratelimit-complexity-reset",
            reset(b.complexity, l.complexity_per_period),
        ),
    ];
    if let Some(c) = complexity {
        h.push(("x-complexity", (c.ceil() as i64).to_string()));
    }
    h
}
