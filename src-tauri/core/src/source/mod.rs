//! Where tasks come from: one folder (or file) per source behind one trait, [`TaskSource`]:
//! a Todoist project (API v1, [`todoist`]) or the built-in local queue ([`local`]). Every
//! source speaks the same label-and-comment protocol, so the worker does not care which one
//! it talks to.

pub mod airtable;
pub mod github;
pub mod http;
pub mod linear;
pub mod local;
pub mod postgres;
mod registry;
mod remote;
mod retry;
pub mod service;
pub mod todoist;

use crate::claims::Claim;
use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

pub use local::{LocalQueue, LocalSource, QueueError};
pub use registry::{SOURCES, Setting, SourceInfo, SourceKind};
pub use remote::{Remote, RemoteSource};
pub use retry::RetryPolicy;
pub use service::Service;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
/// An open task, whichever source it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub description: String,
    pub labels: Vec<String>,
    /// 1 (normal) to 4 (most urgent), as Todoist's API counts.
    pub priority: u8,
    /// Todoist's `due.date`: `YYYY-MM-DD`, a floating `YYYY-MM-DDTHH:MM:SS` or one ending in `Z`.
    pub due: Option<String>,
    /// The due date repeats: completing the task moves it to the next date.
    #[serde(default)]
    pub recurring: bool,
    /// The project's own order.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub order: i64,
    pub updated_at: Option<DateTime<Utc>>,
    pub url: Option<String>,
}

impl Task {
    /// When the task is due, if it has a due date (a date alone means the start of that day).
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        parse_due(self.due.as_deref()?)
    }
}

fn parse_due(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    let local = |n: NaiveDateTime| {
        Local
            .from_local_datetime(&n)
            .earliest()
            .map(|d| d.with_timezone(&Utc))
    };
    if let Ok(n) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return local(n);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(local)
}

/// A comment on a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    pub id: String,
    pub content: String,
    pub posted_at: Option<DateTime<Utc>>,
}

/// A file on a comment: one the person attached, or a draft Delegate attached to its end
/// comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// As the service shows it (never trusted as a path).
    pub name: String,
    pub url: String,
    /// As the service declares it.
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub mime: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A service's own error, typed by its source (`TodoistError`, `GitHubError`…): see
    /// [`SourceError::downcast_ref`].
    #[error("{0}")]
    Service(Box<dyn ServiceFailure>),
    #[error(transparent)]
    Local(#[from] QueueError),
    /// The employee's target (project, repository, team) is not in the account.
    #[error("{} {} \"{wanted}\" not found; {} in this account: {available}", .kind.info().title, .kind.info().target_noun, plural(.kind.info().target_noun))]
    TargetNotFound {
        kind: SourceKind,
        wanted: String,
        available: String,
    },
}

/// An English noun's plural, for the few nouns sources use ("repository" → "repositories").
fn plural(noun: &str) -> String {
    match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{stem}ies"),
        _ => format!("{noun}s"),
    }
}

/// What every service's error tells the rest of Delegate, whichever service it is.
pub trait ServiceFailure: std::error::Error + Send + Sync + 'static {
    /// What happened, without the advice.
    fn what(&self) -> String;
    /// What a person can do about it, in plain words.
    fn fix(&self) -> String;
    /// The task is gone: a write for it can never land.
    fn is_gone(&self) -> bool;
    /// The service refused the token (HTTP 401).
    fn is_rejected_token(&self) -> bool;
    /// The write may have landed although no answer said so.
    fn is_ambiguous(&self) -> bool {
        false
    }
    /// For [`SourceError::downcast_ref`].
    fn as_any(&self) -> &dyn std::any::Any;
}

impl SourceError {
    /// A service's own error.
    pub fn service(e: impl ServiceFailure) -> Self {
        SourceError::Service(Box::new(e))
    }

    /// The service's own error, when it is one of type `T`.
    pub fn downcast_ref<T: ServiceFailure>(&self) -> Option<&T> {
        match self {
            SourceError::Service(e) => e.as_any().downcast_ref::<T>(),
            _ => None,
        }
    }

    /// A failed write that may have landed anyway (a timeout, a 5xx, a dropped connection).
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, SourceError::Service(e) if e.is_ambiguous())
    }
}

/// How a run ends on the task: its labels and its comment, as one write with ids fixed when
/// it is made. Kept in the history's outbox until it landed, and resent with the same ids
/// (Todoist: the same command uuids), so it is applied exactly once even across a crash or a
/// long outage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finish {
    pub task_id: String,
    /// The task's new labels; none when the run never touched them (a withdrawn claim).
    /// (Outbox rows from before hold a plain list, which reads as `Some`.)
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// The end comment; none when the claim is simply withdrawn.
    pub text: Option<String>,
    /// A comment to delete with it (the claim of a run that never really ran).
    #[serde(default)]
    pub delete_note: Option<String>,
    /// More comments to delete (the live progress of a run that lost its claim).
    #[serde(default)]
    pub delete_more: Vec<String>,
    /// uuid of the label change, uuid of the comment, temp id of the comment, uuid of the
    /// deletion.
    pub ids: [String; 4],
    /// Files attached to the end comment (drafts too long to read in it), already uploaded.
    #[serde(default)]
    pub files: Vec<FileRef>,
    /// Completes the task too (a recurring task's occurrence with nothing to do moves on to
    /// its next date): the uuid of that write.
    #[serde(default)]
    pub close: Option<String>,
    /// The claim of the run this ends: a source that records who holds a task applies the
    /// end only while that claim still holds it (a machine that slept past its lease never
    /// overwrites the machine that took over).
    #[serde(default)]
    pub claim: Option<String>,
}

impl Finish {
    pub fn new(task_id: &str, labels: Vec<String>, text: String) -> Self {
        let id = || uuid::Uuid::new_v4().to_string();
        Self {
            task_id: task_id.to_string(),
            labels: Some(labels),
            text: Some(text),
            delete_note: None,
            delete_more: Vec::new(),
            ids: [id(), id(), id(), id()],
            files: Vec::new(),
            close: None,
            claim: None,
        }
    }

    /// The same end, completing the task as well.
    pub fn closing(mut self) -> Self {
        self.close = Some(uuid::Uuid::new_v4().to_string());
        self
    }

    /// Takes a claim back as if it never was: its comments deleted, and the labels set only
    /// when given (a claim that never wrote labels leaves them as the others left them).
    pub fn withdraw(
        task_id: &str,
        labels: Option<Vec<String>>,
        claim_note: &str,
        more: Vec<String>,
    ) -> Self {
        let mut f = Self::new(task_id, Vec::new(), String::new());
        f.labels = labels;
        f.text = None;
        f.delete_note = (!claim_note.is_empty()).then(|| claim_note.to_string());
        f.delete_more = more;
        f
    }
}

/// A claim written to the task but not decided yet: it is decided by a read made at least
/// the source's settle time after the claim's own `posted_at` (see [`crate::claims`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub task_id: String,
    pub claim: Claim,
    /// The claim comment (empty until known).
    pub note_id: String,
    /// When the source stamped the claim (its clock), once seen.
    pub posted_at: Option<DateTime<Utc>>,
    /// The source's time from which a read decides the claim.
    pub settle_at: DateTime<Utc>,
    /// Comment ids the claimer knew of when it decided to claim.
    pub known: HashSet<String>,
    /// Settle reads that did not show the claim itself yet.
    pub unseen_reads: u32,
}

/// How a claim came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// Written; decided by [`Source::settle`].
    Pending(Pending),
    /// This machine works the task; `note_id` is the claim comment.
    Won { note_id: String },
    /// Another machine claimed first. The claim is withdrawn by the caller's next write.
    Lost {
        machine: String,
        /// What to send to take the claim back (nothing when nothing was written).
        withdraw: Option<Finish>,
    },
}

/// One employee's view of its task source: the operations the worker needs, whatever the
/// queue behind them. Every source speaks the same label-and-comment protocol
/// ([`crate::labels`], [`crate::claims`]); a source that may show writes late settles its
/// claims ([`TaskSource::settle_secs`]).
#[async_trait::async_trait]
pub trait TaskSource: Send + Sync {
    /// Which source this is (for the run's record and the words shown).
    fn kind(&self) -> SourceKind;

    /// Open tasks. A source may serve them from a view younger than `max_age`, so one
    /// round-trip serves every employee of an account.
    async fn open_tasks(&self, max_age: Duration) -> Result<Vec<Task>, SourceError>;

    /// The task's comments, oldest first.
    async fn comments(&self, task_id: &str, max_age: Duration)
    -> Result<Vec<Comment>, SourceError>;

    /// The source's clock (as far as this machine can tell), for leases.
    async fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// Claims the task unless another claim comes first; see [`crate::claims`]. The claim
    /// is sent with `finishes` (earlier runs' ends) no earlier than `not_before`; it is
    /// pending until [`TaskSource::settle`] when the source settles claims, else decided.
    #[allow(clippy::too_many_arguments)]
    async fn claim(
        &self,
        task_id: &str,
        claim: &Claim,
        finishes: &[Finish],
        not_before: Option<DateTime<Utc>>,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Result<Claimed, SourceError>;

    /// Decides a pending claim on a settled view (`Won` or `Lost`); `finishes` ride along
    /// with the read when one is needed.
    async fn settle(
        &self,
        pending: &mut Pending,
        finishes: &[Finish],
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Result<Claimed, SourceError>;

    /// A claim that beats the won claim `claim_id` but showed up only after it was decided:
    /// the machine and its end comment when it already finished. No request. (A source
    /// that decides claims in one transaction never has one.)
    async fn rival(
        &self,
        _task_id: &str,
        _claim_id: &str,
        _known: &HashSet<String>,
        _default_lease: u64,
        _dead: &HashSet<String>,
    ) -> Option<(String, Option<String>)> {
        None
    }

    /// The task's labels as this machine last saw them (no request).
    async fn labels_now(&self, task_id: &str) -> Option<Vec<String>>;

    /// When the claim comment `note` was stamped (the source's clock), if known.
    async fn posted_at(&self, note: &str, task_id: &str) -> Option<DateTime<Utc>>;

    /// Sends runs' ends that waited to ride along with another request.
    async fn send(&self, finishes: &[Finish]) -> Result<(), SourceError>;

    /// Renews a claim's lease; returns the id of the comment that now carries it.
    async fn renew(
        &self,
        task_id: &str,
        note_id: &str,
        claim: &Claim,
    ) -> Result<String, SourceError>;

    /// Live progress: one comment, edited in place. Returns its id.
    async fn progress(
        &self,
        task_id: &str,
        note: Option<&str>,
        text: &str,
    ) -> Result<Option<String>, SourceError>;

    /// Applies a run's end (once, however often it is sent).
    async fn finish(&self, finish: &Finish) -> Result<(), SourceError>;

    /// New labels and a comment, in one write.
    async fn labels_and_comment(
        &self,
        task_id: &str,
        labels: &[String],
        text: &str,
    ) -> Result<(), SourceError>;

    async fn set_labels(&self, task_id: &str, labels: &[String]) -> Result<(), SourceError>;

    /// One task as it is now (fresh from the service).
    async fn task(&self, task_id: &str) -> Result<Task, SourceError>;

    /// The files attached to the task's comments, with the comment each is on (from the
    /// view the last read left; no request). Empty for a source without attachments.
    async fn files(&self, _task_id: &str) -> Vec<(String, FileRef)> {
        Vec::new()
    }

    /// Uploads `bytes` as a file to attach to a comment on the task. `None` when this
    /// source cannot attach files (the draft is then cut in the comment instead).
    async fn upload(
        &self,
        _task_id: &str,
        _name: &str,
        _bytes: Vec<u8>,
    ) -> Result<Option<FileRef>, SourceError> {
        Ok(None)
    }

    /// Downloads an attached file, at most `max` bytes (`None` when it is larger). The
    /// source's token goes only to the source's own hosts.
    async fn download(&self, _file: &FileRef, _max: u64) -> Result<Option<Vec<u8>>, SourceError> {
        Ok(None)
    }

    /// Completes the task, setting `labels` first in the same write when given.
    async fn close(&self, task_id: &str, labels: Option<&[String]>) -> Result<(), SourceError>;

    /// How long after its `posted_at` a claim is decided (0: at once).
    fn settle_secs(&self) -> u64 {
        0
    }

    /// Whether claims wait for a settled view (a source that may show writes late).
    fn settles(&self) -> bool {
        self.settle_secs() > 0
    }

    /// Forgets what this machine last saw, so the next read asks the service again (a task
    /// that vanished, a changed token).
    async fn invalidate(&self) {}

    /// Resolves when the source learns that something changed (a database's notification),
    /// so the employee polls at once; a source that cannot tell never resolves.
    async fn changed(&self) {
        std::future::pending::<()>().await
    }

    /// A won claim marks the task as being worked on at once (a workflow state, a status
    /// column), not only once the run has lasted a while: a claim taken back must set it back.
    fn labels_on_claim(&self) -> bool {
        false
    }

    /// Every draft goes to the source as a file, whatever the employee's `deliver_drafts`
    /// (a database keeps them in the row's own column).
    fn drafts_as_files(&self) -> bool {
        false
    }

    /// Adds a task for this employee, when the source takes tasks from Delegate (`None`:
    /// people add them in the service's own app).
    async fn add_task(
        &self,
        _title: &str,
        _description: &str,
        _priority: u8,
    ) -> Result<Option<String>, SourceError> {
        Ok(None)
    }
}

/// A task source as the worker holds it.
pub type Source = Arc<dyn TaskSource>;

impl SourceError {
    /// The task is gone (deleted, or completed and archived): a write for it can never land.
    pub fn is_gone(&self) -> bool {
        match self {
            SourceError::Service(e) => e.is_gone(),
            SourceError::Local(e) => matches!(e, QueueError::NoSuchTask(_)),
            SourceError::TargetNotFound { .. } => false,
        }
    }

    /// What happened, without the advice (for screens that show the fix on its own line).
    pub fn what(&self) -> String {
        match self {
            SourceError::Service(e) => e.what(),
            other => other.to_string(),
        }
    }

    /// What a person can do about it, in plain words.
    pub fn fix(&self) -> String {
        match self {
            SourceError::Service(e) => e.fix(),
            SourceError::TargetNotFound { kind, .. } => {
                let info = kind.info();
                format!(
                    "create the {} in {} or fix `{}` in config.toml",
                    info.target_noun,
                    info.title,
                    info.target().map_or("the employee's settings", |s| s.key)
                )
            }
            SourceError::Local(_) => "see the message; the local queue is on this computer".into(),
        }
    }

    /// The service refused the token (HTTP 401): a person must set a new one.
    pub fn is_rejected_token(&self) -> bool {
        matches!(self, SourceError::Service(e) if e.is_rejected_token())
    }
}

/// See [`SourceError::is_gone`].
pub fn is_gone(e: &SourceError) -> bool {
    e.is_gone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_nouns_have_plurals() {
        assert_eq!(plural("repository"), "repositories");
        assert_eq!(plural("project"), "projects");
        assert_eq!(plural("key"), "keys");
    }

    #[test]
    fn due_forms_parse() {
        assert_eq!(
            parse_due("2026-01-02T03:04:05Z").unwrap().to_rfc3339(),
            "2026-01-02T03:04:05+00:00"
        );
        assert!(parse_due("2026-01-02T03:04:05.123456").is_some());
        assert!(parse_due("2026-01-02").is_some());
        assert!(parse_due("tomorrow").is_none());
    }
}
