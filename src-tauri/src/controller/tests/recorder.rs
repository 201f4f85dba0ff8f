//! A desktop that records what the controller asked of it; it can be told to fail the login
//! item or opening files.

use crate::desktop::{Desktop, DesktopError, WindowEvent};
use crate::tray::TrayView;
use delegate_core::notice::{Notice, Opens};
use delegate_core::secrets::TokenStatus;
use delegate_core::status::Board;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
pub struct Recorded {
    pub notices: Vec<Notice>,
    pub windows: Vec<Option<Opens>>,
    pub urls: Vec<String>,
    pub opened: Vec<PathBuf>,
    pub revealed: Vec<PathBuf>,
    /// The login item as the system has it.
    pub autostart: bool,
    pub autostart_switched: Vec<bool>,
    pub trays: Vec<TrayView>,
    pub statuses: Vec<Board>,
    pub tokens: Vec<TokenStatus>,
    pub engine_events: usize,
    pub exited: bool,
}

#[derive(Clone, Default)]
pub struct Recorder {
    seen: Arc<Mutex<Recorded>>,
    fail_autostart: bool,
    fail_open: bool,
}

impl Recorder {
    /// A desktop whose login item (`autostart`) or file opening (`open`) fails.
    pub fn failing(autostart: bool, open: bool) -> Self {
        Self {
            fail_autostart: autostart,
            fail_open: open,
            ..Self::default()
        }
    }

    pub fn seen(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.seen.lock().unwrap()
    }
}

impl Desktop for Recorder {
    fn notify(&mut self, notice: &Notice) {
        self.seen().notices.push(notice.clone());
    }
    fn open_window(&mut self, on: Option<Opens>) {
        self.seen().windows.push(on);
    }
    fn open_url(&mut self, url: &str) -> Result<(), DesktopError> {
        self.seen().urls.push(url.into());
        Ok(())
    }
    fn open_file(&mut self, path: &Path) -> Result<(), DesktopError> {
        if self.fail_open {
            return Err(DesktopError::Open {
                path: path.into(),
                reason: "no editor".into(),
            });
        }
        self.seen().opened.push(path.into());
        Ok(())
    }
    fn reveal_file(&mut self, path: &Path) -> Result<(), DesktopError> {
        self.seen().revealed.push(path.into());
        Ok(())
    }
    fn autostart(&self) -> bool {
        self.seen().autostart
    }
    fn set_autostart(&mut self, enabled: bool) -> Result<(), DesktopError> {
        if self.fail_autostart {
            return Err(DesktopError::Autostart(
                "cannot turn on start at login: read-only".into(),
            ));
        }
        let mut seen = self.seen();
        seen.autostart = enabled;
        seen.autostart_switched.push(enabled);
        Ok(())
    }
    fn show_tray(&mut self, view: &TrayView) {
        self.seen().trays.push(view.clone());
    }
    fn emit(&mut self, event: WindowEvent<'_>) {
        let mut seen = self.seen();
        match event {
            WindowEvent::Engine(_) => seen.engine_events += 1,
            WindowEvent::Status(b) => seen.statuses.push(b.clone()),
            WindowEvent::Token(t) => seen.tokens.push(t.clone()),
        }
    }
    fn exit(&mut self) {
        self.seen().exited = true;
    }
}
