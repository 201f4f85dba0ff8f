//! `config.toml`: the employees and account settings. Human-edited, so every error names the
//! line and the field, and writes keep the person's comments (see [`edit`]).

pub mod edit;
mod sandbox;
pub mod validate;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use sandbox::{Fallback, NetworkRule, SandboxMode};
pub use validate::{AgentRules, DataOnly, validate};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}{}: employee \"{employee}\": {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        employee: String,
        message: String,
    },
    #[error("no employee named \"{0}\" (see `delegate employee list`)")]
    NoSuchEmployee(String),
    #[error("an employee named \"{0}\" already exists; pick another name or remove it first")]
    DuplicateEmployee(String),
    /// A setting a person entered that cannot be saved.
    #[error("{0}")]
    BadSetting(String),
}

/// The file. Beside the sections below, one per service a source connects to (`[todoist]`,
/// `[github]`: [`ServiceSettings`]), kept by name in `services`; validation reports a name
/// that is neither, so a typo is still caught.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub budget: BudgetSettings,
    #[serde(default)]
    pub notifications: NotificationSettings,
    #[serde(default)]
    pub desktop: DesktopSettings,
    #[serde(default)]
    pub machine: MachineSettings,
    #[serde(default, rename = "employee")]
    pub employees: Vec<Employee>,
    /// Each service's section by its source's name, and any other key, for validation.
    #[serde(flatten)]
    pub services: BTreeMap<String, toml::Value>,
}

/// The sections every file may have besides the services' (and `[[employee]]`).
pub const SECTIONS: &[&str] = &["budget", "notifications", "desktop", "machine", "employee"];

/// A service's address and patience (`[github]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    /// The API's base URL (default: the public one); a database's connection URL
    /// (`[postgres] url`).
    #[serde(default, alias = "url", skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// How long to wait for one answer before trying again (default 30 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// A database table's column names, where they are not Delegate's own
    /// (`[postgres.columns]`: `title = "name"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, String>,
    /// A database table's status values, where they are not Delegate's own
    /// (`[postgres.statuses]`: `pending = "todo"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub statuses: BTreeMap<String, String>,
}

/// This machine's part in sharing projects with other machines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineSettings {
    /// The name claim comments show (default: the host name; `DELEGATE_MACHINE` overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How long past its timeout a claim of this machine holds (default 120 s), so a slow
    /// finish is never taken over by another machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_grace_secs: Option<u64>,
    /// How long after a claim's own `posted_at` a read of the task decides it (default
    /// 5 s): Todoist may show a comment a few seconds after it stamped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_settle_secs: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSettings {
    /// Across all employees: no new dispatch once today's recorded spend reaches this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_usd: Option<f64>,
}

/// Which desktop notifications to show (all on by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NotificationSettings {
    #[serde(default = "default_true")]
    pub draft_ready: bool,
    /// An employee asks a question (or says what blocks it) and waits for the answer.
    #[serde(default = "default_true")]
    pub question: bool,
    #[serde(default = "default_true")]
    pub gave_up: bool,
    #[serde(default = "default_true")]
    pub budget_reached: bool,
    #[serde(default = "default_true")]
    pub token_rejected: bool,
    /// An employee cannot work on this machine (agent not logged in, a limit, no network).
    #[serde(default = "default_true")]
    pub needs_attention: bool,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            draft_ready: true,
            question: true,
            gave_up: true,
            budget_reached: true,
            token_rejected: true,
            needs_attention: true,
        }
    }
}

/// Desktop app settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesktopSettings {
    /// Start on login. Unset until the first successful setup turns it on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autostart: Option<bool>,
}

pub use crate::source::SourceKind;

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SourceKind {
    type Err = String;

    /// A source by its name in `config.toml` (`github`), any case.
    fn from_str(name: &str) -> Result<Self, String> {
        crate::source::SOURCES
            .iter()
            .find(|s| s.kind.as_str().eq_ignore_ascii_case(name.trim()))
            .map(|s| s.kind)
            .ok_or_else(|| {
                let names: Vec<&str> = crate::source::SOURCES
                    .iter()
                    .map(|s| s.kind.as_str())
                    .collect();
                format!("no source named \"{name}\" (sources: {})", names.join(", "))
            })
    }
}

/// What a run's end comment carries of its drafts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum DeliverDrafts {
    /// The drafts themselves, as Markdown, each in turn while the source's comment limit
    /// lasts; a draft that does not fit is attached as a file where the source takes files
    /// (Todoist), with its first lines in the comment, else cut at a line with where the rest is.
    #[default]
    Inline,
    /// Every draft attached as a file (where the source takes files), its first lines in the
    /// comment.
    Attach,
    /// Only their paths in the workspace.
    Path,
}

impl std::str::FromStr for DeliverDrafts {
    type Err = String;

    /// From its name in `config.toml` (`inline`, `path`), for `employee add`'s flag.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use serde::de::IntoDeserializer;
        Self::deserialize(s.into_deserializer()).map_err(|e: serde::de::value::Error| e.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AgentKind {
    Claude,
    Codex,
    Gemini,
    /// Any program: the prompt as an argument (`{prompt}` in `args`) or on stdin.
    Command,
}

/// One background worker profile.
///
/// Beside the settings every employee has, the ones of its source (`repo = "octo/docs"`),
/// as that source declares them ([`crate::source::SourceInfo::settings`]); validation
/// reports a key that neither knows, so a typo is still caught with its line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Employee {
    pub name: String,
    #[serde(default = "default_true")]
    pub enabled: bool,
    pub source: SourceKind,
    pub workspace: PathBuf,
    #[serde(default = "default_agent")]
    pub agent: AgentKind,
    /// Program name on PATH or absolute path; defaults to the agent's usual name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Arguments for `agent = "command"`; `{prompt}` becomes the task (else it goes on stdin).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Empty means the agent's own default (Claude Code: sonnet).
    #[serde(default = "default_model")]
    pub model: String,
    #[serde(default = "default_allowed_tools")]
    pub allowed_tools: Vec<String>,
    #[serde(default)]
    pub disallowed_tools: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub append_system_prompt: Option<String>,
    #[serde(default = "default_timeout")]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub timeout_secs: u64,
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_backoff")]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub retry_backoff_secs: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_task_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_usd: Option<f64>,
    #[serde(default = "default_poll")]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub poll_secs: u64,
    #[serde(default)]
    pub live_progress: bool,
    /// Leave a task with a future due date alone until it is due.
    #[serde(default)]
    pub hold_until_due: bool,
    /// Let `ANTHROPIC_API_KEY` reach the agent (API billing instead of the subscription).
    #[serde(default)]
    pub allow_api_key: bool,
    /// The OS sandbox the agent runs in: strict (default), workspace or off.
    #[serde(default)]
    pub sandbox: SandboxMode,
    /// Which TCP connections the sandboxed agent may open: open (default), https or none.
    #[serde(default)]
    pub sandbox_network: NetworkRule,
    /// On a machine that cannot sandbox: refuse (default) or run unsandboxed.
    #[serde(default)]
    pub sandbox_fallback: Fallback,
    /// What the end comment carries of the drafts: the drafts themselves (default, within
    /// the source's comment limit) or only their paths.
    #[serde(default)]
    pub deliver_drafts: DeliverDrafts,
    /// Extra folders or files the sandboxed agent may read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sandbox_read: Vec<PathBuf>,
    /// Extra folders or files the sandboxed agent may write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sandbox_write: Vec<PathBuf>,
    /// Its source's settings, by key; and any key nobody knows, for validation to report.
    /// (The app's form reads and writes them beside the others, by the source's keys.)
    #[serde(flatten, deserialize_with = "settings_without_nulls")]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub settings: BTreeMap<String, toml::Value>,
}

/// The keys every employee has, whatever its source (a source's settings never reuse one).
pub const EMPLOYEE_KEYS: &[&str] = &[
    "name",
    "enabled",
    "source",
    "workspace",
    "agent",
    "command",
    "args",
    "model",
    "allowed_tools",
    "disallowed_tools",
    "permission_mode",
    "max_turns",
    "append_system_prompt",
    "timeout_secs",
    "max_attempts",
    "retry_backoff_secs",
    "max_task_usd",
    "daily_usd",
    "poll_secs",
    "live_progress",
    "hold_until_due",
    "allow_api_key",
    "sandbox",
    "sandbox_network",
    "sandbox_fallback",
    "deliver_drafts",
    "sandbox_read",
    "sandbox_write",
];

/// A source setting the app sends as `null` is simply not set.
fn settings_without_nulls<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, toml::Value>, D::Error> {
    let all: BTreeMap<String, Option<toml::Value>> = BTreeMap::deserialize(d)?;
    Ok(all
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect())
}

fn default_true() -> bool {
    true
}
fn default_agent() -> AgentKind {
    AgentKind::Claude
}
fn default_model() -> String {
    String::new()
}
pub fn default_allowed_tools() -> Vec<String> {
    ["Read", "Write", "Edit", "Glob", "Grep"]
        .into_iter()
        .map(String::from)
        .collect()
}
fn default_timeout() -> u64 {
    600
}
fn default_attempts() -> u32 {
    3
}
fn default_backoff() -> u64 {
    60
}
fn default_poll() -> u64 {
    30
}

impl Employee {
    /// A new employee with every optional setting at its default.
    pub fn new(name: &str, source: SourceKind, workspace: PathBuf) -> Self {
        Self {
            name: name.to_string(),
            enabled: true,
            source,
            workspace,
            agent: default_agent(),
            command: None,
            args: Vec::new(),
            model: default_model(),
            allowed_tools: default_allowed_tools(),
            disallowed_tools: Vec::new(),
            permission_mode: None,
            max_turns: None,
            append_system_prompt: None,
            timeout_secs: default_timeout(),
            max_attempts: default_attempts(),
            retry_backoff_secs: default_backoff(),
            max_task_usd: None,
            daily_usd: None,
            poll_secs: default_poll(),
            live_progress: false,
            hold_until_due: false,
            allow_api_key: false,
            sandbox: Default::default(),
            sandbox_network: Default::default(),
            sandbox_fallback: Default::default(),
            deliver_drafts: Default::default(),
            sandbox_read: Vec::new(),
            sandbox_write: Vec::new(),
            settings: BTreeMap::new(),
        }
    }

    /// The source setting `key`, when it is set to some text (trimmed; empty is unset).
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// Sets the source setting `key` (`None` or empty text removes it).
    pub fn set_setting(&mut self, key: &str, value: Option<&str>) {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => {
                self.settings
                    .insert(key.to_string(), toml::Value::String(v.to_string()));
            }
            None => {
                self.settings.remove(key);
            }
        }
    }

    /// With the setting `key` set (for tests and templates).
    pub fn with_setting(mut self, key: &str, value: &str) -> Self {
        self.set_setting(key, Some(value));
        self
    }

    /// Whether `tool` is allowed at all, whole (`Bash`) or for some patterns (`Bash(git log:*)`).
    pub fn allows(&self, tool: &str) -> bool {
        self.allowed_tools
            .iter()
            .any(|x| x == tool || x.strip_prefix(tool).is_some_and(|r| r.starts_with('(')))
    }
}

impl Config {
    /// Reads and validates the file: its data, and each employee against `rules` (what its
    /// agent accepts, which only the agent module knows; the engine passes
    /// `crate::agent::RULES`). A missing file is an empty configuration.
    pub fn load(path: &Path, rules: &dyn AgentRules) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text, rules),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn parse(path: &Path, text: &str, rules: &dyn AgentRules) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        validate(&config, path, text, rules)?;
        Ok(config)
    }

    pub fn employee(&self, name: &str) -> Result<&Employee, ConfigError> {
        self.employees
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| ConfigError::NoSuchEmployee(name.to_string()))
    }

    /// `kind`'s section (`[github]`), or its defaults.
    pub fn service(&self, kind: SourceKind) -> ServiceSettings {
        self.services
            .get(kind.as_str())
            .and_then(|v| v.clone().try_into().ok())
            .unwrap_or_default()
    }

    /// `kind`'s API URL: its variable for this process (`DELEGATE_GITHUB_API_URL`), then its
    /// section's `api_url`, then the public one.
    pub fn api_url(&self, kind: SourceKind) -> String {
        let info = kind.info();
        info.api_url_env
            .and_then(|name| std::env::var(name).ok())
            .filter(|v| !v.is_empty())
            .or_else(|| self.service(kind).api_url)
            .unwrap_or_else(|| info.default_api_url.unwrap_or_default().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[todoist]
api_url = "https://api.todoist.com/api/v1"   # optional

[[employee]]
name = "LinkedIn Writer"
source = "todoist"            # or "local"
project = "LinkedIn Writer"   # Todoist project name (case-insensitive) or id
workspace = "/home/me/delegate/linkedin"
agent = "claude"              # claude (others come later)
command = "claude"            # program name on PATH or absolute path
model = "sonnet"
allowed_tools = ["Read", "Write", "Edit", "Glob", "Grep", "Skill"]
disallowed_tools = []
timeout_secs = 300
max_attempts = 3
max_task_usd = 1.0            # per-task cap, passed to the agent where it supports one
daily_usd = 10.0              # no new dispatch once today's recorded spend reaches this
poll_secs = 30
live_progress = false         # post progress lines to the task as comments (rate-limited)
"#;

    #[test]
    fn the_documented_shape_is_accepted() {
        let c = Config::parse(Path::new("config.toml"), SAMPLE, &DataOnly).unwrap();
        let e = &c.employees[0];
        assert_eq!(e.name, "LinkedIn Writer");
        assert_eq!(e.source, SourceKind::Todoist);
        assert_eq!(e.allowed_tools.len(), 6);
        assert_eq!(e.max_task_usd, Some(1.0));
        assert_eq!(e.timeout_secs, 300);
        assert!(e.enabled);
    }

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let text = SAMPLE.replace("poll_secs = 30", "poll_secs = 30\npol_secs = 5");
        let err = Config::parse(Path::new("c.toml"), &text, &DataOnly)
            .unwrap_err()
            .to_string();
        assert!(err.contains("pol_secs"), "{err}");
        assert!(err.contains("line 20"), "{err}");
        assert!(err.contains("did you mean `poll_secs`"), "{err}");
        // Another source's setting is named as such.
        let text = SAMPLE.replace("poll_secs = 30", "poll_secs = 30\nrepo = \"octo/docs\"");
        let err = Config::parse(Path::new("c.toml"), &text, &DataOnly)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 20") && err.contains("`repo` is a GitHub setting"),
            "{err}"
        );
        let c = Config::parse(Path::new("c.toml"), SAMPLE, &DataOnly).unwrap();
        assert_eq!(c.employees[0].setting("project"), Some("LinkedIn Writer"));
    }

    #[test]
    fn deliver_drafts_parses_from_its_config_names() {
        assert_eq!("path".parse::<DeliverDrafts>(), Ok(DeliverDrafts::Path));
        assert_eq!("inline".parse::<DeliverDrafts>(), Ok(DeliverDrafts::Inline));
        assert_eq!("attach".parse::<DeliverDrafts>(), Ok(DeliverDrafts::Attach));
        let err = "email".parse::<DeliverDrafts>().unwrap_err();
        assert!(
            err.contains("expected one of `inline`, `attach`, `path`"),
            "{err}"
        );
    }

    #[test]
    fn employee_keys_are_the_fields() {
        let mut e = Employee::new("A", SourceKind::Local, PathBuf::from("/w"));
        e.command = Some("c".into());
        e.args = vec!["a".into()];
        e.disallowed_tools = vec!["Bash".into()];
        e.permission_mode = Some("plan".into());
        e.max_turns = Some(3);
        e.append_system_prompt = Some("p".into());
        e.max_task_usd = Some(1.0);
        e.daily_usd = Some(1.0);
        e.sandbox_read = vec!["/r".into()];
        e.sandbox_write = vec!["/w".into()];
        let table = toml::Table::try_from(&e).unwrap();
        let mut keys: Vec<&str> = table.keys().map(String::as_str).collect();
        keys.sort();
        let mut known = EMPLOYEE_KEYS.to_vec();
        known.sort();
        assert_eq!(keys, known);
    }

    #[test]
    fn missing_file_is_an_empty_config() {
        let c = Config::load(Path::new("/nonexistent/delegate/config.toml"), &DataOnly).unwrap();
        assert!(c.employees.is_empty());
    }

    #[test]
    fn employee_lookup_ignores_case() {
        let c = Config::parse(Path::new("c.toml"), SAMPLE, &DataOnly).unwrap();
        assert!(c.employee("linkedin writer").is_ok());
        assert!(matches!(
            c.employee("nobody"),
            Err(ConfigError::NoSuchEmployee(_))
        ));
    }
}
