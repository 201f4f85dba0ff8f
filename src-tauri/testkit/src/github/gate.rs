//! What happens around every request: it is recorded, may fail or wait as a bad day says,
//! is authenticated and counted against the rate limits; its answer gets GitHub's headers,
//! a weak `ETag` (GETs), and becomes an empty 304 when `If-None-Match` matches it.

use super::{
    ANONYMOUS_LIMIT, Bucket, DOCS, FakeState, RATE_DOCS, Recorded, SECONDARY_DOCS, Shared,
};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

/// Who is asking, for the handlers. The token is kept to tell tokens apart (ETags differ
/// per token on GitHub); it is never recorded.
#[derive(Clone)]
pub(crate) struct Caller {
    pub token: String,
    pub login: String,
    /// How much later readers see this write (from `set_write_lag`).
    pub lag: Option<Duration>,
}

/// How a request got through the gate.
enum Admission {
    /// Handled by a route, for this caller.
    Admitted(Caller),
    /// Refused before any route: by an injected failure (no rate headers), for a bad
    /// token (the anonymous limit), or by a rate limit of this user.
    Failed(Response),
    Anonymous(Response),
    Limited(Response, String),
}

pub(crate) async fn gate(State(st): State<Shared>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let write = !matches!(parts.method, Method::GET | Method::HEAD);
    let path = percent_decode(parts.uri.path());
    let text = format!("{} {path}", String::from_utf8_lossy(&bytes));
    let if_none_match = parts
        .headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let (latency, late, admission, request_id) = {
        let mut s = st.lock().unwrap_or_else(|e| e.into_inner());
        s.counters.requests += 1;
        let request_id = format!(
            "{:04X}:{:05X}:{:07X}:{:07X}:{:08X}",
            s.counters.requests * 2654435761 % 0xFFFF,
            s.counters.requests,
            s.counters.requests * 40503 % 0xFFF_FFFF,
            s.counters.requests * 7919,
            s.now().timestamp(),
        );
        let at = s.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        s.requests.push(Recorded {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or("").to_string(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
            login: None,
            status: 0,
            not_modified: false,
            request_id: request_id.clone(),
            at,
        });
        let late = take_rule(&mut s.late_matching, &text).or_else(|| s.late.pop_front());
        let admission = admit(&mut s, &parts.headers, write, &text, &parts, &request_id);
        if let Admission::Admitted(c) = &admission {
            let login = c.login.clone();
            if let Some(r) = s
                .requests
                .iter_mut()
                .rev()
                .find(|r| r.request_id == request_id)
            {
                r.login = Some(login);
            }
        }
        (s.latency, late, admission, request_id)
    };
    tokio::time::sleep(latency / 2).await;
    let (response, who, token) = match admission {
        Admission::Admitted(caller) => {
            let (login, token) = (caller.login.clone(), caller.token.clone());
            parts.extensions.insert(caller);
            let req = Request::from_parts(parts, Body::from(bytes));
            (next.run(req).await, Who::User(login, true), token)
        }
        Admission::Failed(r) => (r, Who::Nobody, String::new()),
        Admission::Anonymous(r) => (r, Who::Anonymous, String::new()),
        Admission::Limited(r, login) => (r, Who::User(login, false), String::new()),
    };
    let get = !write;
    let response = finish(&st, response, who, get, &token, if_none_match, &request_id).await;
    let late = late.unwrap_or_default();
    if !late.is_zero() {
        st.lock()
            .unwrap_or_else(|e| e.into_inner())
            .counters
            .late_answers += 1;
    }
    // A client that gave up meanwhile never sees this; the write above was applied.
    tokio::time::sleep(latency / 2 + late).await;
    response
}

enum Who {
    Nobody,
    Anonymous,
    /// A user; `true` when the request counts against their limit.
    User(String, bool),
}

/// Failures, then the token, then the primary and secondary rate limits.
fn admit(
    s: &mut FakeState,
    headers: &HeaderMap,
    write: bool,
    text: &str,
    parts: &axum::http::request::Parts,
    request_id: &str,
) -> Admission {
    if let Some(code) = s.failures.pop_front() {
        s.counters.injected_failures += 1;
        return Admission::Failed(injected(code));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| {
            scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token")
        })
        .map(|(_, t)| t.trim().to_string());
    let Some(token) = token else {
        return Admission::Anonymous(error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
            DOCS,
        ));
    };
    let Some(login) = s.token(&token).map(|t| t.login.clone()) else {
        return Admission::Anonymous(error(StatusCode::UNAUTHORIZED, "Bad credentials", DOCS));
    };
    let bucket = bucket(s, &login);
    if bucket.used >= s.rate_limit {
        s.counters.rate_limited += 1;
        let id = s.user(&login).map(|u| u.id).unwrap_or_default();
        let at = s.now().format("%Y-%m-%d %H:%M:%S UTC");
        let status = StatusCode::from_u16(s.rate_status).unwrap_or(StatusCode::FORBIDDEN);
        let message = format!(
            "API rate limit exceeded for user ID {id}. If you reach out to GitHub Support for \
             help, please include the request ID {request_id} and timestamp {at}."
        );
        return Admission::Limited(error(status, &message, RATE_DOCS), login);
    }
    if write && let Some(r) = secondary(s, parts, request_id) {
        s.counters.secondary_limited += 1;
        return Admission::Limited(r, login);
    }
    let lag = if write { s.take_lag(text) } else { None };
    Admission::Admitted(Caller { token, login, lag })
}

/// The secondary limit's answer to this write, if it is refused.
fn secondary(
    s: &mut FakeState,
    parts: &axum::http::request::Parts,
    request_id: &str,
) -> Option<Response> {
    let now = Instant::now();
    let mut refusal: Option<(u16, Option<u64>)> = None;
    if let Some((until, status)) = s.blocked_until {
        if now < until {
            refusal = Some((status, Some(ceil_secs(until - now))));
        } else {
            s.blocked_until = None;
        }
    }
    if refusal.is_none()
        && let Some(next) = s.secondary_next.as_mut().filter(|n| n.writes > 0)
    {
        next.writes -= 1;
        refusal = Some((next.status, next.retry_after));
    }
    if refusal.is_none()
        && let Some(burst) = &s.burst
    {
        let (max, within, status, wait) = (
            burst.max_writes,
            burst.within,
            burst.status,
            burst.retry_after,
        );
        while s.recent_writes.front().is_some_and(|t| now - *t > within) {
            s.recent_writes.pop_front();
        }
        if s.recent_writes.len() >= max {
            s.recent_writes.clear();
            s.blocked_until = Some((now + wait, status));
            refusal = Some((status, Some(ceil_secs(wait))));
        } else {
            s.recent_writes.push_back(now);
        }
    }
    let (status, retry_after) = refusal?;
    let creating = parts.method == Method::POST && parts.uri.path().ends_with("/comments");
    let message = if creating {
        format!(
            "You have exceeded a secondary rate limit and have been temporarily blocked from \
             content creation. Please retry your request again later. If you reach out to \
             GitHub Support for help, please include the request ID {request_id}."
        )
    } else {
        format!(
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try \
             again. If you reach out to GitHub Support for help, please include the request ID \
             {request_id}."
        )
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    let mut r = error(status, &message, SECONDARY_DOCS);
    if let Some(secs) = retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    Some(r)
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_millis().div_ceil(1000).max(1) as u64
}

/// The user's primary rate limit window, started anew once its reset time has passed
/// (GitHub's windows start with a user's first request).
pub(crate) fn bucket(s: &mut FakeState, login: &str) -> Bucket {
    let now = Instant::now();
    let window = s.rate_window;
    let b = s.buckets.entry(login.to_string()).or_insert(Bucket {
        used: 0,
        resets: now + window,
    });
    if now >= b.resets {
        *b = Bucket {
            used: 0,
            resets: now + window,
        };
    }
    *b
}

/// An instant as epoch seconds on the server's clock, rounded up (a client that waits
/// until then is never early).
pub(crate) fn epoch(s: &FakeState, at: Instant) -> i64 {
    let ahead = at.saturating_duration_since(Instant::now());
    let t = s.now() + chrono::Duration::milliseconds(ahead.as_millis() as i64);
    let ms = t.timestamp_millis();
    ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) > 0)
}

/// Adds the ETag (and turns a matching conditional GET into a 304), counts the request,
/// adds GitHub's headers and records the status.
async fn finish(
    st: &Shared,
    response: Response,
    who: Who,
    get: bool,
    token: &str,
    if_none_match: Option<String>,
    request_id: &str,
) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    let mut not_modified = false;
    let mut body = Body::from(bytes.clone());
    if get && parts.status == StatusCode::OK && matches!(who, Who::User(_, true)) {
        let etag = etag(token, &bytes);
        if if_none_match.is_some_and(|h| matches_etag(&h, &etag)) {
            not_modified = true;
            parts.status = StatusCode::NOT_MODIFIED;
            parts.headers.remove(header::CONTENT_TYPE);
            parts.headers.remove(header::CONTENT_LENGTH);
            body = Body::empty();
        }
        if let Ok(v) = HeaderValue::from_str(&etag) {
            parts.headers.insert(header::ETAG, v);
        }
        parts.headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=60, s-maxage=60"),
        );
    }
    let mut s = st.lock().unwrap_or_else(|e| e.into_inner());
    let rate = match &who {
        Who::Nobody => None,
        Who::Anonymous => {
            let now = Instant::now();
            if now >= s.anonymous.resets {
                s.anonymous = Bucket {
                    used: 0,
                    resets: now + Duration::from_secs(3600),
                };
            }
            s.anonymous.used = (s.anonymous.used + 1).min(ANONYMOUS_LIMIT);
            Some((ANONYMOUS_LIMIT, s.anonymous))
        }
        Who::User(login, counts) => {
            let mut b = bucket(&mut s, login);
            if *counts && !not_modified {
                b.used = (b.used + 1).min(s.rate_limit);
                s.buckets.insert(login.clone(), b);
                s.counters.counted += 1;
            }
            Some((s.rate_limit, b))
        }
    };
    let h = &mut parts.headers;
    if let Some((limit, b)) = rate {
        let reset = epoch(&s, b.resets);
        h.insert("x-ratelimit-limit", HeaderValue::from(limit));
        h.insert(
            "x-ratelimit-remaining",
            HeaderValue::from(limit.saturating_sub(b.used)),
        );
        h.insert("x-ratelimit-used", HeaderValue::from(b.used));
        h.insert("x-ratelimit-reset", HeaderValue::from(reset));
        h.insert("x-ratelimit-resource", HeaderValue::from_static("core"));
    }
    let json = h
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    let date = s.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(v) = HeaderValue::from_str(&date) {
        h.insert(header::DATE, v);
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-github-request-id", v);
    }
    h.insert(
        "x-github-api-version-selected",
        HeaderValue::from_static("2022-11-28"),
    );
    h.insert(
        "x-github-media-type",
        HeaderValue::from_static("github.v3; format=json"),
    );
    if not_modified {
        s.counters.not_modified += 1;
    }
    let status = parts.status.as_u16();
    if let Some(r) = s
        .requests
        .iter_mut()
        .rev()
        .find(|r| r.request_id == request_id)
    {
        r.status = status;
        r.not_modified = not_modified;
    }
    Response::from_parts(parts, body)
}

/// A weak validator of the body as this token sees it (GitHub's differ per token).
fn etag(token: &str, body: &[u8]) -> String {
    let mut a = std::collections::hash_map::DefaultHasher::new();
    (token, body).hash(&mut a);
    let mut b = std::collections::hash_map::DefaultHasher::new();
    (body, token, 0x9e37_79b9u32).hash(&mut b);
    format!("W/\"{:016x}{:016x}\"", a.finish(), b.finish())
}

/// `If-None-Match` compares weakly: `W/` prefixes are ignored, `*` matches anything.
fn matches_etag(header: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    header
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

/// What a failing front end answers: JSON for 500 and 503 (the shape GitHub's
/// description gives 503), an HTML page from the proxy for 502.
fn injected(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match code {
        502 => (
            status,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n",
        )
            .into_response(),
        503 => (
            status,
            axum::Json(json!({
                "code": "unavailable",
                "message": "Service Unavailable",
                "documentation_url": DOCS,
            })),
        )
            .into_response(),
        _ => error(status, "Server Error", DOCS),
    }
}

/// GitHub's error body: `message`, `documentation_url` and the status as a string.
pub(crate) fn error(status: StatusCode, message: &str, docs: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "message": message,
            "documentation_url": docs,
            "status": status.as_u16().to_string(),
        })),
    )
        .into_response()
}

/// Takes one use of the first rule whose text is in `text`.
fn take_rule<T: Copy>(rules: &mut [(String, usize, T)], text: &str) -> Option<T> {
    let rule = rules
        .iter_mut()
        .find(|(t, left, _)| *left > 0 && text.contains(t.as_str()))?;
    rule.1 -= 1;
    Some(rule.2)
}

/// `%XX` sequences decoded (invalid ones kept as they are).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes what may not stand in a URL path segment or query value.
pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_compare_weakly_and_differ_per_token() {
        let e = etag("a", b"[]");
        assert!(e.starts_with("W/\""));
        assert!(matches_etag(&e, &e));
        assert!(matches_etag(&e.replace("W/", ""), &e));
        assert!(matches_etag(&format!("\"x\", {e}"), &e));
        assert!(matches_etag("*", &e));
        assert!(!matches_etag("W/\"other\"", &e));
        assert_ne!(etag("b", b"[]"), e);
        assert_ne!(etag("a", b"[1]"), e);
    }

    #[test]
    fn paths_decode_and_encode() {
        assert_eq!(
            percent_decode("/labels/good%20first%20issue"),
            "/labels/good first issue"
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_encode("good first:issue"), "good%20first%3Aissue");
    }
}
