//! The login item through the autostart plugin (it starts Delegate hidden in the tray). When
//! to turn it on is the engine's call ([`delegate_core::Engine::autostart_due`]); this only
//! switches it.

use tauri::AppHandle;
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

pub fn enabled(app: &AppHandle) -> bool {
    app.autolaunch().is_enabled().unwrap_or(false)
}

/// Turns starting at login on or off.
pub fn set(app: &AppHandle, enabled: bool) -> Result<(), String> {
    let launcher = app.autolaunch();
    if enabled {
        if let Some(dir) = autostart_dir() {
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        launcher
            .enable()
            .map_err(|e| format!("cannot turn on start at login: {e}"))
    } else if launcher.is_enabled().unwrap_or(false) {
        launcher
            .disable()
            .map_err(|e| format!("cannot turn off start at login: {e}"))
    } else {
        Ok(())
    }
}
