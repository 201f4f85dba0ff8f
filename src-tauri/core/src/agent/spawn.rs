//! Runs an agent CLI as a child process: argv as a list (never a shell), its own process
//! group, stdin from /dev/null, stdout and stderr read while it runs, a filtered environment,
//! and on timeout or cancel TERM to the whole group, a grace period, then KILL. On Linux the
//! child also gets SIGKILL if Delegate itself dies, and where the machine allows it the run
//! has a PID namespace of its own, so that every process it started ends with it
//! ([`super::contain`]).

use super::lines::{BoundedLines, LineRead, Tail};
use crate::secrets::Secret;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Longest stdout line kept; a longer one is cut.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;
/// The end of the agent's error output that is kept (about the last 50 lines).
pub const STDERR_TAIL_BYTES: usize = 4096;
/// Stdout read ahead of its handling (lines waiting, and the one being handled): an agent
/// that writes faster than its lines are handled waits on the pipe, it does not fill memory.
/// A longer line takes it all (and is alone in flight).
const READ_AHEAD_BYTES: usize = 1024 * 1024;
/// After the agent exits, how long its leftovers may keep stdout open before we stop reading.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error(
        "agent CLI \"{program}\" not found{detail}; install it or set `command` to its full path"
    )]
    NotFound { program: String, detail: String },
    #[error("workspace folder {path} does not exist; create it or fix `workspace`")]
    NoWorkspace { path: PathBuf },
    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),
    #[error("cannot start \"{program}\": {source}")]
    Io {
        program: String,
        source: std::io::Error,
    },
}

/// Everything needed to start one agent process.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// Variables removed from the inherited environment.
    pub remove_env: Vec<String>,
    /// Any variable whose value contains one of these is removed too.
    pub scrub_values: Vec<Secret>,
    pub timeout: Duration,
    pub grace: Duration,
    /// Set as [`crate::sandbox::reap::RUN_MARKER`] in the agent's environment (inherited by all it
    /// starts), so leftovers can be found after a crash.
    pub marker: Option<String>,
    /// Written to the agent's stdin, which is then closed (else stdin is /dev/null).
    pub stdin: Option<String>,
    /// Variables set for the agent (never secrets).
    pub set_env: Vec<(String, String)>,
    /// The OS sandbox the agent runs in (`None`: none).
    pub sandbox: Option<crate::sandbox::Plan>,
}

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    TimedOut,
    Cancelled,
}

#[derive(Debug, Clone)]
pub struct ProcessOutcome {
    pub exit: Exit,
    pub stderr_tail: String,
}

/// Finds the program: a path is checked as given, a bare name is looked up on PATH.
pub fn resolve_program(program: &str) -> Result<PathBuf, SpawnError> {
    let not_found = |detail: String| SpawnError::NotFound {
        program: program.to_string(),
        detail,
    };
    if program.contains(std::path::MAIN_SEPARATOR) {
        let p = PathBuf::from(program);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(not_found(" at that path".into()))
        };
    }
    which::which(program).map_err(|_| not_found(" on PATH".into()))
}

/// Secrets shorter than this are not looked for in other variables' values: they would
/// match unrelated ones (a real token is 40 characters). Their own variables still go.
const MIN_SCRUBBED_SECRET: usize = 8;

/// The environment of every child Delegate starts — agents, login checks, version probes,
/// `doctor`'s probes: Delegate's own environment without what is Delegate's and no child's
/// business. Gone are every `DELEGATE_*` variable (its settings and run markers),
/// every source's token variable (`TODOIST_API_TOKEN`, `GITHUB_TOKEN`, …), the names in
/// `remove`, and every variable whose value contains a secret: one in `scrub`, one this
/// process holds ([`crate::secrets::held`]) or the value of a token variable (a copy of the
/// token under another name). Callers clear the child's
/// environment first (`env_clear`) and set exactly this.
pub fn child_env(remove: &[String], scrub: &[Secret]) -> Vec<(OsString, OsString)> {
    env_for_child(std::env::vars_os().collect(), remove, scrub)
}

fn env_for_child(
    vars: Vec<(OsString, OsString)>,
    remove: &[String],
    scrub: &[Secret],
) -> Vec<(OsString, OsString)> {
    let mut secrets: Vec<Secret> = scrub.to_vec();
    secrets.extend(crate::secrets::held());
    secrets.extend(
        vars.iter()
            .filter(|(k, _)| is_token_variable(&k.to_string_lossy()))
            .map(|(_, v)| Secret::new(v.to_string_lossy().trim())),
    );
    let secrets: Vec<&str> = secrets
        .iter()
        .map(|s| s.expose().trim())
        .filter(|s| s.len() >= MIN_SCRUBBED_SECRET)
        .collect();
    vars.into_iter()
        .filter(|(key, value)| {
            let key = key.to_string_lossy();
            let value = value.to_string_lossy();
            !(key.starts_with("DELEGATE_")
                || is_token_variable(&key)
                || remove.iter().any(|r| r == key.as_ref())
                || secrets.iter().any(|s| value.contains(s)))
        })
        .collect()
}

/// A variable that carries a source's token (`TODOIST_API_TOKEN`, `GITHUB_TOKEN`, …).
fn is_token_variable(key: &str) -> bool {
    crate::source::SOURCES
        .iter()
        .filter_map(|s| s.token_env)
        .any(|name| name == key)
}

/// Runs `inv`, calling `on_spawn` with the process group id once it started and `on_line` for
/// each stdout line as it arrives.
pub async fn run(
    inv: &Invocation,
    cancel: &CancellationToken,
    on_spawn: impl FnOnce(i32),
    mut on_line: impl FnMut(LineRead),
) -> Result<ProcessOutcome, SpawnError> {
    if !inv.cwd.is_dir() {
        return Err(SpawnError::NoWorkspace {
            path: inv.cwd.clone(),
        });
    }
    let path = resolve_program(&inv.program)?;
    let mut cmd = Command::new(&path);
    cmd.args(&inv.args)
        .current_dir(&inv.cwd)
        .stdin(if inv.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0)
        .env_clear()
        .envs(child_env(&inv.remove_env, &inv.scrub_values));
    for (k, v) in &inv.set_env {
        cmd.env(k, v);
    }
    if let Some(m) = &inv.marker {
        cmd.env(crate::sandbox::reap::RUN_MARKER, m);
    }
    die_with_parent(&mut cmd);
    // The sandbox: built here, applied in the child just before exec. Its private temporary
    // folder lives as long as this run.
    let mut sandboxed = None;
    let _tmp = match &inv.sandbox {
        Some(plan) => {
            let tmp = crate::sandbox::RunTmp::create(&plan.tmp_parent)?;
            for var in ["TMPDIR", "TMP", "TEMP"] {
                cmd.env(var, tmp.path());
            }
            for (k, v) in &plan.env {
                cmd.env(k, v);
            }
            sandboxed = crate::sandbox::prepare(plan, tmp.path())?;
            Some(tmp)
        }
        None => None,
    };
    crate::sandbox::contain::Launch::new(sandboxed).apply(&mut cmd);
    let mut child = cmd.spawn().map_err(|source| SpawnError::Io {
        program: inv.program.clone(),
        source,
    })?;
    let pgid = child.id().map(|id| Pid::from_raw(id as i32));
    if let Some(g) = pgid {
        on_spawn(g.as_raw());
    }
    if let (Some(text), Some(mut input)) = (inv.stdin.clone(), child.stdin.take()) {
        // Written beside the readers, so a prompt larger than the pipe never blocks them.
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let _ = input.write_all(text.as_bytes()).await;
            let _ = input.shutdown().await;
        });
    }

    let (tx, mut rx) = mpsc::channel::<(LineRead, OwnedSemaphorePermit)>(256);
    let stdout = child.stdout.take();
    let reader = tokio::spawn(async move {
        if let Some(out) = stdout {
            read_ahead(out, tx).await;
        }
    });
    let stderr = child.stderr.take();
    let stderr_task = tokio::spawn(async move {
        let mut tail = Tail::new(STDERR_TAIL_BYTES);
        if let Some(mut err) = stderr {
            let mut buf = [0u8; 8192];
            while let Ok(n) = err.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                tail.push(&buf[..n]);
            }
        }
        tail.text()
    });

    let deadline = Instant::now() + inv.timeout;
    let mut stdout_open = true;
    let mut status: Option<std::process::ExitStatus> = None;
    let mut drain_until = Instant::now() + inv.timeout + DRAIN_AFTER_EXIT;
    let mut ended_by_us: Option<Exit> = None;
    loop {
        if status.is_some() && !stdout_open {
            break;
        }
        tokio::select! {
            line = rx.recv(), if stdout_open => match line {
                Some((l, _permit)) => on_line(l),
                None => stdout_open = false,
            },
            s = child.wait(), if status.is_none() => {
                status = Some(s.map_err(|source| SpawnError::Io { program: inv.program.clone(), source })?);
                drain_until = Instant::now() + DRAIN_AFTER_EXIT;
            },
            _ = tokio::time::sleep_until(deadline), if status.is_none() => {
                ended_by_us = Some(Exit::TimedOut);
                break;
            },
            _ = cancel.cancelled(), if status.is_none() => {
                ended_by_us = Some(Exit::Cancelled);
                break;
            },
            _ = tokio::time::sleep_until(drain_until), if status.is_some() => break,
        }
    }
    if ended_by_us.is_some() {
        terminate_group(&mut child, pgid, inv.grace).await;
        // Lines the agent wrote before it was stopped still count.
        while let Ok((l, _permit)) = rx.try_recv() {
            on_line(l);
        }
    }
    // Whatever the agent left behind in its group (background commands) goes too.
    if let Some(g) = pgid {
        let _ = killpg(g, Signal::SIGKILL);
    }
    reader.abort();
    let stderr_tail = match tokio::time::timeout(Duration::from_secs(1), stderr_task).await {
        Ok(Ok(t)) => t,
        _ => String::new(),
    };
    let exit = match (ended_by_us, status) {
        (Some(e), _) => e,
        (None, Some(s)) => exit_of(s),
        (None, None) => Exit::Cancelled,
    };
    Ok(ProcessOutcome { exit, stderr_tail })
}

/// Reads `out` line by line into `tx`. Each line travels with its share of the read-ahead
/// budget ([`READ_AHEAD_BYTES`]), given back once it is handled (its permit dropped).
async fn read_ahead(
    out: impl AsyncRead + Unpin,
    tx: mpsc::Sender<(LineRead, OwnedSemaphorePermit)>,
) {
    let budget = Arc::new(Semaphore::new(READ_AHEAD_BYTES));
    let mut lines = BoundedLines::new(BufReader::new(out), MAX_LINE_BYTES);
    while let Ok(Some(line)) = lines.next_line().await {
        let cost = line.text.capacity().clamp(1, READ_AHEAD_BYTES);
        let Ok(permit) = budget
            .clone()
            .acquire_many_owned(u32::try_from(cost).unwrap_or(u32::MAX))
            .await
        else {
            break;
        };
        if tx.send((line, permit)).await.is_err() {
            break;
        }
    }
}

fn exit_of(s: std::process::ExitStatus) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => Exit::Code(c),
        (None, Some(sig)) => Exit::Signal(sig),
        (None, None) => Exit::Code(-1),
    }
}

/// TERM to the group, up to `grace` for every member to go, then KILL; reaps the leader.
async fn terminate_group(child: &mut Child, pgid: Option<Pid>, grace: Duration) {
    let Some(g) = pgid else {
        let _ = child.kill().await;
        return;
    };
    let _ = killpg(g, Signal::SIGTERM);
    let until = Instant::now() + grace;
    while Instant::now() < until {
        let _ = child.try_wait();
        // Signal 0 only checks: ESRCH means no process of the group is left.
        if killpg(g, None).is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = killpg(g, Signal::SIGKILL);
    let _ = child.wait().await;
}

/// Asks Linux to SIGKILL the agent if Delegate dies, so a crashed app leaves no agent behind.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and only calls prctl(2),
    // which is async-signal-safe; it allocates nothing and touches no locks.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// What a short helper command printed.
#[derive(Debug, Clone)]
pub struct Captured {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program args` (stdin closed, the environment [`child_env`] gives, minus
/// `remove_env`) and captures its output, for quick checks like `claude auth status`.
/// Blocking; gives up after `timeout`.
pub fn capture(
    program: &Path,
    args: &[&str],
    remove_env: &[String],
    timeout: Duration,
) -> std::io::Result<Captured> {
    use std::io::Read;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        .envs(child_env(remove_env, &[]));
    let mut child = cmd.spawn()?;
    let read = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let mut buf = Vec::new();
                let _ = r.read_to_end(&mut buf);
                s = String::from_utf8_lossy(&buf).into_owned();
            }
            s
        })
    };
    let out = read(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = read(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let deadline = std::time::Instant::now() + timeout;
    let code = loop {
        if let Some(status) = child.try_wait()? {
            break status.code();
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {} s", timeout.as_secs()),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Captured {
        code,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// `program --version`, first line, or why it could not be read.
pub async fn version(program: &str) -> Result<String, SpawnError> {
    let path = resolve_program(program)?;
    let out = tokio::time::timeout(
        Duration::from_secs(15),
        Command::new(&path)
            .arg("--version")
            .env_clear()
            .envs(child_env(&[], &[]))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| SpawnError::Io {
        program: program.to_string(),
        source: std::io::Error::new(std::io::ErrorKind::TimedOut, "--version took over 15 s"),
    })?
    .map_err(|source| SpawnError::Io {
        program: program.to_string(),
        source,
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(super::first_line(&text, 120))
}

/// Whether `path` is inside `dir` (both made absolute and normalised without touching links
/// that do not exist yet).
pub fn is_inside(path: &Path, dir: &Path) -> bool {
    normalize(path).starts_with(normalize(dir))
}

/// Resolves `.` and `..` lexically, then canonicalises the longest existing prefix so
/// symlinked folders (like /tmp on macOS) compare equal.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    let mut existing = out.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return out,
        }
    }
    let mut base = existing.canonicalize().unwrap_or(existing);
    for name in rest.into_iter().rev() {
        base.push(name);
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    fn names(env: &[(OsString, OsString)]) -> Vec<String> {
        env.iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn no_child_gets_delegates_secrets_or_settings() {
        let token = "3f9a1c0e5b7d2e8f4a6c1b9d0e3f7a2c";
        let passed = "passed-by-the-worker-7d2e8f4a6c1b";
        let env = env_for_child(
            vars(&[
                ("PATH", "/usr/bin:/bin"),
                ("HOME", "/home/a"),
                ("TODOIST_API_TOKEN", &format!(" {token}\n")),
                ("MY_COPY", &format!("Bearer {token}")),
                ("GITHUB_TOKEN", "ghp_0e5b7d2e8f4a6c1b9d0e3f7a2c3f9a1c"),
                ("GH_COPY", "ghp_0e5b7d2e8f4a6c1b9d0e3f7a2c3f9a1c"),
                ("ANOTHER", passed),
                ("DELEGATE_HOME", "/home/a/.delegate"),
                ("DELEGATE_TODOIST_API_URL", "http://127.0.0.1:1"),
                ("DELEGATE_RUN", "old-marker"),
                ("CLAUDECODE", "1"),
                ("CLAUDE_CODE_OAUTH_TOKEN", "kept-for-the-agent"),
                ("SHORT", "abc"),
            ]),
            &["CLAUDECODE".to_string()],
            &[Secret::new(passed), Secret::new("abc")],
        );
        assert_eq!(
            names(&env),
            ["PATH", "HOME", "CLAUDE_CODE_OAUTH_TOKEN", "SHORT"]
        );
    }

    #[test]
    fn a_secret_the_process_holds_reaches_no_child() {
        let held = "held-by-the-engine-0e5b7d2e8f4a6c1b9d";
        let env = || {
            names(&env_for_child(
                vars(&[("PATH", "/bin"), ("COPY", &format!("x{held}x"))]),
                &[],
                &[],
            ))
        };
        assert_eq!(env(), ["PATH", "COPY"]);
        crate::secrets::hold(&Secret::new(held));
        assert_eq!(env(), ["PATH"]);
    }

    /// Endless lines of 300 000 bytes, counting what was read of them.
    struct Lines {
        read: Arc<AtomicUsize>,
    }

    impl AsyncRead for Lines {
        fn poll_read(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let at = self.read.load(Ordering::Relaxed);
            let n = buf.remaining().min(4096);
            let bytes: Vec<u8> = (at..at + n)
                .map(|i| if i % 300_000 == 299_999 { b'\n' } else { b'x' })
                .collect();
            buf.put_slice(&bytes);
            self.read.fetch_add(n, Ordering::Relaxed);
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_fast_agent_is_read_no_further_ahead_than_the_budget() {
        let read = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx) = mpsc::channel(256);
        let reader = tokio::spawn(read_ahead(Lines { read: read.clone() }, tx));
        // Nothing is handled: the reader runs until the budget stops it (it no longer moves
        // between two turns of this single-threaded runtime).
        let mut last = usize::MAX;
        while read.load(Ordering::Relaxed) != last {
            last = read.load(Ordering::Relaxed);
            tokio::task::yield_now().await;
        }
        assert!(
            last <= READ_AHEAD_BYTES + MAX_LINE_BYTES,
            "read {last} bytes ahead"
        );
        let (first, permit) = rx.recv().await.unwrap();
        assert_eq!(first.text.len(), 299_999);
        // A line handled gives its share back and the reader goes on.
        drop((first, permit));
        while read.load(Ordering::Relaxed) == last {
            tokio::task::yield_now().await;
        }
        reader.abort();
    }
}
