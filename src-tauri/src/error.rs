//! Errors as the window receives them: `{ code, message }`, so the UI branches on the code
//! and shows the message, which always says what to do. The engine's codes come from
//! [`EngineError::code`] (one mapping, in the engine); the desktop's own failures (opening a
//! file, the login item) have theirs in [`DesktopError::code`].

use crate::desktop::DesktopError;
use delegate_core::EngineError;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
}

pub type CmdResult<T> = Result<T, CommandError>;

/// Why something the controller was asked failed, still typed.
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Desktop(#[from] DesktopError),
    /// The controller has stopped: Delegate is quitting.
    #[error("Delegate is quitting; start it again to carry on")]
    Stopped,
    /// A command broke off unexpectedly (a bug): said as it is, for the log and a report.
    #[error("Delegate could not finish this ({0}); try again, and report it if it happens again")]
    Failed(String),
}

impl ShellError {
    pub fn code(&self) -> &'static str {
        match self {
            ShellError::Engine(e) => e.code(),
            ShellError::Desktop(e) => e.code(),
            ShellError::Stopped => "stopped",
            ShellError::Failed(_) => "internal",
        }
    }
}

impl From<ShellError> for CommandError {
    fn from(e: ShellError) -> Self {
        Self {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl From<EngineError> for CommandError {
    fn from(e: EngineError) -> Self {
        ShellError::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_crosses_with_its_code_and_its_words() {
        let e = CommandError::from(EngineError::from(
            delegate_core::secrets::SecretError::Empty,
        ));
        assert_eq!(e.code, "invalid");
        assert!(!e.message.is_empty());
        let e = CommandError::from(ShellError::from(DesktopError::Autostart(
            "cannot turn on start at login: no".into(),
        )));
        assert_eq!(
            (e.code, e.message.as_str()),
            ("autostart", "cannot turn on start at login: no")
        );
        assert_eq!(CommandError::from(ShellError::Stopped).code, "stopped");
    }
}
