//! The sandbox's policy: what each mode lets an agent touch, in the words the form, the
//! employee card, `doctor` and a run's timeline use, and the plan of one run.

use super::kernel::{Support, support};
use crate::config::Employee;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub use crate::config::{Fallback, NetworkRule, SandboxMode};

impl SandboxMode {
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
    pub fn describe(self) -> &'static str {
        match self {
            Self::Open => "any network connection",
            Self::Https => "network: HTTPS (port 443) only",
            Self::None => "no network",
        }
    }
}

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

/// What an agent needs from the home folder inside its OS sandbox (each agent file says it):
/// the state it writes (login, settings, sessions), what it only reads, and variables that
/// keep its state inside those folders. Only what it needs — never the home folder itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxNeeds {
    pub write: Vec<PathBuf>,
    pub read: Vec<PathBuf>,
    pub env: Vec<(String, String)>,
    /// Files copied (`from`, `to`) before the first sandboxed run, when `to` is missing:
    /// state the agent keeps outside its folders, which it must find inside them.
    pub seed: Vec<(PathBuf, PathBuf)>,
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
pub fn plan(
    employee: &Employee,
    needs: SandboxNeeds,
    workspace_writable: bool,
    program: &Path,
    home: Option<&Path>,
) -> Option<Plan> {
    if employee.sandbox == SandboxMode::Off {
        return None;
    }
    let mut read: Vec<PathBuf> = match employee.sandbox {
        SandboxMode::Workspace => vec![PathBuf::from("/")],
        _ => SYSTEM_READ.iter().map(PathBuf::from).collect(),
    };
    read.extend(installation(program));
    if let Some(h) = home {
        read.extend(HOME_READ.iter().map(|p| h.join(p)));
    }
    read.extend(needs.read);
    read.extend(employee.sandbox_read.iter().cloned());
    let mut write: Vec<PathBuf> = DEVICES_WRITE.iter().map(PathBuf::from).collect();
    if workspace_writable {
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
        && let Some(found) = find_program(&interpreter)
    {
        let found = found.canonicalize().unwrap_or(found);
        // <prefix>/bin/node → <prefix> (its lib/ holds the runtime's own modules).
        if let Some(prefix) = found.parent().and_then(Path::parent) {
            out.push(prefix.to_path_buf());
        }
    }
    out
}

/// A program by path, or by name on PATH.
fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    which::which(name).ok()
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
        if let Some(w) = super::contain::warning() {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A plan for an employee with its workspace in `/home/a/ws` and an agent that keeps its
    /// state in `/home/a/.claude` (the sandbox tests' shared fixture).
    pub(crate) fn plan_for(mode: SandboxMode) -> Plan {
        let mut e = Employee::new(
            "W",
            crate::config::SourceKind::Local,
            PathBuf::from("/home/a/ws"),
        );
        e.sandbox = mode;
        let needs = SandboxNeeds {
            write: vec![PathBuf::from("/home/a/.claude")],
            ..Default::default()
        };
        plan(
            &e,
            needs,
            true,
            Path::new("/usr/bin/true"),
            Some(Path::new("/home/a")),
        )
        .unwrap()
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
        assert!(
            plan(
                &e,
                SandboxNeeds::default(),
                true,
                Path::new("/usr/bin/true"),
                None
            )
            .is_none()
        );
    }

    #[test]
    fn an_agent_that_may_only_read_its_workspace_gets_it_read_only() {
        let e = Employee::new("W", crate::config::SourceKind::Local, PathBuf::from("/w"));
        let p = plan(
            &e,
            SandboxNeeds::default(),
            false,
            Path::new("/usr/bin/true"),
            None,
        )
        .unwrap();
        assert!(p.may_read(Path::new("/w/a.md")) && !p.may_write(Path::new("/w/a.md")));
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
