//! Agents: how to start each agent CLI, how to read its stream, how to tell how a run ended,
//! and how to turn the stream into short lines a person understands.
//!
//! Everything that differs between agent CLIs lives behind [`Agent`], one file per CLI
//! (`claude.rs`, `codex.rs`, `gemini.rs`, `command.rs`); the worker, the CLI, the desktop
//! shell and the UI ask the seam and never name an agent. Adding an agent is one file and
//! one line in [`for_kind`].
//!
//! Parsers speak one neutral vocabulary of tools (the names progress lines know): `Read`,
//! `Write`, `Edit`, `Bash`, `Glob`, `Grep`, `WebFetch`, `WebSearch`, `Task`, `Skill`,
//! `TodoWrite`, with inputs `file_path`, `command`, `description`, `pattern`, `url`, `query`.

pub mod claude;
pub mod codex;
pub mod command;
pub mod gemini;
mod lines;
pub mod progress;
pub mod report;
pub mod spawn;

use crate::config::{AgentKind, Employee};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub use crate::sandbox::SandboxNeeds;
pub use progress::{Draft, Progress};
pub use spawn::{Exit, Invocation, ProcessOutcome, SpawnError};

/// One agent CLI: everything Delegate needs to know about it.
pub trait Agent: Send + Sync {
    fn kind(&self) -> AgentKind;
    /// "Claude Code".
    fn name(&self) -> &'static str;
    /// The program on PATH.
    fn default_command(&self) -> &'static str;
    /// How to install it, in one sentence.
    fn install_hint(&self) -> &'static str;
    /// How to log in, in one sentence.
    fn login_hint(&self) -> &'static str;
    /// The model used when the employee names none.
    fn default_model(&self) -> &'static str {
        ""
    }
    /// The argv (after the program), stdin, and the environment to drop.
    fn launch(&self, employee: &Employee, prompt: &str) -> Launch;
    /// The launch that continues an earlier run's `session` with `prompt` (the person's
    /// answer or feedback), or `None` when this agent cannot resume one.
    fn resume(&self, _employee: &Employee, _session: &str, _prompt: &str) -> Option<Launch> {
        None
    }
    /// Whether a run that resumed a session ended because the CLI does not have that session
    /// (another machine ran it, or the CLI's session store was cleared): then a fresh run
    /// with the whole conversation follows.
    fn session_missing(&self, _facts: &RunFacts<'_>) -> bool {
        false
    }
    /// A parser for one run's stdout.
    fn parser(&self) -> Box<dyn StreamParser>;
    /// What the run's end means: agent-specific machine problems (login, limits, network,
    /// rejected arguments) first; `None` leaves the decision to the generic rules.
    fn machine_problem(&self, facts: &RunFacts<'_>) -> Option<MachineProblem>;
    /// Whether the agent is logged in on this machine, asked offline.
    fn login(&self, program: &Path, employee: &Employee) -> Login;
    /// The scope the flags actually passed give the agent, in plain words.
    fn scope(&self, employee: &Employee) -> String;
    /// Agent-specific settings checks: `(field, message)`.
    fn check(&self, employee: &Employee) -> Result<(), (&'static str, String)>;
    /// Whether `allowed_tools` shapes what the agent may do.
    fn uses_tools(&self) -> bool {
        true
    }
    /// What the agent needs from the home folder inside its OS sandbox: the state it writes
    /// (login, settings, sessions), what it only reads, and variables that keep its state
    /// inside those folders. Only what it needs — never the home folder itself.
    fn sandbox_needs(&self, _home: &Path) -> SandboxNeeds {
        SandboxNeeds::default()
    }
    /// Whether the OS sandbox lets the agent write its workspace (else only read it): for an
    /// agent whose scope only the OS sandbox can hold.
    fn workspace_writable(&self, _employee: &Employee) -> bool {
        true
    }
    /// The tools a person can allow for this agent, with what each lets it do (for the
    /// employee form). Names are Delegate's; each agent file translates them.
    fn tools(&self) -> &'static [ToolChoice] {
        ALL_TOOLS
    }
    /// Whether `max_task_usd` / `max_turns` are passed to the agent.
    fn uses_caps(&self) -> bool {
        false
    }
    /// Whether `args` is used (a plain command).
    fn uses_args(&self) -> bool {
        false
    }
}

/// An agent's state folder: the variable that relocates it, when set, else `default`.
pub(crate) fn state_dir(var: &str, default: std::path::PathBuf) -> std::path::PathBuf {
    std::env::var_os(var)
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or(default)
}

/// A tool an employee may be allowed, and what it lets the agent do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ToolChoice {
    pub name: &'static str,
    pub what: &'static str,
}

const fn tool(name: &'static str, what: &'static str) -> ToolChoice {
    ToolChoice { name, what }
}

/// Every tool Delegate knows, in the order the form lists them.
pub const ALL_TOOLS: &[ToolChoice] = &[
    tool("Read", "read files"),
    tool("Glob", "find files"),
    tool("Grep", "search in files"),
    tool("Write", "create files"),
    tool("Edit", "change files"),
    tool("Skill", "use workspace skills"),
    tool("WebSearch", "search the web"),
    tool("WebFetch", "read web pages"),
    tool("Bash", "run any command"),
];

/// An agent as this machine has it: installed or not, which version, logged in or not, and
/// which settings mean something to it. For pickers, onboarding and `doctor`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentInfo {
    pub kind: AgentKind,
    pub name: String,
    /// The program checked (the agent's default when none was given).
    pub command: String,
    pub found: bool,
    pub path: Option<String>,
    pub version: Option<String>,
    /// Not checked when the program is missing.
    pub login: Option<Login>,
    /// What to do when it is missing, or the problem with the given command.
    pub install_hint: String,
    pub uses_tools: bool,
    /// The tools the form offers for this agent.
    pub tools: Vec<ToolChoice>,
    pub uses_caps: bool,
    pub uses_args: bool,
}

/// Checks one agent on this machine (the program, its version, its login), offline.
pub async fn describe(kind: AgentKind, command: Option<&str>) -> AgentInfo {
    let a = for_kind(kind);
    let command = command
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or(a.default_command())
        .to_string();
    let mut info = AgentInfo {
        kind,
        name: a.name().into(),
        command: command.clone(),
        found: false,
        path: None,
        version: None,
        login: None,
        install_hint: a.install_hint().into(),
        uses_tools: a.uses_tools(),
        tools: if a.uses_tools() {
            a.tools().to_vec()
        } else {
            Vec::new()
        },
        uses_caps: a.uses_caps(),
        uses_args: a.uses_args(),
    };
    let path = match spawn::resolve_program(&command) {
        Ok(p) => p,
        Err(e) => {
            info.install_hint = format!("{e}; {}", a.install_hint());
            return info;
        }
    };
    info.found = true;
    info.path = Some(path.display().to_string());
    if kind != AgentKind::Command {
        info.version = spawn::version(&command)
            .await
            .ok()
            .filter(|v| !v.is_empty());
    }
    let mut e = Employee::new(
        "",
        crate::config::SourceKind::Local,
        std::path::PathBuf::from("/"),
    );
    e.agent = kind;
    e.command = Some(command);
    info.login = tokio::task::spawn_blocking(move || for_kind(kind).login(&path, &e))
        .await
        .ok();
    info
}

/// The agent of `kind`.
pub fn for_kind(kind: AgentKind) -> &'static dyn Agent {
    match kind {
        AgentKind::Claude => &claude::Claude,
        AgentKind::Codex => &codex::Codex,
        AgentKind::Gemini => &gemini::Gemini,
        AgentKind::Command => &command::CommandAgent,
    }
}

/// The rules every agent file sets for its employees' settings, handed to `config` when a
/// file is loaded or an employee saved (config is data and does not know the agents).
pub struct Rules;

/// See [`Rules`].
pub const RULES: Rules = Rules;

impl crate::config::AgentRules for Rules {
    fn check(&self, employee: &Employee) -> Result<(), (&'static str, String)> {
        for_kind(employee.agent).check(employee)
    }
}

/// The program an employee runs: its `command`, else its agent's usual name.
pub fn command_of(employee: &Employee) -> &str {
    employee
        .command
        .as_deref()
        .unwrap_or_else(|| for_kind(employee.agent).default_command())
}

/// Switches `employee` to another agent, dropping settings that agent does not take
/// (per-task caps, another agent's model name) so it validates.
pub fn switch(employee: &mut Employee, kind: AgentKind) {
    let previous = employee.agent;
    employee.agent = kind;
    if !for_kind(kind).uses_caps() {
        employee.max_task_usd = None;
        employee.max_turns = None;
    }
    if previous != kind {
        employee.model.clear();
    }
}

/// What the employee's agent may do, in plain words, as the agent's flags give it.
pub fn scope(employee: &Employee) -> String {
    for_kind(employee.agent).scope(employee)
}

/// The OS sandbox for one run of `employee`'s agent as `program` (its resolved path): what
/// the agent file says it needs, given to the sandbox's policy. `None` with the sandbox off.
pub fn sandbox_plan(
    employee: &Employee,
    program: &Path,
    home: Option<&Path>,
) -> Option<crate::sandbox::Plan> {
    let agent = for_kind(employee.agent);
    let needs = home.map(|h| agent.sandbox_needs(h)).unwrap_or_default();
    crate::sandbox::plan(
        employee,
        needs,
        agent.workspace_writable(employee),
        program,
        home,
    )
}

/// Every agent, for pickers and `doctor`.
pub fn all() -> [&'static dyn Agent; 4] {
    [
        &claude::Claude,
        &codex::Codex,
        &gemini::Gemini,
        &command::CommandAgent,
    ]
}

/// How to start the agent for one prompt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Launch {
    pub args: Vec<String>,
    /// Written to stdin, which is then closed (else stdin is /dev/null).
    pub stdin: Option<String>,
    /// Variables removed from the inherited environment.
    pub remove_env: Vec<String>,
    /// Variables set (never a secret).
    pub set_env: Vec<(String, String)>,
    /// Things a person should know about the launch (shown once in the run).
    pub notes: Vec<String>,
}

/// What a parser made of one stdout line.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    Events(Vec<AgentEvent>),
    /// Valid JSON of a type we do not use; the type is kept for the log.
    Unknown(String),
    /// Not JSON, or JSON of the wrong shape; the error is kept for the log.
    Garbage(String),
}

/// Reads one run's stdout, line by line. Never fails: bad lines become [`Parsed::Garbage`].
pub trait StreamParser: Send {
    fn line(&mut self, line: &str) -> Parsed;
    /// Events only known at the end (a result built from what was seen, or from the whole
    /// stdout for a plain command).
    fn finish(&mut self, exit: Exit) -> Vec<AgentEvent> {
        let _ = exit;
        Vec::new()
    }
}

/// What is known when a run ends, for [`Agent::machine_problem`].
pub struct RunFacts<'a> {
    pub exit: Exit,
    pub result: Option<&'a AgentResult>,
    pub stderr: &'a str,
    /// The agent used a tool or wrote text: work was done.
    pub worked: bool,
    /// The agent's stream began (it got past parsing its arguments).
    pub started: bool,
    /// The last retry notice the agent gave (API unreachable, reconnecting).
    pub last_retry: Option<&'a str>,
    pub employee: &'a Employee,
}

/// Why this machine (not the task) kept a run from working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum MachineKind {
    /// Not logged in, or the login / key was rejected.
    NotLoggedIn,
    /// A usage or rate limit window is reached.
    UsageLimit,
    /// The model's API cannot be reached (no work was done).
    Unreachable,
    /// The CLI is not installed.
    CliMissing,
    /// The CLI refused its arguments (too old, or a flag it does not know).
    CliRejected,
    /// The CLI refused the configuration (e.g. bypassing permissions as root).
    Refused,
    /// The employee must run sandboxed and this machine cannot sandbox.
    NoSandbox,
}

/// A problem of this machine or account: the task is not at fault and keeps its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineProblem {
    pub kind: MachineKind,
    /// What happened, from the agent's own words.
    pub reason: String,
    /// What to do about it.
    pub fix: String,
    /// When trying again makes sense (a usage limit's reset time).
    pub until: Option<DateTime<Utc>>,
}

impl MachineProblem {
    pub fn new(kind: MachineKind, reason: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
            fix: fix.into(),
            until: None,
        }
    }

    /// "Claude Code is not logged in (Not logged in · Please run /login); fix: …".
    pub fn message(&self) -> String {
        format!("{} — {}", self.reason, self.fix)
    }
}

/// An agent's login state on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Login {
    Ready {
        how: String,
    },
    NotReady {
        reason: String,
        fix: String,
    },
    /// The agent has no login (a plain command), or it cannot be told offline.
    Unknown {
        note: String,
    },
}

/// What the end of a run means for this machine: the agent's own reading
/// ([`Agent::machine_problem`]), except when the OS sandbox refused a file the run's output
/// names (`sandbox_refused`). Then a CLI that seems to refuse its arguments or its
/// configuration is the sandbox's doing, not this machine's CLI: the run is the task's failure,
/// which carries the 🛡 lines and how to widen the sandbox — never "update the CLI".
pub fn machine_problem(
    agent: &dyn Agent,
    facts: &RunFacts<'_>,
    sandbox_refused: bool,
) -> Option<MachineProblem> {
    let problem = agent.machine_problem(facts)?;
    let guessed = matches!(
        problem.kind,
        MachineKind::CliRejected | MachineKind::Refused
    );
    (!(sandbox_refused && guessed)).then_some(problem)
}

/// Whether an error line is about a file the program could not open or write ("Permission
/// denied", EACCES, `[Errno 13]`): no command-line flag explains that, so such a line never
/// means the CLI refused its arguments.
pub fn about_file_access(line: &str) -> bool {
    let l = line.to_lowercase();
    l.contains("permission denied")
        || l.contains("eacces")
        || l.contains("eperm")
        || l.contains("operation not permitted")
        || l.contains("[errno ")
}

/// The first line of `stderr` that says what went wrong (an `error:` line, an unknown
/// option), not the help text or the runtime banner around it.
pub fn reason_line(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let lower = |l: &str| l.to_lowercase();
    let found = lines
        .iter()
        .find(|l| {
            let l = lower(l);
            l.starts_with("error")
                || l.contains("unexpected argument")
                || l.contains("unknown option")
                || l.contains("unknown argument")
                || l.contains("not enough arguments")
                || l.contains("cannot be used")
                || l.starts_with("fatal")
        })
        .or_else(|| {
            lines.iter().rev().find(|l| {
                let l = lower(l);
                !l.starts_with("at ")
                    && !l.starts_with("bun v")
                    && !l.starts_with("usage:")
                    && !l.starts_with("warning")
                    && !l.starts_with("for more information")
                    && !l.starts_with("tip:")
                    && !l.contains(" | ")
            })
        })?;
    Some(first_line(&strip_ansi(found), 300))
}

/// Text without terminal colour codes.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// What an agent did, independent of which CLI said it.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    Started {
        session_id: Option<String>,
        model: Option<String>,
    },
    ToolUse {
        id: String,
        name: String,
        input: serde_json::Value,
    },
    ToolResult {
        id: String,
        is_error: bool,
    },
    Text(String),
    /// The agent is retrying its model API ("API unreachable, retry 3 of 10").
    Retry {
        attempt: u32,
        max: Option<u32>,
        reason: String,
    },
    Result(AgentResult),
}

/// A tool call the agent was not allowed to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PermissionDenial {
    pub tool_name: String,
    #[serde(default)]
    pub tool_input: serde_json::Value,
}

/// The agent's final word on a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentResult {
    pub is_error: bool,
    pub subtype: String,
    /// The final text on success (or the error text when an API error ended the turn).
    pub summary: Option<String>,
    pub errors: Vec<String>,
    pub cost_usd: Option<f64>,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    pub turns: Option<u32>,
    pub session_id: Option<String>,
    pub permission_denials: Vec<PermissionDenial>,
    /// The report the CLI's structured output carried (Claude Code's `structured_output`);
    /// else it may be in the final text (see [`report::from_text`]).
    pub report: Option<report::Report>,
}

impl AgentResult {
    /// The result with what a run keeps of it: the final text and each error up to
    /// [`MAX_RESULT_BYTES`], at most [`MAX_KEPT_ITEMS`] errors and refused tool calls, each
    /// call's input with its long texts cut.
    pub fn bounded(mut self) -> Self {
        self.summary = self.summary.map(|s| clip(s, MAX_RESULT_BYTES));
        self.errors.truncate(MAX_KEPT_ITEMS);
        self.errors = self
            .errors
            .into_iter()
            .map(|e| clip(e, MAX_RESULT_BYTES))
            .collect();
        self.permission_denials.truncate(MAX_KEPT_ITEMS);
        for d in &mut self.permission_denials {
            clip_value(&mut d.tool_input);
        }
        self
    }

    /// A one-line reason for a failed result.
    pub fn failure_reason(&self) -> String {
        let detail = self
            .errors
            .iter()
            .find(|e| !e.trim().is_empty())
            .cloned()
            .or_else(|| self.summary.clone())
            .unwrap_or_default();
        let what = match self.subtype.as_str() {
            "error_max_turns" => "the agent reached its turn limit",
            "error_max_budget_usd" => "the agent reached its per-task spending cap",
            "error_during_execution" => "the agent stopped with an error",
            _ => "the agent reported an error",
        };
        if detail.trim().is_empty() {
            what.to_string()
        } else {
            format!("{what}: {}", first_line(&detail, 300))
        }
    }
}

/// The most errors and refused tool calls a run keeps of a result.
pub const MAX_KEPT_ITEMS: usize = 50;

/// Long strings in `v` cut to 1 KB, long lists to [`MAX_KEPT_ITEMS`] (a refused `Write`
/// carries the whole file it wanted to write).
fn clip_value(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) if s.len() > 1024 => *s = clip(std::mem::take(s), 1024),
        Value::Array(items) => {
            items.truncate(MAX_KEPT_ITEMS);
            items.iter_mut().for_each(clip_value);
        }
        Value::Object(map) => map.values_mut().for_each(clip_value),
        _ => {}
    }
}

/// The first non-empty line of `s`, at most `max` characters.
pub fn first_line(s: &str, max: usize) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    truncate(line, max)
}

/// Marks text Delegate cut short to keep its memory and records bounded.
pub const TRUNCATED: &str = "…(truncated)";

/// The most bytes of an agent's final text (and of each of its errors) that a run keeps.
pub const MAX_RESULT_BYTES: usize = 64 * 1024;

/// `s` cut to at most `max` bytes (at a character boundary), with [`TRUNCATED`] after the cut.
pub fn clip(mut s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.push_str(TRUNCATED);
    s.shrink_to_fit();
    s
}

/// Cuts `s` to at most `max` characters, marking the cut with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    let mut out = cut.trim_end().to_string();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;
    use std::path::PathBuf;

    #[test]
    fn a_result_keeps_bounded_text_errors_and_denials() {
        let huge = "é".repeat(1024 * 1024);
        let r = AgentResult {
            summary: Some(format!("Done.\n{huge}")),
            errors: vec![huge.clone(); 500],
            permission_denials: vec![
                PermissionDenial {
                    tool_name: "Write".into(),
                    tool_input: serde_json::json!({"file_path": "/x", "content": huge, "n": vec![1; 200]}),
                };
                300
            ],
            ..AgentResult::default()
        }
        .bounded();
        let summary = r.summary.unwrap();
        assert!(summary.len() <= MAX_RESULT_BYTES + TRUNCATED.len());
        assert!(summary.starts_with("Done.\n") && summary.ends_with(TRUNCATED));
        assert_eq!(r.errors.len(), MAX_KEPT_ITEMS);
        assert!(
            r.errors
                .iter()
                .all(|e| e.len() <= MAX_RESULT_BYTES + TRUNCATED.len())
        );
        assert_eq!(r.permission_denials.len(), MAX_KEPT_ITEMS);
        let input = &r.permission_denials[0].tool_input;
        assert_eq!(input["file_path"], "/x");
        assert!(input["content"].as_str().unwrap().ends_with(TRUNCATED));
        assert!(
            input.to_string().len() < 2048,
            "{}",
            input.to_string().len()
        );
        assert_eq!(clip("short".into(), 10), "short");
    }

    #[test]
    fn every_agent_offers_tools_delegate_knows() {
        let known: Vec<&str> = ALL_TOOLS.iter().map(|t| t.name).collect();
        for a in all() {
            if !a.uses_tools() {
                continue;
            }
            assert!(!a.tools().is_empty(), "{}", a.name());
            for t in a.tools() {
                assert!(known.contains(&t.name), "{}: {}", a.name(), t.name);
                assert!(!t.what.is_empty());
            }
        }
        assert_eq!(for_kind(AgentKind::Claude).tools().len(), ALL_TOOLS.len());
        assert!(
            !for_kind(AgentKind::Codex)
                .tools()
                .iter()
                .any(|t| t.name == "WebSearch")
        );
    }

    #[test]
    fn permissions_in_plain_words() {
        let mut e = Employee::new("A", SourceKind::Local, PathBuf::from("/w"));
        assert_eq!(
            scope(&e),
            "can read files, write files in its workspace; cannot run commands (Read, Write, Edit, Glob, Grep)"
        );
        e.allowed_tools = vec![
            "Read".into(),
            "Write(drafts/**)".into(),
            "Edit(drafts/**)".into(),
        ];
        assert!(scope(&e).starts_with(
            "can read files, write only drafts/** in its workspace; cannot run commands"
        ));
        e.allowed_tools.push("Bash(git log:*)".into());
        assert!(scope(&e).contains("can run only the allowed commands"));
    }

    #[test]
    fn switching_agent_drops_what_the_new_one_does_not_take() {
        let mut e = Employee::new("W", SourceKind::Local, PathBuf::from("/w"));
        e.model = "sonnet".into();
        e.max_task_usd = Some(1.0);
        e.max_turns = Some(40);
        switch(&mut e, AgentKind::Codex);
        assert_eq!(
            (e.model.as_str(), e.max_task_usd, e.max_turns),
            ("", None, None)
        );
        assert!(
            crate::config::validate::check(&e, &RULES).is_ok(),
            "{:?}",
            crate::config::validate::check(&e, &RULES)
        );
        e.max_task_usd = Some(1.0);
        let err = crate::config::validate::check(&e, &RULES).unwrap_err();
        assert!(err.contains("Codex has no per-task spending"), "{err}");
    }

    #[test]
    fn a_loaded_config_follows_each_agents_rules() {
        let text = "[[employee]]\nname = \"A\"\nsource = \"local\"\nworkspace = \"/w\"\npermission_mode = \"yolo\"\n";
        let err = crate::Config::parse(std::path::Path::new("c.toml"), text, &RULES)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 5") && err.contains("acceptEdits"),
            "{err}"
        );
    }
}
