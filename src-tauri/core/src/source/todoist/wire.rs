//! Todoist API v1 JSON shapes, as the server sends them.

use crate::source::{Comment, Task};
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    pub results: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WireDue {
    pub date: String,
    #[serde(default)]
    pub is_recurring: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WireTask {
    pub id: String,
    pub project_id: String,
    pub content: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default = "one")]
    pub priority: u8,
    #[serde(default)]
    pub due: Option<WireDue>,
    #[serde(default)]
    pub child_order: i64,
    #[serde(default)]
    pub checked: bool,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default)]
    pub updated_at: Option<String>,
}

fn one() -> u8 {
    1
}

impl WireTask {
    pub fn is_open(&self) -> bool {
        !self.checked && !self.is_deleted
    }

    pub fn to_task(&self) -> Task {
        Task {
            id: self.id.clone(),
            title: self.content.clone(),
            description: self.description.clone(),
            labels: self.labels.clone(),
            priority: self.priority.clamp(1, 4),
            due: self.due.as_ref().map(|d| d.date.clone()),
            recurring: self.due.as_ref().is_some_and(|d| d.is_recurring),
            order: self.child_order,
            updated_at: self.updated_at.as_deref().and_then(parse_time),
            url: Some(format!("https://app.todoist.com/app/task/{}", self.id)),
        }
    }
}

/// A comment: `GET /comments` results and `/sync` `notes` share this shape (`item_id` is the
/// task).
#[derive(Debug, Clone, Deserialize)]
pub struct WireComment {
    pub id: String,
    #[serde(default)]
    pub item_id: String,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub posted_at: Option<String>,
    #[serde(default)]
    pub is_deleted: bool,
    /// A file on the comment (`resource_type` "file"; links and images carry other keys).
    #[serde(default)]
    pub file_attachment: Option<WireAttachment>,
}

/// A comment's `file_attachment` (and what `POST /uploads` answers).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WireAttachment {
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub file_url: Option<String>,
    #[serde(default)]
    pub file_size: Option<u64>,
    #[serde(default)]
    pub file_type: Option<String>,
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub upload_state: Option<String>,
}

impl WireAttachment {
    /// The file, when this is one (a finished upload with a name and an address).
    pub fn to_file(&self) -> Option<super::super::FileRef> {
        if self.resource_type.as_deref().is_some_and(|t| t != "file")
            || self
                .upload_state
                .as_deref()
                .is_some_and(|s| s != "completed")
        {
            return None;
        }
        Some(super::super::FileRef {
            name: self.file_name.clone()?,
            url: self.file_url.clone()?,
            size: self.file_size,
            mime: self.file_type.clone(),
        })
    }
}

impl WireComment {
    pub fn to_comment(&self) -> Comment {
        Comment {
            id: self.id.clone(),
            content: self.content.clone(),
            posted_at: self.posted_at.as_deref().and_then(parse_time),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct WireProject {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default)]
    pub is_archived: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WireUser {
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub email: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SyncResponse {
    pub sync_token: String,
    #[serde(default)]
    pub full_sync: bool,
    #[serde(default)]
    pub items: Vec<WireTask>,
    #[serde(default)]
    pub notes: Vec<WireComment>,
    /// uuid → `"ok"` or an error object, for each command sent.
    #[serde(default)]
    pub sync_status: std::collections::HashMap<String, serde_json::Value>,
    #[serde(default)]
    pub temp_id_mapping: std::collections::HashMap<String, String>,
    /// The server's clock (`Date` header) when it answered, to measure leases in its time.
    #[serde(skip)]
    pub server_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub projects: Vec<WireProject>,
    #[serde(default)]
    pub user: Option<WireUser>,
}

/// The JSON error body every v1 endpoint sends.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_tag: String,
    #[serde(default)]
    pub error_extra: serde_json::Map<String, serde_json::Value>,
}

/// Timestamps come with and without fractional seconds.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}
