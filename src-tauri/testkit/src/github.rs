//! A fake GitHub REST API on a loopback port that behaves like api.github.com where a task
//! source built on issues depends on it, and as badly as it can: the operations below, read
//! from GitHub's published OpenAPI description (a trimmed copy is vendored in
//! `descriptions/github-issues.json`, made by `scripts/trim-github-description`; see
//! [`schema`] for the check of every answer against it).
//!
//! Served: `GET /user`, `GET /user/repos`, `GET /repos/{o}/{r}`, `GET /repos/{o}/{r}/issues`
//! (pull requests included, as the real one does), `GET|PATCH …/issues/{n}`,
//! `GET|POST …/issues/{n}/comments`, `PATCH|DELETE …/issues/comments/{id}`,
//! `GET|POST|PUT …/issues/{n}/labels`, `DELETE …/issues/{n}/labels/{name}`,
//! `GET|POST …/labels`. Every repository route is also served under
//! `/repositories/{id}/…`, because that is where GitHub's `Link` headers point.
//!
//! Like GitHub it checks the token (`Bearer` or `token`), answers 404 for a repository the
//! token cannot see, counts requests per user against a primary rate limit (a 304 to a
//! matching `If-None-Match` is free), and sends `x-ratelimit-*`, `Date`,
//! `x-github-request-id` and a weak `ETag` on GETs. Its bad days are test hooks: latency,
//! writes visible only later (and so out of order), clock skew, primary and secondary rate
//! limits, answers that come after the client gave up, and plain 5xx failures.

mod gate;
mod routes;
pub mod schema;
mod shapes;
mod state;

pub use schema::Description;

use axum::Router;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) use state::{
    ANONYMOUS_LIMIT, Bucket, Burst, FakeState, Issue, Label, LagRule, Repo, SecondaryNext,
    StoredComment,
};

pub(crate) type Shared = Arc<Mutex<FakeState>>;

/// GitHub's documentation links, as its errors carry them.
pub(crate) const DOCS: &str = "https://docs.github.com/rest";
pub(crate) const RATE_DOCS: &str =
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";
pub(crate) const SECONDARY_DOCS: &str = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";

/// One request as the server saw it. The token itself is never stored.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
    /// The login the token belongs to (`None`: no token, or a wrong one).
    pub login: Option<String>,
    /// The status answered (0 while the request is still being handled).
    pub status: u16,
    /// A 304 to `If-None-Match`: not counted against the rate limit.
    pub not_modified: bool,
    /// Its `x-github-request-id`.
    pub request_id: String,
    /// When it arrived, on the server's clock (RFC 3339, milliseconds).
    pub at: String,
}

/// What the server has done so far.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counters {
    pub requests: u64,
    /// Requests counted against a primary rate limit.
    pub counted: u64,
    pub not_modified: u64,
    /// Refused for the primary rate limit (remaining 0).
    pub rate_limited: u64,
    /// Refused for a secondary rate limit.
    pub secondary_limited: u64,
    /// 5xx answered by `fail_next`.
    pub injected_failures: u64,
    /// Writes applied now but shown to readers only later.
    pub lagged_writes: u64,
    /// Answers held back after the request was handled.
    pub late_answers: u64,
    /// Writes applied (comments, label and issue changes).
    pub writes: u64,
}

/// An issue (or pull request) as stored.
#[derive(Debug, Clone, Serialize)]
pub struct FakeIssue {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub state: String,
    pub state_reason: Option<String>,
    pub author: String,
    pub pull_request: bool,
    /// The labels as stored (what the next write builds on).
    pub labels: Vec<String>,
    /// The labels a read shows now (older while a label change is lagged).
    pub visible_labels: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    pub deleted: bool,
}

/// A comment as stored.
#[derive(Debug, Clone, Serialize)]
pub struct FakeComment {
    pub id: u64,
    pub issue_number: u64,
    pub body: String,
    pub author: String,
    pub created_at: String,
    pub updated_at: String,
    /// Whether a read shows it yet.
    pub visible: bool,
}

/// An issue's comments: what a read shows now, and what is stored (lagged ones too).
#[derive(Debug, Clone, Serialize)]
pub struct Comments {
    pub visible: Vec<FakeComment>,
    pub stored: Vec<FakeComment>,
}

impl Comments {
    pub fn visible_bodies(&self) -> Vec<String> {
        self.visible.iter().map(|c| c.body.clone()).collect()
    }
    pub fn stored_bodies(&self) -> Vec<String> {
        self.stored.iter().map(|c| c.body.clone()).collect()
    }
}

/// A running fake server. Dropping it does not stop the server task; it ends with the runtime.
#[derive(Clone)]
pub struct FakeGitHub {
    /// Base URL, like `https://api.github.com` (no trailing slash).
    pub url: String,
    state: Shared,
}

impl FakeGitHub {
    /// Starts on 127.0.0.1 with a free port; `token` belongs to the user `delegate-bot`.
    pub async fn start(token: &str) -> Self {
        Self::start_on(token, 0).await
    }

    pub async fn start_on(token: &str, port: u16) -> Self {
        let state: Shared = Arc::new(Mutex::new(FakeState::new(token)));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let url = format!("http://{addr}");
        state.lock().unwrap_or_else(|e| e.into_inner()).base = url.clone();
        let app = router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, state }
    }

    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s)
    }

    // ---- The world: users, tokens, repositories, issues, comments ----

    /// Another token, for the user `login` (created if new). Tokens of one user share its
    /// rate limit, as on GitHub.
    pub fn add_token(&self, token: &str, login: &str) {
        self.with(|s| s.add_token(token, login))
    }

    /// The token can no longer see `repo`: every request about it answers 404, and
    /// `/user/repos` leaves it out.
    pub fn hide_repo(&self, token: &str, repo: &str) {
        self.with(|s| {
            s.token_mut(token).hidden.insert(repo.to_lowercase());
        })
    }

    /// A token that may read but not write issues (a fine-grained token without the
    /// "Issues: write" permission): every write answers 403 "Resource not accessible by
    /// personal access token".
    pub fn set_read_only(&self, token: &str, read_only: bool) {
        self.with(|s| s.token_mut(token).read_only = read_only)
    }

    /// A private repository `owner/name` with GitHub's default labels; every token sees it
    /// unless hidden. Returns its id.
    pub fn add_repo(&self, full_name: &str) -> u64 {
        self.with(|s| s.add_repo(full_name))
    }

    /// An open issue by the first token's user; labels missing on the repository are created.
    pub fn add_issue(&self, repo: &str, title: &str, body: &str, labels: &[&str]) -> u64 {
        self.with(|s| s.add_item(repo, title, body, labels, false))
    }

    /// An open pull request: it shares the issues' numbers and shows in the issues list.
    pub fn add_pull_request(&self, repo: &str, title: &str) -> u64 {
        self.with(|s| s.add_item(repo, title, "", &[], true))
    }

    pub fn issue(&self, repo: &str, number: u64) -> FakeIssue {
        self.with(|s| s.fake_issue(repo, number))
    }

    /// Sets an issue's labels as a person would in the web UI (visible at once).
    pub fn set_issue_labels(&self, repo: &str, number: u64, labels: &[&str]) {
        self.with(|s| {
            let repo_id = s.repo(repo).map(|r| r.id).unwrap_or_default();
            let names: Vec<String> = labels.iter().map(|l| s.ensure_label(repo_id, l)).collect();
            let at = s.stamp();
            if let Some(i) = s.repo_mut(repo).and_then(|r| r.issue_mut(number)) {
                i.label_log.push((Instant::now(), names));
                i.updated_at = at;
            }
        })
    }

    /// Closes (`"closed"`) or reopens (`"open"`) an issue as a person would.
    pub fn set_issue_state(&self, repo: &str, number: u64, state: &str) {
        self.with(|s| {
            let at = s.stamp();
            if let Some(i) = s.repo_mut(repo).and_then(|r| r.issue_mut(number)) {
                routes::set_state(i, state, None, "octocat", &at);
                i.updated_at = at;
            }
        })
    }

    /// Deletes an issue as an admin would: reads of it answer 410 Gone.
    pub fn delete_issue(&self, repo: &str, number: u64) {
        self.with(|s| {
            if let Some(i) = s.repo_mut(repo).and_then(|r| r.issue_mut(number)) {
                i.deleted = true;
            }
        })
    }

    /// A comment by someone else (`author`), visible at once. Returns its id.
    pub fn add_comment(&self, repo: &str, number: u64, author: &str, body: &str) -> u64 {
        self.with(|s| {
            let repo_id = s
                .repo(repo)
                .unwrap_or_else(|| panic!("no repository {repo}"))
                .id;
            routes::push_comment(s, repo_id, number, author, body, Duration::ZERO)
        })
    }

    /// An issue's comments, oldest first: those a read shows now and all that are stored.
    pub fn comments(&self, repo: &str, number: u64) -> Comments {
        self.with(|s| {
            let repo_id = s.repo(repo).map(|r| r.id).unwrap_or_default();
            let now = Instant::now();
            let stored: Vec<FakeComment> = s
                .comments
                .iter()
                .filter(|c| c.repo_id == repo_id && c.issue_number == number)
                .map(|c| FakeComment {
                    id: c.id,
                    issue_number: c.issue_number,
                    body: c.body.clone(),
                    author: c.author.clone(),
                    created_at: c.created_at.clone(),
                    updated_at: c.updated_at.clone(),
                    visible: c.visible_at <= now,
                })
                .collect();
            Comments {
                visible: stored.iter().filter(|c| c.visible).cloned().collect(),
                stored,
            }
        })
    }

    /// Moves the timestamps of an issue's comments `seconds` into the past (an old claim).
    pub fn age_comments(&self, repo: &str, number: u64, seconds: i64) {
        self.with(|s| {
            let repo_id = s.repo(repo).map(|r| r.id).unwrap_or_default();
            for c in s
                .comments
                .iter_mut()
                .filter(|c| c.repo_id == repo_id && c.issue_number == number)
            {
                for t in [&mut c.created_at, &mut c.updated_at] {
                    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
                        *t = (d - chrono::Duration::seconds(seconds))
                            .with_timezone(&chrono::Utc)
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    }
                }
            }
        })
    }

    /// The names of the repository's labels.
    pub fn repo_labels(&self, repo: &str) -> Vec<String> {
        self.with(|s| {
            s.repo(repo)
                .map(|r| r.labels.iter().map(|l| l.name.clone()).collect())
                .unwrap_or_default()
        })
    }

    // ---- What happened ----

    pub fn requests(&self) -> Vec<Recorded> {
        self.with(|s| s.requests.clone())
    }

    pub fn clear_requests(&self) {
        self.with(|s| s.requests.clear())
    }

    pub fn counters(&self) -> Counters {
        self.with(|s| s.counters)
    }

    /// The primary rate limit of the user `token` belongs to: (limit, remaining, reset as
    /// epoch seconds on the server's clock).
    pub fn rate_limit(&self, token: &str) -> (u32, u32, i64) {
        self.with(|s| {
            let login = s.token(token).map(|t| t.login.clone()).unwrap_or_default();
            let b = gate::bucket(s, &login);
            (
                s.rate_limit,
                s.rate_limit.saturating_sub(b.used),
                gate::epoch(s, b.resets),
            )
        })
    }

    // ---- Bad days ----

    /// Every request waits this long (half before it is handled, half after).
    pub fn set_latency(&self, latency: Duration) {
        self.with(|s| s.latency = latency)
    }

    /// Makes every `every`-th write whose body or path contains `text` (a new comment, or a
    /// label change) visible to readers only `delay` after it was applied: the answer
    /// comes at once and says it is done, the comment keeps the time it arrived, and
    /// meanwhile every read (lists, `comments` counts, labels, ETags) is as before; the
    /// issue's `updated_at` moves at once. Two lagged comments can so show in another order
    /// than made, and a reader that asks `since` its previous read never sees one that was
    /// stamped before that read. Rules add up; the first whose text matches is used (a
    /// write that is then refused, a 404 or 422, still counts towards `every`).
    pub fn set_write_lag(&self, text: &str, every: usize, delay: Duration) {
        self.with(|s| {
            s.lag_rules.push(LagRule {
                text: text.to_string(),
                every: every.max(1),
                delay,
                seen: 0,
            })
        })
    }

    /// Runs the server's clock `ms` milliseconds off the real one: its `Date` header, every
    /// timestamp it writes and its rate limit reset times.
    pub fn set_clock_skew_ms(&self, ms: i64) {
        self.with(|s| s.skew_ms = ms)
    }

    /// Each user may make `limit` counted requests per `window` (GitHub: 5,000 per hour),
    /// starting from their first request; past it, requests answer 403 (or the status set
    /// by [`FakeGitHub::set_rate_limit_status`]) with `x-ratelimit-remaining: 0` until the
    /// reset. Starts every window anew.
    pub fn set_rate_limit(&self, limit: u32, window: Duration) {
        self.with(|s| {
            s.rate_limit = limit;
            s.rate_window = window;
            s.buckets.clear();
        })
    }

    /// GitHub answers an exhausted primary limit with 403 or 429.
    pub fn set_rate_limit_status(&self, status: u16) {
        self.with(|s| s.rate_status = status)
    }

    /// The next `writes` writes answer `status` (403 or 429) with the secondary rate
    /// limit's message and `retry-after: N` (`None`: without the header, as GitHub
    /// sometimes does); nothing is written.
    pub fn secondary_limit_next_writes(
        &self,
        writes: usize,
        status: u16,
        retry_after: Option<u64>,
    ) {
        self.with(|s| {
            s.secondary_next = Some(SecondaryNext {
                writes,
                status,
                retry_after,
            })
        })
    }

    /// A burst of more than `max_writes` writes within `within` is refused like GitHub's
    /// content-creation limit: the write that goes over answers `status` with
    /// `retry-after`, and every write answers so until `retry_after` has passed.
    pub fn secondary_limit_on_burst(
        &self,
        max_writes: usize,
        within: Duration,
        status: u16,
        retry_after: Duration,
    ) {
        self.with(|s| {
            s.burst = Some(Burst {
                max_writes,
                within,
                status,
                retry_after,
            });
            s.recent_writes.clear();
        })
    }

    /// The next `times` requests are handled at once but answered only after `delay` (a
    /// client that gives up earlier never learns that its write was applied).
    pub fn answer_late(&self, times: usize, delay: Duration) {
        self.with(|s| s.late.extend(std::iter::repeat_n(delay, times)))
    }

    /// Like [`FakeGitHub::answer_late`], for the next `times` requests whose body or path
    /// contains `text`.
    pub fn answer_late_matching(&self, text: &str, times: usize, delay: Duration) {
        self.with(|s| s.late_matching.push((text.to_string(), times, delay)))
    }

    /// The next `times` requests answer `status` (500, 502 or 503) and change nothing.
    pub fn fail_next(&self, status: u16, times: usize) {
        self.with(|s| s.failures.extend(std::iter::repeat_n(status, times)))
    }
}

fn router(state: Shared) -> Router {
    routes::router()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            gate::gate,
        ))
        .with_state(state)
}
