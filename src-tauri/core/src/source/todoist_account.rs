//! One Todoist account shared by all its employees. Reads go through an incremental `/sync`
//! snapshot, so a poll of ten employees costs one round-trip, not ten.

use super::todoist::{Project, TodoistClient, TodoistError};
use super::wire::{WireProject, WireTask};
use super::{SourceError, Task};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const RESOURCES: [&str; 2] = ["projects", "items"];

#[derive(Default)]
struct Snapshot {
    sync_token: Option<String>,
    projects: HashMap<String, WireProject>,
    items: HashMap<String, WireTask>,
    fetched_at: Option<Instant>,
}

pub struct TodoistAccount {
    client: TodoistClient,
    // A tokio mutex on purpose: one sync in flight at a time, and callers that arrive while
    // it runs wait for it and reuse its result instead of sending their own.
    snapshot: Mutex<Snapshot>,
}

impl TodoistAccount {
    pub fn new(client: TodoistClient) -> Self {
        Self {
            client,
            snapshot: Mutex::new(Snapshot::default()),
        }
    }

    pub fn client(&self) -> &TodoistClient {
        &self.client
    }

    /// Brings the snapshot up to date unless it is younger than `max_age`.
    async fn refresh(&self, snap: &mut Snapshot, max_age: Duration) -> Result<(), TodoistError> {
        if snap.fetched_at.is_some_and(|t| t.elapsed() < max_age) {
            return Ok(());
        }
        let token = snap.sync_token.clone().unwrap_or_else(|| "*".into());
        let response = self.client.sync(&token, &RESOURCES).await?;
        if response.full_sync {
            snap.projects.clear();
            snap.items.clear();
        }
        for p in response.projects {
            if p.is_deleted || p.is_archived {
                snap.projects.remove(&p.id);
            } else {
                snap.projects.insert(p.id.clone(), p);
            }
        }
        for t in response.items {
            if t.is_open() {
                snap.items.insert(t.id.clone(), t);
            } else {
                snap.items.remove(&t.id);
            }
        }
        snap.sync_token = Some(response.sync_token);
        snap.fetched_at = Some(Instant::now());
        Ok(())
    }

    /// Finds a project by id, or by name ignoring case.
    pub async fn resolve_project(
        &self,
        wanted: &str,
        max_age: Duration,
    ) -> Result<Project, SourceError> {
        let mut snap = self.snapshot.lock().await;
        self.refresh(&mut snap, max_age).await?;
        let wanted_trim = wanted.trim();
        let found = snap.projects.get(wanted_trim).or_else(|| {
            snap.projects
                .values()
                .find(|p| p.name.trim().eq_ignore_ascii_case(wanted_trim))
        });
        match found {
            Some(p) => Ok(Project {
                id: p.id.clone(),
                name: p.name.clone(),
            }),
            None => {
                let mut names: Vec<_> = snap.projects.values().map(|p| p.name.clone()).collect();
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

    /// Open tasks of a project from a snapshot at most `max_age` old.
    pub async fn open_tasks(
        &self,
        project_id: &str,
        max_age: Duration,
    ) -> Result<Vec<Task>, SourceError> {
        let mut snap = self.snapshot.lock().await;
        self.refresh(&mut snap, max_age).await?;
        Ok(snap
            .items
            .values()
            .filter(|t| t.project_id == project_id)
            .map(WireTask::to_task)
            .collect())
    }

    /// Sets the labels on the server and in the snapshot, so the next read sees the change
    /// even before the next sync.
    pub async fn set_labels(&self, task_id: &str, labels: &[String]) -> Result<(), SourceError> {
        let updated = self.client.set_labels(task_id, labels).await?;
        let mut snap = self.snapshot.lock().await;
        if let Some(t) = snap.items.get_mut(task_id) {
            t.labels = labels.to_vec();
            t.updated_at = Some(
                updated
                    .updated_at
                    .unwrap_or_else(chrono::Utc::now)
                    .to_rfc3339(),
            );
        }
        Ok(())
    }

    pub async fn close_task(&self, task_id: &str) -> Result<(), SourceError> {
        self.client.close_task(task_id).await?;
        self.snapshot.lock().await.items.remove(task_id);
        Ok(())
    }

    /// Forces the next read to sync again.
    pub async fn invalidate(&self) {
        self.snapshot.lock().await.fetched_at = None;
    }
}
