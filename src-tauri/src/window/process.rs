//! The window process (`delegate-app --window`), started by the long-lived process when the
//! window is asked for. It hosts the web view and nothing else: every command the web view
//! invokes goes over the window channel to the long-lived process, unchanged, and comes back
//! as its answer; the long-lived process's events come the other way and are emitted to the
//! web view under their own names. Closing the window ends this process and all of WebKit;
//! so does the channel closing (Delegate quit or died).

use super::protocol::{self, FromWindow, Launch, Outcome, ToWindow};
use delegate_core::notice::Opens;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::ipc::{InvokeBody, InvokeError};
use tauri::{AppHandle, Emitter, Manager, RunEvent, WebviewUrl, WebviewWindowBuilder};
use tokio::io::BufReader;
use tokio::sync::{mpsc, oneshot};

/// The window's label (the capability grants the commands to it).
pub const LABEL: &str = "main";
/// The event that moves an open window to a screen (`ui/src/ipc.ts` listens to it).
const OPEN_EVENT: &str = "delegate://open";
/// How long the long-lived process may take to let this process in.
const WELCOME_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("no launch details on standard input (this is started by Delegate, not by hand)")]
    NoLaunch,
    #[error("cannot reach Delegate's window channel: {0}")]
    Connect(std::io::Error),
    #[error("Delegate refused the window: {0}")]
    Refused(String),
    #[error("Delegate's window channel answered something else: {0}")]
    Garbled(String),
    #[error("{0} is not Delegate's window channel: {1}")]
    NotDelegate(String, String),
}

/// The way to the long-lived process: calls waiting for their answers.
struct Link {
    outgoing: mpsc::UnboundedSender<FromWindow>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Outcome>>>,
    next: AtomicU64,
    /// Whether the page drew itself (it listens for "open" requests from then on), and the
    /// screen asked for before that.
    page: Mutex<Page>,
}

#[derive(Default)]
struct Page {
    ready: bool,
    opens: Option<Opens>,
}

impl Link {
    async fn call(&self, command: String, args: Value) -> Result<Value, InvokeError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, tx);
        let gone = || {
            InvokeError(json!({
                "code": "stopped",
                "message": "Delegate is not running; start it again to carry on",
            }))
        };
        if self
            .outgoing
            .send(FromWindow::Call { id, command, args })
            .is_err()
        {
            return Err(gone());
        }
        match rx.await {
            Ok(Outcome::Ok(v)) => Ok(v),
            Ok(Outcome::Err(e)) => Err(InvokeError(e)),
            Err(_) => Err(gone()),
        }
    }

    fn answered(&self, id: u64, outcome: Outcome) {
        let waiting = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
        if let Some(tx) = waiting {
            let _ = tx.send(outcome);
        }
    }
}

/// Runs the window process; returns its exit status.
pub fn run(context: tauri::Context<tauri::Wry>) -> i32 {
    keep_others_out();
    let (stream, opens) = match connect() {
        Ok(connected) => connected,
        Err(e) => {
            eprintln!("Delegate's window cannot open: {e}");
            return 1;
        }
    };
    let (outgoing, to_send) = mpsc::unbounded_channel();
    let link = Arc::new(Link {
        outgoing,
        pending: Mutex::new(HashMap::new()),
        next: AtomicU64::new(1),
        page: Mutex::new(Page::default()),
    });
    let forward = link.clone();
    let built = tauri::Builder::default()
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(
                    tauri_plugin_window_state::StateFlags::SIZE
                        | tauri_plugin_window_state::StateFlags::POSITION
                        | tauri_plugin_window_state::StateFlags::MAXIMIZED,
                )
                .build(),
        )
        // Every command goes to the long-lived process as the web view sent it. Tauri has
        // already checked it against the window's capability.
        .invoke_handler(move |invoke| {
            let command = invoke.message.command().to_string();
            let args = match invoke.message.payload() {
                InvokeBody::Json(v) => v.clone(),
                InvokeBody::Raw(_) => {
                    invoke.resolver.reject(json!({
                        "code": "invalid",
                        "message": format!("{command} takes JSON arguments"),
                    }));
                    return true;
                }
            };
            if command == "window_painted" {
                page_ready(&invoke.message.webview().app_handle().clone(), &forward);
            }
            let link = forward.clone();
            invoke
                .resolver
                .respond_async(async move { link.call(command, args).await });
            true
        })
        .setup(move |app| {
            let handle = app.handle().clone();
            build_window(&handle, opens)?;
            tauri::async_runtime::spawn(channel(handle, stream, link, to_send));
            Ok(())
        })
        .build(context);
    let app = match built {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Delegate's window cannot open: {e}");
            return 1;
        }
    };
    // The last window closing ends the process (the default): nothing here outlives it.
    app.run(|_, event| {
        if let RunEvent::Exit = event {
            tracing::debug!("window process exiting");
        }
    });
    0
}

/// Other programs of the user may not attach to this process or read its memory (where the
/// secret and the admitted connection live).
fn keep_others_out() {
    #[cfg(target_os = "linux")]
    {
        if let Err(e) = nix::sys::prctl::set_dumpable(false) {
            eprintln!("Delegate's window: cannot keep other programs out: {e}");
        }
        let _ = nix::sys::prctl::set_name(c"delegate-window");
    }
}

/// Reads the launch details, connects, says the secret, and waits to be let in.
fn connect() -> Result<(UnixStream, Option<Opens>), StartError> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return Err(StartError::NoLaunch);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(64 * 1024)
        .read_line(&mut line)
        .map_err(|_| StartError::NoLaunch)?;
    let launch: Launch = serde_json::from_str(line.trim()).map_err(|_| StartError::NoLaunch)?;
    let mut stream = UnixStream::connect(&launch.socket).map_err(StartError::Connect)?;
    // What the person types goes only to a server of this user, in a folder only this user
    // may enter.
    let not_ours = |why: String| StartError::NotDelegate(launch.socket.display().to_string(), why);
    let me = nix::unistd::getuid().as_raw();
    let server = nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(|e| not_ours(e.to_string()))?;
    if server.uid() != me {
        return Err(not_ours(format!("it runs as uid {}", server.uid())));
    }
    {
        use std::os::unix::fs::MetadataExt;
        let folder = launch
            .socket
            .parent()
            .and_then(|d| std::fs::metadata(d).ok())
            .ok_or_else(|| not_ours("its folder cannot be read".into()))?;
        if folder.uid() != me || folder.mode() & 0o077 != 0 {
            return Err(not_ours("its folder is not private to you".into()));
        }
    }
    let hello = FromWindow::Hello {
        secret: launch.secret,
    };
    stream
        .write_all(format!("{}\n", hello.line()).as_bytes())
        .map_err(StartError::Connect)?;
    stream
        .set_read_timeout(Some(WELCOME_WAIT))
        .map_err(StartError::Connect)?;
    // Byte by byte: what follows the welcome stays in the socket for the channel's reader.
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) if answer.len() < 64 * 1024 => answer.push(byte[0]),
            Ok(_) => break,
            Err(e) => return Err(StartError::Connect(e)),
        }
    }
    stream.set_read_timeout(None).map_err(StartError::Connect)?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    match serde_json::from_str::<ToWindow>(&text) {
        Ok(ToWindow::Welcome { opens }) => Ok((stream, opens)),
        Ok(ToWindow::Refused { reason }) => Err(StartError::Refused(reason)),
        _ => Err(StartError::Garbled(text.chars().take(200).collect())),
    }
}

/// The page for a screen.
fn page(opens: Option<Opens>) -> String {
    match opens {
        Some(Opens::Run { id }) => format!("index.html?view=run&id={id}"),
        Some(Opens::Activity) => "index.html?view=activity".to_string(),
        Some(Opens::Employees) => "index.html?view=employees".to_string(),
        Some(Opens::Settings) => "index.html?view=settings".to_string(),
        None => "index.html".to_string(),
    }
}

fn build_window(app: &AppHandle, opens: Option<Opens>) -> tauri::Result<()> {
    WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App(page(opens).into()))
        .title("Delegate")
        .inner_size(1040.0, 720.0)
        .min_inner_size(720.0, 480.0)
        .build()?;
    Ok(())
}

/// Brings the window to the front, on a screen when given. A page still loading would miss
/// the "open" event: the screen waits until it drew itself.
fn show(app: &AppHandle, link: &Link, opens: Option<Opens>) {
    let Some(w) = app.get_webview_window(LABEL) else {
        return;
    };
    let _ = w.unminimize();
    let _ = w.show();
    let _ = w.set_focus();
    let Some(o) = opens else {
        return;
    };
    let mut page = link
        .page
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if page.ready {
        let _ = w.emit(OPEN_EVENT, o);
    } else {
        page.opens = Some(o);
    }
}

/// The page drew itself: from now on it hears "open" requests; one that came while it loaded
/// is handed over now.
fn page_ready(app: &AppHandle, link: &Link) {
    let waiting = {
        let mut page = link
            .page
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        page.ready = true;
        page.opens.take()
    };
    if let (Some(o), Some(w)) = (waiting, app.get_webview_window(LABEL)) {
        let _ = w.emit(OPEN_EVENT, o);
    }
}

/// Carries the channel: calls out, answers, events and "show" requests in. When the
/// long-lived process goes away, so does the window.
async fn channel(
    app: AppHandle,
    stream: UnixStream,
    link: Arc<Link>,
    mut to_send: mpsc::UnboundedReceiver<FromWindow>,
) {
    let stream = stream
        .set_nonblocking(true)
        .and_then(|()| tokio::net::UnixStream::from_std(stream));
    let stream = match stream {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Delegate's window lost its channel: {e}");
            app.exit(1);
            return;
        }
    };
    let (read, mut write) = stream.into_split();
    tauri::async_runtime::spawn(async move {
        while let Some(message) = to_send.recv().await {
            if protocol::write_line(&mut write, message.line())
                .await
                .is_err()
            {
                break;
            }
        }
    });
    let mut reader = BufReader::new(read);
    let mut buf = Vec::new();
    while let Ok(Some(line)) =
        protocol::read_line(&mut reader, &mut buf, protocol::MAX_MESSAGE).await
    {
        match serde_json::from_str::<ToWindow>(&line) {
            Ok(ToWindow::Reply { id, outcome }) => link.answered(id, outcome),
            Ok(ToWindow::Event { name, payload }) => {
                let _ = app.emit(&name, payload);
            }
            Ok(ToWindow::Show { opens }) => show(&app, &link, opens),
            Ok(ToWindow::Welcome { .. } | ToWindow::Refused { .. }) | Err(_) => {}
        }
    }
    // Delegate quit (or died): the window has nothing left to show.
    app.exit(0);
}
