//! Where tasks come from: a Todoist project (API v1) or the built-in local queue. Both speak
//! the same label-and-comment protocol, so the worker does not care which one it talks to.

mod command;
pub mod local;
mod retry;
pub mod todoist;
mod todoist_account;
mod wire;

use crate::claims::Claim;
use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

pub use local::{LocalQueue, QueueError};
pub use retry::RetryPolicy;
pub use todoist::{NetworkKind, Project, TodoistClient, TodoistError, User};
pub use todoist_account::TodoistAccount;
pub use todoist_account::is_gone;

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

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Todoist(#[from] TodoistError),
    #[error(transparent)]
    Local(#[from] QueueError),
    #[error("Todoist project \"{wanted}\" not found; projects in this account: {available}")]
    ProjectNotFound { wanted: String, available: String },
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
        }
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

/// One employee's view of its task source.
#[derive(Clone)]
pub enum Source {
    Todoist {
        account: Arc<TodoistAccount>,
        /// Project name (case-insensitive) or id, as configured.
        project: String,
    },
    Local {
        queue: Arc<LocalQueue>,
        employee: String,
    },
}

impl Source {
    /// Open tasks. For Todoist, a snapshot younger than `max_age` is reused, so one sync
    /// round-trip serves every employee of the account.
    pub async fn open_tasks(&self, max_age: Duration) -> Result<Vec<Task>, SourceError> {
        match self {
            Source::Todoist { account, project } => account.open_tasks(project, max_age).await,
            Source::Local { queue, employee } => Ok(queue.open_tasks(employee)?),
        }
    }

    /// The task's comments, oldest first (Todoist: from the snapshot, no extra request).
    pub async fn comments(
        &self,
        task_id: &str,
        max_age: Duration,
    ) -> Result<Vec<Comment>, SourceError> {
        match self {
            Source::Todoist { account, .. } => account.comments(task_id, max_age).await,
            Source::Local { queue, .. } => Ok(queue.comments(task_id)?),
        }
    }

    /// The source's clock (Todoist's, as far as this machine can tell), for leases.
    pub async fn now(&self) -> DateTime<Utc> {
        match self {
            Source::Todoist { account, .. } => account.now().await,
            Source::Local { .. } => Utc::now(),
        }
    }

    /// Claims the task unless another claim comes first; see [`crate::claims`]. Todoist:
    /// a claim comment sent with `finishes` (earlier runs' ends) no earlier than
    /// `not_before`, pending until [`Source::settle`]. The local queue decides at once.
    #[allow(clippy::too_many_arguments)]
    pub async fn claim(
        &self,
        task_id: &str,
        claim: &Claim,
        finishes: &[Finish],
        not_before: Option<DateTime<Utc>>,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Result<Claimed, SourceError> {
        match self {
            Source::Todoist { account, .. } => {
                account
                    .claim(task_id, claim, finishes, not_before, default_lease, dead)
                    .await
            }
            Source::Local { queue, .. } => {
                for f in finishes {
                    queue.finish(f)?;
                }
                Ok(queue.claim(task_id, claim, default_lease, dead)?)
            }
        }
    }

    /// Decides a pending claim on a settled view (`Won` or `Lost`); `finishes` ride along
    /// with the read when one is needed.
    pub async fn settle(
        &self,
        pending: &mut Pending,
        finishes: &[Finish],
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Result<Claimed, SourceError> {
        match self {
            Source::Todoist { account, .. } => {
                account.settle(pending, finishes, default_lease, dead).await
            }
            Source::Local { .. } => {
                self.send(finishes).await?;
                Ok(Claimed::Won {
                    note_id: pending.note_id.clone(),
                })
            }
        }
    }

    /// A claim that beats the won claim `claim_id` but showed up only after it was decided:
    /// the machine and its end comment when it already finished. No request.
    pub async fn rival(
        &self,
        task_id: &str,
        claim_id: &str,
        known: &HashSet<String>,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Option<(String, Option<String>)> {
        match self {
            Source::Todoist { account, .. } => {
                account
                    .rival(task_id, claim_id, known, default_lease, dead)
                    .await
            }
            // One transaction decides a local claim: nothing shows up late.
            Source::Local { .. } => None,
        }
    }

    /// The task's labels as this machine last saw them (no request).
    pub async fn labels_now(&self, task_id: &str) -> Option<Vec<String>> {
        match self {
            Source::Todoist { account, .. } => account.labels_now(task_id).await,
            Source::Local { queue, .. } => queue.task(task_id).ok().map(|t| t.labels),
        }
    }

    /// When the claim comment `note` was stamped (the source's clock), if known.
    pub async fn posted_at(&self, note: &str, task_id: &str) -> Option<DateTime<Utc>> {
        match self {
            Source::Todoist { account, .. } => account.posted_at(note).await,
            Source::Local { queue, .. } => queue
                .comments(task_id)
                .ok()?
                .into_iter()
                .find(|c| c.id == note)
                .and_then(|c| c.posted_at),
        }
    }

    /// Sends runs' ends that waited to ride along with another request.
    pub async fn send(&self, finishes: &[Finish]) -> Result<(), SourceError> {
        match self {
            Source::Todoist { account, .. } => account.send(finishes).await,
            Source::Local { queue, .. } => {
                for f in finishes {
                    queue.finish(f)?;
                }
                Ok(())
            }
        }
    }

    /// Renews a claim's lease; returns the id of the comment that now carries it.
    pub async fn renew(
        &self,
        task_id: &str,
        note_id: &str,
        claim: &Claim,
    ) -> Result<String, SourceError> {
        match self {
            Source::Todoist { account, .. } => account.renew(task_id, note_id, claim).await,
            Source::Local { queue, .. } => {
                queue.renew(note_id)?;
                Ok(note_id.to_string())
            }
        }
    }

    /// Live progress: one comment, edited in place. Returns its id.
    pub async fn progress(
        &self,
        task_id: &str,
        note: Option<&str>,
        text: &str,
    ) -> Result<Option<String>, SourceError> {
        match self {
            Source::Todoist { account, .. } => account.progress(task_id, note, text).await,
            Source::Local { queue, .. } => Ok(Some(queue.put_comment(task_id, note, text)?)),
        }
    }

    /// Applies a run's end (once, however often it is sent).
    pub async fn finish(&self, finish: &Finish) -> Result<(), SourceError> {
        match self {
            Source::Todoist { account, .. } => account.finish(finish).await,
            Source::Local { queue, .. } => Ok(queue.finish(finish)?),
        }
    }

    /// New labels and a comment, in one write.
    pub async fn labels_and_comment(
        &self,
        task_id: &str,
        labels: &[String],
        text: &str,
    ) -> Result<(), SourceError> {
        match self {
            Source::Todoist { account, .. } => {
                account.labels_and_comment(task_id, labels, text).await
            }
            Source::Local { queue, .. } => Ok(queue.labels_and_comment(task_id, labels, text)?),
        }
    }

    pub async fn set_labels(&self, task_id: &str, labels: &[String]) -> Result<(), SourceError> {
        match self {
            Source::Todoist { account, .. } => account.set_labels(task_id, labels).await,
            Source::Local { queue, .. } => Ok(queue.set_labels(task_id, labels)?),
        }
    }

    /// One task as it is now (fresh from the server for Todoist).
    pub async fn task(&self, task_id: &str) -> Result<Task, SourceError> {
        match self {
            Source::Todoist { account, .. } => Ok(account.client().task(task_id).await?),
            Source::Local { queue, .. } => Ok(queue.task(task_id)?),
        }
    }

    /// Completes the task, setting `labels` first in the same write when given.
    pub async fn close(&self, task_id: &str, labels: Option<&[String]>) -> Result<(), SourceError> {
        match self {
            Source::Todoist { account, .. } => account.close(task_id, labels).await,
            Source::Local { queue, .. } => {
                if let Some(l) = labels {
                    queue.set_labels(task_id, l)?;
                }
                Ok(queue.close(task_id)?)
            }
        }
    }

    /// Whether claims wait for a settled view (a source that may show writes late).
    pub fn settles(&self) -> bool {
        self.settle_secs() > 0
    }

    /// How long after its `posted_at` a claim is decided.
    pub fn settle_secs(&self) -> u64 {
        match self {
            Source::Todoist { account, .. } => account.settle_secs(),
            Source::Local { .. } => 0,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Source::Todoist { .. } => "todoist",
            Source::Local { .. } => "local",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
