//! Engine events flow out from here: into the status board, the tray, the window (as
//! `delegate://event` and `delegate://status`) and notifications.

use crate::state::AppState;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::broadcast::error::RecvError;

pub const EVENT: &str = "delegate://event";
pub const STATUS: &str = "delegate://status";

pub fn forward(app: &AppHandle) {
    let app = app.clone();
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    let taken = state
        .events
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    let mut rx = taken.unwrap_or_else(|| state.engine.subscribe());
    tauri::async_runtime::spawn(async move {
        loop {
            let ev = match rx.recv().await {
                Ok(ev) => ev,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "the shell fell behind the engine's events");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let Some(state) = app.try_state::<AppState>() else {
                return;
            };
            let changed = {
                let mut b = state.board.lock().unwrap_or_else(|e| e.into_inner());
                let before = b.clone();
                b.apply(&ev);
                (*b != before).then(|| b.clone())
            };
            // Progress lines do not change the board: the tray and the status listeners are
            // only touched when something they show changed.
            if let Some(board) = changed {
                crate::tray::refresh(&app);
                let _ = app.emit(STATUS, &board);
            }
            let _ = app.emit(EVENT, &ev);
            let settings = state.engine.config().notifications;
            crate::notify::on_event(&app, &ev, &settings);
        }
    });
}

/// Tells the tray and the window that the board changed outside an engine event.
pub fn status_changed(app: &AppHandle) {
    crate::tray::refresh(app);
    if let Some(state) = app.try_state::<AppState>() {
        let _ = app.emit(STATUS, &state.board());
    }
}
