//! Quitting cleanly: stop the workers (agents get TERM, then KILL after a grace period),
//! wait for them, then exit. Quit, logout (SIGTERM/SIGHUP) and Ctrl+C all come here.

use crate::state::AppState;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tauri::{AppHandle, Manager};

/// Longest wait for the workers before exiting anyway.
const STOP_WAIT: Duration = Duration::from_secs(15);

pub fn is_quitting(app: &AppHandle) -> bool {
    app.try_state::<AppState>()
        .is_some_and(|s| s.quitting.load(Ordering::SeqCst))
}

pub async fn quit(app: AppHandle) {
    let Some(state) = app.try_state::<AppState>() else {
        app.exit(0);
        return;
    };
    if state.quitting.swap(true, Ordering::SeqCst) {
        return;
    }
    tracing::info!("quitting: stopping workers");
    state.cancel.cancel();
    let watch = state.watch.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(handle) = watch
        && tokio::time::timeout(STOP_WAIT, handle).await.is_err()
    {
        tracing::warn!("workers did not stop within {STOP_WAIT:?}; exiting anyway");
    }
    tracing::info!("workers stopped; exiting");
    app.exit(0);
}

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
        quit(app).await;
    });
}
