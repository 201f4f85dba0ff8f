//! One run of one task: start the agent, stream its progress, and decide how it ended.

use super::events::WorkerEvent;
use super::live::{After, Companion, Lease};
use super::{Shared, Worker};
use crate::agent::{
    self, AgentEvent, AgentResult, Exit, Invocation, MachineKind, MachineProblem, Parsed, Progress,
    RunFacts, SpawnError,
};
use crate::history::{RunEnd, RunStatus};
use crate::source::Task;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long the agent gets between TERM and KILL.
pub const KILL_GRACE: Duration = Duration::from_secs(5);
/// Most progress lines a run records (its history rows, its events, its live comment); the
/// sandbox's refusals and the agent's final line come on top.
pub const MAX_PROGRESS_LINES: usize = 2000;
/// Most distinct refused accesses a run lists ("🛡 Blocked: …").
pub const MAX_BLOCKED_LINES: usize = 50;
/// The progress line said once the run's progress lines reach [`MAX_PROGRESS_LINES`].
const PROGRESS_CUT: &str = "…(truncated): later steps are not listed";

pub struct Dispatched {
    pub end: RunEnd,
    pub drafts: Vec<agent::Draft>,
    /// Set when this machine, not the task, kept the run from working.
    pub problem: Option<MachineProblem>,
    /// What happened beside the run (its progress comment, its labels, a late rival).
    pub after: After,
}

/// How a run starts: the earlier session to continue (its id, and the start that resumes
/// it), and the fresh start, which is the fallback when the CLI does not have that session.
pub struct Start {
    pub resume: Option<(String, Invocation)>,
    pub fresh: Invocation,
}

impl Start {
    fn first(&self) -> &Invocation {
        self.resume.as_ref().map_or(&self.fresh, |(_, inv)| inv)
    }

    /// Every start, for what they share (the marker).
    pub fn each_mut(&mut self) -> impl Iterator<Item = &mut Invocation> {
        self.resume
            .as_mut()
            .map(|(_, inv)| inv)
            .into_iter()
            .chain(std::iter::once(&mut self.fresh))
    }

    /// The argv shown for the run (the one it starts with).
    pub fn shown(&self) -> Vec<String> {
        let inv = self.first();
        let mut shown = vec![inv.program.clone()];
        shown.extend(inv.args.iter().cloned());
        shown
    }
}

/// What the stream showed, beyond the events themselves.
#[derive(Default)]
struct Seen {
    result: Option<AgentResult>,
    garbage: usize,
    worked: bool,
    started: bool,
    last_retry: Option<String>,
    /// The latest tool call, to word what the sandbox refused.
    last_tool: Option<String>,
}

impl Seen {
    /// What the run's end means to the agent's rules.
    fn facts<'a>(
        &'a self,
        o: &'a agent::ProcessOutcome,
        employee: &'a crate::config::Employee,
    ) -> RunFacts<'a> {
        RunFacts {
            exit: o.exit,
            result: self.result.as_ref(),
            stderr: &o.stderr_tail,
            worked: self.worked,
            started: self.started,
            last_retry: self.last_retry.as_deref(),
            employee,
        }
    }

    fn take(&mut self, ev: AgentEvent) {
        match ev {
            AgentEvent::ToolUse { name, .. } => {
                self.worked = true;
                self.last_tool = Some(name);
            }
            AgentEvent::Text(_) => self.worked = true,
            AgentEvent::Started { .. } => self.started = true,
            AgentEvent::Retry {
                reason,
                attempt,
                max,
            } => {
                self.last_retry = Some(match max {
                    Some(m) => format!("{reason} (retry {attempt} of {m})"),
                    None => reason,
                })
            }
            // The run keeps a bounded copy: the result line alone may be megabytes.
            AgentEvent::Result(r) => self.result = Some(r.bounded()),
            _ => {}
        }
    }
}

impl Worker {
    /// The agent's start for `launch`, with the secrets the engine holds kept out of its
    /// environment (what else Delegate keeps out of every child's: see
    /// [`agent::spawn::child_env`]). The notes are for the run's timeline.
    pub(super) fn invocation(
        &self,
        launch: agent::Launch,
        shared: &Shared,
    ) -> (Invocation, Vec<String>) {
        let e = &self.employee;
        let program = agent::spawn::resolve_program(agent::command_of(e))
            .unwrap_or_else(|_| std::path::PathBuf::from(agent::command_of(e)));
        let home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
        let inv = Invocation {
            program: agent::command_of(e).to_string(),
            args: launch.args,
            cwd: e.workspace.clone(),
            remove_env: launch.remove_env,
            scrub_values: shared.settings().secrets,
            timeout: Duration::from_secs(e.timeout_secs),
            grace: KILL_GRACE,
            marker: None,
            stdin: launch.stdin,
            set_env: launch.set_env,
            sandbox: agent::sandbox_plan(e, &program, home.as_deref()),
        };
        (inv, launch.notes)
    }

    pub(super) async fn dispatch(
        &self,
        shared: &Shared,
        run_id: i64,
        task: &Task,
        start: &Start,
        lease: Lease,
        cancel: &CancellationToken,
    ) -> Dispatched {
        let agent_kind = agent::for_kind(self.employee.agent);
        let mut progress = Progress::new(&self.employee.workspace);
        let live = self.employee.live_progress.then_some(shared.live_period);
        // Stopped by Delegate (shutdown) or by the companion (the claim was lost after all).
        let stop_run = cancel.child_token();
        let companion = Companion::start(
            self.source.clone(),
            task.id.clone(),
            live,
            lease,
            stop_run.clone(),
        );
        let steps = Steps::default();
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
        let handle = |events: Vec<AgentEvent>, seen: &mut Seen, progress: &mut Progress| {
            for ev in events {
                if let Some(line) = progress.line(&ev) {
                    // Past the cap only the final line (and the refusals) go on.
                    if matches!(ev, AgentEvent::Result(_)) {
                        emit(line);
                    } else if let Some(line) = steps.admit(line) {
                        emit(line);
                    }
                }
                seen.take(ev);
            }
        };
        let record_pgid = |pgid: i32| {
            if let Err(e) = shared.history.set_pgid(run_id, pgid) {
                tracing::warn!(run_id, error = %e, "cannot record the agent's process group");
            }
        };
        let inv = start.first();
        let (sandbox_words, sandbox_line) =
            sandbox_record(inv.sandbox.as_ref(), &crate::sandbox::support());
        if let Err(e) = shared.history.set_sandbox(run_id, &sandbox_words) {
            tracing::warn!(run_id, error = %e, "cannot record the run's sandbox");
        }
        if let Some(line) = sandbox_line {
            emit(line);
        }
        let mut blocked = Blocked::default();
        let note_blocked = |text: &str, tool: Option<&str>, blocked: &mut Blocked| {
            if let Some(plan) = &inv.sandbox {
                let writing = tool.and_then(crate::sandbox::tool_writes);
                for d in crate::sandbox::denials(text, plan, writing) {
                    if let Some(line) = blocked.add(d.line(plan)) {
                        emit(line);
                    }
                }
            }
        };
        // The session to continue first, when there is one; a fresh start with the whole
        // conversation when the CLI no longer has it.
        let mut resumed = start.resume.as_ref().map(|(s, _)| s.clone());
        let mut inv = inv;
        let (outcome, seen) = loop {
            let mut parser = agent_kind.parser();
            let mut seen = Seen::default();
            let outcome = agent::spawn::run(inv, &stop_run, record_pgid, |raw| {
                note_blocked(&raw.text, seen.last_tool.as_deref(), &mut blocked);
                if raw.truncated {
                    seen.garbage += 1;
                    tracing::warn!(run_id, "agent printed an over-long line; skipped");
                    return;
                }
                match parser.line(&raw.text) {
                    Parsed::Events(events) => handle(events, &mut seen, &mut progress),
                    Parsed::Unknown(kind) => tracing::debug!(run_id, kind, "skipped agent event"),
                    Parsed::Garbage(why) => {
                        seen.garbage += 1;
                        tracing::warn!(
                            run_id,
                            why,
                            "agent printed a line that is not its stream format; skipped"
                        );
                    }
                }
            })
            .await;
            if let Ok(o) = &outcome {
                // Line by line: a traceback names other paths (the program's own file) around
                // the one line that says what was refused.
                for line in o.stderr_tail.lines() {
                    note_blocked(line, None, &mut blocked);
                }
                let last = parser.finish(o.exit);
                handle(last, &mut seen, &mut progress);
            }
            let missing = match (&outcome, &start.resume, resumed.is_some()) {
                (Ok(o), Some(_), true) => {
                    agent_kind.session_missing(&seen.facts(o, &self.employee))
                }
                _ => false,
            };
            if missing && !stop_run.is_cancelled() {
                let why = outcome
                    .as_ref()
                    .ok()
                    .and_then(|o| {
                        seen.result
                            .as_ref()
                            .and_then(|r| r.errors.first().cloned())
                            .or_else(|| agent::reason_line(&o.stderr_tail))
                    })
                    .unwrap_or_default();
                emit(super::messages::resume_failed(agent_kind.name(), &why));
                resumed = None;
                inv = &start.fresh;
                continue;
            }
            break (outcome, seen);
        };
        let after = companion.stop().await;
        let drafts = progress.drafts();
        let (end, problem) = match outcome {
            Ok(o) => {
                let facts = seen.facts(&o, &self.employee);
                let problem = match o.exit {
                    Exit::Cancelled => None,
                    _ => agent::machine_problem(
                        agent::for_kind(self.employee.agent),
                        &facts,
                        !blocked.lines.is_empty(),
                    ),
                };
                let mut end = judge(o, seen.result, seen.garbage, self.employee.timeout_secs);
                if let Some(p) = &problem {
                    end.status = RunStatus::Blocked;
                    end.summary = None;
                    end.error = Some(p.message());
                } else if matches!(end.status, RunStatus::Failed | RunStatus::TimedOut)
                    && !blocked.lines.is_empty()
                {
                    // The failure may well be the sandbox's doing: say so where the reason is read.
                    end.error = end.error.map(|e| {
                        format!("{e} — {}", super::messages::sandbox_refusal(&blocked.lines))
                    });
                }
                (end, problem)
            }
            Err(e) => {
                let mut end = RunEnd::status(RunStatus::Failed);
                end.error = Some(e.to_string());
                let problem = spawn_problem(&e, self.employee.agent);
                if problem.is_some() {
                    end.status = RunStatus::Blocked;
                }
                (end, problem)
            }
        };
        let mut end = end;
        end.sandbox_blocked = blocked.lines;
        end.resumed_session = resumed;
        if let Some((machine, _)) = &after.lost_to
            && !cancel.is_cancelled()
        {
            // Not an attempt and not a failure: the run never should have started.
            let who = if machine.is_empty() {
                "another machine"
            } else {
                machine
            };
            end = RunEnd::status(RunStatus::LostClaim);
            end.error = Some(format!(
                "stopped: {who} had claimed this task first (its claim showed up late); the task is left to it"
            ));
            return Dispatched {
                end,
                drafts: Vec::new(),
                problem: None,
                after,
            };
        }
        Dispatched {
            end,
            drafts,
            problem,
            after,
        }
    }
}

/// A run's progress lines, counted against [`MAX_PROGRESS_LINES`].
#[derive(Default)]
struct Steps(AtomicUsize);

impl Steps {
    /// The line to record, the one that says the rest is cut, or nothing.
    fn admit(&self, line: String) -> Option<String> {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        match n.cmp(&MAX_PROGRESS_LINES) {
            std::cmp::Ordering::Less => Some(line),
            std::cmp::Ordering::Equal => Some(PROGRESS_CUT.into()),
            std::cmp::Ordering::Greater => None,
        }
    }
}

/// The distinct refused accesses of a run, at most [`MAX_BLOCKED_LINES`], then one line that
/// says more were refused.
#[derive(Default)]
struct Blocked {
    lines: Vec<String>,
    full: bool,
}

impl Blocked {
    /// The line to show for a refusal, unless it was already shown (or the list is full).
    fn add(&mut self, line: String) -> Option<String> {
        if self.full || self.lines.contains(&line) {
            return None;
        }
        if self.lines.len() < MAX_BLOCKED_LINES {
            self.lines.push(line.clone());
            return Some(line);
        }
        self.full = true;
        self.lines.push(super::messages::BLOCKED_CUT.into());
        Some(super::messages::BLOCKED_CUT.into())
    }
}

/// A start that failed because of this machine (no CLI, no sandbox where one is required):
/// the task is not at fault.
fn spawn_problem(e: &SpawnError, agent: crate::config::AgentKind) -> Option<MachineProblem> {
    match e {
        SpawnError::NotFound { .. } => Some(MachineProblem::new(
            MachineKind::CliMissing,
            e.to_string(),
            agent::for_kind(agent).install_hint(),
        )),
        SpawnError::Sandbox(crate::sandbox::SandboxError::Unavailable { reason }) => {
            Some(MachineProblem::new(
                MachineKind::NoSandbox,
                format!("this machine cannot sandbox the agent: {reason}"),
                "set `sandbox_fallback = \"unsandboxed\"` (or `sandbox = \"off\"`) for this employee to run it without an OS sandbox",
            ))
        }
        _ => None,
    }
}

/// The sandbox a run is about to get, for its record (`runs.sandbox`) and its timeline.
fn sandbox_record(
    plan: Option<&crate::sandbox::Plan>,
    support: &crate::sandbox::Support,
) -> (String, Option<String>) {
    use crate::sandbox::{Fallback, NetworkRule};
    let Some(plan) = plan else {
        let mut line =
            "⚠️ No OS sandbox (sandbox = off): the agent can read and change anything you can"
                .to_string();
        if let Some(w) = crate::sandbox::contain::warning() {
            line.push_str(&format!(". {}", w.trim_start_matches("⚠️ ")));
        }
        return ("off".into(), Some(line));
    };
    if support.available() {
        let mut words = format!("{} · Landlock ABI {}", plan.mode.as_str(), support.abi);
        if plan.network != NetworkRule::Open {
            words.push_str(&format!(" · network: {}", plan.network.as_str()));
            if !support.network() {
                words.push_str(" (not enforced)");
            }
        }
        return (words, Some(plan.describe(support)));
    }
    let missing = support.missing.clone().unwrap_or_default();
    match plan.fallback {
        Fallback::Unsandboxed => (
            format!("none: {missing}"),
            Some(format!(
                "⚠️ Running without an OS sandbox: {missing} (sandbox_fallback = unsandboxed)"
            )),
        ),
        Fallback::Refuse => (format!("refused: {missing}"), None),
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
        // A failed run has an error, not a summary.
        end.summary = (!r.is_error).then(|| r.summary.clone()).flatten();
        end.cost_usd = r.cost_usd;
        end.tokens_in = r.tokens_in;
        end.tokens_out = r.tokens_out;
        end.turns = r.turns;
        end.session_id = r.session_id.clone();
        end.permission_denials = r.permission_denials.clone();
    }
    // The line that says what went wrong (an `error:` line), not the last line of stderr
    // (often a runtime banner or a help line).
    let stderr_hint = || match agent::reason_line(&tail) {
        Some(line) => format!(": {line}"),
        None => String::new(),
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
            apply_report(&mut end, r);
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

/// The agent's report on a successful run (its structured output, or the object at the end
/// of its final text): what the run ends as, and the summary without the object.
fn apply_report(end: &mut RunEnd, r: &AgentResult) {
    use agent::report::{self, Status};
    let found = match &r.report {
        Some(rep) => Some((rep.clone(), r.summary.clone().unwrap_or_default())),
        None => r.summary.as_deref().and_then(report::from_text),
    };
    let Some((rep, prose)) = found else { return };
    let summary = if rep.summary.is_empty() {
        prose
    } else {
        rep.summary.clone()
    };
    // Claude Code's `result` text holds the structured output again: not a summary.
    end.summary =
        (!summary.trim().is_empty() && !summary.trim_start().starts_with('{')).then_some(summary);
    match rep.status {
        Status::Done => {}
        Status::NeedsInput | Status::Blocked => {
            end.status = RunStatus::NeedsInput;
            end.questions = rep.asks();
        }
        Status::NothingToDo => end.status = RunStatus::NothingToDo,
    }
}

fn code(exit: Exit) -> Option<i32> {
    match exit {
        Exit::Code(c) => Some(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AgentKind, Employee, SourceKind};
    use crate::sandbox::{Fallback, Support};

    #[test]
    fn every_run_says_which_sandbox_it_got() {
        let mut e = Employee::new("W", SourceKind::Local, "/w".into());
        let plan = crate::agent::sandbox_plan(&e, std::path::Path::new("/usr/bin/true"), None);
        let landlock = Support {
            abi: 7,
            missing: None,
            hides_session: false,
        };
        let (words, line) = sandbox_record(plan.as_ref(), &landlock);
        assert_eq!(words, "strict · Landlock ABI 7");
        assert!(
            line.unwrap()
                .starts_with("🛡 Sandbox: strict (Landlock ABI 7)")
        );

        let none = Support {
            abi: 0,
            missing: Some("this kernel has no Landlock".into()),
            hides_session: false,
        };
        e.sandbox_fallback = Fallback::Unsandboxed;
        let plan = crate::agent::sandbox_plan(&e, std::path::Path::new("/usr/bin/true"), None);
        let (words, line) = sandbox_record(plan.as_ref(), &none);
        assert_eq!(words, "none: this kernel has no Landlock");
        assert_eq!(
            line.unwrap(),
            "⚠️ Running without an OS sandbox: this kernel has no Landlock (sandbox_fallback = unsandboxed)"
        );
        let (words, line) = sandbox_record(None, &landlock);
        assert_eq!(words, "off");
        assert!(line.unwrap().starts_with("⚠️ No OS sandbox"));
    }

    #[test]
    fn a_run_records_at_most_its_cap_of_progress_lines() {
        let steps = Steps::default();
        let kept: Vec<String> = (0..100_000)
            .filter_map(|i| steps.admit(format!("📄 Reading n{i}.md")))
            .collect();
        assert_eq!(kept.len(), MAX_PROGRESS_LINES + 1);
        assert_eq!(
            kept[MAX_PROGRESS_LINES - 1],
            format!("📄 Reading n{}.md", MAX_PROGRESS_LINES - 1)
        );
        assert_eq!(kept.last().unwrap(), PROGRESS_CUT);
    }

    #[test]
    fn refusals_are_listed_once_and_at_most_their_cap() {
        let mut b = Blocked::default();
        assert_eq!(
            b.add("🛡 Blocked: writing ~/.a".into()).as_deref(),
            Some("🛡 Blocked: writing ~/.a")
        );
        assert_eq!(b.add("🛡 Blocked: writing ~/.a".into()), None);
        for i in 0..10_000 {
            b.add(format!("🛡 Blocked: writing ~/.f{i}"));
        }
        assert_eq!(b.lines.len(), MAX_BLOCKED_LINES + 1);
        assert_eq!(b.lines.last().unwrap(), super::super::messages::BLOCKED_CUT);
    }

    #[test]
    fn a_refused_sandbox_is_this_machines_problem() {
        let e = SpawnError::Sandbox(crate::sandbox::SandboxError::Unavailable {
            reason: "this kernel has no Landlock".into(),
        });
        let p = spawn_problem(&e, AgentKind::Claude).unwrap();
        assert_eq!(p.kind, MachineKind::NoSandbox);
        assert!(p.message().contains("this kernel has no Landlock"));
        assert!(p.fix.contains("sandbox_fallback"));
    }
}
