//! The main window. Closing it destroys the webview (a tray app should not keep WebKit's
//! processes alive while nobody looks); opening it builds a new one, with the size and
//! position the window-state plugin remembered.

use delegate_core::notice::Opens;
use tauri::{AppHandle, Emitter, Manager, WebviewUrl, WebviewWindowBuilder};

pub const LABEL: &str = "main";

/// Shows the window (creating it if needed), on a screen when given: a run, Activity,
/// Employees or Settings.
pub fn open(app: &AppHandle, opens: Option<Opens>) {
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

/// After the main window is gone, ends WebKit's network process, which WebKit keeps alive
/// (about 60 MB) for a web view that no longer exists. WebKit starts a new one when the window
/// opens again.
pub fn destroyed(app: &AppHandle, label: &str) {
    if label != LABEL || app.get_webview_window(LABEL).is_some() {
        return;
    }
    #[cfg(target_os = "linux")]
    for pid in helpers::network_processes() {
        tracing::debug!(pid, "ending WebKit's network process (no window left)");
        helpers::terminate(pid);
    }
}

#[cfg(target_os = "linux")]
mod helpers {
    /// Direct children of this process that are WebKit network processes.
    pub fn network_processes() -> Vec<i32> {
        let me = std::process::id().to_string();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                    return false;
                };
                // "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
                let Some((head, rest)) = stat.rsplit_once(')') else {
                    return false;
                };
                let comm = head.split_once('(').map(|(_, c)| c).unwrap_or("");
                let parent = rest.split_whitespace().nth(1).unwrap_or("");
                comm.starts_with("WebKitNetwork") && parent == me
            })
            .collect()
    }

    pub fn terminate(pid: i32) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        if let Err(e) = kill(Pid::from_raw(pid), Signal::SIGTERM) {
            tracing::debug!(pid, error = %e, "cannot end WebKit's network process");
        }
    }
}
