//! The window's commands for Settings: notifications, the daily budget, starting at login,
//! and the Todoist token (accepted, never sent back).

use crate::controller::{Request, Shell};
use crate::error::CmdResult;
use delegate_core::secrets::TokenStatus;
use delegate_core::settings::SettingsView;
use delegate_core::source::User;
use tauri::State;

#[tauri::command]
pub async fn get_settings(shell: State<'_, Shell>) -> CmdResult<SettingsView> {
    Ok(shell.ask(Request::Settings).await?)
}

#[tauri::command]
pub async fn save_settings(shell: State<'_, Shell>, settings: SettingsView) -> CmdResult<()> {
    Ok(shell
        .call(|reply| Request::SaveSettings { settings, reply })
        .await?)
}

#[tauri::command]
pub fn token_status(shell: State<'_, Shell>) -> TokenStatus {
    shell.engine().token_status()
}

#[tauri::command]
pub async fn set_token(shell: State<'_, Shell>, token: String) -> CmdResult<TokenStatus> {
    Ok(shell
        .call(|reply| Request::SetToken { token, reply })
        .await?)
}

/// Asks Todoist who the token belongs to: "connected as …", or a `token_rejected` error.
#[tauri::command]
pub async fn test_token(shell: State<'_, Shell>) -> CmdResult<User> {
    Ok(shell.engine().test_token().await?)
}

#[tauri::command]
pub async fn clear_token(shell: State<'_, Shell>) -> CmdResult<TokenStatus> {
    Ok(shell.call(Request::ClearToken).await?)
}
