//! Problems of this machine (an agent not installed or not logged in, no sandbox where one
//! is required) keep an employee from working until a re-check passes; the wait doubles.

use super::ProblemKind;
use super::shared::{Blocked, FIRST_RECHECK_SECS, MAX_RECHECK_SECS};
use super::{Shared, Worker};
use crate::agent::spawn::resolve_program;
use crate::agent::{Login, MachineKind, MachineProblem};
use chrono::Utc;

impl Worker {
    /// Puts the employee in "needs attention" until a re-check passes (or the problem's own
    /// time, for a usage limit), and says so.
    pub(super) fn block(&self, shared: &Shared, problem: MachineProblem, step: u32) {
        let wait = chrono::Duration::seconds(
            FIRST_RECHECK_SECS
                .saturating_mul(1 << step.min(10))
                .min(MAX_RECHECK_SECS),
        );
        let retry_at = problem.until.unwrap_or_else(|| Utc::now() + wait);
        tracing::warn!(employee = %self.employee.name, reason = %problem.reason, %retry_at, "needs attention");
        self.problem(shared, ProblemKind::AgentNotReady, problem.message());
        shared
            .blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                self.employee.name.to_lowercase(),
                Blocked {
                    problem,
                    retry_at,
                    step,
                },
            );
    }

    /// Whether the employee must keep waiting for a machine problem; re-checks the agent's
    /// login when the wait is over (and once at the first cycle, before claiming anything).
    pub(super) async fn still_blocked(&self, shared: &Shared) -> Option<String> {
        let key = self.employee.name.to_lowercase();
        let current = shared
            .blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        let first_check = shared
            .login_checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone());
        match current {
            Some(b) if Utc::now() < b.retry_at => {
                self.problem(shared, ProblemKind::AgentNotReady, b.problem.message());
                Some(b.problem.message())
            }
            Some(b) => match self.check_machine().await {
                Some(p) => {
                    self.block(shared, p, b.step + 1);
                    Some(b.problem.message())
                }
                None => {
                    shared
                        .blocked
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&key);
                    None
                }
            },
            None if first_check => {
                let p = self.check_machine().await?;
                let why = p.message();
                self.block(shared, p, 0);
                Some(why)
            }
            None => None,
        }
    }

    /// What this machine must offer before a task is claimed: the OS sandbox the employee
    /// requires, then the agent's own login (asked offline). `Some` when it is not ready.
    pub(super) async fn check_machine(&self) -> Option<MachineProblem> {
        let e = self.employee.clone();
        if let Some(crate::sandbox::Check::Problem { what, fix }) =
            crate::sandbox::check(&e, &crate::sandbox::support())
                .into_iter()
                .find(|c| matches!(c, crate::sandbox::Check::Problem { .. }))
        {
            return Some(MachineProblem::new(MachineKind::NoSandbox, what, fix));
        }
        let program = resolve_program(crate::agent::command_of(&e)).ok()?;
        let login = tokio::task::spawn_blocking(move || {
            crate::agent::for_kind(e.agent).login(&program, &e)
        })
        .await
        .ok()?;
        match login {
            Login::NotReady { reason, fix } => {
                Some(MachineProblem::new(MachineKind::NotLoggedIn, reason, fix))
            }
            _ => None,
        }
    }
}
