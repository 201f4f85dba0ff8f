//! A small client for Todoist API v1: bearer auth, cursor pagination, JSON errors, a timeout
//! on every request, and retries (backoff with jitter, honouring `retry_after`) on 429, 5xx
//! and network errors, never on other 4xx. Reads use REST or `/sync`; every write goes as
//! `/sync` commands (see [`super::command`]), so a retried write is never applied twice.

use super::command::Command;
use super::wire::{
    ErrorBody, Page, SyncResponse, WireAttachment, WireComment, WireProject, WireTask,
};
use crate::secrets::Secret;
use crate::source::http::{self, NetworkKind};
use crate::source::retry::RetryPolicy;
use crate::source::{Comment, Task};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const PAGE_LIMIT: &str = "200";

#[derive(Debug, thiserror::Error)]
pub enum TodoistError {
    #[error("Todoist rejected the API token (HTTP 401); {}", self.fix())]
    Unauthorized,
    #[error("Todoist refused access (HTTP 403): {message}; {}", self.fix())]
    Forbidden { message: String },
    #[error("Todoist says a limit of your plan is reached ({tag}): {message}; {}", self.fix())]
    PlanLimit { tag: String, message: String },
    #[error("Todoist could not find {what} (HTTP 404); {}", self.fix())]
    NotFound { what: String },
    #[error("Todoist answered HTTP {status} {tag}: {message}; {}", self.fix())]
    Api {
        status: u16,
        tag: String,
        message: String,
    },
    #[error("Todoist refused the {command} change (HTTP {status} {tag}): {message}; {}", self.fix())]
    Command {
        command: &'static str,
        status: u16,
        tag: String,
        message: String,
    },
    #[error("Todoist is rate-limiting requests; gave up after {attempts} tries; {}", self.fix())]
    RateLimited { attempts: u32 },
    #[error("cannot reach Todoist at {url}: {message}; {}", self.fix())]
    Network {
        url: String,
        kind: NetworkKind,
        message: String,
    },
    #[error("unexpected answer from Todoist for {what}: {message}; {}", self.fix())]
    Decode { what: String, message: String },
    #[error("no Todoist token; {}", self.fix())]
    NoToken,
}

impl TodoistError {
    /// The task is gone (deleted, or completed and archived): a write for it can never land.
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            TodoistError::NotFound { .. } | TodoistError::Command { status: 404, .. }
        )
    }

    /// Worth trying again later (the next poll), as opposed to a problem a person must fix.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TodoistError::RateLimited { .. } | TodoistError::Network { .. }
        ) || matches!(self, TodoistError::Api { status, .. } if *status >= 500)
    }

    /// What happened, without the advice (for screens that show the fix on its own line).
    pub fn what(&self) -> String {
        let text = self.to_string();
        let fix = format!("; {}", self.fix());
        text.strip_suffix(&fix).map(str::to_string).unwrap_or(text)
    }

    /// What a person can do about it, in plain words. Only a 401 means a bad token.
    pub fn fix(&self) -> String {
        match self {
            TodoistError::Unauthorized => "copy a fresh token from Todoist → Settings → \
                Integrations → Developer and set it with `delegate token set` (or in the app's \
                Settings)"
                .into(),
            TodoistError::NoToken => {
                "set one with `delegate token set` (or TODOIST_API_TOKEN, or the app's Settings)"
                    .into()
            }
            TodoistError::Forbidden { .. } => "the token works but this account may not do \
                that: check that the project is shared with the account the token belongs to"
                .into(),
            TodoistError::PlanLimit { .. } => "remove finished tasks or unused projects in \
                Todoist, or move to a plan with higher limits"
                .into(),
            TodoistError::NotFound { .. } => {
                "it was probably deleted or moved in Todoist; nothing else to do".into()
            }
            TodoistError::Api { status, .. } if *status >= 500 => "Todoist is having trouble \
                right now; Delegate tries again by itself (see status.todoist.com if it lasts)"
                .into(),
            TodoistError::Api { .. } | TodoistError::Decode { .. } => "Todoist did not accept \
                what Delegate sent; if this lasts, please report it with this message"
                .into(),
            TodoistError::Command { status, .. } if *status == 404 => {
                "the task was probably deleted or completed in Todoist; nothing else to do".into()
            }
            TodoistError::Command { status, .. } if *status >= 500 => {
                "Todoist is having trouble right now; Delegate tries again by itself".into()
            }
            TodoistError::Command { .. } => {
                "if this lasts, please report it with this message".into()
            }
            TodoistError::RateLimited { .. } => "Todoist allows about 1000 requests per 15 \
                minutes per account; Delegate waits and tries again by itself (fewer machines \
                or longer poll intervals help if it lasts)"
                .into(),
            TodoistError::Network { kind, .. } => match kind {
                NetworkKind::Dns => "check the internet connection (the server name could not \
                    be looked up), or `api_url` in config.toml"
                    .into(),
                NetworkKind::Refused => "nothing answers at that address: check `api_url` in \
                    config.toml (or DELEGATE_TODOIST_API_URL), a proxy or a firewall"
                    .into(),
                NetworkKind::Tls => "a secure connection could not be made: check the computer's \
                    clock and any proxy that intercepts HTTPS"
                    .into(),
                NetworkKind::Timeout => "Todoist did not answer in time: check the connection; \
                    Delegate tries again by itself"
                    .into(),
                NetworkKind::Other => "check the internet connection; Delegate tries again by \
                    itself"
                    .into(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub full_name: String,
    pub email: String,
}

/// How long an upload or a download may take (Todoist gives uploads five minutes).
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// A file's type from its name, for an upload.
fn mime_of(name: &str) -> &'static str {
    let lower = name.to_lowercase();
    if lower.ends_with(".md") || lower.ends_with(".markdown") {
        "text/markdown"
    } else if lower.ends_with(".txt") {
        "text/plain"
    } else if lower.ends_with(".html") {
        "text/html"
    } else if lower.ends_with(".csv") {
        "text/csv"
    } else if lower.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    }
}

/// One client per account; cheap to share behind an `Arc`.
pub struct TodoistClient {
    http: reqwest::Client,
    base: String,
    token: Secret,
    policy: RetryPolicy,
    requests: AtomicU64,
}

impl TodoistClient {
    pub fn new(base: &str, token: Secret, policy: RetryPolicy) -> Result<Self, TodoistError> {
        let http = http::client(policy.request_timeout).map_err(|(kind, message)| {
            TodoistError::Network {
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
        })
    }

    /// HTTP requests sent so far (each retry counts).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub async fn projects(&self) -> Result<Vec<Project>, TodoistError> {
        let all: Vec<WireProject> = self
            .paged("/projects", &[], |p: &WireProject| &p.id)
            .await?;
        Ok(all
            .into_iter()
            .filter(|p| !p.is_deleted && !p.is_archived)
            .map(|p| Project {
                id: p.id,
                name: p.name,
            })
            .collect())
    }

    /// Open tasks of one project (REST; the worker normally reads through `/sync`).
    pub async fn tasks(&self, project_id: &str) -> Result<Vec<Task>, TodoistError> {
        let all: Vec<WireTask> = self
            .paged("/tasks", &[("project_id", project_id)], |t: &WireTask| {
                &t.id
            })
            .await?;
        Ok(all
            .iter()
            .filter(|t| t.is_open())
            .map(WireTask::to_task)
            .collect())
    }

    pub async fn comments(&self, task_id: &str) -> Result<Vec<Comment>, TodoistError> {
        let all: Vec<WireComment> = self
            .paged("/comments", &[("task_id", task_id)], |c: &WireComment| {
                &c.id
            })
            .await?;
        Ok(all
            .iter()
            .filter(|c| !c.is_deleted)
            .map(WireComment::to_comment)
            .collect())
    }

    /// One task, open or not.
    pub async fn task(&self, task_id: &str) -> Result<Task, TodoistError> {
        let path = format!("/tasks/{task_id}");
        let t: WireTask = self.json(Method::GET, &path, &[], None, "the task").await?;
        Ok(t.to_task())
    }

    /// One `/sync` round-trip (`sync_token = "*"` for a full sync).
    pub(crate) async fn sync(
        &self,
        sync_token: &str,
        resource_types: &[&str],
    ) -> Result<SyncResponse, TodoistError> {
        self.sync_commands(sync_token, resource_types, &[]).await
    }

    /// `commands` and a read of the changes since `sync_token`, in one request. Retries
    /// resend the same body, so the same uuids: Todoist applies each command once. The
    /// caller checks `sync_status` (see [`SyncResponse::check`]).
    pub(crate) async fn sync_commands(
        &self,
        sync_token: &str,
        resource_types: &[&str],
        commands: &[Command],
    ) -> Result<SyncResponse, TodoistError> {
        let mut body =
            serde_json::json!({ "sync_token": sync_token, "resource_types": resource_types });
        if !commands.is_empty() {
            body["commands"] =
                serde_json::to_value(commands).map_err(|e| TodoistError::Decode {
                    what: "sync".into(),
                    message: e.to_string(),
                })?;
        }
        let response = self
            .send(Method::POST, "/sync", &[], Some(&body), "sync")
            .await?;
        let server_time = http::server_date(response.headers());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.network("/sync", e))?;
        let mut r: SyncResponse =
            serde_json::from_slice(&bytes).map_err(|e| TodoistError::Decode {
                what: "/sync".into(),
                message: e.to_string(),
            })?;
        r.server_time = server_time;
        Ok(r)
    }

    /// Uploads a file for a comment (`POST /uploads`, multipart `file`): what the comment's
    /// `file_attachment` then carries. A retry after a failure sends it again (an earlier
    /// upload that did land stays unattached: harmless).
    pub async fn upload(
        &self,
        project_id: Option<&str>,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<crate::source::FileRef, TodoistError> {
        let url = format!("{}/uploads", self.base);
        let mime = mime_of(name);
        let mut retry = 0;
        loop {
            let part = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(name.to_string())
                .mime_str(mime)
                .map_err(|e| self.network("/uploads", e))?;
            let mut form = reqwest::multipart::Form::new()
                .part("file", part)
                .text("file_name", name.to_string());
            if let Some(p) = project_id {
                form = form.text("project_id", p.to_string());
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let sent = self
                .http
                .post(&url)
                .bearer_auth(self.token.expose())
                .timeout(UPLOAD_TIMEOUT)
                .multipart(form)
                .send()
                .await;
            let error = match sent {
                Ok(r) if r.status().is_success() => {
                    let bytes = r.bytes().await.map_err(|e| self.network("/uploads", e))?;
                    let a: WireAttachment =
                        serde_json::from_slice(&bytes).map_err(|e| TodoistError::Decode {
                            what: "/uploads".into(),
                            message: e.to_string(),
                        })?;
                    return a.to_file().ok_or_else(|| TodoistError::Decode {
                        what: "/uploads".into(),
                        message: "the answer names no finished file".into(),
                    });
                }
                Ok(r) => {
                    let status = r.status();
                    let body: ErrorBody = r.json().await.unwrap_or_default();
                    classify(status, body, "the upload", retry + 1)
                }
                Err(e) => self.network("/uploads", e),
            };
            if !error.is_transient() || retry >= self.policy.max_retries {
                return Err(error);
            }
            retry += 1;
            tokio::time::sleep(self.policy.delay(retry, None)).await;
        }
    }

    /// Downloads an attached file, at most `max` bytes (`None` when it is larger, by its
    /// declared length or by what arrives). The token goes only to Todoist's own hosts (the
    /// API's and `*.todoist.com`): a comment can name any address, and a file elsewhere is
    /// fetched without it.
    pub async fn download(&self, url: &str, max: u64) -> Result<Option<Vec<u8>>, TodoistError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| TodoistError::Decode {
            what: "an attachment's address".into(),
            message: e.to_string(),
        })?;
        let own = self.own_host(&parsed);
        // Elsewhere only https to a named host: a comment cannot make Delegate fetch from this
        // machine or its network (`http://127.0.0.1:…`, `https://10.0.0.5/…`).
        let host = parsed.host_str().unwrap_or("");
        let literal = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok();
        let public = parsed.scheme() == "https"
            && !host.is_empty()
            && !literal
            && host != "localhost"
            && !host.ends_with(".localhost")
            && !host.ends_with(".local");
        if !own && !public {
            return Err(TodoistError::Decode {
                what: "an attachment's address".into(),
                message: format!("{url} is neither Todoist's nor a public https address"),
            });
        }
        let mut request = self.http.get(parsed.clone()).timeout(UPLOAD_TIMEOUT);
        if own {
            request = request.bearer_auth(self.token.expose());
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut r = request.send().await.map_err(|e| self.network(url, e))?;
        if !r.status().is_success() {
            // The status alone: an error page elsewhere is not read (it could be any size).
            return Err(TodoistError::Api {
                status: r.status().as_u16(),
                tag: String::new(),
                message: "the attached file could not be downloaded".into(),
            });
        }
        if r.content_length().is_some_and(|n| n > max) {
            return Ok(None);
        }
        let mut out = Vec::new();
        while let Some(chunk) = r.chunk().await.map_err(|e| self.network(url, e))? {
            if (out.len() + chunk.len()) as u64 > max {
                return Ok(None);
            }
            out.extend_from_slice(&chunk);
        }
        Ok(Some(out))
    }

    /// Whether `url` is one of Todoist's own hosts (the API's, or `todoist.com` and its
    /// subdomains over https), where the token may go.
    fn own_host(&self, url: &reqwest::Url) -> bool {
        let api = reqwest::Url::parse(&self.base).ok();
        let same = api.as_ref().is_some_and(|a| {
            a.scheme() == url.scheme()
                && a.host_str() == url.host_str()
                && a.port_or_known_default() == url.port_or_known_default()
        });
        let todoist = url.scheme() == "https"
            && url
                .host_str()
                .is_some_and(|h| h == "todoist.com" || h.ends_with(".todoist.com"));
        same || todoist
    }

    /// Who the token belongs to: the cheapest call that proves the token works.
    pub async fn user(&self) -> Result<User, TodoistError> {
        let r = self.sync("*", &["user"]).await?;
        let u = r.user.ok_or_else(|| TodoistError::Decode {
            what: "sync".into(),
            message: "no user in the answer".into(),
        })?;
        Ok(User {
            full_name: u.full_name,
            email: u.email,
        })
    }

    /// Follows `next_cursor` until the last page, dropping repeated ids.
    async fn paged<T: DeserializeOwned>(
        &self,
        path: &str,
        filters: &[(&str, &str)],
        id: impl Fn(&T) -> &String,
    ) -> Result<Vec<T>, TodoistError> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query: Vec<(&str, &str)> = filters.to_vec();
            query.push(("limit", PAGE_LIMIT));
            if let Some(c) = &cursor {
                query.push(("cursor", c));
            }
            let page: Page<T> = self.json(Method::GET, path, &query, None, path).await?;
            for item in page.results {
                if seen.insert(id(&item).clone()) {
                    out.push(item);
                }
            }
            match page.next_cursor.filter(|c| !c.is_empty()) {
                Some(next) => cursor = Some(next),
                None => return Ok(out),
            }
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        what: &str,
    ) -> Result<T, TodoistError> {
        let response = self.send(method, path, query, body, what).await?;
        let bytes = response.bytes().await.map_err(|e| self.network(path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| TodoistError::Decode {
            what: path.to_string(),
            message: e.to_string(),
        })
    }

    /// Sends with retries. `what` names the object for a 404 message.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        what: &str,
    ) -> Result<reqwest::Response, TodoistError> {
        let url = format!("{}{}", self.base, path);
        let mut retry = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(self.token.expose())
                .query(query);
            if let Some(b) = body {
                request = request.json(b);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let (error, hint) = match request.send().await {
                Ok(r) if r.status().is_success() => return Ok(r),
                Ok(r) => {
                    let status = r.status();
                    let header_hint = retry_after_header(&r);
                    let body: ErrorBody = r.json().await.unwrap_or_default();
                    let body_hint = body
                        .error_extra
                        .get("retry_after")
                        .and_then(|v| v.as_f64())
                        .and_then(crate::source::retry::hint);
                    let hint = header_hint.max(body_hint);
                    (classify(status, body, what, retry + 1), hint)
                }
                Err(e) => (self.network(path, e), None),
            };
            if !error.is_transient() || retry >= self.policy.max_retries {
                return Err(error);
            }
            retry += 1;
            let wait = self.policy.delay(retry, hint);
            tracing::warn!(%error, retry, wait_ms = wait.as_millis() as u64, "Todoist request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    fn network(&self, path: &str, e: reqwest::Error) -> TodoistError {
        let (kind, message) = http::network_failure(e);
        TodoistError::Network {
            url: format!("{}{}", self.base, path),
            kind,
            message,
        }
    }
}

fn retry_after_header(r: &reqwest::Response) -> Option<Duration> {
    http::retry_after(r.headers())
}

fn classify(status: StatusCode, body: ErrorBody, what: &str, attempts: u32) -> TodoistError {
    let message = if body.error.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        body.error
    };
    match status {
        StatusCode::UNAUTHORIZED => TodoistError::Unauthorized,
        StatusCode::FORBIDDEN if body.error_tag.ends_with("LIMIT_REACHED") => {
            TodoistError::PlanLimit {
                tag: body.error_tag,
                message,
            }
        }
        StatusCode::FORBIDDEN => TodoistError::Forbidden { message },
        StatusCode::NOT_FOUND => TodoistError::NotFound {
            what: what.to_string(),
        },
        StatusCode::TOO_MANY_REQUESTS => TodoistError::RateLimited { attempts },
        _ => TodoistError::Api {
            status: status.as_u16(),
            tag: body.error_tag,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_only_to_todoists_own_hosts() {
        let c = TodoistClient::new(
            "https://api.todoist.com/api/v1",
            Secret::new("t"),
            RetryPolicy::default(),
        )
        .unwrap();
        let own = |u: &str| c.own_host(&reqwest::Url::parse(u).unwrap());
        assert!(own("https://api.todoist.com/api/v1/x"));
        assert!(own("https://files.todoist.com/abc/q3.pdf"));
        assert!(
            !own("http://files.todoist.com/abc/q3.pdf"),
            "never in the clear"
        );
        assert!(!own("https://todoist.com.evil.example/q3.pdf"));
        assert!(!own("https://eviltodoist.com/q3.pdf"));
        assert!(!own("https://example.com/q3.pdf"));
        let local = TodoistClient::new(
            "http://127.0.0.1:4010/api/v1",
            Secret::new("t"),
            RetryPolicy::default(),
        )
        .unwrap();
        assert!(
            local.own_host(&reqwest::Url::parse("http://127.0.0.1:4010/_fake/files/1/a").unwrap())
        );
        assert!(!local.own_host(&reqwest::Url::parse("http://127.0.0.1:4011/files/a").unwrap()));
        assert_eq!(mime_of("Draft.MD"), "text/markdown");
    }
}
