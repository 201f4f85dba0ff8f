//! OpenAI Codex CLI (`codex exec --json`): the argv, the JSONL events (`thread.started`,
//! `item.*`, `turn.completed`, `turn.failed`, `error`), login and failure classes.
//!
//! Codex has no tool list: what it may do is its own sandbox mode, chosen from the employee's
//! scope (read-only, workspace-write, or no sandbox with `bypassPermissions`). Codex's sandbox
//! cannot run inside Delegate's, so where Delegate's holds, Codex's is off and Delegate's
//! holds the scope (see [`sandbox_mode`]). It reports no cost, so a Codex run's cost is
//! recorded as unknown, never as 0.

use super::{
    Agent, AgentEvent, AgentResult, Exit, Launch, Login, MachineKind, MachineProblem, Parsed,
    RunFacts, StreamParser, first_line, reason_line, spawn,
};
use crate::config::{AgentKind, Employee};
use serde_json::Value;
use std::path::Path;

/// The Codex CLI.
pub struct Codex;

/// What the employee's scope allows, as Codex's sandbox mode.
fn sandbox(e: &Employee) -> &'static str {
    let any = |t: &str| e.allows(t);
    if e.permission_mode.as_deref() == Some("bypassPermissions") {
        "danger-full-access"
    } else if any("Write") || any("Edit") || any("Bash") {
        "workspace-write"
    } else {
        "read-only"
    }
}

/// The sandbox mode Codex is started with: the one its scope asks for, unless Delegate's OS
/// sandbox holds (`inside`), in which Codex's own cannot start. Codex's Linux sandbox is
/// bubblewrap, which mounts, and Landlock refuses mount(2) to sandboxed processes (`bwrap:
/// Failed to make / slave: Operation not permitted`; Codex 0.169 stops even earlier, on its
/// `/tmp/codex-daemon-<uid>` folder: `error building bubblewrap command: Permission denied`),
/// and Codex refuses its legacy Landlock sandbox for modes that limit files. So inside,
/// Codex runs with its sandbox off and Delegate's holds the scope: writes only in the
/// workspace (read-only for a read-only scope, see `workspace_writable`), its state and a
/// private temporary folder; reads as the employee's sandbox mode says; network as
/// `sandbox_network` says.
pub fn sandbox_mode(e: &Employee, inside: bool) -> &'static str {
    if inside {
        "danger-full-access"
    } else {
        sandbox(e)
    }
}

/// The options every start shares: the model, and the result contract's schema (a file in
/// the workspace's `.delegate/` folder; without it the report is read from the final text).
fn common_tail(e: &Employee, args: &mut Vec<String>) {
    if !e.model.trim().is_empty() {
        args.push("-m".into());
        args.push(e.model.trim().into());
    }
    match super::report::schema_file(&e.workspace) {
        Ok(path) => {
            args.push("--output-schema".into());
            args.push(path.display().to_string());
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot write the result schema; the report is read from the final text")
        }
    }
}

/// Whether Delegate's OS sandbox holds for `e` on this machine.
fn inside_delegates_sandbox(e: &Employee) -> bool {
    e.sandbox != crate::sandbox::SandboxMode::Off && crate::sandbox::support().available()
}

/// What Codex's sandbox modes can express: reading is always allowed.
const TOOLS: &[super::ToolChoice] = &[
    super::ToolChoice {
        name: "Write",
        what: "create and change files in the workspace",
    },
    super::ToolChoice {
        name: "Bash",
        what: "run commands in the workspace",
    },
];

impl Agent for Codex {
    fn kind(&self) -> AgentKind {
        AgentKind::Codex
    }
    fn name(&self) -> &'static str {
        "Codex CLI"
    }
    fn default_command(&self) -> &'static str {
        "codex"
    }
    /// Codex keeps everything (login, sessions, skills, its own temporary files) in
    /// `CODEX_HOME`, by default `~/.codex`.
    fn sandbox_needs(&self, home: &Path) -> super::SandboxNeeds {
        let dir = super::state_dir("CODEX_HOME", home.join(".codex"));
        super::SandboxNeeds {
            write: vec![dir],
            ..Default::default()
        }
    }
    /// A read-only scope is held by Delegate's sandbox where Codex's is off.
    fn workspace_writable(&self, e: &Employee) -> bool {
        sandbox(e) != "read-only"
    }
    fn tools(&self) -> &'static [super::ToolChoice] {
        TOOLS
    }
    fn install_hint(&self) -> &'static str {
        "install the Codex CLI with `npm install -g @openai/codex`"
    }
    fn login_hint(&self) -> &'static str {
        "run `codex login` in a terminal (or set CODEX_API_KEY)"
    }

    fn launch(&self, e: &Employee, prompt: &str) -> Launch {
        let mut args: Vec<String> = vec![
            "exec".into(),
            "--json".into(),
            "--skip-git-repo-check".into(),
            "-C".into(),
            e.workspace.display().to_string(),
        ];
        match sandbox_mode(e, inside_delegates_sandbox(e)) {
            "danger-full-access" => args.push("--dangerously-bypass-approvals-and-sandbox".into()),
            mode => {
                args.push("-s".into());
                args.push(mode.into());
                args.push("-c".into());
                args.push("approval_policy=\"never\"".into());
            }
        }
        common_tail(e, &mut args);
        args.push("--".into());
        args.push(prompt.into());
        Launch {
            args,
            ..Launch::default()
        }
    }

    fn resume(&self, e: &Employee, session: &str, prompt: &str) -> Option<Launch> {
        // `exec resume` has neither `-C` (the run's folder is the workspace) nor `-s`: the
        // sandbox mode is given as a setting.
        let mut args: Vec<String> = vec![
            "exec".into(),
            "resume".into(),
            "--json".into(),
            "--skip-git-repo-check".into(),
        ];
        match sandbox_mode(e, inside_delegates_sandbox(e)) {
            "danger-full-access" => args.push("--dangerously-bypass-approvals-and-sandbox".into()),
            mode => {
                args.push("-c".into());
                args.push(format!("sandbox_mode=\"{mode}\""));
                args.push("-c".into());
                args.push("approval_policy=\"never\"".into());
            }
        }
        common_tail(e, &mut args);
        args.push("--".into());
        args.push(session.into());
        args.push(prompt.into());
        Some(Launch {
            args,
            ..Launch::default()
        })
    }

    fn session_missing(&self, f: &RunFacts<'_>) -> bool {
        // 0.169.0: exit 1 and "Error: thread/resume: thread/resume failed: no rollout found
        // for thread id <id> (code -32600)" on stderr (tests/fixtures/real/).
        matches!(f.exit, Exit::Code(1))
            && !f.started
            && f.stderr.contains("no rollout found for thread id")
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(CodexParser::default())
    }

    fn machine_problem(&self, f: &RunFacts<'_>) -> Option<MachineProblem> {
        let said = f
            .result
            .filter(|r| r.is_error)
            .and_then(|r| r.errors.first().cloned())
            .unwrap_or_default();
        let lower = said.to_lowercase();
        if lower.contains("401")
            || lower.contains("unauthorized")
            || lower.contains("not logged in")
            || lower.contains("invalid api key")
            || lower.contains("login")
        {
            return Some(MachineProblem::new(
                MachineKind::NotLoggedIn,
                format!(
                    "the Codex CLI is not logged in on this machine: {}",
                    first_line(&said, 200)
                ),
                self.login_hint(),
            ));
        }
        if lower.contains("usage limit") || lower.contains("rate limit") || lower.contains("429") {
            return Some(MachineProblem::new(
                MachineKind::UsageLimit,
                format!("Codex's usage limit is reached: {}", first_line(&said, 200)),
                "wait for the limit to reset (Delegate resumes by itself), or raise the plan",
            ));
        }
        // Codex never gives up on an unreachable API by itself: the timeout ends it.
        if !f.worked && (f.last_retry.is_some() || lower.contains("stream disconnected")) {
            return Some(MachineProblem::new(
                MachineKind::Unreachable,
                format!(
                    "the Codex CLI cannot reach its API: {}",
                    f.last_retry
                        .map(str::to_string)
                        .unwrap_or_else(|| first_line(&said, 200))
                ),
                "check this machine's internet connection (and any proxy); Delegate tries again by itself",
            ));
        }
        if f.result.is_none() && !f.started && matches!(f.exit, Exit::Code(c) if c != 0) {
            let reason = reason_line(f.stderr)?;
            let l = reason.to_lowercase();
            if (l.contains("unexpected argument")
                || l.starts_with("error")
                || l.contains("not inside a trusted directory"))
                && !super::about_file_access(&reason)
            {
                return Some(MachineProblem::new(
                    MachineKind::CliRejected,
                    format!("the Codex CLI refused its arguments: {reason}"),
                    "update it (`npm install -g @openai/codex@latest`) or fix the employee's options",
                ));
            }
        }
        None
    }

    fn login(&self, program: &Path, _e: &Employee) -> Login {
        if std::env::var_os("CODEX_API_KEY").is_some() {
            return Login::Ready {
                how: "CODEX_API_KEY".into(),
            };
        }
        match spawn::capture(
            program,
            &["login", "status"],
            &[],
            super::claude::LOGIN_CHECK_TIMEOUT,
        ) {
            Ok(o) => {
                let text = format!("{}\n{}", o.stdout, o.stderr);
                let said = text
                    .lines()
                    .map(str::trim)
                    .find(|l| l.to_lowercase().contains("logged in"))
                    .unwrap_or("")
                    .to_string();
                if o.code == Some(0) && !said.to_lowercase().contains("not logged in") {
                    Login::Ready {
                        how: if said.is_empty() {
                            "logged in".into()
                        } else {
                            said
                        },
                    }
                } else {
                    Login::NotReady {
                        reason: "the Codex CLI is not logged in on this machine".into(),
                        fix: self.login_hint().into(),
                    }
                }
            }
            Err(e) => Login::Unknown {
                note: format!("`codex login status` could not run: {e}"),
            },
        }
    }

    fn scope(&self, e: &Employee) -> String {
        let inside = inside_delegates_sandbox(e);
        match (sandbox(e), inside) {
            ("danger-full-access", false) => "can do anything this user can: Codex's sandbox is off (bypassPermissions)".into(),
            ("danger-full-access", true) => "can run any command; Delegate's OS sandbox holds it (bypassPermissions)".into(),
            ("workspace-write", false) => "can read files, and write files and run commands in its workspace (Codex sandbox: workspace-write, no network)".into(),
            ("workspace-write", true) => "can read files, and write files and run commands in its workspace (Delegate's OS sandbox; Codex's own cannot run inside it)".into(),
            (_, false) => "can read files; cannot write files or run commands that change anything (Codex sandbox: read-only)".into(),
            (_, true) => "can read files and run commands; cannot change its workspace (Delegate's OS sandbox keeps it read-only; Codex's own cannot run inside it)".into(),
        }
    }

    fn check(&self, e: &Employee) -> Result<(), (&'static str, String)> {
        if let Some(m) = &e.permission_mode
            && m != "bypassPermissions"
            && m != "default"
        {
            return Err((
                "permission_mode",
                "for Codex only \"default\" (the sandbox follows the tools) or \"bypassPermissions\" (no sandbox) apply".into(),
            ));
        }
        if e.max_task_usd.is_some() || e.max_turns.is_some() {
            return Err((
                "max_task_usd",
                "Codex has no per-task spending or turn cap; remove max_task_usd and max_turns (timeout_secs still applies)".into(),
            ));
        }
        Ok(())
    }
}

/// Reads `codex exec --json`.
#[derive(Default)]
struct CodexParser {
    /// The last agent message: the run's summary.
    last_message: Option<String>,
    session: Option<String>,
}

fn unwrap_shell(command: &str) -> String {
    // Codex shows commands wrapped: `/bin/bash -lc 'git log'`.
    for shell in ["bash -lc ", "zsh -lc ", "sh -c "] {
        if let Some((_, rest)) = command.split_once(shell) {
            return rest.trim().trim_matches('\'').trim_matches('"').to_string();
        }
    }
    command.to_string()
}

impl CodexParser {
    fn item(&mut self, phase: &str, item: &Value) -> Vec<AgentEvent> {
        let s = |k: &str| {
            item.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let id = s("id");
        let completed = phase == "item.completed";
        match s("type").as_str() {
            "agent_message" if completed => {
                let text = s("text");
                self.last_message = Some(text.clone());
                vec![AgentEvent::Text(text)]
            }
            "command_execution" if phase == "item.started" => vec![AgentEvent::ToolUse {
                id,
                name: "Bash".into(),
                input: serde_json::json!({ "command": unwrap_shell(&s("command")) }),
            }],
            "command_execution" if completed => vec![AgentEvent::ToolResult {
                id,
                is_error: s("status") == "failed"
                    || item
                        .get("exit_code")
                        .and_then(Value::as_i64)
                        .is_some_and(|c| c != 0),
            }],
            "file_change" if completed => {
                let failed = s("status") == "failed";
                let mut out = Vec::new();
                let changes = item
                    .get("changes")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (i, c) in changes.iter().enumerate() {
                    let kind = c.get("kind").and_then(Value::as_str).unwrap_or("");
                    if kind == "delete" {
                        continue;
                    }
                    let cid = format!("{id}#{i}");
                    out.push(AgentEvent::ToolUse {
                        id: cid.clone(),
                        name: if kind == "add" { "Write" } else { "Edit" }.into(),
                        input: serde_json::json!({ "file_path": c.get("path").cloned().unwrap_or(Value::Null) }),
                    });
                    out.push(AgentEvent::ToolResult {
                        id: cid,
                        is_error: failed,
                    });
                }
                out
            }
            "web_search" if phase == "item.started" || completed => vec![AgentEvent::ToolUse {
                id,
                name: "WebSearch".into(),
                input: serde_json::json!({ "query": s("query") }),
            }],
            "todo_list" if phase == "item.started" => vec![AgentEvent::ToolUse {
                id,
                name: "TodoWrite".into(),
                input: Value::Null,
            }],
            "mcp_tool_call" if phase == "item.started" => vec![AgentEvent::ToolUse {
                id,
                name: format!("{}.{}", s("server"), s("tool")),
                input: Value::Null,
            }],
            _ => Vec::new(),
        }
    }
}

impl StreamParser for CodexParser {
    fn line(&mut self, line: &str) -> Parsed {
        let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if line.is_empty() {
            return Parsed::Events(Vec::new());
        }
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => return Parsed::Garbage(e.to_string()),
        };
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match kind.as_str() {
            "thread.started" => {
                self.session = v.get("thread_id").and_then(Value::as_str).map(String::from);
                Parsed::Events(vec![AgentEvent::Started {
                    session_id: self.session.clone(),
                    model: None,
                }])
            }
            "turn.started" => Parsed::Events(Vec::new()),
            "item.started" | "item.updated" | "item.completed" => match v.get("item") {
                Some(item) => Parsed::Events(self.item(&kind, item)),
                None => Parsed::Garbage(format!("{kind} without an item")),
            },
            "turn.completed" => {
                let u = v.get("usage").cloned().unwrap_or(Value::Null);
                let n = |k: &str| u.get(k).and_then(Value::as_u64);
                let tokens_in =
                    n("input_tokens").map(|i| i + n("cached_input_tokens").unwrap_or(0));
                Parsed::Events(vec![AgentEvent::Result(AgentResult {
                    is_error: false,
                    subtype: "success".into(),
                    summary: self.last_message.clone(),
                    tokens_in,
                    tokens_out: n("output_tokens"),
                    session_id: self.session.clone(),
                    // Codex reports no cost: unknown, not 0.
                    cost_usd: None,
                    ..AgentResult::default()
                })])
            }
            "turn.failed" => {
                let message = v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("the turn failed")
                    .to_string();
                Parsed::Events(vec![AgentEvent::Result(AgentResult {
                    is_error: true,
                    subtype: "error_during_execution".into(),
                    errors: vec![message],
                    session_id: self.session.clone(),
                    ..AgentResult::default()
                })])
            }
            "error" => {
                let message = v
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                // "Reconnecting... 2/5 (stream disconnected …)" or "… waiting for network (…)".
                if let Some(rest) = message.strip_prefix("Reconnecting...") {
                    let rest = rest.trim();
                    let (counts, reason) = match rest.split_once(' ') {
                        Some((c, r)) if c.contains('/') => (c, r),
                        _ => ("", rest),
                    };
                    let (attempt, max) = counts.split_once('/').unwrap_or(("0", ""));
                    let reason = match reason.trim().strip_prefix('(') {
                        Some(inner) => inner.strip_suffix(')').unwrap_or(inner),
                        None => reason.trim(),
                    };
                    return Parsed::Events(vec![AgentEvent::Retry {
                        attempt: attempt.parse().unwrap_or(0),
                        max: max.parse().ok(),
                        reason: if reason.is_empty() {
                            "API unreachable".into()
                        } else {
                            first_line(reason, 120)
                        },
                    }]);
                }
                Parsed::Unknown(format!("error: {}", first_line(&message, 120)))
            }
            _ => Parsed::Unknown(kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;
    use std::path::PathBuf;

    #[test]
    fn argv_follows_the_scope() {
        let mut e = Employee::new("C", SourceKind::Local, PathBuf::from("/w"));
        e.agent = AgentKind::Codex;
        // Outside Delegate's OS sandbox, Codex's own holds the scope.
        e.sandbox = crate::sandbox::SandboxMode::Off;
        let a = Codex.launch(&e, "-rf now").args;
        assert_eq!(
            &a[..5],
            ["exec", "--json", "--skip-git-repo-check", "-C", "/w"]
        );
        assert!(
            a.windows(2).any(|w| w == ["-s", "workspace-write"]),
            "{a:?}"
        );
        assert_eq!(&a[a.len() - 2..], ["--", "-rf now"]);
        assert!(
            !a.contains(&"-m".to_string()),
            "no model named: Codex's default"
        );
        e.allowed_tools = vec!["Read".into(), "Grep".into()];
        assert!(
            Codex
                .launch(&e, "x")
                .args
                .windows(2)
                .any(|w| w == ["-s", "read-only"])
        );
        e.permission_mode = Some("bypassPermissions".into());
        assert!(
            Codex
                .launch(&e, "x")
                .args
                .contains(&"--dangerously-bypass-approvals-and-sandbox".to_string())
        );
    }

    #[test]
    fn inside_delegates_sandbox_codex_runs_without_its_own_and_delegate_holds_the_scope() {
        let mut e = Employee::new("C", SourceKind::Local, PathBuf::from("/w"));
        e.agent = AgentKind::Codex;
        for tools in [
            vec!["Read".to_string()],
            vec!["Read".into(), "Write".into()],
        ] {
            e.allowed_tools = tools;
            assert_eq!(sandbox_mode(&e, true), "danger-full-access");
            assert_ne!(sandbox_mode(&e, false), "danger-full-access");
        }
        // A read-only scope: the workspace is read-only in Delegate's sandbox.
        let plan = |e: &Employee| {
            crate::agent::sandbox_plan(e, std::path::Path::new("/usr/bin/true"), None).unwrap()
        };
        e.allowed_tools = vec!["Read".into()];
        assert!(!plan(&e).may_write(std::path::Path::new("/w/notes.md")));
        assert!(plan(&e).may_read(std::path::Path::new("/w/notes.md")));
        e.allowed_tools = vec!["Read".into(), "Bash".into()];
        assert!(plan(&e).may_write(std::path::Path::new("/w/notes.md")));
    }

    #[test]
    fn reconnects_are_retries_and_shell_commands_are_unwrapped() {
        let mut p = CodexParser::default();
        let Parsed::Events(ev) = p.line(r#"{"type":"error","message":"Reconnecting... 2/5 (stream disconnected before completion: failed to lookup address information: Name does not resolve)"}"#) else {
            panic!()
        };
        assert!(
            matches!(&ev[0], AgentEvent::Retry { attempt: 2, max: Some(5), reason } if reason.starts_with("stream disconnected"))
        );
        let Parsed::Events(ev) = p.line(r#"{"type":"error","message":"Reconnecting... waiting for network (Connection failed: error sending request)"}"#) else {
            panic!()
        };
        assert!(
            matches!(&ev[0], AgentEvent::Retry { max: None, reason, .. } if reason.starts_with("waiting for network")),
            "{ev:?}"
        );
        let Parsed::Events(ev) = p.line(r#"{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'git log -3'","aggregated_output":"","exit_code":null,"status":"in_progress"}}"#) else {
            panic!()
        };
        assert!(
            matches!(&ev[0], AgentEvent::ToolUse { name, input, .. } if name == "Bash" && input["command"] == "git log -3")
        );
    }
}
