// Generates the Tauri context and one permission per app command, so the window's
// capability can grant exactly the commands it uses and nothing else.
fn main() {
    let commands = &[
        "get_status",
        "list_employees",
        "save_employee",
        "delete_employee",
        "list_templates",
        "list_runs",
        "get_run",
        "add_local_task",
        "get_settings",
        "save_settings",
        "token_status",
        "set_token",
        "check_token",
        "list_sources",
        "clear_token",
        "run_now",
        "set_paused",
        "quit",
        "list_local_tasks",
        "approve_run",
        "request_changes",
        "answer_run",
        "open_draft",
        "open_task",
        "list_targets",
        "check_agent",
        "list_agents",
        "describe_scope",
        "describe_sandbox",
        "check_employee",
        "template_employee",
        "suggest_workspace",
        "window_painted",
    ];
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(commands));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {e:#}");
    }
}
