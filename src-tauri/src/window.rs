//! The main window. Closing it destroys the webview (a tray app should not keep WebKit's
//! processes alive while nobody looks); opening it builds a new one, with the size and
//! position the window-state plugin remembered.

use tauri::{AppHandle, Emitter, Manager, WebviewUrl, WebviewWindowBuilder};

pub const LABEL: &str = "main";

/// Shows the window (creating it if needed), optionally on one run.
pub fn open(app: &AppHandle, run: Option<i64>) {
    if let Some(w) = app.get_webview_window(LABEL) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
        if let Some(id) = run {
            let _ = w.emit("delegate://open-run", id);
        }
        return;
    }
    let page = match run {
        Some(id) => format!("index.html?run={id}"),
        None => "index.html".to_string(),
    };
    let built = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App(page.into()))
        .title("Delegate")
        .inner_size(1040.0, 720.0)
        .min_inner_size(720.0, 480.0)
        .build();
    if let Err(e) = built {
        tracing::error!(error = %e, "cannot open the window");
    }
}
