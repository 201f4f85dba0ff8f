//! Commands for reviewing drafts and setting employees up: approve, request changes, open a
//! draft in the editor or its folder, the account's projects, the agent CLI check, and the
//! template defaults. Each is a few lines over the engine.

use crate::error::{CmdResult, CommandError};
use crate::state::AppState;
use delegate_core::agent::AgentInfo;
use delegate_core::config::{AgentKind, Employee, SourceKind};
use delegate_core::source::Project;
use std::path::PathBuf;
use tauri::State;
use tauri_plugin_opener::OpenerExt;

#[tauri::command]
pub async fn approve_run(state: State<'_, AppState>, id: i64) -> CmdResult<()> {
    Ok(state.engine.approve(id).await?)
}

#[tauri::command]
pub async fn request_changes(
    state: State<'_, AppState>,
    id: i64,
    feedback: String,
) -> CmdResult<()> {
    Ok(state.engine.request_changes(id, &feedback).await?)
}

/// Opens a draft of a run in the default editor (`reveal = false`) or shows it in its folder.
/// Only files inside the employee's workspace.
#[tauri::command]
pub fn open_draft(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    id: i64,
    path: String,
    reveal: bool,
) -> CmdResult<()> {
    open_draft_file(&app, &state, id, &path, reveal)
}

/// Opens (or reveals) one draft of a run, only when it is a draft of that run inside its
/// employee's workspace.
fn open_draft_file(
    app: &tauri::AppHandle,
    state: &AppState,
    id: i64,
    path: &str,
    reveal: bool,
) -> CmdResult<()> {
    let run = state.engine.history().get(id)?;
    let workspace = state
        .workspace_of(&run.run.employee)
        .ok_or_else(|| CommandError::new("not_found", "the employee no longer exists"))?;
    let full = delegate_core::drafts::locate(&workspace, &run, path).map_err(|e| {
        let code = match e {
            delegate_core::drafts::DraftError::OutsideWorkspace => "outside_workspace",
            _ => "not_found",
        };
        CommandError::new(code, e.to_string())
    })?;
    let opener = app.opener();
    let opened = if reveal {
        opener.reveal_item_in_dir(&full)
    } else {
        opener.open_path(full.to_string_lossy(), None::<&str>)
    };
    opened.map_err(|e| CommandError::new("open", format!("cannot open {}: {e}", full.display())))
}

/// Opens the run's first draft inside its workspace in the editor (the notification's
/// "Open draft" button).
pub fn open_first_draft(app: &tauri::AppHandle, state: &AppState, id: i64) -> CmdResult<()> {
    let run = state.engine.history().get(id)?;
    let draft = run
        .drafts
        .iter()
        .find(|d| d.inside_workspace)
        .ok_or_else(|| CommandError::new("not_found", "this run has no draft in its workspace"))?;
    open_draft_file(app, state, id, &draft.path, false)
}

/// Opens the run's task in Todoist, in the browser. Only Todoist task links are opened.
#[tauri::command]
pub fn open_task(app: tauri::AppHandle, state: State<'_, AppState>, id: i64) -> CmdResult<()> {
    let run = state.engine.history().get(id)?;
    let url = run
        .task_url
        .filter(|u| u.starts_with("https://app.todoist.com/app/task/"))
        .ok_or_else(|| {
            CommandError::new(
                "not_found",
                "this task has no Todoist link (local-queue tasks live only here)",
            )
        })?;
    app.opener()
        .open_url(&url, None::<&str>)
        .map_err(|e| CommandError::new("open", format!("cannot open the browser: {e}")))
}

/// The Todoist account's projects, for choosing an employee's project.
#[tauri::command]
pub async fn list_projects(state: State<'_, AppState>) -> CmdResult<Vec<Project>> {
    let account = state.engine.account().await?;
    Ok(account.client().projects().await?)
}

/// One agent as this machine has it (installed, version, logged in), for the employee form
/// and onboarding; `command` checks a program other than the agent's default.
#[tauri::command]
pub async fn check_agent(agent: AgentKind, command: Option<String>) -> AgentInfo {
    delegate_core::agent::describe(agent, command.as_deref()).await
}

/// Every agent Delegate knows, as this machine has them.
#[tauri::command]
pub async fn list_agents() -> Vec<AgentInfo> {
    let mut out = Vec::new();
    for a in delegate_core::agent::all() {
        out.push(delegate_core::agent::describe(a.kind(), None).await);
    }
    out
}

/// Every problem of an employee being edited, by field, in the engine's words.
#[tauri::command]
pub fn check_employee(employee: Employee) -> Vec<delegate_core::config::validate::FieldProblem> {
    delegate_core::employees::problems(&employee)
}

/// What an employee's agent may do, in plain words, as the agent's flags give it.
#[tauri::command]
pub fn describe_scope(employee: Employee) -> String {
    delegate_core::agent::scope(&employee)
}

/// An employee's OS sandbox as the form shows it: choices, words, this machine's support.
#[tauri::command]
pub fn describe_sandbox(employee: Employee) -> delegate_core::sandbox::SandboxView {
    delegate_core::sandbox::view(&employee)
}

/// A new employee with a template's defaults (or plain defaults without one).
#[tauri::command]
pub fn template_employee(
    template: Option<String>,
    name: String,
    source: SourceKind,
    workspace: String,
    agent: Option<AgentKind>,
) -> CmdResult<Employee> {
    let mut e = Employee::new(name.trim(), source, PathBuf::from(workspace.trim()));
    if let Some(id) = template {
        delegate_core::template::find(&id)?.apply_defaults(&mut e);
    }
    if let Some(kind) = agent {
        // The template's defaults are Claude Code's; another agent keeps only what it takes.
        delegate_core::agent::switch(&mut e, kind);
    }
    Ok(e)
}

/// A sensible home for a new employee's workspace: `~/Delegate/<name>`.
#[tauri::command]
pub fn suggest_workspace(name: String) -> String {
    let slug: String = name
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join("Delegate")
        .join(if slug.is_empty() {
            "employee".into()
        } else {
            slug
        })
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspaces_are_named_after_the_employee() {
        assert!(
            suggest_workspace("LinkedIn Writer!".into()).ends_with("/Delegate/linkedin-writer")
        );
        assert!(suggest_workspace("  ".into()).ends_with("/Delegate/employee"));
    }

    #[test]
    fn template_defaults_come_from_the_engine() {
        let e = template_employee(
            Some("code-reviewer".into()),
            "Rev".into(),
            SourceKind::Local,
            "/w".into(),
            None,
        )
        .unwrap();
        assert_eq!(e.disallowed_tools, ["Bash"]);
        let g = template_employee(
            Some("code-reviewer".into()),
            "Rev".into(),
            SourceKind::Local,
            "/w".into(),
            Some(AgentKind::Gemini),
        )
        .unwrap();
        assert_eq!((g.agent, g.max_task_usd), (AgentKind::Gemini, None));
        assert_eq!(
            template_employee(
                Some("nope".into()),
                "R".into(),
                SourceKind::Local,
                "/w".into(),
                None
            )
            .unwrap_err()
            .code,
            "template"
        );
    }
}
