//! The operating-system sandbox every agent runs in (Linux Landlock).
//!
//! The rules are built in Delegate's process before the agent starts and applied in the forked
//! child just before `exec`, so they hold for the agent CLI and everything it starts, whatever
//! its own permission flags say. Landlock is allow-list only: what is not listed is refused.
//!
//! - `strict` (the default): the agent writes only its workspace, its own state folders (each
//!   agent file declares them), a private temporary folder and a few device files; it reads the
//!   system (`/usr`, `/etc`, `/opt`, `/proc`, `/sys`, `/dev`, `/run`), its own installation and
//!   runtime, the workspace and what the employee adds — not the home folder as a whole, so
//!   `~/.ssh`, `~/.aws`, `~/.gnupg`, browser profiles and other projects are out of reach.
//! - `workspace`: the same writes, but it may read everything the user can.
//! - `off`: no sandbox (explicit, and marked wherever the employee is shown).
//!
//! The network rule (`open`, `https`, `none`) limits TCP connections where the kernel supports
//! it (Landlock ABI 4).

use crate::config::Employee;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How much of the machine an employee's agent may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum SandboxMode {
    /// Writes: workspace, agent state, private tmp. Reads: the system, the agent, the workspace.
    #[default]
    Strict,
    /// Writes as strict; reads anything the user can.
    Workspace,
    /// No OS sandbox.
    Off,
}

/// Which TCP connections the agent may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum NetworkRule {
    /// Any.
    #[default]
    Open,
    /// Only to port 443 (HTTPS), where the kernel supports network rules.
    Https,
    /// None, where the kernel supports network rules.
    None,
}

/// What to do when the machine cannot sandbox (no Landlock, another OS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Fallback {
    /// Do not start the agent; the employee needs attention.
    #[default]
    Refuse,
    /// Start it unsandboxed, and say so in the run.
    Unsandboxed,
}

impl SandboxMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Workspace => "workspace",
            Self::Off => "off",
        }
    }
    /// In plain words, for the employee form, the employee card and `delegate employee list`.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Strict => {
                "OS sandbox (strict): writes only in its workspace; cannot read your home folder (~/.ssh, ~/.aws, other projects)"
            }
            Self::Workspace => {
                "OS sandbox (workspace): writes only in its workspace; can read your files"
            }
            Self::Off => "no OS sandbox: the agent can read and change anything you can",
        }
    }
}

impl NetworkRule {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Https => "https",
            Self::None => "none",
        }
    }
    pub fn describe(self) -> &'static str {
        match self {
            Self::Open => "any network connection",
            Self::Https => "network: HTTPS (port 443) only",
            Self::None => "no network",
        }
    }
}

/// The settings parse from their config names (`strict`, `https`, …) the way serde reads
/// them from config.toml, so the CLI flags and the file accept the same words.
macro_rules! from_config_name {
    ($($t:ty),*) => {$(
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                use serde::de::IntoDeserializer;
                Self::deserialize(s.into_deserializer())
                    .map_err(|e: serde::de::value::Error| e.to_string())
            }
        }
    )*};
}
from_config_name!(SandboxMode, NetworkRule, Fallback);

/// An employee's sandbox in one line, for the employee card, `delegate employee list` and
/// the form.
pub fn summary(e: &Employee) -> String {
    let mut s = e.sandbox.describe().to_string();
    if e.sandbox == SandboxMode::Off {
        return s;
    }
    if e.sandbox_network != NetworkRule::Open {
        s.push_str("; ");
        s.push_str(e.sandbox_network.describe());
    }
    let extra = |list: &[PathBuf]| {
        list.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !e.sandbox_read.is_empty() {
        s.push_str(&format!("; may also read {}", extra(&e.sandbox_read)));
    }
    if !e.sandbox_write.is_empty() {
        s.push_str(&format!("; may also write {}", extra(&e.sandbox_write)));
    }
    if e.sandbox_fallback == Fallback::Unsandboxed {
        s.push_str("; runs unsandboxed where the machine cannot sandbox");
    }
    s
}

/// One choice in a picker, with its words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// An employee's sandbox as the employee form shows it: the choices, the employee's sandbox in
/// words, and what this machine offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SandboxView {
    pub modes: Vec<Choice>,
    pub networks: Vec<Choice>,
    pub summary: String,
    /// This machine, in one line ("Landlock ABI 7: agents run in an OS sandbox …").
    pub machine: String,
    /// Problems and notes for this employee on this machine.
    pub notes: Vec<String>,
}

pub fn view(e: &Employee) -> SandboxView {
    let support = support();
    let choice = |value: &str, label: &str| Choice {
        value: value.into(),
        label: label.into(),
    };
    SandboxView {
        modes: vec![
            choice("strict", "Strict (recommended) — its workspace only"),
            choice(
                "workspace",
                "Workspace — writes its workspace, reads your files",
            ),
            choice("off", "Off — no OS sandbox"),
        ],
        networks: vec![
            choice("open", "Any network connection"),
            choice("https", "HTTPS only (port 443)"),
            choice("none", "No network"),
        ],
        summary: summary(e),
        machine: support.describe(),
        notes: check(e, &support)
            .into_iter()
            .filter_map(|c| match c {
                Check::Fine(_) => None,
                Check::Note(n) => Some(n),
                Check::Problem { what, fix } => Some(format!("{what} — {fix}")),
            })
            .collect(),
    }
}

/// What `doctor` (and the employee card) says about one employee's sandbox on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// All well: the words to show.
    Fine(String),
    /// Works, but a person should know (the sandbox is off; a configured path is missing).
    Note(String),
    /// The employee cannot run here as configured: what is wrong, and the fix.
    Problem { what: String, fix: String },
}

/// Checks `e`'s sandbox against what this machine offers.
pub fn check(e: &Employee, support: &Support) -> Vec<Check> {
    let mut out = Vec::new();
    if e.sandbox == SandboxMode::Off {
        out.push(Check::Note(format!(
            "{}: {} (sandbox = \"off\")",
            e.name,
            SandboxMode::Off.describe()
        )));
        return out;
    }
    if !support.available() {
        let why = support.missing.clone().unwrap_or_default();
        out.push(match e.sandbox_fallback {
            Fallback::Refuse => Check::Problem {
                what: format!("{}: needs an OS sandbox, and {why}", e.name),
                fix: "set `sandbox_fallback = \"unsandboxed\"` or `sandbox = \"off\"` for this employee, or use a kernel with Landlock".into(),
            },
            Fallback::Unsandboxed => Check::Note(format!(
                "{}: will run WITHOUT an OS sandbox here ({why}); sandbox_fallback = \"unsandboxed\"",
                e.name
            )),
        });
        return out;
    }
    out.push(Check::Fine(format!("{}: {}", e.name, summary(e))));
    if e.sandbox_network != NetworkRule::Open && !support.network() {
        out.push(Check::Note(format!(
            "{}: the network rule ({}) is not enforced: Landlock ABI {} has no network rules (needs 4)",
            e.name,
            e.sandbox_network.as_str(),
            support.abi
        )));
    }
    for p in e.sandbox_read.iter().chain(&e.sandbox_write) {
        if !p.exists() {
            out.push(Check::Note(format!(
                "{}: the sandbox path {} does not exist, so it opens nothing (create it, or remove it from the employee)",
                e.name,
                p.display()
            )));
        }
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "this machine cannot sandbox the agent ({reason}); the employee is set to refuse to run unsandboxed. Set `sandbox_fallback = \"unsandboxed\"` (or `sandbox = \"off\"`) to run it anyway"
    )]
    Unavailable { reason: String },
    #[error("cannot build the sandbox: {0}")]
    Build(String),
    #[error("cannot create {path} for the agent: {source}")]
    Prepare {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What this machine offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Support {
    /// The Landlock ABI the kernel offers (0: none).
    pub abi: i32,
    /// Why there is no sandbox, when there is none.
    pub missing: Option<String>,
    /// Whether the agent's view of the session's sockets (D-Bus, X11, the keyring) can be
    /// hidden: unprivileged user namespaces are allowed.
    pub hides_session: bool,
}

impl Support {
    pub fn available(&self) -> bool {
        self.abi > 0
    }
    /// Whether network rules hold (Landlock ABI 4).
    pub fn network(&self) -> bool {
        self.abi >= 4
    }
    /// One line for `doctor` and the settings screen.
    pub fn describe(&self) -> String {
        match &self.missing {
            None => format!(
                "Landlock ABI {}: agents run in an OS sandbox{}{}",
                self.abi,
                if self.network() {
                    " (files and network)"
                } else {
                    " (files only: this kernel has no network rules)"
                },
                if self.hides_session {
                    ""
                } else {
                    "; the session's sockets (D-Bus, keyring) stay reachable: user namespaces are not allowed here"
                }
            ),
            Some(why) => format!("no OS sandbox on this machine: {why}"),
        }
    }
}

/// The sandbox this machine offers, asked of the kernel.
pub fn support() -> Support {
    imp::support()
}

/// Everything one run's sandbox allows. Built by [`plan`]; applied by the spawner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub mode: SandboxMode,
    pub network: NetworkRule,
    pub fallback: Fallback,
    /// Read and execute (directories: everything beneath).
    pub read: Vec<PathBuf>,
    /// Read, write, create, remove (directories: everything beneath).
    pub write: Vec<PathBuf>,
    /// The home folder, to show paths as `~/…`.
    pub home: Option<PathBuf>,
    /// Where the run's private temporary folder is created.
    pub tmp_parent: PathBuf,
    /// Variables the agent needs inside the sandbox (its state folder).
    pub env: Vec<(String, String)>,
    /// The agent's state folders, created (private to the user) before it starts: inside the
    /// sandbox it could not create them in the home folder.
    pub state: Vec<PathBuf>,
    /// Files copied into them before the first sandboxed run (see `SandboxNeeds::seed`).
    pub seed: Vec<(PathBuf, PathBuf)>,
}

/// System folders every agent may read and run programs from.
const SYSTEM_READ: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/proc",
    "/sys", "/dev", "/run", "/snap", "/nix",
];
/// Device files every program may write.
const DEVICES_WRITE: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
    "/dev/shm",
];
/// Files in the home folder that ordinary tools need to read to work at all (git refuses to run
/// when it cannot read its config). They hold settings, not secrets.
const HOME_READ: &[&str] = &[".gitconfig", ".config/git"];

/// The sandbox for `employee` running `program` (its resolved path): the agent's own state
/// folders (from its agent file), its installation and runtime, the workspace, and the
/// employee's extra paths. `None` when the employee runs with the sandbox off.
pub fn plan(employee: &Employee, program: &Path, home: Option<&Path>) -> Option<Plan> {
    if employee.sandbox == SandboxMode::Off {
        return None;
    }
    let agent = crate::agent::for_kind(employee.agent);
    let mut read: Vec<PathBuf> = match employee.sandbox {
        SandboxMode::Workspace => vec![PathBuf::from("/")],
        _ => SYSTEM_READ.iter().map(PathBuf::from).collect(),
    };
    read.extend(installation(program));
    let needs = home.map(|h| agent.sandbox_needs(h)).unwrap_or_default();
    if let Some(h) = home {
        read.extend(HOME_READ.iter().map(|p| h.join(p)));
    }
    read.extend(needs.read);
    read.extend(employee.sandbox_read.iter().cloned());
    let mut write: Vec<PathBuf> = DEVICES_WRITE.iter().map(PathBuf::from).collect();
    if agent.workspace_writable(employee) {
        write.push(employee.workspace.clone());
    } else {
        read.push(employee.workspace.clone());
    }
    let state = needs.write.clone();
    let seed = needs.seed.clone();
    write.extend(needs.write);
    write.extend(employee.sandbox_write.iter().cloned());
    Some(Plan {
        mode: employee.sandbox,
        network: employee.sandbox_network,
        fallback: employee.sandbox_fallback,
        read,
        write,
        home: home.map(Path::to_path_buf),
        tmp_parent: std::env::temp_dir(),
        env: needs.env,
        state,
        seed,
    })
}

/// The folders an agent program lives in: for a program inside an npm package, the whole
/// `node_modules` tree it came from (its dependencies and vendored binaries) and the Node.js
/// its `#!` line asks for; otherwise the program's own folder.
fn installation(program: &Path) -> Vec<PathBuf> {
    let real = program
        .canonicalize()
        .unwrap_or_else(|_| program.to_path_buf());
    let mut out = Vec::new();
    if let Some(modules) = real
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "node_modules"))
    {
        out.push(modules.to_path_buf());
    } else if let Some(dir) = real.parent() {
        out.push(dir.to_path_buf());
    }
    // Also the folder of the name that was found on PATH (a bin/ of symlinks).
    if let Some(dir) = program.parent() {
        out.push(dir.to_path_buf());
    }
    if let Some(interpreter) = shebang_program(&real)
        && let Ok(found) = crate::agent::spawn::resolve_program(&interpreter)
    {
        let found = found.canonicalize().unwrap_or(found);
        // <prefix>/bin/node → <prefix> (its lib/ holds the runtime's own modules).
        if let Some(prefix) = found.parent().and_then(Path::parent) {
            out.push(prefix.to_path_buf());
        }
    }
    out
}

/// The interpreter a script's `#!` line names (`#!/usr/bin/env node` → `node`).
fn shebang_program(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let line = std::str::from_utf8(&head[..n]).ok()?.lines().next()?;
    let rest = line.strip_prefix("#!")?.trim();
    let mut words = rest.split_whitespace();
    let first = words.next()?;
    let program = if first.ends_with("/env") {
        words.find(|w| !w.starts_with('-'))?
    } else {
        first
    };
    Some(program.to_string())
}

impl Plan {
    /// The rules as applied to one run, in plain words for the run's timeline.
    pub fn describe(&self, support: &Support) -> String {
        let mut s = format!("🛡 Sandbox: {}", self.mode.as_str());
        if support.available() {
            s.push_str(&format!(" (Landlock ABI {})", support.abi));
        }
        s.push_str(match self.mode {
            SandboxMode::Strict => {
                " — writes only in the workspace, its own state and a private temporary folder; reads the system and the workspace, not your home folder"
            }
            SandboxMode::Workspace => {
                " — writes only in the workspace, its own state and a private temporary folder; reads your files"
            }
            SandboxMode::Off => "",
        });
        if self.network != NetworkRule::Open {
            s.push_str("; ");
            s.push_str(self.network.describe());
            if !support.network() {
                s.push_str(" (not enforced: this kernel has no network rules)");
            }
        }
        if let Some(w) = crate::agent::contain::warning() {
            s.push_str(". ");
            s.push_str(w);
        }
        s
    }

    /// `path` as a person reads it (`~/.bashrc`).
    pub fn show(&self, path: &Path) -> String {
        match &self.home {
            Some(h) => match path.strip_prefix(h) {
                Ok(rest) => format!("~/{}", rest.display()),
                Err(_) => path.display().to_string(),
            },
            None => path.display().to_string(),
        }
    }

    fn covers(list: &[PathBuf], path: &Path) -> bool {
        list.iter().any(|p| path.starts_with(p))
    }

    pub fn may_read(&self, path: &Path) -> bool {
        Self::covers(&self.read, path) || Self::covers(&self.write, path)
    }

    pub fn may_write(&self, path: &Path) -> bool {
        Self::covers(&self.write, path)
    }
}

/// An access the sandbox refused, as found in the agent's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub path: PathBuf,
    /// Whether the refused access was a write (`None`: cannot tell).
    pub writing: Option<bool>,
}

impl Denial {
    /// "🛡 Blocked: writing ~/.bashrc".
    pub fn line(&self, plan: &Plan) -> String {
        format!(
            "🛡 Blocked: {} {}",
            match self.writing {
                Some(true) => "writing",
                Some(false) => "reading",
                None => "opening",
            },
            plan.show(&self.path)
        )
    }
}

/// What a tool call does to files, from its name, to word a refused access.
pub fn tool_writes(tool: &str) -> Option<bool> {
    match tool {
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" | "write_file" | "replace" => Some(true),
        "Read" | "Glob" | "Grep" | "LS" | "read_file" | "read_many_files" | "glob" => Some(false),
        _ => None,
    }
}

/// Refused file accesses in a piece of the agent's output (a stream line, its error output):
/// "EACCES: permission denied, open '/home/a/.bashrc'", "Permission denied: '/x'",
/// "/x: Permission denied", "[Errno 13] …". Only paths outside what the plan allows count (a
/// permission problem inside the workspace is not the sandbox's doing), and only paths on
/// the same line as the error, near it: a long tool result that mentions a permission error
/// once does not make every path in it a refusal. At most [`MAX_DENIALS_PER_TEXT`].
///
/// `writing` is what the tool call behind the text does, when known; otherwise a path the
/// plan lets the agent read can only have been refused for a write.
pub fn denials(text: &str, plan: &Plan, writing: Option<bool>) -> Vec<Denial> {
    let mut out: Vec<Denial> = Vec::new();
    for (start, end) in error_spans(text) {
        for path in absolute_paths(&text[start..end]) {
            let path = PathBuf::from(path);
            if plan.may_write(&path) {
                continue;
            }
            let d = Denial {
                writing: writing.or(plan.may_read(&path).then_some(true)),
                path,
            };
            if !out.contains(&d) {
                out.push(d);
                if out.len() >= MAX_DENIALS_PER_TEXT {
                    return out;
                }
            }
        }
    }
    out
}

/// Most refused accesses read from one piece of output.
pub const MAX_DENIALS_PER_TEXT: usize = 16;
/// How far from the error a path may be, on its line.
const NEAR_ERROR: usize = 512;
/// Words of a refused access, lower case.
const ERROR_WORDS: [&str; 3] = ["permission denied", "eacces", "operation not permitted"];

/// Where the permission errors are in `text`: for each (up to [`MAX_DENIALS_PER_TEXT`]),
/// its line (a line break, or the `\n` escape of a JSON string, ends it), at most
/// [`NEAR_ERROR`] bytes on either side, cut between words. Reads `text` in pieces, so a
/// line of megabytes is never copied whole.
fn error_spans(text: &str) -> Vec<(usize, usize)> {
    const PIECE: usize = 64 * 1024;
    const OVERLAP: usize = 32; // longer than any error word
    let mut marks: Vec<(usize, usize)> = Vec::new();
    let mut lower = String::new();
    let mut from = 0;
    // Two words per error at most ("EACCES: permission denied").
    while from < text.len() && marks.len() < 2 * MAX_DENIALS_PER_TEXT {
        let mut to = (from + PIECE + OVERLAP).min(text.len());
        while !text.is_char_boundary(to) {
            to += 1;
        }
        lower.clear();
        lower.push_str(&text[from..to]);
        lower.make_ascii_lowercase();
        for word in ERROR_WORDS {
            for (at, _) in lower.match_indices(word) {
                let at = from + at;
                if marks.len() < 2 * MAX_DENIALS_PER_TEXT && !marks.iter().any(|(m, _)| *m == at) {
                    marks.push((at, at + word.len()));
                }
            }
        }
        from = to.saturating_sub(OVERLAP).max(from + 1);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        if to == text.len() {
            break;
        }
    }
    marks.sort_unstable();
    let bytes = text.as_bytes();
    // The length of the line break at `i`: a newline, or the `\n` escape in a JSON string.
    let line_break = |i: usize| match bytes[i] {
        b'\n' => Some(1),
        b'\\' if bytes.get(i + 1) == Some(&b'n') => Some(2),
        _ => None,
    };
    let breaks = |i: usize| line_break(i).is_some();
    let cut = |i: usize| matches!(bytes[i], b' ' | b'\'' | b'"' | b'`' | b'\t');
    marks
        .into_iter()
        .map(|(at, end)| {
            let floor = at.saturating_sub(NEAR_ERROR);
            let mut start = (floor..at)
                .rev()
                .find_map(|i| line_break(i).map(|n| i + n))
                .unwrap_or(floor);
            if start == floor && floor > 0 {
                // Cut by distance: start at a word's edge, never inside a path.
                start = (floor..at).find(|i| cut(*i)).unwrap_or(at);
            }
            let ceil = (end + NEAR_ERROR).min(text.len());
            let mut stop = (end..ceil).find(|i| breaks(*i)).unwrap_or(ceil);
            if stop == ceil && ceil < text.len() {
                // A path that runs past the limit is read to its end (at most PATH_MAX).
                let far = (ceil + 4096).min(text.len());
                stop = (ceil..far).find(|i| cut(*i) || breaks(*i)).unwrap_or(far);
            }
            while !text.is_char_boundary(start) {
                start += 1;
            }
            while !text.is_char_boundary(stop) {
                stop -= 1;
            }
            (start, stop.max(start))
        })
        .collect()
}

/// Absolute paths near a permission error: quoted ('…', "…", `…`) or followed by ": ".
fn absolute_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // JSON lines escape quotes and slashes; read them as plain text.
    let text = text.replace("\\\"", "\"").replace("\\/", "/");
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/'
            && (i == 0
                || matches!(
                    bytes[i - 1],
                    b'\'' | b'"' | b'`' | b' ' | b'(' | b'\n' | b'\t'
                ))
        {
            let start = i;
            let mut end = i;
            // A path ends at a quote, a blank, a bracket, or ": " / ", " (error punctuation).
            let ends = |at: usize| -> bool {
                let c = bytes[at];
                let punct_then_space =
                    matches!(c, b':' | b',') && bytes.get(at + 1).is_some_and(|n| *n == b' ');
                punct_then_space
                    || matches!(c, b'\'' | b'"' | b'`' | b' ' | b')' | b'\n' | b'\t' | b'\\')
            };
            while end < bytes.len() && !ends(end) {
                end += 1;
            }
            let p = &text[start..end];
            let p = p.trim_end_matches(['.', ',', ':', ';']);
            if p.len() > 1 && !out.iter().any(|o: &String| o == p) {
                out.push(p.to_string());
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// A run's private temporary folder (TMPDIR), removed when dropped.
#[derive(Debug)]
pub struct RunTmp {
    path: PathBuf,
}

impl RunTmp {
    /// Creates `<parent>/delegate-run-<random>` readable by the user only.
    pub fn create(parent: &Path) -> Result<Self, SandboxError> {
        use std::os::unix::fs::DirBuilderExt;
        let mut last = None;
        for _ in 0..8 {
            let path = parent.join(format!("delegate-run-{}", uuid::Uuid::new_v4().simple()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(Self { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(SandboxError::Prepare { path, source: e }),
            }
        }
        Err(SandboxError::Prepare {
            path: parent.to_path_buf(),
            source: last.unwrap_or_else(|| std::io::Error::other("no free name")),
        })
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunTmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A sandbox built in Delegate's process, ready to be applied in the agent's child (by
/// [`crate::agent::contain::Launch`], which also enters the namespaces).
pub struct Prepared {
    #[cfg(target_os = "linux")]
    fd: std::os::fd::OwnedFd,
    #[cfg(target_os = "linux")]
    cover: Option<imp::Cover>,
    /// The read rights `/proc` gets when the run mounts its own (`None`: not readable).
    #[cfg(target_os = "linux")]
    proc_read: Option<u64>,
}

#[cfg(target_os = "linux")]
impl Prepared {
    /// Whether folders of the session are to be covered (which needs a mount namespace).
    pub(crate) fn covers(&self) -> bool {
        self.cover.is_some()
    }
    /// In the child, in its own mount namespace: covers the session's folders.
    pub(crate) fn cover(&self) {
        if let Some(c) = &self.cover {
            c.mount();
        }
    }
    /// In the child, last before exec: Landlock (see `imp::restrict`).
    pub(crate) fn restrict(&self, fresh_proc: bool) -> std::io::Result<()> {
        imp::restrict(self, fresh_proc)
    }
}

/// Builds the Landlock ruleset for `plan` plus the run's private `tmp` folder.
/// `Ok(None)`: the machine cannot sandbox and the plan allows running without.
pub fn prepare(plan: &Plan, tmp: &Path) -> Result<Option<Prepared>, SandboxError> {
    prepare_on(plan, tmp, &support())
}

/// [`prepare`] on a machine that offers `support`: the agent's state folders are made ready
/// either way; without Landlock the employee's fallback decides.
pub fn prepare_on(
    plan: &Plan,
    tmp: &Path,
    support: &Support,
) -> Result<Option<Prepared>, SandboxError> {
    use std::os::unix::fs::DirBuilderExt;
    for dir in &plan.state {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| SandboxError::Prepare {
                    path: dir.clone(),
                    source,
                })?;
        }
    }
    for (from, to) in &plan.seed {
        if from.is_file() && !to.exists() {
            std::fs::copy(from, to).map_err(|source| SandboxError::Prepare {
                path: to.clone(),
                source,
            })?;
        }
    }
    if !support.available() {
        return match plan.fallback {
            Fallback::Refuse => Err(SandboxError::Unavailable {
                reason: support.missing.clone().unwrap_or_default(),
            }),
            Fallback::Unsandboxed => Ok(None),
        };
    }
    imp::build(plan, tmp)
}

#[cfg(target_os = "linux")]
mod imp {
    use super::*;
    use landlock::{
        ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, Ruleset, RulesetAttr,
        RulesetCreatedAttr, Scope, path_beneath_rules,
    };

    /// The newest ABI whose rights Delegate asks for; older kernels get what they support.
    const TARGET: ABI = ABI::V6;

    #[allow(unsafe_code)]
    pub fn support() -> Support {
        // SAFETY: landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) only
        // returns the ABI version (or an error); it reads no memory.
        let v = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<libc::c_void>(),
                0usize,
                1u32,
            )
        };
        if v > 0 {
            Support {
                abi: v as i32,
                missing: None,
                hides_session: user_namespaces(),
            }
        } else {
            let why = match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EOPNOTSUPP) => {
                    "Landlock is built into this kernel but turned off (add \"landlock\" to the lsm= boot parameter)"
                }
                _ => {
                    "this kernel has no Landlock (Linux 5.13 or newer with CONFIG_SECURITY_LANDLOCK)"
                }
            };
            Support {
                abi: 0,
                missing: Some(why.into()),
                hides_session: false,
            }
        }
    }

    /// Whether this process may create a user + mount namespace (asked once, in a child).
    #[allow(unsafe_code)]
    fn user_namespaces() -> bool {
        static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *ANSWER.get_or_init(|| {
            use std::os::unix::process::CommandExt;
            let mut c = std::process::Command::new("/bin/true");
            c.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            // SAFETY: unshare(2) is async-signal-safe; nothing is allocated in the child.
            unsafe {
                c.pre_exec(|| {
                    if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            c.status().is_ok_and(|s| s.success())
        })
    }

    /// What the agent's child does before Landlock, inside the user and mount namespace it
    /// entered ([`crate::agent::contain`]): the session's runtime folder (`$XDG_RUNTIME_DIR`:
    /// the D-Bus session bus with the keyring's Secret Service, Wayland, PulseAudio), the X11
    /// socket folder and the socket folders of tmux and Codex's app-server are covered by
    /// empty, read-only tmpfs mounts. Landlock cannot refuse
    /// connecting to a Unix socket named by a path; a socket that is not there cannot be
    /// connected to. All strings are prepared here, in the parent: the child only makes
    /// system calls.
    pub struct Cover {
        dirs: Vec<std::ffi::CString>,
        tmpfs: std::ffi::CString,
        options: std::ffi::CString,
    }

    impl Cover {
        pub fn for_this_session(plan: &Plan) -> Option<Self> {
            if !user_namespaces() {
                return None;
            }
            use std::ffi::CString;
            use std::os::unix::ffi::OsStrExt;
            let uid = nix::unistd::getuid();
            let mut dirs: Vec<PathBuf> = Vec::new();
            if let Some(rt) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
                dirs.push(rt);
            }
            dirs.push(PathBuf::from(format!("/run/user/{uid}")));
            dirs.push(PathBuf::from("/tmp/.X11-unix"));
            // Servers that run commands for whoever reaches their socket: tmux (its sockets
            // in $TMUX_TMPDIR or /tmp) and Codex's app-server (which Codex's own sandbox
            // hides for the same reason).
            let tmux = std::env::var_os("TMUX_TMPDIR")
                .filter(|d| !d.is_empty())
                .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
            dirs.push(tmux.join(format!("tmux-{uid}")));
            dirs.push(PathBuf::from(format!("/tmp/codex-daemon-{uid}")));
            dirs.sort();
            dirs.dedup();
            // Never over a folder the agent is meant to use.
            dirs.retain(|d| {
                d.is_dir()
                    && !plan
                        .write
                        .iter()
                        .any(|w| w.starts_with(d) || d.starts_with(w))
            });
            let dirs: Vec<CString> = dirs
                .iter()
                .filter_map(|d| CString::new(d.as_os_str().as_bytes()).ok())
                .collect();
            Some(Self {
                dirs,
                tmpfs: CString::new("tmpfs").ok()?,
                options: CString::new("size=4k,mode=555").ok()?,
            })
        }

        /// In the child, in its own mount namespace: cover the folders. Best effort: a mount
        /// the kernel refuses leaves the rest of the sandbox in place.
        #[allow(unsafe_code)]
        pub fn mount(&self) {
            for d in &self.dirs {
                // SAFETY: mount(2) with NUL-terminated strings prepared in the parent; no
                // allocation, no lock.
                unsafe {
                    libc::mount(
                        self.tmpfs.as_ptr(),
                        d.as_ptr(),
                        self.tmpfs.as_ptr(),
                        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RDONLY,
                        self.options.as_ptr().cast(),
                    );
                }
            }
        }
    }

    /// `struct landlock_path_beneath_attr` of the kernel's uapi.
    #[repr(C, packed)]
    struct PathBeneath {
        allowed_access: u64,
        parent_fd: i32,
    }
    const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;

    /// In the child, last before exec: Landlock for this process and all it starts. With
    /// `fresh_proc` the run's PID namespace mounted its own `/proc` after the rules were
    /// built (they name the old one), so `/proc` gets its read rule again.
    #[allow(unsafe_code)]
    pub fn restrict(p: &Prepared, fresh_proc: bool) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: system calls on a descriptor opened in the parent and on a path literal;
        // no allocation, no lock.
        unsafe {
            if fresh_proc && let Some(access) = p.proc_read {
                let dir = libc::open(c"/proc".as_ptr(), libc::O_PATH | libc::O_CLOEXEC);
                if dir < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let rule = PathBeneath {
                    allowed_access: access,
                    parent_fd: dir,
                };
                let r = libc::syscall(
                    libc::SYS_landlock_add_rule,
                    p.fd.as_raw_fd(),
                    LANDLOCK_RULE_PATH_BENEATH,
                    &rule as *const PathBeneath,
                    0u32,
                );
                libc::close(dir);
                if r != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::syscall(libc::SYS_landlock_restrict_self, p.fd.as_raw_fd(), 0u32) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }

    pub fn build(plan: &Plan, tmp: &Path) -> Result<Option<Prepared>, SandboxError> {
        let build = |e: &dyn std::fmt::Display| SandboxError::Build(e.to_string());
        let read = AccessFs::from_read(TARGET);
        let all = AccessFs::from_all(TARGET);
        // Best effort: an older kernel enforces what it supports (the run records the ABI).
        let mut ruleset = Ruleset::default()
            .set_compatibility(CompatLevel::BestEffort)
            .handle_access(all)
            .map_err(|e| build(&e))?;
        if plan.network != NetworkRule::Open {
            ruleset = ruleset
                .handle_access(AccessNet::ConnectTcp)
                .map_err(|e| build(&e))?;
        }
        let ruleset = ruleset
            .scope(Scope::AbstractUnixSocket | Scope::Signal)
            .map_err(|e| build(&e))?;
        let existing = |list: &[PathBuf]| -> Vec<PathBuf> {
            list.iter().filter(|p| p.exists()).cloned().collect()
        };
        let mut created = ruleset
            .create()
            .map_err(|e| build(&e))?
            .add_rules(path_beneath_rules(existing(&plan.read), read))
            .map_err(|e| build(&e))?
            .add_rules(path_beneath_rules(existing(&plan.write), all))
            .map_err(|e| build(&e))?
            .add_rules(path_beneath_rules([tmp], all))
            .map_err(|e| build(&e))?;
        if plan.network == NetworkRule::Https {
            created = created
                .add_rule(NetPort::new(443, AccessNet::ConnectTcp))
                .map_err(|e| build(&e))?;
        }
        let fd: Option<std::os::fd::OwnedFd> = created.into();
        match fd {
            Some(fd) => Ok(Some(Prepared {
                fd,
                cover: Cover::for_this_session(plan),
                // The read rights of ABI 1, which every kernel with Landlock handles.
                proc_read: plan
                    .may_read(Path::new("/proc"))
                    .then(|| AccessFs::from_read(ABI::V1).bits()),
            })),
            None => match plan.fallback {
                Fallback::Refuse => Err(SandboxError::Unavailable {
                    reason: "the kernel refused to create a Landlock ruleset".into(),
                }),
                Fallback::Unsandboxed => Ok(None),
            },
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;

    pub fn support() -> Support {
        Support {
            abi: 0,
            missing: Some("the OS sandbox needs Linux (Landlock)".into()),
            hides_session: false,
        }
    }

    pub fn build(plan: &Plan, _tmp: &Path) -> Result<Option<Prepared>, SandboxError> {
        match plan.fallback {
            Fallback::Refuse => Err(SandboxError::Unavailable {
                reason: support().missing.unwrap_or_default(),
            }),
            Fallback::Unsandboxed => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_for(mode: SandboxMode) -> Plan {
        let mut e = Employee::new(
            "W",
            crate::config::SourceKind::Local,
            PathBuf::from("/home/a/ws"),
        );
        e.sandbox = mode;
        plan(&e, Path::new("/usr/bin/true"), Some(Path::new("/home/a"))).unwrap()
    }

    #[test]
    fn strict_reads_the_system_not_the_home_folder() {
        let p = plan_for(SandboxMode::Strict);
        assert!(p.may_read(Path::new("/usr/lib/x.so")));
        assert!(p.may_read(Path::new("/home/a/ws/notes.md")));
        assert!(p.may_write(Path::new("/home/a/ws/drafts/x.md")));
        assert!(p.may_write(Path::new("/home/a/.claude/settings.json")));
        assert!(!p.may_read(Path::new("/home/a/.ssh/id_ed25519")));
        assert!(!p.may_write(Path::new("/home/a/.bashrc")));
        assert!(p.may_read(Path::new("/home/a/.gitconfig")));
        let w = plan_for(SandboxMode::Workspace);
        assert!(w.may_read(Path::new("/home/a/.ssh/id_ed25519")));
        assert!(!w.may_write(Path::new("/home/a/.bashrc")));
        let mut e = Employee::new("W", crate::config::SourceKind::Local, "/w".into());
        e.sandbox = SandboxMode::Off;
        assert!(plan(&e, Path::new("/usr/bin/true"), None).is_none());
    }

    #[test]
    fn denials_are_found_in_what_agents_print() {
        let p = plan_for(SandboxMode::Strict);
        let node = r#"{"type":"user","message":{"content":[{"type":"tool_result","is_error":true,"content":"EACCES: permission denied, open '/home/a/.bashrc'"}]}}"#;
        assert_eq!(
            denials(node, &p, Some(true))
                .iter()
                .map(|d| d.line(&p))
                .collect::<Vec<_>>(),
            ["🛡 Blocked: writing ~/.bashrc"]
        );
        let bash = "bash: line 1: /etc/hosts: Permission denied";
        assert_eq!(
            denials(bash, &p, None)[0].line(&p),
            "🛡 Blocked: writing /etc/hosts"
        );
        let py = "PermissionError: [Errno 13] Permission denied: '/home/a/.ssh/id_ed25519'";
        assert_eq!(
            denials(py, &p, None)[0].line(&p),
            "🛡 Blocked: opening ~/.ssh/id_ed25519"
        );
        // Inside the workspace a permission error is not the sandbox's doing.
        assert!(denials("open '/home/a/ws/x': Permission denied", &p, None).is_empty());
        assert!(denials("wrote /home/a/.bashrc", &p, None).is_empty());
    }

    #[test]
    fn only_paths_near_the_error_count_and_a_huge_text_is_read_in_pieces() {
        let p = plan_for(SandboxMode::Strict);
        // A long tool result: paths everywhere, one permission error on its own line.
        let mut text = String::new();
        for i in 0..200_000 {
            text.push_str(&format!("see /home/a/notes/{i}.md for details\\n"));
        }
        text.push_str("mkdir: cannot create directory '/home/a/.cache/x': Permission denied\\n");
        text.push_str(&"tail of the file /home/a/other.md\\n".repeat(1000));
        let found: Vec<String> = denials(&text, &p, None)
            .iter()
            .map(|d| d.line(&p))
            .collect();
        assert_eq!(found, ["🛡 Blocked: opening ~/.cache/x"]);

        // Far from the error on a very long line: a path cut by distance is not misread.
        let long = format!(
            "/home/a/.far/{}{} EACCES: permission denied, open '/home/a/.near'{} /home/a/.after",
            "x/".repeat(2000),
            " y".repeat(10),
            " y".repeat(2000)
        );
        let found: Vec<String> = denials(&long, &p, Some(false))
            .iter()
            .map(|d| d.line(&p))
            .collect();
        assert_eq!(found, ["🛡 Blocked: reading ~/.near"]);

        // An error word across two pieces, and many errors in one text: bounded.
        let mut across = "z".repeat(64 * 1024 - 7);
        across.push_str("Permission denied: '/home/a/.split'");
        assert_eq!(
            denials(&across, &p, None)[0].line(&p),
            "🛡 Blocked: opening ~/.split"
        );
        let many: String = (0..1000)
            .map(|i| format!("EACCES: permission denied, open '/home/a/.f{i}'\n"))
            .collect();
        assert_eq!(denials(&many, &p, None).len(), MAX_DENIALS_PER_TEXT);
    }

    #[test]
    fn a_machine_without_landlock_refuses_or_runs_unsandboxed_as_told() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut e = Employee::new("W", crate::config::SourceKind::Local, dir.path().join("ws"));
        e.agent = crate::config::AgentKind::Codex;
        let none = Support {
            abi: 0,
            missing: Some("this kernel has no Landlock".into()),
            hides_session: false,
        };
        let plan = plan(&e, Path::new("/usr/bin/true"), Some(&home)).unwrap();
        match prepare_on(&plan, dir.path(), &none) {
            Err(SandboxError::Unavailable { reason }) => {
                assert_eq!(reason, "this kernel has no Landlock")
            }
            other => panic!("{:?}", other.map(|p| p.is_some())),
        }
        // The agent's state folder is ready either way.
        assert!(home.join(".codex").is_dir());
        e.sandbox_fallback = Fallback::Unsandboxed;
        let plan = super::plan(&e, Path::new("/usr/bin/true"), Some(&home)).unwrap();
        assert!(prepare_on(&plan, dir.path(), &none).unwrap().is_none());
        assert!(matches!(
            check(&e, &none).as_slice(),
            [Check::Note(n)] if n.contains("WITHOUT an OS sandbox")
        ));
        e.sandbox_fallback = Fallback::Refuse;
        assert!(matches!(
            check(&e, &none).as_slice(),
            [Check::Problem { fix, .. }] if fix.contains("sandbox_fallback")
        ));
    }

    #[test]
    fn settings_parse_from_their_config_names() {
        assert_eq!("https".parse::<NetworkRule>(), Ok(NetworkRule::Https));
        assert_eq!("off".parse::<SandboxMode>(), Ok(SandboxMode::Off));
        assert_eq!("unsandboxed".parse::<Fallback>(), Ok(Fallback::Unsandboxed));
        let err = "bogus".parse::<SandboxMode>().unwrap_err();
        assert!(err.contains("`strict`, `workspace`, `off`"), "{err}");
    }

    #[test]
    fn scripts_name_their_interpreter() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path().join("cli.js");
        std::fs::write(&s, "#!/usr/bin/env -S node --no-warnings\nconsole.log(1)\n").unwrap();
        assert_eq!(shebang_program(&s).as_deref(), Some("node"));
        std::fs::write(&s, "#!/bin/sh\n").unwrap();
        assert_eq!(shebang_program(&s).as_deref(), Some("/bin/sh"));
        std::fs::write(&s, "\x7fELF").unwrap();
        assert_eq!(shebang_program(&s), None);
    }
}
