//! Claude Code in print mode: the argv we build and the `stream-json` lines we read.

use super::{
    Agent, AgentEvent, AgentResult, Exit, Launch, Login, MachineKind, MachineProblem, Parsed,
    PermissionDenial, RunFacts, StreamParser, about_file_access, first_line, reason_line, spawn,
};
use crate::config::{AgentKind, Employee};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

/// Session variables Claude Code sets in its own children; inherited, they make a nested
/// session misbehave (refuse to start, or stop persisting sessions).
pub const NESTING_VARS: [&str; 4] = [
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CODE_SESSION_ID",
    "CLAUDE_CODE_CHILD_SESSION",
];
/// Would silently move billing from the subscription to the pay-per-use API.
pub const API_KEY_VAR: &str = "ANTHROPIC_API_KEY";

/// Claude Code (`claude -p`).
pub struct Claude;

const MODES: [&str; 6] = [
    "acceptEdits",
    "auto",
    "bypassPermissions",
    "default",
    "dontAsk",
    "plan",
];

impl Agent for Claude {
    fn kind(&self) -> AgentKind {
        AgentKind::Claude
    }
    fn name(&self) -> &'static str {
        "Claude Code"
    }
    fn default_command(&self) -> &'static str {
        "claude"
    }
    /// Claude Code keeps its login and sessions in `~/.claude`, but rewrites its global
    /// settings as `~/.claude.json` through a temporary file and a lock folder in the home
    /// folder itself — which a sandbox cannot allow without letting it create any file there
    /// (`~/.bashrc`). `CLAUDE_CONFIG_DIR` moves that file into the config folder, so the
    /// sandbox only opens `~/.claude` (or the folder the person set).
    fn sandbox_needs(&self, home: &Path) -> super::SandboxNeeds {
        let dir = super::state_dir("CLAUDE_CONFIG_DIR", home.join(".claude"));
        super::SandboxNeeds {
            write: vec![dir.clone()],
            read: vec![home.join(".config/anthropic")],
            env: vec![("CLAUDE_CONFIG_DIR".into(), dir.display().to_string())],
            // The account and settings the person's own Claude Code keeps in ~/.claude.json.
            seed: vec![(home.join(".claude.json"), dir.join(".claude.json"))],
        }
    }
    fn install_hint(&self) -> &'static str {
        "install Claude Code with `npm install -g @anthropic-ai/claude-code`"
    }
    fn login_hint(&self) -> &'static str {
        "run `claude` in a terminal and log in with /login (on a server: `claude setup-token`)"
    }
    fn default_model(&self) -> &'static str {
        "sonnet"
    }

    fn launch(&self, employee: &Employee, prompt: &str) -> Launch {
        let mut remove_env: Vec<String> = NESTING_VARS.iter().map(|s| s.to_string()).collect();
        let mut notes = Vec::new();
        if !employee.allow_api_key {
            remove_env.push(API_KEY_VAR.into());
            if std::env::var_os(API_KEY_VAR).is_some() {
                notes.push(format!(
                    "allow_api_key is off, so {API_KEY_VAR} was not passed: Claude Code uses its own login"
                ));
            }
        }
        Launch {
            args: args(employee, prompt),
            remove_env,
            notes,
            ..Launch::default()
        }
    }

    fn resume(&self, employee: &Employee, session: &str, prompt: &str) -> Option<Launch> {
        let mut launch = self.launch(employee, prompt);
        // Before the `--` that ends the options.
        let at = launch.args.len() - 2;
        launch
            .args
            .splice(at..at, ["--resume".to_string(), session.to_string()]);
        Some(launch)
    }

    fn session_missing(&self, f: &RunFacts<'_>) -> bool {
        // 2.1.197: exit 1, and a result whose error is "No conversation found with session
        // ID: <id>" (tests/fixtures/real/claude-2.1.197-resume-unknown.jsonl).
        f.result.is_some_and(|r| {
            r.is_error
                && r.errors
                    .iter()
                    .any(|e| e.starts_with("No conversation found with session ID"))
        }) || f.stderr.contains("No conversation found with session ID")
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(ClaudeParser)
    }

    fn machine_problem(&self, f: &RunFacts<'_>) -> Option<MachineProblem> {
        let text = f
            .result
            .filter(|r| r.is_error)
            .map(|r| {
                r.errors
                    .iter()
                    .find(|e| !e.trim().is_empty())
                    .cloned()
                    .or_else(|| r.summary.clone())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let lower = text.to_lowercase();
        let key_note = if !f.employee.allow_api_key && std::env::var_os(API_KEY_VAR).is_some() {
            format!(" (allow_api_key is off, so {API_KEY_VAR} was not passed)")
        } else {
            String::new()
        };
        if lower.contains("not logged in")
            || lower.contains("/login")
            || lower.contains("invalid api key")
            || lower.contains("oauth token has expired")
            || lower.contains("authentication_error")
        {
            return Some(MachineProblem::new(
                MachineKind::NotLoggedIn,
                format!(
                    "Claude Code is not logged in on this machine: {}{key_note}",
                    first_line(&text, 200)
                ),
                self.login_hint(),
            ));
        }
        if lower.contains("usage limit")
            || lower.contains("limit reached")
            || lower.contains("rate_limit")
        {
            let mut p = MachineProblem::new(
                MachineKind::UsageLimit,
                format!(
                    "Claude Code's usage limit is reached: {}",
                    first_line(&text, 200)
                ),
                "wait for the limit to reset (Delegate resumes by itself), or raise the plan",
            );
            p.until = reset_time(&text);
            return Some(p);
        }
        let unreachable = lower.contains("unable to connect")
            || lower.contains("connectionrefused")
            || lower.contains("fetch failed")
            || (f.exit == Exit::TimedOut && f.last_retry.is_some());
        if unreachable && !f.worked {
            return Some(MachineProblem::new(
                MachineKind::Unreachable,
                format!(
                    "Claude Code cannot reach its API: {}",
                    if text.is_empty() {
                        f.last_retry.unwrap_or("no answer").to_string()
                    } else {
                        first_line(&text, 200)
                    }
                ),
                "check this machine's internet connection (and any proxy); Delegate tries again by itself",
            ));
        }
        if f.result.is_none()
            && !f.started
            && !matches!(f.exit, Exit::Code(0) | Exit::TimedOut | Exit::Cancelled)
        {
            let reason = reason_line(f.stderr)?;
            let lower = reason.to_lowercase();
            if lower.contains("root") && lower.contains("cannot be used") {
                return Some(MachineProblem::new(
                    MachineKind::Refused,
                    format!("Claude Code refused to start: {reason}"),
                    "Delegate runs as root here: use permission_mode = \"acceptEdits\" instead of bypassPermissions",
                ));
            }
            if (lower.contains("unknown option")
                || lower.contains("error: ")
                || lower.starts_with("error"))
                && !about_file_access(&reason)
            {
                return Some(MachineProblem::new(
                    MachineKind::CliRejected,
                    format!("Claude Code refused its arguments: {reason}"),
                    "update Claude Code (`npm install -g @anthropic-ai/claude-code@latest`) or fix the employee's options",
                ));
            }
        }
        None
    }

    fn login(&self, program: &Path, employee: &Employee) -> Login {
        if employee.allow_api_key && std::env::var_os(API_KEY_VAR).is_some() {
            return Login::Ready {
                how: format!("{API_KEY_VAR} (API billing)"),
            };
        }
        if std::env::var_os("CLAUDE_CODE_OAUTH_TOKEN").is_some() {
            return Login::Ready {
                how: "CLAUDE_CODE_OAUTH_TOKEN".into(),
            };
        }
        let launch = self.launch(employee, "");
        let out = match spawn::capture(
            program,
            &["auth", "status"],
            &launch.remove_env,
            LOGIN_CHECK_TIMEOUT,
        ) {
            Ok(o) => o,
            Err(e) => {
                return Login::Unknown {
                    note: format!("`claude auth status` could not run: {e}"),
                };
            }
        };
        let status: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
        match status.get("loggedIn").and_then(Value::as_bool) {
            Some(true) => Login::Ready {
                how: status
                    .get("authMethod")
                    .and_then(Value::as_str)
                    .unwrap_or("logged in")
                    .to_string(),
            },
            Some(false) => Login::NotReady {
                reason: "Claude Code is not logged in on this machine".into(),
                fix: format!(
                    "{}{}",
                    self.login_hint(),
                    if !employee.allow_api_key && std::env::var_os(API_KEY_VAR).is_some() {
                        format!("; allow_api_key is off, so {API_KEY_VAR} is not passed")
                    } else {
                        String::new()
                    }
                ),
            },
            None => Login::Unknown {
                note: format!(
                    "`claude auth status` said: {}",
                    first_line(&format!("{}{}", out.stdout, out.stderr), 160)
                ),
            },
        }
    }

    fn scope(&self, e: &Employee) -> String {
        scope_in_words(e)
    }

    fn uses_caps(&self) -> bool {
        true
    }

    fn check(&self, e: &Employee) -> Result<(), (&'static str, String)> {
        if let Some(mode) = &e.permission_mode {
            if !MODES.contains(&mode.as_str()) {
                return Err((
                    "permission_mode",
                    format!("must be one of {}", MODES.join(", ")),
                ));
            }
            if mode == "bypassPermissions" && running_as_root() {
                return Err((
                    "permission_mode",
                    "bypassPermissions cannot be used while Delegate runs as root: Claude Code \
                     refuses to start that way; use acceptEdits"
                        .into(),
                ));
            }
        }
        Ok(())
    }
}

/// How long `claude auth status` (and the other agents' login checks) may take.
pub const LOGIN_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

fn running_as_root() -> bool {
    refuses_bypass(
        nix::unistd::geteuid().is_root(),
        std::env::var("IS_SANDBOX").ok().as_deref(),
    )
}

/// Claude Code refuses `bypassPermissions` as root unless `IS_SANDBOX` is set (a container).
fn refuses_bypass(root: bool, is_sandbox: Option<&str>) -> bool {
    root && is_sandbox.is_none_or(|v| v.is_empty() || v == "0")
}

/// A reset time in a usage-limit message: `…|<unix seconds>` as Claude Code writes it.
fn reset_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let secs: i64 = text.rsplit('|').next()?.trim().parse().ok()?;
    chrono::DateTime::from_timestamp(secs, 0)
}

/// Tool names without their patterns: `Bash(git log:*)` → `Bash`.
fn base_names(tools: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tools {
        let base = t.split('(').next().unwrap_or(t).trim().to_string();
        if !base.is_empty() && !base.starts_with("mcp__") && !out.contains(&base) {
            out.push(base);
        }
    }
    out
}

/// The tool scope in plain words, from the flags [`args`] passes: `--tools` (what the model
/// may use at all), `--allowedTools` (pre-approved; in `-p` anything else is refused) and
/// the permission mode.
pub fn scope_in_words(e: &Employee) -> String {
    let allowed = &e.allowed_tools;
    let any = |t: &str| e.allows(t);
    let whole = |t: &str| allowed.iter().any(|x| x == t);
    let denied = |t: &str| e.disallowed_tools.iter().any(|x| x == t);
    let bypass = e.permission_mode.as_deref() == Some("bypassPermissions");
    let mut can: Vec<String> = Vec::new();
    if any("Read") || any("Glob") || any("Grep") {
        can.push("read files".into());
    }
    if whole("Write") || whole("Edit") || (bypass && (any("Write") || any("Edit"))) {
        can.push("write files".into());
    } else if any("Write") || any("Edit") {
        let mut scopes: Vec<&str> = allowed
            .iter()
            .filter(|x| x.starts_with("Write(") || x.starts_with("Edit("))
            .filter_map(|x| {
                x.split_once('(')
                    .map(|(_, rest)| rest.trim_end_matches(')'))
            })
            .collect();
        scopes.dedup();
        can.push(format!("write only {}", scopes.join(", ")));
    }
    if (any("WebFetch") || any("WebSearch")) && !denied("WebFetch") && !denied("WebSearch") {
        can.push("use the web".into());
    }
    let runs = if any("Bash") && !denied("Bash") && (whole("Bash") || bypass) {
        "; can run any command".to_string()
    } else if any("Bash") && !denied("Bash") {
        "; can run only the allowed commands".to_string()
    } else {
        "; cannot run commands".to_string()
    };
    let base = if can.is_empty() {
        "cannot use any tool".to_string()
    } else {
        format!("can {} in its workspace", can.join(", "))
    };
    let mode = if bypass {
        "; approves every call itself"
    } else {
        ""
    };
    format!("{base}{runs}{mode} ({})", allowed.join(", "))
}

/// The arguments after the program name. `--tools` restricts what the model may use at all
/// (`--allowedTools` alone only pre-approves); tool lists are passed as one comma-separated
/// value each, and `--` comes before the prompt, so neither the variadic options nor a prompt
/// that starts with `-` can be misread.
pub fn args(employee: &Employee, prompt: &str) -> Vec<String> {
    let model = if employee.model.trim().is_empty() {
        Claude.default_model().to_string()
    } else {
        employee.model.clone()
    };
    let mut a: Vec<String> = vec![
        "-p".into(),
        "--output-format".into(),
        "stream-json".into(),
        "--verbose".into(),
        "--model".into(),
        model,
        "--tools".into(),
        base_names(&employee.allowed_tools).join(","),
    ];
    if !employee.allowed_tools.is_empty() {
        a.push("--allowedTools".into());
        a.push(employee.allowed_tools.join(","));
    }
    if !employee.disallowed_tools.is_empty() {
        a.push("--disallowedTools".into());
        a.push(employee.disallowed_tools.join(","));
    }
    if let Some(mode) = &employee.permission_mode {
        a.push("--permission-mode".into());
        a.push(mode.clone());
    }
    if let Some(turns) = employee.max_turns {
        a.push("--max-turns".into());
        a.push(turns.to_string());
    }
    if let Some(usd) = employee.max_task_usd {
        // Shortest exact form: 0.001 stays 0.001 (never rounded to a refused 0.00).
        a.push("--max-budget-usd".into());
        a.push(format!("{usd}"));
    }
    if let Some(extra) = &employee.append_system_prompt {
        a.push("--append-system-prompt".into());
        a.push(extra.clone());
    }
    // The run ends with a report (done, a question, blocked, nothing to do): the result's
    // `structured_output`.
    a.push("--json-schema".into());
    a.push(super::report::SCHEMA.into());
    a.push("--".into());
    a.push(prompt.to_string());
    a
}

/// Reads Claude Code's `stream-json`.
struct ClaudeParser;

impl StreamParser for ClaudeParser {
    fn line(&mut self, line: &str) -> Parsed {
        parse_line(line)
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    System {
        #[serde(default)]
        subtype: String,
        #[serde(default)]
        session_id: Option<String>,
        #[serde(default)]
        model: Option<String>,
        #[serde(default)]
        attempt: Option<u32>,
        #[serde(default)]
        max_retries: Option<u32>,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        error_status: Option<u16>,
    },
    Assistant {
        message: Message,
    },
    User {
        message: Message,
    },
    Result(ResultLine),
    /// New event types appear often; they are skipped.
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Value,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        #[serde(default)]
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    ToolResult {
        #[serde(default)]
        tool_use_id: String,
        #[serde(default)]
        is_error: Option<bool>,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
struct ResultLine {
    #[serde(default)]
    subtype: String,
    #[serde(default)]
    is_error: bool,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    errors: Vec<Value>,
    #[serde(default)]
    total_cost_usd: Option<f64>,
    #[serde(default)]
    num_turns: Option<u32>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default, rename = "modelUsage")]
    model_usage: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    permission_denials: Vec<PermissionDenial>,
    /// With `--json-schema`: the final answer as the schema asked.
    #[serde(default)]
    structured_output: Option<Value>,
}

#[derive(Deserialize, Default)]
struct Usage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
}

/// Parses one line of `--output-format stream-json`. Never fails: bad lines are reported as
/// [`Parsed::Garbage`] so the run goes on.
pub fn parse_line(line: &str) -> Parsed {
    let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if line.is_empty() {
        return Parsed::Events(Vec::new());
    }
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Parsed::Garbage(e.to_string()),
    };
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let parsed: Line = match serde_json::from_value(value) {
        Ok(l) => l,
        Err(e) => return Parsed::Garbage(format!("{kind}: {e}")),
    };
    match parsed {
        Line::System {
            subtype,
            session_id,
            model,
            ..
        } if subtype == "init" => Parsed::Events(vec![AgentEvent::Started { session_id, model }]),
        Line::System {
            subtype,
            attempt,
            max_retries,
            error,
            error_status,
            ..
        } if subtype == "api_retry" => Parsed::Events(vec![AgentEvent::Retry {
            attempt: attempt.unwrap_or(0),
            max: max_retries,
            reason: match (error_status, error.as_deref()) {
                (Some(status), _) => format!("the API answered HTTP {status}"),
                (None, Some("unknown") | None) => "API unreachable".into(),
                (None, Some(e)) => e.to_string(),
            },
        }]),
        Line::System { subtype, .. } => Parsed::Unknown(format!("system/{subtype}")),
        Line::Assistant { message } | Line::User { message } => {
            Parsed::Events(blocks(message.content))
        }
        Line::Result(r) => Parsed::Events(vec![AgentEvent::Result(result(r))]),
        Line::Unknown => Parsed::Unknown(kind),
    }
}

fn blocks(content: Value) -> Vec<AgentEvent> {
    let Value::Array(items) = content else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|b| serde_json::from_value::<Block>(b).ok())
        .filter_map(|b| match b {
            Block::Text { text } if !text.trim().is_empty() => Some(AgentEvent::Text(text)),
            Block::ToolUse { id, name, input } => Some(AgentEvent::ToolUse { id, name, input }),
            Block::ToolResult {
                tool_use_id,
                is_error,
            } => Some(AgentEvent::ToolResult {
                id: tool_use_id,
                is_error: is_error.unwrap_or(false),
            }),
            _ => None,
        })
        .collect()
}

fn result(r: ResultLine) -> AgentResult {
    // `modelUsage` covers subagents too; `usage` only the main loop.
    let from_models = r.model_usage.as_ref().map(|models| {
        let sum = |keys: &[&str]| -> u64 {
            models
                .values()
                .map(|m| keys.iter().filter_map(|k| m.get(*k)?.as_u64()).sum::<u64>())
                .sum()
        };
        (
            sum(&[
                "inputTokens",
                "cacheReadInputTokens",
                "cacheCreationInputTokens",
            ]),
            sum(&["outputTokens"]),
        )
    });
    let from_usage = r.usage.as_ref().map(|u| {
        (
            u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens,
            u.output_tokens,
        )
    });
    let tokens = from_models.filter(|(i, o)| i + o > 0).or(from_usage);
    AgentResult {
        is_error: r.is_error,
        subtype: r.subtype,
        summary: r.result,
        errors: r
            .errors
            .into_iter()
            .map(|e| match e {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        cost_usd: r.total_cost_usd,
        tokens_in: tokens.map(|t| t.0),
        tokens_out: tokens.map(|t| t.1),
        turns: r.num_turns,
        session_id: r.session_id,
        permission_denials: r.permission_denials,
        report: r
            .structured_output
            .as_ref()
            .and_then(super::report::Report::from_value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;
    use std::path::PathBuf;

    #[test]
    fn argv_keeps_the_prompt_out_of_variadic_options() {
        let mut e = Employee::new("W", SourceKind::Local, PathBuf::from("/w"));
        e.allowed_tools = vec!["Read".into(), "Bash(git log:*)".into()];
        e.max_task_usd = Some(1.0);
        let a = args(&e, "-rf everything");
        let tools = a.iter().position(|x| x == "--allowedTools").unwrap();
        assert_eq!(a[tools + 1], "Read,Bash(git log:*)");
        assert_eq!(&a[a.len() - 2..], ["--", "-rf everything"]);
        assert!(a.windows(2).any(|w| w == ["--max-budget-usd", "1"]));
        assert!(
            a.windows(2).any(|w| w == ["--tools", "Read,Bash"]),
            "--tools restricts to the allowed tools: {a:?}"
        );
        e.max_task_usd = Some(0.001);
        assert!(
            args(&e, "x")
                .windows(2)
                .any(|w| w == ["--max-budget-usd", "0.001"])
        );
        assert!(
            a.windows(2)
                .any(|w| w == ["--output-format", "stream-json"])
        );
        assert!(a.contains(&"--verbose".to_string()));
    }

    #[test]
    fn bypass_as_root_is_refused_like_claude_code_refuses_it() {
        assert!(refuses_bypass(true, None));
        assert!(refuses_bypass(true, Some("")));
        assert!(
            !refuses_bypass(true, Some("1")),
            "a container says IS_SANDBOX=1"
        );
        assert!(!refuses_bypass(false, None));
    }

    #[test]
    fn scope_words_follow_the_flags() {
        let mut e = Employee::new("W", SourceKind::Local, PathBuf::from("/w"));
        e.allowed_tools = vec!["Read".into(), "Bash(git log:*)".into()];
        assert!(
            Claude
                .scope(&e)
                .starts_with("can read files in its workspace; can run only the allowed commands")
        );
        e.permission_mode = Some("bypassPermissions".into());
        assert!(
            Claude
                .scope(&e)
                .contains("can run any command; approves every call itself"),
            "bypass makes a Bash pattern whole: {}",
            Claude.scope(&e)
        );
    }

    #[test]
    fn tool_use_blocks_become_events() {
        let line = r#"{"type":"assistant","message":{"content":[{"type":"text","text":"Let me read"},{"type":"tool_use","id":"t1","name":"Read","input":{"file_path":"/w/a.md"}}]}}"#;
        let Parsed::Events(ev) = parse_line(line) else {
            panic!()
        };
        assert_eq!(ev.len(), 2);
        assert!(matches!(&ev[1], AgentEvent::ToolUse { name, .. } if name == "Read"));
    }

    #[test]
    fn unknown_types_and_garbage_are_not_fatal() {
        assert_eq!(
            parse_line(r#"{"type":"rate_limit_event","x":1}"#),
            Parsed::Unknown("rate_limit_event".into())
        );
        assert!(matches!(parse_line("Loading…"), Parsed::Garbage(_)));
        assert!(matches!(
            parse_line(r#"{"type":"result""#),
            Parsed::Garbage(_)
        ));
        assert_eq!(parse_line("  \r"), Parsed::Events(vec![]));
    }
}
