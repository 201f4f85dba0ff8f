//! What the worker tells the outside world (tray, UI, CLI) as it goes.

use crate::agent::Draft;
use crate::history::RunStatus;
use crate::source::{SourceError, SourceKind};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum WorkerEvent {
    Polled {
        employee: String,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        open_tasks: usize,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        eligible: usize,
        /// Open tasks labelled `agent-done`: drafts waiting for the person.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        awaiting_review: usize,
        /// Open tasks labelled `agent-needs-input`: questions waiting for the person.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        awaiting_answer: usize,
    },
    RunStarted {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        run_id: i64,
        employee: String,
        task_id: String,
        task_title: String,
        attempt: u32,
        max_attempts: u32,
        /// The run goes on from the person's answer to the agent's questions (the task no
        /// longer waits for them).
        answered: bool,
    },
    Progress {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        run_id: i64,
        employee: String,
        line: String,
    },
    RunFinished {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        run_id: i64,
        employee: String,
        task_title: String,
        status: RunStatus,
        summary: Option<String>,
        error: Option<String>,
        drafts: Vec<Draft>,
        /// What the agent asks the person (a `needs_input` run).
        questions: Vec<String>,
        /// The last attempt failed: the task is labelled `agent-failed`.
        gave_up: bool,
    },
    BudgetReached {
        employee: String,
        spent_usd: f64,
        limit_usd: f64,
        /// `employee` or `global`.
        scope: String,
        /// The first time today for this scope (notify once, show every time).
        first_today: bool,
    },
    /// Something a person must fix or that stopped this cycle (token, CLI, outage).
    Problem {
        employee: String,
        /// Where the employee's tasks come from (a rejected token is that source's).
        source: Option<SourceKind>,
        kind: ProblemKind,
        message: String,
    },
    /// One employee (`Some`) or all of them (`None`) paused or resumed.
    Paused {
        employee: Option<String>,
        paused: bool,
    },
}

/// What kind of problem, so the tray and UI can react without reading messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ProblemKind {
    TokenMissing,
    TokenRejected,
    Keychain,
    AgentMissing,
    /// The agent CLI cannot work on this machine (not logged in, a usage limit, no
    /// connection, refused arguments): the message says what to do.
    AgentNotReady,
    WorkspaceMissing,
    ProjectMissing,
    /// The task source (Todoist, GitHub, …) unreachable, rate-limited or failing: usually
    /// passes by itself.
    Service,
    Other,
}

impl ProblemKind {
    pub fn of_source(e: &SourceError) -> Self {
        if e.is_rejected_token() {
            return ProblemKind::TokenRejected;
        }
        match e {
            SourceError::Service(_) => ProblemKind::Service,
            SourceError::TargetNotFound { .. } => ProblemKind::ProjectMissing,
            SourceError::Local(_) => ProblemKind::Other,
        }
    }
}
