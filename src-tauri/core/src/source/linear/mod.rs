//! Linear (GraphQL): an employee is a team (`team = "ENG"`, its key), optionally only the
//! issues of one project (`linear_project`) or carrying one label (`linear_label`). An issue
//! is open for work in a state of type `unstarted` ("Todo"); the labels and comments are the
//! same as every source's, and Linear's workflow follows the labels: a won claim moves the
//! issue to the team's first `started` state ("In Progress") with `agent-working`, a draft to
//! the review state (`linear_review_state`, else the first state named like "In Review",
//! else it stays started) with `agent-done`, a retry or giving up back to "Todo". Comments
//! are created with client-given ids, so a retried write is applied once. Approving moves the
//! issue to the team's first `completed` state.

pub mod client;

pub use client::{DEFAULT_API_URL, LinearClient, LinearError};

use super::http::ServerClock;
use super::registry::Setting;
use super::remote::{Remote, RemoteSource};
use super::{Comment, SourceError, SourceKind, Task};
use crate::labels;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Linear as Delegate connects to it everywhere: `[linear] api_url` and `timeout_secs`, and
/// the shared retry policy.
pub fn client(
    config: &crate::config::Config,
    key: crate::secrets::Secret,
) -> Result<LinearClient, LinearError> {
    LinearClient::new(
        &config.api_url(SourceKind::Linear),
        key,
        super::service::policy(config.service(SourceKind::Linear).timeout_secs),
    )
}

/// A Linear key as a [`super::Service`]; each team's source is kept (and with it the team's
/// states and labels).
pub struct LinearService {
    client: Arc<LinearClient>,
    settle: u64,
    teams: Mutex<HashMap<String, Arc<LinearSource>>>,
}

impl LinearService {
    pub fn connect(
        config: &crate::config::Config,
        key: crate::secrets::Secret,
    ) -> Result<Arc<dyn super::Service>, SourceError> {
        Ok(Arc::new(Self {
            client: Arc::new(client(config, key)?),
            settle: super::service::settle_secs(config),
            teams: Mutex::new(HashMap::new()),
        }))
    }

    fn team(&self, e: &crate::config::Employee) -> LinearTeam {
        LinearTeam::new(
            self.client.clone(),
            e.setting("team").unwrap_or(""),
            e.setting("linear_project"),
            e.setting("linear_label"),
            e.setting("linear_review_state"),
        )
    }
}

#[async_trait::async_trait]
impl super::Service for LinearService {
    fn kind(&self) -> SourceKind {
        SourceKind::Linear
    }

    async fn who(&self) -> Result<String, SourceError> {
        let u = self.client.viewer().await?;
        Ok(format!("{} <{}>", u.name, u.email))
    }

    async fn targets(&self) -> Result<Vec<super::service::Target>, SourceError> {
        Ok(self
            .client
            .teams()
            .await?
            .into_iter()
            .map(|t| super::service::Target {
                name: format!("{} ({})", t.name, t.key),
                value: t.key,
            })
            .collect())
    }

    async fn source_for(&self, e: &crate::config::Employee) -> Result<super::Source, SourceError> {
        let key = format!(
            "{}\u{1f}{:?}\u{1f}{:?}\u{1f}{:?}",
            e.setting("team").unwrap_or("").to_lowercase(),
            e.setting("linear_project"),
            e.setting("linear_label"),
            e.setting("linear_review_state")
        );
        let mut teams = self.teams.lock().await;
        let source = teams
            .entry(key)
            .or_insert_with(|| Arc::new(LinearSource::new(self.team(e), self.settle)))
            .clone();
        Ok(source)
    }

    async fn check(&self, e: &crate::config::Employee) -> Result<String, SourceError> {
        Ok(self.team(e).describe().await?)
    }

    async fn invalidate(&self) {
        for team in self.teams.lock().await.values() {
            super::TaskSource::invalidate(team.as_ref()).await;
        }
    }
}

/// Linear as people and settings see it.
pub const INFO: super::SourceInfo = super::SourceInfo {
    kind: SourceKind::Linear,
    title: "Linear",
    target_noun: "team",
    target_words: "a Linear team",
    settings: &[
        Setting {
            key: "team",
            label: "Linear team",
            hint: "",
            example: "ENG",
            required: true,
            target: true,
            words: "team {}",
            first_run: false,
            check: Some(check_team),
        },
        Setting {
            key: "linear_project",
            label: "Only this project",
            hint: "Empty: every project of the team.",
            example: "Website relaunch",
            required: false,
            target: false,
            words: ", project “{}”",
            first_run: false,
            check: None,
        },
        Setting {
            key: "linear_label",
            label: "Only issues with this label",
            hint: "Empty: every issue in Todo. Issues someone moved to In Progress stay theirs.",
            example: "delegate",
            required: false,
            target: false,
            words: " (issues labelled “{}”)",
            first_run: true,
            check: Some(super::registry::one_label),
        },
        Setting {
            key: "linear_review_state",
            label: "Drafts wait for review in",
            hint: "Issues in Todo are taken; a run moves them to In Progress, a draft to this state, approving to Done. Empty: a state named like “In Review”.",
            example: "In Review",
            required: false,
            target: false,
            words: "",
            first_run: false,
            check: None,
        },
    ],
    task_word: "issue",
    // Linear publishes no limit for a comment's body: a cap well under GitHub's.
    comment_chars: 50_000,
    taken_words: "Issues in Todo in this team (only those with the label, if you give one)",
    token_name: "personal API key",
    token_elsewhere: "",
    token_env: Some("LINEAR_API_KEY"),
    token_tool: None,
    default_api_url: Some(DEFAULT_API_URL),
    api_url_env: Some("DELEGATE_LINEAR_API_URL"),
    keychain_entry: Some("linear-api-key"),
    token_help: "Linear → Settings → Security & access → Personal API keys: create a key \
        (it acts as you: the issues of your teams)",
    task_links: &["https://linear.app/"],
    connect: Some(LinearService::connect),
};

/// A team's key: the letters before an issue's number, no spaces.
fn check_team(s: &str) -> Result<(), String> {
    if s.chars().any(char::is_whitespace) {
        return Err(format!(
            "must be the team's key, like \"ENG\": the letters before an issue's number (got \"{s}\")"
        ));
    }
    Ok(())
}

/// An employee's Linear source.
pub type LinearSource = RemoteSource<LinearTeam>;

const ISSUE_FIELDS: &str = "id identifier number title description priority url updatedAt \
    state { type } labels(first: 20) { nodes { name } }";

/// The labels' colours when Delegate creates them.
const COLORS: [(&str, &str); 4] = [
    (labels::WORKING, "#f2c94c"),
    (labels::DONE, "#4cb782"),
    (labels::FAILED, "#eb5757"),
    (labels::NEEDS_INPUT, "#5e6ad2"),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireIssue {
    id: String,
    number: f64,
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    priority: f64,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
    state: WireStateType,
    labels: Nodes<Named>,
}

#[derive(Debug, Clone, Deserialize)]
struct WireStateType {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Named {
    name: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Nodes<T> {
    nodes: Vec<T>,
    #[serde(default, rename = "pageInfo")]
    page: Option<PageInfo>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireComment {
    id: String,
    body: String,
    created_at: DateTime<Utc>,
}

impl WireComment {
    fn to_comment(&self) -> Comment {
        Comment {
            id: self.id.clone(),
            content: self.body.clone(),
            posted_at: Some(self.created_at),
        }
    }
}

impl WireIssue {
    fn to_task(&self) -> Task {
        Task {
            id: self.id.clone(),
            title: self.title.clone(),
            description: self.description.clone().unwrap_or_default(),
            labels: self.labels.nodes.iter().map(|l| l.name.clone()).collect(),
            // Linear: 1 urgent … 4 low, 0 none; Delegate counts 4 as most urgent.
            priority: match self.priority as i64 {
                1 => 4,
                2 => 3,
                3 => 2,
                _ => 1,
            },
            due: None,
            recurring: false,
            order: self.number as i64,
            updated_at: self.updated_at,
            url: self.url.clone(),
        }
    }
}

/// A team's workflow states and labels, read once.
#[derive(Debug, Clone)]
struct TeamMeta {
    id: String,
    unstarted: String,
    started: String,
    review: Option<String>,
    completed: String,
    /// The names of the states above, for people.
    names: HashMap<String, String>,
    /// Label ids by name (lower case).
    labels: HashMap<String, String>,
}

/// The user a key belongs to.
#[derive(Debug, Clone, Deserialize)]
pub struct Viewer {
    pub name: String,
    #[serde(default)]
    pub email: String,
}

/// A team as listed for a person to pick.
#[derive(Debug, Clone, Deserialize)]
pub struct TeamRef {
    pub key: String,
    pub name: String,
}

impl LinearClient {
    pub async fn viewer(&self) -> Result<Viewer, LinearError> {
        #[derive(Deserialize)]
        struct D {
            viewer: Viewer,
        }
        let d: D = self
            .run(
                "the key's user",
                "query Me { viewer { name email } }",
                json!({}),
            )
            .await?;
        Ok(d.viewer)
    }

    pub async fn teams(&self) -> Result<Vec<TeamRef>, LinearError> {
        #[derive(Deserialize)]
        struct D {
            teams: Nodes<TeamRef>,
        }
        let d: D = self
            .run(
                "your teams",
                "query Teams { teams(first: 100) { nodes { key name } } }",
                json!({}),
            )
            .await?;
        Ok(d.teams.nodes)
    }
}

/// One team (with its project and label filters) on a Linear key.
pub struct LinearTeam {
    client: Arc<LinearClient>,
    team: String,
    project: Option<String>,
    label: Option<String>,
    review_state: Option<String>,
    meta: Mutex<Option<TeamMeta>>,
}

impl LinearTeam {
    pub fn new(
        client: Arc<LinearClient>,
        team: &str,
        project: Option<&str>,
        label: Option<&str>,
        review_state: Option<&str>,
    ) -> Self {
        let clean = |s: Option<&str>| {
            s.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Self {
            client,
            team: team.trim().to_string(),
            project: clean(project),
            label: clean(label),
            review_state: clean(review_state),
            meta: Mutex::new(None),
        }
    }

    pub fn client(&self) -> &LinearClient {
        &self.client
    }

    /// The team's states and labels (read once; `refresh` reads them again).
    async fn meta(&self, refresh: bool) -> Result<TeamMeta, LinearError> {
        let mut slot = self.meta.lock().await;
        if let Some(m) = slot.as_ref().filter(|_| !refresh) {
            return Ok(m.clone());
        }
        #[derive(Deserialize)]
        struct State {
            id: String,
            name: String,
            #[serde(rename = "type")]
            kind: String,
            position: f64,
        }
        #[derive(Deserialize)]
        struct Label {
            id: String,
            name: String,
        }
        #[derive(Deserialize)]
        struct Team {
            id: String,
            states: Nodes<State>,
            labels: Nodes<Label>,
        }
        #[derive(Deserialize)]
        struct D {
            teams: Nodes<Team>,
        }
        let d: D = self
            .client
            .run(
                "the team",
                "query Team($key: String!) { teams(first: 1, filter: { key: { eqIgnoreCase: $key } }) { \
                 nodes { id states(first: 50) { nodes { id name type position } } \
                 labels(first: 250) { nodes { id name } } } } }",
                json!({ "key": self.team }),
            )
            .await?;
        let Some(team) = d.teams.nodes.into_iter().next() else {
            let available = self
                .client
                .teams()
                .await
                .map(|t| t.into_iter().map(|t| t.key).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            return Err(LinearError::TeamNotFound {
                wanted: self.team.clone(),
                available: if available.is_empty() {
                    "(none)".into()
                } else {
                    available
                },
            });
        };
        let mut states = team.states.nodes;
        states.sort_by(|a, b| a.position.total_cmp(&b.position));
        let first = |kind: &str| states.iter().find(|s| s.kind == kind).map(|s| s.id.clone());
        let missing = |kind: &str| LinearError::Invalid {
            message: format!(
                "the team {} has no workflow state of type \"{kind}\"",
                self.team
            ),
        };
        let review = match &self.review_state {
            Some(name) => Some(
                states
                    .iter()
                    .find(|s| s.name.eq_ignore_ascii_case(name))
                    .map(|s| s.id.clone())
                    .ok_or_else(|| LinearError::Invalid {
                        message: format!(
                            "the team {} has no state named \"{name}\" (linear_review_state); its states: {}",
                            self.team,
                            states.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    })?,
            ),
            None => states
                .iter()
                .find(|s| s.kind == "started" && s.name.to_lowercase().contains("review"))
                .map(|s| s.id.clone()),
        };
        let meta = TeamMeta {
            id: team.id,
            unstarted: first("unstarted").ok_or_else(|| missing("unstarted"))?,
            started: first("started").ok_or_else(|| missing("started"))?,
            review,
            completed: first("completed").ok_or_else(|| missing("completed"))?,
            names: states
                .iter()
                .map(|s| (s.id.clone(), s.name.clone()))
                .collect(),
            labels: team
                .labels
                .nodes
                .into_iter()
                .map(|l| (l.name.to_lowercase(), l.id))
                .collect(),
        };
        *slot = Some(meta.clone());
        Ok(meta)
    }

    /// The ids of `names`, creating the labels the team lacks.
    async fn label_ids(&self, names: &[String], create: bool) -> Result<Vec<String>, LinearError> {
        let mut meta = self.meta(false).await?;
        if names
            .iter()
            .any(|n| !meta.labels.contains_key(&n.to_lowercase()))
        {
            meta = self.meta(true).await?;
        }
        let mut ids = Vec::new();
        for name in names {
            if let Some(id) = meta.labels.get(&name.to_lowercase()) {
                ids.push(id.clone());
                continue;
            }
            if !create {
                continue;
            }
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Made {
                issue_label: Option<Named2>,
            }
            #[derive(Deserialize)]
            struct Named2 {
                id: String,
            }
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct D {
                issue_label_create: Made,
            }
            let color = COLORS
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| *c)
                .unwrap_or("#95a2b3");
            let d: D = self
                .client
                .run(
                    "a label",
                    "mutation Label($input: IssueLabelCreateInput!) { issueLabelCreate(input: $input) { success issueLabel { id } } }",
                    json!({ "input": { "name": name, "teamId": meta.id, "color": color } }),
                )
                .await?;
            if let Some(l) = d.issue_label_create.issue_label {
                if let Some(m) = self.meta.lock().await.as_mut() {
                    m.labels.insert(name.to_lowercase(), l.id.clone());
                }
                ids.push(l.id);
            }
        }
        Ok(ids)
    }

    /// The team as `doctor` reports it: found, and the states Delegate moves issues through.
    pub async fn describe(&self) -> Result<String, LinearError> {
        let meta = self.meta(true).await?;
        let name = |id: &str| meta.names.get(id).cloned().unwrap_or_default();
        Ok(format!(
            "team {} found: issues in “{}” are taken, worked in “{}”, drafts wait in “{}”, approved to “{}”",
            self.team,
            name(&meta.unstarted),
            name(&meta.started),
            meta.review
                .as_deref()
                .map(name)
                .unwrap_or_else(|| name(&meta.started)),
            name(&meta.completed)
        ))
    }

    fn filter(&self) -> serde_json::Value {
        let mut f = json!({
            "team": { "key": { "eqIgnoreCase": self.team } },
            "state": { "type": { "in": ["unstarted", "started"] } },
        });
        if let Some(p) = &self.project {
            f["project"] = json!({ "name": { "eqIgnoreCase": p } });
        }
        if let Some(l) = &self.label {
            f["labels"] = json!({ "some": { "name": { "eqIgnoreCase": l } } });
        }
        f
    }
}

/// Linear comment ids are UUIDs: the one a marker stands for (a marker that is one already,
/// else one made from it, always the same).
pub fn comment_id(marker: &str) -> String {
    if let Ok(u) = uuid::Uuid::parse_str(marker)
        && u.get_version_num() == 4
    {
        return u.to_string();
    }
    let mut bytes = [0u8; 16];
    for (i, b) in marker.bytes().enumerate() {
        let slot = &mut bytes[i % 16];
        *slot = slot.wrapping_mul(31).wrapping_add(b);
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

impl From<LinearError> for SourceError {
    fn from(e: LinearError) -> Self {
        SourceError::service(e)
    }
}

impl super::ServiceFailure for LinearError {
    fn what(&self) -> String {
        LinearError::what(self)
    }
    fn fix(&self) -> String {
        LinearError::fix(self)
    }
    fn is_gone(&self) -> bool {
        LinearError::is_gone(self)
    }
    fn is_rejected_token(&self) -> bool {
        matches!(self, LinearError::Unauthorized)
    }
    fn is_ambiguous(&self) -> bool {
        LinearError::is_ambiguous(self)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[async_trait::async_trait]
impl Remote for LinearTeam {
    fn file_host(&self, url: &reqwest::Url) -> bool {
        self.client.file_host(url)
    }

    async fn download(&self, url: &str, max: u64) -> Result<Option<Vec<u8>>, SourceError> {
        Ok(self.client.download(url, max).await?)
    }

    async fn upload(
        &self,
        _task_id: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<crate::source::FileRef>, SourceError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Header {
            key: String,
            value: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct UploadFile {
            upload_url: String,
            asset_url: String,
            #[serde(default)]
            headers: Vec<Header>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Payload {
            upload_file: Option<UploadFile>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            file_upload: Payload,
        }
        let content_type = if name.ends_with(".md") {
            "text/markdown"
        } else {
            "text/plain"
        };
        let size = bytes.len();
        let data: Data = self
            .client
            .run(
                "the upload",
                "mutation Upload($contentType: String!, $filename: String!, $size: Int!) { fileUpload(contentType: $contentType, filename: $filename, size: $size) { success uploadFile { uploadUrl assetUrl headers { key value } } } }",
                json!({ "contentType": content_type, "filename": name, "size": size }),
            )
            .await?;
        let Some(file) = data.file_upload.upload_file else {
            return Err(LinearError::Decode {
                what: "fileUpload".into(),
                message: "no upload was prepared".into(),
            }
            .into());
        };
        let headers: Vec<(String, String)> =
            file.headers.into_iter().map(|h| (h.key, h.value)).collect();
        self.client
            .put_signed(&file.upload_url, content_type, &headers, bytes)
            .await?;
        Ok(Some(crate::source::FileRef {
            name: name.to_string(),
            url: file.asset_url,
            size: Some(size as u64),
            mime: Some(content_type.into()),
        }))
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Linear
    }

    /// Issues in an unstarted state, and those in a started state that carry Delegate's
    /// labels (claimed, or waiting for review): an issue a person moved to "In Progress"
    /// themselves is theirs.
    async fn list(&self) -> Result<(Vec<Task>, bool), SourceError> {
        #[derive(Deserialize)]
        struct D {
            issues: Nodes<WireIssue>,
        }
        let query = format!(
            "query Open($filter: IssueFilter, $after: String) {{ issues(first: 50, after: $after, filter: $filter) {{ \
             nodes {{ {ISSUE_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"
        );
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..40 {
            let d: D = self
                .client
                .run(
                    "the open issues",
                    &query,
                    json!({ "filter": self.filter(), "after": after }),
                )
                .await?;
            out.extend(
                d.issues
                    .nodes
                    .iter()
                    .filter(|i| {
                        i.state.kind == "unstarted"
                            || i.labels.nodes.iter().any(|l| labels::is_ours(&l.name))
                    })
                    .map(WireIssue::to_task),
            );
            match d.issues.page {
                Some(p) if p.has_next_page && p.end_cursor.is_some() => after = p.end_cursor,
                _ => break,
            }
        }
        Ok((out, false))
    }

    async fn comments(&self, task_id: &str) -> Result<Vec<Comment>, SourceError> {
        #[derive(Deserialize)]
        struct Issue {
            comments: Nodes<WireComment>,
        }
        #[derive(Deserialize)]
        struct D {
            issue: Issue,
        }
        let mut all: Vec<WireComment> = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..20 {
            let d: D = self
                .client
                .run(
                    "the issue's comments",
                    "query Comments($id: String!, $after: String) { issue(id: $id) { comments(first: 100, after: $after) { \
                     nodes { id body createdAt } pageInfo { hasNextPage endCursor } } } }",
                    json!({ "id": task_id, "after": after }),
                )
                .await?;
            all.extend(d.issue.comments.nodes);
            match d.issue.comments.page {
                Some(p) if p.has_next_page && p.end_cursor.is_some() => after = p.end_cursor,
                _ => break,
            }
        }
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all.iter().map(WireComment::to_comment).collect())
    }

    async fn post(&self, task_id: &str, marker: &str, text: &str) -> Result<Comment, SourceError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Made {
            comment: Option<WireComment>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct D {
            comment_create: Made,
        }
        let id = comment_id(marker);
        let made = self
            .client
            .run::<D>(
                "a comment",
                "mutation Post($input: CommentCreateInput!) { commentCreate(input: $input) { success comment { id body createdAt } } }",
                json!({ "input": { "id": id, "issueId": task_id, "body": text } }),
            )
            .await;
        match made {
            Ok(D {
                comment_create: Made { comment: Some(c) },
            }) => Ok(c.to_comment()),
            // Created by an earlier try whose answer was lost: that one is ours.
            Ok(_) | Err(LinearError::Duplicate) => self
                .comments(task_id)
                .await?
                .into_iter()
                .find(|c| c.id == id)
                .ok_or_else(|| {
                    SourceError::service(LinearError::Decode {
                        what: "a comment".into(),
                        message: "created, but not found on the issue".into(),
                    })
                }),
            Err(e) => Err(e.into()),
        }
    }

    fn carries(&self, comment: &Comment, marker: &str) -> bool {
        comment.id == comment_id(marker)
    }

    async fn edit(&self, _task_id: &str, comment_id: &str, text: &str) -> Result<(), SourceError> {
        self.client
            .run::<serde_json::Value>(
                "a comment",
                "mutation Edit($id: String!, $input: CommentUpdateInput!) { commentUpdate(id: $id, input: $input) { success } }",
                json!({ "id": comment_id, "input": { "body": text } }),
            )
            .await?;
        Ok(())
    }

    async fn delete(&self, _task_id: &str, comment_id: &str) -> Result<(), SourceError> {
        match self
            .client
            .run::<serde_json::Value>(
                "a comment",
                "mutation Drop($id: String!) { commentDelete(id: $id) { success } }",
                json!({ "id": comment_id }),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_gone() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Labels and the state they stand for, in one `issueUpdate`.
    async fn relabel(
        &self,
        task_id: &str,
        add: &[String],
        remove: &[String],
        after: &[String],
    ) -> Result<(), SourceError> {
        let meta = self.meta(false).await?;
        let added = self.label_ids(add, true).await?;
        let removed = self.label_ids(remove, false).await?;
        let has = |l: &str| after.iter().any(|x| x == l);
        let state = if has(labels::WORKING) {
            &meta.started
        } else if has(labels::DONE) || has(labels::NEEDS_INPUT) {
            // The person's turn: a draft to review, or a question to answer.
            meta.review.as_ref().unwrap_or(&meta.started)
        } else {
            &meta.unstarted
        };
        self.client
            .run::<serde_json::Value>(
                "the issue",
                "mutation Move($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, input: $input) { success } }",
                json!({ "id": task_id, "input": {
                    "stateId": state, "addedLabelIds": added, "removedLabelIds": removed,
                } }),
            )
            .await?;
        Ok(())
    }

    fn labels_on_claim(&self) -> bool {
        true
    }

    async fn task(&self, task_id: &str) -> Result<Task, SourceError> {
        #[derive(Deserialize)]
        struct D {
            issue: WireIssue,
        }
        let d: D = self
            .client
            .run(
                "the issue",
                &format!("query One($id: String!) {{ issue(id: $id) {{ {ISSUE_FIELDS} }} }}"),
                json!({ "id": task_id }),
            )
            .await?;
        Ok(d.issue.to_task())
    }

    async fn close(&self, task_id: &str) -> Result<(), SourceError> {
        let meta = self.meta(false).await?;
        self.client
            .run::<serde_json::Value>(
                "the issue",
                "mutation Close($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, input: $input) { success } }",
                json!({ "id": task_id, "input": { "stateId": meta.completed } }),
            )
            .await?;
        Ok(())
    }

    fn clock(&self) -> ServerClock {
        self.client.clock()
    }

    fn rounding(&self) -> chrono::Duration {
        chrono::Duration::milliseconds(1)
    }

    fn ambiguous(&self, e: &SourceError) -> bool {
        e.is_ambiguous()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_become_stable_uuid_v4_ids() {
        let a = comment_id("3f9a1c0e5b7d2e8f");
        assert_eq!(a, comment_id("3f9a1c0e5b7d2e8f"));
        assert_ne!(a, comment_id("3f9a1c0e5b7d2e80"));
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 4);
        let v4 = uuid::Uuid::new_v4().to_string();
        assert_eq!(comment_id(&v4), v4);
    }
}
