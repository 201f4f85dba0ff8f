//! The writes the API makes (`commentCreate`, `commentUpdate`, `commentDelete`,
//! `issueUpdate`, `issueLabelCreate`): checked when they arrive, applied at once or, lagged,
//! when due.

use super::error::{ApiError, Kind};
use super::store::{Comment, DuplicateId, Issue, Label, Pending, Store, is_uuid_v4};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

impl Store {
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
            if !["id", "issueId", "body", "doNotSubscribeToIssue"].contains(&key.as_str()) {
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

    pub(crate) fn update_issue(
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
    /// `fileUpload(contentType, filename, size)`: a signed address to PUT the bytes to (with
    /// the headers it answers, never the API key) and the asset's permanent address.
    pub fn file_upload(&mut self, a: &Map<String, Value>) -> Result<Value, ApiError> {
        let text = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let size = a.get("size").and_then(Value::as_u64).unwrap_or(0);
        let (filename, content_type) = (text("filename"), text("contentType"));
        if filename.is_empty() || content_type.is_empty() {
            return Err(ApiError::input(
                "filename and contentType are required",
                "The file could not be uploaded.",
            ));
        }
        let id = self.uuid();
        let signature = format!("sig-{}", self.uuid());
        self.uploads.insert(
            id.clone(),
            super::store::FakeUpload {
                filename: filename.clone(),
                content_type: content_type.clone(),
                size,
                signature: signature.clone(),
                bytes: None,
            },
        );
        Ok(serde_json::json!({
            "uploadUrl": format!("{}/_fake/upload/{id}", self.base),
            "assetUrl": format!("{}/_fake/assets/{id}/{filename}", self.base),
            "headers": [{ "key": "x-fake-signature", "value": signature }],
            "contentType": content_type,
            "filename": filename,
            "size": size,
        }))
    }

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
