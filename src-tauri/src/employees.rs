//! The window's commands for setting employees up: the list, saving and deleting, the
//! templates and what the form starts from, the account's projects, the agent CLIs on this
//! machine, and the engine's words for an employee being edited.

use crate::controller::{Request, Shell};
use crate::error::CmdResult;
use delegate_core::agent::AgentInfo;
use delegate_core::config::{AgentKind, Employee, SourceKind};
use delegate_core::employees::{self, EmployeeView};
use delegate_core::source::service::Target;
use delegate_core::template::{self, Template};
use tauri::State;

#[tauri::command]
pub fn list_employees(shell: State<'_, Shell>) -> Vec<EmployeeView> {
    shell.engine().employee_views()
}

/// Adds an employee (`original` empty) or replaces the one called `original`. The workspace
/// is created if missing; `template` copies the shipped template into it (never over files).
#[tauri::command]
pub async fn save_employee(
    shell: State<'_, Shell>,
    original: Option<String>,
    employee: Employee,
    template: Option<String>,
) -> CmdResult<()> {
    Ok(shell
        .call(|reply| Request::SaveEmployee {
            original,
            employee: Box::new(employee),
            template,
            reply,
        })
        .await?)
}

#[tauri::command]
pub async fn delete_employee(shell: State<'_, Shell>, name: String) -> CmdResult<()> {
    Ok(shell
        .call(|reply| Request::DeleteEmployee { name, reply })
        .await?)
}

#[tauri::command]
pub fn list_templates() -> Vec<Template> {
    template::TEMPLATES.to_vec()
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
    Ok(employees::new_employee(
        template.as_deref(),
        &name,
        source,
        &workspace,
        agent,
    )?)
}

/// A sensible home for a new employee's workspace: `~/Delegate/<name>`.
#[tauri::command]
pub fn suggest_workspace(name: String) -> String {
    employees::suggest_workspace(&name)
}

/// What an employee of `source` can work on, listed live from the account (projects,
/// repositories, teams).
#[tauri::command]
pub async fn list_targets(shell: State<'_, Shell>, source: SourceKind) -> CmdResult<Vec<Target>> {
    Ok(shell.engine().targets(source).await?)
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
    employees::agents().await
}

/// Every problem of an employee being edited, by field, in the engine's words.
#[tauri::command]
pub fn check_employee(employee: Employee) -> Vec<delegate_core::config::validate::FieldProblem> {
    employees::problems(&employee)
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
