//! The history of runs in SQLite (WAL): each run with its progress lines and drafts, for
//! `delegate history` / `show` and the desktop UI. One connection, owned here.

mod migrations;
mod query;

use crate::agent::{Draft, PermissionDenial};
use crate::source::{Finish, Task};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use rusqlite_migration::Migrations;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::str::FromStr;
use std::sync::Mutex;

pub use query::RunFilter;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("history database migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("no run with id {0} (see `delegate history`)")]
    NoSuchRun(i64),
    #[error("history database: cannot encode or read back a record: {0}")]
    Encode(String),
    #[error("run {id} has an unknown status \"{status}\" (written by a newer Delegate?)")]
    UnknownStatus { id: i64, status: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    Interrupted,
    OverBudget,
    /// A problem of this machine or account kept the agent from working (not logged in, a
    /// usage limit, no connection, CLI missing or refusing its arguments); the task keeps
    /// its attempts.
    Blocked,
    /// Another machine's claim came first but showed up only after this run started: the
    /// run was stopped and left no trace on the task; not an attempt, not a failure.
    LostClaim,
    /// The agent asked the person something (or said what blocks it) and stopped: the task
    /// waits for an answer, which resumes the same session.
    NeedsInput,
    /// The agent found nothing to do this time (a recurring check): the occurrence is
    /// completed quietly.
    NothingToDo,
}

impl RunStatus {
    pub const ALL: [RunStatus; 11] = [
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::TimedOut,
        RunStatus::Cancelled,
        RunStatus::Interrupted,
        RunStatus::OverBudget,
        RunStatus::Blocked,
        RunStatus::LostClaim,
        RunStatus::NeedsInput,
        RunStatus::NothingToDo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::TimedOut => "timed_out",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Interrupted => "interrupted",
            RunStatus::OverBudget => "over_budget",
            RunStatus::Blocked => "blocked",
            RunStatus::LostClaim => "lost_claim",
            RunStatus::NeedsInput => "needs_input",
            RunStatus::NothingToDo => "nothing_to_do",
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<_> = RunStatus::ALL.iter().map(|v| v.as_str()).collect();
                format!("unknown status \"{s}\"; use one of {}", all.join(", "))
            })
    }
}

/// What the person decided about a run's drafts.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    Approved,
    ChangesRequested,
}

impl Review {
    pub fn as_str(self) -> &'static str {
        match self {
            Review::Approved => "approved",
            Review::ChangesRequested => "changes_requested",
        }
    }
}

/// What is known when a run starts.
pub struct NewRun<'a> {
    pub employee: &'a str,
    pub source: &'a str,
    pub task: &'a Task,
    pub attempt: u32,
    pub max_attempts: u32,
    pub machine: &'a str,
    /// The agent's argv without secrets (the prompt is the task text, not a secret).
    pub command: &'a [String],
    /// The claim the run works under; also the marker in the agent's environment.
    pub claim_id: &'a str,
    /// What the person said that this run answers (their answer to its questions, their
    /// feedback on its drafts), when it continues a conversation.
    pub input: Option<&'a str>,
}

/// A run that a stopped Delegate left `running`, as found at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupted {
    pub run_id: i64,
    pub claim_id: Option<String>,
    pub pgid: Option<i32>,
}

/// What is known when a run ends.
#[derive(Debug, Clone)]
pub struct RunEnd {
    pub status: RunStatus,
    pub exit_code: Option<i32>,
    pub summary: Option<String>,
    pub error: Option<String>,
    pub stderr_tail: Option<String>,
    pub cost_usd: Option<f64>,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    pub turns: Option<u32>,
    pub session_id: Option<String>,
    pub permission_denials: Vec<PermissionDenial>,
    /// Accesses the OS sandbox refused ("🛡 Blocked: writing ~/.bashrc"), for the task comment.
    pub sandbox_blocked: Vec<String>,
    /// What the agent asks the person (a [`RunStatus::NeedsInput`] run).
    pub questions: Vec<String>,
    /// The earlier session this run continued, when the agent CLI resumed it.
    pub resumed_session: Option<String>,
}

impl RunEnd {
    pub fn status(status: RunStatus) -> Self {
        Self {
            status,
            exit_code: None,
            summary: None,
            error: None,
            stderr_tail: None,
            cost_usd: None,
            tokens_in: None,
            tokens_out: None,
            turns: None,
            session_id: None,
            permission_denials: Vec::new(),
            sandbox_blocked: Vec::new(),
            questions: Vec::new(),
            resumed_session: None,
        }
    }
}

/// A run as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunSummary {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    pub employee: String,
    pub source: String,
    pub task_id: String,
    pub task_title: String,
    pub attempt: u32,
    pub max_attempts: u32,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub cost_usd: Option<f64>,
    pub summary: Option<String>,
    pub error: Option<String>,
    pub review: Option<Review>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProgressLine {
    pub at: DateTime<Utc>,
    pub line: String,
}

/// A run with everything recorded about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: RunSummary,
    pub task_description: String,
    pub task_url: Option<String>,
    pub machine: String,
    pub command: Vec<String>,
    pub exit_code: Option<i32>,
    pub stderr_tail: Option<String>,
    #[cfg_attr(feature = "ts", ts(as = "Option<f64>"))]
    pub tokens_in: Option<u64>,
    #[cfg_attr(feature = "ts", ts(as = "Option<f64>"))]
    pub tokens_out: Option<u64>,
    pub turns: Option<u32>,
    pub session_id: Option<String>,
    pub permission_denials: Vec<PermissionDenial>,
    /// The OS sandbox the agent ran under, in words ("strict · Landlock ABI 7").
    pub sandbox: Option<String>,
    pub progress: Vec<ProgressLine>,
    pub drafts: Vec<Draft>,
    /// What the person said that this run answers (an answer, feedback).
    pub input: Option<String>,
    /// What the run asked the person.
    pub questions: Vec<String>,
    /// The earlier session the agent continued, when it did.
    pub resumed_session: Option<String>,
}

pub struct History {
    conn: Mutex<Connection>,
}

/// One fixed timestamp format, so text order is time order in SQL.
pub(crate) fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn now() -> String {
    stamp(Utc::now())
}

impl History {
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Migrations::from_slice(migrations::MIGRATIONS).to_latest(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, HistoryError>,
    ) -> Result<T, HistoryError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    /// Marks runs left `running` by a process that no longer exists on this machine as
    /// `interrupted`, and returns them (their agents may still be running). Runs of a live
    /// process (another `delegate run`) are left alone.
    pub fn mark_interrupted(&self, machine: &str) -> Result<Vec<Interrupted>, HistoryError> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, pid, claim_id, pgid FROM runs WHERE status = 'running' AND machine = ?1",
            )?;
            let rows: Vec<(i64, i64, Option<String>, Option<i32>)> = stmt
                .query_map(params![machine], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?;
            let mut marked = Vec::new();
            for (id, pid, claim_id, pgid) in rows {
                if pid as u32 != std::process::id() && process_alive(pid) {
                    continue;
                }
                c.execute(
                    "UPDATE runs SET status = 'interrupted', ended_at = ?1,
                     error = 'Delegate stopped while this run was in progress' WHERE id = ?2",
                    params![now(), id],
                )?;
                marked.push(Interrupted {
                    run_id: id,
                    claim_id,
                    pgid,
                });
            }
            Ok(marked)
        })
    }

    /// Claims of this machine's interrupted runs: they hold no more, whatever their lease
    /// says, so the task can be taken back at once.
    pub fn dead_claims(
        &self,
        machine: &str,
    ) -> Result<std::collections::HashSet<String>, HistoryError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT claim_id FROM runs WHERE status = 'interrupted' AND machine = ?1
                 AND claim_id IS NOT NULL ORDER BY id DESC LIMIT 1000",
            )?;
            let rows = stmt.query_map(params![machine], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Records the agent's process group once it started.
    /// Records the OS sandbox the run's agent runs under.
    pub fn set_sandbox(&self, run_id: i64, sandbox: &str) -> Result<(), HistoryError> {
        self.with(|c| {
            c.execute(
                "UPDATE runs SET sandbox = ?1 WHERE id = ?2",
                params![sandbox, run_id],
            )?;
            Ok(())
        })
    }

    pub fn set_pgid(&self, run_id: i64, pgid: i32) -> Result<(), HistoryError> {
        self.with(|c| {
            c.execute(
                "UPDATE runs SET pgid = ?1 WHERE id = ?2",
                params![pgid, run_id],
            )?;
            Ok(())
        })
    }

    pub fn start_run(&self, run: &NewRun<'_>) -> Result<i64, HistoryError> {
        let command = serde_json::to_string(run.command).unwrap_or_else(|_| "[]".into());
        self.with(|c| {
            c.execute(
                "INSERT INTO runs (employee, source, task_id, task_title, task_description, task_url,
                   attempt, max_attempts, status, machine, pid, started_at, command, claim_id, input)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'running', ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    run.employee,
                    run.source,
                    run.task.id,
                    run.task.title,
                    run.task.description,
                    run.task.url,
                    run.attempt,
                    run.max_attempts,
                    run.machine,
                    std::process::id(),
                    now(),
                    command,
                    run.claim_id,
                    run.input
                ],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    pub fn add_progress(&self, run_id: i64, line: &str) -> Result<(), HistoryError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO progress (run_id, seq, at, line)
                 VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM progress WHERE run_id = ?1), ?2, ?3)",
                params![run_id, now(), line],
            )?;
            Ok(())
        })
    }

    /// Records how the run ended and, in the same transaction, the write that tells the task
    /// (kept in the outbox until [`History::outbox_done`]). Returns the outbox entry's id.
    pub fn finish_run(
        &self,
        run_id: i64,
        end: &RunEnd,
        drafts: &[Draft],
        write: Option<(&str, &Finish)>,
    ) -> Result<Option<i64>, HistoryError> {
        let denials =
            serde_json::to_string(&end.permission_denials).unwrap_or_else(|_| "[]".into());
        let questions = (!end.questions.is_empty())
            .then(|| serde_json::to_string(&end.questions).unwrap_or_else(|_| "[]".into()));
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let c = conn.transaction()?;
        {
            c.execute(
                "UPDATE runs SET status = ?1, ended_at = ?2, exit_code = ?3, summary = ?4, error = ?5,
                   stderr_tail = ?6, cost_usd = ?7, tokens_in = ?8, tokens_out = ?9, turns = ?10,
                   session_id = ?11, permission_denials = ?12, questions = ?14, resumed_session = ?15
                 WHERE id = ?13",
                params![
                    end.status.as_str(),
                    now(),
                    end.exit_code,
                    end.summary,
                    end.error,
                    end.stderr_tail,
                    end.cost_usd,
                    end.tokens_in.map(|v| v as i64),
                    end.tokens_out.map(|v| v as i64),
                    end.turns,
                    end.session_id,
                    denials,
                    run_id,
                    questions,
                    end.resumed_session
                ],
            )?;
            for d in drafts {
                c.execute(
                    "INSERT OR REPLACE INTO drafts (run_id, path, inside_workspace) VALUES (?1, ?2, ?3)",
                    params![run_id, d.path, d.inside_workspace],
                )?;
            }
        }
        let mut outbox = None;
        if let Some((employee, f)) = write {
            let json = serde_json::to_string(f).map_err(|e| HistoryError::Encode(e.to_string()))?;
            c.execute(
                "INSERT INTO outbox (run_id, employee, task_id, write, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![run_id, employee, f.task_id, json, now()],
            )?;
            outbox = Some(c.last_insert_rowid());
        }
        c.commit()?;
        Ok(outbox)
    }

    /// Keeps a write that belongs to no run (a claim to take back) until it reached its
    /// task, so a crash before it is sent does not leave the claim standing.
    pub fn outbox_add(&self, employee: &str, f: &Finish) -> Result<i64, HistoryError> {
        let json = serde_json::to_string(f).map_err(|e| HistoryError::Encode(e.to_string()))?;
        self.with(|c| {
            c.execute(
                "INSERT INTO outbox (run_id, employee, task_id, write, created_at) VALUES (0, ?1, ?2, ?3, ?4)",
                params![employee, f.task_id, json, now()],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// Writes of `employee` that have not reached their task yet, oldest first.
    pub fn outbox(&self, employee: &str) -> Result<Vec<(i64, Finish)>, HistoryError> {
        self.with(|c| {
            let mut stmt =
                c.prepare_cached("SELECT id, write FROM outbox WHERE employee = ?1 ORDER BY id")?;
            let rows = stmt.query_map(params![employee], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, json) = row?;
                let f = serde_json::from_str(&json)
                    .map_err(|e| HistoryError::Encode(format!("outbox entry {id}: {e}")))?;
                out.push((id, f));
            }
            Ok(out)
        })
    }

    /// The write reached its task (or can never: the task is gone).
    pub fn outbox_done(&self, id: i64) -> Result<(), HistoryError> {
        self.with(|c| {
            c.execute("DELETE FROM outbox WHERE id = ?1", params![id])?;
            Ok(())
        })
    }

    /// Another failed try of an outbox entry, with why.
    pub fn outbox_failed(&self, id: i64, error: &str) -> Result<(), HistoryError> {
        self.with(|c| {
            c.execute(
                "UPDATE outbox SET tries = tries + 1, last_error = ?1 WHERE id = ?2",
                params![error, id],
            )?;
            Ok(())
        })
    }

    /// Records the person's decision on a run.
    pub fn set_review(&self, run_id: i64, review: Review) -> Result<(), HistoryError> {
        self.with(|c| {
            let n = c.execute(
                "UPDATE runs SET review = ?1, reviewed_at = ?2 WHERE id = ?3",
                params![review.as_str(), now(), run_id],
            )?;
            if n == 0 {
                return Err(HistoryError::NoSuchRun(run_id));
            }
            Ok(())
        })
    }

    /// Dollars recorded for runs started at or after `since` (all employees when `None`).
    pub fn spend_since(
        &self,
        employee: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<f64, HistoryError> {
        self.with(|c| {
            let total = match employee {
                Some(e) => c.query_row(
                    "SELECT COALESCE(SUM(cost_usd), 0) FROM runs WHERE employee = ?1 AND started_at >= ?2",
                    params![e, stamp(since)],
                    |r| r.get(0),
                )?,
                None => c.query_row(
                    "SELECT COALESCE(SUM(cost_usd), 0) FROM runs WHERE started_at >= ?1",
                    params![stamp(since)],
                    |r| r.get(0),
                )?,
            };
            Ok(total)
        })
    }
}

fn process_alive(pid: i64) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}
