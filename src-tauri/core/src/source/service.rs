//! One account on a service (a Todoist token, a GitHub token, a Linear key), as the engine,
//! `doctor` and the app use it: who it belongs to, what employees can work on, each
//! employee's [`TaskSource`] (sharing what the account reads between them), and the check of
//! an employee's target. Each source provides one ([`crate::source::SourceInfo::connect`]),
//! so the rest of Delegate never names a source.

use super::{Source, SourceError};
use crate::config::{Config, Employee, SourceKind};
use crate::secrets::Secret;
use std::sync::Arc;

#[async_trait::async_trait]
pub trait Service: Send + Sync {
    fn kind(&self) -> SourceKind;

    /// Who the token belongs to, in words ("Ada <ada@example.com>", "octocat (The Octocat)").
    async fn who(&self) -> Result<String, SourceError>;

    /// What an employee can work on: projects, repositories, teams.
    async fn targets(&self) -> Result<Vec<Target>, SourceError>;

    /// The employee's task source on this account. Employees on the same target share it.
    async fn source_for(&self, employee: &Employee) -> Result<Source, SourceError>;

    /// The employee's target checked against the account, in words (for `doctor`).
    async fn check(&self, employee: &Employee) -> Result<String, SourceError>;

    /// Forgets what was read, so the next read asks the service again.
    async fn invalidate(&self);

    /// Makes `target` ready for employees (a database's tables), or with `print` only says
    /// how: what was done, in words, or the statements to run.
    async fn prepare(&self, target: &str, print: bool) -> Result<String, SourceError> {
        let _ = (target, print);
        Ok(format!(
            "{} needs nothing prepared",
            self.kind().info().title
        ))
    }
}

/// One thing an employee can work on, as the account lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Target {
    /// What the employee's target setting holds (a project's name, `owner/name`, a team key).
    pub value: String,
    /// What a person reads ("Engineering (ENG)").
    pub name: String,
}

/// Connects to a source's service with a token, with the settings of `config`.
pub type Connect = fn(&Config, Secret) -> Result<Arc<dyn Service>, SourceError>;

/// How long after a claim's own stamp a read decides it, as this machine is set up.
pub fn settle_secs(config: &Config) -> u64 {
    config
        .machine
        .claim_settle_secs
        .unwrap_or(crate::claims::DEFAULT_SETTLE_SECS)
}

/// The retry policy with a source's `timeout_secs`.
pub fn policy(timeout_secs: Option<u64>) -> super::RetryPolicy {
    let mut policy = super::RetryPolicy::default();
    if let Some(t) = timeout_secs {
        policy.request_timeout = std::time::Duration::from_secs(t);
    }
    policy
}
