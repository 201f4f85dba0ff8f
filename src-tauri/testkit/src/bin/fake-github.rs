//! Runs the fake GitHub REST API server for manual tries and end-to-end runs.
//! Usage: fake-github [--port N] [--token T] [--repo OWNER/NAME]... [--issue OWNER/NAME:TITLE]...
//! Prints the base URL (use it where `https://api.github.com` would go).

use delegate_testkit::FakeGitHub;

#[tokio::main]
async fn main() {
    let mut port = 0u16;
    let mut token = "test-token".to_string();
    let mut repos = Vec::new();
    let mut issues = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0),
            "--token" => token = args.next().unwrap_or(token),
            "--repo" => repos.extend(args.next()),
            "--issue" => issues.extend(args.next()),
            "--help" | "-h" => {
                println!(
                    "fake-github [--port N] [--token T] [--repo OWNER/NAME]... [--issue OWNER/NAME:TITLE]..."
                );
                return;
            }
            other => {
                eprintln!("fake-github: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let server = FakeGitHub::start_on(&token, port).await;
    for r in &repos {
        let id = server.add_repo(r);
        eprintln!("repository {r} has id {id}");
    }
    for i in &issues {
        let Some((repo, title)) = i.split_once(':') else {
            eprintln!("fake-github: --issue takes OWNER/NAME:TITLE, not {i}");
            std::process::exit(2);
        };
        server.add_repo(repo);
        let n = server.add_issue(repo, title, "", &[]);
        eprintln!("issue {repo}#{n}: {title}");
    }
    println!("{}", server.url);
    let _ = tokio::signal::ctrl_c().await;
}
