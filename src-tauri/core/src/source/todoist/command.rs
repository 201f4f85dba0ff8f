//! Writes to Todoist as `/sync` commands. Each command carries a uuid made once, when the
//! command is made; a retry after a timeout or a 5xx sends the same uuids, and Todoist never
//! executes a uuid twice, so no write is ever applied twice.

use super::client::TodoistError;
use super::wire::SyncResponse;
use crate::source::Finish;
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Serialize)]
pub struct Command {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uuid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temp_id: Option<String>,
    pub args: Value,
}

/// A fresh random id (uuid v4).
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The `n`-th uuid derived from `base`: the same every time the write is resent.
/// A comment's `file_attachment` for an uploaded file.
fn attachment(f: &crate::source::FileRef) -> Value {
    let mut v = json!({
        "resource_type": "file",
        "file_name": f.name,
        "file_url": f.url,
        "upload_state": "completed",
    });
    if let Some(size) = f.size {
        v["file_size"] = size.into();
    }
    if let Some(mime) = &f.mime {
        v["file_type"] = mime.clone().into();
    }
    v
}

fn derived_uuid(base: &str, n: u128) -> String {
    match uuid::Uuid::parse_str(base) {
        Ok(u) => uuid::Uuid::from_u128(u.as_u128() ^ n).to_string(),
        Err(_) => format!("{base}-{n}"),
    }
}

impl Command {
    fn new(kind: &'static str, args: Value) -> Self {
        Self {
            kind,
            uuid: new_uuid(),
            temp_id: None,
            args,
        }
    }

    /// A run's end: the labels and the comment, with the ids the [`Finish`] was made with.
    pub fn finish(f: &Finish) -> Vec<Self> {
        let [labels, note, temp, delete] = f.ids.clone();
        let mut out = Vec::new();
        if let Some(l) = &f.labels {
            let mut a = Self::set_labels(&f.task_id, l);
            a.uuid = labels;
            out.push(a);
        }
        if let Some(text) = &f.text {
            let mut b = Self::add_note(&f.task_id, text);
            b.uuid = note.clone();
            b.temp_id = Some(temp);
            // A comment carries one file: the first on the end comment, each other on a
            // comment of its own right after it.
            if let Some(first) = f.files.first() {
                b.args["file_attachment"] = attachment(first);
            }
            out.push(b);
            for (i, file) in f.files.iter().enumerate().skip(1) {
                let mut c = Self::add_note(
                    &f.task_id,
                    &format!("{} {}", crate::claims::ATTACHED_HEAD, file.name),
                );
                c.uuid = derived_uuid(&note, i as u128);
                c.args["file_attachment"] = attachment(file);
                out.push(c);
            }
        }
        if let Some(id) = &f.delete_note {
            let mut c = Self::delete_note(id);
            c.uuid = delete.clone();
            out.push(c);
        }
        for (i, id) in f.delete_more.iter().enumerate() {
            let mut c = Self::delete_note(id);
            c.uuid = derived_uuid(&delete, i as u128 + 1);
            out.push(c);
        }
        if let Some(uuid) = &f.close {
            let mut c = Self::close(&f.task_id);
            c.uuid = uuid.clone();
            out.push(c);
        }
        out
    }

    /// Replaces the task's whole label list.
    pub fn set_labels(task_id: &str, labels: &[String]) -> Self {
        Self::new("item_update", json!({ "id": task_id, "labels": labels }))
    }

    /// Completes the task (a recurring one moves to its next date).
    pub fn close(task_id: &str) -> Self {
        Self::new("item_close", json!({ "id": task_id }))
    }

    /// A comment; its id comes back in `temp_id_mapping` under `temp_id`.
    pub fn add_note(task_id: &str, content: &str) -> Self {
        let mut c = Self::new(
            "note_add",
            json!({ "item_id": task_id, "content": content }),
        );
        c.temp_id = Some(new_uuid());
        c
    }

    pub fn update_note(note_id: &str, content: &str) -> Self {
        Self::new("note_update", json!({ "id": note_id, "content": content }))
    }

    pub fn delete_note(note_id: &str) -> Self {
        Self::new("note_delete", json!({ "id": note_id }))
    }
}

impl SyncResponse {
    /// Every command's `sync_status`: the first that is not `"ok"` becomes the error (the
    /// batch is not atomic, so the others may have been applied; they are safe to resend).
    pub fn check(&self, commands: &[Command]) -> Result<(), TodoistError> {
        for c in commands {
            match self.sync_status.get(&c.uuid) {
                Some(Value::String(s)) if s == "ok" => {}
                Some(other) => {
                    let field = |k: &str| other.get(k).and_then(Value::as_str).unwrap_or("");
                    return Err(TodoistError::Command {
                        command: c.kind,
                        status: other
                            .get("http_code")
                            .and_then(Value::as_u64)
                            .unwrap_or(400) as u16,
                        tag: field("error_tag").to_string(),
                        message: if field("error").is_empty() {
                            other.to_string()
                        } else {
                            field("error").to_string()
                        },
                    });
                }
                None => {
                    return Err(TodoistError::Decode {
                        what: "sync".into(),
                        message: format!("no sync_status for the {} command", c.kind),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_have_their_own_uuids_and_the_todoist_shape() {
        let a = Command::set_labels("T1", &["x".into()]);
        let b = Command::add_note("T1", "hi");
        assert_ne!(a.uuid, b.uuid);
        let v = serde_json::to_value(&b).unwrap_or_default();
        assert_eq!(v["type"], "note_add");
        assert_eq!(v["args"]["item_id"], "T1");
        assert!(v["temp_id"].is_string());
        assert!(
            serde_json::to_value(&a)
                .unwrap_or_default()
                .get("temp_id")
                .is_none()
        );
    }

    #[test]
    fn status_errors_name_the_command() {
        let c = Command::close("T1");
        let mut r: SyncResponse =
            serde_json::from_str(r#"{"sync_token":"s"}"#).unwrap_or_else(|_| unreachable!());
        assert!(
            r.check(std::slice::from_ref(&c)).is_err(),
            "no status is an error"
        );
        r.sync_status.insert(
            c.uuid.clone(),
            json!({"error":"Item not found","error_tag":"ITEM_NOT_FOUND","http_code":404}),
        );
        let e = r.check(std::slice::from_ref(&c)).unwrap_err();
        assert!(
            matches!(e, TodoistError::Command { status: 404, .. }),
            "{e}"
        );
        r.sync_status.insert(c.uuid.clone(), json!("ok"));
        assert!(r.check(&[c]).is_ok());
    }
}
