//! What the fake Linear holds: a workspace with users, teams and their workflow states,
//! labels, projects, issues and comments, and the writes the API makes to them. A write can
//! be *lagged*: accepted and stamped at arrival, answered at once, but visible to reads only
//! later (comments carry a `visible_at`; issue updates, comment edits and deletes wait in
//! `pending` and are applied when due, against the issue as it is then).

use super::error::{ApiError, Kind};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

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

    /// Labels an issue of `team_id` may carry: the team's and the workspace's.
    fn label_for_team(&self, id: &str, team_id: &str) -> Result<&Label, ApiError> {
        let label = self
            .label(id)
            .ok_or_else(|| ApiError::not_found("IssueLabel"))?;
        match &label.team_id {
            Some(t) if t != team_id => Err(ApiError::input(
                "Label does not belong to the issue's team",
                "The label belongs to another team.",
            )),
            _ => Ok(label),
        }
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

    fn later(&mut self, lag: Duration, write: Pending) {
        self.lagged_total += 1;
        self.pending.push((Instant::now() + lag, write));
    }

    /// `commentCreate(input:)`: on an issue (by id or identifier), with an optional
    /// client-given UUID v4 `id`.
    pub fn comment_create(
        &mut self,
        input: &Map<String, Value>,
        lag: Option<Duration>,
        duplicate: DuplicateId,
    ) -> Result<Comment, ApiError> {
        let text = |k: &str| input.get(k).and_then(Value::as_str);
        for key in input.keys() {
            if ![
                "id",
                "issueId",
                "body",
                "createdAt",
                "doNotSubscribeToIssue",
            ]
            .contains(&key.as_str())
            {
                return Err(ApiError::unsupported(format_args!(
                    "CommentCreateInput.{key}"
                )));
            }
        }
        let Some(body) = text("body") else {
            return Err(ApiError::input(
                "Argument Validation Error",
                "A comment needs a body.",
            ));
        };
        let Some(issue) = text("issueId") else {
            return Err(ApiError::unsupported(
                "comments on anything but an issue (give input.issueId)",
            ));
        };
        let id = match text("id") {
            Some(id) if !is_uuid_v4(id) => {
                return Err(ApiError::input(
                    "Argument Validation Error",
                    "id must be a UUID v4.",
                ));
            }
            Some(id) => {
                if let Some(c) = self.comments.iter().find(|c| c.id == id) {
                    return match duplicate {
                        DuplicateId::Existing => Ok(c.clone()),
                        DuplicateId::Error => Err(ApiError::input(
                            "Entity already exists",
                            "A comment with this id already exists.",
                        )),
                    };
                }
                id.to_string()
            }
            None => self.uuid(),
        };
        let i = self
            .issue_index(issue)
            .ok_or_else(|| ApiError::not_found("Issue"))?;
        let issue_id = self.issues[i].id.clone();
        let user = self
            .viewer
            .as_ref()
            .map(|u| u.id.clone())
            .unwrap_or_default();
        let now = Instant::now();
        let visible_at = match lag {
            Some(d) => {
                self.lagged_total += 1;
                now + d
            }
            None => now,
        };
        self.sync_id += 1;
        Ok(self.push_comment(&issue_id, body, &user, id, visible_at))
    }

    /// The viewer's comment `id`, for an edit or a delete.
    fn own_comment(&self, id: &str) -> Result<Comment, ApiError> {
        let c = self
            .comments
            .iter()
            .find(|c| c.id == id && !c.deleted)
            .ok_or_else(|| ApiError::not_found("Comment"))?;
        if self.viewer.as_ref().is_none_or(|v| v.id != c.user_id) {
            return Err(ApiError::new(Kind::Forbidden, "Forbidden")
                .presentable("You can only change your own comments."));
        }
        Ok(c.clone())
    }

    pub fn comment_update(
        &mut self,
        id: &str,
        input: &Map<String, Value>,
        lag: Option<Duration>,
    ) -> Result<Comment, ApiError> {
        if let Some(key) = input.keys().find(|k| k.as_str() != "body") {
            return Err(ApiError::unsupported(format_args!(
                "CommentUpdateInput.{key}"
            )));
        }
        let mut c = self.own_comment(id)?;
        let Some(body) = input.get("body").and_then(Value::as_str) else {
            return Ok(c);
        };
        let at = self.now();
        c.body = body.to_string();
        c.updated_at = at;
        c.edited_at = Some(at);
        self.sync_id += 1;
        match lag {
            Some(d) => self.later(
                d,
                Pending::CommentUpdate {
                    id: c.id.clone(),
                    body: c.body.clone(),
                    at,
                },
            ),
            None => {
                if let Some(stored) = self.comments.iter_mut().find(|s| s.id == c.id) {
                    *stored = c.clone();
                }
            }
        }
        Ok(c)
    }

    pub fn comment_delete(&mut self, id: &str, lag: Option<Duration>) -> Result<String, ApiError> {
        let c = self.own_comment(id)?;
        self.sync_id += 1;
        match lag {
            Some(d) => self.later(d, Pending::CommentDelete { id: c.id.clone() }),
            None => {
                if let Some(stored) = self.comments.iter_mut().find(|s| s.id == c.id) {
                    stored.deleted = true;
                }
            }
        }
        Ok(c.id)
    }

    /// `issueUpdate(id:, input:)`. Checked now; applied now or, lagged, when due (against
    /// the issue as it is then, so `addedLabelIds` merges and `labelIds` replaces).
    pub fn issue_update(
        &mut self,
        id: &str,
        input: &Map<String, Value>,
        lag: Option<Duration>,
    ) -> Result<Issue, ApiError> {
        let i = self
            .issue_index(id)
            .ok_or_else(|| ApiError::not_found("Issue"))?;
        let mut issue = self.issues[i].clone();
        let at = self.now();
        self.update_issue(&mut issue, input, at)?;
        self.sync_id += 1;
        match lag {
            Some(d) => self.later(
                d,
                Pending::IssueUpdate {
                    id: issue.id.clone(),
                    input: input.clone(),
                    at,
                },
            ),
            None => {
                self.issues[i] = issue.clone();
            }
        }
        Ok(issue)
    }

    fn update_issue(
        &self,
        issue: &mut Issue,
        input: &Map<String, Value>,
        at: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let ids = |k: &str| -> Option<Vec<String>> {
            input.get(k).and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
        };
        for (key, value) in input {
            match key.as_str() {
                "stateId" => {
                    let id = value.as_str().unwrap_or_default();
                    let state = self
                        .state(id)
                        .ok_or_else(|| ApiError::not_found("WorkflowState"))?;
                    if state.team_id != issue.team_id {
                        return Err(ApiError::input(
                            "Workflow state does not belong to the issue's team",
                            "The state belongs to another team.",
                        ));
                    }
                    issue.state_id = state.id.clone();
                }
                "labelIds" | "addedLabelIds" | "removedLabelIds" => {
                    for l in ids(key).unwrap_or_default() {
                        self.label_for_team(&l, &issue.team_id)?;
                    }
                }
                "title" => match value.as_str() {
                    Some(t) if !t.trim().is_empty() => issue.title = t.to_string(),
                    _ => {
                        return Err(ApiError::input(
                            "Argument Validation Error",
                            "An issue needs a title.",
                        ));
                    }
                },
                "description" => issue.description = value.as_str().map(String::from),
                "priority" => match value.as_i64() {
                    Some(p @ 0..=4) => issue.priority = p as u8,
                    _ => {
                        return Err(ApiError::input(
                            "Argument Validation Error",
                            "priority must be between 0 and 4.",
                        ));
                    }
                },
                "dueDate" => issue.due_date = value.as_str().map(String::from),
                "projectId" => match value.as_str() {
                    None => issue.project_id = None,
                    Some(p) => {
                        let p = self
                            .project(p)
                            .ok_or_else(|| ApiError::not_found("Project"))?;
                        issue.project_id = Some(p.id.clone());
                    }
                },
                other => {
                    return Err(ApiError::unsupported(format_args!(
                        "IssueUpdateInput.{other}"
                    )));
                }
            }
        }
        if let Some(set) = ids("labelIds") {
            issue.label_ids = set;
        }
        for l in ids("addedLabelIds").unwrap_or_default() {
            if !issue.label_ids.contains(&l) {
                issue.label_ids.push(l);
            }
        }
        if let Some(removed) = ids("removedLabelIds") {
            issue.label_ids.retain(|l| !removed.contains(l));
        }
        issue.label_ids.dedup();
        issue.updated_at = at;
        Ok(())
    }

    /// `issueLabelCreate(input:)`: a team's label (or a workspace label without `teamId`);
    /// a name already used where the new label would be seen is refused.
    pub fn label_create(&mut self, input: &Map<String, Value>) -> Result<Label, ApiError> {
        if let Some(key) = input
            .keys()
            .find(|k| !["name", "teamId", "color", "description"].contains(&k.as_str()))
        {
            return Err(ApiError::unsupported(format_args!(
                "IssueLabelCreateInput.{key}"
            )));
        }
        let name = input
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_string();
        if name.is_empty() {
            return Err(ApiError::input(
                "Argument Validation Error",
                "A label needs a name.",
            ));
        }
        let team = match input.get("teamId").and_then(Value::as_str) {
            Some(id) => Some(
                self.teams
                    .iter()
                    .find(|t| t.id == id)
                    .ok_or_else(|| ApiError::not_found("Team"))?
                    .id
                    .clone(),
            ),
            None => None,
        };
        let clash = self.labels.iter().any(|l| {
            l.name.eq_ignore_ascii_case(&name)
                && (l.team_id.is_none() || team.is_none() || l.team_id == team)
        });
        if clash {
            return Err(ApiError::input(
                "Duplicate label name",
                format!("A label named \"{name}\" already exists."),
            ));
        }
        let id = self.add_label(team.as_deref(), &name);
        if let Some(color) = input.get("color").and_then(Value::as_str)
            && let Some(l) = self.labels.iter_mut().find(|l| l.id == id)
        {
            l.color = color.to_string();
        }
        self.sync_id += 1;
        self.label(&id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("IssueLabel"))
    }
}
