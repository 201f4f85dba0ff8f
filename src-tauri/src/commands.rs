//! The window's commands about what is going on: the board, the history, the local queue,
//! running and pausing, quitting. Each one asks the engine (or, for what the controller
//! owns, the controller) and returns plain data; errors cross as `{ code, message }`.

use crate::controller::{Request, Shell};
use crate::error::CmdResult;
use delegate_core::activity::RunQuery;
use delegate_core::drafts::RunView;
use delegate_core::history::RunSummary;
use delegate_core::source::local::LocalTask;
use delegate_core::status::Board;
use tauri::State;

#[tauri::command]
pub async fn get_status(shell: State<'_, Shell>) -> CmdResult<Board> {
    Ok(shell.ask(Request::Status).await?)
}

#[tauri::command]
pub fn list_runs(shell: State<'_, Shell>, query: Option<RunQuery>) -> CmdResult<Vec<RunSummary>> {
    Ok(shell.engine().runs(query.unwrap_or_default())?)
}

/// A run in full, with its drafts' text (only files inside the employee's workspace).
#[tauri::command]
pub fn get_run(shell: State<'_, Shell>, id: i64) -> CmdResult<RunView> {
    Ok(shell.engine().run_view(id)?)
}

#[tauri::command]
pub fn add_local_task(
    shell: State<'_, Shell>,
    employee: String,
    title: String,
    description: Option<String>,
) -> CmdResult<String> {
    Ok(shell
        .engine()
        .add_local_task(&employee, &title, description.as_deref().unwrap_or(""), 1)?)
}

/// Local-queue tasks, newest first.
#[tauri::command]
pub fn list_local_tasks(shell: State<'_, Shell>) -> CmdResult<Vec<LocalTask>> {
    Ok(shell.engine().local_tasks()?)
}

/// Wakes every employee for an immediate poll (a poll costs no tokens).
#[tauri::command]
pub fn run_now(shell: State<'_, Shell>) {
    shell.engine().run_now();
}

#[tauri::command]
pub fn set_paused(shell: State<'_, Shell>, employee: Option<String>, paused: bool) {
    shell.engine().set_paused(employee.as_deref(), paused);
}

#[tauri::command]
pub fn quit(shell: State<'_, Shell>) {
    shell.send(Request::Quit);
}
