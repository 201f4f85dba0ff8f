//! Autostart on login: on by default after the first successful setup, switchable in the
//! settings, starting hidden in the tray.

use crate::state::AppState;
use delegate_core::config::edit;
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt;

/// The folder Linux desktops read login items from; older autostart plugins fail when it
/// does not exist.
fn autostart_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config")))
        .map(|c| c.join("autostart"))
}

pub fn autostart_enabled(app: &AppHandle) -> bool {
    app.autolaunch().is_enabled().unwrap_or(false)
}

/// Turns starting on login on or off and remembers the choice in `config.toml`.
pub fn set_autostart(app: &AppHandle, enabled: bool) -> Result<(), String> {
    let launcher = app.autolaunch();
    if enabled {
        if let Some(dir) = autostart_dir() {
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        launcher
            .enable()
            .map_err(|e| format!("cannot turn on start at login: {e}"))?;
    } else if launcher.is_enabled().unwrap_or(false) {
        launcher
            .disable()
            .map_err(|e| format!("cannot turn off start at login: {e}"))?;
    }
    if let Some(state) = app.try_state::<AppState>() {
        edit::set_value(
            &state.engine.paths().config_file,
            "desktop",
            "autostart",
            enabled,
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The first time Delegate has an employee, start on login unless the person already chose.
pub fn autostart_after_setup(app: &AppHandle) {
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    let config = state.engine.config();
    if config.desktop.autostart.is_none() && !config.employees.is_empty() {
        match set_autostart(app, true) {
            Ok(()) => {
                tracing::info!("start at login turned on after the first setup");
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    if let Some(state) = app.try_state::<AppState>()
                        && let Err(e) = state.reload().await
                    {
                        tracing::warn!(error = %e, "cannot reload the config");
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot turn on start at login"),
        }
    }
}
