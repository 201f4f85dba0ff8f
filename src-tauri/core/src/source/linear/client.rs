//! A small client for Linear's GraphQL API with a personal API key (`Authorization: <key>`):
//! Linear's error shapes (`extensions.code`: `AUTHENTICATION_ERROR`, `FORBIDDEN`,
//! `RATELIMITED`, `INPUT_ERROR`, …) turned into typed errors, the rate limits read from the
//! `X-RateLimit-Requests-*` headers, and retries on 5xx and network failures — safe for every
//! operation Delegate sends: reads, label and state changes are idempotent, and a comment is
//! created with a client-given id, so a repeated create is refused as a duplicate.

use crate::secrets::Secret;
use crate::source::http::{self, NetworkKind, ServerClock};
use crate::source::retry::RetryPolicy;
use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The public endpoint.
pub const DEFAULT_API_URL: &str = "https://api.linear.app/graphql";

#[derive(Debug, thiserror::Error)]
pub enum LinearError {
    #[error("Linear rejected the API key; {}", self.fix())]
    Unauthorized,
    #[error("Linear refused: {message}; {}", self.fix())]
    Forbidden { message: String },
    #[error("Linear could not find {what}; {}", self.fix())]
    NotFound { what: String },
    #[error("Linear refused the input: {message}; {}", self.fix())]
    Invalid { message: String },
    /// A comment with this id exists already (a retried create that had landed).
    #[error("a comment with this id exists already")]
    Duplicate,
    #[error("Linear's rate limit for this key is used up until {}; {}", reset.map(|r| r.format("%H:%M:%S UTC").to_string()).unwrap_or_else(|| "later".into()), self.fix())]
    RateLimited { reset: Option<DateTime<Utc>> },
    #[error("Linear answered HTTP {status}: {message}; {}", self.fix())]
    Api { status: u16, message: String },
    #[error("cannot reach Linear at {url}: {message}; {}", self.fix())]
    Network {
        url: String,
        kind: NetworkKind,
        message: String,
    },
    #[error("unexpected answer from Linear for {what}: {message}; {}", self.fix())]
    Decode { what: String, message: String },
    #[error("the Linear team \"{wanted}\" was not found; teams of this account: {available}")]
    TeamNotFound { wanted: String, available: String },
}

impl LinearError {
    pub fn is_gone(&self) -> bool {
        matches!(self, LinearError::NotFound { .. })
    }

    /// A write that failed this way may still have been applied.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, LinearError::Network { .. })
            || matches!(self, LinearError::Api { status, .. } if *status >= 500)
    }

    pub fn fix(&self) -> String {
        match self {
            LinearError::Unauthorized => "create a personal API key in Linear → Settings → \
                Security & access → Personal API keys and set it with `delegate token set \
                --source linear` (or LINEAR_API_KEY, or the app's Settings)"
                .into(),
            LinearError::Forbidden { .. } => "the key works but may not do that: check that \
                the key's user is a member of the team and the key has write access"
                .into(),
            LinearError::NotFound { .. } => {
                "it was probably deleted or moved in Linear; nothing else to do".into()
            }
            LinearError::Invalid { .. } | LinearError::Decode { .. } => "Linear did not \
                accept what Delegate sent; if this lasts, please report it with this message"
                .into(),
            LinearError::Duplicate => "nothing to do: the comment is there".into(),
            LinearError::RateLimited { .. } => "Linear allows a few thousand requests an hour \
                per key; Delegate waits and tries again by itself (a longer poll helps if it \
                lasts)"
                .into(),
            LinearError::Api { status, .. } if *status >= 500 => {
                "Linear is having trouble right now; Delegate tries again by itself".into()
            }
            LinearError::Api { .. } => "if this lasts, please report it with this message".into(),
            LinearError::Network { kind, .. } => {
                kind.fix("Linear", "`[linear] api_url` in config.toml")
            }
            LinearError::TeamNotFound { .. } => {
                "set `team` to one of those keys (the letters before an issue's number)".into()
            }
        }
    }

    pub fn what(&self) -> String {
        let text = self.to_string();
        let fix = format!("; {}", self.fix());
        text.strip_suffix(&fix).map(str::to_string).unwrap_or(text)
    }
}

/// One client per key.
pub struct LinearClient {
    http: reqwest::Client,
    url: String,
    key: Secret,
    policy: RetryPolicy,
    requests: AtomicU64,
    clock: Mutex<ServerClock>,
    /// No request before then (a rate limit).
    blocked: Mutex<Option<(Instant, Option<DateTime<Utc>>)>>,
}

impl LinearClient {
    pub fn new(url: &str, key: Secret, policy: RetryPolicy) -> Result<Self, LinearError> {
        let http = http::client(policy.request_timeout).map_err(|(kind, message)| {
            LinearError::Network {
                url: url.to_string(),
                kind,
                message,
            }
        })?;
        Ok(Self {
            http,
            url: url.trim_end_matches('/').to_string(),
            key,
            policy,
            requests: AtomicU64::new(0),
            clock: Mutex::new(ServerClock::default()),
            blocked: Mutex::new(None),
        })
    }

    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn clock(&self) -> ServerClock {
        *self.clock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs one operation and decodes its `data`. `what` names it in errors.
    /// Whether `url` is where Linear keeps uploaded files (`https://uploads.linear.app`, or
    /// the API's own host), where the key may go.
    pub fn file_host(&self, url: &reqwest::Url) -> bool {
        let api = reqwest::Url::parse(&self.url).ok();
        let same = api.as_ref().is_some_and(|a| {
            a.scheme() == url.scheme()
                && a.host_str() == url.host_str()
                && a.port_or_known_default() == url.port_or_known_default()
        });
        same || (url.scheme() == "https" && url.host_str() == Some("uploads.linear.app"))
    }

    /// Downloads a file Linear keeps (private uploads need the key), at most `max` bytes
    /// (`None` when it is larger). Only for [`LinearClient::file_host`] addresses.
    pub async fn download(&self, url: &str, max: u64) -> Result<Option<Vec<u8>>, LinearError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| LinearError::Decode {
            what: "a file's address".into(),
            message: e.to_string(),
        })?;
        if !self.file_host(&parsed) {
            return Ok(None);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let network = |e: reqwest::Error| {
            let (kind, message) = http::network_failure(e);
            LinearError::Network {
                url: url.to_string(),
                kind,
                message,
            }
        };
        let mut r = self
            .http
            .get(parsed)
            .timeout(std::time::Duration::from_secs(300))
            .header(reqwest::header::AUTHORIZATION, self.key.expose())
            .send()
            .await
            .map_err(network)?;
        if !r.status().is_success() {
            return Err(LinearError::Api {
                status: r.status().as_u16(),
                message: "the file could not be downloaded".into(),
            });
        }
        if r.content_length().is_some_and(|n| n > max) {
            return Ok(None);
        }
        let mut out = Vec::new();
        while let Some(chunk) = r.chunk().await.map_err(network)? {
            if (out.len() + chunk.len()) as u64 > max {
                return Ok(None);
            }
            out.extend_from_slice(&chunk);
        }
        Ok(Some(out))
    }

    /// PUTs `bytes` to a signed upload address `fileUpload` answered, with the headers it
    /// named — and never the API key: the address belongs to a storage service, not Linear.
    pub async fn put_signed(
        &self,
        url: &str,
        content_type: &str,
        headers: &[(String, String)],
        bytes: Vec<u8>,
    ) -> Result<(), LinearError> {
        let mut request = self
            .http
            .put(url)
            .timeout(std::time::Duration::from_secs(300))
            .header(reqwest::header::CONTENT_TYPE, content_type);
        for (k, v) in headers {
            if k.eq_ignore_ascii_case("authorization") {
                continue;
            }
            request = request.header(k.as_str(), v.as_str());
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        match request.body(bytes).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(LinearError::Api {
                status: r.status().as_u16(),
                message: format!(
                    "the upload was refused: {}",
                    r.text().await.unwrap_or_default().trim()
                ),
            }),
            Err(e) => {
                let (kind, message) = http::network_failure(e);
                Err(LinearError::Network {
                    url: url.split('?').next().unwrap_or(url).to_string(),
                    kind,
                    message,
                })
            }
        }
    }

    pub async fn run<T: DeserializeOwned>(
        &self,
        what: &str,
        query: &str,
        variables: Value,
    ) -> Result<T, LinearError> {
        let body = serde_json::json!({ "query": query, "variables": variables });
        let mut retry = 0;
        loop {
            if let Some(reset) = self.still_blocked() {
                return Err(LinearError::RateLimited { reset });
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let sent = self
                .http
                .post(&self.url)
                .header(reqwest::header::AUTHORIZATION, self.key.expose())
                .json(&body)
                .send()
                .await;
            let (error, wait) = match sent {
                Ok(r) => {
                    self.clock
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .observe(http::server_date(r.headers()));
                    let status = r.status().as_u16();
                    let headers = r.headers().clone();
                    let bytes = r.bytes().await.unwrap_or_default();
                    match serde_json::from_slice::<Value>(&bytes) {
                        Ok(v) if v.get("errors").is_some_and(|e| !e.is_null()) => {
                            classify(status, &headers, &v, what)
                        }
                        Ok(mut v) if status < 300 => {
                            let data = v.get_mut("data").map(Value::take).unwrap_or(Value::Null);
                            return T::deserialize(data).map_err(|e| LinearError::Decode {
                                what: what.to_string(),
                                message: e.to_string(),
                            });
                        }
                        _ => (
                            LinearError::Api {
                                status,
                                message: String::from_utf8_lossy(&bytes)
                                    .chars()
                                    .take(200)
                                    .collect(),
                            },
                            None,
                        ),
                    }
                }
                Err(e) => {
                    let (kind, message) = http::network_failure(e);
                    (
                        LinearError::Network {
                            url: self.url.clone(),
                            kind,
                            message,
                        },
                        None,
                    )
                }
            };
            let limited = matches!(error, LinearError::RateLimited { .. });
            let retryable = limited || error.is_ambiguous();
            let wait = wait.unwrap_or_else(|| self.policy.delay(retry + 1, None));
            if !retryable || retry >= self.policy.max_retries || wait > self.policy.max_delay {
                if let LinearError::RateLimited { reset } = &error {
                    *self.blocked.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some((Instant::now() + wait, *reset));
                }
                return Err(error);
            }
            retry += 1;
            tracing::warn!(%error, retry, wait_ms = wait.as_millis() as u64, "Linear request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    fn still_blocked(&self) -> Option<Option<DateTime<Utc>>> {
        let mut b = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        match *b {
            Some((until, reset)) if Instant::now() < until => Some(reset),
            _ => {
                *b = None;
                None
            }
        }
    }
}

/// The first error of an answer, typed, and how long to wait when it is a rate limit: until
/// the bucket holds one request again (`X-RateLimit-Requests-Reset` is when it is full).
fn classify(
    status: u16,
    headers: &HeaderMap,
    body: &Value,
    what: &str,
) -> (LinearError, Option<Duration>) {
    let first = &body["errors"][0];
    let ext = &first["extensions"];
    let code = ext["code"].as_str().unwrap_or("");
    let message = ext["userPresentableMessage"]
        .as_str()
        .or_else(|| first["message"].as_str())
        .unwrap_or("error")
        .to_string();
    let raw = first["message"].as_str().unwrap_or("");
    let error = match code {
        "AUTHENTICATION_ERROR" => LinearError::Unauthorized,
        "FORBIDDEN" => LinearError::Forbidden { message },
        "RATELIMITED" => {
            let header = |n: &str| {
                headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<i64>().ok())
            };
            let reset = header("x-ratelimit-requests-reset")
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
            let limit = header("x-ratelimit-requests-limit").unwrap_or(0);
            let left = header("x-ratelimit-requests-remaining").unwrap_or(0);
            let now = http::server_date(headers).unwrap_or_else(Utc::now);
            let wait = reset
                .and_then(|r| (r - now).to_std().ok())
                .map(|full| full / (limit - left).max(1) as u32)
                .unwrap_or(Duration::from_secs(5))
                .clamp(Duration::from_secs(1), Duration::from_secs(300));
            return (LinearError::RateLimited { reset }, Some(wait));
        }
        _ if raw.starts_with("Entity not found") => LinearError::NotFound {
            what: what.to_string(),
        },
        _ if raw.contains("already exists") => LinearError::Duplicate,
        "INPUT_ERROR" | "GRAPHQL_VALIDATION_FAILED" => LinearError::Invalid { message },
        _ => LinearError::Api {
            status: if status >= 400 { status } else { 500 },
            message,
        },
    };
    (error, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_errors_are_typed() {
        let h = HeaderMap::new();
        let body = |code: &str, msg: &str| serde_json::json!({"errors": [{"message": msg, "extensions": {"code": code}}]});
        assert!(matches!(
            classify(401, &h, &body("AUTHENTICATION_ERROR", "x"), "q").0,
            LinearError::Unauthorized
        ));
        assert!(matches!(
            classify(
                400,
                &h,
                &body("INPUT_ERROR", "Entity not found: Issue"),
                "q"
            )
            .0,
            LinearError::NotFound { .. }
        ));
        assert!(matches!(
            classify(400, &h, &body("INPUT_ERROR", "Entity already exists"), "q").0,
            LinearError::Duplicate
        ));
        let (e, wait) = classify(400, &h, &body("RATELIMITED", "Rate limit exceeded"), "q");
        assert!(matches!(e, LinearError::RateLimited { .. }));
        assert!(wait.unwrap() >= Duration::from_secs(1));
    }
}
