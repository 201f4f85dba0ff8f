//! What can go wrong with a PostgreSQL employee, in words that match the cause.

use crate::source::ServiceFailure;

#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    #[error(
        "no PostgreSQL connection URL: set `url` in the [postgres] section of config.toml, or DATABASE_URL"
    )]
    NoUrl,
    #[error("the PostgreSQL connection URL is not valid ({0})")]
    BadUrl(String),
    #[error("[postgres] mapping: {0}")]
    Mapping(String),
    #[error("cannot reach PostgreSQL at {at}: {cause}")]
    Unreachable { at: String, cause: String },
    #[error("PostgreSQL at {at} refused the login of role \"{user}\": {message}")]
    Rejected {
        at: String,
        user: String,
        message: String,
    },
    #[error("PostgreSQL at {at}: the table {table} does not exist")]
    NoTable { at: String, table: String },
    #[error("PostgreSQL at {at}: the table {table} has no column \"{column}\" (its `{key}`)")]
    NoColumn {
        at: String,
        table: String,
        column: String,
        key: &'static str,
    },
    #[error("PostgreSQL at {at}: the role may not {what} ({message})")]
    Privilege {
        at: String,
        what: String,
        message: String,
    },
    #[error("PostgreSQL at {at}: {message}")]
    Query {
        at: String,
        code: Option<String>,
        message: String,
        /// The connection broke while the statement was out: it may have been applied.
        lost: bool,
    },
    #[error("there is no task {id} in {table}")]
    NoSuchTask { id: String, table: String },
    #[error(
        "the claim on task {id} in {table} no longer holds it: its lease ran out and another machine took it over"
    )]
    ClaimLost { id: String, table: String },
}

impl PostgresError {
    /// A driver error, typed by its SQLSTATE.
    pub fn of(at: &str, e: &tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        let at = at.to_string();
        if let Some(db) = e.as_db_error() {
            let code = db.code().clone();
            let message = db.message().to_string();
            if code == SqlState::INVALID_PASSWORD
                || code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            {
                return Self::Rejected {
                    at,
                    user: String::new(),
                    message,
                };
            }
            if code == SqlState::INSUFFICIENT_PRIVILEGE {
                return Self::Privilege {
                    at,
                    what: "do this".into(),
                    message,
                };
            }
            return Self::Query {
                at,
                code: Some(code.code().to_string()),
                message,
                lost: false,
            };
        }
        let cause = match std::error::Error::source(e) {
            Some(s) => format!("{e} ({s})"),
            None => e.to_string(),
        };
        if e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()) {
            return Self::Unreachable { at, cause };
        }
        Self::Query {
            at,
            code: None,
            message: cause,
            lost: true,
        }
    }

    /// A pool's error.
    pub fn of_pool(at: &str, e: &deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => Self::of(at, e),
            other => Self::Unreachable {
                at: at.to_string(),
                cause: other.to_string(),
            },
        }
    }
}

impl ServiceFailure for PostgresError {
    fn what(&self) -> String {
        self.to_string()
    }

    fn fix(&self) -> String {
        match self {
            Self::NoUrl | Self::BadUrl(_) => {
                "set `url = \"postgres://role@host:5432/database\"` in the [postgres] section of config.toml (the password goes in the keychain: delegate token set --source postgres)".into()
            }
            Self::Mapping(_) => {
                "fix the [postgres.columns] / [postgres.statuses] names in config.toml (README: PostgreSQL)".into()
            }
            Self::Unreachable { .. } => {
                "check that the server runs and that the URL's host and port are right; Delegate reconnects by itself".into()
            }
            // The server's rules (pg_hba.conf) may refuse a connection without TLS.
            Self::Rejected { message, .. } if message.contains("SSL off") => {
                "the server wants TLS: add ?sslmode=require to the connection URL".into()
            }
            Self::Rejected { .. } => {
                "set the connection URL again with the role's password (delegate token set --source postgres, or the app's Settings)".into()
            }
            Self::NoTable { .. } | Self::NoColumn { .. } => {
                "run `delegate postgres init` (or give its `--print` output to whoever runs the database)".into()
            }
            Self::Privilege { .. } => {
                "grant the role SELECT, INSERT, UPDATE and DELETE on the tasks table and its _comments, _files and _applied tables (`delegate postgres init --print` shows them)".into()
            }
            Self::Query { .. } => "see the server's message; Delegate tries again at the next poll".into(),
            Self::NoSuchTask { .. } => "the row was deleted; nothing to do".into(),
            Self::ClaimLost { .. } => "nothing to do: the other machine finishes the task".into(),
        }
    }

    fn is_gone(&self) -> bool {
        matches!(self, Self::NoSuchTask { .. })
    }

    fn is_rejected_token(&self) -> bool {
        matches!(self, Self::Rejected { .. })
    }

    fn is_ambiguous(&self) -> bool {
        matches!(
            self,
            Self::Query { lost: true, .. } | Self::Unreachable { .. }
        )
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl From<PostgresError> for crate::source::SourceError {
    fn from(e: PostgresError) -> Self {
        crate::source::SourceError::service(e)
    }
}
