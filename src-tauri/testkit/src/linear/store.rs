//! What the fake Linear holds: a workspace with users, teams and their workflow states,
//! labels, projects, issues and comments (the writes that change them are in `writes.rs`).
//! A write can be *lagged*: accepted and stamped at arrival, answered at once, but visible
//! to reads only later (comments carry a `visible_at`; issue updates, comment edits and
//! deletes wait in `pending` and are applied when due, against the issue as it is then).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::time::Instant;

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct Team {
    pub id: String,
    pub key: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct WfState {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub kind: String,
    pub position: f64,
    pub color: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct Label {
    pub id: String,
    /// `None`: a workspace label, usable on every team's issues.
    pub team_id: Option<String>,
    pub name: String,
    pub color: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct Project {
    pub id: String,
    pub name: String,
    pub team_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct Issue {
    pub id: String,
    pub team_id: String,
    pub number: u32,
    pub title: String,
    pub description: Option<String>,
    pub priority: u8,
    pub state_id: String,
    pub label_ids: Vec<String>,
    pub project_id: Option<String>,
    pub due_date: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct Comment {
    pub id: String,
    pub issue_id: String,
    pub body: String,
    pub user_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
    /// Reads see the comment from then on (its `created_at` is still its arrival).
    pub visible_at: Instant,
}

/// What a second `commentCreate` with an `id` already taken answers. Linear documents the
/// `id` ("The identifier in UUID v4 format. If none is provided, the backend will generate
/// one.") but not what a repeat does, so both are on offer; neither creates a second comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicateId {
    /// An `INPUT_ERROR` (the stricter reading: a client must then look the comment up).
    #[default]
    Error,
    /// `success: true` with the comment that already has that id.
    Existing,
}

/// An accepted write waiting to become visible.
pub(crate) enum Pending {
    IssueUpdate {
        id: String,
        input: Map<String, Value>,
        at: DateTime<Utc>,
    },
    CommentUpdate {
        id: String,
        body: String,
        at: DateTime<Utc>,
    },
    CommentDelete {
        id: String,
    },
}

#[derive(Default)]
pub(crate) struct Store {
    pub viewer: Option<User>,
    /// The person who writes through the app (the test's own hand).
    pub person: Option<User>,
    pub teams: Vec<Team>,
    pub states: Vec<WfState>,
    pub labels: Vec<Label>,
    pub projects: Vec<Project>,
    pub issues: Vec<Issue>,
    pub comments: Vec<Comment>,
    pub pending: Vec<(Instant, Pending)>,
    pub lagged_total: u64,
    pub sync_id: u64,
    next_id: u64,
    /// The server's clock minus the real one, in milliseconds.
    pub skew_ms: i64,
    /// `http://127.0.0.1:PORT`, for the addresses of uploads.
    pub base: String,
    /// Files by id: prepared by `fileUpload`, their bytes once PUT to the signed address.
    pub uploads: std::collections::HashMap<String, FakeUpload>,
}

/// A file `fileUpload` prepared: what it declared, the header its signed address needs, and
/// the bytes once they arrived.
#[derive(Debug, Clone)]
pub struct FakeUpload {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub signature: String,
    pub bytes: Option<Vec<u8>>,
}

/// Linear's default workflow for a new team: (name, type, color).
pub(crate) const DEFAULT_STATES: [(&str, &str, &str); 6] = [
    ("Backlog", "backlog", "#bec2c8"),
    ("Todo", "unstarted", "#e2e2e2"),
    ("In Progress", "started", "#f2c94c"),
    ("In Review", "started", "#0f783c"),
    ("Done", "completed", "#5e6ad2"),
    ("Canceled", "canceled", "#95a2b3"),
];

pub(crate) const STATE_TYPES: [&str; 6] = [
    "triage",
    "backlog",
    "unstarted",
    "started",
    "completed",
    "canceled",
];

/// A UUID v4 as Linear's ids are (8-4-4-4-12 hex, version 4, RFC 4122 variant).
pub(crate) fn is_uuid_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let hex = |p: &str| p.chars().all(|c| c.is_ascii_hexdigit());
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && hex(p))
        && parts[2].starts_with('4')
        && parts[3].starts_with(['8', '9', 'a', 'b', 'A', 'B'])
}

/// Linear's time format: milliseconds, UTC, `Z`.
pub(crate) fn fmt_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl Store {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.skew_ms)
    }

    /// A fresh id: a UUID v4 whose first group counts up, so that of two things stamped in
    /// the same millisecond the later one sorts as the newer (the rest is mixed, as ids look).
    pub fn uuid(&mut self) -> String {
        self.next_id += 1;
        let mut z = self.next_id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        format!(
            "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
            self.next_id,
            z >> 48,
            (z >> 36) & 0xfff,
            8 + ((z >> 34) & 3),
            (z >> 22) & 0xfff,
            (z ^ (z >> 17)) & 0xffff_ffff_ffff
        )
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        [&self.viewer, &self.person]
            .into_iter()
            .flatten()
            .find(|u| u.id == id)
    }

    /// A team by its id or its key (`team(id:)` accepts either).
    pub fn team(&self, id_or_key: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id_or_key).or_else(|| {
            self.teams
                .iter()
                .find(|t| t.key.eq_ignore_ascii_case(id_or_key))
        })
    }

    pub fn state(&self, id: &str) -> Option<&WfState> {
        self.states.iter().find(|s| s.id == id)
    }

    pub fn label(&self, id: &str) -> Option<&Label> {
        self.labels.iter().find(|l| l.id == id)
    }

    pub fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }

    pub fn identifier(&self, issue: &Issue) -> String {
        let key = self.team(&issue.team_id).map_or("?", |t| t.key.as_str());
        format!("{key}-{}", issue.number)
    }

    /// An issue by its id or its identifier ("ENG-12"), as `issue(id:)` and the mutations
    /// accept.
    pub fn issue_index(&self, id_or_identifier: &str) -> Option<usize> {
        self.issues
            .iter()
            .position(|i| i.id == id_or_identifier)
            .or_else(|| {
                self.issues
                    .iter()
                    .position(|i| self.identifier(i).eq_ignore_ascii_case(id_or_identifier))
            })
    }

    /// Where the node `id` sorts in a list (see `Entity::sort_key`): a cursor is a node's id,
    /// and a page goes on after it even when that node has since left the list.
    pub fn sort_key_of(&self, id: &str, by_update: bool) -> Option<(DateTime<Utc>, String)> {
        let times = self
            .issues
            .iter()
            .find(|x| x.id == id)
            .map(|x| (x.created_at, x.updated_at))
            .or_else(|| {
                self.comments
                    .iter()
                    .find(|x| x.id == id)
                    .map(|x| (x.created_at, x.updated_at))
            })
            .or_else(|| {
                self.projects
                    .iter()
                    .find(|x| x.id == id)
                    .map(|x| (x.created_at, x.updated_at))
            })
            .or_else(|| {
                let created = self
                    .teams
                    .iter()
                    .find(|x| x.id == id)
                    .map(|x| x.created_at)
                    .or_else(|| {
                        self.states
                            .iter()
                            .find(|x| x.id == id)
                            .map(|x| x.created_at)
                    })
                    .or_else(|| {
                        self.labels
                            .iter()
                            .find(|x| x.id == id)
                            .map(|x| x.created_at)
                    })?;
                Some((created, created))
            })?;
        Some((if by_update { times.1 } else { times.0 }, id.to_string()))
    }

    /// Comments a reader sees now.
    pub fn visible_comment(&self, c: &Comment) -> bool {
        !c.deleted && c.visible_at <= Instant::now()
    }

    pub fn add_state(&mut self, team_id: &str, name: &str, kind: &str, color: &str) -> String {
        let id = self.uuid();
        let position = self.states.iter().filter(|s| s.team_id == team_id).count() as f64;
        let created_at = self.now();
        self.states.push(WfState {
            id: id.clone(),
            team_id: team_id.to_string(),
            name: name.to_string(),
            kind: kind.to_string(),
            position,
            color: color.to_string(),
            created_at,
        });
        id
    }

    pub fn add_label(&mut self, team_id: Option<&str>, name: &str) -> String {
        let id = self.uuid();
        let created_at = self.now();
        self.labels.push(Label {
            id: id.clone(),
            team_id: team_id.map(String::from),
            name: name.to_string(),
            color: "#bec2c8".into(),
            created_at,
        });
        id
    }

    pub fn push_comment(
        &mut self,
        issue_id: &str,
        body: &str,
        user_id: &str,
        id: String,
        visible_at: Instant,
    ) -> Comment {
        let at = self.now();
        let c = Comment {
            id,
            issue_id: issue_id.to_string(),
            body: body.to_string(),
            user_id: user_id.to_string(),
            created_at: at,
            updated_at: at,
            edited_at: None,
            deleted: false,
            visible_at,
        };
        self.comments.push(c.clone());
        c
    }

    /// Applies the lagged writes whose time has come, oldest first.
    pub fn apply_due(&mut self) {
        let now = Instant::now();
        self.pending.sort_by_key(|(at, _)| *at);
        while self.pending.first().is_some_and(|(at, _)| *at <= now) {
            let (_, write) = self.pending.remove(0);
            match write {
                Pending::IssueUpdate { id, input, at } => {
                    if let Some(i) = self.issue_index(&id) {
                        let mut issue = self.issues[i].clone();
                        // Validated at arrival; what changed since only shapes the result.
                        if self.update_issue(&mut issue, &input, at).is_ok() {
                            self.issues[i] = issue;
                        }
                    }
                }
                Pending::CommentUpdate { id, body, at } => {
                    if let Some(c) = self.comments.iter_mut().find(|c| c.id == id) {
                        c.body = body;
                        c.updated_at = at;
                        c.edited_at = Some(at);
                    }
                }
                Pending::CommentDelete { id } => {
                    if let Some(c) = self.comments.iter_mut().find(|c| c.id == id) {
                        c.deleted = true;
                    }
                }
            }
        }
    }
}
