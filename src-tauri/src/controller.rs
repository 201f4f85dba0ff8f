//! The controller: the one owner of what the shell holds — the engine's handle, the
//! [`Notifier`] (what was already told), the status board, the desktop, the workers' stop
//! switch — fed by typed [`Request`]s over a channel and by the engine's events. It decides
//! nothing: it asks the engine and carries out what the engine decided on the [`Desktop`].
//! Modelled on Firezone's GUI client (`rust/gui-client/src-tauri/src/controller.rs`): a
//! `Controller<I: GuiIntegration>` with one event loop over a request channel, the desktop
//! behind a trait that tests replace with a recording fake. Requests carry their answer's
//! channel; the window, in its own process, reaches them through the window channel
//! ([`crate::window::host`] → [`crate::api`] → [`Shell`]).

use crate::desktop::{Desktop, WindowEvent};
use crate::error::ShellError;
use crate::tray::{self, TrayView};
use delegate_core::config::SourceKind;
use delegate_core::notice::{Notifier, Opens};
use delegate_core::secrets::TokenStatus;
use delegate_core::settings::SettingsView;
use delegate_core::status::Board;
use delegate_core::worker::WorkerEvent;
use delegate_core::{Employee, Engine, EngineError};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Longest wait for the workers on quitting before exiting anyway.
const STOP_WAIT: Duration = Duration::from_secs(15);

/// Where the answer to a request goes.
pub type Reply<T> = oneshot::Sender<Result<T, ShellError>>;

/// What the controller is asked: by the window's commands that touch what it owns or the
/// desktop, by the tray menu, a click on a notification, a second launch or a signal. (The
/// window's other commands are the engine's alone and go to it directly.)
pub enum Request {
    Status(oneshot::Sender<Board>),
    Settings(oneshot::Sender<SettingsView>),
    SaveSettings {
        settings: SettingsView,
        reply: Reply<()>,
    },
    SaveEmployee {
        original: Option<String>,
        employee: Box<Employee>,
        template: Option<String>,
        reply: Reply<()>,
    },
    DeleteEmployee {
        name: String,
        reply: Reply<()>,
    },
    /// A pasted token (never logged: `Request` has no `Debug`).
    SetToken {
        token: String,
        source: SourceKind,
        reply: Reply<TokenStatus>,
    },
    ClearToken {
        source: SourceKind,
        reply: Reply<TokenStatus>,
    },
    /// Opens a draft of a run in the editor, or shows it in its folder (`reveal`).
    OpenDraft {
        run: i64,
        path: String,
        reveal: bool,
        reply: Reply<()>,
    },
    /// Opens the run's task in the browser.
    OpenTask {
        run: i64,
        reply: Reply<()>,
    },
    OpenWindow(Option<Opens>),
    Tray(tray::Action),
    NoticeClicked(NoticeClick),
    /// Delegate was started again: show the window, or quit (`--quit`).
    SecondLaunch {
        quit: bool,
    },
    Quit,
}

/// A click on a notice: what the notice opens, the run whose draft it offers, and whether the
/// click was on its "Open draft" button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeClick {
    pub opens: Option<Opens>,
    pub draft_run: Option<i64>,
    pub open_draft: bool,
}

/// The handle the window's commands, the tray and the desktop callbacks hold: the engine, for
/// the use cases that are the engine's alone, and the way to the controller.
#[derive(Clone)]
pub struct Shell {
    engine: Arc<Engine>,
    requests: mpsc::UnboundedSender<Request>,
    quitting: Arc<AtomicBool>,
}

impl Shell {
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Asks without waiting (the tray, notification clicks, second launches, signals).
    pub fn send(&self, request: Request) {
        if self.requests.send(request).is_err() {
            tracing::debug!("a request after the controller stopped");
        }
    }

    /// Asks and waits for the answer.
    pub async fn ask<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, ShellError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(request(tx))
            .map_err(|_| ShellError::Stopped)?;
        rx.await.map_err(|_| ShellError::Stopped)
    }

    /// Asks something that can fail and waits for the answer.
    pub async fn call<T>(
        &self,
        request: impl FnOnce(Reply<T>) -> Request,
    ) -> Result<T, ShellError> {
        self.ask(request).await?
    }

    /// Runs a synchronous engine call (SQLite, files) on a thread meant for blocking, so the
    /// engine's own tasks are never held up by the window's reads.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> Result<T, ShellError> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || f(&engine))
            .await
            .map_err(|e| ShellError::Failed(e.to_string()))
    }

    /// Whether Delegate is quitting (the workers are being stopped).
    pub fn is_quitting(&self) -> bool {
        self.quitting.load(Ordering::SeqCst)
    }
}

pub struct Controller<D: Desktop> {
    engine: Arc<Engine>,
    desktop: D,
    notifier: Notifier,
    board: Board,
    requests: mpsc::UnboundedReceiver<Request>,
    /// `None` once the engine's event channel closed.
    events: Option<broadcast::Receiver<WorkerEvent>>,
    /// Stops the workers (and their agents) on Quit, logout or SIGTERM.
    cancel: CancellationToken,
    workers: Option<JoinHandle<()>>,
    quitting: Arc<AtomicBool>,
}

impl<D: Desktop> Controller<D> {
    /// The controller over `engine`, and the handle to reach it. It subscribes to the
    /// engine's events at once, so the workers' first events reach it; [`Controller::run`]
    /// starts the workers.
    pub fn new(engine: Arc<Engine>, desktop: D) -> (Self, Shell) {
        let events = engine.subscribe();
        Self::with_events(engine, desktop, events)
    }

    fn with_events(
        engine: Arc<Engine>,
        desktop: D,
        events: broadcast::Receiver<WorkerEvent>,
    ) -> (Self, Shell) {
        let (tx, rx) = mpsc::unbounded_channel();
        let quitting = Arc::new(AtomicBool::new(false));
        let shell = Shell {
            engine: engine.clone(),
            requests: tx,
            quitting: quitting.clone(),
        };
        let board = Board::of(&engine.config());
        let mut controller = Self {
            engine,
            desktop,
            notifier: Notifier::default(),
            board,
            requests: rx,
            events: Some(events),
            cancel: CancellationToken::new(),
            workers: None,
            quitting,
        };
        controller
            .desktop
            .show_tray(&TrayView::of(&controller.board));
        (controller, shell)
    }

    /// Starts every enabled employee's worker loop, then serves requests and events until
    /// Delegate quits.
    pub async fn run(mut self) {
        let (engine, cancel) = (self.engine.clone(), self.cancel.clone());
        self.workers = Some(tokio::spawn(async move { engine.watch_all(&cancel).await }));
        self.autostart_after_setup().await;
        loop {
            let due = self.notifier.due_at();
            let flush_at = tokio::time::Instant::from_std(due.unwrap_or_else(now));
            tokio::select! {
                request = self.requests.recv() => match request {
                    Some(request) => {
                        if self.handle(request).await.is_break() {
                            return;
                        }
                    }
                    None => return,
                },
                event = next_event(&mut self.events) => match event {
                    Ok(ev) => self.on_event(&ev),
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "the shell fell behind the engine's events");
                    }
                    Err(RecvError::Closed) => self.events = None,
                },
                () = tokio::time::sleep_until(flush_at), if due.is_some() => self.flush(now()),
            }
        }
    }

    /// Carries out one request; `Break` once Delegate is exiting.
    pub async fn handle(&mut self, request: Request) -> ControlFlow<()> {
        match request {
            Request::Status(reply) => {
                let _ = reply.send(self.board.clone());
            }
            Request::Settings(reply) => {
                let _ = reply.send(self.engine.settings_view(self.desktop.autostart()));
            }
            Request::SaveSettings { settings, reply } => {
                let _ = reply.send(self.save_settings(&settings).await);
            }
            Request::SaveEmployee {
                original,
                employee,
                template,
                reply,
            } => {
                let saved = self
                    .engine
                    .save_employee(original.as_deref(), &employee, template.as_deref())
                    .await;
                if saved.is_ok() {
                    self.board.align(&self.engine.config());
                    self.autostart_after_setup().await;
                    self.board_changed();
                }
                let _ = reply.send(saved.map(|_| ()).map_err(ShellError::from));
            }
            Request::DeleteEmployee { name, reply } => {
                let deleted = self.engine.delete_employee(&name).await;
                if deleted.is_ok() {
                    self.board.align(&self.engine.config());
                    self.board_changed();
                }
                let _ = reply.send(deleted.map_err(ShellError::from));
            }
            Request::SetToken {
                token,
                source,
                reply,
            } => {
                let status = self.engine.set_source_token(source, &token).await;
                let _ = reply.send(self.token_changed(status));
            }
            Request::ClearToken { source, reply } => {
                let status = self.engine.clear_source_token(source).await;
                let _ = reply.send(self.token_changed(status));
            }
            Request::OpenDraft {
                run,
                path,
                reveal,
                reply,
            } => {
                let _ = reply.send(self.open_draft(run, &path, reveal));
            }
            Request::OpenTask { run, reply } => {
                let _ = reply.send(self.open_task(run));
            }
            Request::OpenWindow(on) => self.desktop.open_window(on),
            Request::Tray(action) => return self.tray(action).await,
            Request::NoticeClicked(click) => self.notice_clicked(click),
            Request::SecondLaunch { quit: false } => self.desktop.open_window(None),
            Request::SecondLaunch { quit: true } | Request::Quit => return self.quit().await,
        }
        ControlFlow::Continue(())
    }

    /// An engine event: into the board (the tray and the window follow when it changed),
    /// to the window as it is, and as a notice when the engine's notifier says so.
    fn on_event(&mut self, ev: &WorkerEvent) {
        let before = self.board.clone();
        self.board.apply(ev);
        // Progress lines do not change the board: the tray and the status listeners are
        // only touched when something they show changed.
        if self.board != before {
            self.board_changed();
        }
        self.desktop.emit(WindowEvent::Engine(ev));
        let settings = self.engine.notification_settings();
        if let Some(notice) = self.notifier.on_event(ev, &settings, now()) {
            self.desktop.notify(&notice);
        }
    }

    /// Shows the notice for drafts held from a burst, once it is due.
    fn flush(&mut self, at: std::time::Instant) {
        if let Some(notice) = self.notifier.flush(at) {
            self.desktop.notify(&notice);
        }
    }

    fn board_changed(&mut self) {
        self.desktop.show_tray(&TrayView::of(&self.board));
        self.desktop.emit(WindowEvent::Status(&self.board));
    }

    /// The first time Delegate has an employee it starts at login, unless the person already
    /// chose: the engine says when, the desktop does it, the engine remembers.
    async fn autostart_after_setup(&mut self) {
        if !self.engine.autostart_due() {
            return;
        }
        if let Err(e) = self.desktop.set_autostart(true) {
            tracing::warn!(error = %e, "cannot turn on start at login");
            return;
        }
        match self.engine.remember_autostart(true).await {
            Ok(()) => tracing::info!("start at login turned on after the first setup"),
            Err(e) => tracing::warn!(error = %e, "cannot remember that Delegate starts at login"),
        }
    }

    async fn save_settings(&mut self, settings: &SettingsView) -> Result<(), ShellError> {
        self.engine.save_settings(settings).await?;
        self.desktop.set_autostart(settings.autostart)?;
        self.engine.remember_autostart(settings.autostart).await?;
        Ok(())
    }

    /// After a token was saved or cleared: a rejected token is worth telling again, and the
    /// window hears the new status (never the token).
    fn token_changed(
        &mut self,
        status: Result<TokenStatus, EngineError>,
    ) -> Result<TokenStatus, ShellError> {
        let status = status?;
        self.notifier.token_changed();
        self.desktop.emit(WindowEvent::Token(&status));
        Ok(status)
    }

    fn open_draft(&mut self, run: i64, path: &str, reveal: bool) -> Result<(), ShellError> {
        let full = self.engine.draft_path(run, path)?;
        if reveal {
            self.desktop.reveal_file(&full)?;
        } else {
            self.desktop.open_file(&full)?;
        }
        Ok(())
    }

    fn open_task(&mut self, run: i64) -> Result<(), ShellError> {
        let link = self.engine.task_link(run)?;
        Ok(self.desktop.open_url(&link)?)
    }

    fn notice_clicked(&mut self, click: NoticeClick) {
        match (click.open_draft, click.draft_run) {
            (true, Some(run)) => {
                let opened = self
                    .engine
                    .first_draft_path(run)
                    .map_err(ShellError::from)
                    .and_then(|p| Ok(self.desktop.open_file(&p)?));
                if let Err(e) = opened {
                    tracing::warn!(error = %e, "cannot open the draft; opening the run");
                    self.desktop.open_window(Some(Opens::Run { id: run }));
                }
            }
            _ => {
                if let Some(on) = click.opens {
                    self.desktop.open_window(Some(on));
                }
            }
        }
    }

    async fn tray(&mut self, action: tray::Action) -> ControlFlow<()> {
        match action {
            tray::Action::Open => self.desktop.open_window(None),
            tray::Action::OpenLatestDraft => self
                .desktop
                .open_window(self.board.latest_draft_run.map(|id| Opens::Run { id })),
            tray::Action::RunAllNow => self.engine.run_now(),
            tray::Action::PauseAll => self.engine.set_paused(None, true),
            tray::Action::ResumeAll => self.engine.set_paused(None, false),
            tray::Action::Quit => return self.quit().await,
        }
        ControlFlow::Continue(())
    }

    /// Stops the workers (agents get TERM, then KILL), waits for them a while, then exits.
    async fn quit(&mut self) -> ControlFlow<()> {
        self.quitting.store(true, Ordering::SeqCst);
        tracing::info!("quitting: stopping workers");
        self.cancel.cancel();
        if let Some(workers) = self.workers.take()
            && tokio::time::timeout(STOP_WAIT, workers).await.is_err()
        {
            tracing::warn!("workers did not stop within {STOP_WAIT:?}; exiting anyway");
        }
        tracing::info!("workers stopped; exiting");
        self.desktop.exit();
        ControlFlow::Break(())
    }
}

/// The engine's next event; never, once its channel closed.
async fn next_event(
    events: &mut Option<broadcast::Receiver<WorkerEvent>>,
) -> Result<WorkerEvent, RecvError> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Now, on tokio's clock (which tests can stop and move).
fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

#[cfg(test)]
pub(crate) mod tests;
