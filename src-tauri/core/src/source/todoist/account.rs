//! One Todoist account shared by all its employees. Reads go through an incremental `/sync`
//! snapshot of the employees' projects (tasks and their comments), so a poll of ten
//! employees costs one round-trip, not ten. Every write is a batch of `/sync` commands that
//! also carries the sync token, so its answer brings the changes other machines made — which
//! is what the claim protocol ([`crate::claims`]) needs to decide who won. A claim is decided
//! only by a read sent at least the settle time after the claim's own `posted_at` (Todoist's
//! clock), because Todoist does not promise that comments become visible in `posted_at` order.

use super::client::{Project, TodoistClient, TodoistError};
use super::command::Command;
use super::wire::{SyncResponse, WireComment, WireProject, WireTask};
use crate::claims::{Claim, Log, Verdict};
use crate::source::{Claimed, Comment, Finish, Pending, SourceError, Task};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const RESOURCES: [&str; 3] = ["projects", "items", "notes"];

/// How much later than its `Date` an answer may have been made (`Date` has whole seconds).
const DATE_ROUNDING: chrono::Duration = chrono::Duration::seconds(1);

/// Settle reads that may miss the claim itself (a commit later than the settle time) before
/// the claim is given up as never landed.
const MAX_UNSEEN_READS: u32 = 3;

#[derive(Default)]
struct Snapshot {
    sync_token: Option<String>,
    projects: HashMap<String, WireProject>,
    /// Open tasks of the watched projects.
    items: HashMap<String, WireTask>,
    /// Comments of those tasks, by comment id.
    notes: HashMap<String, WireComment>,
    fetched_at: Option<Instant>,
    /// Todoist's clock minus ours, from the last answer's `Date` header.
    skew: chrono::Duration,
    /// The same, never more than the real difference: `Date` (rounded down) minus the time
    /// the answer arrived here. Times sent by this machine count as Todoist's time at most.
    safe_skew: chrono::Duration,
    /// Todoist's time (a safe lower bound) at which the last read was sent: every comment
    /// stamped and committed before it is in the snapshot.
    read_at: Option<DateTime<Utc>>,
    /// Todoist's time of the last answer (`Date`), an upper bound on the stamps it made.
    answered_at: Option<DateTime<Utc>>,
}

pub struct TodoistAccount {
    client: TodoistClient,
    // A tokio mutex on purpose: one request in flight at a time, and callers that arrive
    // while it runs wait for it and reuse its result instead of sending their own.
    snapshot: Mutex<Snapshot>,
    /// Project names or ids the employees use; only their tasks are kept.
    watched: std::sync::Mutex<HashSet<String>>,
    /// A project was added to `watched`: the next read is a full sync, to bring its tasks.
    resync: AtomicBool,
    /// How long after a claim's `posted_at` a read decides it.
    settle: chrono::Duration,
}

impl TodoistAccount {
    pub fn new(client: TodoistClient) -> Self {
        Self {
            client,
            snapshot: Mutex::new(Snapshot::default()),
            watched: std::sync::Mutex::new(HashSet::new()),
            resync: AtomicBool::new(false),
            settle: chrono::Duration::seconds(crate::claims::DEFAULT_SETTLE_SECS as i64),
        }
    }

    /// Sets how long after a claim's `posted_at` a read may decide it.
    pub fn with_settle(mut self, secs: u64) -> Self {
        self.settle = chrono::Duration::seconds(secs.min(3600) as i64);
        self
    }

    pub fn settle_secs(&self) -> u64 {
        self.settle.num_seconds().max(0) as u64
    }

    pub fn client(&self) -> &TodoistClient {
        &self.client
    }

    /// Keeps the tasks of `project` (a name or an id) in the snapshot. A project not watched
    /// before needs one full sync to bring its existing tasks and comments.
    pub fn watch(&self, project: &str) -> bool {
        let key = project.trim().to_lowercase();
        let added = self
            .watched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key);
        if added {
            self.resync.store(true, Ordering::SeqCst);
        }
        added
    }

    fn watched_ids(&self, projects: &HashMap<String, WireProject>) -> HashSet<String> {
        let watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        projects
            .values()
            .filter(|p| {
                watched.contains(&p.id.to_lowercase())
                    || watched.contains(&p.name.trim().to_lowercase())
            })
            .map(|p| p.id.clone())
            .collect()
    }

    fn merge(&self, snap: &mut Snapshot, response: SyncResponse, sent: DateTime<Utc>) {
        if response.full_sync {
            snap.projects.clear();
            snap.items.clear();
            snap.notes.clear();
        }
        for p in response.projects {
            if p.is_deleted || p.is_archived {
                snap.projects.remove(&p.id);
            } else {
                snap.projects.insert(p.id.clone(), p);
            }
        }
        let watched = self.watched_ids(&snap.projects);
        let mut removed = false;
        for t in response.items {
            if t.is_open() && watched.contains(&t.project_id) {
                snap.items.insert(t.id.clone(), t);
            } else {
                removed |= snap.items.remove(&t.id).is_some();
            }
        }
        for n in response.notes {
            if n.is_deleted || !snap.items.contains_key(&n.item_id) {
                snap.notes.remove(&n.id);
            } else {
                snap.notes.insert(n.id.clone(), n);
            }
        }
        if removed {
            let items = &snap.items;
            snap.notes.retain(|_, n| items.contains_key(&n.item_id));
        }
        if let Some(server) = response.server_time {
            let skew = server - Utc::now();
            // Every such reading is at most the real difference; the largest is the closest.
            // One far below it means the clocks were changed: start again from it.
            let drop = snap.safe_skew - skew > chrono::Duration::seconds(2);
            snap.safe_skew = if snap.answered_at.is_none() || drop || skew > snap.safe_skew {
                skew
            } else {
                snap.safe_skew
            };
            // `Date` has whole seconds: a difference that small says the clocks agree.
            snap.skew = if skew.num_seconds().abs() < 2 {
                chrono::Duration::zero()
            } else {
                skew
            };
            snap.answered_at = Some(server + DATE_ROUNDING);
        } else {
            // No `Date`: this machine's clock is all there is.
            snap.safe_skew = chrono::Duration::zero();
            snap.answered_at = Some(Utc::now() + snap.skew);
        }
        snap.read_at = Some(sent + snap.safe_skew);
        snap.sync_token = Some(response.sync_token);
        snap.fetched_at = Some(Instant::now());
    }

    /// Brings the snapshot up to date unless it is younger than `max_age`.
    async fn refresh(&self, snap: &mut Snapshot, max_age: Duration) -> Result<(), TodoistError> {
        if self.resync.swap(false, Ordering::SeqCst) {
            snap.sync_token = None;
            snap.fetched_at = None;
        }
        if snap.fetched_at.is_some_and(|t| t.elapsed() < max_age) {
            return Ok(());
        }
        let token = snap.sync_token.clone().unwrap_or_else(|| "*".into());
        // Until one succeeds, the token stays unset and every read is a full sync.
        let sent = Utc::now();
        let response = self.client.sync(&token, &RESOURCES).await?;
        self.merge(snap, response, sent);
        Ok(())
    }

    /// Sends `commands` with the sync token: one request that writes, then reads the changes
    /// since the snapshot (other machines' comments included).
    async fn write(
        &self,
        snap: &mut Snapshot,
        commands: &[Command],
    ) -> Result<HashMap<String, String>, TodoistError> {
        let token = snap.sync_token.clone().unwrap_or_else(|| "*".into());
        let sent = Utc::now();
        let response = self
            .client
            .sync_commands(&token, &RESOURCES, commands)
            .await?;
        let checked = response.check(commands);
        let mapping = response.temp_id_mapping.clone();
        self.merge(snap, response, sent);
        checked?;
        Ok(mapping)
    }

    /// Finds a project by id, or by name ignoring case.
    pub async fn resolve_project(
        &self,
        wanted: &str,
        max_age: Duration,
    ) -> Result<Project, SourceError> {
        let mut snap = self.snapshot.lock().await;
        self.refresh(&mut snap, max_age).await?;
        find_project(&snap.projects, wanted)
    }

    /// Open tasks of a project (name or id) from a snapshot at most `max_age` old.
    pub async fn open_tasks(
        &self,
        project: &str,
        max_age: Duration,
    ) -> Result<Vec<Task>, SourceError> {
        self.watch(project);
        let mut snap = self.snapshot.lock().await;
        self.refresh(&mut snap, max_age).await?;
        let project = find_project(&snap.projects, project)?;
        Ok(snap
            .items
            .values()
            .filter(|t| t.project_id == project.id)
            .map(WireTask::to_task)
            .collect())
    }

    /// The task's comments from the snapshot (no request when it is fresh).
    pub async fn comments(
        &self,
        task_id: &str,
        max_age: Duration,
    ) -> Result<Vec<Comment>, SourceError> {
        let mut snap = self.snapshot.lock().await;
        self.refresh(&mut snap, max_age).await?;
        Ok(comments_of(&snap, task_id))
    }

    /// The files on the task's comments, from the snapshot (no request).
    pub async fn files(&self, task_id: &str) -> Vec<(String, crate::source::FileRef)> {
        let snap = self.snapshot.lock().await;
        notes_of(&snap, task_id)
            .into_iter()
            .filter_map(|n| {
                let file = n.file_attachment.as_ref()?.to_file()?;
                Some((n.id.clone(), file))
            })
            .collect()
    }

    /// Uploads a file for a comment on the project's tasks.
    pub async fn upload(
        &self,
        project_id: Option<&str>,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<crate::source::FileRef, SourceError> {
        Ok(self.client.upload(project_id, name, bytes).await?)
    }

    /// Downloads an attached file, at most `max` bytes.
    pub async fn download(
        &self,
        file: &crate::source::FileRef,
        max: u64,
    ) -> Result<Option<Vec<u8>>, SourceError> {
        Ok(self.client.download(&file.url, max).await?)
    }

    /// Todoist's time now, as well as this machine can tell.
    pub async fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.snapshot.lock().await.skew
    }

    /// Waits until Todoist's clock has surely passed `t`, so a read sent then counts as made
    /// after `t`.
    async fn wait_until(&self, t: DateTime<Utc>) {
        let skew = self.snapshot.lock().await.safe_skew;
        let local = t - skew;
        if let Ok(wait) = (local - Utc::now()).to_std() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Writes a claim comment — no labels: a view that may be old never overwrites labels a
    /// person or another machine set since — with `finishes` of earlier runs riding along,
    /// sent no earlier than `not_before` (so its answer can also settle an earlier claim).
    /// A claim that the answer already shows beaten is lost at once; any other is pending
    /// until [`Self::settle`].
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
        if let Some(t) = not_before {
            self.wait_until(t).await;
        }
        let mut snap = self.snapshot.lock().await;
        let known: HashSet<String> = snap
            .notes
            .values()
            .filter(|n| n.item_id == task_id)
            .map(|n| n.id.clone())
            .collect();
        let mut commands: Vec<Command> = finishes.iter().flat_map(Command::finish).collect();
        let add = Command::add_note(task_id, &claim.text());
        commands.push(add.clone());
        let mapping = self.write(&mut snap, &commands).await?;
        let note_id = note_id(&snap, &mapping, &add, task_id, &claim.id).unwrap_or_default();
        let posted_at = snap
            .notes
            .get(&note_id)
            .and_then(|n| n.to_comment().posted_at);
        // Not visible yet: Todoist stamped it before it answered.
        let stamped_by = posted_at
            .or(snap.answered_at)
            .unwrap_or_else(|| Utc::now() + snap.skew + DATE_ROUNDING);
        let pending = Pending {
            task_id: task_id.to_string(),
            claim: claim.clone(),
            note_id,
            posted_at,
            settle_at: stamped_by + self.settle,
            known,
            unseen_reads: 0,
        };
        if posted_at.is_some()
            && let Some(lost) = self.beaten(&snap, &pending, default_lease, dead)
        {
            return Ok(lost);
        }
        Ok(Claimed::Pending(pending))
    }

    /// Decides a pending claim by a read made at least the settle time after its
    /// `posted_at` — shared: a read any employee of this account made late enough serves,
    /// and a read it has to make serves every other claim settling then. `finishes` ride
    /// along with that read when one is needed (else they are sent on their own).
    pub async fn settle(
        &self,
        pending: &mut Pending,
        finishes: &[Finish],
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Result<Claimed, SourceError> {
        let mut unsent: Vec<Command> = finishes.iter().flat_map(Command::finish).collect();
        // No settle time: comments are trusted to show in stamp order, and the claim's own
        // answer decides.
        let trust = self.settle.is_zero();
        loop {
            if !trust {
                self.wait_until(pending.settle_at).await;
            }
            let mut snap = self.snapshot.lock().await;
            let late_enough = (trust && pending.unseen_reads == 0)
                || snap.read_at.is_some_and(|r| r >= pending.settle_at);
            if !late_enough || !unsent.is_empty() {
                self.write_or_read(&mut snap, &unsent).await?;
                unsent.clear();
            }
            let read_at = snap.read_at.unwrap_or(pending.settle_at);
            let ours = snap
                .notes
                .values()
                .find(|n| {
                    n.item_id == pending.task_id
                        && (n.id == pending.note_id
                            || Claim::parse(&n.content).is_some_and(|c| c.id == pending.claim.id))
                })
                .map(|n| (n.id.clone(), n.to_comment().posted_at));
            match ours {
                Some((id, Some(posted))) => {
                    pending.note_id = id;
                    pending.posted_at = Some(posted);
                    pending.settle_at = posted + self.settle;
                    if !trust && read_at < pending.settle_at {
                        continue;
                    }
                    if let Some(lost) = self.beaten(&snap, pending, default_lease, dead) {
                        return Ok(lost);
                    }
                    return Ok(Claimed::Won {
                        note_id: pending.note_id.clone(),
                    });
                }
                _ if !snap.items.contains_key(&pending.task_id) => {
                    // Completed or deleted meanwhile: nothing to work on.
                    return Ok(Claimed::Lost {
                        machine: String::new(),
                        withdraw: None,
                    });
                }
                _ => {
                    pending.unseen_reads += 1;
                    tracing::warn!(task = %pending.task_id, reads = pending.unseen_reads, "the claim is not visible yet; reading again later");
                    if pending.unseen_reads >= MAX_UNSEEN_READS {
                        return Ok(Claimed::Lost {
                            machine: String::new(),
                            withdraw: Some(Finish::withdraw(
                                &pending.task_id,
                                None,
                                &pending.note_id,
                                Vec::new(),
                            )),
                        });
                    }
                    pending.settle_at = read_at.max(pending.settle_at) + self.settle;
                }
            }
        }
    }

    /// Sends `commands` with a read, or a plain read when there are none.
    async fn write_or_read(
        &self,
        snap: &mut Snapshot,
        commands: &[Command],
    ) -> Result<(), TodoistError> {
        if commands.is_empty() {
            snap.fetched_at = None;
            self.refresh(snap, Duration::ZERO).await
        } else {
            self.write(snap, commands).await.map(|_| ())
        }
    }

    /// `Some(Lost)` when the snapshot shows a claim that beats `pending`.
    fn beaten(
        &self,
        snap: &Snapshot,
        pending: &Pending,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Option<Claimed> {
        let now = Utc::now() + snap.skew;
        let log = Log::new(comments_of(snap, &pending.task_id));
        match log.verdict(&pending.claim.id, &pending.known, now, default_lease, dead) {
            Verdict::Won => None,
            Verdict::Lost { machine, .. } => Some(Claimed::Lost {
                machine,
                withdraw: Some(Finish::withdraw(
                    &pending.task_id,
                    None,
                    &pending.note_id,
                    Vec::new(),
                )),
            }),
        }
    }

    /// A claim that beats the won claim `claim_id` and became visible only after it was
    /// decided (a commit later than the settle time): the machine and, when that machine
    /// already finished, its end comment. From the snapshot, no request.
    pub async fn rival(
        &self,
        task_id: &str,
        claim_id: &str,
        known: &HashSet<String>,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Option<(String, Option<String>)> {
        let snap = self.snapshot.lock().await;
        if !snap.items.contains_key(task_id) {
            return None;
        }
        let now = Utc::now() + snap.skew;
        match Log::new(comments_of(&snap, task_id)).verdict(
            claim_id,
            known,
            now,
            default_lease,
            dead,
        ) {
            Verdict::Won => None,
            Verdict::Lost { machine, ended_by } => Some((machine, ended_by)),
        }
    }

    /// The task's labels in the snapshot (as fresh as the last request).
    pub async fn labels_now(&self, task_id: &str) -> Option<Vec<String>> {
        self.snapshot
            .lock()
            .await
            .items
            .get(task_id)
            .map(|t| t.labels.clone())
    }

    /// Sends runs' ends (one request for all of them).
    pub async fn send(&self, finishes: &[Finish]) -> Result<(), SourceError> {
        if finishes.is_empty() {
            return Ok(());
        }
        let commands: Vec<Command> = finishes.iter().flat_map(Command::finish).collect();
        let mut snap = self.snapshot.lock().await;
        self.write(&mut snap, &commands).await?;
        Ok(())
    }

    /// Keeps a long run's claim alive by editing its comment to a longer lease: the comment
    /// keeps its `posted_at`, so the claim keeps its place before any later one.
    pub async fn renew(
        &self,
        _task_id: &str,
        note: &str,
        claim: &Claim,
    ) -> Result<String, SourceError> {
        let mut snap = self.snapshot.lock().await;
        self.write(&mut snap, &[Command::update_note(note, &claim.text())])
            .await?;
        Ok(note.to_string())
    }

    /// When the claim comment `note` was stamped, if the snapshot shows it.
    pub async fn posted_at(&self, note: &str) -> Option<DateTime<Utc>> {
        self.snapshot
            .lock()
            .await
            .notes
            .get(note)
            .and_then(|n| n.to_comment().posted_at)
    }

    /// Posts live progress: the first time a new comment, then edits of that comment.
    pub async fn progress(
        &self,
        task_id: &str,
        note: Option<&str>,
        text: &str,
    ) -> Result<Option<String>, SourceError> {
        let mut snap = self.snapshot.lock().await;
        let command = match note {
            Some(id) => Command::update_note(id, text),
            None => Command::add_note(task_id, text),
        };
        let mapping = self
            .write(&mut snap, std::slice::from_ref(&command))
            .await?;
        Ok(match note {
            Some(id) => Some(id.to_string()),
            None => command
                .temp_id
                .as_ref()
                .and_then(|t| mapping.get(t).cloned()),
        })
    }

    /// A run's end, with the ids it was made with: resending it never applies it twice.
    pub async fn finish(&self, finish: &Finish) -> Result<(), SourceError> {
        let mut snap = self.snapshot.lock().await;
        self.write(&mut snap, &Command::finish(finish)).await?;
        Ok(())
    }

    /// Labels and a comment together: a reviewer's request for changes.
    pub async fn labels_and_comment(
        &self,
        task_id: &str,
        labels: &[String],
        text: &str,
    ) -> Result<(), SourceError> {
        let mut snap = self.snapshot.lock().await;
        let commands = [
            Command::set_labels(task_id, labels),
            Command::add_note(task_id, text),
        ];
        self.write(&mut snap, &commands).await?;
        Ok(())
    }

    pub async fn set_labels(&self, task_id: &str, labels: &[String]) -> Result<(), SourceError> {
        let mut snap = self.snapshot.lock().await;
        self.write(&mut snap, &[Command::set_labels(task_id, labels)])
            .await?;
        Ok(())
    }

    /// Completes the task; `labels` (for a recurring task: without Delegate's own) are set in
    /// the same request, first, so the next occurrence starts clean.
    pub async fn close(&self, task_id: &str, labels: Option<&[String]>) -> Result<(), SourceError> {
        let mut snap = self.snapshot.lock().await;
        let mut commands = Vec::new();
        if let Some(l) = labels {
            commands.push(Command::set_labels(task_id, l));
        }
        commands.push(Command::close(task_id));
        self.write(&mut snap, &commands).await?;
        Ok(())
    }

    /// Forces the next read to sync again.
    pub async fn invalidate(&self) {
        self.snapshot.lock().await.fetched_at = None;
    }
}

fn find_project(
    projects: &HashMap<String, WireProject>,
    wanted: &str,
) -> Result<Project, SourceError> {
    let wanted_trim = wanted.trim();
    let found = projects.get(wanted_trim).or_else(|| {
        projects
            .values()
            .find(|p| p.name.trim().eq_ignore_ascii_case(wanted_trim))
    });
    match found {
        Some(p) => Ok(Project {
            id: p.id.clone(),
            name: p.name.clone(),
        }),
        None => {
            let mut names: Vec<_> = projects.values().map(|p| p.name.clone()).collect();
            names.sort();
            Err(SourceError::TargetNotFound {
                kind: crate::source::SourceKind::Todoist,
                wanted: wanted.to_string(),
                available: if names.is_empty() {
                    "(none)".into()
                } else {
                    names.join(", ")
                },
            })
        }
    }
}

/// The task's notes in the snapshot, in the order they were posted.
fn notes_of<'a>(snap: &'a Snapshot, task_id: &str) -> Vec<&'a WireComment> {
    let mut notes: Vec<&WireComment> = snap
        .notes
        .values()
        .filter(|n| n.item_id == task_id)
        .collect();
    notes.sort_by(|a, b| (&a.posted_at, &a.id).cmp(&(&b.posted_at, &b.id)));
    notes
}

fn comments_of(snap: &Snapshot, task_id: &str) -> Vec<Comment> {
    notes_of(snap, task_id)
        .into_iter()
        .map(WireComment::to_comment)
        .collect()
}

/// The id of the note `command` added: from `temp_id_mapping`, or (when a retried request
/// was answered from Todoist's memory of the uuid) by its claim id among the task's notes.
fn note_id(
    snap: &Snapshot,
    mapping: &HashMap<String, String>,
    command: &Command,
    task_id: &str,
    claim_id: &str,
) -> Option<String> {
    command
        .temp_id
        .as_ref()
        .and_then(|t| mapping.get(t).cloned())
        .or_else(|| {
            snap.notes
                .values()
                .filter(|n| n.item_id == task_id)
                .find(|n| Claim::parse(&n.content).is_some_and(|c| c.id == claim_id))
                .map(|n| n.id.clone())
        })
}
