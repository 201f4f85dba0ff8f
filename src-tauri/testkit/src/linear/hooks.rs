//! The bad days a test asks for: failures (before or after the request is carried out),
//! latency, answers held back after the work is done, and lagged writes.

use super::server::{Shared, lock};
use super::store::DuplicateId;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::Response;
use std::collections::VecDeque;
use std::time::Duration;

pub(crate) struct LagRule {
    pub text: String,
    pub every: usize,
    pub delay: Duration,
    pub seen: usize,
}

pub(crate) struct FailRule {
    pub text: String,
    pub left: usize,
    pub status: u16,
    /// Fail only after the request was carried out (a gateway that gives up on a write the
    /// backend makes anyway).
    pub after: bool,
}

#[derive(Default)]
pub(crate) struct Hooks {
    pub latency: Duration,
    pub slow: VecDeque<Duration>,
    pub slow_matching: Vec<(String, usize, Duration)>,
    pub failures: VecDeque<u16>,
    pub fail_matching: Vec<FailRule>,
    pub lag: Option<LagRule>,
    pub duplicate: DuplicateId,
}

pub(crate) fn take_failure(h: &mut Hooks, text: &str, after: bool) -> Option<u16> {
    if let Some(rule) = h
        .fail_matching
        .iter_mut()
        .find(|r| r.left > 0 && r.after == after && text.contains(r.text.as_str()))
    {
        rule.left -= 1;
        return Some(rule.status);
    }
    if after { None } else { h.failures.pop_front() }
}

/// Latency and slow answers around every request, and the server's `Date`.
pub(crate) async fn pace(
    State(st): State<Shared>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let (latency, slow) = {
        let mut fake = lock(&st);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let h = &mut fake.hooks;
        let matched = h
            .slow_matching
            .iter_mut()
            .find(|(t, left, _)| *left > 0 && text.contains(t.as_str()))
            .map(|rule| {
                rule.1 -= 1;
                rule.2
            });
        (h.latency, matched.or_else(|| h.slow.pop_front()))
    };
    let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    tokio::time::sleep(latency / 2).await;
    let mut response = next.run(req).await;
    tokio::time::sleep(latency / 2 + slow.unwrap_or_default()).await;
    let date = lock(&st)
        .store
        .now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    if let Ok(v) = HeaderValue::from_str(&date) {
        response.headers_mut().insert(axum::http::header::DATE, v);
    }
    response
}
