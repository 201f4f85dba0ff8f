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
    Ok(shell.engine().runs(query.unwrap_or_default())?)
}

/// A run in full, with its drafts' text (only files inside the employee's workspace).
pub async fn get_run(shell: &Shell, id: i64) -> CmdResult<RunView> {
    Ok(shell.engine().run_view(id)?)
}

pub async fn add_local_task(
    shell: &Shell,
    employee: String,
    title: String,
    description: Option<String>,
) -> CmdResult<String> {
    Ok(shell
        .engine()
        .add_local_task(&employee, &title, description.as_deref().unwrap_or(""), 1)?)
}

/// Local-queue tasks, newest first.
pub async fn list_local_tasks(shell: &Shell) -> CmdResult<Vec<LocalTask>> {
    Ok(shell.engine().local_tasks()?)
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
