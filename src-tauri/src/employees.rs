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

pub async fn list_employees(shell: &Shell) -> CmdResult<Vec<EmployeeView>> {
    Ok(shell.engine().employee_views())
}

/// Adds an employee (`original` empty) or replaces the one called `original`. The workspace
/// is created if missing; `template` copies the shipped template into it (never over files).
pub async fn save_employee(
    shell: &Shell,
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

pub async fn delete_employee(shell: &Shell, name: String) -> CmdResult<()> {
    Ok(shell
        .call(|reply| Request::DeleteEmployee { name, reply })
        .await?)
}

pub async fn list_templates(_: &Shell) -> CmdResult<Vec<Template>> {
    Ok(template::TEMPLATES.to_vec())
}

/// A new employee with a template's defaults (or plain defaults without one).
pub async fn template_employee(
    _: &Shell,
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
pub async fn suggest_workspace(_: &Shell, name: String) -> CmdResult<String> {
    Ok(employees::suggest_workspace(&name))
}

/// What an employee of `source` can work on, listed live from the account (projects,
/// repositories, teams).
pub async fn list_targets(shell: &Shell, source: SourceKind) -> CmdResult<Vec<Target>> {
    Ok(shell.engine().targets(source).await?)
}

/// One agent as this machine has it (installed, version, logged in), for the employee form
/// and onboarding; `command` checks a program other than the agent's default.
pub async fn check_agent(
    _: &Shell,
    agent: AgentKind,
    command: Option<String>,
) -> CmdResult<AgentInfo> {
    Ok(delegate_core::agent::describe(agent, command.as_deref()).await)
}

/// Every agent Delegate knows, as this machine has them.
pub async fn list_agents(_: &Shell) -> CmdResult<Vec<AgentInfo>> {
    Ok(employees::agents().await)
}

/// Every problem of an employee being edited, by field, in the engine's words.
pub async fn check_employee(
    _: &Shell,
    employee: Employee,
) -> CmdResult<Vec<delegate_core::config::validate::FieldProblem>> {
    Ok(employees::problems(&employee))
}

/// What an employee's agent may do, in plain words, as the agent's flags give it.
pub async fn describe_scope(_: &Shell, employee: Employee) -> CmdResult<String> {
    Ok(delegate_core::agent::scope(&employee))
}

/// An employee's OS sandbox as the form shows it: choices, words, this machine's support.
pub async fn describe_sandbox(
    _: &Shell,
    employee: Employee,
) -> CmdResult<delegate_core::sandbox::SandboxView> {
    Ok(delegate_core::sandbox::view(&employee))
}
