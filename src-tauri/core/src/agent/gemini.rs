//! Google Gemini CLI (`gemini -p … -o stream-json`): the argv (the prompt goes on stdin, so
//! no text is ever read as a flag), the JSONL events (`init`, `message` deltas, `tool_use` /
//! `tool_result`, `error`, `result` with `stats`), its exit codes, login and failure classes.
//! Gemini reports no cost: a Gemini run's cost is unknown, never 0.

use super::{
    Agent, AgentEvent, AgentResult, Exit, Launch, Login, MachineKind, MachineProblem, Parsed,
    RunFacts, StreamParser, first_line, reason_line,
};
use crate::config::{AgentKind, Employee};
use serde_json::Value;
use std::path::Path;

/// The Gemini CLI.
pub struct Gemini;

/// The approval mode the employee's scope calls for (in headless mode anything needing a
/// confirmation is refused, so this is what the agent may really do).
fn approval(e: &Employee) -> &'static str {
    let any = |t: &str| e.allows(t);
    if e.permission_mode.as_deref() == Some("bypassPermissions")
        || e.allowed_tools.iter().any(|t| t == "Bash")
    {
        "yolo"
    } else if any("Write") || any("Edit") {
        "auto_edit"
    } else {
        "default"
    }
}

const AUTH_ENV: [&str; 3] = [
    "GEMINI_API_KEY",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_GENAI_USE_GCA",
];

/// What Gemini's approval modes can express: reading is always allowed.
const TOOLS: &[super::ToolChoice] = &[
    super::ToolChoice {
        name: "Write",
        what: "create files",
    },
    super::ToolChoice {
        name: "Edit",
        what: "change files",
    },
    super::ToolChoice {
        name: "Bash",
        what: "run any command (and everything else, without asking)",
    },
];

impl Agent for Gemini {
    fn kind(&self) -> AgentKind {
        AgentKind::Gemini
    }
    fn name(&self) -> &'static str {
        "Gemini CLI"
    }
    fn default_command(&self) -> &'static str {
        "gemini"
    }
    /// Gemini keeps its login, settings and history in `~/.gemini`.
    fn sandbox_needs(&self, home: &Path) -> super::SandboxNeeds {
        super::SandboxNeeds {
            write: vec![home.join(".gemini")],
            ..Default::default()
        }
    }
    fn tools(&self) -> &'static [super::ToolChoice] {
        TOOLS
    }
    fn install_hint(&self) -> &'static str {
        "install the Gemini CLI with `npm install -g @google/gemini-cli`"
    }
    fn login_hint(&self) -> &'static str {
        "set GEMINI_API_KEY, or run `gemini` once in a terminal to log in"
    }

    fn launch(&self, e: &Employee, prompt: &str) -> Launch {
        let mut args: Vec<String> = vec![
            "-p".into(),
            String::new(),
            "-o".into(),
            "stream-json".into(),
            "--skip-trust".into(),
            "--approval-mode".into(),
            approval(e).into(),
        ];
        if !e.model.trim().is_empty() {
            args.push("-m".into());
            args.push(e.model.trim().into());
        }
        Launch {
            args,
            stdin: Some(prompt.to_string()),
            ..Launch::default()
        }
    }

    fn resume(&self, e: &Employee, session: &str, prompt: &str) -> Option<Launch> {
        // `--resume` takes "latest", an index, or (0.61.0) a session's full id.
        let mut launch = self.launch(e, prompt);
        launch.args.push("--resume".into());
        launch.args.push(session.into());
        Some(launch)
    }

    fn session_missing(&self, f: &RunFacts<'_>) -> bool {
        // 0.61.0: exit 42 with "Error resuming session: No previous sessions found for this
        // project." (or "Invalid session identifier …" when others exist).
        matches!(f.exit, Exit::Code(42))
            && (f.stderr.contains("Error resuming session")
                || f.stderr.contains("Invalid session identifier"))
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(GeminiParser::default())
    }

    fn machine_problem(&self, f: &RunFacts<'_>) -> Option<MachineProblem> {
        let said = f
            .result
            .filter(|r| r.is_error)
            .and_then(|r| r.errors.first().cloned())
            .or_else(|| reason_line(f.stderr))
            .unwrap_or_default();
        let lower = said.to_lowercase();
        match f.exit {
            Exit::Code(41) => {
                return Some(MachineProblem::new(
                    MachineKind::NotLoggedIn,
                    format!(
                        "the Gemini CLI has no login on this machine: {}",
                        first_line(&said, 200)
                    ),
                    self.login_hint(),
                ));
            }
            Exit::Code(44) | Exit::Code(52) | Exit::Code(55) => {
                return Some(MachineProblem::new(
                    MachineKind::Refused,
                    format!(
                        "the Gemini CLI refused its configuration: {}",
                        first_line(&said, 200)
                    ),
                    "check ~/.gemini/settings.json (sandbox, trusted folders) on this machine",
                ));
            }
            _ => {}
        }
        if lower.contains("quota") || lower.contains("429") || lower.contains("resource_exhausted")
        {
            return Some(MachineProblem::new(
                MachineKind::UsageLimit,
                format!("Gemini's quota is used up: {}", first_line(&said, 200)),
                "wait for the quota to reset (Delegate resumes by itself), or raise it",
            ));
        }
        if !f.worked
            && (lower.contains("fetch failed")
                || lower.contains("enotfound")
                || f.exit == Exit::TimedOut)
        {
            return Some(MachineProblem::new(
                MachineKind::Unreachable,
                format!(
                    "the Gemini CLI cannot reach its API: {}",
                    if said.is_empty() {
                        "no answer".into()
                    } else {
                        first_line(&said, 200)
                    }
                ),
                "check this machine's internet connection (and any proxy); Delegate tries again by itself",
            ));
        }
        if f.result.is_none() && !f.started && f.exit == Exit::Code(1) {
            let reason = reason_line(f.stderr)?;
            if reason.to_lowercase().contains("unknown argument")
                && !super::about_file_access(&reason)
            {
                return Some(MachineProblem::new(
                    MachineKind::CliRejected,
                    format!("the Gemini CLI refused its arguments: {reason}"),
                    "update it (`npm install -g @google/gemini-cli@latest`) or fix the employee's options",
                ));
            }
        }
        None
    }

    fn login(&self, _program: &Path, _e: &Employee) -> Login {
        if let Some(var) = AUTH_ENV.iter().find(|v| std::env::var_os(v).is_some()) {
            return Login::Ready { how: (*var).into() };
        }
        let settings = directories::BaseDirs::new()
            .map(|d| d.home_dir().join(".gemini"))
            .unwrap_or_default();
        let chosen = std::fs::read_to_string(settings.join("settings.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| {
                v.pointer("/security/auth/selectedType")
                    .or_else(|| v.get("selectedAuthType"))
                    .and_then(Value::as_str)
                    .map(String::from)
            });
        match chosen {
            Some(how) if how.contains("oauth") && !settings.join("oauth_creds.json").exists() => {
                Login::NotReady {
                    reason: "the Gemini CLI is set to log in with Google but has no saved login"
                        .into(),
                    fix: self.login_hint().into(),
                }
            }
            Some(how) => Login::Ready { how },
            None => Login::NotReady {
                reason: "the Gemini CLI has no login on this machine".into(),
                fix: self.login_hint().into(),
            },
        }
    }

    fn scope(&self, e: &Employee) -> String {
        match approval(e) {
            "yolo" => "can read and write files and run any command; every call is approved (Gemini approval mode: yolo)".into(),
            "auto_edit" => "can read and write files in its workspace; cannot run commands (Gemini approval mode: auto_edit)".into(),
            _ => "can read files; cannot write files or run commands (Gemini approval mode: default)".into(),
        }
    }

    fn check(&self, e: &Employee) -> Result<(), (&'static str, String)> {
        if e.max_task_usd.is_some() || e.max_turns.is_some() {
            return Err((
                "max_task_usd",
                "Gemini has no per-task spending or turn cap on its command line; remove max_task_usd and max_turns (timeout_secs still applies)".into(),
            ));
        }
        Ok(())
    }
}

/// Reads `gemini -o stream-json`.
#[derive(Default)]
struct GeminiParser {
    /// Assistant text since the last tool call (Gemini's own idea of the final answer).
    text: String,
    session: Option<String>,
    model: Option<String>,
}

impl GeminiParser {
    /// The text gathered so far, as one event.
    fn flush(&mut self) -> Vec<AgentEvent> {
        let t = std::mem::take(&mut self.text);
        if t.trim().is_empty() {
            Vec::new()
        } else {
            vec![AgentEvent::Text(t)]
        }
    }
}

fn tool(name: &str, p: &Value) -> (String, Value) {
    let get = |k: &str| p.get(k).cloned().unwrap_or(Value::Null);
    let (n, input) = match name {
        "read_file" | "read_many_files" | "list_directory" => (
            "Read",
            serde_json::json!({ "file_path": get("file_path").as_str().map(String::from).or_else(|| get("path").as_str().map(String::from)) }),
        ),
        "write_file" => (
            "Write",
            serde_json::json!({ "file_path": get("file_path") }),
        ),
        "replace" => ("Edit", serde_json::json!({ "file_path": get("file_path") })),
        "run_shell_command" => (
            "Bash",
            serde_json::json!({ "command": get("command"), "description": get("description") }),
        ),
        "glob" => ("Glob", serde_json::json!({ "pattern": get("pattern") })),
        "grep_search" | "search_file_content" => {
            ("Grep", serde_json::json!({ "pattern": get("pattern") }))
        }
        "web_fetch" => ("WebFetch", serde_json::json!({ "url": get("prompt") })),
        "google_web_search" => ("WebSearch", serde_json::json!({ "query": get("query") })),
        "write_todos" => ("TodoWrite", Value::Null),
        "activate_skill" => ("Skill", serde_json::json!({ "skill": get("name") })),
        other => return (other.to_string(), p.clone()),
    };
    (n.to_string(), input)
}

impl StreamParser for GeminiParser {
    fn line(&mut self, line: &str) -> Parsed {
        let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if line.is_empty() {
            return Parsed::Events(Vec::new());
        }
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => return Parsed::Garbage(e.to_string()),
        };
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let kind = s("type");
        match kind.as_str() {
            "init" => {
                self.session = v
                    .get("session_id")
                    .and_then(Value::as_str)
                    .map(String::from);
                self.model = v.get("model").and_then(Value::as_str).map(String::from);
                Parsed::Events(vec![AgentEvent::Started {
                    session_id: self.session.clone(),
                    model: self.model.clone(),
                }])
            }
            "message" if s("role") == "assistant" => {
                // The answer arrives in deltas: kept up to what a run keeps of a result.
                if self.text.len() <= super::MAX_RESULT_BYTES {
                    self.text.push_str(&s("content"));
                    if self.text.len() > super::MAX_RESULT_BYTES {
                        self.text =
                            super::clip(std::mem::take(&mut self.text), super::MAX_RESULT_BYTES);
                    }
                }
                Parsed::Events(Vec::new())
            }
            "message" => Parsed::Events(Vec::new()),
            "tool_use" => {
                let mut out = self.flush();
                let (name, input) =
                    tool(&s("tool_name"), v.get("parameters").unwrap_or(&Value::Null));
                out.push(AgentEvent::ToolUse {
                    id: s("tool_id"),
                    name,
                    input,
                });
                Parsed::Events(out)
            }
            "tool_result" => Parsed::Events(vec![AgentEvent::ToolResult {
                id: s("tool_id"),
                is_error: s("status") == "error",
            }]),
            "error" => Parsed::Unknown(format!(
                "{}: {}",
                s("severity"),
                first_line(&s("message"), 120)
            )),
            "result" => {
                let summary = std::mem::take(&mut self.text);
                let mut out = Vec::new();
                let st = v.get("stats").cloned().unwrap_or(Value::Null);
                let n = |k: &str| st.get(k).and_then(Value::as_u64);
                let is_error = s("status") == "error";
                let message = v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .map(String::from);
                if !summary.trim().is_empty() && !is_error {
                    out.push(AgentEvent::Text(summary.clone()));
                }
                out.push(AgentEvent::Result(AgentResult {
                    is_error,
                    subtype: if is_error {
                        "error_during_execution"
                    } else {
                        "success"
                    }
                    .into(),
                    summary: (!summary.trim().is_empty()).then_some(summary),
                    errors: message.into_iter().collect(),
                    tokens_in: n("input_tokens"),
                    tokens_out: n("output_tokens"),
                    session_id: self.session.clone(),
                    cost_usd: None,
                    ..AgentResult::default()
                }));
                Parsed::Events(out)
            }
            _ => Parsed::Unknown(kind),
        }
    }

    fn finish(&mut self, _exit: Exit) -> Vec<AgentEvent> {
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;
    use std::path::PathBuf;

    #[test]
    fn the_prompt_goes_on_stdin_and_the_scope_sets_the_approval_mode() {
        let mut e = Employee::new("G", SourceKind::Local, PathBuf::from("/w"));
        e.agent = AgentKind::Gemini;
        let l = Gemini.launch(&e, "-rf everything");
        assert_eq!(l.stdin.as_deref(), Some("-rf everything"));
        assert!(!l.args.iter().any(|a| a.contains("everything")));
        assert!(
            l.args
                .windows(2)
                .any(|w| w == ["--approval-mode", "auto_edit"])
        );
        assert!(l.args.contains(&"--skip-trust".to_string()));
        e.allowed_tools = vec!["Read".into()];
        assert!(
            Gemini
                .launch(&e, "x")
                .args
                .windows(2)
                .any(|w| w == ["--approval-mode", "default"])
        );
    }

    #[test]
    fn an_endless_answer_is_kept_up_to_the_result_cap() {
        let mut p = GeminiParser::default();
        let delta = serde_json::json!({"type": "message", "role": "assistant", "content": "x".repeat(10_000), "delta": true}).to_string();
        for _ in 0..10_000 {
            p.line(&delta);
        }
        assert!(p.text.len() <= super::super::MAX_RESULT_BYTES + super::super::TRUNCATED.len());
        assert!(p.text.ends_with(super::super::TRUNCATED));
    }

    #[test]
    fn deltas_are_joined_and_tools_paired() {
        let mut p = GeminiParser::default();
        for l in [
            r#"{"type":"message","timestamp":"t","role":"assistant","content":"Let me ","delta":true}"#,
            r#"{"type":"message","timestamp":"t","role":"assistant","content":"write it.","delta":true}"#,
        ] {
            assert_eq!(p.line(l), Parsed::Events(vec![]));
        }
        let Parsed::Events(ev) = p.line(r#"{"type":"tool_use","timestamp":"t","tool_name":"write_file","tool_id":"write_file__1","parameters":{"file_path":"drafts/a.md","content":"x"}}"#) else {
            panic!()
        };
        assert_eq!(ev[0], AgentEvent::Text("Let me write it.".into()));
        assert!(matches!(&ev[1], AgentEvent::ToolUse { name, .. } if name == "Write"));
        let Parsed::Events(ev) = p.line(r#"{"type":"result","timestamp":"t","status":"success","stats":{"total_tokens":30,"input_tokens":20,"output_tokens":10}}"#) else {
            panic!()
        };
        let AgentEvent::Result(r) = ev.last().unwrap() else {
            panic!()
        };
        assert_eq!(
            (r.tokens_in, r.tokens_out, r.cost_usd),
            (Some(20), Some(10), None)
        );
    }
}
