//! The engine: config, history, local queue and Todoist account in one place, and the
//! employees' workers run side by side on top of them. The desktop shell and the CLI hold an
//! `Engine` and turn a person's actions into calls on it.

use crate::config::{Config, ConfigError, Employee, SourceKind};
use crate::history::{History, HistoryError};
use crate::paths::Paths;
use crate::secrets::{self, Secret, SecretError, SecretStore};
use crate::source::{
    LocalQueue, QueueError, RetryPolicy, Source, TodoistAccount, TodoistClient, TodoistError,
};
use crate::worker::{CycleReport, Shared, Worker, WorkerError, WorkerEvent};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Todoist(#[from] TodoistError),
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error("no Todoist token: run `delegate token set` (or set TODOIST_API_TOKEN)")]
    NoToken,
    #[error("no employees to run; add one with `delegate employee add`")]
    NoEmployees,
    #[error("employee \"{0}\" is disabled; set `enabled = true` to run it")]
    Disabled(String),
}

/// Tuning knobs with sensible defaults.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// How often live progress comments are posted (default 30 s).
    pub live_comment_period: Option<Duration>,
}

pub struct Engine {
    paths: Paths,
    config: Config,
    queue: Arc<LocalQueue>,
    store: Arc<dyn SecretStore>,
    shared: Arc<Shared>,
    account: tokio::sync::Mutex<Option<Arc<TodoistAccount>>>,
    run_now: Arc<Notify>,
    interrupted: usize,
}

/// This machine's name, as written in claim comments.
pub fn machine_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this machine".into())
}

impl Engine {
    /// Loads the config, opens the databases and marks runs a dead process left `running`
    /// as `interrupted`.
    pub fn open(paths: Paths, store: Arc<dyn SecretStore>) -> Result<Self, EngineError> {
        Self::open_with(paths, store, EngineOptions::default())
    }

    pub fn open_with(
        paths: Paths,
        store: Arc<dyn SecretStore>,
        options: EngineOptions,
    ) -> Result<Self, EngineError> {
        let config = Config::load(&paths.config_file)?;
        let history = Arc::new(History::open(&paths.history_db())?);
        let queue = Arc::new(LocalQueue::open(&paths.queue_db())?);
        let machine = machine_name();
        let interrupted = history.mark_interrupted(&machine)?;
        // Values to keep out of agent environments. Only touch the keychain when a Todoist
        // employee exists, so a local-only setup never needs one.
        let mut scrub = Vec::new();
        if config
            .employees
            .iter()
            .any(|e| e.source == SourceKind::Todoist)
            && let Ok(Some((token, _))) = secrets::todoist_token(store.as_ref())
        {
            scrub.push(token);
        }
        let (events, _) = broadcast::channel(1024);
        let mut shared = Shared::new(history, events, machine, scrub, config.budget.daily_usd);
        if let Some(p) = options.live_comment_period {
            shared.live_period = p;
        }
        let shared = Arc::new(shared);
        Ok(Self {
            paths,
            config,
            queue,
            store,
            shared,
            account: tokio::sync::Mutex::new(None),
            run_now: Arc::new(Notify::new()),
            interrupted,
        })
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }
    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn history(&self) -> &History {
        &self.shared.history
    }
    pub fn queue(&self) -> &LocalQueue {
        &self.queue
    }
    pub fn machine(&self) -> &str {
        &self.shared.machine
    }
    /// How many runs were found `running` from a dead process and marked `interrupted`.
    pub fn interrupted_at_start(&self) -> usize {
        self.interrupted
    }
    pub fn subscribe(&self) -> broadcast::Receiver<WorkerEvent> {
        self.shared.events.subscribe()
    }
    /// Wakes every watching worker for an immediate cycle.
    pub fn run_now(&self) {
        self.run_now.notify_waiters();
    }

    /// The Todoist account, connected on first use with the token from the environment or
    /// the keychain.
    pub async fn account(&self) -> Result<Arc<TodoistAccount>, EngineError> {
        let mut slot = self.account.lock().await;
        if let Some(a) = slot.as_ref() {
            return Ok(a.clone());
        }
        let (token, _) =
            secrets::todoist_token(self.store.as_ref())?.ok_or(EngineError::NoToken)?;
        let client = TodoistClient::new(&self.config.api_url(), token, RetryPolicy::default())?;
        let account = Arc::new(TodoistAccount::new(client));
        *slot = Some(account.clone());
        Ok(account)
    }

    /// The token currently in use, if any (for `token status`).
    pub fn token(&self) -> Result<Option<(Secret, secrets::TokenOrigin)>, SecretError> {
        secrets::todoist_token(self.store.as_ref())
    }

    pub async fn source_for(&self, employee: &Employee) -> Result<Source, EngineError> {
        Ok(match employee.source {
            SourceKind::Todoist => Source::Todoist {
                account: self.account().await?,
                project: employee.project.clone().unwrap_or_default(),
            },
            SourceKind::Local => Source::Local {
                queue: self.queue.clone(),
                employee: employee.name.clone(),
            },
        })
    }

    /// The employees named (all enabled ones when `names` is empty).
    pub fn select(&self, names: &[String]) -> Result<Vec<Employee>, EngineError> {
        if names.is_empty() {
            let all: Vec<Employee> = self
                .config
                .employees
                .iter()
                .filter(|e| e.enabled)
                .cloned()
                .collect();
            if all.is_empty() {
                return Err(EngineError::NoEmployees);
            }
            return Ok(all);
        }
        names
            .iter()
            .map(|n| {
                let e = self.config.employee(n)?;
                if !e.enabled {
                    return Err(EngineError::Disabled(e.name.clone()));
                }
                Ok(e.clone())
            })
            .collect()
    }

    /// One cycle of each employee, all at once. Each employee's result is separate: one
    /// failing does not stop the others.
    pub async fn run_once(
        &self,
        employees: &[Employee],
        cancel: &CancellationToken,
    ) -> Vec<(String, Result<CycleReport, EngineError>)> {
        // An explicit cycle reads fresh data; the employees in it then share one snapshot.
        if let Some(account) = self.account.lock().await.as_ref() {
            account.invalidate().await;
        }
        let mut set = JoinSet::new();
        let mut results = Vec::new();
        for (index, e) in employees.iter().enumerate() {
            let source = match self.source_for(e).await {
                Ok(s) => s,
                Err(err) => {
                    let _ = self.shared.events.send(WorkerEvent::Problem {
                        employee: e.name.clone(),
                        message: err.to_string(),
                    });
                    results.push((index, e.name.clone(), Err(err)));
                    continue;
                }
            };
            let worker = Worker {
                employee: e.clone(),
                source,
            };
            let shared = self.shared.clone();
            let cancel = cancel.clone();
            set.spawn(async move {
                let r = worker
                    .cycle(&shared, &cancel)
                    .await
                    .map_err(EngineError::from);
                (index, worker.employee.name, r)
            });
        }
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(r) => results.push(r),
                Err(e) => tracing::error!(error = %e, "a worker task panicked"),
            }
        }
        results.sort_by_key(|r| r.0);
        results.into_iter().map(|(_, n, r)| (n, r)).collect()
    }

    /// Keeps every employee polling at its own interval until `cancel` fires. A failing
    /// employee is retried at its next poll; the others carry on.
    pub async fn watch(&self, employees: &[Employee], cancel: &CancellationToken) {
        let mut set = JoinSet::new();
        for e in employees.iter().cloned() {
            let shared = self.shared.clone();
            let cancel = cancel.clone();
            let run_now = self.run_now.clone();
            let source = self.source_for(&e).await;
            set.spawn(async move {
                let source = match source {
                    Ok(s) => s,
                    Err(err) => {
                        let _ = shared.events.send(WorkerEvent::Problem {
                            employee: e.name.clone(),
                            message: err.to_string(),
                        });
                        return;
                    }
                };
                let poll = Duration::from_secs(e.poll_secs);
                let worker = Worker { employee: e, source };
                while !cancel.is_cancelled() {
                    if let Err(err) = worker.cycle(&shared, &cancel).await {
                        tracing::warn!(employee = %worker.employee.name, error = %err, "cycle failed");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(poll) => {}
                        _ = run_now.notified() => {
                            // "Run now" wants fresh data, not a snapshot from seconds ago.
                            if let Source::Todoist { account, .. } = &worker.source {
                                account.invalidate().await;
                            }
                        }
                        _ = cancel.cancelled() => {}
                    }
                }
            });
        }
        while set.join_next().await.is_some() {}
    }
}
