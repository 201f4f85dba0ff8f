//! One run of one task: start the agent, stream its progress, and decide how it ended.

use super::events::WorkerEvent;
use super::live::{Companion, Lease};
use super::{Shared, Worker};
use crate::agent::{self, AgentEvent, AgentResult, Exit, Invocation, Progress, claude};
use crate::history::{RunEnd, RunStatus};
use crate::source::Task;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long the agent gets between TERM and KILL.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

pub struct Dispatched {
    pub end: RunEnd,
    pub drafts: Vec<agent::Draft>,
}

impl Worker {
    pub(super) fn invocation(&self, prompt: &str, shared: &Shared) -> Invocation {
        let e = &self.employee;
        let mut remove_env: Vec<String> =
            claude::NESTING_VARS.iter().map(|s| s.to_string()).collect();
        if !e.allow_api_key {
            remove_env.push(claude::API_KEY_VAR.into());
        }
        remove_env.push(crate::secrets::TOKEN_ENV.into());
        remove_env.push(crate::paths::HOME_ENV.into());
        remove_env.push(crate::config::API_URL_ENV.into());
        Invocation {
            program: e.command().to_string(),
            args: claude::args(e, prompt),
            cwd: e.workspace.clone(),
            remove_env,
            scrub_values: shared.settings().secrets,
            timeout: Duration::from_secs(e.timeout_secs),
            grace: KILL_GRACE,
            marker: None,
        }
    }

    pub(super) async fn dispatch(
        &self,
        shared: &Shared,
        run_id: i64,
        task: &Task,
        inv: &Invocation,
        lease: Lease,
        cancel: &CancellationToken,
    ) -> Dispatched {
        let mut progress = Progress::new(&self.employee.workspace);
        let mut result: Option<AgentResult> = None;
        let mut garbage = 0usize;
        let live = self.employee.live_progress.then_some(shared.live_period);
        let companion = Companion::start(self.source.clone(), task.id.clone(), live, lease);
        let emit = |line: String| {
            if let Err(e) = shared.history.add_progress(run_id, &line) {
                tracing::warn!(run_id, error = %e, "cannot record a progress line");
            }
            if live.is_some() {
                companion.push(line.clone());
            }
            let _ = shared.events.send(WorkerEvent::Progress {
                run_id,
                employee: self.employee.name.clone(),
                line,
            });
        };
        let record_pgid = |pgid: i32| {
            if let Err(e) = shared.history.set_pgid(run_id, pgid) {
                tracing::warn!(run_id, error = %e, "cannot record the agent's process group");
            }
        };
        let outcome = agent::spawn::run(inv, cancel, record_pgid, |raw| {
            if raw.truncated {
                garbage += 1;
                tracing::warn!(run_id, "agent printed an over-long line; skipped");
                return;
            }
            match claude::parse_line(&raw.text) {
                claude::Parsed::Events(events) => {
                    for ev in events {
                        if let Some(line) = progress.line(&ev) {
                            emit(line);
                        }
                        if let AgentEvent::Result(r) = ev {
                            result = Some(r);
                        }
                    }
                }
                claude::Parsed::Unknown(kind) => {
                    tracing::debug!(run_id, kind, "skipped agent event")
                }
                claude::Parsed::Garbage(why) => {
                    garbage += 1;
                    tracing::warn!(
                        run_id,
                        why,
                        "agent printed a line that is not stream JSON; skipped"
                    );
                }
            }
        })
        .await;
        companion.stop().await;
        let drafts = progress.drafts();
        let end = match outcome {
            Ok(o) => judge(o, result, garbage, self.employee.timeout_secs),
            Err(e) => {
                let mut end = RunEnd::status(RunStatus::Failed);
                end.error = Some(e.to_string());
                end
            }
        };
        Dispatched { end, drafts }
    }
}

/// Turns the process outcome and the agent's result into the run's end. Success needs a
/// result with `is_error: false` and exit code 0.
fn judge(
    o: agent::ProcessOutcome,
    result: Option<AgentResult>,
    garbage: usize,
    timeout_secs: u64,
) -> RunEnd {
    let mut end = RunEnd::status(RunStatus::Failed);
    let tail = o.stderr_tail.trim().to_string();
    end.stderr_tail = (!tail.is_empty()).then_some(tail.clone());
    if let Some(r) = &result {
        end.summary = r.summary.clone();
        end.cost_usd = r.cost_usd;
        end.tokens_in = r.tokens_in;
        end.tokens_out = r.tokens_out;
        end.turns = r.turns;
        end.session_id = r.session_id.clone();
        end.permission_denials = r.permission_denials.clone();
    }
    let stderr_hint = || {
        let line = agent::first_line(
            tail.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or(""),
            200,
        );
        if line.is_empty() {
            String::new()
        } else {
            format!(": {line}")
        }
    };
    let garbage_note = if garbage > 0 {
        format!(" ({garbage} output lines were not valid stream JSON)")
    } else {
        String::new()
    };
    match (o.exit, &result) {
        (Exit::TimedOut, _) => {
            end.status = RunStatus::TimedOut;
            end.error = Some(format!(
                "timed out after {timeout_secs} s; the agent and everything it started were stopped"
            ));
        }
        (Exit::Cancelled, _) => {
            end.status = RunStatus::Cancelled;
            end.error = Some("stopped because Delegate was shutting down".into());
        }
        (Exit::Code(0), Some(r)) if !r.is_error => {
            end.status = RunStatus::Succeeded;
            end.exit_code = Some(0);
        }
        (exit, Some(r)) if r.is_error => {
            end.exit_code = code(exit);
            end.status = if r.subtype == "error_max_budget_usd" {
                RunStatus::OverBudget
            } else {
                RunStatus::Failed
            };
            end.error = Some(r.failure_reason());
        }
        (Exit::Code(c), Some(_)) => {
            end.exit_code = Some(c);
            end.error = Some(format!(
                "the agent reported success but exited with code {c}{}",
                stderr_hint()
            ));
        }
        (Exit::Code(0), None) => {
            end.exit_code = Some(0);
            end.error = Some(format!("agent ended without a result{garbage_note}"));
        }
        (Exit::Code(c), None) => {
            end.exit_code = Some(c);
            end.error = Some(format!(
                "the agent exited with code {c} without a result{}{garbage_note}",
                stderr_hint()
            ));
        }
        (Exit::Signal(s), _) => {
            end.error = Some(format!(
                "the agent was killed by signal {s}{}",
                stderr_hint()
            ));
        }
    }
    end
}

fn code(exit: Exit) -> Option<i32> {
    match exit {
        Exit::Code(c) => Some(c),
        _ => None,
    }
}
