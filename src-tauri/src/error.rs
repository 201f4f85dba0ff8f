//! Errors as the window receives them: `{ code, message }`, so the UI branches on the code
//! and shows the message, which always says what to do.

use delegate_core::EngineError;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
}

impl CommandError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

pub type CmdResult<T> = Result<T, CommandError>;

impl From<EngineError> for CommandError {
    fn from(e: EngineError) -> Self {
        let code = match &e {
            EngineError::Config(_) => "config",
            EngineError::History(_) => "history",
            EngineError::Queue(_) => "queue",
            EngineError::Secret(_) => "keychain",
            EngineError::Todoist(delegate_core::source::TodoistError::Unauthorized) => {
                "token_rejected"
            }
            EngineError::Todoist(_) => "todoist",
            EngineError::Worker(_) => "worker",
            EngineError::NoToken => "no_token",
            EngineError::NoEmployees => "no_employees",
            EngineError::Disabled(_) => "disabled",
            EngineError::Review(_) => "invalid",
            EngineError::Crashed(_) => "internal",
            EngineError::Employee(e) => match e {
                delegate_core::employees::EmployeeError::Invalid(_) => "invalid",
                delegate_core::employees::EmployeeError::Config(
                    delegate_core::config::ConfigError::DuplicateEmployee(_),
                ) => "duplicate",
                delegate_core::employees::EmployeeError::Config(
                    delegate_core::config::ConfigError::NoSuchEmployee(_),
                ) => "not_found",
                delegate_core::employees::EmployeeError::Config(_) => "config",
                delegate_core::employees::EmployeeError::Template(_) => "template",
                delegate_core::employees::EmployeeError::Workspace { .. } => "workspace",
            },
        };
        Self::new(code, e.to_string())
    }
}

macro_rules! from_error {
    ($($t:ty => $code:literal),* $(,)?) => {$(
        impl From<$t> for CommandError {
            fn from(e: $t) -> Self {
                Self::new($code, e.to_string())
            }
        }
    )*};
}

impl From<delegate_core::source::TodoistError> for CommandError {
    fn from(e: delegate_core::source::TodoistError) -> Self {
        let code = match e {
            delegate_core::source::TodoistError::Unauthorized => "token_rejected",
            _ => "todoist",
        };
        Self::new(code, e.to_string())
    }
}

from_error! {
    delegate_core::config::ConfigError => "config",
    delegate_core::history::HistoryError => "history",
    delegate_core::source::QueueError => "queue",
    delegate_core::secrets::SecretError => "keychain",
    delegate_core::template::TemplateError => "template",
}
