//! Delegate's desktop shell. It runs the engine in-process, shows its state in the tray,
//! turns window commands into engine calls and engine events into tray updates,
//! notifications and window events. It decides nothing itself: the [`controller`] owns what
//! the shell holds and carries out what the engine decides, on the desktop
//! ([`desktop::Desktop`]).

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
use tauri::{AppHandle, Manager, RunEvent};

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

/// Delegate was started again: the running one shows its window, or quits (`--quit`).
fn second_launch(app: &AppHandle, argv: &[String]) {
    let quit = argv.iter().any(|a| a == QUIT_FLAG);
    match app.try_state::<Shell>() {
        Some(shell) => shell.send(Request::SecondLaunch { quit }),
        None if quit => app.exit(0),
        None => window::open(app, None),
    }
}

pub fn run() {
    let start_hidden = std::env::args().any(|a| a == HIDDEN_FLAG);
    let app = tauri::Builder::default()
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
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(
                    tauri_plugin_window_state::StateFlags::SIZE
                        | tauri_plugin_window_state::StateFlags::POSITION
                        | tauri_plugin_window_state::StateFlags::MAXIMIZED,
                )
                .build(),
        )
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::Destroyed = event {
                window::destroyed(window.app_handle(), window.label());
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::get_status,
            commands::list_runs,
            commands::get_run,
            commands::add_local_task,
            commands::list_local_tasks,
            commands::run_now,
            commands::set_paused,
            commands::quit,
            employees::list_employees,
            employees::save_employee,
            employees::delete_employee,
            employees::list_templates,
            employees::template_employee,
            employees::suggest_workspace,
            employees::list_targets,
            employees::check_agent,
            employees::list_agents,
            employees::describe_scope,
            employees::describe_sandbox,
            employees::check_employee,
            settings::get_settings,
            settings::save_settings,
            settings::token_status,
            settings::set_token,
            settings::clear_token,
            settings::check_token,
            settings::list_sources,
            review::approve_run,
            review::request_changes,
            review::answer_run,
            review::open_draft,
            review::open_task,
        ])
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
            let desktop = desktop::TauriDesktop::new(app.handle())?;
            let (controller, shell) = Controller::new(engine, desktop);
            app.manage(shell.clone());
            tauri::async_runtime::spawn(controller.run());
            shutdown::on_signals(app.handle());
            if !start_hidden {
                shell.send(Request::OpenWindow(None));
            }
            tracing::info!(hidden = start_hidden, "Delegate started; tray created");
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Delegate could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let RunEvent::ExitRequested { code, api, .. } = event {
            // Closing the last window keeps Delegate in the tray; only Quit ends it.
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
