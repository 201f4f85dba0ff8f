//! GitHub Issues (REST): an employee is a repository (`repo = "owner/name"`), optionally only
//! the issues carrying one label (`github_label`). Pull requests, which GitHub lists with the
//! issues, are left out. The same labels and comments as every source; GitHub has no
//! idempotency keys, so every comment carries a marker (see [`crate::source::remote`]).
//! Approving closes the issue as completed.

pub mod client;
pub mod gh;
mod wire;

pub use client::{DEFAULT_API_URL, GitHubClient, GitHubError};

use super::http::ServerClock;
use super::registry::Setting;
use super::remote::{Remote, RemoteSource, marker_of, with_marker};
use super::{Comment, SourceError, SourceKind, Task};
use crate::labels;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// GitHub as Delegate connects to it everywhere: `[github] api_url` and `timeout_secs`, and
/// the shared retry policy.
pub fn client(
    config: &crate::config::Config,
    token: crate::secrets::Secret,
) -> Result<GitHubClient, GitHubError> {
    GitHubClient::new(
        &config.api_url(SourceKind::GitHub),
        token,
        super::service::policy(config.service(SourceKind::GitHub).timeout_secs),
    )
}

/// The repositories (and label filters) employees work on, each with its source.
type Repos = std::collections::HashMap<(String, Option<String>), Arc<GitHubSource>>;

/// A GitHub token as a [`super::Service`]. Each repository's source is kept, so its view
/// (ETags, the comments it read) makes an idle poll cost one conditional request.
pub struct GitHubService {
    client: Arc<GitHubClient>,
    settle: u64,
    repos: tokio::sync::Mutex<Repos>,
}

impl GitHubService {
    pub fn connect(
        config: &crate::config::Config,
        token: crate::secrets::Secret,
    ) -> Result<Arc<dyn super::Service>, SourceError> {
        Ok(Arc::new(Self {
            client: Arc::new(client(config, token)?),
            settle: super::service::settle_secs(config),
            repos: tokio::sync::Mutex::new(std::collections::HashMap::new()),
        }))
    }
}

/// Who a GitHub user is, in words.
pub fn who(u: &client::User) -> String {
    match &u.name {
        Some(n) if !n.trim().is_empty() => format!("{} ({n})", u.login),
        _ => u.login.clone(),
    }
}

#[async_trait::async_trait]
impl super::Service for GitHubService {
    fn kind(&self) -> SourceKind {
        SourceKind::GitHub
    }

    async fn who(&self) -> Result<String, SourceError> {
        Ok(who(&self.client.user().await?))
    }

    async fn targets(&self) -> Result<Vec<super::service::Target>, SourceError> {
        Ok(self
            .client
            .repos()
            .await?
            .into_iter()
            .map(|r| super::service::Target {
                value: r.clone(),
                name: r,
            })
            .collect())
    }

    async fn source_for(
        &self,
        employee: &crate::config::Employee,
    ) -> Result<super::Source, SourceError> {
        let repo = employee.setting("repo").unwrap_or_default().to_string();
        let label = employee.setting("github_label").map(String::from);
        let key = (repo.trim().to_lowercase(), label.clone());
        let mut repos = self.repos.lock().await;
        let source = repos
            .entry(key)
            .or_insert_with(|| {
                Arc::new(GitHubSource::new(
                    GitHubRepo::new(self.client.clone(), &repo, label.as_deref()),
                    self.settle,
                ))
            })
            .clone();
        Ok(source)
    }

    /// The repository: there, with issues on, and writable by the token.
    async fn check(&self, employee: &crate::config::Employee) -> Result<String, SourceError> {
        let repo = employee.setting("repo").unwrap_or_default().to_string();
        let found = self.client.repo(&repo).await?;
        let refuse = |message: String| {
            Err(SourceError::service(GitHubError::Forbidden {
                message,
                needs: None,
            }))
        };
        if found.has_issues == Some(false) {
            return refuse(format!(
                "the repository {} has issues turned off (turn them on in its Settings → General → Features)",
                found.full_name
            ));
        }
        if found.archived {
            return refuse(format!(
                "the repository {} is archived (read-only)",
                found.full_name
            ));
        }
        if found
            .permissions
            .as_ref()
            .is_some_and(|p| !p.push && !p.triage)
        {
            return refuse(format!(
                "the token can read {} but may not label or comment on its issues",
                found.full_name
            ));
        }
        Ok(format!(
            "repository {} found{}",
            found.full_name,
            employee
                .setting("github_label")
                .map(|l| format!(" (issues labelled \"{l}\")"))
                .unwrap_or_default()
        ))
    }

    async fn invalidate(&self) {
        for repo in self.repos.lock().await.values() {
            super::TaskSource::invalidate(repo.as_ref()).await;
        }
    }
}

/// GitHub as people and settings see it.
pub const INFO: super::SourceInfo = super::SourceInfo {
    kind: SourceKind::GitHub,
    title: "GitHub",
    target_noun: "repository",
    target_words: "a GitHub repository",
    settings: &[
        Setting {
            key: "repo",
            label: "GitHub repository",
            hint: "",
            example: "octo-org/content",
            required: true,
            target: true,
            words: "repository {}",
            first_run: false,
            check: Some(check_repo),
        },
        Setting {
            key: "github_label",
            label: "Only issues with this label",
            hint: "Empty: every open issue. Pull requests are never taken.",
            example: "delegate",
            required: false,
            target: false,
            words: " (issues labelled “{}”)",
            first_run: true,
            check: Some(super::registry::one_label),
        },
    ],
    task_word: "issue",
    // GitHub refuses a longer comment: 422 "Body is too long (maximum is 65536 characters)".
    comment_chars: 65_536,
    taken_words: "Open issues in this repository (only those with the label, if you give one)",
    token_name: "personal access token",
    token_elsewhere: ", or log in with `gh auth login`",
    token_env: Some("GITHUB_TOKEN"),
    token_tool: Some(gh::TOOL),
    default_api_url: Some(DEFAULT_API_URL),
    api_url_env: Some("DELEGATE_GITHUB_API_URL"),
    keychain_entry: Some("github-token"),
    token_help: "GitHub → Settings → Developer settings → Personal access tokens: a \
        fine-grained token with Issues read and write on the repository (or a classic token \
        with the `repo` scope); or log in with `gh auth login`",
    task_links: &["https://github.com/"],
    connect: Some(GitHubService::connect),
};

/// `owner/name` as GitHub allows them: letters, digits, `-`, `_` and `.`.
fn check_repo(s: &str) -> Result<(), String> {
    let ok = |part: &str| {
        !part.is_empty()
            && part.len() <= 100
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && part != "."
            && part != ".."
    };
    match s.split_once('/') {
        Some((owner, name)) if ok(owner) && ok(name) => Ok(()),
        _ => Err(format!(
            "must be a GitHub repository as owner/name, like \"octo-org/content\" (got \"{s}\")"
        )),
    }
}

/// An employee's GitHub source.
pub type GitHubSource = RemoteSource<GitHubRepo>;

/// The labels Delegate creates in a repository when they are missing, with their colours.
const LABELS: [(&str, &str, &str); 4] = [
    (
        labels::WORKING,
        "fbca04",
        "Delegate: an agent is working on it",
    ),
    (
        labels::DONE,
        "0e8a16",
        "Delegate: a draft is ready for review",
    ),
    (
        labels::FAILED,
        "d93f0b",
        "Delegate: gave up after the last attempt",
    ),
    (
        labels::NEEDS_INPUT,
        "5319e7",
        "Delegate: the agent asks you something; answer in a comment",
    ),
];

/// One repository (and label filter) on a GitHub account.
pub struct GitHubRepo {
    client: Arc<GitHubClient>,
    repo: String,
    label: Option<String>,
    labels_made: OnceCell<()>,
}

impl GitHubRepo {
    pub fn new(client: Arc<GitHubClient>, repo: &str, label: Option<&str>) -> Self {
        Self {
            client,
            repo: repo.trim().to_string(),
            label: label
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string),
            labels_made: OnceCell::new(),
        }
    }

    pub fn client(&self) -> &GitHubClient {
        &self.client
    }

    /// Creates Delegate's labels (with colours and descriptions) the first time this
    /// repository is written to; a failure is left to GitHub, which makes a missing label
    /// (without colour) when an issue gets it.
    async fn make_labels(&self) {
        self.labels_made
            .get_or_init(|| async {
                let have = match self.client.labels(&self.repo).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(repo = %self.repo, error = %e, "could not list the repository's labels");
                        return;
                    }
                };
                for (name, color, description) in LABELS {
                    if have.iter().any(|h| h.eq_ignore_ascii_case(name)) {
                        continue;
                    }
                    if let Err(e) = self
                        .client
                        .create_label(&self.repo, name, color, description)
                        .await
                    {
                        tracing::warn!(repo = %self.repo, label = name, error = %e, "could not create the label");
                    }
                }
            })
            .await;
    }
}

impl From<GitHubError> for SourceError {
    fn from(e: GitHubError) -> Self {
        SourceError::service(e)
    }
}

impl super::ServiceFailure for GitHubError {
    fn what(&self) -> String {
        GitHubError::what(self)
    }
    fn fix(&self) -> String {
        GitHubError::fix(self)
    }
    fn is_gone(&self) -> bool {
        GitHubError::is_gone(self)
    }
    fn is_rejected_token(&self) -> bool {
        matches!(self, GitHubError::Unauthorized)
    }
    fn is_ambiguous(&self) -> bool {
        GitHubError::is_ambiguous(self)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[async_trait::async_trait]
impl Remote for GitHubRepo {
    fn kind(&self) -> SourceKind {
        SourceKind::GitHub
    }

    async fn list(&self) -> Result<(Vec<Task>, bool), SourceError> {
        let listed = self
            .client
            .open_issues(&self.repo, self.label.as_deref())
            .await?;
        let tasks = listed
            .items
            .iter()
            .filter(|i| !i.is_pull_request() && i.state == "open")
            .map(|i| i.to_task())
            .collect();
        Ok((tasks, listed.unchanged))
    }

    async fn comments(&self, task_id: &str) -> Result<Vec<Comment>, SourceError> {
        let mut all = self.client.comments(&self.repo, task_id).await?.items;
        // Ids grow with creation: the order among comments stamped in the same second.
        all.sort_by_key(|c| (c.created_at, c.id));
        Ok(all.iter().map(|c| c.to_comment()).collect())
    }

    async fn post(&self, task_id: &str, marker: &str, text: &str) -> Result<Comment, SourceError> {
        let body = with_marker(text, marker);
        Ok(self
            .client
            .post_comment(&self.repo, task_id, &body)
            .await?
            .to_comment())
    }

    fn carries(&self, comment: &Comment, marker: &str) -> bool {
        marker_of(&comment.content) == Some(marker)
    }

    async fn edit(&self, _task_id: &str, comment_id: &str, text: &str) -> Result<(), SourceError> {
        Ok(self
            .client
            .edit_comment(&self.repo, comment_id, text)
            .await?)
    }

    async fn delete(&self, _task_id: &str, comment_id: &str) -> Result<(), SourceError> {
        Ok(self.client.delete_comment(&self.repo, comment_id).await?)
    }

    async fn relabel(
        &self,
        task_id: &str,
        add: &[String],
        remove: &[String],
        _after: &[String],
    ) -> Result<(), SourceError> {
        if !add.is_empty() {
            self.make_labels().await;
            self.client.add_labels(&self.repo, task_id, add).await?;
        }
        for l in remove {
            self.client.remove_label(&self.repo, task_id, l).await?;
        }
        Ok(())
    }

    async fn task(&self, task_id: &str) -> Result<Task, SourceError> {
        Ok(self.client.issue(&self.repo, task_id).await?.to_task())
    }

    async fn close(&self, task_id: &str) -> Result<(), SourceError> {
        Ok(self.client.close_issue(&self.repo, task_id).await?)
    }

    fn clock(&self) -> ServerClock {
        self.client.clock()
    }

    fn rounding(&self) -> chrono::Duration {
        chrono::Duration::seconds(1)
    }

    fn ambiguous(&self, e: &SourceError) -> bool {
        e.is_ambiguous()
    }
}
