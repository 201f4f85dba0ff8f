//! The one mapping from an engine error to the short code a front end branches on (the
//! desktop window receives `{ code, message }`; the message says what to do). Every error a
//! use case of the engine returns is an [`EngineError`], so every one gets its code here.

use crate::activity::RunError;
use crate::config::ConfigError;
use crate::drafts::DraftError;
use crate::employees::EmployeeError;
use crate::engine::EngineError;
use crate::source::QueueError;

impl EngineError {
    /// A stable code for the kind of failure: `invalid` (fix the input), `not_found`,
    /// `duplicate`, `token_rejected`, `no_token`, `keychain`, `source`, `config`, …
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Config(e) => config(e),
            EngineError::History(_) => "history",
            EngineError::Queue(e) => queue(e),
            EngineError::Secret(e) if e.is_bad_input() => "invalid",
            EngineError::Secret(_) => "keychain",
            EngineError::Source(e) if e.is_rejected_token() => "token_rejected",
            EngineError::Source(_) => "source",
            EngineError::NoSourceToken(_) => "no_token",
            EngineError::NoService(_) => "invalid",
            EngineError::Worker(_) => "worker",
            EngineError::NoEmployees => "no_employees",
            EngineError::Disabled(_) => "disabled",
            EngineError::Review(_) => "invalid",
            EngineError::Crashed(_) => "internal",
            EngineError::Employee(e) => match e {
                EmployeeError::Invalid(_) => "invalid",
                EmployeeError::Config(e) => config(e),
                EmployeeError::Template(_) => "template",
                EmployeeError::Workspace { .. } => "workspace",
            },
            EngineError::Run(e) => match e {
                RunError::Draft(DraftError::OutsideWorkspace) => "outside_workspace",
                RunError::NoTaskLink
                | RunError::NoDraft
                | RunError::EmployeeGone
                | RunError::Draft(_) => "not_found",
            },
        }
    }
}

/// Config errors a person can act on get their own code.
fn config(e: &ConfigError) -> &'static str {
    match e {
        ConfigError::DuplicateEmployee(_) => "duplicate",
        ConfigError::NoSuchEmployee(_) => "not_found",
        ConfigError::Invalid { .. } | ConfigError::BadSetting(_) => "invalid",
        _ => "config",
    }
}

fn queue(e: &QueueError) -> &'static str {
    match e {
        QueueError::NoSuchEmployee(_) => "not_found",
        QueueError::NotLocal(..) => "not_local",
        QueueError::EmptyTitle => "invalid",
        _ => "queue",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::SecretError;
    use crate::source::SourceError;
    use crate::source::todoist::TodoistError;

    #[test]
    fn bad_input_keeps_its_kind_across_the_boundary() {
        let code = |e: EngineError| e.code();
        assert_eq!(code(SecretError::NotAToken.into()), "invalid");
        assert_eq!(code(SecretError::Empty.into()), "invalid");
        assert_eq!(
            code(SecretError::Keychain("locked".into()).into()),
            "keychain"
        );
        assert_eq!(
            code(QueueError::NotLocal("Writer".into(), "a Todoist project").into()),
            "not_local"
        );
        assert_eq!(
            code(QueueError::NoSuchEmployee("Nobody".into()).into()),
            "not_found"
        );
        assert_eq!(code(QueueError::EmptyTitle.into()), "invalid");
        assert_eq!(
            code(SourceError::from(TodoistError::Unauthorized).into()),
            "token_rejected"
        );
        assert_eq!(
            code(SourceError::from(crate::source::github::GitHubError::Unauthorized).into()),
            "token_rejected"
        );
        assert_eq!(
            code(EngineError::NoSourceToken(
                crate::config::SourceKind::Todoist
            )),
            "no_token"
        );
    }

    #[test]
    fn config_errors_get_the_same_codes_wherever_they_come_from() {
        for (e, want) in [
            (ConfigError::DuplicateEmployee("A".into()), "duplicate"),
            (ConfigError::NoSuchEmployee("A".into()), "not_found"),
            (ConfigError::BadSetting("no".into()), "invalid"),
            (
                ConfigError::Parse {
                    path: "c.toml".into(),
                    message: "bad".into(),
                },
                "config",
            ),
        ] {
            let direct = EngineError::from(e);
            assert_eq!(direct.code(), want, "{direct}");
        }
        let saving = EngineError::from(EmployeeError::Config(ConfigError::DuplicateEmployee(
            "A".into(),
        )));
        assert_eq!(saving.code(), "duplicate");
        assert_eq!(
            EngineError::from(EmployeeError::Invalid("timeout_secs".into())).code(),
            "invalid"
        );
    }

    #[test]
    fn runs_say_what_cannot_be_opened() {
        let code = |e: RunError| EngineError::from(e).code();
        assert_eq!(code(RunError::NoTaskLink), "not_found");
        assert_eq!(
            code(RunError::Draft(DraftError::OutsideWorkspace)),
            "outside_workspace"
        );
        assert_eq!(code(RunError::Draft(DraftError::Gone)), "not_found");
    }
}
