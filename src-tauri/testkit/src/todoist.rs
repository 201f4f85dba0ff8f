//! A fake Todoist API v1 on a loopback port that behaves like Todoist where Delegate depends
//! on it: projects, tasks with cursor pagination, task update and close (recurring tasks move
//! to their next date and keep labels and comments), comments, and `/sync` with `items`,
//! `notes` and `projects`, incremental tokens, and `commands` that are executed once per uuid
//! (a replayed uuid answers as before and changes nothing), with `temp_id` mapping. It keeps
//! state, checks the bearer token, records every request (without the token), and can be told
//! to fail, to add latency, to answer slower than a client waits, to make a write visible
//! only seconds after it stamped it (as a busy server or a replica can: the write's comments
//! carry the time it arrived, but other clients see them later, out of `posted_at` order),
//! and to run its clock off from the client's (`Date` header and every timestamp). Files:
//! `POST /uploads` (multipart `file`, at most [`UPLOAD_LIMIT`]) answers the file's
//! `file_attachment`, served back only with the token; a `note_add` may carry one.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Shared = Arc<Mutex<FakeState>>;

/// The largest upload the fake takes (Todoist's own limit depends on the plan).
pub const UPLOAD_LIMIT: usize = 5 * 1024 * 1024;

/// An uploaded file.
#[derive(Debug, Clone)]
pub struct Upload {
    pub name: String,
    pub mime: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FakeTask {
    pub id: String,
    pub project_id: String,
    pub content: String,
    pub description: String,
    pub labels: Vec<String>,
    pub priority: u8,
    pub due: Option<Value>,
    pub child_order: i64,
    pub checked: bool,
    pub is_deleted: bool,
    pub added_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    #[serde(skip)]
    seq: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FakeComment {
    pub id: String,
    pub item_id: String,
    pub content: String,
    pub posted_at: String,
    pub posted_uid: String,
    pub is_deleted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_attachment: Option<Value>,
    #[serde(skip)]
    seq: u64,
}

/// One request as the server saw it. The token itself is never stored.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
    pub authorized: bool,
    /// When it arrived, on the server's clock (RFC 3339).
    pub at: String,
}

impl Recorded {
    /// The `/sync` commands this request carried (empty for reads and other endpoints).
    pub fn commands(&self) -> Vec<Value> {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| v.get("commands").and_then(Value::as_array).cloned())
            .unwrap_or_default()
    }

    /// The types of the commands, e.g. `["item_update", "note_add"]`.
    pub fn command_types(&self) -> Vec<String> {
        self.commands()
            .iter()
            .filter_map(|c| c.get("type").and_then(Value::as_str).map(String::from))
            .collect()
    }
}

#[derive(Default)]
struct FakeState {
    token: String,
    projects: Vec<(String, String, u64)>,
    tasks: Vec<FakeTask>,
    comments: Vec<FakeComment>,
    requests: Vec<Recorded>,
    seq: u64,
    next_id: u64,
    failures: VecDeque<(u16, Value)>,
    /// uuid → (sync_status entry, temp id mapping) of every command executed.
    executed: HashMap<String, (Value, Option<(String, String)>)>,
    executed_commands: u64,
    replayed: u64,
    latency: Duration,
    /// Delays applied after the next requests are handled (one per request).
    slow: VecDeque<Duration>,
    /// (text, times left, status): requests whose body contains the text fail.
    fail_matching: Vec<(String, usize, u16)>,
    /// (text, times left, delay): requests whose body contains the text are handled, then
    /// answered late.
    slow_matching: Vec<(String, usize, Duration)>,
    /// Writes whose body contains `text`: every `every`-th one becomes visible `delay` after
    /// it was stamped.
    lag: Option<LagRule>,
    /// Accepted writes not visible yet, oldest first.
    lagged: Vec<Lagged>,
    /// Writes made visible late so far.
    lagged_total: u64,
    /// The server's clock minus the real one, in milliseconds.
    skew_ms: i64,
    /// Uploaded files by their id in the address.
    uploads: HashMap<String, Upload>,
}

struct LagRule {
    text: String,
    every: usize,
    delay: Duration,
    seen: usize,
}

/// An accepted write, applied when its time comes: its comments keep the id and the
/// `posted_at` they got when the write arrived.
struct Lagged {
    at: std::time::Instant,
    commands: Vec<Value>,
    /// Ids and stamps given at arrival, by temp id.
    stamped: HashMap<String, (String, String)>,
}

/// Takes one use of the first rule whose text is in `body`.
fn take_rule<T: Copy>(rules: &mut [(String, usize, T)], body: &str) -> Option<T> {
    let rule = rules
        .iter_mut()
        .find(|(text, left, _)| *left > 0 && body.contains(text.as_str()))?;
    rule.1 -= 1;
    Some(rule.2)
}

impl FakeState {
    /// The server's time, as it stamps it.
    fn now(&self) -> String {
        (chrono::Utc::now() + chrono::Duration::milliseconds(self.skew_ms))
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    }

    /// Applies the lagged writes whose time has come (they get fresh change numbers, so
    /// incremental syncs see them only now).
    fn apply_due(&mut self) {
        let now = std::time::Instant::now();
        while self.lagged.first().is_some_and(|l| l.at <= now) {
            let l = self.lagged.remove(0);
            let mut mapping = HashMap::new();
            for cmd in &l.commands {
                let temp = cmd.get("temp_id").and_then(Value::as_str);
                let stamp = temp.and_then(|t| l.stamped.get(t)).cloned();
                if let Ok(Some((t, id))) = execute(self, cmd, &mapping, stamp) {
                    mapping.insert(t, id);
                }
            }
        }
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        // Opaque, never numeric, like v1 ids.
        format!("{prefix}{:06}X{}", self.next_id, self.next_id * 7919 % 1000)
    }
    fn bump(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
    fn task_mut(&mut self, id: &str) -> Option<&mut FakeTask> {
        self.tasks.iter_mut().find(|t| t.id == id && !t.is_deleted)
    }
    fn push_comment(&mut self, task_id: &str, content: &str) -> String {
        let id = self.id("C");
        let at = self.now();
        self.push_comment_as(task_id, content, id, at)
    }

    fn push_comment_as(&mut self, task_id: &str, content: &str, id: String, at: String) -> String {
        let seq = self.bump();
        self.comments.push(FakeComment {
            id: id.clone(),
            item_id: task_id.to_string(),
            content: content.to_string(),
            posted_at: at,
            posted_uid: "2671355".into(),
            is_deleted: false,
            file_attachment: None,
            seq,
        });
        id
    }
}

/// A running fake server. Dropping it does not stop the server task; it ends with the runtime.
#[derive(Clone)]
pub struct FakeTodoist {
    /// Base URL including `/api/v1`.
    pub url: String,
    state: Shared,
}

impl FakeTodoist {
    /// Starts on 127.0.0.1 with a free port, accepting `token`.
    pub async fn start(token: &str) -> Self {
        Self::start_on(token, 0).await
    }

    pub async fn start_on(token: &str, port: u16) -> Self {
        let state: Shared = Arc::new(Mutex::new(FakeState {
            token: token.to_string(),
            ..FakeState::default()
        }));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let app = router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}/api/v1"),
            state,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.apply_due();
        f(&mut s)
    }

    /// Makes every `every`-th write whose body contains `text` visible only `delay` after
    /// it arrived: the server answers at once (with the ids it gave), stamps the comments
    /// with the arrival time, and meanwhile answers every other request without them.
    pub fn set_commit_lag(&self, text: &str, every: usize, delay: Duration) {
        self.with(|s| {
            s.lag = Some(LagRule {
                text: text.to_string(),
                every: every.max(1),
                delay,
                seen: 0,
            })
        })
    }

    /// Writes made visible late so far.
    pub fn lagged_writes(&self) -> u64 {
        self.with(|s| s.lagged_total)
    }

    /// Runs the server's clock `ms` milliseconds off the real one (its `Date` header and
    /// every time it stamps).
    pub fn set_clock_skew_ms(&self, ms: i64) {
        self.with(|s| s.skew_ms = ms)
    }

    pub fn add_project(&self, name: &str) -> String {
        self.with(|s| {
            let id = s.id("P");
            let seq = s.bump();
            s.projects.push((id.clone(), name.to_string(), seq));
            id
        })
    }

    pub fn add_task(&self, project_id: &str, content: &str, description: &str) -> String {
        self.add_task_with(project_id, content, description, 1, None, &[])
    }

    pub fn add_task_with(
        &self,
        project_id: &str,
        content: &str,
        description: &str,
        priority: u8,
        due: Option<&str>,
        labels: &[&str],
    ) -> String {
        self.with(|s| {
            let id = s.id("T");
            let seq = s.bump();
            let order = s.tasks.iter().filter(|t| t.project_id == project_id).count() as i64;
            let t = s.now();
            s.tasks.push(FakeTask {
                id: id.clone(),
                project_id: project_id.to_string(),
                content: content.to_string(),
                description: description.to_string(),
                labels: labels.iter().map(|l| l.to_string()).collect(),
                priority,
                due: due.map(|d| json!({"date": d, "string": d, "lang": "en", "is_recurring": false, "timezone": null})),
                child_order: order,
                checked: false,
                is_deleted: false,
                added_at: t.clone(),
                updated_at: t,
                completed_at: None,
                seq,
            });
            id
        })
    }

    /// A recurring task due on `date` ("YYYY-MM-DD" or with a time), repeating as `every`
    /// says ("every day", "every 2 days", "every week").
    pub fn add_recurring_task(
        &self,
        project_id: &str,
        content: &str,
        date: &str,
        every: &str,
    ) -> String {
        let id = self.add_task(project_id, content, "");
        self.with(|s| {
            if let Some(t) = s.task_mut(&id) {
                t.due = Some(json!({"date": date, "string": every, "lang": "en", "is_recurring": true, "timezone": null}));
            }
        });
        id
    }

    /// Completes a task as a person would in the Todoist app.
    pub fn complete_task(&self, id: &str) {
        self.with(|s| {
            let seq = s.bump();
            let at = s.now();
            if let Some(t) = s.task_mut(id) {
                close(t, seq, &at);
            }
        })
    }

    /// Moves a task's due date, as a person would.
    pub fn set_due(&self, id: &str, date: &str) {
        self.with(|s| {
            let seq = s.bump();
            if let Some(t) = s.task_mut(id) {
                match t.due.as_mut() {
                    Some(d) => d["date"] = json!(date),
                    None => t.due = Some(json!({"date": date, "string": date, "lang": "en", "is_recurring": false, "timezone": null})),
                }
                t.seq = seq;
            }
        })
    }

    pub fn task(&self, id: &str) -> FakeTask {
        self.with(|s| s.tasks.iter().find(|t| t.id == id).cloned())
            .unwrap_or_else(|| panic!("no task {id}"))
    }

    /// Changes labels as a person would in the Todoist app.
    pub fn set_labels(&self, id: &str, labels: &[&str]) {
        self.with(|s| {
            let seq = s.bump();
            let at = s.now();
            if let Some(t) = s.task_mut(id) {
                t.labels = labels.iter().map(|l| l.to_string()).collect();
                t.updated_at = at;
                t.seq = seq;
            }
        })
    }

    /// Moves a task's `updated_at` into the past (to make a claim look stale).
    pub fn age_task(&self, id: &str, seconds: i64) {
        self.with(|s| {
            let seq = s.bump();
            if let Some(t) = s.task_mut(id) {
                let at = chrono::Utc::now() - chrono::Duration::seconds(seconds);
                t.updated_at = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                t.seq = seq;
            }
        })
    }

    /// Adds a comment as a person would.
    pub fn add_comment(&self, task_id: &str, content: &str) {
        self.with(|s| {
            s.push_comment(task_id, content);
        })
    }

    /// A comment from the person with a file attached, as the app makes it: the file is
    /// uploaded, the comment carries its `file_attachment`, whose declared `file_size` may be
    /// anything (`declared`, else the real size).
    pub fn add_comment_with_file(
        &self,
        task_id: &str,
        content: &str,
        name: &str,
        bytes: &[u8],
        declared: Option<u64>,
    ) {
        let base = self.url.trim_end_matches("/api/v1").to_string();
        self.with(|s| {
            let id = s.id("F");
            s.uploads.insert(
                id.clone(),
                Upload {
                    name: name.to_string(),
                    mime: "application/octet-stream".into(),
                    bytes: bytes.to_vec(),
                },
            );
            let note = s.push_comment(task_id, content);
            let attachment = json!({
                "resource_type": "file",
                "file_name": name,
                "file_size": declared.unwrap_or(bytes.len() as u64),
                "file_type": "application/octet-stream",
                "file_url": format!("{base}/_fake/files/{id}/{}", urlencode(name)),
                "upload_state": "completed",
            });
            let seq = s.bump();
            if let Some(c) = s.comments.iter_mut().find(|c| c.id == note) {
                c.file_attachment = Some(attachment);
                c.seq = seq;
            }
        })
    }

    /// The file an address of this server serves, if it was uploaded.
    pub fn uploaded(&self, file_url: &str) -> Option<Upload> {
        let id = file_url
            .split("/_fake/files/")
            .nth(1)?
            .split('/')
            .next()?
            .to_string();
        self.with(|s| s.uploads.get(&id).cloned())
    }

    /// Every upload so far.
    pub fn uploads(&self) -> Vec<Upload> {
        self.with(|s| s.uploads.values().cloned().collect())
    }

    /// The task's comments as Todoist shows them (deleted ones are gone).
    pub fn comments(&self, task_id: &str) -> Vec<String> {
        self.with(|s| {
            s.comments
                .iter()
                .filter(|c| c.item_id == task_id && !c.is_deleted)
                .map(|c| c.content.clone())
                .collect()
        })
    }

    /// Every comment ever added to the task, deleted ones included.
    pub fn all_comments(&self, task_id: &str) -> Vec<FakeComment> {
        self.with(|s| {
            s.comments
                .iter()
                .filter(|c| c.item_id == task_id)
                .cloned()
                .collect()
        })
    }

    /// Moves the `posted_at` of every comment on a task into the past (an old claim).
    pub fn age_comments(&self, task_id: &str, seconds: i64) {
        self.with(|s| {
            let seq = s.bump();
            for c in s.comments.iter_mut().filter(|c| c.item_id == task_id) {
                let at = chrono::DateTime::parse_from_rfc3339(&c.posted_at)
                    .map(|d| d.with_timezone(&chrono::Utc))
                    .unwrap_or_else(|_| chrono::Utc::now())
                    - chrono::Duration::seconds(seconds);
                c.posted_at = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                c.seq = seq;
            }
        })
    }

    /// Sync commands executed so far, and uuids that came again and were not re-executed.
    pub fn command_counts(&self) -> (u64, u64) {
        self.with(|s| (s.executed_commands, s.replayed))
    }

    /// Every request waits this long (half before it is handled, half after).
    pub fn set_latency(&self, latency: Duration) {
        self.with(|s| s.latency = latency)
    }

    /// The next `times` requests are handled at once but answered only after `delay`, as
    /// a slow Todoist does (a client that gives up earlier never sees the answer).
    pub fn answer_slowly(&self, times: usize, delay: Duration) {
        self.with(|s| s.slow.extend(std::iter::repeat_n(delay, times)))
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.with(|s| s.requests.clone())
    }

    pub fn clear_requests(&self) {
        self.with(|s| s.requests.clear())
    }

    /// The next `times` API requests answer `status` (429 carries `retry_after: 0`).
    pub fn fail_next(&self, status: u16, times: usize) {
        self.fail_next_with(status, times, json!(0))
    }

    /// The next `times` requests whose body contains `text` answer `status` (and change
    /// nothing).
    pub fn fail_matching(&self, text: &str, times: usize, status: u16) {
        self.with(|s| s.fail_matching.push((text.to_string(), times, status)))
    }

    /// The next `times` requests whose body contains `text` are handled at once but answered
    /// only after `delay`.
    pub fn answer_slowly_matching(&self, text: &str, times: usize, delay: Duration) {
        self.with(|s| s.slow_matching.push((text.to_string(), times, delay)))
    }

    /// Like [`FakeTodoist::fail_next`], with this `error_extra.retry_after` (any JSON, so
    /// hostile values can be sent too) on every failure.
    pub fn fail_next_with(&self, status: u16, times: usize, retry_after: Value) {
        self.with(|s| {
            s.failures
                .extend(std::iter::repeat_n((status, retry_after), times))
        })
    }
}

/// Latency and slow answers around every request.
async fn pace(
    State(st): State<Shared>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let (latency, slow) = {
        let mut s = st.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let matched = take_rule(&mut s.slow_matching, &text);
        (s.latency, matched.or_else(|| s.slow.pop_front()))
    };
    let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    tokio::time::sleep(latency / 2).await;
    let mut response = next.run(req).await;
    tokio::time::sleep(latency / 2 + slow.unwrap_or_default()).await;
    // The server's own clock, as HTTP says it (whole seconds).
    let skew = st.lock().unwrap_or_else(|e| e.into_inner()).skew_ms;
    let date = (chrono::Utc::now() + chrono::Duration::milliseconds(skew))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    if let Ok(v) = axum::http::HeaderValue::from_str(&date) {
        response.headers_mut().insert(axum::http::header::DATE, v);
    }
    response
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/v1/projects", get(list_projects).post(create_project))
        .route("/api/v1/tasks", get(list_tasks).post(create_task))
        .route("/api/v1/tasks/{id}", get(get_task).post(update_task))
        .route("/api/v1/tasks/{id}/close", post(close_task))
        .route("/api/v1/comments", get(list_comments).post(create_comment))
        .route("/api/v1/sync", post(sync))
        .route(
            "/api/v1/uploads",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT * 2)),
        )
        .route("/_fake/files/{id}/{name}", get(download))
        .route("/_fake/state", get(dump_state))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), pace))
        .with_state(state)
}

fn error(status: StatusCode, tag: &str, message: &str) -> Response {
    error_with(status, tag, message, None)
}

fn error_with(
    status: StatusCode,
    tag: &str,
    message: &str,
    retry_after: Option<Value>,
) -> Response {
    let mut extra = json!({"event_id": "fake"});
    if let Some(r) = retry_after {
        extra["retry_after"] = r;
    }
    (
        status,
        axum::Json(json!({
            "error": message, "error_code": 0, "error_extra": extra,
            "error_tag": tag, "http_code": status.as_u16()
        })),
    )
        .into_response()
}

/// Records the request, then checks injected failures and the token; `Some` is the refusal.
fn reject(
    state: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    s.apply_due();
    let expected = format!("Bearer {}", s.token);
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    let at = s.now();
    s.requests.push(Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        body: String::from_utf8_lossy(body).into_owned(),
        authorized,
        at,
    });
    let text = String::from_utf8_lossy(body).into_owned();
    let matched = take_rule(&mut s.fail_matching, &text).map(|status| (status, json!(0)));
    if let Some((code, retry_after)) = matched.or_else(|| s.failures.pop_front()) {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (tag, retry_after) = if status == StatusCode::TOO_MANY_REQUESTS {
            ("LIMITS_REACHED", Some(retry_after))
        } else {
            ("FAKE_FAILURE", None)
        };
        return Some(error_with(status, tag, "Injected failure", retry_after));
    }
    if !authorized {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "AUTH_INVALID_TOKEN",
            "Invalid token",
        ));
    }
    None
}

/// Cursor pagination with the real limits (default 50, max 200).
fn page<T: Serialize>(items: Vec<T>, q: &HashMap<String, String>) -> Response {
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 50,
        Some(Ok(l)) if (1..=200).contains(&l) => l,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT_VALUE",
                "Invalid argument value",
            );
        }
    };
    let start = match q.get("cursor") {
        None => 0,
        Some(c) => match c.strip_prefix("cur_").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_ARGUMENT_VALUE",
                    "Invalid cursor",
                );
            }
        },
    };
    let end = (start + limit).min(items.len());
    let next = (end < items.len()).then(|| format!("cur_{end}"));
    let results: Vec<&T> = items.iter().skip(start).take(limit).collect();
    axum::Json(json!({ "results": results, "next_cursor": next })).into_response()
}

fn project_json(p: &(String, String, u64)) -> Value {
    json!({"id": p.0, "name": p.1, "is_deleted": false, "is_archived": false, "color": "charcoal",
           "child_order": 0, "is_favorite": false, "view_style": "list"})
}

async fn list_projects(
    State(st): State<Shared>,
    m: Method,
    u: Uri,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = reject(&st, &m, &u, &h, b"") {
        return r;
    }
    let items: Vec<Value> = st
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .projects
        .iter()
        .map(project_json)
        .collect();
    page(items, &q)
}

async fn create_project(
    State(st): State<Shared>,
    m: Method,
    u: Uri,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = reject(&st, &m, &u, &h, &body) {
        return r;
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    let Some(name) = v.get("name").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "ARGUMENT_MISSING",
            "Required argument is missing: name",
        );
    };
    let fake = FakeTodoist {
        url: String::new(),
        state: st,
    };
    let id = fake.add_project(name);
    axum::Json(json!({"id": id, "name": name})).into_response()
}

async fn list_tasks(
    State(st): State<Shared>,
    m: Method,
    u: Uri,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = reject(&st, &m, &u, &h, b"") {
        return r;
    }
    let tasks: Vec<FakeTask> = st
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .tasks
        .iter()
        .filter(|t| !t.checked && !t.is_deleted)
        .filter(|t| q.get("project_id").is_none_or(|p| *p == t.project_id))
        .cloned()
        .collect();
    page(tasks, &q)
}

async fn create_task(
    State(st): State<Shared>,
    m: Method,
    u: Uri,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = reject(&st, &m, &u, &h, &body) {
        return r;
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    if s("content").is_empty() || s("project_id").is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "ARGUMENT_MISSING",
            "content and project_id are required",
        );
    }
    let fake = FakeTodoist {
        url: String::new(),
        state: st,
    };
    let priority = v.get("priority").and_then(Value::as_u64).unwrap_or(1) as u8;
    let id = fake.add_task_with(
        &s("project_id"),
        &s("content"),
        &s("description"),
        priority,
        None,
        &[],
    );
    axum::Json(fake.task(&id)).into_response()
}

async fn get_task(
    State(st): State<Shared>,
    m: Method,
    u: Uri,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = reject(&st, &m, &u, &h, b"") {
        return r;
    }
    let s = st.lock().unwrap_or_else(|e| e.into_inner());
    match s.tasks.iter().find(|t| t.id == id && !t.is_deleted) {
        Some(t) => axum::Json(t.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "NOT_FOUND", "Task not found"),
    }
}

async fn update_task(
    State(st): State<Shared>,
    m: Method,
    u: Uri,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(r) = reject(&st, &m, &u, &h, &body) {
        return r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_JSON", "Invalid JSON body");
    };
    let mut s = st.lock().unwrap_or_else(|e| e.into_inner());
    let seq = s.bump();
    let at = s.now();
    let Some(t) = s.task_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "Task not found");
    };
    if !update(t, &v, seq, &at) {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT_VALUE",
            "labels must be a list of names",
        );
    }
    axum::Json(t.clone()).into_response()
}

async fn close_task(
    State(st): State<Shared>,
    m: Method,
    u: Uri,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = reject(&st, &m, &u, &h, b"") {
        return r;
    }
    let mut s = st.lock().unwrap_or_else(|e| e.into_inner());
    let seq = s.bump();
    let at = s.now();
    match s.task_mut(&id) {
        Some(t) => {
            close(t, seq, &at);
            StatusCode::NO_CONTENT.into_response()
        }
        None => error(StatusCode::NOT_FOUND, "NOT_FOUND", "Task not found"),
    }
}

async fn list_comments(
    State(st): State<Shared>,
    m: Method,
    u: Uri,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = reject(&st, &m, &u, &h, b"") {
        return r;
    }
    let Some(task_id) = q.get("task_id") else {
        return error(
            StatusCode::BAD_REQUEST,
            "ARGUMENT_MISSING",
            "task_id or project_id is required",
        );
    };
    let items: Vec<FakeComment> = st
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .comments
        .iter()
        .filter(|c| c.item_id == *task_id && !c.is_deleted)
        .cloned()
        .collect();
    page(items, &q)
}

async fn create_comment(
    State(st): State<Shared>,
    m: Method,
    u: Uri,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = reject(&st, &m, &u, &h, &body) {
        return r;
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    let task_id = v
        .get("task_id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let content = v
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if content.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "ARGUMENT_MISSING",
            "Required argument is missing: content",
        );
    }
    if content.chars().count() > 15000 {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT_VALUE",
            "content is too long",
        );
    }
    let mut s = st.lock().unwrap_or_else(|e| e.into_inner());
    if s.task_mut(&task_id).is_none() {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "Task not found");
    }
    let id = s.push_comment(&task_id, &content);
    let c = s.comments.iter().find(|c| c.id == id).cloned();
    axum::Json(c).into_response()
}

/// What a `/sync` request asked for.
struct SyncRequest {
    token: String,
    resources: Vec<String>,
    commands: Vec<Value>,
}

fn parse_sync(h: &HeaderMap, body: &[u8]) -> SyncRequest {
    let form = h
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let v: Value = if form {
        let pairs: HashMap<String, String> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        let field = |k: &str| {
            pairs
                .get(k)
                .and_then(|r| serde_json::from_str::<Value>(r).ok())
                .unwrap_or(Value::Null)
        };
        json!({
            "sync_token": pairs.get("sync_token").cloned().unwrap_or_default(),
            "resource_types": field("resource_types"),
            "commands": field("commands"),
        })
    } else {
        serde_json::from_slice(body).unwrap_or_default()
    };
    let strings = |k: &str| -> Vec<String> {
        v.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    SyncRequest {
        token: v
            .get("sync_token")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        resources: strings("resource_types"),
        commands: v
            .get("commands")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    }
}

fn command_error(tag: &str, code: u32, http: u16, message: &str) -> Value {
    json!({"error": message, "error_code": code, "error_tag": tag, "http_code": http, "error_extra": {}})
}

/// Runs one command; `Ok` may carry a (temp id, real id) pair. `stamp` is the id and time a
/// lagged comment got when its write arrived.
fn execute(
    s: &mut FakeState,
    cmd: &Value,
    mapping: &HashMap<String, String>,
    stamp: Option<(String, String)>,
) -> Result<Option<(String, String)>, Value> {
    let kind = cmd.get("type").and_then(Value::as_str).unwrap_or("");
    let args = cmd.get("args").cloned().unwrap_or(Value::Null);
    let arg = |k: &str| -> Option<String> {
        let v = args.get(k)?.as_str()?.to_string();
        Some(mapping.get(&v).cloned().unwrap_or(v))
    };
    let item_missing = || command_error("ITEM_NOT_FOUND", 22, 404, "Item not found");
    let note_missing = || command_error("NOTE_NOT_FOUND", 23, 404, "Note not found");
    match kind {
        "item_update" => {
            let id = arg("id").ok_or_else(item_missing)?;
            let seq = s.bump();
            let at = s.now();
            let t = s.task_mut(&id).ok_or_else(item_missing)?;
            if !update(t, &args, seq, &at) {
                return Err(command_error(
                    "INVALID_ARGUMENT_VALUE",
                    20,
                    400,
                    "Invalid argument value",
                ));
            }
            Ok(None)
        }
        "item_close" | "item_complete" => {
            let id = arg("id").ok_or_else(item_missing)?;
            let seq = s.bump();
            let at = s.now();
            let t = s.task_mut(&id).ok_or_else(item_missing)?;
            close(t, seq, &at);
            Ok(None)
        }
        "note_add" => {
            let item = arg("item_id").ok_or_else(item_missing)?;
            if s.task_mut(&item).is_none() {
                return Err(item_missing());
            }
            let content = args
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if content.is_empty() || content.chars().count() > 15000 {
                return Err(command_error(
                    "INVALID_ARGUMENT_VALUE",
                    20,
                    400,
                    "Invalid argument value",
                ));
            }
            let id = match stamp {
                Some((id, at)) => s.push_comment_as(&item, &content, id, at),
                None => s.push_comment(&item, &content),
            };
            if let Some(a) = args.get("file_attachment").filter(|a| !a.is_null())
                && let Some(c) = s.comments.iter_mut().find(|c| c.id == id)
            {
                c.file_attachment = Some(a.clone());
            }
            let temp = cmd.get("temp_id").and_then(Value::as_str).map(String::from);
            Ok(temp.map(|t| (t, id)))
        }
        "note_update" => {
            let id = arg("id").ok_or_else(note_missing)?;
            let seq = s.bump();
            let c = s
                .comments
                .iter_mut()
                .find(|c| c.id == id && !c.is_deleted)
                .ok_or_else(note_missing)?;
            if let Some(content) = args.get("content").and_then(Value::as_str) {
                c.content = content.to_string();
            }
            c.seq = seq;
            Ok(None)
        }
        "note_delete" => {
            let id = arg("id").ok_or_else(note_missing)?;
            let seq = s.bump();
            let c = s
                .comments
                .iter_mut()
                .find(|c| c.id == id && !c.is_deleted)
                .ok_or_else(note_missing)?;
            c.is_deleted = true;
            c.seq = seq;
            Ok(None)
        }
        _ => Err(command_error(
            "INVALID_COMMAND",
            30,
            400,
            "Unknown command type",
        )),
    }
}

/// Applies a task update (REST body or `item_update` args): labels (a whole list of names),
/// content, description. `false` when the labels are not a list of names (nothing changed).
fn update(t: &mut FakeTask, v: &Value, seq: u64, at: &str) -> bool {
    if let Some(labels) = v.get("labels") {
        let Some(list) = labels.as_array().filter(|l| l.iter().all(Value::is_string)) else {
            return false;
        };
        t.labels = list
            .iter()
            .filter_map(|l| l.as_str().map(String::from))
            .collect();
    }
    if let Some(c) = v.get("content").and_then(Value::as_str) {
        t.content = c.to_string();
    }
    if let Some(d) = v.get("description").and_then(Value::as_str) {
        t.description = d.to_string();
    }
    t.updated_at = at.to_string();
    t.seq = seq;
    true
}

/// Completes a task the way Todoist does: a recurring one moves to its next date and stays
/// open with its labels and comments; any other is checked.
pub(crate) fn close(t: &mut FakeTask, seq: u64, at: &str) {
    t.updated_at = at.to_string();
    t.seq = seq;
    if let Some(due) = t.due.as_mut().filter(|d| d["is_recurring"] == json!(true)) {
        let string = due["string"].as_str().unwrap_or("").to_string();
        let date = due["date"].as_str().unwrap_or("").to_string();
        if let Some(next) = next_occurrence(&date, &string) {
            due["date"] = json!(next);
            return;
        }
    }
    t.checked = true;
    t.completed_at = Some(at.to_string());
}

/// The next date of "every day", "every N days", "every week", "every N weeks" (from the
/// current due date, as Todoist's plain "every" does). Keeps a time part if there is one.
fn next_occurrence(date: &str, every: &str) -> Option<String> {
    let words: Vec<&str> = every.split_whitespace().collect();
    let (n, unit) = match words.as_slice() {
        ["every", unit] => (1, *unit),
        ["every", n, unit] => (n.parse::<i64>().ok()?, *unit),
        _ => return None,
    };
    let days = match unit.trim_end_matches('s') {
        "day" => n,
        "week" => 7 * n,
        _ => return None,
    };
    let (day, rest) = date.split_at(date.len().min(10));
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    Some(format!(
        "{}{rest}",
        (d + chrono::Duration::days(days)).format("%Y-%m-%d")
    ))
}

/// `/sync`: runs `commands` first (a uuid already executed is not executed again), then
/// answers the changes since `sync_token` (the server's change counter).
async fn sync(State(st): State<Shared>, m: Method, u: Uri, h: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = reject(&st, &m, &u, &h, &body) {
        return r;
    }
    let req = parse_sync(&h, &body);
    let full = req.token == "*";
    let since: u64 = if full {
        0
    } else {
        match req.token.strip_prefix("st_").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_SYNC_TOKEN",
                    "Invalid sync token",
                );
            }
        }
    };
    let wants = |r: &str| req.resources.iter().any(|x| x == r || x == "all");
    let mut s = st.lock().unwrap_or_else(|e| e.into_inner());
    let mut status = serde_json::Map::new();
    let mut temp_ids = serde_json::Map::new();
    let mut mapping: HashMap<String, String> = HashMap::new();
    let text = String::from_utf8_lossy(&body);
    let lag = match s.lag.as_mut() {
        Some(rule) if !req.commands.is_empty() && text.contains(rule.text.as_str()) => {
            rule.seen += 1;
            (rule.seen % rule.every == 0).then_some(rule.delay)
        }
        _ => None,
    };
    if let Some(delay) = lag {
        // Accepted and stamped now, applied later: the answer says ok and gives the ids,
        // but nothing of it shows in this answer or any other until then.
        let mut fresh = Vec::new();
        let mut stamped = HashMap::new();
        for cmd in &req.commands {
            let Some(uuid) = cmd.get("uuid").and_then(Value::as_str).map(String::from) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "ARGUMENT_MISSING",
                    "Required argument is missing: uuid",
                );
            };
            let temp = match s.executed.get(&uuid).cloned() {
                Some((_, temp)) => {
                    s.replayed += 1;
                    temp
                }
                None => {
                    let temp = match cmd.get("temp_id").and_then(Value::as_str) {
                        Some(t) if cmd.get("type").and_then(Value::as_str) == Some("note_add") => {
                            let id = s.id("C");
                            stamped.insert(t.to_string(), (id.clone(), s.now()));
                            Some((t.to_string(), id))
                        }
                        _ => None,
                    };
                    s.executed.insert(uuid.clone(), (json!("ok"), temp.clone()));
                    s.executed_commands += 1;
                    fresh.push(cmd.clone());
                    temp
                }
            };
            if let Some((t, id)) = temp {
                temp_ids.insert(t, json!(id));
            }
            status.insert(uuid, json!("ok"));
        }
        if !fresh.is_empty() {
            s.lagged_total += 1;
            s.lagged.push(Lagged {
                at: std::time::Instant::now() + delay,
                commands: fresh,
                stamped,
            });
        }
    }
    for cmd in req.commands.iter().filter(|_| lag.is_none()) {
        let Some(uuid) = cmd.get("uuid").and_then(Value::as_str).map(String::from) else {
            return error(
                StatusCode::BAD_REQUEST,
                "ARGUMENT_MISSING",
                "Required argument is missing: uuid",
            );
        };
        let (result, temp) = match s.executed.get(&uuid).cloned() {
            Some(done) => {
                s.replayed += 1;
                done
            }
            None => {
                let r = execute(&mut s, cmd, &mapping, None);
                let done = match r {
                    Ok(t) => (json!("ok"), t),
                    Err(e) => (e, None),
                };
                s.executed.insert(uuid.clone(), done.clone());
                s.executed_commands += 1;
                done
            }
        };
        if let Some((t, id)) = temp {
            mapping.insert(t.clone(), id.clone());
            temp_ids.insert(t, json!(id));
        }
        status.insert(uuid, result);
    }
    let mut out = json!({
        "sync_token": format!("st_{}", s.seq),
        "full_sync": full,
        "temp_id_mapping": temp_ids,
    });
    if !req.commands.is_empty() {
        out["sync_status"] = Value::Object(status);
    }
    if full {
        out["full_sync_date_utc"] = json!(s.now());
    }
    if wants("items") {
        let items: Vec<&FakeTask> = s
            .tasks
            .iter()
            .filter(|t| {
                if full {
                    !t.checked && !t.is_deleted
                } else {
                    t.seq > since
                }
            })
            .collect();
        out["items"] = json!(items);
    }
    if wants("notes") {
        let open: std::collections::HashSet<&str> = s
            .tasks
            .iter()
            .filter(|t| !t.checked && !t.is_deleted)
            .map(|t| t.id.as_str())
            .collect();
        let notes: Vec<&FakeComment> = s
            .comments
            .iter()
            .filter(|c| {
                if full {
                    !c.is_deleted && open.contains(c.item_id.as_str())
                } else {
                    c.seq > since
                }
            })
            .collect();
        out["notes"] = json!(notes);
    }
    if wants("projects") {
        let projects: Vec<Value> = s
            .projects
            .iter()
            .filter(|p| full || p.2 > since)
            .map(project_json)
            .collect();
        out["projects"] = json!(projects);
    }
    if wants("user") {
        out["user"] = json!({"id": "2671355", "full_name": "Test Person", "email": "test@example.com", "tz_info": {"timezone": "UTC"}});
    }
    axum::Json(out).into_response()
}

/// A file name as it goes in an address.
fn urlencode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `POST /uploads`: multipart with the file in `file` (and optionally `file_name`,
/// `project_id`); answers the `file_attachment` a comment then carries.
async fn upload(
    State(st): State<Shared>,
    m: Method,
    u: Uri,
    h: HeaderMap,
    mut form: axum::extract::Multipart,
) -> Response {
    let mut file: Option<(String, String, Vec<u8>)> = None;
    let mut name_field: Option<String> = None;
    while let Ok(Some(field)) = form.next_field().await {
        match field.name().unwrap_or("") {
            "file" => {
                let name = field.file_name().unwrap_or("").to_string();
                let mime = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_string();
                match field.bytes().await {
                    Ok(b) => file = Some((name, mime, b.to_vec())),
                    Err(_) => {
                        return error(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "FILE_TOO_LARGE",
                            "File too large",
                        );
                    }
                }
            }
            "file_name" => name_field = field.text().await.ok(),
            _ => {}
        }
    }
    let summary = match &file {
        Some((n, _, b)) => format!(
            "upload {} ({} bytes)",
            name_field.clone().unwrap_or(n.clone()),
            b.len()
        ),
        None => "upload without a file".into(),
    };
    if let Some(r) = reject(&st, &m, &u, &h, summary.as_bytes()) {
        return r;
    }
    let Some((name, mime, bytes)) = file else {
        return error(
            StatusCode::BAD_REQUEST,
            "ARGUMENT_MISSING",
            "Argument file is missing",
        );
    };
    if bytes.len() > UPLOAD_LIMIT {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "FILE_TOO_LARGE",
            "File too large",
        );
    }
    let name = name_field.filter(|n| !n.is_empty()).unwrap_or(name);
    let host = h
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let mut s = st.lock().unwrap_or_else(|e| e.into_inner());
    let id = s.id("F");
    let size = bytes.len();
    s.uploads.insert(
        id.clone(),
        Upload {
            name: name.clone(),
            mime: mime.clone(),
            bytes,
        },
    );
    axum::Json(json!({
        "file_name": name,
        "file_size": size,
        "file_type": mime,
        "file_url": format!("http://{host}/_fake/files/{id}/{}", urlencode(&name)),
        "resource_type": "file",
        "upload_state": "completed",
    }))
    .into_response()
}

/// An uploaded file, only with the token (as Todoist's file links need it).
async fn download(
    State(st): State<Shared>,
    m: Method,
    u: Uri,
    h: HeaderMap,
    Path((id, _name)): Path<(String, String)>,
) -> Response {
    if let Some(r) = reject(&st, &m, &u, &h, b"") {
        return r;
    }
    let file = st
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .uploads
        .get(&id)
        .cloned();
    match file {
        Some(f) => ([(axum::http::header::CONTENT_TYPE, f.mime)], f.bytes).into_response(),
        None => error(StatusCode::NOT_FOUND, "NOT_FOUND", "File not found"),
    }
}

async fn dump_state(State(st): State<Shared>) -> Response {
    let s = st.lock().unwrap_or_else(|e| e.into_inner());
    let projects: Vec<Value> = s.projects.iter().map(project_json).collect();
    axum::Json(json!({"projects": projects, "tasks": s.tasks, "comments": s.comments, "requests": s.requests.len()})).into_response()
}

async fn not_found(m: Method, u: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        &format!("No route for {m} {}", u.path()),
    )
}
