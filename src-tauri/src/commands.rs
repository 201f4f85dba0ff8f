//! The window's commands about what is going on: the board, the history, the local queue,
//! running and pausing, quitting. Each one asks the engine (or, for what the controller
//! owns, the controller) and returns plain data; errors cross as `{ code, message }`.
//! [`crate::api`] names them for the window.

use crate::controller::{Request, Shell};
use crate::error::CmdResult;
use delegate_core::activity::RunQuery;
use delegate_core::drafts::RunView;
use delegate_core::history::RunSummary;
use delegate_core::source::local::LocalTask;
use delegate_core::status::Board;

pub async fn get_status(shell: &Shell) -> CmdResult<Board> {
    Ok(shell.ask(Request::Status).await?)
}

pub async fn list_runs(shell: &Shell, query: Option<RunQuery>) -> CmdResult<Vec<RunSummary>> {
    Ok(shell
        .blocking(move |e| e.runs(query.unwrap_or_default()))
        .await??)
}

/// A run in full, with its drafts' text (only files inside the employee's workspace).
pub async fn get_run(shell: &Shell, id: i64) -> CmdResult<RunView> {
    Ok(shell.blocking(move |e| e.run_view(id)).await??)
}

pub async fn add_local_task(
    shell: &Shell,
    employee: String,
    title: String,
    description: Option<String>,
) -> CmdResult<String> {
    let description = description.unwrap_or_default();
    Ok(shell
        .blocking(move |e| e.add_local_task(&employee, &title, &description, 1))
        .await??)
}

/// Local-queue tasks, newest first.
pub async fn list_local_tasks(shell: &Shell) -> CmdResult<Vec<LocalTask>> {
    Ok(shell.blocking(|e| e.local_tasks()).await??)
}

/// Wakes every employee for an immediate poll (a poll costs no tokens).
pub async fn run_now(shell: &Shell) -> CmdResult<()> {
    shell.engine().run_now();
    Ok(())
}

pub async fn set_paused(shell: &Shell, employee: Option<String>, paused: bool) -> CmdResult<()> {
    shell.engine().set_paused(employee.as_deref(), paused);
    Ok(())
}

pub async fn quit(shell: &Shell) -> CmdResult<()> {
    shell.send(Request::Quit);
    Ok(())
}
