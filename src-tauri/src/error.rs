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
            EngineError::Queue(e) => queue_code(e),
            EngineError::Secret(e) if e.is_bad_input() => "invalid",
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

fn queue_code(e: &delegate_core::source::QueueError) -> &'static str {
    use delegate_core::source::QueueError;
    match e {
        QueueError::NoSuchEmployee(_) => "not_found",
        QueueError::NotLocal(_) => "not_local",
        QueueError::EmptyTitle => "invalid",
        _ => "queue",
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

impl From<delegate_core::source::QueueError> for CommandError {
    fn from(e: delegate_core::source::QueueError) -> Self {
        Self::new(queue_code(&e), e.to_string())
    }
}

from_error! {
    delegate_core::config::ConfigError => "config",
    delegate_core::history::HistoryError => "history",
    delegate_core::secrets::SecretError => "keychain",
    delegate_core::template::TemplateError => "template",
}
