//! What the shell holds: the engine, the live status board, and the shutdown switch.

use delegate_core::secrets::KeychainStore;
use delegate_core::status::Board;
use delegate_core::{Engine, Paths};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use tauri::AppHandle;
use tokio_util::sync::CancellationToken;

pub struct AppState {
    pub engine: Arc<Engine>,
    pub board: Mutex<Board>,
    /// Stops the workers (and their agents) on Quit, logout or SIGTERM.
    pub cancel: CancellationToken,
    pub watch: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
    pub quitting: AtomicBool,
    /// Engine events from before the shell was ready; taken by `events::forward`.
    pub events: Mutex<Option<tokio::sync::broadcast::Receiver<delegate_core::worker::WorkerEvent>>>,
    /// Keeps the log writer alive for the life of the app.
    _log: Option<tracing_appender::non_blocking::WorkerGuard>,
}

impl AppState {
    /// Opens the engine (marking runs a dead process left `running` as interrupted) and
    /// starts every enabled employee's worker loop.
    pub fn start(_app: &AppHandle) -> Result<Self, Box<dyn std::error::Error>> {
        let paths = Paths::resolve(None)?;
        let log = delegate_core::logging::init(&paths.log_dir);
        let engine = Arc::new(Engine::open(paths, Arc::new(KeychainStore::todoist()))?);
        if engine.interrupted_at_start() > 0 {
            tracing::warn!(
                runs = engine.interrupted_at_start(),
                "runs left running by a stopped Delegate were marked interrupted"
            );
        }
        let config = engine.config();
        let mut board = Board::default();
        align(&mut board, &config);
        // Subscribe before the workers start, so their first events reach the tray.
        let events = engine.subscribe();
        let cancel = CancellationToken::new();
        let watch = {
            let (engine, cancel) = (engine.clone(), cancel.clone());
            tauri::async_runtime::spawn(async move { engine.watch_all(&cancel).await })
        };
        Ok(Self {
            engine,
            board: Mutex::new(board),
            cancel,
            watch: Mutex::new(Some(watch)),
            events: Mutex::new(Some(events)),
            quitting: AtomicBool::new(false),
            _log: log,
        })
    }

    pub fn board(&self) -> Board {
        self.board.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The workspace of the employee called `name`, if it still exists.
    pub fn workspace_of(&self, name: &str) -> Option<std::path::PathBuf> {
        self.engine
            .config()
            .employees
            .into_iter()
            .find(|e| e.name == name)
            .map(|e| e.workspace)
    }

    /// After a config change: reload the engine and align the board with the employees.
    pub async fn reload(&self) -> Result<(), delegate_core::EngineError> {
        self.engine.reload_config().await?;
        self.align_board();
        Ok(())
    }

    /// The board lists exactly the enabled employees of the config in use.
    pub fn align_board(&self) {
        let config = self.engine.config();
        align(
            &mut self.board.lock().unwrap_or_else(|e| e.into_inner()),
            &config,
        );
    }
}

/// The board lists exactly the enabled employees of `config`, those without the OS sandbox
/// marked.
fn align(board: &mut Board, config: &delegate_core::config::Config) {
    let enabled = config.employees.iter().filter(|e| e.enabled);
    board.set_employees(enabled.clone().map(|e| e.name.as_str()));
    board.set_unsandboxed(
        enabled
            .filter(|e| e.sandbox == delegate_core::sandbox::SandboxMode::Off)
            .map(|e| e.name.as_str()),
    );
}
