//! The window's commands for reviewing a run: approve it, request changes, open a draft in
//! the editor or its folder, open the task where it lives. Which files and links may be opened
//! is the engine's rule; the controller opens them.

use crate::controller::{Request, Shell};
use crate::error::CmdResult;

pub async fn approve_run(shell: &Shell, id: i64) -> CmdResult<()> {
    Ok(shell.engine().approve(id).await?)
}

pub async fn request_changes(shell: &Shell, id: i64, feedback: String) -> CmdResult<()> {
    Ok(shell.engine().request_changes(id, &feedback).await?)
}

/// Posts the person's answer to a run's questions on its task; the next poll continues the
/// agent's session with it.
pub async fn answer_run(shell: &Shell, id: i64, answer: String) -> CmdResult<()> {
    Ok(shell.engine().answer(id, &answer).await?)
}

/// Opens a draft of a run in the default editor (`reveal = false`) or shows it in its folder.
/// Only drafts of that run inside its employee's workspace.
pub async fn open_draft(shell: &Shell, id: i64, path: String, reveal: bool) -> CmdResult<()> {
    Ok(shell
        .call(|reply| Request::OpenDraft {
            run: id,
            path,
            reveal,
            reply,
        })
        .await?)
}

/// Opens the run's task in the browser: only its source's own task pages are opened
/// (`SourceInfo::task_links`).
pub async fn open_task(shell: &Shell, id: i64) -> CmdResult<()> {
    Ok(shell
        .call(|reply| Request::OpenTask { run: id, reply })
        .await?)
}
