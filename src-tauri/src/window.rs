//! The main window. Closing it destroys the webview (a tray app should not keep WebKit's
//! processes alive while nobody looks); opening it builds a new one, with the size and
//! position the window-state plugin remembered.

use delegate_core::notice::Opens;
use tauri::{AppHandle, Emitter, Manager, WebviewUrl, WebviewWindowBuilder};

pub const LABEL: &str = "main";

/// Shows the window (creating it if needed), optionally on one run.
pub fn open(app: &AppHandle, run: Option<i64>) {
    match run {
        Some(id) => open_on(app, Opens::Run { id }),
        None => show(app, None),
    }
}

/// Shows the window (creating it if needed) on a screen: a run, Activity, Employees or
/// Settings.
pub fn open_on(app: &AppHandle, opens: Opens) {
    show(app, Some(opens))
}

fn show(app: &AppHandle, opens: Option<Opens>) {
    if let Some(w) = app.get_webview_window(LABEL) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
        if let Some(o) = opens {
            let _ = w.emit("delegate://open", o);
        }
        return;
    }
    let page = match opens {
        Some(Opens::Run { id }) => format!("index.html?view=run&id={id}"),
        Some(Opens::Activity) => "index.html?view=activity".to_string(),
        Some(Opens::Employees) => "index.html?view=employees".to_string(),
        Some(Opens::Settings) => "index.html?view=settings".to_string(),
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
