//! Turns agent events into short lines a person reads ("📖 Reading skill: …"), and keeps
//! track of the drafts: files written or edited during the run.

use super::spawn::{is_inside, normalize};
use super::{AgentEvent, truncate};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};

/// Longest progress line, in characters.
pub const MAX_LINE_CHARS: usize = 160;
/// How many recent lines a repeat is checked against (a line seen longer ago is shown again).
const RECENT_LINES: usize = 4096;
/// Most files a run follows as drafts (written, or waiting for their tool's result).
pub const MAX_DRAFTS: usize = 1000;

/// A file the agent wrote or edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Draft {
    /// Relative to the workspace when inside it, absolute otherwise.
    pub path: String,
    /// `false` means the agent wrote outside its workspace: flagged for the reviewer.
    pub inside_workspace: bool,
}

pub struct Progress {
    workspace: PathBuf,
    /// The recent lines, as hashes, oldest first (a run can say millions of things).
    seen: Recent,
    /// Write/Edit calls by tool-use id, until their result says whether they worked.
    pending: HashMap<String, PathBuf>,
    written: Vec<PathBuf>,
    written_set: HashSet<PathBuf>,
}

/// The last [`RECENT_LINES`] distinct lines, as hashes.
struct Recent {
    hasher: RandomState,
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Recent {
    fn new() -> Self {
        Self {
            hasher: RandomState::new(),
            set: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether `line` is new among the recent ones (it is remembered either way).
    fn insert(&mut self, line: &str) -> bool {
        let h = self.hasher.hash_one(line);
        if !self.set.insert(h) {
            return false;
        }
        self.order.push_back(h);
        if self.order.len() > RECENT_LINES
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

impl Progress {
    pub fn new(workspace: &Path) -> Self {
        Self {
            workspace: normalize(workspace),
            seen: Recent::new(),
            pending: HashMap::new(),
            written: Vec::new(),
            written_set: HashSet::new(),
        }
    }

    /// The line for `event`, or `None` when it says nothing new.
    pub fn line(&mut self, event: &AgentEvent) -> Option<String> {
        let line = match event {
            AgentEvent::Started { model, .. } => format!(
                "🚀 Agent started{}",
                model
                    .as_deref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ),
            AgentEvent::ToolUse { id, name, input } => self.tool_line(id, name, input),
            AgentEvent::ToolResult { id, is_error } => {
                let path = self.pending.remove(id);
                match (path, is_error) {
                    (Some(p), false) => {
                        if self.written.len() < MAX_DRAFTS && self.written_set.insert(p.clone()) {
                            self.written.push(p);
                        }
                        return None;
                    }
                    (Some(p), true) => format!("⚠️ Could not write {}", self.show(&p)),
                    (None, _) => return None,
                }
            }
            AgentEvent::Text(text) => {
                let first = super::first_line(text, MAX_LINE_CHARS - 2);
                if first.is_empty() {
                    return None;
                }
                format!("💬 {first}")
            }
            AgentEvent::Retry {
                attempt,
                max,
                reason,
            } => match max {
                Some(m) => format!("⏳ {reason} — retry {attempt} of {m}"),
                None => format!("⏳ {reason} — retrying"),
            },
            AgentEvent::Result(r) if r.is_error => format!("❌ {}", r.failure_reason()),
            AgentEvent::Result(_) => "✅ Done".to_string(),
        };
        let line = truncate(&line.replace(['\n', '\r'], " "), MAX_LINE_CHARS);
        self.seen.insert(&line).then_some(line)
    }

    fn tool_line(&mut self, id: &str, name: &str, input: &Value) -> String {
        let s = |k: &str| {
            input
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        match name {
            "Read" => {
                let path = self.resolve(&s("file_path"));
                let shown = self.show(&path);
                if shown.starts_with(".claude/skills/") || shown.contains("/SKILL.md") {
                    format!("📖 Reading skill: {shown}")
                } else if shown.starts_with("reference/") {
                    format!("📚 Reading reference: {shown}")
                } else {
                    format!("📄 Reading {shown}")
                }
            }
            "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => {
                let raw = if name == "NotebookEdit" {
                    s("notebook_path")
                } else {
                    s("file_path")
                };
                let path = self.resolve(&raw);
                let shown = self.show(&path);
                // A call whose result never comes stays pending: their number is bounded too.
                if self.pending.len() < MAX_DRAFTS {
                    self.pending.insert(id.to_string(), path);
                }
                let verb = if name == "Write" {
                    "✍️ Writing"
                } else {
                    "✏️ Editing"
                };
                format!("{verb} {shown}")
            }
            "Bash" => {
                let what = Some(s("description"))
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| s("command"));
                format!("⚙️ Running: {}", super::first_line(&what, 100))
            }
            "Glob" => format!("🔎 Finding files: {}", s("pattern")),
            "Grep" => format!("🔎 Searching for “{}”", s("pattern")),
            "WebFetch" => format!("🌐 Fetching {}", s("url")),
            "WebSearch" => format!("🌐 Searching the web: {}", s("query")),
            "Task" | "Agent" => format!("🧑‍💼 Delegating: {}", s("description")),
            "Skill" => {
                let skill = Some(s("skill"))
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| s("command"));
                format!("🧰 Using skill: {skill}")
            }
            "TodoWrite" => "🗒️ Updating its plan".to_string(),
            other => format!("🔧 Using {other}"),
        }
    }

    fn resolve(&self, raw: &str) -> PathBuf {
        let p = Path::new(raw);
        if p.is_absolute() {
            normalize(p)
        } else {
            normalize(&self.workspace.join(p))
        }
    }

    fn show(&self, path: &Path) -> String {
        path.strip_prefix(&self.workspace)
            .map(|r| r.display().to_string())
            .unwrap_or_else(|_| path.display().to_string())
    }

    /// The drafts, once the run is over: successful writes, plus writes whose result never
    /// came, that exist as files now (at most [`MAX_DRAFTS`]).
    pub fn drafts(&self) -> Vec<Draft> {
        let mut out: Vec<Draft> = Vec::new();
        let mut listed: HashSet<&Path> = HashSet::new();
        let pending = self.pending.values();
        for p in self.written.iter().chain(pending) {
            if out.len() >= MAX_DRAFTS {
                break;
            }
            if !listed.insert(p.as_path()) || !p.is_file() {
                continue;
            }
            out.push(Draft {
                path: self.show(p),
                inside_workspace: is_inside(p, &self.workspace),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::AgentResult;
    use serde_json::json;

    fn tool(id: &str, name: &str, input: Value) -> AgentEvent {
        AgentEvent::ToolUse {
            id: id.into(),
            name: name.into(),
            input,
        }
    }

    #[test]
    fn lines_are_short_relative_and_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path();
        let mut p = Progress::new(ws);
        let skill = ws.join(".claude/skills/post/SKILL.md");
        let read = tool("1", "Read", json!({ "file_path": skill }));
        assert_eq!(
            p.line(&read).unwrap(),
            "📖 Reading skill: .claude/skills/post/SKILL.md"
        );
        assert_eq!(p.line(&read), None, "duplicates collapse");
        assert_eq!(
            p.line(&tool(
                "2",
                "Read",
                json!({"file_path": "reference/brand.md"})
            ))
            .unwrap(),
            "📚 Reading reference: reference/brand.md"
        );
        let long = "x".repeat(500);
        assert!(
            p.line(&tool("3", "Bash", json!({ "command": long })))
                .unwrap()
                .chars()
                .count()
                <= MAX_LINE_CHARS
        );
        assert_eq!(
            p.line(&tool("4", "Mystery", json!({}))).unwrap(),
            "🔧 Using Mystery"
        );
        let ok = AgentEvent::Result(AgentResult::default());
        assert_eq!(p.line(&ok).unwrap(), "✅ Done");
    }

    #[test]
    fn a_long_run_keeps_bounded_memory_for_repeats_and_drafts() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Progress::new(dir.path());
        let read = |i: usize| {
            tool(
                &format!("r{i}"),
                "Read",
                json!({ "file_path": format!("n{i}.md") }),
            )
        };
        for i in 0..100_000 {
            assert!(p.line(&read(i)).is_some());
        }
        assert!(p.seen.set.len() <= RECENT_LINES && p.seen.order.len() <= RECENT_LINES);
        // A recent repeat collapses; one from long ago is shown again.
        assert_eq!(p.line(&read(99_999)), None);
        assert!(p.line(&read(0)).is_some());

        for i in 0..5_000 {
            let id = format!("w{i}");
            p.line(&tool(
                &id,
                "Write",
                json!({ "file_path": format!("d{i}.md") }),
            ));
            if i % 2 == 0 {
                p.line(&AgentEvent::ToolResult {
                    id,
                    is_error: false,
                });
            }
        }
        assert!(p.written.len() <= MAX_DRAFTS && p.pending.len() <= MAX_DRAFTS);
    }

    #[test]
    fn drafts_are_successful_writes_that_exist() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(ws.join("drafts")).unwrap();
        let outside = dir.path().join("elsewhere.md");
        let mut p = Progress::new(&ws);
        p.line(&tool("a", "Write", json!({"file_path": "drafts/post.md"})));
        p.line(&tool(
            "b",
            "Write",
            json!({"file_path": ws.join("drafts/denied.md")}),
        ));
        p.line(&tool("c", "Edit", json!({"file_path": outside})));
        p.line(&tool("d", "Write", json!({"file_path": "drafts/never.md"})));
        p.line(&AgentEvent::ToolResult {
            id: "a".into(),
            is_error: false,
        });
        let denied = p.line(&AgentEvent::ToolResult {
            id: "b".into(),
            is_error: true,
        });
        assert_eq!(denied.unwrap(), "⚠️ Could not write drafts/denied.md");
        std::fs::write(ws.join("drafts/post.md"), "# hi").unwrap();
        std::fs::write(ws.join("drafts/denied.md"), "old").unwrap();
        std::fs::write(&outside, "x").unwrap();
        let drafts = p.drafts();
        assert_eq!(drafts.len(), 2, "{drafts:?}");
        assert_eq!(
            drafts[0],
            Draft {
                path: "drafts/post.md".into(),
                inside_workspace: true
            }
        );
        assert!(!drafts[1].inside_workspace);
    }
}
