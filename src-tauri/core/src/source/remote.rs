//! What every source on a remote service shares, below the sources: the claim protocol
//! ([`crate::claims`]) settled on the service's own clock, writes made idempotent by a marker,
//! labels changed without touching a person's own, and a view that makes an idle poll cost one
//! (conditional) request. A service provides the few operations of [`Remote`] (GitHub,
//! Linear, …); [`RemoteSource`] turns them into a [`TaskSource`] with exactly-once claims.
//!
//! - **Claims** are comments. A claim is decided by a read sent at least the settle time after
//!   the claim's own stamp (plus the service's rounding), on the service's clock as its `Date`
//!   tells it, because a service may show a comment to other readers seconds after it stamped
//!   it, and not in stamp order.
//! - **Idempotent writes.** A service without idempotency keys gets every comment with a
//!   marker (its own id, fixed when the write is made: the outbox resends the same one). Before
//!   an end comment is posted the task's comments are read, and after a post that failed in a
//!   way that may have landed (no answer, a 5xx) they are read again, the settle time later,
//!   before the post is tried again. Should a comment still land twice, readers count the first
//!   and the writer deletes the other.
//! - **Labels** are added and removed one by one, and only Delegate's own are ever removed. A
//!   run's end sets them before its end comment (see [`RemoteSource::finish`]).

use super::http::ServerClock;
use super::{Claimed, Comment, Finish, Pending, SourceError, SourceKind, Task, TaskSource};
use crate::claims::{Claim, Log, Verdict};
use crate::labels;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Settle reads that may miss the claim itself before it is given up as never landed.
const MAX_UNSEEN_READS: u32 = 3;
/// Reads, the settle time apart, that look for a write whose answer never came.
const LANDED_CHECKS: u32 = 2;

/// The operations a remote service provides for a task source.
#[async_trait::async_trait]
pub trait Remote: Send + Sync + 'static {
    fn kind(&self) -> SourceKind;

    /// The open tasks this employee may see (filters applied, pull requests left out), and
    /// whether nothing changed since the last listing (a 304).
    async fn list(&self) -> Result<(Vec<Task>, bool), SourceError>;

    /// A task's comments, oldest first (conditional where the service allows it).
    async fn comments(&self, task_id: &str) -> Result<Vec<Comment>, SourceError>;

    /// Posts a comment carrying `marker`, once (the caller checks whether a failed post
    /// landed before trying again).
    async fn post(&self, task_id: &str, marker: &str, text: &str) -> Result<Comment, SourceError>;

    /// Whether `comment` is the one posted with `marker`.
    fn carries(&self, comment: &Comment, marker: &str) -> bool;

    async fn edit(&self, task_id: &str, comment_id: &str, text: &str) -> Result<(), SourceError>;

    /// Deletes a comment; one already gone is fine.
    async fn delete(&self, task_id: &str, comment_id: &str) -> Result<(), SourceError>;

    /// Adds and removes labels, leaving every other label as it is (`after`: the labels it
    /// then has, for a service whose workflow follows them).
    async fn relabel(
        &self,
        task_id: &str,
        add: &[String],
        remove: &[String],
        after: &[String],
    ) -> Result<(), SourceError>;

    /// Whether a won claim labels the task at once (`agent-working`), rather than once the
    /// run has lasted a while: for a service whose workflow state follows the labels.
    fn labels_on_claim(&self) -> bool {
        false
    }

    /// One task as it is now.
    async fn task(&self, task_id: &str) -> Result<Task, SourceError>;

    /// Whether a link in a comment points at a file this service keeps (its uploads), which
    /// [`Remote::download`] may fetch with the service's credential.
    fn file_host(&self, _url: &reqwest::Url) -> bool {
        false
    }

    /// Downloads one of the service's files (see [`Remote::file_host`]), at most `max`
    /// bytes (`None` when it is larger).
    async fn download(&self, _url: &str, _max: u64) -> Result<Option<Vec<u8>>, SourceError> {
        Ok(None)
    }

    /// Uploads a file for the task that a comment then links to (or writes it where the
    /// service keeps drafts); `None` when the service takes none.
    async fn upload(
        &self,
        _task_id: &str,
        _name: &str,
        _bytes: Vec<u8>,
    ) -> Result<Option<super::FileRef>, SourceError> {
        Ok(None)
    }

    /// Every draft goes to [`Remote::upload`], whatever the employee's `deliver_drafts`.
    fn drafts_as_files(&self) -> bool {
        false
    }

    /// Completes the task (a person approved the draft).
    async fn close(&self, task_id: &str) -> Result<(), SourceError>;

    /// The service's clock, as its answers tell it.
    fn clock(&self) -> ServerClock;

    /// How coarse the service's stamps are (GitHub: whole seconds).
    fn rounding(&self) -> chrono::Duration;

    /// A write that failed with `e` may still have been applied.
    fn ambiguous(&self, e: &SourceError) -> bool;
}

/// A task's comments as last read.
struct Thread {
    comments: Vec<Comment>,
    /// The task's `updated_at` when they were read.
    updated_at: Option<DateTime<Utc>>,
    /// The service's time (a safe lower bound) at which the read was sent.
    read_at: DateTime<Utc>,
    fetched: Instant,
}

#[derive(Default)]
struct View {
    tasks: Vec<Task>,
    listed: Option<Instant>,
    threads: HashMap<String, Thread>,
}

/// The files a comment's Markdown links to (`[name](url)`, `![name](url)`) on the service's
/// own file hosts, named by the link's text (else the address's last part).
pub fn linked_files(body: &str, ours: impl Fn(&reqwest::Url) -> bool) -> Vec<super::FileRef> {
    let mut out: Vec<super::FileRef> = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find("](") else { break };
        let text = &after[..close];
        let tail = &after[close + 2..];
        let Some(end) = tail.find(')') else { break };
        let target = tail[..end].split_whitespace().next().unwrap_or("");
        rest = &tail[end..];
        if text.contains('[') {
            continue;
        }
        let Ok(url) = reqwest::Url::parse(target) else {
            continue;
        };
        if !ours(&url) || out.iter().any(|f| f.url == url.as_str()) {
            continue;
        }
        let last = url
            .path_segments()
            .and_then(|mut s| s.next_back().map(str::to_string))
            .unwrap_or_default();
        let name = if text.trim().is_empty() {
            last
        } else {
            text.trim().to_string()
        };
        out.push(super::FileRef {
            name,
            url: url.to_string(),
            size: None,
            mime: None,
        });
    }
    out
}

/// A [`TaskSource`] on a [`Remote`].
pub struct RemoteSource<R: Remote> {
    remote: R,
    view: Mutex<View>,
    settle: chrono::Duration,
}

impl<R: Remote> RemoteSource<R> {
    pub fn new(remote: R, settle_secs: u64) -> Self {
        Self {
            remote,
            view: Mutex::new(View::default()),
            settle: chrono::Duration::seconds(settle_secs.min(3600) as i64),
        }
    }

    pub fn remote(&self) -> &R {
        &self.remote
    }

    /// The comments, read now; the view keeps them.
    async fn read(&self, task_id: &str) -> Result<Vec<Comment>, SourceError> {
        let read_at = self.remote.clock().surely_passed();
        let comments = self.remote.comments(task_id).await?;
        let comments = self.dedupe(task_id, comments).await;
        let mut view = self.view.lock().await;
        let updated_at = view
            .tasks
            .iter()
            .find(|t| t.id == task_id)
            .and_then(|t| t.updated_at);
        view.threads.insert(
            task_id.to_string(),
            Thread {
                comments: comments.clone(),
                updated_at,
                read_at,
                fetched: Instant::now(),
            },
        );
        Ok(comments)
    }

    /// Drops the second of two comments with the same marker (a post that landed twice),
    /// deleting it on the service.
    async fn dedupe(&self, task_id: &str, comments: Vec<Comment>) -> Vec<Comment> {
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(comments.len());
        for c in comments {
            match marker_of(&c.content) {
                Some(m) if !seen.insert(m.to_string()) => {
                    tracing::warn!(task = %task_id, comment = %c.id, "a comment landed twice; deleting the second");
                    if let Err(e) = self.remote.delete(task_id, &c.id).await {
                        tracing::warn!(error = %e, "could not delete the repeated comment");
                    }
                }
                _ => out.push(c),
            }
        }
        out
    }

    fn log(comments: &[Comment]) -> Log {
        Log::new(comments.to_vec())
    }

    /// Posts `text` with `marker` once, whatever happens: after a failure that may have
    /// landed, the comments are read (the settle time later, so a late write shows) before
    /// the post is tried again. `check_first` reads them before the first try too (a write
    /// that may be a resend).
    async fn post_once(
        &self,
        task_id: &str,
        marker: &str,
        text: &str,
        check_first: bool,
    ) -> Result<Comment, SourceError> {
        if check_first && let Some(c) = self.landed(task_id, marker).await? {
            return Ok(c);
        }
        let mut tries = 0;
        loop {
            match self.remote.post(task_id, marker, text).await {
                Ok(c) => {
                    self.remember(task_id, &c).await;
                    return Ok(c);
                }
                Err(e) if self.remote.ambiguous(&e) && tries < 2 => {
                    tries += 1;
                    tracing::warn!(task = %task_id, error = %e, "a comment may or may not have landed; checking before sending it again");
                    for _ in 0..LANDED_CHECKS {
                        let wait = (self.settle + self.remote.rounding())
                            .to_std()
                            .unwrap_or(Duration::from_secs(1));
                        tokio::time::sleep(wait).await;
                        match self.landed(task_id, marker).await {
                            Ok(Some(c)) => return Ok(c),
                            Ok(None) => {}
                            Err(e) if self.remote.ambiguous(&e) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The comment carrying `marker`, read fresh.
    async fn landed(&self, task_id: &str, marker: &str) -> Result<Option<Comment>, SourceError> {
        Ok(self
            .read(task_id)
            .await?
            .into_iter()
            .find(|c| self.remote.carries(c, marker)))
    }

    async fn remember(&self, task_id: &str, comment: &Comment) {
        let mut view = self.view.lock().await;
        if let Some(t) = view.threads.get_mut(task_id)
            && !t.comments.iter().any(|c| c.id == comment.id)
        {
            t.comments.push(comment.clone());
        }
    }

    /// Moves the task's labels to `wanted`: adds what is missing, removes only Delegate's own.
    async fn relabel_to(&self, task_id: &str, wanted: &[String]) -> Result<(), SourceError> {
        let current = match self.labels_now(task_id).await {
            Some(l) => l,
            None => self.task(task_id).await?.labels,
        };
        let add: Vec<String> = wanted
            .iter()
            .filter(|l| !current.contains(l))
            .cloned()
            .collect();
        let remove: Vec<String> = current
            .iter()
            .filter(|l| labels::is_ours(l) && !wanted.contains(l))
            .cloned()
            .collect();
        if add.is_empty() && remove.is_empty() {
            return Ok(());
        }
        let mut after: Vec<String> = current
            .iter()
            .filter(|l| !remove.contains(l))
            .cloned()
            .collect();
        after.extend(add.iter().cloned());
        self.remote.relabel(task_id, &add, &remove, &after).await?;
        let mut view = self.view.lock().await;
        if let Some(t) = view.tasks.iter_mut().find(|t| t.id == task_id) {
            t.labels.retain(|l| !remove.contains(l));
            for l in add {
                if !t.labels.contains(&l) {
                    t.labels.push(l);
                }
            }
        }
        Ok(())
    }

    fn verdict_of(
        &self,
        comments: &[Comment],
        claim_id: &str,
        known: &HashSet<String>,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Verdict {
        let now = self.remote.clock().now();
        Self::log(comments).verdict(claim_id, known, now, default_lease, dead)
    }

    /// A won claim; labelled at once when the service wants it (its workflow follows).
    async fn won(&self, pending: &Pending) -> Claimed {
        if self.remote.labels_on_claim() {
            let current = self.labels_now(&pending.task_id).await.unwrap_or_default();
            if let Err(e) = self
                .relabel_to(&pending.task_id, &labels::claimed(&current))
                .await
            {
                tracing::warn!(task = %pending.task_id, error = %e, "cannot label the task as being worked on");
            }
        }
        Claimed::Won {
            note_id: pending.note_id.clone(),
        }
    }

    fn lost(pending: &Pending, machine: String) -> Claimed {
        Claimed::Lost {
            machine,
            withdraw: Some(Finish::withdraw(
                &pending.task_id,
                None,
                &pending.note_id,
                Vec::new(),
            )),
        }
    }
}

/// The marker a comment was posted with (`<!-- delegate:ID -->`), if any.
pub fn marker_of(content: &str) -> Option<&str> {
    let start = content.rfind(MARKER_HEAD)? + MARKER_HEAD.len();
    let rest = &content[start..];
    let end = rest.find(MARKER_TAIL)?;
    Some(rest[..end].trim())
}

const MARKER_HEAD: &str = "<!-- delegate:";
const MARKER_TAIL: &str = "-->";

/// `text` with its marker as an HTML comment (Markdown shows nothing of it).
pub fn with_marker(text: &str, marker: &str) -> String {
    format!("{}\n\n{MARKER_HEAD}{marker} {MARKER_TAIL}", text.trim_end())
}

#[async_trait::async_trait]
impl<R: Remote> TaskSource for RemoteSource<R> {
    fn kind(&self) -> SourceKind {
        self.remote.kind()
    }

    async fn open_tasks(&self, max_age: Duration) -> Result<Vec<Task>, SourceError> {
        {
            let view = self.view.lock().await;
            if view.listed.is_some_and(|t| t.elapsed() < max_age) {
                return Ok(view.tasks.clone());
            }
        }
        let (tasks, _unchanged) = self.remote.list().await?;
        let mut view = self.view.lock().await;
        let open: HashSet<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
        view.threads.retain(|id, _| open.contains(id.as_str()));
        view.tasks = tasks.clone();
        view.listed = Some(Instant::now());
        Ok(tasks)
    }

    /// From the view while the task has not changed since its comments were read late
    /// enough to show every comment made before (the settle time after its last change):
    /// an idle poll reads no comments at all.
    async fn comments(
        &self,
        task_id: &str,
        max_age: Duration,
    ) -> Result<Vec<Comment>, SourceError> {
        {
            let view = self.view.lock().await;
            let updated_at = view
                .tasks
                .iter()
                .find(|t| t.id == task_id)
                .and_then(|t| t.updated_at);
            if let Some(thread) = view.threads.get(task_id) {
                let settled = thread.updated_at == updated_at
                    && updated_at.is_some_and(|u| {
                        thread.read_at >= u + self.settle + self.remote.rounding()
                    });
                if settled || thread.fetched.elapsed() < max_age.min(Duration::from_secs(5)) {
                    return Ok(thread.comments.clone());
                }
            }
        }
        self.read(task_id).await
    }

    async fn now(&self) -> DateTime<Utc> {
        self.remote.clock().now()
    }

    async fn claim(
        &self,
        task_id: &str,
        claim: &Claim,
        finishes: &[Finish],
        not_before: Option<DateTime<Utc>>,
        _default_lease: u64,
        _dead: &HashSet<String>,
    ) -> Result<Claimed, SourceError> {
        if let Some(t) = not_before {
            tokio::time::sleep(self.remote.clock().wait_until(t)).await;
        }
        self.send(finishes).await?;
        let known: HashSet<String> = self
            .view
            .lock()
            .await
            .threads
            .get(task_id)
            .map(|t| t.comments.iter().map(|c| c.id.clone()).collect())
            .unwrap_or_default();
        let note = self
            .post_once(task_id, &claim.id, &claim.text(), false)
            .await?;
        let stamped = note
            .posted_at
            .unwrap_or_else(|| self.remote.clock().now() + self.remote.rounding());
        Ok(Claimed::Pending(Pending {
            task_id: task_id.to_string(),
            claim: claim.clone(),
            note_id: note.id,
            posted_at: note.posted_at,
            settle_at: stamped + self.settle + self.remote.rounding(),
            known,
            unseen_reads: 0,
        }))
    }

    async fn settle(
        &self,
        pending: &mut Pending,
        finishes: &[Finish],
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Result<Claimed, SourceError> {
        self.send(finishes).await?;
        let trust = self.settle.is_zero();
        loop {
            if !trust {
                tokio::time::sleep(self.remote.clock().wait_until(pending.settle_at)).await;
            }
            let read_at = self.remote.clock().surely_passed();
            let comments = match self.read(&pending.task_id).await {
                Ok(c) => c,
                // Completed or deleted meanwhile: nothing to work on.
                Err(e) if e.is_gone() => {
                    return Ok(Claimed::Lost {
                        machine: String::new(),
                        withdraw: None,
                    });
                }
                Err(e) => return Err(e),
            };
            let ours = comments.iter().find(|c| {
                c.id == pending.note_id
                    || Claim::parse(&c.content).is_some_and(|x| x.id == pending.claim.id)
            });
            match ours {
                Some(c) => {
                    pending.note_id = c.id.clone();
                    if let Some(posted) = c.posted_at {
                        pending.posted_at = Some(posted);
                        pending.settle_at = posted + self.settle + self.remote.rounding();
                    }
                    if !trust && read_at < pending.settle_at {
                        continue;
                    }
                    return Ok(
                        match self.verdict_of(
                            &comments,
                            &pending.claim.id,
                            &pending.known,
                            default_lease,
                            dead,
                        ) {
                            Verdict::Won => self.won(pending).await,
                            Verdict::Lost { machine, .. } => Self::lost(pending, machine),
                        },
                    );
                }
                None => {
                    pending.unseen_reads += 1;
                    tracing::warn!(task = %pending.task_id, reads = pending.unseen_reads, "the claim is not visible yet; reading again later");
                    if pending.unseen_reads >= MAX_UNSEEN_READS {
                        return Ok(Self::lost(pending, String::new()));
                    }
                    pending.settle_at = read_at.max(pending.settle_at)
                        + self.settle.max(chrono::Duration::seconds(1));
                }
            }
        }
    }

    async fn rival(
        &self,
        task_id: &str,
        claim_id: &str,
        known: &HashSet<String>,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Option<(String, Option<String>)> {
        let comments = self
            .view
            .lock()
            .await
            .threads
            .get(task_id)?
            .comments
            .clone();
        match self.verdict_of(&comments, claim_id, known, default_lease, dead) {
            Verdict::Won => None,
            Verdict::Lost { machine, ended_by } => Some((machine, ended_by)),
        }
    }

    async fn labels_now(&self, task_id: &str) -> Option<Vec<String>> {
        self.view
            .lock()
            .await
            .tasks
            .iter()
            .find(|t| t.id == task_id)
            .map(|t| t.labels.clone())
    }

    async fn posted_at(&self, note: &str, task_id: &str) -> Option<DateTime<Utc>> {
        self.view
            .lock()
            .await
            .threads
            .get(task_id)?
            .comments
            .iter()
            .find(|c| c.id == note)?
            .posted_at
    }

    async fn send(&self, finishes: &[Finish]) -> Result<(), SourceError> {
        for f in finishes {
            self.finish(f).await?;
        }
        Ok(())
    }

    /// Edits the claim comment to the longer lease: it keeps its stamp, so its place.
    async fn renew(
        &self,
        task_id: &str,
        note_id: &str,
        claim: &Claim,
    ) -> Result<String, SourceError> {
        self.remote.edit(task_id, note_id, &claim.text()).await?;
        Ok(note_id.to_string())
    }

    async fn progress(
        &self,
        task_id: &str,
        note: Option<&str>,
        text: &str,
    ) -> Result<Option<String>, SourceError> {
        match note {
            Some(id) => {
                self.remote.edit(task_id, id, text).await?;
                Ok(Some(id.to_string()))
            }
            None => {
                let marker = crate::claims::new_claim_id();
                Ok(Some(
                    self.post_once(task_id, &marker, text, false).await?.id,
                ))
            }
        }
    }

    /// The labels, then the end comment (once: its marker is the finish's own id), then the
    /// comments to delete. Each step may be repeated safely, so a resend applies it once.
    /// Labels first: between the two writes another machine must not see an ended claim on
    /// a task whose labels still invite work (`agent-done` not there yet) — it would take
    /// the task again. With the labels first it sees `agent-done`, or a retry label beside a
    /// claim that still holds.
    async fn finish(&self, finish: &Finish) -> Result<(), SourceError> {
        let task = &finish.task_id;
        if let Some(wanted) = &finish.labels {
            self.relabel_to(task, wanted).await?;
        }
        if let Some(text) = &finish.text {
            // A comment here carries files as links to them.
            let mut text = text.clone();
            for f in &finish.files {
                text.push_str(&format!("\n\n📎 [{}]({})", f.name, f.url));
            }
            self.post_once(task, &finish.ids[1], &text, true).await?;
        }
        for id in finish.delete_note.iter().chain(finish.delete_more.iter()) {
            self.remote.delete(task, id).await?;
        }
        if finish.close.is_some() {
            self.remote.close(task).await?;
        }
        Ok(())
    }

    async fn labels_and_comment(
        &self,
        task_id: &str,
        labels: &[String],
        text: &str,
    ) -> Result<(), SourceError> {
        self.relabel_to(task_id, labels).await?;
        let marker = crate::claims::new_claim_id();
        self.post_once(task_id, &marker, text, false).await?;
        Ok(())
    }

    async fn set_labels(&self, task_id: &str, labels: &[String]) -> Result<(), SourceError> {
        self.relabel_to(task_id, labels).await
    }

    async fn task(&self, task_id: &str) -> Result<Task, SourceError> {
        let task = self.remote.task(task_id).await?;
        let mut view = self.view.lock().await;
        match view.tasks.iter_mut().find(|t| t.id == task_id) {
            Some(t) => t.labels = task.labels.clone(),
            None => view.tasks.push(task.clone()),
        }
        Ok(task)
    }

    async fn close(&self, task_id: &str, labels: Option<&[String]>) -> Result<(), SourceError> {
        if let Some(l) = labels {
            self.relabel_to(task_id, l).await?;
        }
        self.remote.close(task_id).await
    }

    async fn upload(
        &self,
        task_id: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<super::FileRef>, SourceError> {
        self.remote.upload(task_id, name, bytes).await
    }

    fn drafts_as_files(&self) -> bool {
        self.remote.drafts_as_files()
    }

    fn labels_on_claim(&self) -> bool {
        self.remote.labels_on_claim()
    }

    async fn files(&self, task_id: &str) -> Vec<(String, super::FileRef)> {
        let view = self.view.lock().await;
        let Some(thread) = view.threads.get(task_id) else {
            return Vec::new();
        };
        thread
            .comments
            .iter()
            .flat_map(|c| {
                linked_files(&c.content, |u| self.remote.file_host(u))
                    .into_iter()
                    .map(|f| (c.id.clone(), f))
            })
            .collect()
    }

    async fn download(
        &self,
        file: &super::FileRef,
        max: u64,
    ) -> Result<Option<Vec<u8>>, SourceError> {
        let ours = reqwest::Url::parse(&file.url).is_ok_and(|u| self.remote.file_host(&u));
        if !ours {
            return Ok(None);
        }
        self.remote.download(&file.url, max).await
    }

    fn settle_secs(&self) -> u64 {
        self.settle.num_seconds().max(0) as u64
    }

    async fn invalidate(&self) {
        let mut view = self.view.lock().await;
        view.listed = None;
        view.threads.clear();
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn files_are_the_links_to_the_services_own_hosts() {
        let body = "Here: [Q3 figures.csv](https://uploads.linear.app/a/b/c) and \
                    ![](https://uploads.linear.app/x/shot.png), not [this](https://example.com/f.pdf) \
                    nor [plain text] nor [bad](not a url).";
        let ours = |u: &reqwest::Url| u.host_str() == Some("uploads.linear.app");
        let files = linked_files(body, ours);
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Q3 figures.csv", "shot.png"]);
        assert_eq!(files[0].url, "https://uploads.linear.app/a/b/c");
    }

    use super::*;

    #[test]
    fn markers_round_trip_and_hide_in_markdown() {
        let body = with_marker("Done. Ready for review.\n\n", "abc-123");
        assert!(body.starts_with("Done. Ready for review.\n\n<!-- delegate:abc-123 -->"));
        assert_eq!(marker_of(&body), Some("abc-123"));
        assert_eq!(marker_of("a person's comment"), None);
        assert_eq!(crate::claims::Mark::of(&body), crate::claims::Mark::Done);
    }
}
