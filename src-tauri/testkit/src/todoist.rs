//! A fake Todoist API v1 on a loopback port: projects, tasks with cursor pagination, task
//! update and close, comments, and an incremental `/sync`. It keeps state, checks the bearer
//! token, records every request (without the token) and can be told to fail.

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

type Shared = Arc<Mutex<FakeState>>;

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
}

/// One request as the server saw it. The token itself is never stored.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
    pub authorized: bool,
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
    failures: VecDeque<u16>,
}

impl FakeState {
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
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
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
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
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
            let t = now();
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
                seq,
            });
            id
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
            if let Some(t) = s.task_mut(id) {
                t.labels = labels.iter().map(|l| l.to_string()).collect();
                t.updated_at = now();
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
            let id = s.id("C");
            s.comments.push(FakeComment {
                id,
                item_id: task_id.to_string(),
                content: content.to_string(),
                posted_at: now(),
                posted_uid: "2671355".into(),
                is_deleted: false,
            });
        })
    }

    pub fn comments(&self, task_id: &str) -> Vec<String> {
        self.with(|s| {
            s.comments
                .iter()
                .filter(|c| c.item_id == task_id)
                .map(|c| c.content.clone())
                .collect()
        })
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.with(|s| s.requests.clone())
    }

    pub fn clear_requests(&self) {
        self.with(|s| s.requests.clear())
    }

    /// The next `times` API requests answer `status` (429 carries `retry_after: 0`).
    pub fn fail_next(&self, status: u16, times: usize) {
        self.with(|s| s.failures.extend(std::iter::repeat_n(status, times)))
    }
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/v1/projects", get(list_projects).post(create_project))
        .route("/api/v1/tasks", get(list_tasks).post(create_task))
        .route("/api/v1/tasks/{id}", get(get_task).post(update_task))
        .route("/api/v1/tasks/{id}/close", post(close_task))
        .route("/api/v1/comments", get(list_comments).post(create_comment))
        .route("/api/v1/sync", post(sync))
        .route("/_fake/state", get(dump_state))
        .fallback(not_found)
        .with_state(state)
}

fn error(status: StatusCode, tag: &str, message: &str) -> Response {
    let mut extra = json!({"event_id": "fake"});
    if status == StatusCode::TOO_MANY_REQUESTS {
        extra["retry_after"] = json!(0);
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
    let expected = format!("Bearer {}", s.token);
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    s.requests.push(Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        body: String::from_utf8_lossy(body).into_owned(),
        authorized,
    });
    if let Some(code) = s.failures.pop_front() {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Some(error(status, "FAKE_FAILURE", "Injected failure"));
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
    let Some(t) = s.task_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "Task not found");
    };
    if let Some(labels) = v.get("labels") {
        let Some(list) = labels.as_array().filter(|l| l.iter().all(Value::is_string)) else {
            return error(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT_VALUE",
                "labels must be a list of names",
            );
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
    t.updated_at = now();
    t.seq = seq;
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
    match s.task_mut(&id) {
        Some(t) => {
            t.checked = true;
            t.updated_at = now();
            t.seq = seq;
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
        .filter(|c| c.item_id == *task_id)
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
    let id = s.id("C");
    let c = FakeComment {
        id,
        item_id: task_id,
        content,
        posted_at: now(),
        posted_uid: "2671355".into(),
        is_deleted: false,
    };
    s.comments.push(c.clone());
    axum::Json(c).into_response()
}

/// `/sync` with JSON or form bodies; `sync_token` is the server's change counter.
async fn sync(State(st): State<Shared>, m: Method, u: Uri, h: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = reject(&st, &m, &u, &h, &body) {
        return r;
    }
    let form = h
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let (token, resources) = if form {
        let pairs: HashMap<String, String> =
            serde_urlencoded::from_bytes(&body).unwrap_or_default();
        let res: Vec<String> = pairs
            .get("resource_types")
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default();
        (pairs.get("sync_token").cloned().unwrap_or_default(), res)
    } else {
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        let res = v
            .get("resource_types")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        (
            v.get("sync_token")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            res,
        )
    };
    let full = token == "*";
    let since: u64 = if full {
        0
    } else {
        match token.strip_prefix("st_").and_then(|n| n.parse().ok()) {
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
    let wants = |r: &str| resources.iter().any(|x| x == r || x == "all");
    let s = st.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = json!({
        "sync_token": format!("st_{}", s.seq),
        "full_sync": full,
        "temp_id_mapping": {},
    });
    if full {
        out["full_sync_date_utc"] = json!(now());
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
