//! The engine: config, history, local queue and each source's account in one place, and the
//! employees' workers run side by side on top of them. The desktop shell and the CLI hold an
//! `Engine` and turn a person's actions into calls on it.

use crate::config::{Config, ConfigError, Employee, SourceKind};
use crate::history::{History, HistoryError};
use crate::paths::Paths;
use crate::secrets::{self, Secret, SecretError, SecretStore};
use crate::source::{LocalQueue, LocalSource, QueueError, Service, Source, SourceError};
use crate::worker::{CycleReport, ProblemKind, Shared, Worker, WorkerError, WorkerEvent};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
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
    Worker(#[from] WorkerError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("no {} {}: run `delegate token set --source {}` (or set {}{})", .0.info().title, .0.info().token_name, .0.as_str(), .0.info().token_env.unwrap_or("its variable"), .0.info().token_elsewhere)]
    NoSourceToken(SourceKind),
    #[error("{} has no account to connect to", .0.info().title)]
    NoService(SourceKind),
    #[error("no employees to run; add one with `delegate employee add`")]
    NoEmployees,
    #[error("employee \"{0}\" is disabled; set `enabled = true` to run it")]
    Disabled(String),
    #[error(transparent)]
    Review(#[from] ReviewError),
    #[error(
        "Delegate hit an internal error while working for this employee ({0}); please report it"
    )]
    Crashed(String),
    #[error(transparent)]
    Employee(#[from] crate::employees::EmployeeError),
    #[error(transparent)]
    Run(#[from] crate::activity::RunError),
}

#[derive(Debug, thiserror::Error)]
/// Why a review (approve, request changes) cannot go ahead.
pub enum ReviewError {
    #[error("write what should change; the feedback goes to the agent as it is")]
    EmptyFeedback,
    #[error("write your answer; it goes to the agent as it is")]
    EmptyAnswer,
    #[error("the employee \"{0}\" no longer exists, so its task source is unknown")]
    EmployeeGone(String),
}

/// Tuning knobs with sensible defaults.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// How often live progress comments are posted (default 30 s).
    pub live_comment_period: Option<Duration>,
}

pub struct Engine {
    paths: Paths,
    config: RwLock<Config>,
    queue: Arc<LocalQueue>,
    stores: secrets::Stores,
    shared: Arc<Shared>,
    /// Each source's account, connected on first use.
    services: tokio::sync::Mutex<HashMap<SourceKind, Arc<dyn Service>>>,
    run_now: Arc<Notify>,
    reload: Notify,
    restart_all: AtomicBool,
    interrupted: usize,
}

/// Overrides this machine's name in claim comments (and `[machine] name`).
pub const MACHINE_ENV: &str = "DELEGATE_MACHINE";

/// This machine's name, as written in claim comments: `DELEGATE_MACHINE`, then `[machine]
/// name`, then the host name.
pub fn machine_name(config: &Config) -> String {
    std::env::var(MACHINE_ENV)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .or_else(|| config.machine.name.clone())
        .or_else(|| {
            nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this machine".into())
}

/// `config.toml` as every part of Delegate reads it (the engine, `doctor`, the CLI): its data
/// checked, and each employee against what its agent accepts.
pub fn load_config(path: &std::path::Path) -> Result<Config, crate::config::ConfigError> {
    Config::load(path, &crate::agent::RULES)
}

impl Engine {
    /// Loads the config, opens the databases and marks runs a dead process left `running`
    /// as `interrupted`.
    pub fn open(paths: Paths, stores: secrets::Stores) -> Result<Self, EngineError> {
        Self::open_with(paths, stores, EngineOptions::default())
    }

    pub fn open_with(
        paths: Paths,
        stores: secrets::Stores,
        options: EngineOptions,
    ) -> Result<Self, EngineError> {
        crate::memory::return_large_blocks();
        let config = load_config(&paths.config_file)?;
        let history = Arc::new(History::open(&paths.history_db())?);
        let queue = Arc::new(LocalQueue::open(&paths.queue_db())?);
        let machine = machine_name(&config);
        // Before anything else: runs a stopped Delegate left behind, and whatever their agents
        // started, which may still be running.
        let interrupted = history.mark_interrupted(&machine)?;
        let markers: Vec<String> = interrupted
            .iter()
            .filter_map(|r| r.claim_id.clone())
            .collect();
        let stopped = crate::sandbox::reap::stop(&markers, crate::worker::KILL_GRACE);
        if stopped > 0 {
            tracing::warn!(stopped, "stopped processes left by interrupted runs");
        }
        let interrupted = interrupted.len();
        let scrub = secrets_to_scrub(&config, &|kind| stores.get(kind));
        let (events, _) = broadcast::channel(1024);
        let grace = config.machine.claim_grace_secs;
        let mut shared = Shared::new(history, events, machine, scrub, config.budget.daily_usd);
        if let Some(p) = options.live_comment_period {
            shared.live_period = p;
        }
        if let Some(g) = grace {
            shared.claim_grace_secs = g;
        }
        let shared = Arc::new(shared);
        Ok(Self {
            paths,
            config: RwLock::new(config),
            queue,
            stores,
            shared,
            services: tokio::sync::Mutex::new(HashMap::new()),
            run_now: Arc::new(Notify::new()),
            reload: Notify::new(),
            restart_all: AtomicBool::new(false),
            interrupted,
        })
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }
    /// The configuration in use (a copy: it can be reloaded at any time).
    pub fn config(&self) -> Config {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Re-reads `config.toml` and the token, and tells [`Engine::watch_all`] to restart the
    /// employees that changed. Running agents finish their task first.
    pub async fn reload_config(&self) -> Result<(), EngineError> {
        let config = load_config(&self.paths.config_file)?;
        let scrub = self.scrub(&config);
        self.shared.update(scrub, config.budget.daily_usd);
        let account_changed = {
            let mut current = self.config.write().unwrap_or_else(|e| e.into_inner());
            let changed = current.services != config.services
                || current.machine.claim_settle_secs != config.machine.claim_settle_secs;
            *current = config;
            changed
        };
        if account_changed {
            self.reset_account().await;
        }
        self.shared.config_changed();
        self.reload.notify_one();
        Ok(())
    }

    /// Adds an employee (or replaces `original`), creating its workspace and installing the
    /// template, then restarts the employees that changed. See [`crate::employees::save`].
    pub async fn save_employee(
        &self,
        original: Option<&str>,
        employee: &Employee,
        template: Option<&str>,
    ) -> Result<crate::employees::Saved, EngineError> {
        let saved = crate::employees::save(&self.paths.config_file, original, employee, template)?;
        self.reload_config().await?;
        Ok(saved)
    }

    /// After a token was set or cleared: reconnect, and restart the employees of that
    /// source (after their current run) so they use it.
    pub async fn token_changed(&self) {
        let config = self.config();
        let scrub = self.scrub(&config);
        self.shared.update(scrub, config.budget.daily_usd);
        self.reset_account().await;
        self.reload.notify_one();
    }

    async fn reset_account(&self) {
        self.services.lock().await.clear();
        self.restart_all.store(true, Ordering::SeqCst);
    }

    fn scrub(&self, config: &Config) -> Vec<Secret> {
        secrets_to_scrub(config, &|kind| self.store_for(kind))
    }

    /// Where `kind`'s token is kept.
    pub fn store_for(&self, kind: SourceKind) -> Arc<dyn SecretStore> {
        self.stores.get(kind)
    }

    /// `kind`'s account, connected on first use with its token (its variable, the keychain,
    /// or — for GitHub — a logged-in `gh`). A source on this machine has none.
    pub async fn service(&self, kind: SourceKind) -> Result<Arc<dyn Service>, EngineError> {
        let mut services = self.services.lock().await;
        if let Some(s) = services.get(&kind) {
            return Ok(s.clone());
        }
        let connect = kind.info().connect.ok_or(EngineError::NoService(kind))?;
        let store = self.store_for(kind);
        let (token, _) = secrets::source_token(kind, store.as_ref(), Some(&self.config()))?
            .ok_or(EngineError::NoSourceToken(kind))?;
        let service = connect(&self.config(), token)?;
        services.insert(kind, service.clone());
        Ok(service)
    }

    /// Where the engine reads each source's token from.
    pub fn stores(&self) -> &secrets::Stores {
        &self.stores
    }

    /// Pauses or resumes one employee, or all (`None`). A running agent finishes its task.
    pub fn set_paused(&self, employee: Option<&str>, paused: bool) {
        self.shared.set_paused(employee, paused);
        if !paused {
            self.run_now.notify_waiters();
        }
    }

    pub fn is_paused(&self, employee: &str) -> bool {
        self.shared.is_paused(employee)
    }

    pub fn all_paused(&self) -> bool {
        self.shared.all_paused()
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
        // Employees waiting on a machine problem check again at once.
        self.shared.recheck_now();
        self.run_now.notify_waiters();
    }

    /// Adds a task to the local queue for a local employee and wakes the workers.
    pub fn add_local_task(
        &self,
        employee: &str,
        title: &str,
        description: &str,
        priority: u8,
    ) -> Result<String, EngineError> {
        let id = self
            .queue
            .add_for(&self.config(), employee, title, description, priority)?;
        self.run_now();
        Ok(id)
    }

    /// Adds a task for `employee` where its source takes tasks from Delegate (the local
    /// queue, a database table) and wakes the workers. Returns the task's id.
    pub async fn add_task(
        &self,
        employee: &str,
        title: &str,
        description: &str,
        priority: u8,
    ) -> Result<String, EngineError> {
        let e = self.config().employee(employee)?.clone();
        if e.source.info().connect.is_none() {
            return self.add_local_task(employee, title, description, priority);
        }
        if title.trim().is_empty() {
            return Err(QueueError::EmptyTitle.into());
        }
        let source = self.source_for(&e).await?;
        match source.add_task(title.trim(), description, priority).await? {
            Some(id) => {
                self.run_now();
                Ok(id)
            }
            None => Err(QueueError::NotLocal(e.name.clone(), e.source.info().target_words).into()),
        }
    }

    /// Makes `kind`'s `target` ready for employees (`delegate postgres init`), or with
    /// `print` returns what to run instead.
    pub async fn prepare_source(
        &self,
        kind: SourceKind,
        target: &str,
        print: bool,
    ) -> Result<String, EngineError> {
        Ok(self.service(kind).await?.prepare(target, print).await?)
    }

    /// Stores `kind`'s token (checked first) and reconnects with it.
    pub async fn set_source_token(
        &self,
        kind: SourceKind,
        pasted: &str,
    ) -> Result<secrets::TokenStatus, EngineError> {
        let token = secrets::pasted_token(pasted)?;
        self.store_for(kind).set(&token)?;
        self.token_changed().await;
        Ok(self.source_token_status(kind).await)
    }

    /// Removes `kind`'s token from the keychain (its variable still applies).
    pub async fn clear_source_token(
        &self,
        kind: SourceKind,
    ) -> Result<secrets::TokenStatus, EngineError> {
        self.store_for(kind).clear()?;
        self.token_changed().await;
        Ok(self.source_token_status(kind).await)
    }

    /// Whether `kind` has a token and where it comes from. Off the async threads: the
    /// keychain (or a tool like `gh`) may take seconds to answer.
    pub async fn source_token_status(&self, kind: SourceKind) -> secrets::TokenStatus {
        let store = self.store_for(kind);
        let config = self.config();
        let ask = move || secrets::token_status_for(kind, store.as_ref(), &config);
        match tokio::task::spawn_blocking(ask).await {
            Ok(status) => status,
            Err(e) => secrets::TokenStatus {
                source: kind,
                set: false,
                origin: None,
                problem: Some(e.to_string()),
                summary: format!("The token could not be read: {e}"),
            },
        }
    }

    /// The employee's task source: its account's (shared with the employees on the same
    /// target), or the local queue.
    pub async fn source_for(&self, employee: &Employee) -> Result<Source, EngineError> {
        if employee.source.info().connect.is_none() {
            return Ok(Arc::new(LocalSource::new(
                self.queue.clone(),
                &employee.name,
            )));
        }
        Ok(self
            .service(employee.source)
            .await?
            .source_for(employee)
            .await?)
    }

    /// The employees named (all enabled ones when `names` is empty).
    pub fn select(&self, names: &[String]) -> Result<Vec<Employee>, EngineError> {
        let config = self.config();
        if names.is_empty() {
            let all: Vec<Employee> = config
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
                let e = config.employee(n)?;
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
        for service in self.services.lock().await.values() {
            service.invalidate().await;
        }
        let mut set = JoinSet::new();
        let mut results = Vec::new();
        let mut ids = HashMap::new();
        for (index, e) in employees.iter().enumerate() {
            let source = match self.source_for(e).await {
                Ok(s) => s,
                Err(err) => {
                    self.tell_problem(&e.name, &err);
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
            let handle = set.spawn(async move {
                let r = worker
                    .cycle(&shared, &cancel)
                    .await
                    .map_err(EngineError::from);
                (index, worker.employee.name, r)
            });
            ids.insert(handle.id(), (index, e.name.clone()));
        }
        while let Some(joined) = set.join_next_with_id().await {
            match joined {
                Ok((_, r)) => results.push(r),
                Err(e) => {
                    tracing::error!(error = %e, "a worker task crashed");
                    if let Some((index, name)) = ids.remove(&e.id()) {
                        results.push((index, name, Err(EngineError::Crashed(e.to_string()))));
                    }
                }
            }
        }
        results.sort_by_key(|r| r.0);
        results.into_iter().map(|(_, n, r)| (n, r)).collect()
    }

    fn tell_problem(&self, employee: &str, err: &EngineError) {
        let _ = self.shared.events.send(WorkerEvent::Problem {
            employee: employee.to_string(),
            source: self.config().employee(employee).ok().map(|e| e.source),
            kind: err.problem_kind(),
            message: err.to_string(),
        });
    }

    /// Starts one employee's polling loop; it ends when `stop` (after the current run) or
    /// `cancel` (stopping the agent) fires.
    async fn spawn_watcher(
        &self,
        e: Employee,
        stop: CancellationToken,
        cancel: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let source = self.source_for(&e).await;
        if let Err(err) = &source {
            self.tell_problem(&e.name, err);
        }
        let shared = self.shared.clone();
        let run_now = self.run_now.clone();
        tokio::spawn(async move {
            let Ok(source) = source else { return };
            let poll = Duration::from_secs(e.poll_secs);
            let worker = Worker {
                employee: e,
                source,
            };
            let mut crashes: u32 = 0;
            while !cancel.is_cancelled() && !stop.is_cancelled() {
                let mut wait = poll;
                if shared.is_paused(&worker.employee.name) {
                    tracing::debug!(employee = %worker.employee.name, "paused; skipping a cycle");
                } else {
                    // Each cycle runs as its own task: a panic in it is logged, told and
                    // retried with backoff, and never silently ends the employee's loop.
                    let (w, sh, c) = (worker.clone(), shared.clone(), cancel.clone());
                    let cycle = tokio::spawn(async move { w.cycle(&sh, &c).await });
                    match cycle.await {
                        Ok(Ok(_)) => crashes = 0,
                        Ok(Err(err)) => {
                            crashes = 0;
                            tracing::warn!(employee = %worker.employee.name, error = %err, "cycle failed");
                        }
                        Err(join) => {
                            crashes = crashes.saturating_add(1);
                            wait = crash_backoff(crashes);
                            tracing::error!(employee = %worker.employee.name, error = %join, retry_in_s = wait.as_secs(), "a worker cycle crashed; restarting it");
                            let _ = shared.events.send(WorkerEvent::Problem {
                                employee: worker.employee.name.clone(),
                                source: Some(worker.employee.source),
                                kind: ProblemKind::Other,
                                message: format!(
                                    "Delegate hit an internal error ({join}); it tries again in {} s — please report this",
                                    wait.as_secs()
                                ),
                            });
                        }
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = run_now.notified() => {
                        // "Run now" wants fresh data, not a snapshot from seconds ago.
                        worker.source.invalidate().await;
                    }
                    // A database told that work arrived.
                    _ = worker.source.changed() => {}
                    _ = stop.cancelled() => {}
                    _ = cancel.cancelled() => {}
                }
            }
        })
    }

    /// Keeps the given employees polling at their own intervals until `cancel` fires. A failing
    /// employee is retried at its next poll; the others carry on.
    pub async fn watch(&self, employees: &[Employee], cancel: &CancellationToken) {
        let mut handles = Vec::new();
        for e in employees.iter().cloned() {
            handles.push(self.spawn_watcher(e, cancel.clone(), cancel.clone()).await);
        }
        for h in handles {
            let _ = h.await;
        }
    }

    /// Keeps every enabled employee polling until `cancel` fires, following
    /// [`Engine::reload_config`]: added employees start, removed ones stop, changed ones
    /// restart — each after its current run, never in the middle of one.
    pub async fn watch_all(&self, cancel: &CancellationToken) {
        type Running = (Employee, CancellationToken, tokio::task::JoinHandle<()>);
        let mut running: HashMap<String, Running> = HashMap::new();
        let mut stopping: Vec<tokio::task::JoinHandle<()>> = Vec::new();
        loop {
            let restart = self.restart_all.swap(false, Ordering::SeqCst);
            let wanted: Vec<Employee> = self
                .config()
                .employees
                .into_iter()
                .filter(|e| e.enabled)
                .collect();
            let keys: Vec<String> = running.keys().cloned().collect();
            for key in keys {
                let same = !restart
                    && wanted.iter().any(|w| {
                        w.name.to_lowercase() == key && Some(w) == running.get(&key).map(|r| &r.0)
                    });
                if !same && let Some((_, stop, handle)) = running.remove(&key) {
                    stop.cancel();
                    stopping.push(handle);
                }
            }
            for e in wanted {
                let key = e.name.to_lowercase();
                if running.contains_key(&key) {
                    continue;
                }
                let stop = CancellationToken::new();
                let handle = self
                    .spawn_watcher(e.clone(), stop.clone(), cancel.clone())
                    .await;
                running.insert(key, (e, stop, handle));
            }
            stopping.retain(|h| !h.is_finished());
            tokio::select! {
                _ = self.reload.notified() => {}
                _ = cancel.cancelled() => break,
            }
        }
        for (_, (_, _, h)) in running {
            let _ = h.await;
        }
        for h in stopping {
            let _ = h.await;
        }
    }
}

/// The wait after the `n`th crash in a row: 2, 4, 8 … up to 300 s.
fn crash_backoff(n: u32) -> Duration {
    Duration::from_secs((1u64 << n.min(9)).min(300))
}

impl EngineError {
    /// The kind of problem, for the tray and UI.
    pub fn problem_kind(&self) -> ProblemKind {
        match self {
            EngineError::Secret(_) => ProblemKind::Keychain,
            EngineError::NoSourceToken(_) => ProblemKind::TokenMissing,
            EngineError::Source(e) => ProblemKind::of_source(e),
            _ => ProblemKind::Other,
        }
    }
}

/// Values to keep out of agent environments: the token of every source an employee uses.
/// The keychain is only read for a source some employee uses, so a local-only setup never
/// needs one (nor waits on one that hangs).
fn secrets_to_scrub(
    config: &Config,
    store_for: &dyn Fn(SourceKind) -> Arc<dyn SecretStore>,
) -> Vec<Secret> {
    let mut out = Vec::new();
    for kind in SourceKind::with_tokens() {
        if !config.employees.iter().any(|e| e.source == kind) {
            continue;
        }
        if let Ok(Some((token, _))) =
            secrets::source_token(kind, store_for(kind).as_ref(), Some(config))
        {
            // A connection URL's password is a secret on its own too (a `PGPASSWORD` holding
            // it must not reach an agent either).
            if let Some(password) = url_password(token.expose()) {
                out.push(Secret::new(password));
            }
            out.push(token);
        }
    }
    out
}

/// The password in a URL like `postgres://role:password@host/db`, percent-decoded (a
/// password of a few characters is left out: it would scrub ordinary values).
fn url_password(value: &str) -> Option<String> {
    let url = reqwest::Url::parse(value.trim()).ok()?;
    let raw = url.password()?;
    let mut bytes = Vec::with_capacity(raw.len());
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = raw
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            bytes.push(h);
            i += 3;
            continue;
        }
        bytes.push(b[i]);
        i += 1;
    }
    let password = String::from_utf8(bytes).ok()?;
    (password.chars().count() >= 6).then_some(password)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_urls_password_is_a_secret_of_its_own() {
        assert_eq!(
            url_password("postgres://delegate:s3cr%40t-pw@db:5432/work").as_deref(),
            Some("s3cr@t-pw")
        );
        assert_eq!(url_password("postgres://delegate@db/work"), None);
        assert_eq!(
            url_password("postgres://d:abc@db/work"),
            None,
            "too short to scrub"
        );
        assert_eq!(url_password("tok-3f9a1c0e5b7d2e8f"), None);
    }

    /// A keychain that counts how often it is asked (and never has a token).
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl SecretStore for Counting {
        fn get(&self) -> Result<Option<Secret>, SecretError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(None)
        }
        fn set(&self, _: &Secret) -> Result<(), SecretError> {
            Ok(())
        }
        fn clear(&self) -> Result<bool, SecretError> {
            Ok(false)
        }
    }

    #[test]
    fn a_local_only_setup_never_asks_the_keychain() {
        let store = Arc::new(Counting::default());
        let dyn_store: Arc<dyn SecretStore> = store.clone();
        let store_for = |_: SourceKind| dyn_store.clone();
        let mut config = Config::default();
        config.employees.push(Employee::new(
            "Local",
            SourceKind::Local,
            std::path::PathBuf::from("/w"),
        ));
        assert!(secrets_to_scrub(&config, &store_for).is_empty());
        assert_eq!(store.0.load(Ordering::SeqCst), 0);
        config.employees.push(Employee::new(
            "Todo",
            SourceKind::Todoist,
            std::path::PathBuf::from("/w"),
        ));
        secrets_to_scrub(&config, &store_for);
        // A TODOIST_API_TOKEN set for this test process answers before the keychain.
        let variable = SourceKind::Todoist.info().token_env.unwrap_or_default();
        let from_env = std::env::var(variable).is_ok_and(|v| !v.trim().is_empty());
        assert_eq!(store.0.load(Ordering::SeqCst), usize::from(!from_env));
    }
}
