//! The worker cycle for one employee: poll, pick, check the budget, claim, dispatch, finish.
//! One task at a time per employee; many employees run at once (see [`crate::engine`]).

mod dispatch;
pub mod events;
mod live;
pub mod messages;
pub mod pick;

use crate::agent::spawn::resolve_program;
use crate::agent::{Login, MachineKind, MachineProblem};
use crate::claims::{self, Claim, Log};
use crate::config::Employee;
use crate::history::{History, NewRun, RunStatus};
use crate::labels;
use crate::secrets::Secret;
use crate::source::{Claimed, Finish, Source, SourceError, Task};
use chrono::{DateTime, Local, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub use dispatch::KILL_GRACE;
pub use events::{ProblemKind, WorkerEvent};

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    #[error(transparent)]
    Agent(#[from] crate::agent::SpawnError),
}

/// What every worker shares.
pub struct Shared {
    pub history: Arc<History>,
    pub events: broadcast::Sender<WorkerEvent>,
    pub machine: String,
    /// How often live progress is posted to a task (employees with `live_progress`).
    pub live_period: Duration,
    /// How long past its timeout this machine's claims hold.
    pub claim_grace_secs: u64,
    settings: RwLock<Settings>,
    paused: Mutex<Paused>,
    /// (employee or "*", local date) pairs already told about a reached budget.
    budget_told: Mutex<HashSet<(String, String)>>,
    /// Employees kept from working by a problem of this machine, until a re-check passes.
    blocked: Mutex<HashMap<String, Blocked>>,
    /// Employees whose agent login was checked once since start.
    login_checked: Mutex<HashSet<String>>,
    /// When each employee last saw another machine's claim on its project (then it spreads
    /// its picks, see [`pick::spread`]).
    contended: Mutex<HashMap<String, std::time::Instant>>,
}

/// An employee waiting for a machine problem to go away.
#[derive(Debug, Clone)]
struct Blocked {
    problem: MachineProblem,
    retry_at: DateTime<Utc>,
    /// Re-checks so far (the wait doubles with each, up to [`MAX_RECHECK_SECS`]).
    step: u32,
}

/// The first wait before re-checking a machine problem, and the longest.
const FIRST_RECHECK_SECS: i64 = 60;
const MAX_RECHECK_SECS: i64 = 30 * 60;

/// Settings that can change while workers run (a new token, a new global budget).
#[derive(Default, Clone)]
struct Settings {
    /// Values that must never reach an agent's environment.
    secrets: Vec<Secret>,
    global_daily_usd: Option<f64>,
}

#[derive(Default)]
struct Paused {
    all: bool,
    employees: HashSet<String>,
}

impl Shared {
    pub fn new(
        history: Arc<History>,
        events: broadcast::Sender<WorkerEvent>,
        machine: String,
        secrets: Vec<Secret>,
        global_daily_usd: Option<f64>,
    ) -> Self {
        Self {
            history,
            events,
            machine,
            live_period: live::PERIOD,
            claim_grace_secs: crate::claims::DEFAULT_GRACE_SECS,
            settings: RwLock::new(Settings {
                secrets,
                global_daily_usd,
            }),
            paused: Mutex::new(Paused::default()),
            budget_told: Mutex::new(HashSet::new()),
            blocked: Mutex::new(HashMap::new()),
            login_checked: Mutex::new(HashSet::new()),
            contended: Mutex::new(HashMap::new()),
        }
    }

    /// Another machine works this employee's project too.
    fn contend(&self, employee: &str) {
        self.contended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(employee.to_lowercase(), std::time::Instant::now());
    }

    /// Whether another machine was seen on the employee's project in the last ten minutes.
    fn is_contended(&self, employee: &str) -> bool {
        self.contended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&employee.to_lowercase())
            .is_some_and(|t| t.elapsed() < Duration::from_secs(600))
    }

    fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the secrets kept out of agent environments and the global daily budget.
    pub fn update(&self, secrets: Vec<Secret>, global_daily_usd: Option<f64>) {
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = Settings {
            secrets,
            global_daily_usd,
        };
    }

    /// Pauses or resumes one employee, or all of them (`None`).
    pub fn set_paused(&self, employee: Option<&str>, paused: bool) {
        {
            let mut p = self.paused.lock().unwrap_or_else(|e| e.into_inner());
            match employee {
                None => p.all = paused,
                Some(name) if paused => {
                    p.employees.insert(name.to_lowercase());
                }
                Some(name) => {
                    p.employees.remove(&name.to_lowercase());
                }
            }
        }
        let _ = self.events.send(WorkerEvent::Paused {
            employee: employee.map(String::from),
            paused,
        });
    }

    pub fn is_paused(&self, employee: &str) -> bool {
        let p = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        p.all || p.employees.contains(&employee.to_lowercase())
    }

    pub fn all_paused(&self) -> bool {
        self.paused.lock().unwrap_or_else(|e| e.into_inner()).all
    }

    /// "Run now": blocked employees re-check at their next cycle instead of waiting.
    pub fn recheck_now(&self) {
        let mut b = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        for v in b.values_mut() {
            v.retry_at = Utc::now();
        }
    }

    /// After a config change (a new command, another agent): blocked employees re-check at
    /// once, and every employee checks its agent's login again before its next claim.
    pub fn config_changed(&self) {
        self.recheck_now();
        self.login_checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Why an employee cannot work on this machine right now, if it cannot.
    pub fn blocked_reason(&self, employee: &str) -> Option<MachineProblem> {
        self.blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&employee.to_lowercase())
            .map(|b| b.problem.clone())
    }
}

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

/// A claim written for a task, before it is decided.
struct Ahead {
    task: Task,
    claim: Claim,
    claimed: Claimed,
    /// The outbox entry that takes the claim back after a crash, until it is decided.
    guard: Option<i64>,
}

impl Ahead {
    /// Taking the claim back, when it was written.
    fn withdraw(self) -> Option<Finish> {
        match self.claimed {
            Claimed::Pending(p) => Some(Finish::withdraw(&p.task_id, None, &p.note_id, Vec::new())),
            Claimed::Won { note_id } => Some(Finish::withdraw(
                &self.task.id,
                Some(labels::released(&labels::claimed(&self.task.labels))),
                &note_id,
                Vec::new(),
            )),
            Claimed::Lost { withdraw, .. } => withdraw,
        }
    }
}

/// A won claim.
struct Won {
    note_id: String,
    posted_at: Option<DateTime<Utc>>,
    known: HashSet<String>,
}

/// What one cycle carries from one task to the next.
#[derive(Default)]
struct Carry {
    /// Tasks already claimed (or waiting for an earlier end to land) in this cycle.
    tried: HashSet<String>,
    /// Writes that ride along with the next request (outbox id, write).
    unsent: Vec<(i64, Finish)>,
    /// The next task, claimed while the current one settled.
    ahead: Option<Ahead>,
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
            let last = match &log {
                Some(_) => shared
                    .history
                    .last_run_for_task(&self.employee.name, &t.id)?,
                None => None,
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
                },
            );
        }
        pick::sort(&mut eligible);
        if shared.is_contended(&self.employee.name) {
            pick::spread(&mut eligible, &shared.machine);
        }
        Ok(eligible)
    }

    /// The claim this machine writes for `task`.
    fn claim_for(&self, shared: &Shared, task: &Task) -> Claim {
        Claim {
            id: claims::new_claim_id(),
            machine: shared.machine.clone(),
            attempt: labels::failures(&task.labels) + 1,
            max_attempts: self.employee.max_attempts,
            // From its `posted_at`: the run starts once the claim settled, and then has its
            // whole timeout (and the grace) before anyone may take the task over.
            lease_secs: Some(
                pick::default_lease(&self.employee, shared.claim_grace_secs)
                    .saturating_add(self.source.settle_secs()),
            ),
            due: task.due.clone(),
        }
    }

    /// Claims `task`, with the carried ends riding along (and, with `not_before`, as the
    /// read that settles an earlier claim). Until the claim is decided, taking it back is in
    /// the outbox, so a crash in between does not leave it standing.
    async fn claim(
        &self,
        shared: &Shared,
        carry: &mut Carry,
        task: Task,
        not_before: Option<DateTime<Utc>>,
        dead: &HashSet<String>,
    ) -> Result<Ahead, WorkerError> {
        let claim = self.claim_for(shared, &task);
        let lease = pick::default_lease(&self.employee, shared.claim_grace_secs);
        carry.tried.insert(task.id.clone());
        let riding = std::mem::take(&mut carry.unsent);
        let finishes: Vec<Finish> = riding.iter().map(|(_, f)| f.clone()).collect();
        let result = self
            .source
            .claim(&task.id, &claim, &finishes, not_before, lease, dead)
            .await;
        self.delivered(shared, riding, result.as_ref().err())?;
        let claimed = result?;
        let guard = match &claimed {
            Claimed::Pending(p) => Some(shared.history.outbox_add(
                &self.employee.name,
                &Finish::withdraw(&task.id, None, &p.note_id, Vec::new()),
            )?),
            _ => None,
        };
        Ok(Ahead {
            task,
            claim,
            claimed,
            guard,
        })
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

    /// Another machine's claim came first: nothing ran; taking ours back rides along with
    /// the next request (its outbox entry keeps it safe until then).
    fn lost(
        &self,
        shared: &Shared,
        carry: &mut Carry,
        task: &Task,
        machine: &str,
        withdraw: Option<Finish>,
        guard: Option<i64>,
    ) -> Result<(), WorkerError> {
        tracing::info!(employee = %self.employee.name, task = %task.id, %machine, "another machine claimed the task first; left to it");
        shared.contend(&self.employee.name);
        match (withdraw, guard) {
            (Some(w), Some(id)) => carry.unsent.push((id, w)),
            (Some(w), None) => self.keep(shared, carry, w)?,
            (None, Some(id)) => shared.history.outbox_done(id)?,
            (None, None) => {}
        }
        Ok(())
    }

    /// Puts a write in the outbox and carries it to the next request.
    fn keep(&self, shared: &Shared, carry: &mut Carry, f: Finish) -> Result<(), WorkerError> {
        let id = shared.history.outbox_add(&self.employee.name, &f)?;
        carry.unsent.push((id, f));
        Ok(())
    }

    /// Settles the outbox entries of writes that rode along with a request.
    fn delivered(
        &self,
        shared: &Shared,
        riding: Vec<(i64, Finish)>,
        error: Option<&SourceError>,
    ) -> Result<(), WorkerError> {
        for (id, _) in riding {
            match error {
                None => shared.history.outbox_done(id)?,
                Some(e) => shared.history.outbox_failed(id, &e.to_string())?,
            }
        }
        Ok(())
    }

    /// Sends what is still carried, in one request.
    async fn send_carried(&self, shared: &Shared, carry: &mut Carry) -> Result<(), WorkerError> {
        let riding = std::mem::take(&mut carry.unsent);
        if riding.is_empty() {
            return Ok(());
        }
        let finishes: Vec<Finish> = riding.iter().map(|(_, f)| f.clone()).collect();
        let result = self.source.send(&finishes).await;
        let gone = result.as_ref().err().is_some_and(crate::source::is_gone);
        if gone {
            // A task deleted meanwhile can never take the write.
            self.delivered(shared, riding, None)?;
            return Ok(());
        }
        self.delivered(shared, riding, result.as_ref().err())?;
        if let Err(err) = result {
            self.problem(
                shared,
                ProblemKind::of_source(&err),
                format!(
                    "a finished run could not be reported on its task yet ({err}); Delegate sends it again at the next poll"
                ),
            );
            return Err(err.into());
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

        // The claim's answer brought the task's comments up to date: no extra request.
        let feedback = match self
            .source
            .comments(&task.id, Duration::from_secs(3600))
            .await
        {
            Ok(c) => Log::new(c).feedback(task.due.as_deref(), task.recurring),
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the task's comments; working without feedback");
                Vec::new()
            }
        };
        let prompt = messages::prompt(&task.title, &task.description, &feedback);
        let (mut inv, notes) = self.invocation(&prompt, shared);
        inv.marker = Some(claim.id.clone());
        let mut shown = vec![inv.program.clone()];
        shown.extend(inv.args.iter().cloned());
        let run_id = shared.history.start_run(&NewRun {
            employee: &e.name,
            source: self.source.kind(),
            task: &task,
            attempt,
            max_attempts: e.max_attempts,
            machine: &shared.machine,
            command: &shown,
            claim_id: &claim.id,
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
            },
        );

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
        let lease = live::Lease {
            claim,
            note_id: won.note_id,
            posted_at,
            known: won.known,
            default_lease: lease,
            dead: dead.clone(),
        };
        let done = self
            .dispatch(shared, run_id, &task, &inv, lease, cancel)
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
        let (finish, gave_up) = self.finish_for(&task, &current, attempt, &done, &claim_note);
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

    /// Puts the employee in "needs attention" until a re-check passes (or the problem's own
    /// time, for a usage limit), and says so.
    fn block(&self, shared: &Shared, problem: MachineProblem, step: u32) {
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
    async fn still_blocked(&self, shared: &Shared) -> Option<String> {
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
    async fn check_machine(&self) -> Option<MachineProblem> {
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

    /// The labels and the comment for the run's end, as one write, and whether the task was
    /// given up. `current` are the task's labels as last seen.
    fn finish_for(
        &self,
        task: &Task,
        current: &[String],
        attempt: u32,
        done: &dispatch::Dispatched,
        claim_note: &str,
    ) -> (Finish, bool) {
        let max = self.employee.max_attempts;
        let end = &done.end;
        if end.status == RunStatus::LostClaim {
            // As if this machine never claimed: its comments go, and the labels are the ones
            // the winner left (only when this run had changed them).
            let labels = done.after.labelled.then(|| {
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
            // Not the task's fault: the claim is taken back as if it never was.
            let labels = done.after.labelled.then(|| labels::released(current));
            return (
                Finish::withdraw(&task.id, labels, claim_note, Vec::new()),
                false,
            );
        }
        let (labels, text, gave_up) = match end.status {
            RunStatus::Succeeded => (
                labels::done(current),
                messages::done(end.summary.as_deref(), &done.drafts),
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
        let text = messages::with_sandbox_blocks(text, &end.sandbox_blocked);
        (Finish::new(&task.id, labels, text), gave_up)
    }

    /// Sends the writes earlier runs could not deliver (same ids, so never twice). Returns
    /// the tasks whose end has still not landed: they are left alone until it has.
    async fn flush_outbox(&self, shared: &Shared) -> Result<HashSet<String>, WorkerError> {
        let mut pending = HashSet::new();
        let mut reachable = true;
        for (id, f) in shared.history.outbox(&self.employee.name)? {
            if !reachable {
                pending.insert(f.task_id);
                continue;
            }
            match self.source.send(std::slice::from_ref(&f)).await {
                Ok(()) => shared.history.outbox_done(id)?,
                Err(e) if crate::source::is_gone(&e) => {
                    tracing::warn!(task = %f.task_id, error = %e, "the task is gone; dropping its pending update");
                    shared.history.outbox_done(id)?;
                }
                Err(e) => {
                    shared.history.outbox_failed(id, &e.to_string())?;
                    self.problem(
                        shared,
                        ProblemKind::of_source(&e),
                        format!("a finished run could not be reported on its task yet: {e}"),
                    );
                    pending.insert(f.task_id);
                    reachable = false;
                }
            }
        }
        Ok(pending)
    }
}
