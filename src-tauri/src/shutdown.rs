//! Quitting cleanly is the controller's ([`crate::controller::Request::Quit`]): it stops the
//! workers (agents get TERM, then KILL after a grace period), waits for them, then exits.
//! Quit, logout (SIGTERM/SIGHUP) and Ctrl+C all come to it; this turns the signals into that
//! request.

use crate::controller::{Request, Shell};
use tauri::{AppHandle, Manager};

pub fn on_signals(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot listen for termination signals");
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
            _ = int.recv() => {}
        }
        quit(&app);
    });
}

/// Asks the controller to quit; before it exists there is nothing to stop.
pub fn quit(app: &AppHandle) {
    match app.try_state::<Shell>() {
        Some(shell) => shell.send(Request::Quit),
        None => app.exit(0),
    }
}

/// Whether Delegate is on its way out (closing the last window then ends nothing early).
pub fn is_quitting(app: &AppHandle) -> bool {
    app.try_state::<Shell>().is_some_and(|s| s.is_quitting())
}
