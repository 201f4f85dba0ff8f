//! A fake Airtable Web API on a loopback port, built from Airtable's published reference (the
//! shapes, errors and limits in `descriptions/airtable-notes.md`, each fact with its source),
//! for the Airtable task source. It behaves like api.airtable.com where a task source depends
//! on it, and as badly:
//!
//! - `GET /v0/meta/whoami`, `GET /v0/meta/bases`, `GET /v0/meta/bases/{base}/tables`;
//!   `GET /v0/{base}/{table}` and `POST …/listRecords` (pageSize ≤ 100, `offset` until the last
//!   page, `fields[]`, `recordMetadata[]=commentCount`, `filterByFormula` for the formulas in
//!   [`formula`]); `GET|PATCH /v0/{base}/{table}/{record}` (empty values left out, unknown
//!   fields and unknown single-select options refused with their 422s); record comments
//!   (`GET|POST …/comments`, newest first; `PATCH|DELETE …/comments/{id}`, only the author's).
//! - Errors in Airtable's shapes: 401 `AUTHENTICATION_REQUIRED`, 403
//!   `INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND`, 404 `TABLE_NOT_FOUND` / `MODEL_ID_NOT_FOUND` /
//!   `{"error":"NOT_FOUND"}`, 422 `INVALID_FILTER_BY_FORMULA` / `UNKNOWN_FIELD_NAME` /
//!   `INVALID_MULTIPLE_CHOICE_OPTIONS`, 429 `RATE_LIMIT_REACHED`, 503 `RETRIABLE_ERROR`.
//! - Its limit: 5 requests a second per base; past it a 429, and every request to that base
//!   refused for 30 s (shorter in tests: [`FakeAirtable::set_rate_limit`]).
//! - Bad days as test hooks: latency, comments visible only later, an answer held until after
//!   the client gave up (the write applied), 503s, a clock that runs ahead or behind, records
//!   listed in a different order each time (Airtable promises no order without a sort).

pub mod formula;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The user the token belongs to.
pub const USER_ID: &str = "usrDelegateBot01";
pub const USER_EMAIL: &str = "delegate@example.com";
pub const USER_NAME: &str = "Delegate Bot";

/// A field's type, as the schema names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    SingleLineText,
    MultilineText,
    /// With its options.
    SingleSelect(Vec<String>),
}

#[derive(Debug, Clone)]
struct Field {
    id: String,
    name: String,
    kind: FieldKind,
}

#[derive(Debug, Clone)]
struct Comment {
    id: String,
    author: (String, String, String),
    text: String,
    created: DateTime<Utc>,
    updated: Option<DateTime<Utc>>,
    /// When a read shows it (a lagged write is stored at once, shown later).
    visible_at: Instant,
}

#[derive(Debug, Clone)]
struct Record {
    id: String,
    created: DateTime<Utc>,
    fields: Map<String, Value>,
    comments: Vec<Comment>,
}

#[derive(Debug, Clone)]
struct Table {
    id: String,
    name: String,
    fields: Vec<Field>,
    records: Vec<Record>,
}

#[derive(Debug, Clone)]
struct Base {
    id: String,
    name: String,
    tables: Vec<Table>,
}

/// One request as the server saw it (never the token).
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
}

/// What the server has done so far.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counters {
    pub requests: u64,
    pub rate_limited: u64,
    pub injected_failures: u64,
    pub late_answers: u64,
    pub comment_writes: u64,
    pub record_writes: u64,
}

struct State {
    token: String,
    bases: Vec<Base>,
    next: u64,
    requests: Vec<Recorded>,
    counters: Counters,
    per_second: usize,
    penalty: Duration,
    recent: HashMap<String, VecDeque<Instant>>,
    blocked_until: HashMap<String, Instant>,
    latency: Duration,
    comment_lag: Duration,
    late_next: Option<Duration>,
    fail_next: u32,
    skew: chrono::Duration,
    shuffle: bool,
    listed: u64,
}

type Shared = Arc<Mutex<State>>;

/// A running fake Airtable. Dropping it does not stop the server; it ends with the runtime.
#[derive(Clone)]
pub struct FakeAirtable {
    /// Like `https://api.airtable.com` (no trailing slash; the API is under `/v0`).
    pub url: String,
    state: Shared,
}

fn stamp(t: DateTime<Utc>) -> String {
    // Airtable's stamps are whole seconds with `.000Z`.
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
        .split('.')
        .next()
        .map(|s| format!("{s}.000Z"))
        .unwrap_or_default()
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"type": kind, "message": message}})),
    )
        .into_response()
}

impl FakeAirtable {
    /// Starts on 127.0.0.1 with a free port; `token` is the one personal access token.
    pub async fn start(token: &str) -> Self {
        let state: Shared = Arc::new(Mutex::new(State {
            token: token.to_string(),
            bases: Vec::new(),
            next: 1,
            requests: Vec::new(),
            counters: Counters::default(),
            per_second: 5,
            penalty: Duration::from_secs(30),
            recent: HashMap::new(),
            blocked_until: HashMap::new(),
            latency: Duration::ZERO,
            comment_lag: Duration::ZERO,
            late_next: None,
            fail_next: 0,
            skew: chrono::Duration::zero(),
            shuffle: false,
            listed: 0,
        }));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let app = Router::new().fallback(handle).with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, state }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s)
    }

    fn id(s: &mut State, prefix: &str) -> String {
        s.next += 1;
        format!("{prefix}{:014}", s.next)
    }

    /// A base the token may edit. Returns its id (`app…`).
    pub fn add_base(&self, name: &str) -> String {
        self.with(|s| {
            let id = Self::id(s, "app");
            s.bases.push(Base {
                id: id.clone(),
                name: name.to_string(),
                tables: Vec::new(),
            });
            id
        })
    }

    /// A table with the given fields (the first is the primary field). Returns its id.
    pub fn add_table(&self, base: &str, name: &str, fields: &[(&str, FieldKind)]) -> String {
        self.with(|s| {
            let id = Self::id(s, "tbl");
            let fields = fields
                .iter()
                .map(|(n, k)| Field {
                    id: Self::id(s, "fld"),
                    name: n.to_string(),
                    kind: k.clone(),
                })
                .collect();
            let b = s
                .bases
                .iter_mut()
                .find(|b| b.id == base)
                .expect("no such base");
            b.tables.push(Table {
                id: id.clone(),
                name: name.to_string(),
                fields,
                records: Vec::new(),
            });
            id
        })
    }

    /// A record, as a person adds it in Airtable. Returns its id (`rec…`).
    pub fn add_record(&self, base: &str, table: &str, fields: Value) -> String {
        self.with(|s| {
            let id = Self::id(s, "rec");
            let now = Utc::now() + s.skew;
            let t = table_mut(s, base, table).expect("no such table");
            t.records.push(Record {
                id: id.clone(),
                created: now,
                fields: fields.as_object().cloned().unwrap_or_default(),
                comments: Vec::new(),
            });
            id
        })
    }

    /// Sets a record's fields as a person would (merging).
    pub fn update_record(&self, base: &str, table: &str, record: &str, fields: Value) {
        self.with(|s| {
            let t = table_mut(s, base, table).expect("no such table");
            let r = t
                .records
                .iter_mut()
                .find(|r| r.id == record)
                .expect("no record");
            for (k, v) in fields.as_object().cloned().unwrap_or_default() {
                r.fields.insert(k, v);
            }
        })
    }

    /// A record's fields as stored.
    pub fn record(&self, base: &str, table: &str, record: &str) -> Map<String, Value> {
        self.with(|s| {
            table_mut(s, base, table)
                .and_then(|t| t.records.iter().find(|r| r.id == record))
                .map(|r| r.fields.clone())
                .unwrap_or_default()
        })
    }

    /// A comment written by a person (another user), visible at once.
    pub fn add_comment(&self, base: &str, table: &str, record: &str, text: &str) -> String {
        self.with(|s| {
            let id = Self::id(s, "com");
            let now = Utc::now() + s.skew;
            let t = table_mut(s, base, table).expect("no such table");
            let r = t
                .records
                .iter_mut()
                .find(|r| r.id == record)
                .expect("no record");
            r.comments.push(Comment {
                id: id.clone(),
                author: (
                    "usrPerson00001".into(),
                    "ada@example.com".into(),
                    "Ada".into(),
                ),
                text: text.to_string(),
                created: now,
                updated: None,
                visible_at: Instant::now(),
            });
            id
        })
    }

    /// A record's comments as stored (lagged ones too), oldest first.
    pub fn comments(&self, base: &str, table: &str, record: &str) -> Vec<String> {
        self.with(|s| {
            table_mut(s, base, table)
                .and_then(|t| t.records.iter().find(|r| r.id == record))
                .map(|r| r.comments.iter().map(|c| c.text.clone()).collect())
                .unwrap_or_default()
        })
    }

    // ---- Bad days ----

    /// Requests per second per base before a 429, and how long the base is then refused.
    pub fn set_rate_limit(&self, per_second: usize, penalty: Duration) {
        self.with(|s| {
            s.per_second = per_second;
            s.penalty = penalty;
        })
    }
    /// Every answer waits this long.
    pub fn set_latency(&self, d: Duration) {
        self.with(|s| s.latency = d)
    }
    /// New comments are stored at once but shown to reads only this much later.
    pub fn set_comment_lag(&self, d: Duration) {
        self.with(|s| s.comment_lag = d)
    }
    /// The next write is applied, and its answer held back this long (past a client's
    /// timeout).
    pub fn answer_next_write_late(&self, d: Duration) {
        self.with(|s| s.late_next = Some(d))
    }
    /// The next `n` requests fail with 503 `RETRIABLE_ERROR` before doing anything.
    pub fn fail_next(&self, n: u32) {
        self.with(|s| s.fail_next = n)
    }
    /// The server's clock (its `Date` and stamps) runs this far ahead (negative: behind).
    pub fn set_clock_skew(&self, d: chrono::Duration) {
        self.with(|s| s.skew = d)
    }
    /// Records come back in a different order at every listing.
    pub fn set_shuffled(&self, on: bool) {
        self.with(|s| s.shuffle = on)
    }

    pub fn counters(&self) -> Counters {
        self.with(|s| s.counters)
    }
    pub fn requests(&self) -> Vec<Recorded> {
        self.with(|s| s.requests.clone())
    }
    pub fn clear_requests(&self) {
        self.with(|s| s.requests.clear())
    }
}

fn table_mut<'a>(s: &'a mut State, base: &str, table: &str) -> Option<&'a mut Table> {
    s.bases
        .iter_mut()
        .find(|b| b.id == base)?
        .tables
        .iter_mut()
        .find(|t| t.id == table || t.name == table)
}

/// The query's pairs (`fields[]=A&fields[]=B` as two pairs).
fn pairs(uri: &Uri) -> Vec<(String, String)> {
    serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default()
}

async fn handle(
    axum::extract::State(state): axum::extract::State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (latency, skew) = {
        let s = state.lock().unwrap_or_else(|e| e.into_inner());
        (s.latency, s.skew)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (mut response, late) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.counters.requests += 1;
        let (response, wrote) = answer(&mut s, &method, &uri, &headers, &body);
        let status = response.status().as_u16();
        s.requests.push(Recorded {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().unwrap_or("").to_string(),
            status,
        });
        let late = if wrote { s.late_next.take() } else { None };
        if late.is_some() {
            s.counters.late_answers += 1;
        }
        (response, late)
    };
    if let Some(d) = late {
        tokio::time::sleep(d).await;
    }
    let date = (Utc::now() + skew)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    if let Ok(v) = HeaderValue::from_str(&date) {
        response.headers_mut().insert("date", v);
    }
    response
}

/// The answer, and whether the request wrote something.
fn answer(
    s: &mut State,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> (Response, bool) {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == s.token);
    if !authorized {
        return (
            error(
                StatusCode::UNAUTHORIZED,
                "AUTHENTICATION_REQUIRED",
                "Authentication required",
            ),
            false,
        );
    }
    let path: Vec<&str> = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let not_found = || {
        (
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": "NOT_FOUND"})),
            )
                .into_response(),
            false,
        )
    };
    let Some((&"v0", rest)) = path.split_first() else {
        return not_found();
    };
    let decoded: Vec<String> = rest.iter().map(|p| percent_decode(p)).collect();
    let rest: Vec<&str> = decoded.iter().map(String::as_str).collect();
    if s.fail_next > 0 {
        s.fail_next -= 1;
        s.counters.injected_failures += 1;
        return (
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "RETRIABLE_ERROR",
                "Server encountered an error while processing your request, and it is safe to retry the request",
            ),
            false,
        );
    }
    match (method.as_str(), rest.as_slice()) {
        ("GET", ["meta", "whoami"]) => (
            axum::Json(json!({"id": USER_ID, "email": USER_EMAIL})).into_response(),
            false,
        ),
        ("GET", ["meta", "bases"]) => {
            let bases: Vec<Value> = s
                .bases
                .iter()
                .map(|b| json!({"id": b.id, "name": b.name, "permissionLevel": "create"}))
                .collect();
            (axum::Json(json!({"bases": bases})).into_response(), false)
        }
        ("GET", ["meta", "bases", base, "tables"]) => {
            match s.bases.iter().find(|b| b.id == *base) {
                None => (forbidden(), false),
                Some(b) => {
                    let tables: Vec<Value> = b.tables.iter().map(schema_of).collect();
                    (axum::Json(json!({"tables": tables})).into_response(), false)
                }
            }
        }
        (_, [base, rest @ ..]) if !rest.is_empty() => {
            let base = base.to_string();
            if let Some(refused) = limited(s, &base) {
                return (refused, false);
            }
            if !s.bases.iter().any(|b| b.id == base) {
                return (forbidden(), false);
            }
            let table = rest[0].to_string();
            if table_mut(s, &base, &table).is_none() {
                return (
                    error(
                        StatusCode::NOT_FOUND,
                        "TABLE_NOT_FOUND",
                        &format!("Could not find table {table} in application {base}"),
                    ),
                    false,
                );
            }
            records(s, method.as_str(), &base, &table, &rest[1..], uri, body)
        }
        _ => not_found(),
    }
}

fn percent_decode(p: &str) -> String {
    let bytes = p.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = p
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(h);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn forbidden() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
        "Invalid permissions, or the requested model was not found. Check that both your user and your token have the required permissions, and that the model names and/or ids are correct.",
    )
}

/// Counts the request against its base: past the limit, a 429 and the base refused for the
/// penalty.
fn limited(s: &mut State, base: &str) -> Option<Response> {
    let now = Instant::now();
    let rate_limited = || {
        error(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMIT_REACHED",
            "Rate limit exceeded. Please try again later",
        )
    };
    if s.blocked_until.get(base).is_some_and(|t| *t > now) {
        s.counters.rate_limited += 1;
        return Some(rate_limited());
    }
    let per_second = s.per_second;
    let recent = s.recent.entry(base.to_string()).or_default();
    while recent
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
    {
        recent.pop_front();
    }
    if recent.len() >= per_second {
        let penalty = s.penalty;
        s.blocked_until.insert(base.to_string(), now + penalty);
        s.counters.rate_limited += 1;
        return Some(rate_limited());
    }
    recent.push_back(now);
    None
}

fn schema_of(t: &Table) -> Value {
    let fields: Vec<Value> = t
        .fields
        .iter()
        .map(|f| match &f.kind {
            FieldKind::SingleLineText => json!({"id": f.id, "name": f.name, "type": "singleLineText"}),
            FieldKind::MultilineText => json!({"id": f.id, "name": f.name, "type": "multilineText"}),
            FieldKind::SingleSelect(choices) => json!({
                "id": f.id, "name": f.name, "type": "singleSelect",
                "options": {"choices": choices.iter().enumerate().map(|(i, c)| json!({"id": format!("sel{:014}", i), "name": c, "color": "blueLight2"})).collect::<Vec<_>>()}
            }),
        })
        .collect();
    json!({
        "id": t.id, "name": t.name, "primaryFieldId": t.fields.first().map(|f| f.id.clone()),
        "fields": fields, "views": [{"id": "viwGrid0000001", "name": "Grid view", "type": "grid"}]
    })
}

/// A record as the API shows it: empty values left out.
fn shown(r: &Record, only: Option<&HashSet<String>>, comment_count: Option<usize>) -> Value {
    let fields: Map<String, Value> = r
        .fields
        .iter()
        .filter(|(k, v)| {
            only.is_none_or(|o| o.contains(*k))
                && !matches!(v, Value::Null | Value::Bool(false))
                && v.as_str() != Some("")
                && v.as_array().is_none_or(|a| !a.is_empty())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut out = json!({"id": r.id, "createdTime": stamp(r.created), "fields": fields});
    if let Some(n) = comment_count {
        out["commentCount"] = json!(n);
    }
    out
}

fn comment_json(c: &Comment) -> Value {
    json!({
        "id": c.id,
        "author": {"id": c.author.0, "email": c.author.1, "name": c.author.2},
        "text": c.text,
        "createdTime": stamp(c.created),
        "lastUpdatedTime": c.updated.map(stamp),
    })
}

fn unprocessable(kind: &str, message: &str) -> Response {
    error(StatusCode::UNPROCESSABLE_ENTITY, kind, message)
}

#[allow(clippy::too_many_arguments)]
fn records(
    s: &mut State,
    method: &str,
    base: &str,
    table: &str,
    rest: &[&str],
    uri: &Uri,
    body: &Bytes,
) -> (Response, bool) {
    let now = Instant::now();
    let skewed = Utc::now() + s.skew;
    let lag = s.comment_lag;
    let shuffle = s.shuffle;
    let listing = matches!((method, rest), ("GET", []) | ("POST", ["listRecords"]));
    if listing {
        s.listed += 1;
    }
    let listed = s.listed;
    let user = (
        USER_ID.to_string(),
        USER_EMAIL.to_string(),
        USER_NAME.to_string(),
    );
    let next_id = {
        s.next += 1;
        s.next
    };
    let Some(t) = table_mut(s, base, table) else {
        return (forbidden(), false);
    };
    let missing = |id: &str| {
        let _ = id;
        error(
            StatusCode::NOT_FOUND,
            "MODEL_ID_NOT_FOUND",
            "Record not found",
        )
    };
    match (method, rest) {
        ("GET", []) | ("POST", ["listRecords"]) => {
            let mut params: Vec<(String, String)> = pairs(uri);
            if method == "POST" {
                let Ok(b) = serde_json::from_slice::<Value>(body) else {
                    return (
                        unprocessable("INVALID_REQUEST_BODY", "Could not parse request body"),
                        false,
                    );
                };
                for (k, v) in b.as_object().cloned().unwrap_or_default() {
                    match v {
                        Value::Array(a) => {
                            for x in a {
                                params
                                    .push((format!("{k}[]"), x.as_str().unwrap_or("").to_string()));
                            }
                        }
                        Value::String(x) => params.push((k, x)),
                        other => params.push((k, other.to_string())),
                    }
                }
            }
            let get = |k: &str| params.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
            let page_size: usize = get("pageSize")
                .and_then(|v| v.parse().ok())
                .unwrap_or(100)
                .clamp(1, 100);
            let only: Option<HashSet<String>> = {
                let f: HashSet<String> = params
                    .iter()
                    .filter(|(k, _)| k == "fields[]")
                    .map(|(_, v)| v.clone())
                    .collect();
                (!f.is_empty()).then_some(f)
            };
            let counts = params
                .iter()
                .any(|(k, v)| k == "recordMetadata[]" && v == "commentCount");
            let names: HashSet<String> = t.fields.iter().map(|f| f.name.clone()).collect();
            let filter = match get("filterByFormula").filter(|f| !f.trim().is_empty()) {
                Some(f) => match formula::parse(&f, &names) {
                    Ok(e) => Some(e),
                    Err(e) => return (unprocessable("INVALID_FILTER_BY_FORMULA", &e.0), false),
                },
                None => None,
            };
            let mut kept: Vec<&Record> = t
                .records
                .iter()
                .filter(|r| {
                    filter
                        .as_ref()
                        .is_none_or(|e| formula::keeps(e, &r.id, &r.fields))
                })
                .collect();
            // Each listing starts one record further on: never the same order twice running.
            if shuffle && !kept.is_empty() {
                let n = kept.len();
                kept.rotate_left((listed as usize) % n);
            }
            let start = match get("offset") {
                None => 0,
                Some(o) => match o
                    .strip_prefix("itr")
                    .and_then(|o| o.split('/').next()?.parse().ok())
                {
                    Some(n) => n,
                    None => {
                        return (
                            unprocessable(
                                "LIST_RECORDS_ITERATOR_NOT_AVAILABLE",
                                "Iteration may timeout due to client inactivity or server restarts. Please restart iteration from the beginning.",
                            ),
                            false,
                        );
                    }
                },
            };
            let page: Vec<Value> = kept
                .iter()
                .skip(start)
                .take(page_size)
                .map(|r| {
                    shown(
                        r,
                        only.as_ref(),
                        counts.then(|| r.comments.iter().filter(|c| c.visible_at <= now).count()),
                    )
                })
                .collect();
            let mut out = json!({"records": page});
            if start + page_size < kept.len() {
                let at = kept[start + page_size].id.clone();
                out["offset"] = json!(format!("itr{}/{at}", start + page_size));
            }
            (axum::Json(out).into_response(), false)
        }
        ("GET", [record]) => match t.records.iter().find(|r| r.id == *record) {
            Some(r) => (axum::Json(shown(r, None, None)).into_response(), false),
            None => (missing(record), false),
        },
        ("PATCH", [record]) => {
            let Ok(b) = serde_json::from_slice::<Value>(body) else {
                return (
                    unprocessable("INVALID_REQUEST_BODY", "Could not parse request body"),
                    false,
                );
            };
            let typecast = b.get("typecast").and_then(Value::as_bool).unwrap_or(false);
            let changes = b
                .get("fields")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (k, v) in &changes {
                let Some(field) = t.fields.iter_mut().find(|f| &f.name == k || &f.id == k) else {
                    return (
                        unprocessable(
                            "UNKNOWN_FIELD_NAME",
                            &format!("Unknown field name: \"{k}\""),
                        ),
                        false,
                    );
                };
                if let (FieldKind::SingleSelect(choices), Some(value)) =
                    (&mut field.kind, v.as_str())
                    && !value.is_empty()
                    && !choices.iter().any(|c| c == value)
                {
                    if typecast {
                        choices.push(value.to_string());
                    } else {
                        return (
                            unprocessable(
                                "INVALID_MULTIPLE_CHOICE_OPTIONS",
                                &format!(
                                    "Insufficient permissions to create new select option \"\"{value}\"\""
                                ),
                            ),
                            false,
                        );
                    }
                }
            }
            let names: HashMap<String, String> = t
                .fields
                .iter()
                .map(|f| (f.id.clone(), f.name.clone()))
                .collect();
            let Some(r) = t.records.iter_mut().find(|r| r.id == *record) else {
                return (missing(record), false);
            };
            for (k, v) in changes {
                let name = names.get(&k).cloned().unwrap_or(k);
                r.fields.insert(name, v);
            }
            let out = shown(r, None, None);
            s.counters.record_writes += 1;
            (axum::Json(out).into_response(), true)
        }
        (_, [record, "comments", more @ ..]) => {
            let Some(r) = t.records.iter_mut().find(|r| r.id == *record) else {
                return (missing(record), false);
            };
            match (method, more) {
                ("GET", []) => {
                    let params = pairs(uri);
                    let get = |k: &str| params.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
                    let page_size: usize = get("pageSize")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(100)
                        .clamp(1, 100);
                    let start: usize = get("offset")
                        .and_then(|o| o.strip_prefix("com-page-")?.parse().ok())
                        .unwrap_or(0);
                    // Newest first.
                    let visible: Vec<&Comment> = r
                        .comments
                        .iter()
                        .rev()
                        .filter(|c| c.visible_at <= now)
                        .collect();
                    let page: Vec<Value> = visible
                        .iter()
                        .skip(start)
                        .take(page_size)
                        .map(|c| comment_json(c))
                        .collect();
                    let mut out = json!({"comments": page, "offset": null});
                    if start + page_size < visible.len() {
                        out["offset"] = json!(format!("com-page-{}", start + page_size));
                    }
                    (axum::Json(out).into_response(), false)
                }
                ("POST", []) => {
                    let text = serde_json::from_slice::<Value>(body)
                        .ok()
                        .and_then(|b| b.get("text").and_then(Value::as_str).map(str::to_string));
                    let Some(text) = text.filter(|t| !t.is_empty()) else {
                        return (
                            unprocessable(
                                "INVALID_REQUEST_UNKNOWN",
                                "Invalid request: parameter validation failed. Check your request data.",
                            ),
                            false,
                        );
                    };
                    let c = Comment {
                        id: format!("com{next_id:014}"),
                        author: user,
                        text,
                        created: skewed,
                        updated: None,
                        visible_at: now + lag,
                    };
                    let out = comment_json(&c);
                    r.comments.push(c);
                    s.counters.comment_writes += 1;
                    (axum::Json(out).into_response(), true)
                }
                (m @ ("PATCH" | "DELETE"), [comment]) => {
                    let Some(i) = r.comments.iter().position(|c| c.id == *comment) else {
                        return (missing(comment), false);
                    };
                    if r.comments[i].author.0 != USER_ID {
                        return (
                            error(
                                StatusCode::FORBIDDEN,
                                "INVALID_PERMISSIONS",
                                "You are not permitted to perform this operation",
                            ),
                            false,
                        );
                    }
                    if m == "DELETE" {
                        let c = r.comments.remove(i);
                        s.counters.comment_writes += 1;
                        return (
                            axum::Json(json!({"id": c.id, "deleted": true})).into_response(),
                            true,
                        );
                    }
                    let text = serde_json::from_slice::<Value>(body)
                        .ok()
                        .and_then(|b| b.get("text").and_then(Value::as_str).map(str::to_string));
                    let Some(text) = text else {
                        return (
                            unprocessable(
                                "INVALID_REQUEST_UNKNOWN",
                                "Invalid request: parameter validation failed. Check your request data.",
                            ),
                            false,
                        );
                    };
                    let c = &mut r.comments[i];
                    c.text = text;
                    c.updated = Some(skewed);
                    let out = comment_json(c);
                    s.counters.comment_writes += 1;
                    (axum::Json(out).into_response(), true)
                }
                _ => (
                    (
                        StatusCode::NOT_FOUND,
                        axum::Json(json!({"error": "NOT_FOUND"})),
                    )
                        .into_response(),
                    false,
                ),
            }
        }
        _ => (
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": "NOT_FOUND"})),
            )
                .into_response(),
            false,
        ),
    }
}
