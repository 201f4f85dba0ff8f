//! Runs the fake Todoist API v1 server for manual tries and the end-to-end harness.
//! Usage: fake-todoist [--port N] [--token T] [--project NAME]... ; prints the base URL.

use delegate_testkit::FakeTodoist;

#[tokio::main]
async fn main() {
    let mut port = 0u16;
    let mut token = "test-token".to_string();
    let mut projects = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0),
            "--token" => token = args.next().unwrap_or(token),
            "--project" => projects.extend(args.next()),
            "--help" | "-h" => {
                println!("fake-todoist [--port N] [--token T] [--project NAME]...");
                return;
            }
            other => {
                eprintln!("fake-todoist: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let server = FakeTodoist::start_on(&token, port).await;
    for p in &projects {
        let id = server.add_project(p);
        eprintln!("project \"{p}\" has id {id}");
    }
    println!("{}", server.url);
    let _ = tokio::signal::ctrl_c().await;
}
