//! A fake Linear GraphQL API on a loopback port that behaves like Linear where Delegate will
//! depend on it. Every operation is validated against Linear's published schema (vendored in
//! `descriptions/linear.graphql`) and answered with Linear's error shapes; the part Delegate
//! needs is executed over the fake's state by walking the selection set (only the selected
//! fields, aliases, fragments, variables, `__typename`): the viewer, teams with their
//! workflow states, labels and projects, issues with filters and cursor pagination, comments,
//! and the writes `commentCreate` (a client-given UUID `id` makes a retry apply once),
//! `commentUpdate`, `commentDelete`, `issueUpdate` and `issueLabelCreate`. Anything else the
//! schema allows answers an error naming what the fake does not serve, never a silent null.
//!
//! It checks the personal key (`Authorization: <key>`, no "Bearer") or an OAuth token
//! (`Bearer <token>`), keeps Linear's rate limits (requests and complexity per hour, leaky
//! buckets, `X-RateLimit-*` headers, `RATELIMITED`; a query over the per-query complexity is
//! refused), records every request without the key, and can be told to have a bad day: to
//! fail (500 as JSON, 502/503/504 as a proxy's HTML page), to fail after carrying a write
//! out, to add latency, to answer slower than a client waits (the write applied), to make a
//! write visible only seconds after it was stamped (and so out of order), and to run its
//! clock off from the client's (`Date` header and every timestamp).

mod complexity;
mod error;
mod filter;
mod hooks;
mod limits;
mod objects;
mod resolve;
mod server;
mod store;
mod writes;

pub use limits::RateLimits;
pub use server::Recorded;
pub use store::DuplicateId;

use hooks::{FailRule, LagRule};
use limits::Bucket;
use server::{Fake, Shared, lock};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{Issue, Project, Store, Team, User, fmt_time};

/// An issue as the fake holds it (what reads see now; a lagged update is not in it yet).
#[derive(Debug, Clone, PartialEq)]
pub struct FakeIssue {
    pub id: String,
    pub identifier: String,
    pub team_key: String,
    pub title: String,
    pub description: Option<String>,
    pub priority: u8,
    /// The workflow state's name and type.
    pub state: String,
    pub state_type: String,
    /// Label names, in the order they were put on.
    pub labels: Vec<String>,
    pub project: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A comment as the fake stores it, with whether a reader sees it now.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeComment {
    pub id: String,
    pub issue_id: String,
    pub body: String,
    /// Who wrote it: the viewer (the API's user) or "person" (someone in the app).
    pub author: String,
    pub created_at: String,
    pub updated_at: String,
    pub deleted: bool,
    /// Stored but still lagged, or deleted: not visible.
    pub visible: bool,
}

/// A running fake server. Dropping it does not stop the server task; it ends with the runtime.
#[derive(Clone)]
pub struct FakeLinear {
    /// The GraphQL endpoint, `http://127.0.0.1:PORT/graphql`.
    pub url: String,
    state: Shared,
}

impl FakeLinear {
    /// Starts on 127.0.0.1 with a free port, accepting the personal API key `key`.
    pub async fn start(key: &str) -> Self {
        Self::start_on(key, 0).await
    }

    pub async fn start_on(key: &str, port: u16) -> Self {
        // Parsing Linear's schema takes a moment; not in the first request's time.
        let _ = tokio::task::spawn_blocking(|| {
            server::schema();
        })
        .await;
        let mut fake = Fake::new(key);
        let now = fake.store.now();
        let viewer = User {
            id: fake.store.uuid(),
            name: "Delegate Bot".into(),
            email: "delegate@example.com".into(),
            created_at: now,
        };
        let person = User {
            id: fake.store.uuid(),
            name: "Test Person".into(),
            email: "person@example.com".into(),
            created_at: now,
        };
        fake.store.viewer = Some(viewer);
        fake.store.person = Some(person);
        let state: Shared = Arc::new(Mutex::new(fake));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        lock(&state).store.base = format!("http://{addr}");
        let app = axum::Router::new()
            .route("/graphql", axum::routing::post(server::graphql))
            .route("/_fake/upload/{id}", axum::routing::put(server::put_upload))
            .route(
                "/_fake/assets/{id}/{name}",
                axum::routing::get(server::get_asset),
            )
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                hooks::pace,
            ))
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}/graphql"),
            state,
        }
    }

    /// The bytes uploaded for an asset address, once they arrived.
    pub fn asset(&self, asset_url: &str) -> Option<Vec<u8>> {
        let id = asset_url
            .split("/_fake/assets/")
            .nth(1)?
            .split('/')
            .next()?
            .to_string();
        self.store(|s| s.uploads.get(&id).and_then(|u| u.bytes.clone()))
    }

    /// How many files `fileUpload` prepared.
    pub fn uploads_prepared(&self) -> usize {
        self.store(|s| s.uploads.len())
    }

    fn with<T>(&self, f: impl FnOnce(&mut Fake) -> T) -> T {
        let mut fake = lock(&self.state);
        fake.store.apply_due();
        f(&mut fake)
    }

    fn store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        self.with(|fake| f(&mut fake.store))
    }

    /// Also accepts `Authorization: Bearer <token>` (an OAuth access token).
    pub fn accept_oauth_token(&self, token: &str) {
        self.with(|f| f.oauth.push(token.to_string()))
    }

    /// The API user's id (the author of every comment made through the API).
    pub fn viewer_id(&self) -> String {
        self.store(|s| s.viewer.as_ref().map(|u| u.id.clone()).unwrap_or_default())
    }

    /// A team with Linear's default workflow: Backlog (backlog), Todo (unstarted), In
    /// Progress and In Review (started), Done (completed), Canceled (canceled). Returns its id.
    pub fn add_team(&self, key: &str, name: &str) -> String {
        self.store(|s| {
            let id = s.uuid();
            let created_at = s.now();
            s.teams.push(Team {
                id: id.clone(),
                key: key.to_string(),
                name: name.to_string(),
                created_at,
            });
            for (state, kind, color) in store::DEFAULT_STATES {
                s.add_state(&id, state, kind, color);
            }
            id
        })
    }

    /// Another workflow state on a team (by id or key), e.g. ("Triage", "triage").
    pub fn add_state(&self, team: &str, name: &str, kind: &str) -> String {
        assert!(store::STATE_TYPES.contains(&kind), "no state type {kind}");
        self.store(|s| {
            let team = s
                .team(team)
                .unwrap_or_else(|| panic!("no team {team}"))
                .id
                .clone();
            s.add_state(&team, name, kind, "#95a2b3")
        })
    }

    /// A label on a team (by id or key), or a workspace label with `None`. Returns its id.
    pub fn add_label(&self, team: Option<&str>, name: &str) -> String {
        self.store(|s| {
            let team = team.map(|t| {
                s.team(t)
                    .unwrap_or_else(|| panic!("no team {t}"))
                    .id
                    .clone()
            });
            s.add_label(team.as_deref(), name)
        })
    }

    /// A project on these teams (ids or keys). Returns its id.
    pub fn add_project(&self, name: &str, teams: &[&str]) -> String {
        self.store(|s| {
            let team_ids = teams
                .iter()
                .map(|t| {
                    s.team(t)
                        .unwrap_or_else(|| panic!("no team {t}"))
                        .id
                        .clone()
                })
                .collect();
            let id = s.uuid();
            let now = s.now();
            s.projects.push(Project {
                id: id.clone(),
                name: name.to_string(),
                team_ids,
                created_at: now,
                updated_at: now,
            });
            id
        })
    }

    /// An issue on a team (by id or key) in the state named `state`, with the team's labels
    /// named `labels` (created on the team if missing). Returns its id.
    pub fn add_issue(
        &self,
        team: &str,
        title: &str,
        description: &str,
        labels: &[&str],
        state: &str,
    ) -> String {
        self.store(|s| {
            let team = s
                .team(team)
                .unwrap_or_else(|| panic!("no team {team}"))
                .clone();
            let state_id = state_id(s, &team.id, state);
            let label_ids = labels.iter().map(|l| label_id(s, &team.id, l)).collect();
            let number = s.issues.iter().filter(|i| i.team_id == team.id).count() as u32 + 1;
            let id = s.uuid();
            let now = s.now();
            s.issues.push(Issue {
                id: id.clone(),
                team_id: team.id,
                number,
                title: title.to_string(),
                description: (!description.is_empty()).then(|| description.to_string()),
                priority: 0,
                state_id,
                label_ids,
                project_id: None,
                due_date: None,
                created_at: now,
                updated_at: now,
            });
            id
        })
    }

    /// Changes an issue as a person would in the app: priority (0–4), due date, project.
    pub fn set_issue_details(
        &self,
        id: &str,
        priority: u8,
        due_date: Option<&str>,
        project: Option<&str>,
    ) {
        self.edit_issue(id, |_, i| {
            i.priority = priority;
            i.due_date = due_date.map(String::from);
            i.project_id = project.map(String::from);
        })
    }

    /// Moves an issue to the state named `state`, as a person would.
    pub fn set_state(&self, id: &str, state: &str) {
        self.edit_issue(id, |s, i| i.state_id = state_id(s, &i.team_id, state))
    }

    /// Replaces an issue's labels by these names, as a person would.
    pub fn set_labels(&self, id: &str, labels: &[&str]) {
        self.edit_issue(id, |s, i| {
            i.label_ids = labels.iter().map(|l| label_id(s, &i.team_id, l)).collect()
        })
    }

    fn edit_issue(&self, id: &str, f: impl FnOnce(&mut Store, &mut Issue)) {
        self.store(|s| {
            let i = s.issue_index(id).unwrap_or_else(|| panic!("no issue {id}"));
            let mut issue = s.issues[i].clone();
            f(s, &mut issue);
            issue.updated_at = s.now();
            s.issues[i] = issue;
        })
    }

    /// Adds a comment as a person would in the app. Returns its id.
    pub fn add_comment(&self, issue: &str, body: &str) -> String {
        self.store(|s| {
            let i = s
                .issue_index(issue)
                .unwrap_or_else(|| panic!("no issue {issue}"));
            let issue_id = s.issues[i].id.clone();
            let user = s.person.as_ref().map(|u| u.id.clone()).unwrap_or_default();
            let id = s.uuid();
            s.push_comment(&issue_id, body, &user, id, Instant::now())
                .id
        })
    }

    /// A comment from the person with a file, as the app makes it: the file uploaded, the
    /// comment's Markdown linking its asset address under `link_text`.
    pub fn add_comment_with_file(
        &self,
        issue: &str,
        text: &str,
        link_text: &str,
        bytes: &[u8],
    ) -> String {
        let url = self.store(|s| {
            let id = s.uuid();
            s.uploads.insert(
                id.clone(),
                store::FakeUpload {
                    filename: "file".into(),
                    content_type: "application/octet-stream".into(),
                    size: bytes.len() as u64,
                    signature: String::new(),
                    bytes: Some(bytes.to_vec()),
                },
            );
            format!("{}/_fake/assets/{id}/file", s.base)
        });
        self.add_comment(issue, &format!("{text}\n\n[{link_text}]({url})"))
    }

    /// The issue (by id or identifier) as reads see it now.
    pub fn issue(&self, id: &str) -> FakeIssue {
        self.store(|s| {
            let i = s.issue_index(id).unwrap_or_else(|| panic!("no issue {id}"));
            let issue = &s.issues[i];
            let state = s.state(&issue.state_id);
            FakeIssue {
                id: issue.id.clone(),
                identifier: s.identifier(issue),
                team_key: s
                    .team(&issue.team_id)
                    .map(|t| t.key.clone())
                    .unwrap_or_default(),
                title: issue.title.clone(),
                description: issue.description.clone(),
                priority: issue.priority,
                state: state.map(|w| w.name.clone()).unwrap_or_default(),
                state_type: state.map(|w| w.kind.clone()).unwrap_or_default(),
                labels: issue
                    .label_ids
                    .iter()
                    .filter_map(|l| s.label(l))
                    .map(|l| l.name.clone())
                    .collect(),
                project: issue
                    .project_id
                    .as_deref()
                    .and_then(|p| s.project(p))
                    .map(|p| p.name.clone()),
                created_at: fmt_time(&issue.created_at),
                updated_at: fmt_time(&issue.updated_at),
            }
        })
    }

    /// Every comment stored on the issue, oldest first: lagged ones (not visible yet) and
    /// deleted ones included, each marked.
    pub fn comments(&self, issue: &str) -> Vec<FakeComment> {
        self.store(|s| {
            let Some(i) = s.issue_index(issue) else {
                return Vec::new();
            };
            let issue_id = s.issues[i].id.clone();
            let viewer = s.viewer.as_ref().map(|u| u.id.clone()).unwrap_or_default();
            let mut list: Vec<FakeComment> = s
                .comments
                .iter()
                .filter(|c| c.issue_id == issue_id)
                .map(|c| FakeComment {
                    id: c.id.clone(),
                    issue_id: c.issue_id.clone(),
                    body: c.body.clone(),
                    author: if c.user_id == viewer {
                        "viewer"
                    } else {
                        "person"
                    }
                    .into(),
                    created_at: fmt_time(&c.created_at),
                    updated_at: fmt_time(&c.updated_at),
                    deleted: c.deleted,
                    visible: s.visible_comment(c),
                })
                .collect();
            list.sort_by(|a, b| a.created_at.cmp(&b.created_at));
            list
        })
    }

    /// The bodies of the comments a reader sees now, oldest first.
    pub fn visible_comments(&self, issue: &str) -> Vec<String> {
        self.comments(issue)
            .into_iter()
            .filter(|c| c.visible)
            .map(|c| c.body)
            .collect()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.with(|f| f.requests.clone())
    }

    pub fn clear_requests(&self) {
        self.with(|f| f.requests.clear())
    }

    /// Every request waits this long (half before it is handled, half after).
    pub fn set_latency(&self, latency: Duration) {
        self.with(|f| f.hooks.latency = latency)
    }

    /// The next `times` requests are carried out at once but answered only after `delay`, as
    /// a slow Linear does (a client that gives up earlier never sees the answer).
    pub fn answer_slowly(&self, times: usize, delay: Duration) {
        self.with(|f| f.hooks.slow.extend(std::iter::repeat_n(delay, times)))
    }

    /// The next `times` requests whose body contains `text` are carried out at once but
    /// answered only after `delay`.
    pub fn answer_slowly_matching(&self, text: &str, times: usize, delay: Duration) {
        self.with(|f| f.hooks.slow_matching.push((text.to_string(), times, delay)))
    }

    /// The next `times` requests answer `status` and change nothing (500 with Linear's JSON
    /// error, 502/503/504 with a proxy's HTML page).
    pub fn fail_next(&self, status: u16, times: usize) {
        self.with(|f| f.hooks.failures.extend(std::iter::repeat_n(status, times)))
    }

    /// The next `times` requests whose body contains `text` answer `status` and change
    /// nothing.
    pub fn fail_matching(&self, text: &str, times: usize, status: u16) {
        self.fail_rule(text, times, status, false)
    }

    /// The next `times` requests whose body contains `text` are carried out, then answer
    /// `status` all the same (the write happened; the client is told it failed).
    pub fn fail_matching_after_applying(&self, text: &str, times: usize, status: u16) {
        self.fail_rule(text, times, status, true)
    }

    fn fail_rule(&self, text: &str, times: usize, status: u16, after: bool) {
        self.with(|f| {
            f.hooks.fail_matching.push(FailRule {
                text: text.to_string(),
                left: times,
                status,
                after,
            })
        })
    }

    /// Makes every `every`-th mutation whose body contains `text` visible only `delay`
    /// after it arrived: the server answers at once (with the comment or issue as the write
    /// made it), stamps it with the arrival time, and meanwhile answers every other request
    /// without it. Writes so delayed can become visible after later ones.
    pub fn set_commit_lag(&self, text: &str, every: usize, delay: Duration) {
        self.with(|f| {
            f.hooks.lag = Some(LagRule {
                text: text.to_string(),
                every: every.max(1),
                delay,
                seen: 0,
            })
        })
    }

    /// Writes made visible late so far.
    pub fn lagged_writes(&self) -> u64 {
        self.store(|s| s.lagged_total)
    }

    /// Runs the server's clock `ms` milliseconds off the real one (its `Date` header and
    /// every time it stamps).
    pub fn set_clock_skew_ms(&self, ms: i64) {
        self.store(|s| s.skew_ms = ms)
    }

    /// New rate limits, with every key's budget full again.
    pub fn set_rate_limits(&self, limits: RateLimits) {
        self.with(|f| {
            f.limits = limits;
            f.buckets.clear();
        })
    }

    /// The rate limits in force.
    pub fn rate_limits(&self) -> RateLimits {
        self.with(|f| f.limits)
    }

    /// What a `commentCreate` with an `id` already taken answers.
    pub fn set_duplicate_comment_id(&self, answer: DuplicateId) {
        self.with(|f| f.hooks.duplicate = answer)
    }

    /// Empties every key's budget now (the next request is `RATELIMITED`).
    pub fn exhaust_rate_limit(&self) {
        self.with(|f| {
            for b in f.buckets.values_mut() {
                *b = Bucket::empty();
            }
            let key = f.key.clone();
            f.buckets.insert(key, Bucket::empty());
        })
    }
}

fn state_id(s: &Store, team_id: &str, name: &str) -> String {
    s.states
        .iter()
        .find(|w| w.team_id == team_id && w.name.eq_ignore_ascii_case(name))
        .unwrap_or_else(|| panic!("no state {name} on team {team_id}"))
        .id
        .clone()
}

/// The id of the label named `name` usable on the team, created on the team if missing.
fn label_id(s: &mut Store, team_id: &str, name: &str) -> String {
    let found = s.labels.iter().find(|l| {
        l.name.eq_ignore_ascii_case(name) && l.team_id.as_deref().is_none_or(|t| t == team_id)
    });
    match found {
        Some(l) => l.id.clone(),
        None => s.add_label(Some(team_id), name),
    }
}
