//! What every worker of this process shares: history, events, the machine's name and
//! settings, pauses, budget notices, machine problems that block an employee, and which
//! employees see other machines claim on their project.

use super::events::WorkerEvent;
use crate::agent::MachineProblem;
use crate::history::History;
use crate::secrets::Secret;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::broadcast;

/// What every worker shares.
pub struct Shared {
    pub history: Arc<History>,
    pub events: broadcast::Sender<WorkerEvent>,
    pub machine: String,
    /// How often live progress is posted to a task (employees with `live_progress`).
    pub live_period: Duration,
    /// How long past its timeout this machine's claims hold.
    pub claim_grace_secs: u64,
    pub(super) settings: RwLock<Settings>,
    pub(super) paused: Mutex<Paused>,
    /// (employee or "*", local date) pairs already told about a reached budget.
    pub(super) budget_told: Mutex<HashSet<(String, String)>>,
    /// Employees kept from working by a problem of this machine, until a re-check passes.
    pub(super) blocked: Mutex<HashMap<String, Blocked>>,
    /// Employees whose agent login was checked once since start.
    pub(super) login_checked: Mutex<HashSet<String>>,
    /// When each employee last saw another machine's claim on its project (then it spreads
    /// its picks, see [`super::pick::spread`]).
    pub(super) contended: Mutex<HashMap<String, std::time::Instant>>,
}

/// An employee waiting for a machine problem to go away.
#[derive(Debug, Clone)]
pub(super) struct Blocked {
    pub(super) problem: MachineProblem,
    pub(super) retry_at: DateTime<Utc>,
    /// Re-checks so far (the wait doubles with each, up to [`MAX_RECHECK_SECS`]).
    pub(super) step: u32,
}

/// The first wait before re-checking a machine problem, and the longest.
pub(super) const FIRST_RECHECK_SECS: i64 = 60;

pub(super) const MAX_RECHECK_SECS: i64 = 30 * 60;

/// Settings that can change while workers run (a new token, a new global budget).
#[derive(Default, Clone)]
pub(super) struct Settings {
    /// Values that must never reach an agent's environment.
    pub(super) secrets: Vec<Secret>,
    pub(super) global_daily_usd: Option<f64>,
}

#[derive(Default)]
pub(super) struct Paused {
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
            live_period: super::live::PERIOD,
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
    pub(super) fn contend(&self, employee: &str) {
        self.contended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(employee.to_lowercase(), std::time::Instant::now());
    }

    /// Whether another machine was seen on the employee's project in the last ten minutes.
    pub(super) fn is_contended(&self, employee: &str) -> bool {
        self.contended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&employee.to_lowercase())
            .is_some_and(|t| t.elapsed() < Duration::from_secs(600))
    }

    pub(super) fn settings(&self) -> Settings {
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
