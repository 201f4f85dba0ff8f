//! The HTTP side of the fake: `POST /graphql` with Linear's authentication, its rate limits
//! (`limits.rs`), validation of every operation against the vendored schema, its cost,
//! execution (`resolve.rs`), the answer in Linear's shapes (`error.rs`), injected failures
//! (`hooks.rs`), and the request log.

use super::complexity;
use super::error::{self, ApiError, Kind};
use super::hooks::{Hooks, take_failure};
use super::limits::{self, Bucket, RateLimits};
use super::resolve::{Ctx, MutationRoot, QueryRoot};
use super::store::{Store, fmt_time};
use apollo_compiler::executable::OperationType;
use apollo_compiler::resolvers::Execution;
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

pub(crate) type Shared = Arc<Mutex<Fake>>;

/// The vendored schema, parsed and validated once per process.
pub(crate) fn schema() -> &'static Valid<Schema> {
    static SCHEMA: OnceLock<Valid<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let sdl = include_str!("../../descriptions/linear.graphql");
        Schema::parse_and_validate(sdl, "linear.graphql")
            .unwrap_or_else(|e| panic!("the vendored Linear schema is not valid: {}", e.errors))
    })
}

/// One request as the server saw it. The key is never stored, and variables whose name
/// suggests a secret are masked.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    /// `operationName`, or the name the document gives its operation.
    pub operation: Option<String>,
    pub query: String,
    pub variables: Value,
    /// The HTTP status the server answered (before any delay of the answer).
    pub status: u16,
    /// The first error's `extensions.code`, if the answer carried errors.
    pub code: Option<String>,
    pub authorized: bool,
    /// The operation's complexity, once it was computed.
    pub complexity: Option<f64>,
    /// When it arrived, on the server's clock.
    pub at: String,
    mutation: bool,
}

impl Recorded {
    /// Whether the operation run (or, for a document that did not parse, the first) is a
    /// mutation.
    pub fn is_mutation(&self) -> bool {
        self.mutation
    }
}

pub(crate) struct Fake {
    pub key: String,
    pub oauth: Vec<String>,
    pub store: Store,
    pub requests: Vec<Recorded>,
    pub hooks: Hooks,
    pub limits: RateLimits,
    pub buckets: HashMap<String, Bucket>,
}

impl Fake {
    pub fn new(key: &str) -> Self {
        Self {
            key: key.to_string(),
            oauth: Vec::new(),
            store: Store::default(),
            requests: Vec::new(),
            hooks: Hooks::default(),
            limits: RateLimits::default(),
            buckets: HashMap::new(),
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlRequest {
    query: Option<String>,
    #[serde(default)]
    variables: Option<Map<String, Value>>,
    operation_name: Option<String>,
}

enum Body {
    Json(JsonValue),
    Text(&'static str, String),
}

struct Answer {
    status: u16,
    body: Body,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn json(status: u16, body: JsonValue) -> Self {
        Self {
            status,
            body: Body::Json(body),
            headers: Vec::new(),
        }
    }

    fn errors(errors: &[ApiError]) -> Self {
        Self::json(
            errors.first().map_or(400, |e| e.status),
            error::body(errors),
        )
    }

    fn code(&self) -> Option<String> {
        match &self.body {
            Body::Json(v) => v
                .get("errors")
                .and_then(|e| e.get(0))
                .and_then(|e| e.get("extensions"))
                .and_then(|e| e.get("code"))
                .and_then(JsonValue::as_str)
                .map(String::from),
            Body::Text(..) => None,
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let mut response = match self.body {
            Body::Json(v) => (status, axum::Json(v)).into_response(),
            Body::Text(ty, text) => (status, [("content-type", ty)], text).into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, v);
            }
        }
        response
    }
}

/// What an injected failure answers: JSON from the API for a 500, a proxy's HTML page for
/// 502/503/504 (not JSON at all), a bare error otherwise.
fn failure(status: u16) -> Answer {
    match status {
        500 => Answer::errors(&[ApiError::new(Kind::Internal, "Internal server error")]),
        502..=504 => {
            let reason = StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error");
            Answer {
                status,
                body: Body::Text(
                    "text/html",
                    format!(
                        "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}</h1></center></body></html>\n"
                    ),
                ),
                headers: Vec::new(),
            }
        }
        _ => Answer::json(
            status,
            json!({"errors": [{"message": "Injected failure"}]}).into(),
        ),
    }
}

fn mask_secrets(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let k_lower = k.to_lowercase();
                    let secret = ["token", "secret", "password", "apikey", "authorization"]
                        .iter()
                        .any(|s| k_lower.contains(s));
                    let v = if secret {
                        json!("***")
                    } else {
                        mask_secrets(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(mask_secrets).collect()),
        other => other.clone(),
    }
}

/// The name after `query`/`mutation` in a document that did not parse.
fn scan_name(query: &str) -> Option<String> {
    let mut words = query.split(|c: char| !(c.is_alphanumeric() || c == '_'));
    words.find(|w| matches!(*w, "query" | "mutation" | "subscription"))?;
    words
        .find(|w| !w.is_empty())
        .filter(|w| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
        })
        .map(String::from)
}

/// JSON as JavaScript writes it: a float that is a whole number has no fraction (`2`, not
/// `2.0`), as Linear's `priority`, `number`, `position` and `lastSyncId` come.
fn js_numbers(v: &mut JsonValue) {
    match v {
        JsonValue::Number(n) => {
            if let Some(f) = n
                .as_f64()
                .filter(|f| n.is_f64() && f.fract() == 0.0 && f.abs() < 9e15)
            {
                *v = JsonValue::from(f as i64);
            }
        }
        JsonValue::Array(a) => a.iter_mut().for_each(js_numbers),
        JsonValue::Object(m) => m.values_mut().for_each(js_numbers),
        _ => {}
    }
}

pub(crate) fn lock(st: &Shared) -> std::sync::MutexGuard<'_, Fake> {
    st.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) async fn graphql(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut guard = lock(&st);
    let fake = &mut *guard;
    fake.store.apply_due();
    let text = String::from_utf8_lossy(&body).into_owned();
    let request: Option<GqlRequest> = serde_json::from_slice(&body).ok();
    let mut seen = Seen {
        at: fmt_time(&fake.store.now()),
        ..Seen::default()
    };
    let answer = fake.answer(&headers, request.as_ref(), &text, &mut seen);
    let query = request
        .as_ref()
        .and_then(|r| r.query.clone())
        .unwrap_or_default();
    let operation = request
        .as_ref()
        .and_then(|r| r.operation_name.clone())
        .or(seen.operation)
        .or_else(|| scan_name(&query));
    let mutation = seen
        .mutation
        .unwrap_or_else(|| query.trim_start().starts_with("mutation"));
    fake.requests.push(Recorded {
        operation,
        query,
        variables: request
            .as_ref()
            .and_then(|r| r.variables.clone())
            .map_or(Value::Null, |v| mask_secrets(&Value::Object(v))),
        status: answer.status,
        code: answer.code(),
        authorized: seen.authorized,
        complexity: seen.complexity,
        at: seen.at,
        mutation,
    });
    answer.into_response()
}

#[derive(Default)]
struct Seen {
    operation: Option<String>,
    mutation: Option<bool>,
    authorized: bool,
    complexity: Option<f64>,
    at: String,
}

impl Fake {
    /// The credential a request authenticates with: the personal key as it is, or an OAuth
    /// token after `Bearer ` (a personal key sent as a Bearer token is refused).
    fn credential(&self, headers: &HeaderMap) -> Result<String, ApiError> {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim();
        let refused = || {
            ApiError::new(Kind::Auth, "Authentication required, not authenticated")
                .presentable("You need to authenticate to access this operation.")
        };
        match auth.strip_prefix("Bearer ") {
            Some(token) if self.oauth.iter().any(|t| t == token) => Ok(token.to_string()),
            Some(token) if token == self.key => Err(ApiError::new(
                Kind::Auth,
                "It looks like you're trying to use an API key as a Bearer token. Remove the Bearer prefix from the Authorization header.",
            )),
            Some(_) => Err(refused()),
            None if !self.key.is_empty() && auth == self.key => Ok(auth.to_string()),
            None => Err(refused()),
        }
    }

    fn answer(
        &mut self,
        headers: &HeaderMap,
        request: Option<&GqlRequest>,
        text: &str,
        seen: &mut Seen,
    ) -> Answer {
        let cred = self.credential(headers);
        seen.authorized = cred.is_ok();
        if let Some(status) = take_failure(&mut self.hooks, text, false) {
            return failure(status);
        }
        let cred = match cred {
            Ok(c) => c,
            Err(e) => return Answer::errors(&[e]),
        };
        let limits = self.limits;
        let bucket = self
            .buckets
            .entry(cred.clone())
            .or_insert_with(|| Bucket::full(&limits));
        bucket.refill(&limits);
        let mut answer = if bucket.requests < 1.0 {
            self.limited()
        } else {
            bucket.requests -= 1.0;
            let answer = self.run(&cred, request, text, seen);
            match take_failure(&mut self.hooks, text, true) {
                Some(status) => failure(status),
                None => answer,
            }
        };
        answer
            .headers
            .extend(self.rate_headers(&cred, seen.complexity));
        answer
    }

    fn limited(&self) -> Answer {
        let e = ApiError::new(Kind::RateLimited, "Rate limit exceeded")
            .presentable("Too many requests: you have exceeded the API rate limit.")
            .with_status(self.limits.status);
        Answer::errors(&[e])
    }

    fn rate_headers(&self, cred: &str, complexity: Option<f64>) -> Vec<(&'static str, String)> {
        self.buckets.get(cred).map_or_else(Vec::new, |b| {
            limits::headers(
                b,
                &self.limits,
                self.store.now().timestamp_millis(),
                complexity,
            )
        })
    }

    /// Parse, validate, cost and execute one request.
    fn run(
        &mut self,
        cred: &str,
        request: Option<&GqlRequest>,
        text: &str,
        seen: &mut Seen,
    ) -> Answer {
        let Some(query) = request.and_then(|r| r.query.as_deref()) else {
            return Answer::errors(&[ApiError::new(
                Kind::Graphql,
                "GraphQL operations must contain a non-empty `query` or a `persistedQuery` extension.",
            )]);
        };
        let schema = schema();
        let doc = match ExecutableDocument::parse_and_validate(schema, query, "request.graphql") {
            Ok(doc) => doc,
            Err(with) => {
                let errors: Vec<ApiError> = with
                    .errors
                    .iter()
                    .map(|d| {
                        let e = d.unstable_to_json_compat();
                        let mut api = ApiError::new(Kind::Graphql, syntax_wording(&e.message));
                        api.locations = e.locations.iter().map(|l| (l.line, l.column)).collect();
                        api
                    })
                    .collect();
                return Answer::errors(&errors);
            }
        };
        let name = request.and_then(|r| r.operation_name.as_deref());
        let op = match doc.operations.get(name) {
            Ok(op) => op,
            Err(e) => {
                return Answer::errors(&[ApiError::new(Kind::Graphql, e.message().to_string())]);
            }
        };
        seen.operation = op.name.as_ref().map(|n| n.to_string());
        seen.mutation = Some(op.operation_type == OperationType::Mutation);
        let vars = request
            .and_then(|r| r.variables.clone())
            .unwrap_or_default();
        let cost = complexity::of(schema, &doc, &op.selection_set, &vars);
        seen.complexity = Some(cost);
        if cost > f64::from(self.limits.max_complexity) {
            return Answer::errors(&[ApiError::input(
                "Query too complex",
                format!(
                    "The query is too complex. Complexity: {cost}. Maximum allowed complexity: {}.",
                    self.limits.max_complexity
                ),
            )]);
        }
        if let Some(bucket) = self.buckets.get_mut(cred) {
            if bucket.complexity < cost {
                return self.limited();
            }
            bucket.complexity -= cost;
        }
        let mutation = op.operation_type == OperationType::Mutation;
        let lag = match self.hooks.lag.as_mut() {
            Some(rule) if mutation && text.contains(rule.text.as_str()) => {
                rule.seen += 1;
                (rule.seen % rule.every == 0).then_some(rule.delay)
            }
            _ => None,
        };
        let ctx = Ctx {
            store: RefCell::new(std::mem::take(&mut self.store)),
            errors: RefCell::new(Vec::new()),
            lag,
            duplicate: self.hooks.duplicate,
        };
        let variables: JsonMap = serde_json::from_value(Value::Object(vars)).unwrap_or_default();
        let exec = Execution::new(schema, &doc)
            .operation(op)
            .raw_variable_values(&variables);
        let result = match op.operation_type {
            OperationType::Query => exec.execute_sync(&QueryRoot { ctx: &ctx }),
            OperationType::Mutation => exec.execute_sync(&MutationRoot { ctx: &ctx }),
            OperationType::Subscription => {
                self.store = ctx.store.into_inner();
                return Answer::errors(&[ApiError::unsupported("subscriptions")]);
            }
        };
        let Ctx { store, errors, .. } = ctx;
        self.store = store.into_inner();
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                return Answer::errors(&[ApiError::new(Kind::Graphql, e.message().to_string())]);
            }
        };
        let mut raised = errors.into_inner();
        let mut status = 200;
        let errors: Vec<JsonValue> = response
            .errors
            .iter()
            .map(|e| {
                // The executor words a resolver's error "resolver error: …".
                let said = e
                    .message
                    .strip_prefix("resolver error: ")
                    .unwrap_or(&e.message);
                let mut api = match raised.iter().position(|r| r.message == said) {
                    Some(i) => raised.remove(i),
                    // The executor's own complaint: a resolver of the fake answered wrongly.
                    None => ApiError::new(Kind::Internal, e.message.clone()),
                };
                if status == 200 {
                    status = api.status;
                }
                api.locations = e.locations.iter().map(|l| (l.line, l.column)).collect();
                let path = serde_json::to_value(&e.path).ok().map(JsonValue::from);
                api.to_json(path)
            })
            .collect();
        // `data` keeps the order of the selection set, as GraphQL asks.
        let mut data = response.data.map_or(JsonValue::Null, JsonValue::Object);
        js_numbers(&mut data);
        let mut body = JsonMap::new();
        if !errors.is_empty() {
            body.insert("errors", JsonValue::Array(errors));
        }
        body.insert("data", data);
        Answer::json(status, JsonValue::Object(body))
    }
}

/// graphql-js words a syntax error "Syntax Error: …".
fn syntax_wording(message: &str) -> String {
    match message.strip_prefix("syntax error: ") {
        Some(rest) => format!("Syntax Error: {rest}"),
        None => message.to_string(),
    }
}

/// `PUT` to a signed upload address from `fileUpload`: needs the header it answered, and
/// never the API key (a signed address is another service: the key must not travel there).
/// The body must be the size `fileUpload` declared.
pub(crate) async fn put_upload(
    State(st): State<Shared>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut fake = lock(&st);
    let Some(upload) = fake.store.uploads.get_mut(&id) else {
        return (axum::http::StatusCode::NOT_FOUND, "no such upload").into_response();
    };
    if headers.contains_key("authorization") {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            "a signed upload address takes no Authorization header",
        )
            .into_response();
    }
    let signed = headers
        .get("x-fake-signature")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == upload.signature);
    if !signed {
        return (axum::http::StatusCode::FORBIDDEN, "SignatureDoesNotMatch").into_response();
    }
    if body.len() as u64 != upload.size {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            "the body is not the size that was declared",
        )
            .into_response();
    }
    upload.bytes = Some(body.to_vec());
    axum::http::StatusCode::OK.into_response()
}

/// An uploaded asset, with the API key (private uploads need it).
pub(crate) async fn get_asset(
    State(st): State<Shared>,
    axum::extract::Path((id, name)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let fake = lock(&st);
    if fake.credential(&headers).is_err() {
        return (axum::http::StatusCode::UNAUTHORIZED, "not authenticated").into_response();
    }
    match fake.store.uploads.get(&id) {
        Some(u) if u.filename == name && u.bytes.is_some() => (
            [(axum::http::header::CONTENT_TYPE, u.content_type.clone())],
            u.bytes.clone().unwrap_or_default(),
        )
            .into_response(),
        _ => (axum::http::StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
