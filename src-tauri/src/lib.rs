//! Delegate's desktop shell. It runs the engine in-process, shows its state in the tray,
//! turns window commands into engine calls and engine events into tray updates,
//! notifications and window events. It decides nothing itself.

mod bindings;
mod commands;
mod error;
mod events;
mod notify;
mod review;
mod settings;
mod shutdown;
mod state;
pub mod tray;
mod window;

use state::AppState;
use tauri::{Manager, RunEvent};

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

pub fn run() {
    let start_hidden = std::env::args().any(|a| a == HIDDEN_FLAG);
    let app = tauri::Builder::default()
        // First, so a second launch is caught before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            if argv.iter().any(|a| a == QUIT_FLAG) {
                tauri::async_runtime::spawn(shutdown::quit(app.clone()));
            } else {
                window::open(app, None);
            }
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
            commands::list_employees,
            commands::save_employee,
            commands::delete_employee,
            commands::list_templates,
            commands::list_runs,
            commands::get_run,
            commands::add_local_task,
            commands::get_settings,
            commands::save_settings,
            commands::token_status,
            commands::set_token,
            commands::test_token,
            commands::clear_token,
            commands::run_now,
            commands::set_paused,
            commands::quit,
            commands::list_local_tasks,
            review::approve_run,
            review::request_changes,
            review::open_draft,
            review::open_task,
            review::list_projects,
            review::check_agent,
            review::list_agents,
            review::describe_scope,
            review::describe_sandbox,
            review::check_employee,
            review::template_employee,
            review::suggest_workspace,
        ])
        .setup(move |app| {
            if std::env::args().any(|a| a == QUIT_FLAG) {
                println!("Delegate is not running.");
                std::process::exit(0);
            }
            let state = match AppState::start(app.handle()) {
                Ok(state) => state,
                Err(e) => cannot_start(e.as_ref()),
            };
            app.manage(state);
            tray::create(app.handle())?;
            notify::setup(app.handle());
            events::forward(app.handle());
            shutdown::on_signals(app.handle());
            settings::autostart_after_setup(app.handle());
            if !start_hidden {
                window::open(app.handle(), None);
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
