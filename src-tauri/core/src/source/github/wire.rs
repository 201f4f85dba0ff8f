//! GitHub's REST shapes, as far as Delegate reads them (from GitHub's OpenAPI description:
//! `issue`, `issue-comment`, `label`, `repository`, `simple-user`).

use crate::source::{Comment, Task};
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct WireLabel {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WireIssue {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub state: String,
    #[serde(default)]
    pub labels: Vec<WireLabel>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Present on pull requests, which the issues list includes.
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
}

impl WireIssue {
    pub fn is_pull_request(&self) -> bool {
        self.pull_request.is_some()
    }

    pub fn to_task(&self) -> Task {
        Task {
            id: self.number.to_string(),
            title: self.title.clone(),
            description: self.body.clone().unwrap_or_default(),
            labels: self.labels.iter().map(|l| l.name.clone()).collect(),
            priority: 1,
            due: None,
            recurring: false,
            // Oldest first: the lower the number, the earlier it was filed.
            order: self.number as i64,
            updated_at: self.updated_at,
            url: self.html_url.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct WireComment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl WireComment {
    pub fn to_comment(&self) -> Comment {
        Comment {
            id: self.id.to_string(),
            content: self.body.clone().unwrap_or_default(),
            posted_at: Some(self.created_at),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub login: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WirePermissions {
    #[serde(default)]
    pub push: bool,
    #[serde(default)]
    pub triage: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WireRepo {
    pub full_name: String,
    #[serde(default)]
    pub has_issues: Option<bool>,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub permissions: Option<WirePermissions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
}
