//! The desktop's side effects, behind one trait so the controller can be tested without a
//! running app: show a notification, open the window, a link or a file, reveal a file, switch
//! the login item, update the tray, tell the window, exit. [`TauriDesktop`] does them with
//! Tauri and its plugins, and reaches the window (in its own process) through the
//! [`WindowHost`]; the controller's tests use a recording fake.

use crate::tray::{self, TrayView};
use crate::window::host::WindowHost;
use delegate_core::notice::{Notice, Opens};
use delegate_core::secrets::TokenStatus;
use delegate_core::status::Board;
use delegate_core::worker::WorkerEvent;
use std::path::{Path, PathBuf};
use tauri::menu::Menu;
use tauri::{AppHandle, Wry};
use tauri_plugin_opener::OpenerExt;

/// What the window is told: the engine's events, the board when it changed, the token's
/// status when it changed (never the token).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WindowEvent<'a> {
    Engine(&'a WorkerEvent),
    Status(&'a Board),
    Token(&'a TokenStatus),
}

/// The window's event names (`ui/src/ipc.ts` listens to them).
pub const EVENT: &str = "delegate://event";
pub const STATUS: &str = "delegate://status";
pub const TOKEN: &str = "delegate://token";

/// A side effect the desktop could not carry out.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    #[error("cannot open {}: {reason}", path.display())]
    Open { path: PathBuf, reason: String },
    #[error("cannot open the browser: {0}")]
    Browser(String),
    #[error("{0}")]
    Autostart(String),
}

impl DesktopError {
    /// The code the window receives.
    pub fn code(&self) -> &'static str {
        match self {
            DesktopError::Open { .. } | DesktopError::Browser(_) => "open",
            DesktopError::Autostart(_) => "autostart",
        }
    }
}

/// Everything the controller does to the desktop.
pub trait Desktop: Send + 'static {
    /// Shows a notice, with its buttons, remembering what a click on it opens.
    fn notify(&mut self, notice: &Notice);
    /// Shows the window (creating it when it is closed), on a screen when given.
    fn open_window(&mut self, on: Option<Opens>);
    fn open_url(&mut self, url: &str) -> Result<(), DesktopError>;
    /// Opens a file in its default application.
    fn open_file(&mut self, path: &Path) -> Result<(), DesktopError>;
    /// Shows a file in its folder.
    fn reveal_file(&mut self, path: &Path) -> Result<(), DesktopError>;
    /// Whether the system starts Delegate at login.
    fn autostart(&self) -> bool;
    fn set_autostart(&mut self, enabled: bool) -> Result<(), DesktopError>;
    fn show_tray(&mut self, view: &TrayView);
    fn emit(&mut self, event: WindowEvent<'_>);
    /// Ends the app (after the controller stopped the workers).
    fn exit(&mut self);
}

/// The desktop through Tauri: the tray icon and its menu, the notification plugin, the opener,
/// the autostart plugin, and the window through its host.
pub struct TauriDesktop {
    app: AppHandle,
    window: WindowHost,
    menu: Menu<Wry>,
    /// The id of the next notification (the plugin wants them distinct).
    next_notice: i32,
}

impl TauriDesktop {
    /// Creates the tray icon and registers the notification buttons and clicks.
    pub fn new(app: &AppHandle, window: WindowHost) -> tauri::Result<Self> {
        let menu = tray::create(app, &TrayView::of(&Board::default()))?;
        crate::notify::setup(app);
        Ok(Self {
            app: app.clone(),
            window,
            menu,
            next_notice: 1,
        })
    }
}

impl Desktop for TauriDesktop {
    fn notify(&mut self, notice: &Notice) {
        let id = self.next_notice;
        self.next_notice = self.next_notice.wrapping_add(1);
        crate::notify::show(&self.app, id, notice);
    }

    fn open_window(&mut self, on: Option<Opens>) {
        self.window.open(on);
    }

    fn open_url(&mut self, url: &str) -> Result<(), DesktopError> {
        self.app
            .opener()
            .open_url(url, None::<&str>)
            .map_err(|e| DesktopError::Browser(e.to_string()))
    }

    fn open_file(&mut self, path: &Path) -> Result<(), DesktopError> {
        self.app
            .opener()
            .open_path(path.to_string_lossy(), None::<&str>)
            .map_err(|e| DesktopError::Open {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
    }

    fn reveal_file(&mut self, path: &Path) -> Result<(), DesktopError> {
        self.app
            .opener()
            .reveal_item_in_dir(path)
            .map_err(|e| DesktopError::Open {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
    }

    fn autostart(&self) -> bool {
        crate::autostart::enabled(&self.app)
    }

    fn set_autostart(&mut self, enabled: bool) -> Result<(), DesktopError> {
        crate::autostart::set(&self.app, enabled).map_err(DesktopError::Autostart)
    }

    fn show_tray(&mut self, view: &TrayView) {
        tray::show(&self.app, &self.menu, view);
    }

    fn emit(&mut self, event: WindowEvent<'_>) {
        // Nothing to tell when no window is open.
        if !self.window.is_open() {
            return;
        }
        let (name, payload) = match event {
            WindowEvent::Engine(ev) => (EVENT, serde_json::to_value(ev)),
            WindowEvent::Status(board) => (STATUS, serde_json::to_value(board)),
            WindowEvent::Token(status) => (TOKEN, serde_json::to_value(status)),
        };
        match payload {
            Ok(payload) => self.window.emit(name, payload),
            Err(e) => tracing::warn!(error = %e, "cannot tell the window"),
        }
    }

    fn exit(&mut self) {
        // The window process sees its channel close and ends with the app.
        self.window.close();
        self.app.exit(0);
    }
}
