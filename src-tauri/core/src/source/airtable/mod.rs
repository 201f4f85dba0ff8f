//! Airtable (Web API): an employee works on one table of a base (`airtable_base = "app…"`,
//! `airtable_table`), its records selected by a single-select Status field, as the seed's
//! content pipelines keep them. The Status is the workflow — Todo → In progress → Review
//! (a draft, or a question) → Done once approved, Failed after the last attempt — and follows
//! the labels the worker sets; claims, progress and results are comments on the record, each
//! with a marker so a write whose answer was lost is looked for before it is sent again (see
//! [`crate::source::remote`]). Airtable has no labels, so a record's retry count and whether
//! it waits for an answer are read from its last end comment; its comments are read only when
//! its comment count (listed with the records) or its status changed. With
//! `airtable_draft_field`, the drafts are also written to that long-text field.

pub mod client;

pub use client::{AirtableClient, AirtableError, DEFAULT_API_URL};

use super::http::ServerClock;
use super::registry::Setting;
use super::remote::{Remote, RemoteSource, marker_of, with_marker};
use super::{Comment, SourceError, SourceKind, Task};
use crate::config::ServiceSettings;
use crate::labels;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Airtable as people and settings see it.
pub const INFO: super::SourceInfo = super::SourceInfo {
    kind: SourceKind::Airtable,
    title: "Airtable",
    target_noun: "base",
    target_words: "an Airtable table",
    settings: &[
        Setting {
            key: "airtable_base",
            label: "Airtable base",
            hint: "",
            example: "appXXXXXXXXXXXXXX",
            required: true,
            target: true,
            words: "base {}",
            first_run: false,
            check: Some(check_base),
        },
        Setting {
            key: "airtable_table",
            label: "Table",
            hint: "Its name or id. Records whose Status is Todo are taken.",
            example: "Content",
            required: true,
            target: false,
            words: ", table “{}”",
            first_run: true,
            check: None,
        },
        Setting {
            key: "airtable_draft_field",
            label: "Write drafts to this field",
            hint: "A long text field of the table. Empty: drafts only in the comment.",
            example: "Draft",
            required: false,
            target: false,
            words: " (drafts in “{}”)",
            first_run: true,
            check: None,
        },
    ],
    task_word: "record",
    // Airtable documents no limit for a comment; kept well below a long text's 100,000.
    comment_chars: 20_000,
    taken_words: "Records of this table whose Status is Todo",
    token_name: "personal access token",
    token_elsewhere: "",
    token_env: Some("AIRTABLE_TOKEN"),
    token_tool: None,
    default_api_url: Some(DEFAULT_API_URL),
    api_url_env: Some("DELEGATE_AIRTABLE_API_URL"),
    keychain_entry: Some("airtable-token"),
    token_help: "airtable.com/create/tokens: a personal access token with the scopes \
        data.records:read, data.records:write, data.recordComments:read, \
        data.recordComments:write and schema.bases:read, and the base added to its access",
    task_links: &["https://airtable.com/"],
    connect: Some(AirtableService::connect),
};

/// A base id as Airtable makes them.
fn check_base(s: &str) -> Result<(), String> {
    if s.starts_with("app") && s.len() == 17 && s.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(format!(
            "must be an Airtable base id like \"appXXXXXXXXXXXXXX\" (from the base's address; got \"{s}\")"
        ))
    }
}

/// The field names and status values a table uses (`[airtable] columns` and `statuses`).
#[derive(Debug, Clone)]
pub struct Names {
    pub title: String,
    pub notes: String,
    pub status: String,
    pub pending: String,
    pub working: String,
    pub review: String,
    pub needs_input: String,
    pub failed: String,
    pub done: String,
}

impl Names {
    pub fn from_settings(s: &ServiceSettings) -> Result<Self, AirtableError> {
        let mut n = Names {
            title: "Name".into(),
            notes: "Notes".into(),
            status: "Status".into(),
            pending: "Todo".into(),
            working: "In progress".into(),
            review: "Review".into(),
            needs_input: String::new(),
            failed: "Failed".into(),
            done: "Done".into(),
        };
        let refuse = |what: String| AirtableError::Invalid {
            kind: "config".into(),
            message: what,
        };
        for (k, v) in &s.columns {
            match k.as_str() {
                "title" => n.title = v.clone(),
                "notes" => n.notes = v.clone(),
                "status" => n.status = v.clone(),
                _ => {
                    return Err(refuse(format!(
                        "[airtable] columns.{k} is not a field Delegate uses; the keys are title, notes, status"
                    )));
                }
            }
        }
        for (k, v) in &s.statuses {
            let slot = match k.as_str() {
                "pending" => &mut n.pending,
                "working" => &mut n.working,
                "review" => &mut n.review,
                "needs_input" => &mut n.needs_input,
                "failed" => &mut n.failed,
                "done" => &mut n.done,
                _ => {
                    return Err(refuse(format!(
                        "[airtable] statuses.{k} is not a status Delegate uses; the keys are pending, working, review, needs_input, failed, done"
                    )));
                }
            };
            *slot = v.clone();
        }
        if n.needs_input.is_empty() {
            // A question waits where a draft does (the comment says which).
            n.needs_input = n.review.clone();
        }
        Ok(n)
    }

    /// The status values Delegate sets, each once.
    fn values(&self) -> Vec<&str> {
        let mut v = vec![
            self.pending.as_str(),
            self.working.as_str(),
            self.review.as_str(),
            self.needs_input.as_str(),
            self.failed.as_str(),
            self.done.as_str(),
        ];
        v.dedup();
        let mut seen = Vec::new();
        v.retain(|x| {
            let fresh = !seen.contains(x);
            seen.push(*x);
            fresh
        });
        v
    }

    /// The status the worker's labels stand for.
    fn status_of(&self, l: &[String]) -> &str {
        let has = |x: &str| l.iter().any(|y| y == x);
        if has(labels::WORKING) {
            &self.working
        } else if has(labels::NEEDS_INPUT) {
            &self.needs_input
        } else if has(labels::DONE) {
            &self.review
        } else if has(labels::FAILED) {
            &self.failed
        } else {
            &self.pending
        }
    }

    /// The labels a record's status and its last end comment stand for.
    fn labels_of(&self, status: &str, last_end: Option<&str>) -> Vec<String> {
        let derived = last_end
            .and_then(|e| labels::after_end(e, &[]))
            .unwrap_or_default();
        let retry: Vec<String> = derived
            .iter()
            .filter(|l| l.starts_with("agent-retry-"))
            .cloned()
            .collect();
        let asked = derived.iter().any(|l| l == labels::NEEDS_INPUT);
        if status == self.working {
            let mut out = retry;
            out.push(labels::WORKING.into());
            out
        } else if status == self.needs_input && (asked || self.needs_input != self.review) {
            vec![labels::NEEDS_INPUT.into()]
        } else if status == self.review {
            vec![labels::DONE.into()]
        } else if status == self.failed {
            vec![labels::FAILED.into()]
        } else {
            retry
        }
    }
}

/// The last of Delegate's end comments (with its marker), as text without the marker. A run
/// that was stopped ("Stopped: …") ended nothing: the failures before it still count.
fn last_end(comments: &[Comment]) -> Option<String> {
    comments
        .iter()
        .rev()
        .filter(|c| marker_of(&c.content).is_some())
        .map(|c| strip_marker(&c.content))
        .filter(|text| !text.starts_with("Stopped:"))
        .find(|text| labels::after_end(text, &[]).is_some())
}

fn strip_marker(text: &str) -> String {
    match text.rfind("<!-- delegate:") {
        Some(i) => text[..i].trim_end().to_string(),
        None => text.to_string(),
    }
}

/// Airtable as Delegate connects to it: `[airtable] api_url` and `timeout_secs`.
pub fn client(
    config: &crate::config::Config,
    token: crate::secrets::Secret,
) -> Result<AirtableClient, AirtableError> {
    AirtableClient::new(
        &config.api_url(SourceKind::Airtable),
        token,
        super::service::policy(config.service(SourceKind::Airtable).timeout_secs),
    )
}

type Tables = HashMap<(String, String, Option<String>), Arc<AirtableSource>>;

/// An Airtable token as a [`super::Service`].
pub struct AirtableService {
    client: Arc<AirtableClient>,
    names: Names,
    settle: u64,
    tables: tokio::sync::Mutex<Tables>,
}

impl AirtableService {
    pub fn connect(
        config: &crate::config::Config,
        token: crate::secrets::Secret,
    ) -> Result<Arc<dyn super::Service>, SourceError> {
        Ok(Arc::new(Self {
            client: Arc::new(client(config, token)?),
            names: Names::from_settings(&config.service(SourceKind::Airtable))?,
            settle: super::service::settle_secs(config),
            tables: tokio::sync::Mutex::new(HashMap::new()),
        }))
    }
}

#[async_trait::async_trait]
impl super::Service for AirtableService {
    fn kind(&self) -> SourceKind {
        SourceKind::Airtable
    }

    async fn who(&self) -> Result<String, SourceError> {
        Ok(self.client.whoami().await?)
    }

    async fn targets(&self) -> Result<Vec<super::service::Target>, SourceError> {
        Ok(self
            .client
            .bases()
            .await?
            .into_iter()
            .map(|b| super::service::Target {
                name: format!("{} ({})", b.name, b.id),
                value: b.id,
            })
            .collect())
    }

    async fn source_for(
        &self,
        employee: &crate::config::Employee,
    ) -> Result<super::Source, SourceError> {
        let base = employee
            .setting("airtable_base")
            .unwrap_or_default()
            .to_string();
        let table = employee
            .setting("airtable_table")
            .unwrap_or_default()
            .to_string();
        let draft = employee.setting("airtable_draft_field").map(String::from);
        let mut tables = self.tables.lock().await;
        let source = tables
            .entry((base.clone(), table.clone(), draft.clone()))
            .or_insert_with(|| {
                Arc::new(RemoteSource::new(
                    AirtableTable {
                        client: self.client.clone(),
                        base,
                        table,
                        names: self.names.clone(),
                        draft_field: draft,
                        seen: Mutex::new(HashMap::new()),
                        drafts: Mutex::new(HashMap::new()),
                    },
                    self.settle,
                ))
            })
            .clone();
        Ok(source)
    }

    /// The table is in the base, with the fields Delegate reads and writes, and a Status
    /// field that offers every status Delegate sets.
    async fn check(&self, employee: &crate::config::Employee) -> Result<String, SourceError> {
        let base = employee.setting("airtable_base").unwrap_or_default();
        let wanted = employee.setting("airtable_table").unwrap_or_default();
        let tables = self.client.tables(base).await?;
        let Some(t) = tables.iter().find(|t| t.id == wanted || t.name == wanted) else {
            return Err(SourceError::TargetNotFound {
                kind: SourceKind::Airtable,
                wanted: format!("{base} / {wanted}"),
                available: tables
                    .iter()
                    .map(|t| t.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let n = &self.names;
        let mut fields = vec![n.title.as_str(), n.notes.as_str(), n.status.as_str()];
        if let Some(d) = employee.setting("airtable_draft_field") {
            fields.push(d);
        }
        for f in fields {
            if !t.fields.iter().any(|x| x.name == f) {
                return Err(AirtableError::Invalid {
                    kind: "UNKNOWN_FIELD_NAME".into(),
                    message: format!("the table {} has no field \"{f}\"", t.name),
                }
                .into());
            }
        }
        if let Some(status) = t.fields.iter().find(|x| x.name == n.status) {
            if status.kind != "singleSelect" {
                return Err(AirtableError::Invalid {
                    kind: "config".into(),
                    message: format!(
                        "the field \"{}\" is a {}, not a single select",
                        status.name, status.kind
                    ),
                }
                .into());
            }
            let choices = status.choices();
            let missing: Vec<&str> = n
                .values()
                .into_iter()
                .filter(|v| !choices.iter().any(|c| c == v))
                .collect();
            if !missing.is_empty() {
                return Err(AirtableError::Invalid {
                    kind: "INVALID_MULTIPLE_CHOICE_OPTIONS".into(),
                    message: format!(
                        "the field \"{}\" lacks the option{} {}: add {} in Airtable",
                        status.name,
                        if missing.len() == 1 { "" } else { "s" },
                        missing.join(", "),
                        if missing.len() == 1 { "it" } else { "them" }
                    ),
                }
                .into());
            }
        }
        Ok(format!("table “{}” found in base {base}", t.name))
    }

    async fn invalidate(&self) {
        for t in self.tables.lock().await.values() {
            super::TaskSource::invalidate(t.as_ref()).await;
        }
    }
}

/// An employee's Airtable source.
pub type AirtableSource = RemoteSource<AirtableTable>;

/// What this machine last saw of a record: what makes its comments worth reading again.
#[derive(Debug, Clone)]
struct Seen {
    status: String,
    count: Option<u64>,
    title: String,
    notes: String,
    /// When it was first seen as it is (the service's clock): the record's "last change".
    since: DateTime<Utc>,
    last_end: Option<String>,
}

/// One table of a base.
pub struct AirtableTable {
    client: Arc<AirtableClient>,
    base: String,
    table: String,
    names: Names,
    draft_field: Option<String>,
    seen: Mutex<HashMap<String, Seen>>,
    /// The drafts written to the draft field in the current run, per record.
    drafts: Mutex<HashMap<String, String>>,
}

fn text(fields: &serde_json::Map<String, Value>, name: &str) -> String {
    match fields.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

impl AirtableTable {
    fn formula(&self) -> String {
        let n = &self.names;
        let field = format!("{{{}}}", n.status);
        let open: Vec<String> = [&n.pending, &n.working, &n.review, &n.needs_input, &n.failed]
            .iter()
            .map(|v| format!("{field} = {}", client::literal(v)))
            .collect();
        format!("OR({})", open.join(", "))
    }

    fn lock_seen(&self) -> std::sync::MutexGuard<'_, HashMap<String, Seen>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The task a record is, from what was seen of it.
    fn task_of(&self, id: &str, created: DateTime<Utc>, seen: &Seen) -> Task {
        Task {
            id: id.to_string(),
            title: seen.title.clone(),
            description: seen.notes.clone(),
            labels: self.names.labels_of(&seen.status, seen.last_end.as_deref()),
            priority: 1,
            due: None,
            recurring: false,
            order: created.timestamp_millis(),
            updated_at: Some(seen.since),
            url: self
                .table
                .starts_with("tbl")
                .then(|| format!("https://airtable.com/{}/{}/{id}", self.base, self.table)),
        }
    }

    /// Records what a read shows; reads the comments again when they changed.
    async fn observe(&self, r: &client::Record) -> Result<Task, SourceError> {
        let n = &self.names;
        let status = text(&r.fields, &n.status);
        let title = text(&r.fields, &n.title);
        let notes = text(&r.fields, &n.notes);
        let previous = self.lock_seen().get(&r.id).cloned();
        let changed = previous.as_ref().is_none_or(|p| {
            p.status != status
                || p.title != title
                || p.notes != notes
                || (r.comment_count.is_some() && p.count != r.comment_count)
        });
        let comments_changed = previous.as_ref().is_none_or(|p| {
            p.status != status || (r.comment_count.is_some() && p.count != r.comment_count)
        });
        let last_end = if comments_changed && r.comment_count != Some(0) {
            let comments = self.comments(&r.id).await?;
            last_end(&comments)
        } else {
            previous.as_ref().and_then(|p| p.last_end.clone())
        };
        let seen = Seen {
            status,
            count: r.comment_count.or(previous.as_ref().and_then(|p| p.count)),
            title,
            notes,
            since: if changed {
                self.client.clock().now()
            } else {
                previous.as_ref().map_or_else(Utc::now, |p| p.since)
            },
            last_end,
        };
        let task = self.task_of(&r.id, r.created_time, &seen);
        self.lock_seen().insert(r.id.clone(), seen);
        Ok(task)
    }
}

#[async_trait::async_trait]
impl Remote for AirtableTable {
    fn kind(&self) -> SourceKind {
        SourceKind::Airtable
    }

    /// Records in an open status; their comments read only where the count changed.
    async fn list(&self) -> Result<(Vec<Task>, bool), SourceError> {
        let n = &self.names;
        let records = self
            .client
            .list(
                &self.base,
                &self.table,
                &self.formula(),
                &[n.title.as_str(), n.notes.as_str(), n.status.as_str()],
            )
            .await?;
        let mut out = Vec::with_capacity(records.len());
        for r in &records {
            out.push(self.observe(r).await?);
        }
        out.sort_by_key(|t| t.order);
        let open: std::collections::HashSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
        self.lock_seen().retain(|id, _| open.contains(id.as_str()));
        Ok((out, false))
    }

    async fn comments(&self, task_id: &str) -> Result<Vec<Comment>, SourceError> {
        let all = self
            .client
            .comments(&self.base, &self.table, task_id)
            .await?;
        let comments: Vec<Comment> = all
            .into_iter()
            .map(|c| Comment {
                id: c.id,
                content: c.text,
                posted_at: Some(c.created_time),
            })
            .collect();
        if let Some(s) = self.lock_seen().get_mut(task_id) {
            s.last_end = last_end(&comments);
        }
        Ok(comments)
    }

    async fn post(&self, task_id: &str, marker: &str, text: &str) -> Result<Comment, SourceError> {
        let c = self
            .client
            .post_comment(&self.base, &self.table, task_id, &with_marker(text, marker))
            .await?;
        if labels::after_end(text, &[]).is_some()
            && let Some(s) = self.lock_seen().get_mut(task_id)
        {
            s.last_end = Some(text.to_string());
        }
        Ok(Comment {
            id: c.id,
            content: c.text,
            posted_at: Some(c.created_time),
        })
    }

    fn carries(&self, comment: &Comment, marker: &str) -> bool {
        marker_of(&comment.content) == Some(marker)
    }

    async fn edit(&self, task_id: &str, comment_id: &str, text: &str) -> Result<(), SourceError> {
        Ok(self
            .client
            .edit_comment(&self.base, &self.table, task_id, comment_id, text)
            .await?)
    }

    async fn delete(&self, task_id: &str, comment_id: &str) -> Result<(), SourceError> {
        Ok(self
            .client
            .delete_comment(&self.base, &self.table, task_id, comment_id)
            .await?)
    }

    /// The Status follows the labels: one PATCH.
    async fn relabel(
        &self,
        task_id: &str,
        _add: &[String],
        _remove: &[String],
        after: &[String],
    ) -> Result<(), SourceError> {
        let status = self.names.status_of(after).to_string();
        if after.iter().any(|l| l == labels::WORKING) {
            // A new run: its drafts replace the last run's.
            self.drafts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(task_id);
        }
        // A record a person set to Done (or removed) meanwhile stays as they left it: a run's
        // end, or a claim that settled late, never reopens it.
        let now = self.client.record(&self.base, &self.table, task_id).await?;
        let current = text(&now.fields, &self.names.status);
        if current == self.names.done {
            tracing::info!(record = %task_id, "a person set the record to done meanwhile; its status is left as it is");
            return Ok(());
        }
        self.client
            .patch(
                &self.base,
                &self.table,
                task_id,
                json!({ self.names.status.clone(): status.clone() }),
            )
            .await?;
        if let Some(s) = self.lock_seen().get_mut(task_id) {
            s.status = status;
        }
        Ok(())
    }

    fn labels_on_claim(&self) -> bool {
        true
    }

    async fn task(&self, task_id: &str) -> Result<Task, SourceError> {
        let r = self.client.record(&self.base, &self.table, task_id).await?;
        let r = client::Record {
            comment_count: None,
            ..r
        };
        self.observe(&r).await
    }

    fn drafts_as_files(&self) -> bool {
        self.draft_field.is_some()
    }

    /// Writes the draft into the draft field (several drafts of one run one after the other).
    async fn upload(
        &self,
        task_id: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<super::FileRef>, SourceError> {
        let Some(field) = &self.draft_field else {
            return Ok(None);
        };
        let draft = String::from_utf8_lossy(&bytes).into_owned();
        let whole = {
            let mut drafts = self.drafts.lock().unwrap_or_else(|e| e.into_inner());
            let entry = drafts.entry(task_id.to_string()).or_default();
            if !entry.is_empty() {
                entry.push_str(&format!("\n\n---\n\n<!-- {name} -->\n\n"));
            }
            entry.push_str(&draft);
            entry.clone()
        };
        self.client
            .patch(
                &self.base,
                &self.table,
                task_id,
                json!({ field.clone(): whole }),
            )
            .await?;
        Ok(Some(super::FileRef {
            name: name.to_string(),
            url: format!("airtable:{field}"),
            size: Some(bytes.len() as u64),
            mime: Some("text/markdown".into()),
        }))
    }

    async fn close(&self, task_id: &str) -> Result<(), SourceError> {
        self.client
            .patch(
                &self.base,
                &self.table,
                task_id,
                json!({ self.names.status.clone(): self.names.done.clone() }),
            )
            .await?;
        Ok(())
    }

    fn clock(&self) -> ServerClock {
        self.client.clock()
    }

    /// Airtable's stamps are whole seconds.
    fn rounding(&self) -> chrono::Duration {
        chrono::Duration::seconds(1)
    }

    fn ambiguous(&self, e: &SourceError) -> bool {
        e.is_ambiguous()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names::from_settings(&ServiceSettings::default()).unwrap()
    }

    #[test]
    fn a_records_labels_come_from_its_status_and_last_end() {
        let n = names();
        assert!(n.labels_of("Todo", None).is_empty());
        assert_eq!(
            n.labels_of("Todo", Some("Failed (attempt 2 of 3). Will retry.")),
            ["agent-retry-2"]
        );
        assert_eq!(
            n.labels_of("In progress", Some("Failed (attempt 1 of 3). x")),
            ["agent-retry-1", "agent-working"]
        );
        assert_eq!(
            n.labels_of("Review", Some("Done. Ready for review.")),
            ["agent-done"]
        );
        assert_eq!(
            n.labels_of(
                "Review",
                Some(&format!("{} What tone?", crate::claims::ASKED_HEAD))
            ),
            ["agent-needs-input"]
        );
        assert_eq!(n.labels_of("Failed", None), ["agent-failed"]);
        // A stopped run ended nothing: the failure before it still counts.
        let c = |id: &str, text: &str| Comment {
            id: id.into(),
            content: with_marker(text, id),
            posted_at: None,
        };
        let thread = [
            c("1", "Failed (attempt 1 of 3). x"),
            c(
                "2",
                "Stopped: Delegate was shut down before the agent finished.",
            ),
        ];
        assert_eq!(
            n.labels_of("Todo", last_end(&thread).as_deref()),
            ["agent-retry-1"]
        );
        // A person set it back to Todo after Delegate gave up: a fresh start.
        assert!(
            n.labels_of("Todo", Some("Failed after 3 attempts. x"))
                .is_empty()
        );
        for l in [
            vec![],
            vec!["agent-working".to_string()],
            vec!["agent-done".to_string()],
            vec!["agent-failed".to_string()],
        ] {
            let status = n.status_of(&l).to_string();
            assert_eq!(n.labels_of(&status, None), l);
        }
    }

    #[test]
    fn the_formula_quotes_values() {
        let mut s = ServiceSettings::default();
        s.statuses.insert("pending".into(), "To do 'now'".into());
        let t = Names::from_settings(&s).unwrap();
        assert_eq!(t.pending, "To do 'now'");
        assert_eq!(client::literal("To do 'now'"), "'To do \\'now\\''");
        s.columns.insert("colour".into(), "x".into());
        assert!(Names::from_settings(&s).is_err());
        assert!(check_base("appABCDEFGHIJ1234").is_ok());
        assert!(check_base("tblABCDEFGHIJ1234").is_err());
    }
}
