//! The window's host, in the long-lived process: it starts the window process when the
//! window is asked for, admits that one process on the window channel, answers its commands
//! (the engine's through [`crate::api`]), and sends it the engine's events and "come to the
//! front" requests. The long-lived process itself never creates a web view.
//!
//! Who may talk on the channel: the socket is in the user's runtime folder
//! ([`delegate_core::paths::runtime_dir`], mode 0700, hidden from sandboxed agents), the
//! socket itself is 0600, the peer must run as this user (its credentials come from the
//! kernel), must be the very process this host started (its pid), and must say the secret
//! the host handed it on its standard input — single use, gone once that process is in.
//! Anything else is refused with its reason, and the refusal is logged.

use super::protocol::{self, FromWindow, Launch, Outcome, ToWindow};
use crate::controller::Shell;
use delegate_core::notice::Opens;
use serde_json::Value;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use tokio::io::BufReader;
use tokio::net::UnixStream;
use tokio::sync::{Semaphore, mpsc};

/// The argument that makes `delegate-app` the window process.
pub const WINDOW_FLAG: &str = "--window";
/// Commands the channel answers itself (every other one is [`crate::api`]'s).
#[cfg(test)]
pub const OWN_COMMANDS: &[&str] = &[PAINTED];
/// The web view calls it once, after its first frame with the board drawn.
const PAINTED: &str = "window_painted";
/// How long a connection may take to introduce itself.
const HELLO_WAIT: Duration = Duration::from_secs(5);
/// How long a started window process may take to connect before the next request to open
/// the window gives up on it and starts another.
const START_WAIT: Duration = Duration::from_secs(30);
/// Connections that have not been let in yet, at most (the rest are closed at once).
const UNADMITTED: usize = 8;
/// Messages waiting for the window, at most: a window that falls this far behind is stuck,
/// and is ended rather than let Delegate's memory grow.
const BACKLOG: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    #[error(
        "cannot use {} for the window channel: {reason}",
        path.display()
    )]
    Folder { path: PathBuf, reason: String },
    #[error("cannot create the window channel {}: {source}", path.display())]
    Socket {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the window: {0}")]
    Start(String),
}

/// The window process's link: its messages, in order, at most [`BACKLOG`] waiting.
type Link = mpsc::Sender<ToWindow>;

/// Why a connection on the window channel was turned away.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("it runs as another user (uid {0})")]
    OtherUser(u32),
    #[error("the kernel did not say who it is")]
    Unknown,
    #[error("it did not introduce itself within {} s", HELLO_WAIT.as_secs())]
    Silent,
    #[error("its first message was not a hello")]
    NoHello,
    #[error("no window is being opened")]
    NotStarting,
    #[error("it is not the window process Delegate started (pid {0})")]
    OtherProcess(i32),
    #[error("its secret is wrong")]
    WrongSecret,
}

/// The window host; cheap to clone.
#[derive(Clone)]
pub struct WindowHost {
    inner: Arc<Inner>,
}

struct Inner {
    socket: PathBuf,
    listener: Mutex<Option<std::os::unix::net::UnixListener>>,
    state: Mutex<State>,
    unadmitted: Arc<Semaphore>,
    /// A private folder made because the runtime folder could not be used; removed with the
    /// host.
    _fallback: Option<tempfile::TempDir>,
}

#[derive(Default)]
struct State {
    window: Option<Window>,
    next_id: u64,
}

/// The window process, from its start to its end.
struct Window {
    id: u64,
    pid: i32,
    /// Until the process is in.
    secret: Option<String>,
    /// Once it is in: what goes to it.
    link: Option<Link>,
    /// The screen to open on, until it is in.
    opens: Option<Opens>,
    started: Instant,
    painted: bool,
}

impl WindowHost {
    /// Makes the window channel's socket in the user's runtime folder. Nothing is served
    /// until [`WindowHost::serve`].
    /// Where that folder cannot be used (another user made it first, a read-only runtime
    /// folder), a new private folder in the temporary folder is made instead.
    pub fn create() -> Result<Self, WindowError> {
        let dir = delegate_core::paths::runtime_dir();
        match Self::create_in(&dir) {
            Ok(host) => Ok(host),
            Err(e) => {
                tracing::warn!(error = %e, "using a private temporary folder for the window channel");
                let fallback = tempfile::Builder::new()
                    .prefix("delegate-window-")
                    .tempdir()
                    .map_err(|source| WindowError::Folder {
                        path: std::env::temp_dir(),
                        reason: source.to_string(),
                    })?;
                let mut host = Self::create_in(fallback.path())?;
                if let Some(inner) = Arc::get_mut(&mut host.inner) {
                    inner._fallback = Some(fallback);
                }
                Ok(host)
            }
        }
    }

    pub fn create_in(dir: &Path) -> Result<Self, WindowError> {
        private_folder(dir)?;
        remove_stale_sockets(dir);
        let socket = dir.join(format!("window-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&socket);
        let made = |source| WindowError::Socket {
            path: socket.clone(),
            source,
        };
        let listener = std::os::unix::net::UnixListener::bind(&socket).map_err(made)?;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).map_err(made)?;
        listener.set_nonblocking(true).map_err(made)?;
        Ok(Self {
            inner: Arc::new(Inner {
                socket,
                listener: Mutex::new(Some(listener)),
                state: Mutex::new(State::default()),
                unadmitted: Arc::new(Semaphore::new(UNADMITTED)),
                _fallback: None,
            }),
        })
    }

    #[cfg(test)]
    pub fn socket(&self) -> &Path {
        &self.inner.socket
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Accepts connections until the process ends; each one is admitted or refused on its
    /// own, so a silent connection holds up nobody.
    pub async fn serve(self, shell: Shell) {
        let taken = self
            .inner
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let Some(listener) = taken else {
            return;
        };
        let listener = match tokio::net::UnixListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "cannot serve the window channel");
                return;
            }
        };
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let Ok(permit) = self.inner.unadmitted.clone().try_acquire_owned() else {
                        tracing::warn!(
                            "refused a connection on the window channel: {UNADMITTED} others wait to be let in"
                        );
                        continue;
                    };
                    let (host, shell) = (self.clone(), shell.clone());
                    tokio::spawn(async move { host.connection(stream, shell, permit).await });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the window channel cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Shows the window: brings the open one to the front (on `opens` when given), or
    /// starts the window process.
    pub fn open(&self, opens: Option<Opens>) {
        let mut state = self.state();
        if let Some(w) = state.window.as_mut() {
            if let Some(link) = w.link.clone() {
                if self.send(&mut state, &link, ToWindow::Show { opens }) {
                    return;
                }
            } else if w.secret.is_some() && w.started.elapsed() < START_WAIT {
                // Still starting: it opens on the newest screen asked for.
                if opens.is_some() {
                    w.opens = opens;
                }
                return;
            } else if w.secret.is_some() {
                tracing::warn!(
                    pid = w.pid,
                    "the window process did not connect within {} s; starting a new one",
                    START_WAIT.as_secs()
                );
                // Not reaped while its entry exists, so the pid is still this window's.
                kill(w.pid);
            } else {
                // Its channel closed: it is on its way out (saving its size and place).
                tracing::info!(pid = w.pid, "the window is closing; starting a new one");
            }
            state.window = None;
        }
        if let Err(e) = self.start(&mut state, opens) {
            tracing::error!(error = %e, "cannot open the window");
        }
    }

    fn start(&self, state: &mut State, opens: Option<Opens>) -> Result<(), WindowError> {
        let secret = new_secret()?;
        let mut command = Command::new(own_program());
        if let Some(arg0) = std::env::args_os().next() {
            std::os::unix::process::CommandExt::arg0(&mut command, arg0);
        }
        command
            .arg(WINDOW_FLAG)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| WindowError::Start(e.to_string()))?;
        let launch = Launch {
            socket: self.inner.socket.clone(),
            secret: secret.clone(),
        };
        // A line of a few hundred bytes fits the pipe: this never blocks.
        let handed = child.stdin.take().map(|mut stdin| {
            let mut line = serde_json::to_vec(&launch).unwrap_or_default();
            line.push(b'\n');
            stdin.write_all(&line)
        });
        if !matches!(handed, Some(Ok(()))) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(WindowError::Start(
                "cannot hand the window process its secret".into(),
            ));
        }
        let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
        if let Some(stderr) = child.stderr.take() {
            let forwarding = std::thread::Builder::new()
                .name("window-stderr".into())
                .spawn(move || forward_stderr(pid, stderr));
            if let Err(e) = forwarding {
                tracing::debug!(error = %e, "the window process's messages will not be logged");
            }
        }
        state.next_id += 1;
        let id = state.next_id;
        state.window = Some(Window {
            id,
            pid,
            secret: Some(secret),
            link: None,
            opens,
            started: Instant::now(),
            painted: false,
        });
        tracing::info!(pid, "window process started");
        let host = self.clone();
        let waiting = std::thread::Builder::new()
            .name("window-wait".into())
            .spawn(move || {
                // Waits without reaping: until `ended` reaps it under the lock, the pid cannot
                // be given to another process, so killing it by pid is safe.
                use nix::sys::wait::{Id, WaitPidFlag, waitid};
                let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
                while let Err(nix::errno::Errno::EINTR) =
                    waitid(Id::Pid(nix::unistd::Pid::from_raw(pid)), flags)
                {}
                host.ended(id, pid, child);
            });
        if let Err(e) = waiting {
            tracing::warn!(error = %e, "cannot watch the window process");
        }
        Ok(())
    }

    /// The window process is gone: closed by the person, or crashed. The next request to
    /// open the window starts a new one.
    fn ended(&self, id: u64, pid: i32, mut child: std::process::Child) {
        let mut state = self.state();
        if state.window.as_ref().is_some_and(|w| w.id == id) {
            state.window = None;
        }
        let status = child.wait();
        drop(state);
        match status {
            Ok(s) if s.success() => tracing::info!(pid, "the window closed"),
            Ok(s) => {
                use std::os::unix::process::ExitStatusExt;
                match s.signal() {
                    Some(signal) => tracing::warn!(
                        pid,
                        signal,
                        "the window process was killed; Open Delegate starts a new one"
                    ),
                    None => tracing::warn!(
                        pid,
                        code = s.code(),
                        "the window process failed; Open Delegate starts a new one"
                    ),
                }
            }
            Err(e) => tracing::warn!(pid, error = %e, "cannot wait for the window process"),
        }
    }

    /// Sends an event to the window, when one is open.
    pub fn emit(&self, name: &str, payload: Value) {
        let mut state = self.state();
        if let Some(link) = state.window.as_ref().and_then(|w| w.link.clone()) {
            let event = ToWindow::Event {
                name: name.to_string(),
                payload,
            };
            self.send(&mut state, &link, event);
        }
    }

    /// Queues a message for the window; `false` when its link is gone. A window that let
    /// [`BACKLOG`] messages pile up is stuck: it is ended, and the next request to open the
    /// window starts a new one.
    fn send(&self, state: &mut State, link: &Link, message: ToWindow) -> bool {
        match link.try_send(message) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Closed(_)) => false,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if let Some(w) = state.window.as_mut() {
                    tracing::warn!(
                        pid = w.pid,
                        "the window stopped reading {BACKLOG} messages ago; ending it"
                    );
                    w.link = None;
                    kill(w.pid);
                }
                false
            }
        }
    }

    /// Whether a window process runs (starting or open).
    pub fn is_open(&self) -> bool {
        self.state().window.is_some()
    }

    /// Removes the socket (on quitting). The window process sees the channel close and ends.
    pub fn close(&self) {
        let _ = std::fs::remove_file(&self.inner.socket);
    }

    async fn connection(
        &self,
        stream: UnixStream,
        shell: Shell,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) {
        let peer = stream.peer_cred().ok();
        let pid = peer.as_ref().and_then(|p| p.pid()).unwrap_or(0);
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        let admitted = match peer {
            None => Err(Refusal::Unknown),
            Some(p) if p.uid() != nix::unistd::getuid().as_raw() => {
                Err(Refusal::OtherUser(p.uid()))
            }
            Some(_) => {
                let mut buf = Vec::new();
                let hello = protocol::read_line(&mut reader, &mut buf, protocol::MAX_HELLO);
                match tokio::time::timeout(HELLO_WAIT, hello).await {
                    Err(_) => Err(Refusal::Silent),
                    Ok(Ok(Some(line))) => match serde_json::from_str(&line) {
                        Ok(FromWindow::Hello { secret }) => self.admit(pid, &secret),
                        _ => Err(Refusal::NoHello),
                    },
                    Ok(_) => Err(Refusal::NoHello),
                }
            }
        };
        let (id, opens, mut outgoing) = match admitted {
            Ok(admitted) => admitted,
            Err(reason) => {
                tracing::warn!(
                    pid,
                    %reason,
                    "refused a connection on the window channel"
                );
                let refused = ToWindow::Refused {
                    reason: reason.to_string(),
                };
                let _ = protocol::write_line(&mut write, refused.line()).await;
                return;
            }
        };
        drop(permit);
        tracing::info!(pid, "the window is connected");
        if protocol::write_line(&mut write, ToWindow::Welcome { opens }.line())
            .await
            .is_err()
        {
            self.disconnected(id);
            return;
        }
        let writer = tokio::spawn(async move {
            while let Some(message) = outgoing.recv().await {
                if protocol::write_line(&mut write, message.line())
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        let mut buf = Vec::new();
        loop {
            match protocol::read_line(&mut reader, &mut buf, protocol::MAX_MESSAGE).await {
                Ok(Some(line)) => match serde_json::from_str::<FromWindow>(&line) {
                    Ok(FromWindow::Call {
                        id: call,
                        command,
                        args,
                    }) => {
                        self.call(id, call, command, args, &shell);
                    }
                    Ok(FromWindow::Hello { .. }) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "a message on the window channel Delegate does not understand");
                    }
                },
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "the window channel broke");
                    break;
                }
            }
        }
        self.disconnected(id);
        writer.abort();
    }

    /// Lets in the window process this host started, once, with its secret.
    fn admit(
        &self,
        pid: i32,
        secret: &str,
    ) -> Result<(u64, Option<Opens>, mpsc::Receiver<ToWindow>), Refusal> {
        let mut state = self.state();
        let Some(w) = state.window.as_mut() else {
            return Err(Refusal::NotStarting);
        };
        let Some(expected) = w.secret.as_deref() else {
            return Err(Refusal::NotStarting);
        };
        if !bool::from(expected.as_bytes().ct_eq(secret.as_bytes())) {
            return Err(Refusal::WrongSecret);
        }
        if pid != w.pid {
            // The secret got out: it admits nobody any more, and the window it was meant
            // for is ended (the next request starts a new one with a new secret).
            tracing::warn!(
                pid = w.pid,
                "another process knew the window's secret; ending that window"
            );
            kill(w.pid);
            w.secret = None;
            return Err(Refusal::OtherProcess(pid));
        }
        let (tx, rx) = mpsc::channel(BACKLOG);
        w.secret = None;
        w.link = Some(tx);
        Ok((w.id, w.opens.take(), rx))
    }

    fn disconnected(&self, id: u64) {
        let mut state = self.state();
        if let Some(w) = state.window.as_mut().filter(|w| w.id == id) {
            w.link = None;
            tracing::debug!(pid = w.pid, "the window channel closed");
        }
    }

    /// A command from the window: the channel's own, or the engine's through the API.
    fn call(&self, window: u64, call: u64, command: String, args: Value, shell: &Shell) {
        let Some(link) = self
            .state()
            .window
            .as_ref()
            .filter(|w| w.id == window)
            .and_then(|w| w.link.clone())
        else {
            return;
        };
        if command == PAINTED {
            self.painted(window);
            let reply = ToWindow::Reply {
                id: call,
                outcome: Outcome::Ok(Value::Null),
            };
            self.send(&mut self.state(), &link, reply);
            return;
        }
        let (host, shell) = (self.clone(), shell.clone());
        tokio::spawn(async move {
            let outcome = match crate::api::call(&shell, &command, args).await {
                Ok(v) => Outcome::Ok(v),
                Err(e) => Outcome::Err(serde_json::to_value(e).unwrap_or_default()),
            };
            host.send(
                &mut host.state(),
                &link,
                ToWindow::Reply { id: call, outcome },
            );
        });
    }

    /// The window drew itself for the first time: how long since it was asked for.
    fn painted(&self, window: u64) {
        let mut state = self.state();
        if let Some(w) = state
            .window
            .as_mut()
            .filter(|w| w.id == window && !w.painted)
        {
            w.painted = true;
            let ms = w.started.elapsed().as_millis();
            tracing::info!(pid = w.pid, ms, "window painted");
        }
    }

    /// For tests: a window process as if this host had started `pid` with `secret`.
    #[cfg(test)]
    fn expect(&self, pid: i32, secret: &str, opens: Option<Opens>) {
        let mut state = self.state();
        state.next_id += 1;
        state.window = Some(Window {
            id: state.next_id,
            pid,
            secret: Some(secret.to_string()),
            link: None,
            opens,
            started: Instant::now(),
            painted: false,
        });
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// What the window process (GTK, WebKit, Tauri) prints goes to Delegate's log, where a person
/// looking for why the window did not open will look. Lines are cut at 2000 characters.
fn forward_stderr(pid: i32, stderr: std::process::ChildStderr) {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match std::io::Read::take(&mut reader, 64 * 1024).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end();
                if !text.is_empty() {
                    let cut: String = text.chars().take(2000).collect();
                    tracing::info!(pid, "window process: {cut}");
                }
            }
        }
    }
}

/// This very program, even after an upgrade replaced the file on disk.
fn own_program() -> PathBuf {
    let proc_self = PathBuf::from("/proc/self/exe");
    if proc_self.exists() {
        proc_self
    } else {
        std::env::current_exe().unwrap_or(proc_self)
    }
}

fn new_secret() -> Result<String, WindowError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| WindowError::Start(format!("no randomness for the window's secret: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn kill(pid: i32) {
    use nix::sys::signal::{Signal, kill};
    let _ = kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
}

/// `dir` exists, belongs to this user, and only this user may enter it.
fn private_folder(dir: &Path) -> Result<(), WindowError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let refuse = |reason: String| WindowError::Folder {
        path: dir.to_path_buf(),
        reason,
    };
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(refuse(e.to_string())),
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| refuse(e.to_string()))?;
    if !meta.is_dir() {
        return Err(refuse("it is not a folder".into()));
    }
    let me = nix::unistd::getuid().as_raw();
    if meta.uid() != me {
        return Err(refuse(format!(
            "it belongs to uid {}, not to you (uid {me}); remove it",
            meta.uid()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| refuse(format!("others may enter it and {e}")))?;
    }
    Ok(())
}

/// Sockets left by Delegates that are gone (a crash, a power cut).
fn remove_stale_sockets(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("window-")?.strip_suffix(".sock"))
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests;
