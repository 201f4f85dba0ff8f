//! One Todoist account shared by all its employees. Reads go through an incremental `/sync`
//! snapshot of the employees' projects (tasks and their comments), so a poll of ten
//! employees costs one round-trip, not ten. Every write is a batch of `/sync` commands that
//! also carries the sync token, so its answer brings the changes other machines made — which
//! is what the claim protocol ([`crate::claims`]) needs to decide who won.

use super::command::Command;
use super::todoist::{Project, TodoistClient, TodoistError};
use super::wire::{SyncResponse, WireComment, WireProject, WireTask};
use super::{Claimed, Comment, Finish, SourceError, Task};
use crate::claims::{Claim, Log, Verdict};
use crate::labels;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const RESOURCES: [&str; 3] = ["projects", "items", "notes"];

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
}

impl TodoistAccount {
    pub fn new(client: TodoistClient) -> Self {
        Self {
            client,
            snapshot: Mutex::new(Snapshot::default()),
            watched: std::sync::Mutex::new(HashSet::new()),
            resync: AtomicBool::new(false),
        }
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

    fn merge(&self, snap: &mut Snapshot, response: SyncResponse) {
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
            // `Date` has whole seconds: a difference that small says the clocks agree.
            let skew = server - Utc::now();
            snap.skew = if skew.num_seconds().abs() < 2 {
                chrono::Duration::zero()
            } else {
                skew
            };
        }
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
        let response = self.client.sync(&token, &RESOURCES).await?;
        self.merge(snap, response);
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
        let response = self
            .client
            .sync_commands(&token, &RESOURCES, commands)
            .await?;
        let checked = response.check(commands);
        let mapping = response.temp_id_mapping.clone();
        self.merge(snap, response);
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

    /// Todoist's time now, as well as this machine can tell.
    pub async fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.snapshot.lock().await.skew
    }

    /// Labels and the claim comment in one request, whose answer shows every other claim;
    /// a lost claim is withdrawn at once (its comment deleted, the labels put back the way
    /// the winner left them).
    pub async fn claim(
        &self,
        task_id: &str,
        claimed_labels: &[String],
        claim: &Claim,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Result<Claimed, SourceError> {
        let mut snap = self.snapshot.lock().await;
        let known: HashSet<String> = snap
            .notes
            .values()
            .filter(|n| n.item_id == task_id)
            .map(|n| n.id.clone())
            .collect();
        let commands = [
            Command::set_labels(task_id, claimed_labels),
            Command::add_note(task_id, &claim.text()),
        ];
        let mapping = self.write(&mut snap, &commands).await?;
        let note_id = note_id(&snap, &mapping, &commands[1], task_id, &claim.id);
        let now = Utc::now() + snap.skew;
        let log = Log::new(comments_of(&snap, task_id));
        match log.verdict(&claim.id, &known, now, default_lease, dead) {
            Verdict::Won => Ok(Claimed::Won {
                note_id: note_id.unwrap_or_default(),
            }),
            Verdict::Lost { machine, ended_by } => {
                let mut withdraw = Vec::new();
                if let Some(id) = &note_id {
                    withdraw.push(Command::delete_note(id));
                }
                let current = snap
                    .items
                    .get(task_id)
                    .map(|t| t.labels.clone())
                    .unwrap_or_else(|| claimed_labels.to_vec());
                if let Some(end) = ended_by
                    && let Some(restored) = labels::after_end(&end, &current)
                    && restored != current
                {
                    withdraw.push(Command::set_labels(task_id, &restored));
                }
                if !withdraw.is_empty() {
                    self.write(&mut snap, &withdraw).await?;
                }
                Ok(Claimed::Lost { machine })
            }
        }
    }

    /// Keeps a long run's claim alive: a fresh claim comment replaces the old one (one
    /// request). Returns the new comment's id.
    pub async fn renew(
        &self,
        task_id: &str,
        old_note: &str,
        claim: &Claim,
    ) -> Result<String, SourceError> {
        let mut snap = self.snapshot.lock().await;
        let commands = [
            Command::add_note(task_id, &claim.text()),
            Command::delete_note(old_note),
        ];
        let mapping = self.write(&mut snap, &commands).await?;
        Ok(note_id(&snap, &mapping, &commands[0], task_id, &claim.id).unwrap_or_default())
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

/// The task is gone (deleted, or completed and archived): a write for it can never land.
pub fn is_gone(e: &SourceError) -> bool {
    matches!(
        e,
        SourceError::Todoist(TodoistError::NotFound { .. })
            | SourceError::Todoist(TodoistError::Command { status: 404, .. })
            | SourceError::Local(super::QueueError::NoSuchTask(_))
    )
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
            Err(SourceError::ProjectNotFound {
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

fn comments_of(snap: &Snapshot, task_id: &str) -> Vec<Comment> {
    let mut notes: Vec<&WireComment> = snap
        .notes
        .values()
        .filter(|n| n.item_id == task_id)
        .collect();
    notes.sort_by(|a, b| (&a.posted_at, &a.id).cmp(&(&b.posted_at, &b.id)));
    notes.into_iter().map(WireComment::to_comment).collect()
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
