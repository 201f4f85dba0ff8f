//! Delegate's desktop shell, in two processes. The long-lived one runs the engine, shows
//! its state in the tray, sends notifications, starts at login, and never creates a web
//! view; the window runs in a process of its own ([`window`]), started when the window is
//! asked for and ended when it closes. The shell decides nothing itself: the
//! [`controller`] owns what the shell holds and carries out what the engine decides, on the
//! desktop ([`desktop::Desktop`]); the window's commands ([`api`]) and events cross the
//! window channel unchanged.

mod api;
mod autostart;
mod bindings;
mod commands;
mod controller;
mod desktop;
mod employees;
mod error;
mod notify;
mod review;
mod settings;
mod shutdown;
pub mod tray;
mod window;

use controller::{Controller, Request, Shell};
use delegate_core::secrets::Stores;
use delegate_core::{Engine, Paths};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tauri::{AppHandle, Manager, RunEvent};
use window::host::{WINDOW_FLAG, WindowHost};

/// The flag autostart passes: start in the tray without opening the window.
pub const HIDDEN_FLAG: &str = "--hidden";
/// Asks the running Delegate to quit cleanly (for scripts and logout hooks).
pub const QUIT_FLAG: &str = "--quit";

/// Keeps GTK from initialising OpenGL in Delegate's own process. A tray app spends most of
/// its life with no window, and GTK would otherwise load the GL driver at start-up (Mesa's
/// software driver pulls in LLVM: about 50 MB resident for nothing). The window still renders:
/// WebKit then draws the page without GTK's GL path. A `GDK_GL` the person set wins.
/// Must run first in `main`, before any thread exists.
#[allow(unsafe_code)]
pub fn prefer_software_drawing() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("GDK_GL").is_none() {
        // SAFETY: called at the top of `main`, while the process has a single thread, so no
        // other thread can be reading the environment.
        unsafe { std::env::set_var("GDK_GL", "disable") };
    }
}

/// Delegate cannot run at all (an unreadable config, no data folder): says why where the
/// person will see it — on the terminal and as a desktop notification, since at login nobody
/// watches a terminal — and exits with status 1 instead of panicking.
fn cannot_start(error: &dyn std::error::Error) -> ! {
    let message = error.to_string();
    tracing::error!(error = %message, "Delegate cannot start");
    eprintln!("Delegate cannot start: {message}");
    #[cfg(target_os = "linux")]
    {
        // Sent synchronously: the process ends right after.
        let _ = notify_rust::Notification::new()
            .appname("Delegate")
            .summary("Delegate cannot start")
            .body(&message)
            .urgency(notify_rust::Urgency::Critical)
            .show();
    }
    std::process::exit(1)
}

/// Keeps the log writer alive for the life of the app.
struct Logging {
    _guard: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Opens the engine (marking runs a dead process left `running` as interrupted), logging to
/// its log folder.
fn open_engine() -> Result<(Arc<Engine>, Logging), Box<dyn std::error::Error>> {
    let paths = Paths::resolve(None)?;
    let log = Logging {
        _guard: delegate_core::logging::init(&paths.log_dir),
    };
    let engine = Engine::open(paths, Stores::keychain())?;
    if engine.interrupted_at_start() > 0 {
        tracing::warn!(
            runs = engine.interrupted_at_start(),
            "runs left running by a stopped Delegate were marked interrupted"
        );
    }
    Ok((Arc::new(engine), log))
}

/// Delegate was started again while it was still starting: the window opens once it is ready.
#[derive(Default)]
struct WindowWanted(AtomicBool);

/// Delegate was started again: the running one shows its window, or quits (`--quit`).
fn second_launch(app: &AppHandle, argv: &[String]) {
    let quit = argv.iter().any(|a| a == QUIT_FLAG);
    if let Some(shell) = app.try_state::<Shell>() {
        shell.send(Request::SecondLaunch { quit });
        return;
    }
    if quit {
        app.exit(0);
        return;
    }
    let wanted = app.state::<WindowWanted>();
    wanted.0.store(true, Ordering::SeqCst);
    // The shell may have become ready meanwhile: whoever takes the flag opens the window.
    if let Some(shell) = app.try_state::<Shell>()
        && wanted.0.swap(false, Ordering::SeqCst)
    {
        shell.send(Request::OpenWindow(None));
    }
}

/// The app's configuration and embedded UI, for both processes.
fn context() -> tauri::Context<tauri::Wry> {
    tauri::generate_context!()
}

pub fn run() {
    if std::env::args().any(|a| a == WINDOW_FLAG) {
        std::process::exit(window::process::run(context()));
    }
    let start_hidden = std::env::args().any(|a| a == HIDDEN_FLAG);
    let app = tauri::Builder::default()
        .manage(WindowWanted::default())
        // First, so a second launch is caught before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            second_launch(app, &argv)
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![HIDDEN_FLAG]),
        ))
        .setup(move |app| {
            if std::env::args().any(|a| a == QUIT_FLAG) {
                println!("Delegate is not running.");
                std::process::exit(0);
            }
            let (engine, log) = match open_engine() {
                Ok(opened) => opened,
                Err(e) => cannot_start(e.as_ref()),
            };
            app.manage(log);
            let host = match WindowHost::create() {
                Ok(host) => host,
                Err(e) => cannot_start(&e),
            };
            let desktop = desktop::TauriDesktop::new(app.handle(), host.clone())?;
            let (controller, shell) = Controller::new(engine, desktop);
            app.manage(shell.clone());
            tauri::async_runtime::spawn(host.serve(shell.clone()));
            tauri::async_runtime::spawn(controller.run());
            shutdown::on_signals(app.handle());
            let wanted = app.state::<WindowWanted>().0.swap(false, Ordering::SeqCst);
            if !start_hidden || wanted {
                shell.send(Request::OpenWindow(None));
            }
            tracing::info!(hidden = start_hidden, "Delegate started; tray created");
            Ok(())
        })
        .build(context());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Delegate could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let RunEvent::ExitRequested { code, api, .. } = event {
            // This process has no window; only Quit ends it.
            if code.is_none() && !shutdown::is_quitting(handle) {
                api.prevent_exit();
            }
        }
    });
}

#[cfg(test)]
mod tests {
    /// Every command the window calls (`invoke…("name"` in `ui/src/ipc.ts`) is in the app
    /// manifest (`build.rs`) and granted by the window's capability: a command left out is
    /// refused at run time in the real app, which the UI's tests (with a mocked IPC) never see.
    #[test]
    fn the_window_may_call_every_command_it_uses() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_default();
        let ipc = read("../ui/src/ipc.ts");
        let manifest = read("build.rs");
        let capability = read("capabilities/main-window.json");
        let used: Vec<&str> = ipc
            .split("invoke")
            .skip(1)
            .filter_map(|rest| {
                let name = rest.split_once("(\"")?.1.split_once('"')?.0;
                let generic = rest.split_once("(\"")?.0;
                (generic.is_empty() || generic.starts_with('<')).then_some(name)
            })
            .collect();
        assert!(used.len() > 20, "commands found in ipc.ts: {used:?}");
        for name in used {
            assert!(
                manifest.contains(&format!("\"{name}\"")),
                "{name} is missing from build.rs's app manifest"
            );
            assert!(
                capability.contains(&format!("\"allow-{}\"", name.replace('_', "-"))),
                "allow-{name} is missing from capabilities/main-window.json"
            );
        }
    }
}
