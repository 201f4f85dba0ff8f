//! The worker cycle for one employee: poll, pick, check the budget, claim, dispatch, finish.
//! One task at a time per employee; many employees run at once (see [`crate::engine`]).

mod claim;
mod dispatch;
pub mod events;
pub mod inputs;
mod live;
mod machine;
pub mod messages;
pub mod pick;
mod shared;

use crate::agent::spawn::resolve_program;
use crate::claims::{Claim, Log};
use crate::config::Employee;
use crate::history::{NewRun, RunStatus};
use crate::labels;
use crate::source::{Claimed, Finish, Source, SourceError, Task};
use chrono::{DateTime, Local, Utc};
use std::collections::HashSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use claim::{Ahead, Carry, Won};
pub use dispatch::KILL_GRACE;
pub use events::{ProblemKind, WorkerEvent};
pub use shared::Shared;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    #[error(transparent)]
    Agent(#[from] crate::agent::SpawnError),
}

/// How long attaching a run's drafts may take: after the run its claim is no longer renewed.
const ATTACH_TIME: Duration = Duration::from_secs(60);

/// What one cycle did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CycleReport {
    pub runs: Vec<(i64, RunStatus)>,
    pub budget_reached: bool,
    /// A problem of this machine kept the employee from working (with what to do).
    pub blocked: Option<String>,
    /// Open tasks left alone for now, and why ("“Post” retries after 10:42").
    pub waiting: Vec<String>,
}

#[derive(Clone)]
pub struct Worker {
    pub employee: Employee,
    pub source: Source,
}

/// Why an open task is left alone for now, in words, when it will be worked later.
fn waiting_line(
    task: &Task,
    skip: &pick::Skip,
    log: Option<&Log>,
    seen: &pick::Seen<'_>,
    lease: u64,
) -> Option<String> {
    let at = |t: DateTime<Utc>| {
        let local = t.with_timezone(&Local);
        if local.date_naive() == Local::now().date_naive() {
            local.format("%H:%M").to_string()
        } else {
            local.format("%b %-d, %H:%M").to_string()
        }
    };
    let title = crate::agent::first_line(&task.title, 60);
    match skip {
        pick::Skip::BackingOff { until } => Some(format!("“{title}” retries after {}", at(*until))),
        pick::Skip::NotDueYet => task
            .due_at()
            .map(|d| format!("“{title}” waits until it is due ({})", at(d))),
        pick::Skip::ClaimedElsewhere => {
            let machine = log
                .and_then(|l| l.live_claim(seen.now, lease, seen.dead))
                .map(|c| c.claim.machine)
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "another machine".into());
            Some(format!("“{title}” is claimed by {machine}"))
        }
        _ => None,
    }
}

/// The start of today in local time, when daily budgets reset.
pub fn start_of_today() -> DateTime<Utc> {
    let today = Local::now().date_naive();
    today
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(Local).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
}

impl Worker {
    fn event(&self, shared: &Shared, ev: WorkerEvent) {
        let _ = shared.events.send(ev);
    }

    fn problem(&self, shared: &Shared, kind: ProblemKind, message: String) {
        tracing::warn!(employee = %self.employee.name, %message, "problem");
        self.event(
            shared,
            WorkerEvent::Problem {
                employee: self.employee.name.clone(),
                source: Some(self.employee.source),
                kind,
                message,
            },
        );
    }

    /// One cycle: works through every eligible task once, until none is left, the budget is
    /// reached or `cancel` fires.
    pub async fn cycle(
        &self,
        shared: &Shared,
        cancel: &CancellationToken,
    ) -> Result<CycleReport, WorkerError> {
        let mut report = CycleReport::default();
        // A missing CLI or workspace is the employee's problem, not the task's: check before
        // claiming anything so no attempt is burnt on it.
        if let Err(e) = resolve_program(crate::agent::command_of(&self.employee)) {
            self.problem(shared, ProblemKind::AgentMissing, e.to_string());
            return Err(e.into());
        }
        if !self.employee.workspace.is_dir() {
            let e = crate::agent::SpawnError::NoWorkspace {
                path: self.employee.workspace.clone(),
            };
            self.problem(shared, ProblemKind::WorkspaceMissing, e.to_string());
            return Err(e.into());
        }
        if let Some(why) = self.still_blocked(shared).await {
            report.blocked = Some(why);
            return Ok(report);
        }
        let dead = shared.history.dead_claims(&shared.machine)?;
        // Ends of earlier runs that have not reached their task yet come first; their tasks
        // wait until they have (so a finished task is never worked again).
        let tried: HashSet<String> = self.flush_outbox(shared).await?;
        let mut carry = Carry {
            tried,
            ..Carry::default()
        };
        let worked = self
            .work(shared, cancel, &dead, &mut report, &mut carry)
            .await;
        // Whatever stopped the cycle: a claim made ahead is taken back, and the ends that
        // waited to ride along with a later request are sent (else the outbox resends them).
        if let Some(ahead) = carry.ahead.take() {
            let guard = ahead.guard;
            match (ahead.withdraw(), guard) {
                (Some(w), Some(id)) => carry.unsent.push((id, w)),
                (Some(w), None) => self.keep(shared, &mut carry, w)?,
                (None, Some(id)) => shared.history.outbox_done(id)?,
                (None, None) => {}
            }
        }
        let sent = self.send_carried(shared, &mut carry).await;
        worked?;
        sent?;
        Ok(report)
    }

    /// The open tasks this employee may work on now, best first (from the snapshot when it
    /// is fresh). The first poll of a cycle also reports what waits and why.
    async fn eligible(
        &self,
        shared: &Shared,
        dead: &HashSet<String>,
        carry: &Carry,
        report: Option<&mut CycleReport>,
    ) -> Result<Vec<Task>, WorkerError> {
        let max_age = Duration::from_secs((self.employee.poll_secs / 2).max(1));
        let tasks = match self.source.open_tasks(max_age).await {
            Ok(t) => t,
            Err(e) => {
                self.problem(shared, ProblemKind::of_source(&e), e.to_string());
                return Err(e.into());
            }
        };
        let now = self.source.now().await;
        let mut waiting = Vec::new();
        let mut eligible: Vec<Task> = Vec::new();
        for mut t in tasks
            .iter()
            .filter(|t| !carry.tried.contains(&t.id))
            .cloned()
        {
            // Claims are comments without labels until a run lasts, so every task that is
            // not settled by its labels is read with its comments (from the snapshot).
            let log = if pick::needs_log(&t) {
                Some(Log::new(self.source.comments(&t.id, max_age).await?))
            } else {
                None
            };
            if log.as_ref().is_some_and(|l| {
                l.claims()
                    .iter()
                    .any(|c| c.claim.machine != shared.machine && !c.ended)
            }) {
                shared.contend(&self.employee.name);
            }
            if let Some(log) = &log
                && self.new_occurrence(&t, log, now, dead, shared)
            {
                let fresh = labels::rework(&t.labels);
                self.source.set_labels(&t.id, &fresh).await?;
                tracing::info!(employee = %self.employee.name, task = %t.id, due = ?t.due, "recurring task: a new occurrence");
                t.labels = fresh;
            }
            // Only a retry's backoff asks when the last run ended (one history read per
            // task that failed, not per open task: a table of thousands waiting for review
            // costs nothing here).
            let last = match &log {
                Some(_) if labels::failures(&t.labels) > 0 => shared
                    .history
                    .last_run_for_task(&self.employee.name, &t.id)?,
                _ => None,
            };
            let seen = pick::Seen {
                log: log.as_ref(),
                last_run: last.as_ref(),
                now,
                dead,
                grace_secs: shared.claim_grace_secs,
            };
            match pick::check(&t, &self.employee, &seen) {
                Ok(()) => eligible.push(t),
                Err(skip) => {
                    let lease = pick::default_lease(&self.employee, shared.claim_grace_secs);
                    if report.is_some()
                        && let Some(why) = waiting_line(&t, &skip, log.as_ref(), &seen, lease)
                    {
                        waiting.push(why);
                    }
                }
            }
        }
        if let Some(report) = report {
            report.waiting = waiting;
            self.event(
                shared,
                WorkerEvent::Polled {
                    employee: self.employee.name.clone(),
                    open_tasks: tasks.len(),
                    eligible: eligible.len(),
                    awaiting_review: tasks
                        .iter()
                        .filter(|t| t.labels.iter().any(|l| l == labels::DONE))
                        .count(),
                    awaiting_answer: tasks
                        .iter()
                        .filter(|t| t.labels.iter().any(|l| l == labels::NEEDS_INPUT))
                        .count(),
                },
            );
        }
        pick::sort(&mut eligible);
        if shared.is_contended(&self.employee.name) {
            pick::spread(&mut eligible, &shared.machine);
        }
        Ok(eligible)
    }

    /// Works through the eligible tasks, one at a time.
    async fn work(
        &self,
        shared: &Shared,
        cancel: &CancellationToken,
        dead: &HashSet<String>,
        report: &mut CycleReport,
        carry: &mut Carry,
    ) -> Result<(), WorkerError> {
        let lease = pick::default_lease(&self.employee, shared.claim_grace_secs);
        let mut first_poll = true;
        while !cancel.is_cancelled() {
            let current = match carry.ahead.take() {
                Some(a) => a,
                None => {
                    let eligible = self
                        .eligible(shared, dead, carry, first_poll.then_some(&mut *report))
                        .await?;
                    first_poll = false;
                    let Some(task) = eligible.into_iter().next() else {
                        break;
                    };
                    if self.budget_reached(shared)? {
                        report.budget_reached = true;
                        break;
                    }
                    self.claim(shared, carry, task, None, dead).await?
                }
            };
            let Ahead {
                task,
                claim,
                claimed,
                guard,
            } = current;
            let won = match claimed {
                Claimed::Won { note_id } => Won {
                    note_id,
                    posted_at: None,
                    known: HashSet::new(),
                },
                Claimed::Lost { machine, withdraw } => {
                    self.lost(shared, carry, &task, &machine, withdraw, guard)?;
                    continue;
                }
                Claimed::Pending(mut pending) => {
                    // While this claim settles, the next task is claimed with the settling
                    // read: one request does both, and that claim settles while this task
                    // runs. Only when more work waits than this machine takes, so other
                    // machines still find some.
                    if self.source.settles()
                        && !cancel.is_cancelled()
                        && !self.budget_reached(shared)?
                    {
                        let eligible = self.eligible(shared, dead, carry, None).await?;
                        if eligible.len() >= 2
                            && let Some(next) = eligible.into_iter().next()
                        {
                            let ahead = self
                                .claim(shared, carry, next, Some(pending.settle_at), dead)
                                .await?;
                            carry.ahead = Some(ahead);
                        }
                    }
                    let riding = std::mem::take(&mut carry.unsent);
                    let finishes: Vec<Finish> = riding.iter().map(|(_, f)| f.clone()).collect();
                    let result = self
                        .source
                        .settle(&mut pending, &finishes, lease, dead)
                        .await;
                    self.delivered(shared, riding, result.as_ref().err())?;
                    match result? {
                        Claimed::Won { note_id } => Won {
                            note_id,
                            posted_at: pending.posted_at,
                            known: pending.known,
                        },
                        Claimed::Lost { machine, withdraw } => {
                            self.lost(shared, carry, &task, &machine, withdraw, guard)?;
                            continue;
                        }
                        Claimed::Pending(_) => {
                            let w = Finish::withdraw(&task.id, None, &pending.note_id, Vec::new());
                            self.lost(shared, carry, &task, "", Some(w), guard)?;
                            continue;
                        }
                    }
                }
            };
            // Won: the claim is no longer something to take back after a crash (an
            // interrupted run's claim is this machine's dead claim instead).
            if let Some(id) = guard {
                shared.history.outbox_done(id)?;
            }
            if let Some(run) = self
                .work_on(shared, carry, task, claim, won, dead, cancel)
                .await?
            {
                report.runs.push(run);
                if run.1 == RunStatus::Blocked {
                    report.blocked = shared
                        .blocked_reason(&self.employee.name)
                        .map(|p| p.message());
                    break;
                }
            }
        }
        Ok(())
    }

    /// A recurring task that was worked for an earlier due date and has moved on (the
    /// person completed it; Todoist kept the labels): a new occurrence, to work afresh.
    fn new_occurrence(
        &self,
        task: &Task,
        log: &Log,
        now: DateTime<Utc>,
        dead: &HashSet<String>,
        shared: &Shared,
    ) -> bool {
        let lease = pick::default_lease(&self.employee, shared.claim_grace_secs);
        task.recurring
            && labels::any_ours(&task.labels)
            && log.is_new_occurrence(task.due.as_deref())
            && log.live_claim(now, lease, dead).is_none()
    }

    /// Whether today's spend blocks a new dispatch. Every blocked cycle says so (for the
    /// tray); `first_today` marks the first time per day and scope (for notifications).
    fn budget_reached(&self, shared: &Shared) -> Result<bool, WorkerError> {
        let since = start_of_today();
        let today = Local::now().date_naive().to_string();
        let checks = [
            (
                self.employee.daily_usd,
                Some(self.employee.name.as_str()),
                "employee",
            ),
            (shared.settings().global_daily_usd, None, "global"),
        ];
        for (limit, who, scope) in checks {
            let Some(limit) = limit else { continue };
            let spent = shared.history.spend_since(who, since)?;
            if spent >= limit {
                let key = (who.unwrap_or("*").to_string(), today.clone());
                let first = shared
                    .budget_told
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key);
                self.event(
                    shared,
                    WorkerEvent::BudgetReached {
                        employee: self.employee.name.clone(),
                        spent_usd: spent,
                        limit_usd: limit,
                        scope: scope.into(),
                        first_today: first,
                    },
                );
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Runs the agent on a task whose claim was won and keeps the run's end for the task
    /// (in the outbox, carried to the next request). `None` when the claim's lease ran out
    /// before the run could start (nothing ran, nothing counted).
    #[allow(clippy::too_many_arguments)]
    async fn work_on(
        &self,
        shared: &Shared,
        carry: &mut Carry,
        task: Task,
        claim: Claim,
        won: Won,
        dead: &HashSet<String>,
        cancel: &CancellationToken,
    ) -> Result<Option<(i64, RunStatus)>, WorkerError> {
        let e = &self.employee;
        let attempt = claim.attempt;
        let lease = pick::default_lease(e, shared.claim_grace_secs);
        let posted_at = match won.posted_at {
            Some(t) => Some(t),
            None => self.source.posted_at(&won.note_id, &task.id).await,
        };
        // The claim's answer brought the task's comments up to date: no extra request.
        let (reply, thread, last_failure, people) = match self
            .source
            .comments(&task.id, Duration::from_secs(3600))
            .await
        {
            Ok(c) => {
                let log = Log::new(c);
                let failure = (attempt > 1).then(|| log.last_failure()).flatten();
                let reply = log.reply(task.due.as_deref(), task.recurring);
                let thread = match &reply {
                    Some(_) => log.thread(task.due.as_deref(), task.recurring),
                    None => Vec::new(),
                };
                (reply, thread, failure, log.person_comments())
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the task's comments; working without the conversation");
                (None, Vec::new(), None, HashSet::new())
            }
        };
        // The files the person attached (not the drafts Delegate attached), in the workspace.
        let files: Vec<crate::source::FileRef> = self
            .source
            .files(&task.id)
            .await
            .into_iter()
            .filter(|(comment, _)| people.contains(comment))
            .map(|(_, f)| f)
            .collect();
        let brought = inputs::bring(&self.source, &e.workspace, &task.id, &files).await;
        let file_lines = inputs::prompt_lines(&brought);
        // Checked once the files are in (that took time), right before the run starts.
        // A claim made ahead may have waited long: one that has run out (or is about to)
        // is not this machine's any more. (The companion renews it at once otherwise.)
        let held = claim.lease_secs.unwrap_or(lease);
        if let Some(t) = posted_at
            && t + chrono::Duration::seconds(held as i64)
                < self.source.now().await + chrono::Duration::seconds(1)
        {
            tracing::warn!(employee = %e.name, task = %task.id, "the claim's lease ran out before the run could start; leaving the task");
            let w = Finish::withdraw(&task.id, None, &won.note_id, Vec::new());
            self.keep(shared, carry, w)?;
            return Ok(None);
        }

        let mut start = self.start(
            shared,
            &task,
            reply.as_ref(),
            &thread,
            last_failure.as_deref(),
            &file_lines,
        );
        let notes = std::mem::take(&mut start.1);
        let mut start = start.0;
        for inv in start.each_mut() {
            inv.marker = Some(claim.id.clone());
        }
        let shown = start.shown();
        let input = reply.as_ref().map(|r| r.texts.join("\n\n"));
        let run_id = shared.history.start_run(&NewRun {
            employee: &e.name,
            source: self.source.kind().as_str(),
            task: &task,
            attempt,
            max_attempts: e.max_attempts,
            machine: &shared.machine,
            command: &shown,
            claim_id: &claim.id,
            input: input.as_deref(),
        })?;
        self.event(
            shared,
            WorkerEvent::RunStarted {
                run_id,
                employee: e.name.clone(),
                task_id: task.id.clone(),
                task_title: task.title.clone(),
                attempt,
                max_attempts: e.max_attempts,
                answered: reply
                    .as_ref()
                    .is_some_and(|r| r.to == crate::claims::ReplyTo::Questions),
            },
        );

        let notes = notes.into_iter().chain(brought.iter().map(|b| match b {
            inputs::Brought::Saved { rel, bytes } => {
                format!(
                    "The file {rel} ({}) from the task is in the workspace",
                    inputs::human(*bytes)
                )
            }
            inputs::Brought::Skipped { name, why } => format!("Left out {name}: {why}"),
        }));
        for note in notes {
            let line = format!("ℹ️ {note}");
            shared.history.add_progress(run_id, &line)?;
            self.event(
                shared,
                WorkerEvent::Progress {
                    run_id,
                    employee: e.name.clone(),
                    line,
                },
            );
        }
        let claim_note = won.note_id.clone();
        let claim_id = claim.id.clone();
        let lease = live::Lease {
            claim,
            note_id: won.note_id,
            posted_at,
            known: won.known,
            default_lease: lease,
            dead: dead.clone(),
        };
        let done = self
            .dispatch(shared, run_id, &task, &start, lease, cancel)
            .await;
        // The labels as they are now (a person may have changed them during the run).
        let current = self
            .source
            .labels_now(&task.id)
            .await
            .unwrap_or_else(|| task.labels.clone());
        // History first, with the write that tells the task in the same transaction: whatever
        // happens next (a crash, an outage), the run is on record and its end reaches the task
        // exactly once — with the next request, or from the outbox at a later cycle.
        // Bounded: the claim's lease is no longer renewed once the run has ended.
        let attached = tokio::time::timeout(ATTACH_TIME, self.attach(&task, &done))
            .await
            .unwrap_or_else(|_| {
                tracing::warn!(task = %task.id, "attaching the drafts took too long; they are cut in the comment instead");
                Vec::new()
            });
        let (mut finish, gave_up) =
            self.finish_for(&task, &current, attempt, &done, &claim_note, &attached);
        finish.claim = Some(claim_id);
        let outbox =
            shared
                .history
                .finish_run(run_id, &done.end, &done.drafts, Some((&e.name, &finish)))?;
        if let Some(id) = outbox {
            carry.unsent.push((id, finish));
        }
        self.event(
            shared,
            WorkerEvent::RunFinished {
                run_id,
                employee: e.name.clone(),
                task_title: task.title.clone(),
                status: done.end.status,
                summary: done.end.summary.clone(),
                error: done.end.error.clone(),
                drafts: done.drafts.clone(),
                questions: done.end.questions.clone(),
                gave_up,
            },
        );
        if let Some(p) = done.problem {
            self.block(shared, p, 0);
        }
        // Without a claim made ahead, nothing else may come soon to carry the end.
        if carry.ahead.is_none() {
            self.send_carried(shared, carry).await?;
        }
        Ok(Some((run_id, done.end.status)))
    }

    /// How the run starts. When the person replied to a run of this machine (it answered the
    /// agent's questions, or asked for changes), that run's agent session is continued with
    /// their words; the fresh start, with the whole conversation in its prompt, is the
    /// fallback (and the only start when the session is elsewhere or unknown).
    fn start(
        &self,
        shared: &Shared,
        task: &Task,
        reply: Option<&crate::claims::Reply>,
        thread: &[(crate::claims::Speaker, String)],
        last_failure: Option<&str>,
        files: &[String],
    ) -> (dispatch::Start, Vec<String>) {
        let e = &self.employee;
        let agent = crate::agent::for_kind(e.agent);
        let prompt = messages::prompt(&task.title, &task.description, last_failure, thread, files);
        let (fresh, mut notes) = self.invocation(agent.launch(e, &prompt), shared);
        let session = reply
            .and_then(|r| r.claim_id.as_deref())
            .and_then(
                |claim| match shared.history.session_of_claim(claim, &e.name, &task.id) {
                    Ok(s) => s,
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot look up the earlier session");
                        None
                    }
                },
            )
            // The same agent as now: another CLI's session means nothing to this one.
            .filter(|(_, argv)| {
                argv.first().map(String::as_str) == Some(crate::agent::command_of(e))
            });
        // A retry starts afresh with the whole thread: the earlier attempt may have failed
        // because of the session itself (grown too long, refused by this CLI).
        let session = session.filter(|_| last_failure.is_none());
        let resume = match (reply, session) {
            (Some(reply), Some((session, _))) => agent
                .resume(
                    e,
                    &session,
                    &messages::reply_prompt(reply, last_failure, files),
                )
                .map(|launch| {
                    let (inv, _) = self.invocation(launch, shared);
                    notes.push(format!("Continuing the agent's earlier session {session}"));
                    (session, inv)
                }),
            _ => None,
        };
        (dispatch::Start { resume, fresh }, notes)
    }

    /// The labels and the comment for the run's end, as one write, and whether the task was
    /// given up. `current` are the task's labels as last seen.
    fn finish_for(
        &self,
        task: &Task,
        current: &[String],
        attempt: u32,
        done: &dispatch::Dispatched,
        claim_note: &str,
        attached: &[(String, crate::source::FileRef)],
    ) -> (Finish, bool) {
        let max = self.employee.max_attempts;
        let end = &done.end;
        if end.status == RunStatus::LostClaim {
            // As if this machine never claimed: its comments go, and the labels are the ones
            // the winner left (only when this run had changed them).
            let labelled = done.after.labelled || self.source.labels_on_claim();
            let labels = labelled.then(|| {
                match done.after.lost_to.as_ref().and_then(|(_, e)| e.as_deref()) {
                    Some(end) => {
                        labels::after_end(end, current).unwrap_or_else(|| current.to_vec())
                    }
                    None => labels::claimed(current),
                }
            });
            let more = done.after.progress_note.iter().cloned().collect();
            return (Finish::withdraw(&task.id, labels, claim_note, more), false);
        }
        if end.status == RunStatus::Blocked {
            // Not the task's fault: the claim is taken back as if it never was (and the task
            // set back to waiting where the claim itself marked it as being worked on).
            let labelled = done.after.labelled || self.source.labels_on_claim();
            let labels = labelled.then(|| labels::released(current));
            return (
                Finish::withdraw(&task.id, labels, claim_note, Vec::new()),
                false,
            );
        }
        if end.status == RunStatus::NothingToDo {
            // Quietly: one short comment. A recurring task's occurrence is completed (it moves
            // to its next date, its labels cleared for it); another task waits for review.
            let text = messages::nothing(end.summary.as_deref());
            let finish = if task.recurring {
                Finish::new(&task.id, labels::rework(current), text).closing()
            } else {
                Finish::new(&task.id, labels::done(current), text)
            };
            return (finish, false);
        }
        let (labels, text, gave_up) = match end.status {
            RunStatus::Succeeded => (
                labels::done(current),
                messages::done(end.summary.as_deref(), &done.drafts),
                false,
            ),
            RunStatus::NeedsInput => (
                labels::asked(current),
                messages::asked(&end.questions, end.summary.as_deref(), self.comment_room()),
                false,
            ),
            RunStatus::Cancelled | RunStatus::Interrupted => {
                (labels::released(current), messages::stopped(), false)
            }
            _ => {
                let reason = end.error.clone().unwrap_or_else(|| "unknown error".into());
                let tail = end.stderr_tail.clone().unwrap_or_default();
                (
                    labels::failed(current, attempt, max),
                    messages::failed(attempt, max, &reason, &tail),
                    attempt >= max,
                )
            }
        };
        let mut text = messages::with_sandbox_blocks(text, &end.sandbox_blocked);
        if end.status == RunStatus::Succeeded
            && self.employee.deliver_drafts != crate::config::DeliverDrafts::Path
        {
            let names: Vec<(String, String)> = attached
                .iter()
                .map(|(path, f)| (path.clone(), f.name.clone()))
                .collect();
            text = messages::with_drafts(
                text,
                &self.readable_drafts(&done.drafts),
                self.comment_room(),
                &names,
            )
            .0;
        }
        let mut finish = Finish::new(&task.id, labels, text);
        if end.status == RunStatus::Succeeded {
            finish.files = attached.iter().map(|(_, f)| f.clone()).collect();
        }
        (finish, gave_up)
    }

    /// How long an end comment may be on this employee's source.
    fn comment_room(&self) -> usize {
        self.source
            .kind()
            .info()
            .comment_chars
            .saturating_sub(messages::COMMENT_MARGIN)
    }

    /// Uploads the drafts to attach to a successful run's end comment: every draft with
    /// `deliver_drafts = "attach"`, else (`inline`) the ones the comment cannot show whole.
    /// Only where the source takes files; a draft whose upload fails is cut in the comment
    /// instead (the run's end is never held up by it).
    async fn attach(
        &self,
        task: &Task,
        done: &dispatch::Dispatched,
    ) -> Vec<(String, crate::source::FileRef)> {
        use crate::config::DeliverDrafts;
        if done.end.status != RunStatus::Succeeded
            || self.employee.deliver_drafts == DeliverDrafts::Path
        {
            return Vec::new();
        }
        let drafts = self.readable_drafts(&done.drafts);
        let every = self.source.drafts_as_files();
        let wanted: Vec<String> = match self.employee.deliver_drafts {
            _ if every => drafts.iter().map(|(p, _)| p.clone()).collect(),
            DeliverDrafts::Attach => drafts.iter().map(|(p, _)| p.clone()).collect(),
            _ => {
                let head = messages::done(done.end.summary.as_deref(), &done.drafts);
                messages::with_drafts(head, &drafts, self.comment_room(), &[]).1
            }
        };
        let mut out = Vec::new();
        for (path, body) in drafts.into_iter().filter(|(p, _)| wanted.contains(p)) {
            let name = inputs::safe_name(&path);
            match self.source.upload(&task.id, &name, body.into_bytes()).await {
                Ok(Some(file)) => out.push((path, file)),
                // This source takes no files: every draft is cut alike.
                Ok(None) => return Vec::new(),
                Err(err) => {
                    tracing::warn!(draft = %path, error = %err, "cannot attach the draft; it is cut in the comment instead")
                }
            }
        }
        out
    }

    /// The run's drafts that may be shown to whoever reads the task: inside the workspace
    /// (after following links: a draft that is a link to `~/.ssh/id_rsa` is not read), text,
    /// and not huge.
    fn readable_drafts(&self, drafts: &[crate::agent::Draft]) -> Vec<(String, String)> {
        drafts
            .iter()
            .filter(|d| d.inside_workspace)
            .filter_map(|d| {
                match crate::drafts::read(&self.employee.workspace, &d.path) {
                    Ok(text) if !text.contains('\u{fffd}') => Some((d.path.clone(), text)),
                    Ok(_) => None,
                    Err(e) => {
                        tracing::debug!(draft = %d.path, error = %e, "draft left out of the end comment");
                        None
                    }
                }
            })
            .collect()
    }
}
