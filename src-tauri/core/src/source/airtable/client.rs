//! Airtable's Web API as Delegate uses it: records of one table (listed with a formula,
//! read, patched), their comments, and the meta API (who the token is, its bases and their
//! tables). Airtable allows 5 requests a second per base and refuses a base for 30 s after a
//! 429: the client spaces its requests to a base and sends nothing to it while refused.

use crate::secrets::Secret;
use crate::source::http::{self, NetworkKind, ServerClock};
use crate::source::{RetryPolicy, ServiceFailure, SourceError};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Airtable's public API.
pub const DEFAULT_API_URL: &str = "https://api.airtable.com";
/// Between two requests to one base (5 a second at most, with a margin).
const SPACING: Duration = Duration::from_millis(210);
/// How long Airtable refuses a base after a 429.
const PENALTY: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum AirtableError {
    #[error("Airtable rejected the token; {}", self.fix())]
    Unauthorized,
    #[error("Airtable refused: {message}; {}", self.fix())]
    Forbidden { message: String },
    #[error("Airtable could not find {what}: {message}; {}", self.fix())]
    NotFound { what: String, message: String },
    #[error("Airtable refused the request ({kind}): {message}; {}", self.fix())]
    Invalid { kind: String, message: String },
    #[error("Airtable's limit of 5 requests a second for this base was reached; it refuses the base until {}; {}", until.format("%H:%M:%S UTC"), self.fix())]
    RateLimited { until: DateTime<Utc> },
    #[error("Airtable answered HTTP {status}: {message}; {}", self.fix())]
    Api { status: u16, message: String },
    #[error("cannot reach Airtable at {url}: {message}; {}", self.fix())]
    Network {
        url: String,
        kind: NetworkKind,
        message: String,
    },
    #[error("unexpected answer from Airtable for {what}: {message}; {}", self.fix())]
    Decode { what: String, message: String },
}

impl AirtableError {
    pub fn fix(&self) -> String {
        match self {
            AirtableError::Unauthorized => "create a personal access token at \
                airtable.com/create/tokens (scopes data.records:read, data.records:write, \
                data.recordComments:read, data.recordComments:write, schema.bases:read; the base \
                added) and set it with `delegate token set --source airtable` (or AIRTABLE_TOKEN, \
                or the app's Settings)"
                .into(),
            AirtableError::Forbidden { .. } => "the token works but may not do that: add the \
                base to the token's access and give it the record, comment and schema scopes"
                .into(),
            AirtableError::NotFound { .. } => {
                "check the base, table and field names in the employee's settings".into()
            }
            AirtableError::Invalid { .. } => "check the field names and status values \
                ([airtable] columns and statuses in config.toml): the Status field's options must \
                include every status Delegate sets"
                .into(),
            AirtableError::RateLimited { .. } => {
                "Delegate waits and tries again by itself (a longer poll helps if it lasts)".into()
            }
            AirtableError::Api { status, .. } if *status >= 500 => {
                "Airtable is having trouble right now; Delegate tries again by itself".into()
            }
            AirtableError::Api { .. } | AirtableError::Decode { .. } => {
                "if this lasts, please report it with this message".into()
            }
            AirtableError::Network { kind, .. } => {
                kind.fix("Airtable", "`[airtable] api_url` in config.toml")
            }
        }
    }
}

impl ServiceFailure for AirtableError {
    fn what(&self) -> String {
        let text = self.to_string();
        let fix = format!("; {}", self.fix());
        text.strip_suffix(&fix).map(str::to_string).unwrap_or(text)
    }
    fn fix(&self) -> String {
        AirtableError::fix(self)
    }
    fn is_gone(&self) -> bool {
        matches!(self, AirtableError::NotFound { what, .. } if what == "the record")
    }
    fn is_rejected_token(&self) -> bool {
        matches!(self, AirtableError::Unauthorized)
    }
    fn is_ambiguous(&self) -> bool {
        matches!(self, AirtableError::Network { .. })
            || matches!(self, AirtableError::Api { status, .. } if *status >= 500)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl From<AirtableError> for SourceError {
    fn from(e: AirtableError) -> Self {
        SourceError::service(e)
    }
}

/// A record as listed.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub id: String,
    pub created_time: DateTime<Utc>,
    #[serde(default)]
    pub fields: Map<String, Value>,
    #[serde(default)]
    pub comment_count: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Author {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireComment {
    pub id: String,
    pub author: Author,
    pub text: String,
    pub created_time: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BaseInfo {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FieldInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub options: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TableInfo {
    pub id: String,
    pub name: String,
    pub fields: Vec<FieldInfo>,
}

impl FieldInfo {
    /// A single select's options.
    pub fn choices(&self) -> Vec<String> {
        self.options
            .as_ref()
            .and_then(|o| o.get("choices"))
            .and_then(Value::as_array)
            .map(|c| {
                c.iter()
                    .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// One base's turn: when its next request may go, and until when (here, and in words) a
/// 429 refuses it.
type Pace = (Instant, Option<(Instant, DateTime<Utc>)>);

pub struct AirtableClient {
    http: reqwest::Client,
    url: String,
    token: Secret,
    policy: RetryPolicy,
    requests: AtomicU64,
    clock: Mutex<ServerClock>,
    /// Per base: when the next request may go, and until when it is refused.
    pace: Mutex<HashMap<String, Pace>>,
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A record's address under the API (`/v0/{base}/{table}/{record}`).
fn record_path(base: &str, table: &str, id: &str) -> String {
    format!("/v0/{}/{}/{}", encode(base), encode(table), encode(id))
}

/// A string literal for a formula (backslash escapes, as Airtable's clients write them).
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl AirtableClient {
    pub fn new(url: &str, token: Secret, policy: RetryPolicy) -> Result<Self, AirtableError> {
        let http = http::client(policy.request_timeout).map_err(|(kind, message)| {
            AirtableError::Network {
                url: url.to_string(),
                kind,
                message,
            }
        })?;
        Ok(Self {
            http,
            url: url.trim_end_matches('/').to_string(),
            token,
            policy,
            requests: AtomicU64::new(0),
            clock: Mutex::new(ServerClock::default()),
            pace: Mutex::new(HashMap::new()),
        })
    }

    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn clock(&self) -> ServerClock {
        *self.clock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for this base's turn; refused (without a request) while a 429 holds.
    async fn turn(&self, base: Option<&str>) -> Result<(), AirtableError> {
        let Some(base) = base else { return Ok(()) };
        let wait = {
            let mut pace = self.pace.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let entry = pace.entry(base.to_string()).or_insert((now, None));
            if let Some((until, words)) = entry.1 {
                if until > now {
                    return Err(AirtableError::RateLimited { until: words });
                }
                entry.1 = None;
            }
            let at = entry.0.max(now);
            entry.0 = at + SPACING;
            at - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    fn refused(&self, base: Option<&str>) -> AirtableError {
        let until = Utc::now() + chrono::Duration::from_std(PENALTY).unwrap_or_default();
        if let Some(base) = base {
            let mut pace = self.pace.lock().unwrap_or_else(|e| e.into_inner());
            let entry = pace
                .entry(base.to_string())
                .or_insert((Instant::now(), None));
            entry.1 = Some((Instant::now() + PENALTY, until));
        }
        AirtableError::RateLimited { until }
    }

    /// One request, retried on transient failures (never a write whose answer was lost:
    /// the caller checks first). `what` names it in errors.
    async fn call(
        &self,
        base: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
        retry: bool,
    ) -> Result<Value, AirtableError> {
        let url = format!("{}{path}", self.url);
        let mut attempt = 0u32;
        loop {
            self.turn(base).await?;
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(self.token.expose());
            if let Some(b) = body {
                req = req.json(b);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let sent = req.send().await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    let (kind, message) = http::network_failure(e);
                    let err = AirtableError::Network {
                        url: self.url.clone(),
                        kind,
                        message,
                    };
                    if retry && attempt < self.policy.max_retries {
                        attempt += 1;
                        tokio::time::sleep(self.policy.delay(attempt, None)).await;
                        continue;
                    }
                    return Err(err);
                }
            };
            self.clock
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .observe(http::server_date(resp.headers()));
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if (200..300).contains(&status) {
                return Ok(value);
            }
            let (kind, message) = match value.get("error") {
                Some(Value::String(k)) => (k.clone(), k.clone()),
                Some(Value::Object(o)) => (
                    o.get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    o.get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                ),
                _ => (String::new(), text.chars().take(200).collect()),
            };
            let err = match status {
                401 => AirtableError::Unauthorized,
                403 => AirtableError::Forbidden { message },
                404 => AirtableError::NotFound {
                    what: match kind.as_str() {
                        "MODEL_ID_NOT_FOUND" => "the record".into(),
                        "TABLE_NOT_FOUND" => "the table".into(),
                        _ => what.to_string(),
                    },
                    message,
                },
                422 => AirtableError::Invalid { kind, message },
                429 => return Err(self.refused(base)),
                s => AirtableError::Api { status: s, message },
            };
            if retry && status >= 500 && attempt < self.policy.max_retries {
                attempt += 1;
                tokio::time::sleep(self.policy.delay(attempt, None)).await;
                continue;
            }
            return Err(err);
        }
    }

    fn decode<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<T, AirtableError> {
        serde_json::from_value(v).map_err(|e| AirtableError::Decode {
            what: what.to_string(),
            message: e.to_string(),
        })
    }

    pub async fn whoami(&self) -> Result<String, AirtableError> {
        let v = self
            .call(
                None,
                reqwest::Method::GET,
                "/v0/meta/whoami",
                None,
                "the token's user",
                true,
            )
            .await?;
        Ok(v.get("email")
            .or_else(|| v.get("id"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string())
    }

    pub async fn bases(&self) -> Result<Vec<BaseInfo>, AirtableError> {
        #[derive(Deserialize)]
        struct Page {
            bases: Vec<BaseInfo>,
            offset: Option<String>,
        }
        let mut out = Vec::new();
        let mut offset: Option<String> = None;
        for _ in 0..20 {
            let path = match &offset {
                Some(o) => format!("/v0/meta/bases?offset={}", encode(o)),
                None => "/v0/meta/bases".into(),
            };
            let v = self
                .call(None, reqwest::Method::GET, &path, None, "the bases", true)
                .await?;
            let page: Page = Self::decode(v, "the bases")?;
            out.extend(page.bases);
            match page.offset {
                Some(o) => offset = Some(o),
                None => break,
            }
        }
        Ok(out)
    }

    pub async fn tables(&self, base: &str) -> Result<Vec<TableInfo>, AirtableError> {
        #[derive(Deserialize)]
        struct Tables {
            tables: Vec<TableInfo>,
        }
        let v = self
            .call(
                None,
                reqwest::Method::GET,
                &format!("/v0/meta/bases/{}/tables", encode(base)),
                None,
                "the base's tables",
                true,
            )
            .await?;
        Ok(Self::decode::<Tables>(v, "the base's tables")?.tables)
    }

    /// Every record the formula keeps (all pages), with only `fields` and its comment count.
    pub async fn list(
        &self,
        base: &str,
        table: &str,
        formula: &str,
        fields: &[&str],
    ) -> Result<Vec<Record>, AirtableError> {
        #[derive(Deserialize)]
        struct Page {
            records: Vec<Record>,
            offset: Option<String>,
        }
        let mut out = Vec::new();
        let mut offset: Option<String> = None;
        for _ in 0..100 {
            let mut body = json!({
                "filterByFormula": formula,
                "pageSize": 100,
                "fields": fields,
                "recordMetadata": ["commentCount"],
            });
            if let Some(o) = &offset {
                body["offset"] = json!(o);
            }
            // POST listRecords: a formula never makes the address too long.
            let v = self
                .call(
                    Some(base),
                    reqwest::Method::POST,
                    &format!("/v0/{}/{}/listRecords", encode(base), encode(table)),
                    Some(&body),
                    "the table's records",
                    true,
                )
                .await?;
            let page: Page = Self::decode(v, "the table's records")?;
            out.extend(page.records);
            match page.offset {
                Some(o) => offset = Some(o),
                None => break,
            }
        }
        Ok(out)
    }

    pub async fn record(&self, base: &str, table: &str, id: &str) -> Result<Record, AirtableError> {
        let v = self
            .call(
                Some(base),
                reqwest::Method::GET,
                &record_path(base, table, id),
                None,
                "the record",
                true,
            )
            .await?;
        Self::decode(v, "the record")
    }

    /// Sets some fields (the others are left as they are). Idempotent: retried.
    pub async fn patch(
        &self,
        base: &str,
        table: &str,
        id: &str,
        fields: Value,
    ) -> Result<Record, AirtableError> {
        let v = self
            .call(
                Some(base),
                reqwest::Method::PATCH,
                &record_path(base, table, id),
                Some(&json!({ "fields": fields })),
                "the record",
                true,
            )
            .await?;
        Self::decode(v, "the record")
    }

    /// A record's comments, oldest first (Airtable lists the newest first).
    pub async fn comments(
        &self,
        base: &str,
        table: &str,
        id: &str,
    ) -> Result<Vec<WireComment>, AirtableError> {
        #[derive(Deserialize)]
        struct Page {
            comments: Vec<WireComment>,
            offset: Option<String>,
        }
        let mut out = Vec::new();
        let mut offset: Option<String> = None;
        for _ in 0..50 {
            let mut path = format!("{}/comments?pageSize=100", record_path(base, table, id));
            if let Some(o) = &offset {
                path.push_str(&format!("&offset={}", encode(o)));
            }
            let v = self
                .call(
                    Some(base),
                    reqwest::Method::GET,
                    &path,
                    None,
                    "the record's comments",
                    true,
                )
                .await?;
            let page: Page = Self::decode(v, "the record's comments")?;
            out.extend(page.comments);
            match page.offset {
                Some(o) => offset = Some(o),
                None => break,
            }
        }
        out.reverse();
        Ok(out)
    }

    /// Posts a comment once (never resent here: the caller looks for it first).
    pub async fn post_comment(
        &self,
        base: &str,
        table: &str,
        id: &str,
        text: &str,
    ) -> Result<WireComment, AirtableError> {
        let v = self
            .call(
                Some(base),
                reqwest::Method::POST,
                &format!("{}/comments", record_path(base, table, id)),
                Some(&json!({ "text": text })),
                "the comment",
                false,
            )
            .await?;
        Self::decode(v, "the comment")
    }

    pub async fn edit_comment(
        &self,
        base: &str,
        table: &str,
        id: &str,
        comment: &str,
        text: &str,
    ) -> Result<(), AirtableError> {
        self.call(
            Some(base),
            reqwest::Method::PATCH,
            &format!(
                "{}/comments/{}",
                record_path(base, table, id),
                encode(comment)
            ),
            Some(&json!({ "text": text })),
            "the comment",
            true,
        )
        .await?;
        Ok(())
    }

    /// Deletes a comment; one already gone is fine.
    pub async fn delete_comment(
        &self,
        base: &str,
        table: &str,
        id: &str,
        comment: &str,
    ) -> Result<(), AirtableError> {
        match self
            .call(
                Some(base),
                reqwest::Method::DELETE,
                &format!(
                    "{}/comments/{}",
                    record_path(base, table, id),
                    encode(comment)
                ),
                None,
                "the comment",
                true,
            )
            .await
        {
            Ok(_) | Err(AirtableError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
