//! The window's commands for Settings: notifications, the daily budget, starting at login,
//! and each source's token (accepted, never sent back).

use crate::controller::{Request, Shell};
use crate::error::CmdResult;
use delegate_core::config::SourceKind;
use delegate_core::secrets::TokenStatus;
use delegate_core::settings::SettingsView;
use delegate_core::source::SourceInfo;

pub async fn get_settings(shell: &Shell) -> CmdResult<SettingsView> {
    Ok(shell.ask(Request::Settings).await?)
}

pub async fn save_settings(shell: &Shell, settings: SettingsView) -> CmdResult<()> {
    Ok(shell
        .call(|reply| Request::SaveSettings { settings, reply })
        .await?)
}

pub async fn token_status(shell: &Shell, source: SourceKind) -> CmdResult<TokenStatus> {
    Ok(shell.engine().source_token_status(source).await)
}

pub async fn set_token(shell: &Shell, token: String, source: SourceKind) -> CmdResult<TokenStatus> {
    Ok(shell
        .call(|reply| Request::SetToken {
            token,
            source,
            reply,
        })
        .await?)
}

/// Asks the source who its token belongs to: "connected as …", or a `token_rejected` error.
pub async fn check_token(shell: &Shell, source: SourceKind) -> CmdResult<String> {
    Ok(shell.engine().check_token(source).await?)
}

/// Every task source Delegate knows, with its words and what it needs.
pub async fn list_sources(_: &Shell) -> CmdResult<Vec<SourceInfo>> {
    Ok(delegate_core::source::SOURCES.to_vec())
}

pub async fn clear_token(shell: &Shell, source: SourceKind) -> CmdResult<TokenStatus> {
    Ok(shell
        .call(|reply| Request::ClearToken { source, reply })
        .await?)
}
