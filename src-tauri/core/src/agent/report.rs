//! The result contract: how every run ends, whichever CLI ran it. The agent says one of
//! `done`, `needs_input` (with numbered questions), `blocked` (with the reason) or
//! `nothing_to_do`, with a short summary.
//!
//! Claude Code and Codex are held to it by their structured output (`--json-schema`,
//! `--output-schema` with [`SCHEMA`]). Gemini and plain commands have none: the workspace's
//! instructions ask them to end their final answer with the same object in a fenced `json`
//! block, which [`from_text`] finds. A final answer without one is `done`, its text the summary.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// JSON Schema of the final answer. Codex's structured output wants every property required
/// and no others, so the empty string and the empty list stand for "none".
pub const SCHEMA: &str = r#"{"type":"object","properties":{"status":{"type":"string","enum":["done","needs_input","blocked","nothing_to_do"],"description":"done: the work is finished and the drafts are written. needs_input: you need facts only the person has; ask instead of guessing. blocked: you cannot go on without the person doing something (give the reason). nothing_to_do: there was nothing to do this time (a recurring check found nothing)."},"summary":{"type":"string","description":"What you did and what the person should look at, in a few sentences of Markdown."},"questions":{"type":"array","items":{"type":"string"},"description":"With needs_input: each question the person must answer, one per item, self-contained. Else empty."},"reason":{"type":"string","description":"With blocked: what stops you and what the person can do about it. Else empty."}},"required":["status","summary","questions","reason"],"additionalProperties":false}"#;

/// Where Delegate keeps its own files in a workspace (the result schema, a task's files).
pub const WORKSPACE_DIR: &str = ".delegate";

/// [`SCHEMA`] as a file in the workspace's [`WORKSPACE_DIR`], for a CLI that takes the
/// schema as a path (Codex). Written only when missing or different, and never through a
/// link (Delegate writes it outside the sandbox, in a folder the agent can change).
pub fn schema_file(workspace: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    let dir = workspace.join(WORKSPACE_DIR);
    let path = dir.join("result-schema.json");
    crate::worker::inputs::real_dir(&dir)?;
    let current = std::fs::symlink_metadata(&path)
        .ok()
        .filter(|m| m.is_file())
        .and_then(|_| std::fs::read_to_string(&path).ok());
    if current.as_deref() != Some(SCHEMA) {
        crate::worker::inputs::write_file(&dir, "result-schema.json", SCHEMA.as_bytes())?;
    }
    Ok(path)
}

/// How a run ended, in the agent's own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Done,
    NeedsInput,
    Blocked,
    NothingToDo,
}

/// The agent's final report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub status: Status,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub questions: Vec<String>,
    #[serde(default)]
    pub reason: String,
}

/// Most questions a report keeps, and the most characters of each.
const MAX_QUESTIONS: usize = 20;
const QUESTION_CHARS: usize = 1000;

impl Report {
    /// A report from a JSON value (Claude Code's `structured_output`, or an object found in
    /// the text). `None` when it is not one.
    pub fn from_value(v: &Value) -> Option<Report> {
        v.get("status")?;
        let mut r: Report = serde_json::from_value(v.clone()).ok()?;
        r.questions = r
            .questions
            .into_iter()
            .map(|q| super::truncate(q.trim(), QUESTION_CHARS))
            .filter(|q| !q.is_empty())
            .take(MAX_QUESTIONS)
            .collect();
        r.summary = r.summary.trim().to_string();
        r.reason = super::truncate(r.reason.trim(), QUESTION_CHARS);
        Some(r)
    }

    /// What the person is asked: the questions, or (blocked) the reason; never empty.
    pub fn asks(&self) -> Vec<String> {
        match self.status {
            Status::Blocked if !self.reason.is_empty() => vec![self.reason.clone()],
            Status::NeedsInput | Status::Blocked if !self.questions.is_empty() => {
                self.questions.clone()
            }
            Status::Blocked => {
                vec!["The agent says it is blocked but gave no reason: what should it do?".into()]
            }
            _ => vec!["The agent asked for input without a question: what should it do?".into()],
        }
    }
}

/// The report in an agent's final text, and the text around it for the summary: the whole
/// text when it is the object itself (Codex's structured output), else the last fenced `json`
/// block holding one (the documented fallback), with the text before it.
pub fn from_text(text: &str) -> Option<(Report, String)> {
    let trimmed = text.trim();
    if trimmed.starts_with('{')
        && let Ok(v) = serde_json::from_str::<Value>(trimmed)
    {
        return Report::from_value(&v).map(|r| (r, String::new()));
    }
    let mut search = trimmed;
    while let Some(start) = search.rfind("```") {
        let before = &search[..start];
        let Some(open) = before.rfind("```") else {
            break;
        };
        let block = &search[open + 3..start];
        let (lang, body) = block.split_once('\n').unwrap_or(("", block));
        let lang = lang.trim();
        if (lang.is_empty() || lang == "json")
            && let Ok(v) = serde_json::from_str::<Value>(body.trim())
            && let Some(r) = Report::from_value(&v)
        {
            let prose = format!("{}{}", &search[..open], &search[start + 3..]);
            return Some((r, prose.trim().to_string()));
        }
        search = &search[..open];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_json_with_every_property_required() {
        let v: Value = serde_json::from_str(SCHEMA).unwrap();
        let props: Vec<&String> = v["properties"].as_object().unwrap().keys().collect();
        let required: Vec<&str> = v["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert_eq!(props.len(), required.len());
        for p in props {
            assert!(required.contains(&p.as_str()), "{p} must be required");
        }
        assert_eq!(v["additionalProperties"], false);
    }

    #[test]
    fn a_report_is_found_as_the_whole_answer_or_in_its_last_json_block() {
        let (r, rest) = from_text(
            r#"{"status":"needs_input","summary":"Half done","questions":["Which quote?"," "],"reason":""}"#,
        )
        .unwrap();
        assert_eq!(r.status, Status::NeedsInput);
        assert_eq!(r.questions, ["Which quote?"]);
        assert_eq!(rest, "");

        let text = "I wrote the post.\n\n```json\n{\"status\": \"done\", \"summary\": \"Post written\"}\n```\n";
        let (r, rest) = from_text(text).unwrap();
        assert_eq!(r.status, Status::Done);
        assert_eq!(r.summary, "Post written");
        assert_eq!(rest, "I wrote the post.");

        // A code block that is not a report is left alone; an earlier report block counts.
        let text = "```json\n{\"status\":\"nothing_to_do\"}\n```\nThen:\n```json\n{\"a\":1}\n```";
        assert_eq!(from_text(text).unwrap().0.status, Status::NothingToDo);
        assert!(from_text("Plain words, no report.").is_none());
        assert!(from_text("```json\n{\"status\":\"maybe\"}\n```").is_none());
        assert!(from_text("``` broken").is_none());
    }

    #[test]
    fn the_schema_file_is_never_written_through_a_link() {
        let ws = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("bashrc");
        std::fs::write(&target, "mine").unwrap();
        std::fs::create_dir(ws.path().join(WORKSPACE_DIR)).unwrap();
        std::os::unix::fs::symlink(
            &target,
            ws.path().join(WORKSPACE_DIR).join("result-schema.json"),
        )
        .unwrap();
        let path = schema_file(ws.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), SCHEMA);
        let ws2 = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), ws2.path().join(WORKSPACE_DIR)).unwrap();
        assert!(
            schema_file(ws2.path()).is_err(),
            "a linked folder is refused"
        );
        assert!(!outside.path().join("result-schema.json").exists());
    }

    #[test]
    fn a_blocked_report_asks_its_reason() {
        let r = Report::from_value(&serde_json::json!({
            "status": "blocked", "reason": "The repo is private: add me to it."
        }))
        .unwrap();
        assert_eq!(r.asks(), ["The repo is private: add me to it."]);
    }
}
