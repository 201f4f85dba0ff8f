//! The window's commands: each checks its input, calls the engine and returns plain data.
//! Errors cross as `{ code, message }`. The token is accepted but never sent back.

use crate::error::{CmdResult, CommandError};
use crate::state::AppState;
use delegate_core::config::{self, Employee, NotificationSettings, edit};
use delegate_core::history::{RunDetail, RunFilter, RunStatus, RunSummary};
use delegate_core::secrets::TokenStatus;
use delegate_core::source::User;
use delegate_core::source::local::LocalTask;
use delegate_core::status::Board;
use delegate_core::template::{self, Template};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, State};

/// Largest draft sent to the window.
#[cfg(test)]
const MAX_DRAFT_BYTES: u64 = delegate_core::drafts::MAX_SHOWN_BYTES;

#[tauri::command]
pub fn get_status(state: State<'_, AppState>) -> Board {
    state.board()
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct EmployeeView {
    pub employee: Employee,
    /// The tool scope in plain words.
    pub permissions: String,
    pub paused: bool,
    /// The OS sandbox in plain words.
    pub sandbox: String,
    /// Dollars recorded today, for the budget bar.
    pub spent_today: f64,
}

#[tauri::command]
pub fn list_employees(state: State<'_, AppState>) -> Vec<EmployeeView> {
    state
        .engine
        .config()
        .employees
        .into_iter()
        .map(|e| EmployeeView {
            permissions: delegate_core::agent::scope(&e),
            sandbox: delegate_core::sandbox::summary(&e),
            paused: state.engine.is_paused(&e.name),
            spent_today: state
                .engine
                .history()
                .spend_since(Some(&e.name), delegate_core::worker::start_of_today())
                .unwrap_or(0.0),
            employee: e,
        })
        .collect()
}

/// Adds an employee (`original` empty) or replaces the one called `original`. The workspace
/// is created if missing; `template` copies the shipped template into it (never over files).
#[tauri::command]
pub async fn save_employee(
    app: AppHandle,
    state: State<'_, AppState>,
    original: Option<String>,
    employee: Employee,
    template: Option<String>,
) -> CmdResult<()> {
    state
        .engine
        .save_employee(original.as_deref(), &employee, template.as_deref())
        .await?;
    state.align_board();
    crate::settings::autostart_after_setup(&app);
    crate::events::status_changed(&app);
    Ok(())
}

/// Config errors a person can act on get their own code.
fn config_error(e: config::ConfigError) -> CommandError {
    match e {
        config::ConfigError::DuplicateEmployee(_) => CommandError::new("duplicate", e.to_string()),
        config::ConfigError::NoSuchEmployee(_) => CommandError::new("not_found", e.to_string()),
        config::ConfigError::Invalid { .. } | config::ConfigError::BadSetting(_) => {
            CommandError::new("invalid", e.to_string())
        }
        other => other.into(),
    }
}

#[tauri::command]
pub async fn delete_employee(
    app: AppHandle,
    state: State<'_, AppState>,
    name: String,
) -> CmdResult<()> {
    edit::remove_employee(&state.engine.paths().config_file, &name).map_err(config_error)?;
    state.reload().await?;
    crate::events::status_changed(&app);
    Ok(())
}

#[tauri::command]
pub fn list_templates() -> Vec<Template> {
    template::TEMPLATES.to_vec()
}

#[derive(Debug, Default, Deserialize, ts_rs::TS)]
pub struct RunQuery {
    pub employee: Option<String>,
    pub status: Option<RunStatus>,
    pub text: Option<String>,
    #[ts(as = "Option<f64>")]
    pub before_id: Option<i64>,
    #[ts(as = "Option<f64>")]
    pub limit: Option<usize>,
}

#[tauri::command]
pub fn list_runs(
    state: State<'_, AppState>,
    query: Option<RunQuery>,
) -> CmdResult<Vec<RunSummary>> {
    let q = query.unwrap_or_default();
    Ok(state.engine.history().list(&RunFilter {
        employee: q.employee,
        status: q.status,
        text: q.text,
        before_id: q.before_id,
        limit: q.limit.unwrap_or(50),
    })?)
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct DraftFile {
    pub path: String,
    pub inside_workspace: bool,
    /// The text, when it could be read.
    pub content: Option<String>,
    /// Why it could not be read.
    pub problem: Option<String>,
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct RunView {
    pub run: RunDetail,
    pub drafts: Vec<DraftFile>,
}

/// A run in full, with its drafts' text. Only files inside the employee's workspace are
/// read; a path that leaves it (`..`, a symlink, an absolute path) is refused.
#[tauri::command]
pub fn get_run(state: State<'_, AppState>, id: i64) -> CmdResult<RunView> {
    let run = state.engine.history().get(id)?;
    let workspace = state.workspace_of(&run.run.employee);
    let drafts = run
        .drafts
        .iter()
        .map(|d| {
            let (content, problem) = match &workspace {
                None => (
                    None,
                    Some("the employee no longer exists, so its workspace is unknown".into()),
                ),
                Some(ws) => read_draft(ws, &d.path),
            };
            DraftFile {
                path: d.path.clone(),
                inside_workspace: d.inside_workspace,
                content,
                problem,
            }
        })
        .collect();
    Ok(RunView { run, drafts })
}

fn read_draft(workspace: &std::path::Path, rel: &str) -> (Option<String>, Option<String>) {
    match delegate_core::drafts::read(workspace, rel) {
        Ok(text) => (Some(text), None),
        Err(e) => (None, Some(e.to_string())),
    }
}

#[tauri::command]
pub fn add_local_task(
    state: State<'_, AppState>,
    employee: String,
    title: String,
    description: Option<String>,
) -> CmdResult<String> {
    Ok(state
        .engine
        .add_local_task(&employee, &title, description.as_deref().unwrap_or(""), 1)?)
}

/// Local-queue tasks, newest first.
#[tauri::command]
pub fn list_local_tasks(state: State<'_, AppState>) -> CmdResult<Vec<LocalTask>> {
    Ok(state.engine.queue().all_tasks(200)?)
}

#[derive(Debug, Serialize, Deserialize, ts_rs::TS)]
pub struct SettingsView {
    pub notifications: NotificationSettings,
    pub autostart: bool,
    pub global_daily_usd: Option<f64>,
}

#[tauri::command]
pub fn get_settings(app: AppHandle, state: State<'_, AppState>) -> SettingsView {
    let config = state.engine.config();
    SettingsView {
        notifications: config.notifications,
        autostart: crate::settings::autostart_enabled(&app),
        global_daily_usd: config.budget.daily_usd,
    }
}

#[tauri::command]
pub async fn save_settings(
    app: AppHandle,
    state: State<'_, AppState>,
    settings: SettingsView,
) -> CmdResult<()> {
    edit::save_settings(
        &state.engine.paths().config_file,
        &settings.notifications,
        settings.global_daily_usd,
    )
    .map_err(config_error)?;
    crate::settings::set_autostart(&app, settings.autostart)
        .map_err(|m| CommandError::new("autostart", m))?;
    state.reload().await?;
    Ok(())
}

#[tauri::command]
pub fn token_status(state: State<'_, AppState>) -> TokenStatus {
    state.engine.token_status()
}

/// Tells every window that the token changed (never the token itself).
fn token_changed(app: &AppHandle, status: &TokenStatus) {
    crate::notify::TOKEN_REJECTED_TOLD.store(false, std::sync::atomic::Ordering::SeqCst);
    let _ = app.emit(TOKEN_EVENT, status);
}

pub const TOKEN_EVENT: &str = "delegate://token";

#[tauri::command]
pub async fn set_token(
    app: AppHandle,
    state: State<'_, AppState>,
    token: String,
) -> CmdResult<TokenStatus> {
    let status = state.engine.set_token(&token).await?;
    token_changed(&app, &status);
    Ok(status)
}

/// Asks Todoist who the token belongs to: "connected as …", or a `token_rejected` error.
#[tauri::command]
pub async fn test_token(state: State<'_, AppState>) -> CmdResult<User> {
    Ok(state.engine.test_token().await?)
}

#[tauri::command]
pub async fn clear_token(app: AppHandle, state: State<'_, AppState>) -> CmdResult<TokenStatus> {
    let status = state.engine.clear_token().await?;
    token_changed(&app, &status);
    Ok(status)
}

/// Wakes every employee for an immediate poll (a poll costs no tokens).
#[tauri::command]
pub fn run_now(state: State<'_, AppState>) {
    state.engine.run_now();
}

#[tauri::command]
pub fn set_paused(state: State<'_, AppState>, employee: Option<String>, paused: bool) {
    state.engine.set_paused(employee.as_deref(), paused);
}

#[tauri::command]
pub fn quit(app: AppHandle) {
    tauri::async_runtime::spawn(crate::shutdown::quit(app));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_keeps_its_kind_across_the_boundary() {
        use delegate_core::EngineError;
        use delegate_core::secrets::SecretError;
        use delegate_core::source::QueueError;
        let code = |e: EngineError| CommandError::from(e).code;
        assert_eq!(code(SecretError::NotAToken.into()), "invalid");
        assert_eq!(code(SecretError::Empty.into()), "invalid");
        assert_eq!(
            code(SecretError::Keychain("locked".into()).into()),
            "keychain"
        );
        assert_eq!(
            code(QueueError::NotLocal("Writer".into()).into()),
            "not_local"
        );
        assert_eq!(
            code(QueueError::NoSuchEmployee("Nobody".into()).into()),
            "not_found"
        );
        assert_eq!(
            code(delegate_core::source::TodoistError::Unauthorized.into()),
            "token_rejected"
        );
    }

    #[test]
    fn config_errors_get_codes() {
        assert_eq!(
            config_error(config::ConfigError::DuplicateEmployee("A".into())).code,
            "duplicate"
        );
        assert_eq!(
            config_error(config::ConfigError::NoSuchEmployee("A".into())).code,
            "not_found"
        );
    }

    #[test]
    fn drafts_are_read_only_inside_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(ws.join("drafts")).unwrap();
        std::fs::write(ws.join("drafts/a.md"), "# Hello").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "private").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), ws.join("drafts/link.md"))
            .unwrap();
        std::fs::write(
            ws.join("big.md"),
            vec![b'x'; (MAX_DRAFT_BYTES + 1) as usize],
        )
        .unwrap();

        assert_eq!(
            read_draft(&ws, "drafts/a.md"),
            (Some("# Hello".into()), None)
        );
        for escape in [
            "../secret.txt",
            "drafts/link.md",
            dir.path().join("secret.txt").to_str().unwrap(),
        ] {
            let (content, problem) = read_draft(&ws, escape);
            assert!(content.is_none(), "{escape} was read");
            assert!(
                problem
                    .unwrap()
                    .contains("outside the employee's workspace"),
                "{escape}"
            );
        }
        assert!(
            read_draft(&ws, "big.md")
                .1
                .unwrap()
                .contains("larger than 1 MB")
        );
        assert!(
            read_draft(&ws, "drafts/gone.md")
                .1
                .unwrap()
                .contains("no longer exists")
        );
    }
}
