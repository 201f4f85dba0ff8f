//! The window's commands by name, as they arrive over the window channel: each name, the
//! arguments it takes (as the web view sends them to `invoke`, the generated bindings' types)
//! and the function in [`crate::commands`], [`crate::employees`], [`crate::settings`] or
//! [`crate::review`] that carries it out. `build.rs` grants the window these names and no
//! other (a test keeps the two lists equal).

use crate::controller::Shell;
use crate::error::{CmdResult, CommandError};
use crate::{commands, employees, review, settings};
use delegate_core::activity::RunQuery;
use delegate_core::config::{AgentKind, Employee, SourceKind};
use delegate_core::settings::SettingsView;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

macro_rules! window_commands {
    ($( $module:ident :: $name:ident ( $( $arg:ident : $ty:ty ),* ) ; )*) => {
        /// Every command the window may call.
        #[cfg(test)]
        pub const COMMANDS: &[&str] = &[$( stringify!($name) ),*];

        /// Carries out `command` with the window's `args`; the answer as the window receives
        /// it.
        pub async fn call(shell: &Shell, command: &str, args: Value) -> Result<Value, CommandError> {
            match command {
                $(
                    stringify!($name) => {
                        #[derive(serde::Deserialize)]
                        #[serde(rename_all = "camelCase")]
                        struct Args { $( $arg: $ty ),* }
                        let Args { $( $arg ),* } = arguments(command, args)?;
                        answer($module::$name(shell $(, $arg)*).await)
                    }
                )*
                _ => Err(CommandError {
                    code: "unknown_command",
                    message: format!("Delegate has no command {command:?}; update Delegate"),
                }),
            }
        }
    };
}

window_commands! {
    commands::get_status();
    commands::list_runs(query: Option<RunQuery>);
    commands::get_run(id: i64);
    commands::add_local_task(employee: String, title: String, description: Option<String>);
    commands::list_local_tasks();
    commands::run_now();
    commands::set_paused(employee: Option<String>, paused: bool);
    commands::quit();
    employees::list_employees();
    employees::save_employee(original: Option<String>, employee: Employee, template: Option<String>);
    employees::delete_employee(name: String);
    employees::list_templates();
    employees::template_employee(
        template: Option<String>,
        name: String,
        source: SourceKind,
        workspace: String,
        agent: Option<AgentKind>
    );
    employees::suggest_workspace(name: String);
    employees::list_targets(source: SourceKind);
    employees::check_agent(agent: AgentKind, command: Option<String>);
    employees::list_agents();
    employees::describe_scope(employee: Employee);
    employees::describe_sandbox(employee: Employee);
    employees::check_employee(employee: Employee);
    settings::get_settings();
    settings::save_settings(settings: SettingsView);
    settings::token_status(source: SourceKind);
    settings::set_token(token: String, source: SourceKind);
    settings::clear_token(source: SourceKind);
    settings::check_token(source: SourceKind);
    settings::list_sources();
    review::approve_run(id: i64);
    review::request_changes(id: i64, feedback: String);
    review::answer_run(id: i64, answer: String);
    review::open_draft(id: i64, path: String, reveal: bool);
    review::open_task(id: i64);
}

/// The arguments of `command`; missing ones are `null` (an `Option` reads it as none), as
/// Tauri's own commands read them.
fn arguments<T: DeserializeOwned>(command: &str, args: Value) -> Result<T, CommandError> {
    let args = if args.is_null() {
        Value::Object(serde_json::Map::new())
    } else {
        args
    };
    serde_json::from_value(args).map_err(|e| CommandError {
        code: "invalid",
        message: format!("invalid arguments for {command}: {e}"),
    })
}

fn answer<T: Serialize>(result: CmdResult<T>) -> Result<Value, CommandError> {
    let value = result?;
    serde_json::to_value(value).map_err(|e| CommandError {
        code: "internal",
        message: format!("cannot send the answer to the window: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names build.rs grants the window: exactly the commands served here and the
    /// channel's own.
    #[test]
    fn the_window_is_granted_exactly_the_commands_served() {
        let manifest = include_str!("../build.rs");
        let granted: std::collections::BTreeSet<&str> = manifest
            .split_once("let commands = &[")
            .and_then(|(_, rest)| rest.split_once("];"))
            .map(|(list, _)| list)
            .unwrap_or_default()
            .split('"')
            .skip(1)
            .step_by(2)
            .collect();
        let served: std::collections::BTreeSet<&str> = COMMANDS
            .iter()
            .chain(crate::window::host::OWN_COMMANDS)
            .copied()
            .collect();
        assert_eq!(granted, served);
    }
}
