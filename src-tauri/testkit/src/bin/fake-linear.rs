//! Runs the fake Linear GraphQL API for manual tries and the end-to-end harness.
//! Usage: fake-linear [--port N] [--key K] [--team KEY:NAME]... ; prints the endpoint URL.

use delegate_testkit::FakeLinear;

#[tokio::main]
async fn main() {
    let mut port = 0u16;
    let mut key = "lin_api_test".to_string();
    let mut teams = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0),
            "--key" => key = args.next().unwrap_or(key),
            "--team" => teams.extend(args.next()),
            "--help" | "-h" => {
                println!("fake-linear [--port N] [--key K] [--team KEY:NAME]...");
                return;
            }
            other => {
                eprintln!("fake-linear: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let server = FakeLinear::start_on(&key, port).await;
    for t in &teams {
        let (team_key, name) = t.split_once(':').unwrap_or((t.as_str(), t.as_str()));
        let id = server.add_team(team_key, name);
        eprintln!("team {team_key} (\"{name}\") has id {id}");
    }
    println!("{}", server.url);
    let _ = tokio::signal::ctrl_c().await;
}
