// Keeps a console window from opening on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    delegate_app::prefer_software_drawing();
    delegate_app::run();
}
