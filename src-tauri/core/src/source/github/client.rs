//! A small client for GitHub's REST API (issues, comments, labels): bearer auth, the API
//! version header, `Link` pagination, conditional reads (`If-None-Match`: a 304 costs no rate
//! limit), and GitHub's limits — the primary one (`x-ratelimit-remaining` / `-reset`) and
//! the secondary ones (`retry-after`, or a minute when it gives none). Idempotent requests are
//! retried on 5xx and network failures; a comment POST is sent once, and the caller checks
//! whether it landed before sending it again (see [`crate::source::remote`]).

use super::wire::{ErrorBody, WireComment, WireIssue, WireRepo};
pub use super::wire::{User, WireRepo as Repository};
use crate::secrets::Secret;
use crate::source::http::{self, NetworkKind, ServerClock};
use crate::source::retry::RetryPolicy;
use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The public API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
const API_VERSION: &str = "2022-11-28";
const PER_PAGE: &str = "100";
/// Pages followed at most for one list (10 000 items).
const MAX_PAGES: usize = 100;
/// GitHub: "wait at least one minute" after a secondary limit that names no time.
const SECONDARY_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("GitHub rejected the token (HTTP 401); {}", self.fix())]
    Unauthorized,
    #[error("GitHub refused access (HTTP 403): {message}; {}", self.fix())]
    Forbidden {
        message: String,
        /// `x-accepted-github-permissions`: what a fine-grained token would need.
        needs: Option<String>,
    },
    #[error("GitHub could not find {what} (HTTP {status}); {}", self.fix())]
    NotFound { what: String, status: u16 },
    #[error("GitHub did not accept the change to {what} (HTTP 422): {message}; {}", self.fix())]
    Invalid { what: String, message: String },
    #[error("GitHub's rate limit for this token is used up until {}; {}", reset.map(|r| r.format("%H:%M:%S UTC").to_string()).unwrap_or_else(|| "later".into()), self.fix())]
    RateLimited { reset: Option<DateTime<Utc>> },
    #[error("GitHub asks Delegate to slow down (a secondary rate limit); {}", self.fix())]
    SecondaryLimit { retry_after: Duration },
    #[error("GitHub answered HTTP {status}: {message}; {}", self.fix())]
    Api { status: u16, message: String },
    #[error("cannot reach GitHub at {url}: {message}; {}", self.fix())]
    Network {
        url: String,
        kind: NetworkKind,
        message: String,
    },
    #[error("unexpected answer from GitHub for {what}: {message}; {}", self.fix())]
    Decode { what: String, message: String },
    #[error("no GitHub token; {}", self.fix())]
    NoToken,
}

impl GitHubError {
    /// The issue or the comment is gone: a write for it can never land.
    pub fn is_gone(&self) -> bool {
        matches!(self, GitHubError::NotFound { .. })
    }

    /// A write that failed this way may still have been applied (no answer, or a 5xx).
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, GitHubError::Network { .. })
            || matches!(self, GitHubError::Api { status, .. } if *status >= 500)
    }

    /// Worth trying again later (the next poll), as opposed to a problem a person must fix.
    pub fn is_transient(&self) -> bool {
        self.is_ambiguous()
            || matches!(
                self,
                GitHubError::RateLimited { .. } | GitHubError::SecondaryLimit { .. }
            )
    }

    /// What a person can do about it, in plain words. Only a 401 means a bad token.
    pub fn fix(&self) -> String {
        match self {
            GitHubError::Unauthorized => "create a token on GitHub → Settings → Developer \
                settings (fine-grained: Issues read and write on the repository; classic: the \
                `repo` scope) and set it with `delegate token set --source github` (or \
                GITHUB_TOKEN, or the app's Settings)"
                .into(),
            GitHubError::NoToken => "set one with `delegate token set --source github` (or \
                GITHUB_TOKEN, or log in with `gh auth login`, or the app's Settings)"
                .into(),
            GitHubError::Forbidden { needs: Some(n), .. } => format!(
                "the token lacks a permission this needs ({n}): give it Issues read and write \
                 on the repository"
            ),
            GitHubError::Forbidden { .. } => "the token works but may not do that here: give \
                it Issues read and write on the repository (classic tokens: the `repo` scope), \
                or check that the repository is not archived"
                .into(),
            GitHubError::NotFound { status: 410, .. } => {
                "issues are turned off for the repository, or the issue was deleted".into()
            }
            GitHubError::NotFound { .. } => "check the repository's `owner/name`; a private \
                repository the token cannot see also looks missing"
                .into(),
            GitHubError::Invalid { .. } | GitHubError::Decode { .. } => "GitHub did not \
                accept what Delegate sent; if this lasts, please report it with this message"
                .into(),
            GitHubError::RateLimited { .. } => "GitHub allows 5000 requests an hour per token \
                (unchanged polls are free); Delegate waits for the reset by itself (fewer \
                machines or a longer poll help if it lasts)"
                .into(),
            GitHubError::SecondaryLimit { retry_after } => format!(
                "Delegate waits {} s and tries again by itself",
                retry_after.as_secs().max(1)
            ),
            GitHubError::Api { status, .. } if *status >= 500 => "GitHub is having trouble \
                right now; Delegate tries again by itself (see githubstatus.com if it lasts)"
                .into(),
            GitHubError::Api { .. } => "if this lasts, please report it with this message".into(),
            GitHubError::Network { kind, .. } => {
                kind.fix("GitHub", "`[github] api_url` in config.toml")
            }
        }
    }

    /// What happened, without the advice.
    pub fn what(&self) -> String {
        let text = self.to_string();
        let fix = format!("; {}", self.fix());
        text.strip_suffix(&fix).map(str::to_string).unwrap_or(text)
    }
}

/// A cached answer to a conditional read.
struct Cached {
    etag: String,
    /// Every page's items, as JSON values.
    items: Vec<serde_json::Value>,
}

/// One client per token; cheap to share behind an `Arc`.
pub struct GitHubClient {
    http: reqwest::Client,
    base: String,
    token: Secret,
    policy: RetryPolicy,
    requests: AtomicU64,
    not_modified: AtomicU64,
    clock: Mutex<ServerClock>,
    cache: Mutex<HashMap<String, Cached>>,
    /// The rate limit is used up until then: no request is sent before it.
    blocked: Mutex<Option<(Instant, GitHubError)>>,
}

/// What a conditional list read brought.
pub struct Listed<T> {
    pub items: Vec<T>,
    /// Nothing changed since the last read (a 304).
    pub unchanged: bool,
}

impl GitHubClient {
    pub fn new(base: &str, token: Secret, policy: RetryPolicy) -> Result<Self, GitHubError> {
        let http = http::client(policy.request_timeout).map_err(|(kind, message)| {
            GitHubError::Network {
                url: base.to_string(),
                kind,
                message,
            }
        })?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            policy,
            requests: AtomicU64::new(0),
            not_modified: AtomicU64::new(0),
            clock: Mutex::new(ServerClock::default()),
            cache: Mutex::new(HashMap::new()),
            blocked: Mutex::new(None),
        })
    }

    /// HTTP requests sent so far (each retry counts), and how many of them were 304s.
    pub fn requests_sent(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.not_modified.load(Ordering::Relaxed),
        )
    }

    /// GitHub's clock as the answers so far tell it.
    pub fn clock(&self) -> ServerClock {
        *self.clock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Who the token belongs to: the cheapest call that proves it works.
    pub async fn user(&self) -> Result<User, GitHubError> {
        self.json(Method::GET, "/user", &[], None, "the token's user")
            .await
    }

    /// The repositories the token can see, most recently updated first (at most 500).
    pub async fn repos(&self) -> Result<Vec<String>, GitHubError> {
        let query = [("per_page", PER_PAGE), ("sort", "updated")];
        let mut out = Vec::new();
        let mut next = Some(self.url("/user/repos", &query));
        let mut pages = 0;
        while let Some(url) = next.take() {
            let (items, link) = self.page::<WireRepo>(&url, "your repositories").await?;
            out.extend(items.into_iter().map(|r| r.full_name));
            pages += 1;
            if pages < 5 {
                next = link;
            }
        }
        Ok(out)
    }

    pub async fn repo(&self, repo: &str) -> Result<WireRepo, GitHubError> {
        self.json(
            Method::GET,
            &format!("/repos/{repo}"),
            &[],
            None,
            &format!("the repository {repo}"),
        )
        .await
    }

    /// Open issues (pull requests included, as GitHub lists them), oldest first, carrying
    /// `label` when given. Conditional: unchanged since the last read costs no rate limit.
    pub async fn open_issues(
        &self,
        repo: &str,
        label: Option<&str>,
    ) -> Result<Listed<WireIssue>, GitHubError> {
        let mut query = vec![
            ("state", "open"),
            ("per_page", PER_PAGE),
            ("sort", "created"),
            ("direction", "asc"),
        ];
        if let Some(l) = label {
            query.push(("labels", l));
        }
        let url = self.url(&format!("/repos/{repo}/issues"), &query);
        self.conditional(&url, &format!("the issues of {repo}"))
            .await
    }

    /// An issue's comments, oldest first. Conditional, like [`Self::open_issues`].
    pub async fn comments(
        &self,
        repo: &str,
        number: &str,
    ) -> Result<Listed<WireComment>, GitHubError> {
        let url = self.url(
            &format!("/repos/{repo}/issues/{number}/comments"),
            &[("per_page", PER_PAGE)],
        );
        self.conditional(&url, &format!("issue #{number} in {repo}"))
            .await
    }

    pub async fn issue(&self, repo: &str, number: &str) -> Result<WireIssue, GitHubError> {
        self.json(
            Method::GET,
            &format!("/repos/{repo}/issues/{number}"),
            &[],
            None,
            &format!("issue #{number} in {repo}"),
        )
        .await
    }

    /// Posts a comment, once: not retried after a failure that may have landed.
    pub async fn post_comment(
        &self,
        repo: &str,
        number: &str,
        body: &str,
    ) -> Result<WireComment, GitHubError> {
        let body = serde_json::json!({ "body": body });
        let path = format!("/repos/{repo}/issues/{number}/comments");
        let response = self
            .send(
                Method::POST,
                &path,
                Some(&body),
                false,
                &format!("issue #{number} in {repo}"),
            )
            .await?;
        decode(response, &path).await
    }

    pub async fn edit_comment(&self, repo: &str, id: &str, body: &str) -> Result<(), GitHubError> {
        let body = serde_json::json!({ "body": body });
        let path = format!("/repos/{repo}/issues/comments/{id}");
        self.send(Method::PATCH, &path, Some(&body), true, "the comment")
            .await
            .map(drop)
    }

    /// Deletes a comment; one already gone is fine.
    pub async fn delete_comment(&self, repo: &str, id: &str) -> Result<(), GitHubError> {
        let path = format!("/repos/{repo}/issues/comments/{id}");
        match self
            .send(Method::DELETE, &path, None, true, "the comment")
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_gone() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Adds labels to an issue (GitHub creates a label the repository lacks).
    pub async fn add_labels(
        &self,
        repo: &str,
        number: &str,
        labels: &[String],
    ) -> Result<(), GitHubError> {
        let body = serde_json::json!({ "labels": labels });
        let path = format!("/repos/{repo}/issues/{number}/labels");
        self.send(
            Method::POST,
            &path,
            Some(&body),
            true,
            &format!("issue #{number} in {repo}"),
        )
        .await
        .map(drop)
    }

    /// Removes one label from an issue; a label it no longer has is fine.
    pub async fn remove_label(
        &self,
        repo: &str,
        number: &str,
        label: &str,
    ) -> Result<(), GitHubError> {
        let path = format!(
            "/repos/{repo}/issues/{number}/labels/{}",
            encode_segment(label)
        );
        match self
            .send(
                Method::DELETE,
                &path,
                None,
                true,
                &format!("the label {label}"),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(GitHubError::NotFound { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The repository's label names.
    pub async fn labels(&self, repo: &str) -> Result<Vec<String>, GitHubError> {
        #[derive(serde::Deserialize)]
        struct L {
            name: String,
        }
        let mut out = Vec::new();
        let mut next = Some(self.url(&format!("/repos/{repo}/labels"), &[("per_page", PER_PAGE)]));
        let mut pages = 0;
        while let Some(url) = next.take() {
            let (items, link) = self
                .page::<L>(&url, &format!("the labels of {repo}"))
                .await?;
            out.extend(items.into_iter().map(|l| l.name));
            pages += 1;
            if pages < MAX_PAGES {
                next = link;
            }
        }
        Ok(out)
    }

    /// Creates a label; one that exists already is fine.
    pub async fn create_label(
        &self,
        repo: &str,
        name: &str,
        color: &str,
        description: &str,
    ) -> Result<(), GitHubError> {
        let body = serde_json::json!({ "name": name, "color": color, "description": description });
        let path = format!("/repos/{repo}/labels");
        match self
            .send(
                Method::POST,
                &path,
                Some(&body),
                true,
                &format!("the labels of {repo}"),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(GitHubError::Invalid { message, .. }) if message.contains("already_exists") => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Closes an issue as completed.
    pub async fn close_issue(&self, repo: &str, number: &str) -> Result<(), GitHubError> {
        let body = serde_json::json!({ "state": "closed", "state_reason": "completed" });
        let path = format!("/repos/{repo}/issues/{number}");
        self.send(
            Method::PATCH,
            &path,
            Some(&body),
            true,
            &format!("issue #{number} in {repo}"),
        )
        .await
        .map(drop)
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}{}", self.base, path);
        for (i, (k, v)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            url.push('=');
            url.push_str(&encode_segment(v));
        }
        url
    }

    /// A list read with `If-None-Match`: a 304 serves what the last read brought.
    async fn conditional<T: DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<Listed<T>, GitHubError> {
        let etag = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(url)
            .map(|c| c.etag.clone());
        let response = self
            .request(Method::GET, url, None, true, what, etag.as_deref())
            .await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            self.not_modified.fetch_add(1, Ordering::Relaxed);
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = cache.get(url) {
                return Ok(Listed {
                    items: from_values(&c.items, what)?,
                    unchanged: true,
                });
            }
        }
        let new_etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut next = next_link(response.headers());
        let mut values: Vec<serde_json::Value> = decode(response, what).await?;
        let mut pages = 1;
        while let Some(link) = next.take() {
            if pages >= MAX_PAGES {
                break;
            }
            let (more, link) = self.page::<serde_json::Value>(&link, what).await?;
            values.extend(more);
            next = link;
            pages += 1;
        }
        let items = from_values(&values, what)?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        match new_etag {
            Some(etag) => {
                cache.insert(
                    url.to_string(),
                    Cached {
                        etag,
                        items: values,
                    },
                );
            }
            None => {
                cache.remove(url);
            }
        }
        Ok(Listed {
            items,
            unchanged: false,
        })
    }

    /// One page and the next page's URL.
    async fn page<T: DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<(Vec<T>, Option<String>), GitHubError> {
        let response = self
            .request(Method::GET, url, None, true, what, None)
            .await?;
        let next = next_link(response.headers());
        Ok((decode(response, what).await?, next))
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        what: &str,
    ) -> Result<T, GitHubError> {
        let url = self.url(path, query);
        let response = self.request(method, &url, body, true, what, None).await?;
        decode(response, what).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        idempotent: bool,
        what: &str,
    ) -> Result<reqwest::Response, GitHubError> {
        let url = self.url(path, &[]);
        self.request(method, &url, body, idempotent, what, None)
            .await
    }

    /// Sends with GitHub's headers. Retries what may be retried: everything refused by a
    /// rate limit (nothing was applied), and — for `idempotent` requests — 5xx and network
    /// failures. A 304 is returned as is.
    async fn request(
        &self,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
        idempotent: bool,
        what: &str,
        etag: Option<&str>,
    ) -> Result<reqwest::Response, GitHubError> {
        let mut retry = 0;
        loop {
            if let Some(e) = self.still_blocked() {
                return Err(e);
            }
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(self.token.expose())
                .header(reqwest::header::ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", API_VERSION);
            if let Some(tag) = etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, tag);
            }
            if let Some(b) = body {
                request = request.json(b);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let (error, wait) = match request.send().await {
                Ok(r) => {
                    self.clock
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .observe(http::server_date(r.headers()));
                    let status = r.status();
                    if status.is_success() || status == StatusCode::NOT_MODIFIED {
                        return Ok(r);
                    }
                    let headers = r.headers().clone();
                    let body: ErrorBody = r.json().await.unwrap_or_default();
                    classify(status, &headers, body, what)
                }
                Err(e) => {
                    let (kind, message) = http::network_failure(e);
                    (
                        GitHubError::Network {
                            url: strip_query(url),
                            kind,
                            message,
                        },
                        None,
                    )
                }
            };
            let retryable = match &error {
                GitHubError::RateLimited { .. } | GitHubError::SecondaryLimit { .. } => true,
                e if e.is_ambiguous() => idempotent,
                _ => false,
            };
            let wait = match wait {
                Some(w) => w,
                None => self.policy.delay(retry + 1, None),
            };
            if !retryable || retry >= self.policy.max_retries || wait > self.policy.max_delay {
                if matches!(
                    error,
                    GitHubError::RateLimited { .. } | GitHubError::SecondaryLimit { .. }
                ) {
                    self.block(wait, &error);
                }
                return Err(error);
            }
            retry += 1;
            tracing::warn!(%error, retry, wait_ms = wait.as_millis() as u64, "GitHub request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// No request before `wait` has passed (a rate limit GitHub asked Delegate to respect).
    fn block(&self, wait: Duration, error: &GitHubError) {
        let copy = match error {
            GitHubError::RateLimited { reset } => GitHubError::RateLimited { reset: *reset },
            _ => GitHubError::SecondaryLimit { retry_after: wait },
        };
        *self.blocked.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now() + wait, copy));
    }

    fn still_blocked(&self) -> Option<GitHubError> {
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        match blocked.as_ref() {
            Some((until, e)) if Instant::now() < *until => Some(match e {
                GitHubError::RateLimited { reset } => GitHubError::RateLimited { reset: *reset },
                _ => GitHubError::SecondaryLimit {
                    retry_after: until.saturating_duration_since(Instant::now()),
                },
            }),
            _ => {
                *blocked = None;
                None
            }
        }
    }
}

/// The error for a refused request, and how long GitHub asks to wait when it is a limit.
fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: ErrorBody,
    what: &str,
) -> (GitHubError, Option<Duration>) {
    let message = if body.message.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        body.message.clone()
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let limited = matches!(
        status,
        StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
    );
    if limited {
        if let Some(after) = http::retry_after(headers) {
            return (
                GitHubError::SecondaryLimit { retry_after: after },
                Some(after.max(Duration::from_secs(1))),
            );
        }
        if header("x-ratelimit-remaining").as_deref() == Some("0") {
            let reset = header("x-ratelimit-reset")
                .and_then(|v| v.trim().parse::<i64>().ok())
                .and_then(|s| Utc.timestamp_opt(s, 0).single());
            // Until the reset on GitHub's clock (`Date`), one second of rounding added.
            let now = http::server_date(headers).unwrap_or_else(Utc::now);
            let wait = reset
                .map(|r| (r - now).to_std().unwrap_or(Duration::ZERO) + Duration::from_secs(1))
                .unwrap_or(SECONDARY_WAIT);
            return (GitHubError::RateLimited { reset }, Some(wait));
        }
        if message.to_lowercase().contains("secondary rate limit")
            || status == StatusCode::TOO_MANY_REQUESTS
        {
            return (
                GitHubError::SecondaryLimit {
                    retry_after: SECONDARY_WAIT,
                },
                Some(SECONDARY_WAIT),
            );
        }
    }
    let error = match status {
        StatusCode::UNAUTHORIZED => GitHubError::Unauthorized,
        StatusCode::FORBIDDEN => GitHubError::Forbidden {
            message,
            needs: header("x-accepted-github-permissions").filter(|v| !v.trim().is_empty()),
        },
        StatusCode::NOT_FOUND | StatusCode::GONE => GitHubError::NotFound {
            what: what.to_string(),
            status: status.as_u16(),
        },
        StatusCode::UNPROCESSABLE_ENTITY => {
            let detail: Vec<String> = body
                .errors
                .iter()
                .map(|e| {
                    e.get("code")
                        .and_then(|c| c.as_str())
                        .or_else(|| e.get("message").and_then(|m| m.as_str()))
                        .or_else(|| e.as_str())
                        .unwrap_or("invalid")
                        .to_string()
                })
                .collect();
            GitHubError::Invalid {
                what: what.to_string(),
                message: if detail.is_empty() {
                    message
                } else {
                    format!("{message} ({})", detail.join(", "))
                },
            }
        }
        _ => GitHubError::Api {
            status: status.as_u16(),
            message,
        },
    };
    (error, None)
}

async fn decode<T: DeserializeOwned>(
    response: reqwest::Response,
    what: &str,
) -> Result<T, GitHubError> {
    let bytes = response.bytes().await.map_err(|e| {
        let (kind, message) = http::network_failure(e);
        GitHubError::Network {
            url: what.to_string(),
            kind,
            message,
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| GitHubError::Decode {
        what: what.to_string(),
        message: e.to_string(),
    })
}

fn from_values<T: DeserializeOwned>(
    values: &[serde_json::Value],
    what: &str,
) -> Result<Vec<T>, GitHubError> {
    values
        .iter()
        .map(|v| {
            T::deserialize(v).map_err(|e| GitHubError::Decode {
                what: what.to_string(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

fn strip_query(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_string()
}

/// Percent-encodes what is not unreserved (for a path segment or a query value).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_next_link_is_found() {
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            HeaderValue::from_static(
                "<https://api.github.com/repositories/1/issues?page=2>; rel=\"next\", <https://api.github.com/repositories/1/issues?page=5>; rel=\"last\"",
            ),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/repositories/1/issues?page=2")
        );
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn limits_are_told_apart() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        let (e, wait) = classify(StatusCode::FORBIDDEN, &h, ErrorBody::default(), "x");
        assert!(matches!(e, GitHubError::SecondaryLimit { .. }));
        assert_eq!(wait, Some(Duration::from_secs(7)));
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        let reset = (Utc::now().timestamp() + 30).to_string();
        h.insert("x-ratelimit-reset", HeaderValue::from_str(&reset).unwrap());
        let (e, wait) = classify(StatusCode::FORBIDDEN, &h, ErrorBody::default(), "x");
        assert!(matches!(e, GitHubError::RateLimited { reset: Some(_) }));
        assert!(wait.unwrap() >= Duration::from_secs(29));
        let mut h = HeaderMap::new();
        h.insert(
            "x-accepted-github-permissions",
            HeaderValue::from_static("issues=write"),
        );
        let body = ErrorBody {
            message: "Resource not accessible by personal access token".into(),
            errors: vec![],
        };
        let (e, wait) = classify(StatusCode::FORBIDDEN, &h, body, "x");
        assert!(e.fix().contains("issues=write"), "{e}");
        assert_eq!(wait, None);
        assert_eq!(encode_segment("agent done/ü"), "agent%20done%2F%C3%BC");
    }
}
