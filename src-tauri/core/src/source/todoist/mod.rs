//! Todoist (API v1): an employee is a project. [`client`] speaks the REST and `/sync`
//! endpoints with idempotent commands ([`command`], [`wire`]); [`account`] shares one `/sync`
//! snapshot between every employee of an account and settles claims on it; [`TodoistSource`]
//! is one employee's project behind the [`TaskSource`] seam.

mod account;
pub mod client;
mod command;
mod wire;

pub use super::http::NetworkKind;
pub use account::TodoistAccount;
pub use client::{Project, TodoistClient, TodoistError, User};

use super::service::Target;
use super::{Claimed, Comment, Finish, Pending, SourceError, SourceKind, Task, TaskSource};
use crate::claims::Claim;
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// The real Todoist API (`[todoist] api_url` or `DELEGATE_TODOIST_API_URL` replace it).
pub const DEFAULT_API_URL: &str = "https://api.todoist.com/api/v1";

/// Todoist (API v1) as Delegate connects to it everywhere — the workers, the app, `doctor`
/// and `token status`: `[todoist] api_url` and `timeout_secs`, the shared retry policy, and
/// this machine's claim settle time.
pub fn account(
    config: &crate::config::Config,
    token: crate::secrets::Secret,
) -> Result<TodoistAccount, TodoistError> {
    let client = TodoistClient::new(
        &config.api_url(SourceKind::Todoist),
        token,
        super::service::policy(config.service(SourceKind::Todoist).timeout_secs),
    )?;
    Ok(TodoistAccount::new(client).with_settle(super::service::settle_secs(config)))
}

/// A Todoist account as a [`super::Service`]: one `/sync` snapshot shared by every employee.
pub struct TodoistService {
    account: Arc<TodoistAccount>,
}

impl TodoistService {
    pub fn connect(
        config: &crate::config::Config,
        token: crate::secrets::Secret,
    ) -> Result<Arc<dyn super::Service>, SourceError> {
        Ok(Arc::new(Self {
            account: Arc::new(account(config, token)?),
        }))
    }
}

#[async_trait::async_trait]
impl super::Service for TodoistService {
    fn kind(&self) -> SourceKind {
        SourceKind::Todoist
    }

    async fn who(&self) -> Result<String, SourceError> {
        let u = self.account.client().user().await?;
        Ok(format!("{} <{}>", u.full_name, u.email))
    }

    async fn targets(&self) -> Result<Vec<Target>, SourceError> {
        // The employee's setting keeps the name: `config.toml` stays readable.
        Ok(self
            .account
            .client()
            .projects()
            .await?
            .into_iter()
            .map(|p| Target {
                value: p.name.clone(),
                name: p.name,
            })
            .collect())
    }

    async fn source_for(
        &self,
        employee: &crate::config::Employee,
    ) -> Result<super::Source, SourceError> {
        let project = employee.setting("project").unwrap_or_default().to_string();
        Ok(Arc::new(TodoistSource::new(self.account.clone(), &project)))
    }

    async fn check(&self, employee: &crate::config::Employee) -> Result<String, SourceError> {
        let wanted = employee.setting("project").unwrap_or_default().to_string();
        let p = self
            .account
            .resolve_project(&wanted, Duration::from_secs(60))
            .await?;
        Ok(format!("project \"{}\" found (id {})", p.name, p.id))
    }

    async fn invalidate(&self) {
        self.account.invalidate().await
    }
}

/// Todoist as people and settings see it.
pub const INFO: super::SourceInfo = super::SourceInfo {
    kind: SourceKind::Todoist,
    title: "Todoist",
    target_noun: "project",
    target_words: "a Todoist project",
    settings: &[super::registry::Setting {
        key: "project",
        label: "Todoist project",
        hint: "",
        example: "LinkedIn Writer",
        required: true,
        target: true,
        first_run: false,
        words: "project “{}”",
        check: None,
    }],
    task_word: "task",
    // Todoist's comment `content` limit as its Python SDK declares it (the server's own
    // is not published).
    comment_chars: 15_000,
    taken_words: "Tasks you add to this project",
    token_name: "API token",
    token_elsewhere: "",
    token_env: Some("TODOIST_API_TOKEN"),
    token_tool: None,
    default_api_url: Some(DEFAULT_API_URL),
    api_url_env: Some("DELEGATE_TODOIST_API_URL"),
    keychain_entry: Some("todoist-api-token"),
    token_help: "Todoist → Settings → Integrations → Developer: copy the API token",
    task_links: &["https://app.todoist.com/app/task/"],
    connect: Some(TodoistService::connect),
};

/// One employee's Todoist project, on the account it shares with the others.
pub struct TodoistSource {
    account: Arc<TodoistAccount>,
    /// Project name (case-insensitive) or id, as configured.
    project: String,
}

impl TodoistSource {
    /// The project `project` of `account`, which from now on syncs it too.
    pub fn new(account: Arc<TodoistAccount>, project: &str) -> Self {
        account.watch(project);
        Self {
            account,
            project: project.to_string(),
        }
    }
}

#[async_trait::async_trait]
impl TaskSource for TodoistSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Todoist
    }

    async fn open_tasks(&self, max_age: Duration) -> Result<Vec<Task>, SourceError> {
        self.account.open_tasks(&self.project, max_age).await
    }

    async fn comments(
        &self,
        task_id: &str,
        max_age: Duration,
    ) -> Result<Vec<Comment>, SourceError> {
        self.account.comments(task_id, max_age).await
    }

    async fn now(&self) -> DateTime<Utc> {
        self.account.now().await
    }

    async fn files(&self, task_id: &str) -> Vec<(String, crate::source::FileRef)> {
        self.account.files(task_id).await
    }

    async fn upload(
        &self,
        _task_id: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<crate::source::FileRef>, SourceError> {
        self.account.upload(None, name, bytes).await.map(Some)
    }

    async fn download(
        &self,
        file: &crate::source::FileRef,
        max: u64,
    ) -> Result<Option<Vec<u8>>, SourceError> {
        self.account.download(file, max).await
    }

    async fn claim(
        &self,
        task_id: &str,
        claim: &Claim,
        finishes: &[Finish],
        not_before: Option<DateTime<Utc>>,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Result<Claimed, SourceError> {
        self.account
            .claim(task_id, claim, finishes, not_before, default_lease, dead)
            .await
    }

    async fn settle(
        &self,
        pending: &mut Pending,
        finishes: &[Finish],
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Result<Claimed, SourceError> {
        self.account
            .settle(pending, finishes, default_lease, dead)
            .await
    }

    async fn rival(
        &self,
        task_id: &str,
        claim_id: &str,
        known: &HashSet<String>,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Option<(String, Option<String>)> {
        self.account
            .rival(task_id, claim_id, known, default_lease, dead)
            .await
    }

    async fn labels_now(&self, task_id: &str) -> Option<Vec<String>> {
        self.account.labels_now(task_id).await
    }

    async fn posted_at(&self, note: &str, _task_id: &str) -> Option<DateTime<Utc>> {
        self.account.posted_at(note).await
    }

    async fn send(&self, finishes: &[Finish]) -> Result<(), SourceError> {
        self.account.send(finishes).await
    }

    async fn renew(
        &self,
        task_id: &str,
        note_id: &str,
        claim: &Claim,
    ) -> Result<String, SourceError> {
        self.account.renew(task_id, note_id, claim).await
    }

    async fn progress(
        &self,
        task_id: &str,
        note: Option<&str>,
        text: &str,
    ) -> Result<Option<String>, SourceError> {
        self.account.progress(task_id, note, text).await
    }

    async fn finish(&self, finish: &Finish) -> Result<(), SourceError> {
        self.account.finish(finish).await
    }

    async fn labels_and_comment(
        &self,
        task_id: &str,
        labels: &[String],
        text: &str,
    ) -> Result<(), SourceError> {
        self.account.labels_and_comment(task_id, labels, text).await
    }

    async fn set_labels(&self, task_id: &str, labels: &[String]) -> Result<(), SourceError> {
        self.account.set_labels(task_id, labels).await
    }

    async fn task(&self, task_id: &str) -> Result<Task, SourceError> {
        Ok(self.account.client().task(task_id).await?)
    }

    async fn close(&self, task_id: &str, labels: Option<&[String]>) -> Result<(), SourceError> {
        self.account.close(task_id, labels).await
    }

    fn settle_secs(&self) -> u64 {
        self.account.settle_secs()
    }

    async fn invalidate(&self) {
        self.account.invalidate().await
    }
}

impl From<TodoistError> for SourceError {
    fn from(e: TodoistError) -> Self {
        SourceError::service(e)
    }
}

impl super::ServiceFailure for TodoistError {
    fn what(&self) -> String {
        TodoistError::what(self)
    }
    fn fix(&self) -> String {
        TodoistError::fix(self)
    }
    fn is_gone(&self) -> bool {
        TodoistError::is_gone(self)
    }
    fn is_rejected_token(&self) -> bool {
        matches!(self, TodoistError::Unauthorized)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
