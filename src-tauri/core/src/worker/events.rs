//! What the worker tells the outside world (tray, UI, CLI) as it goes.

use crate::agent::Draft;
use crate::history::RunStatus;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkerEvent {
    Polled {
        employee: String,
        open_tasks: usize,
        eligible: usize,
    },
    RunStarted {
        run_id: i64,
        employee: String,
        task_id: String,
        task_title: String,
        attempt: u32,
        max_attempts: u32,
    },
    Progress {
        run_id: i64,
        employee: String,
        line: String,
    },
    RunFinished {
        run_id: i64,
        employee: String,
        task_title: String,
        status: RunStatus,
        summary: Option<String>,
        error: Option<String>,
        drafts: Vec<Draft>,
        /// The last attempt failed: the task is labelled `agent-failed`.
        gave_up: bool,
    },
    BudgetReached {
        employee: String,
        spent_usd: f64,
        limit_usd: f64,
        /// `employee` or `global`.
        scope: String,
    },
    /// Something a person must fix or that stopped this cycle (token, CLI, outage).
    Problem { employee: String, message: String },
}
