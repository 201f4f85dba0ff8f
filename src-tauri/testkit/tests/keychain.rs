//! The Todoist token in a real Secret Service (gnome-keyring in a D-Bus session), and the
//! message a person gets when there is none. The round trip needs the session the test
//! script sets up (`scripts/with-session`): it is ignored by a plain `cargo test`, and
//! `scripts/test` runs it there with `--ignored`.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::TOKEN;
use delegate_testkit::{FakeTodoist, sibling_binary};
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn delegate(home: &std::path::Path) -> Command {
    let mut c = Command::new(sibling_binary("delegate"));
    c.arg("--home").arg(home).env_remove("TODOIST_API_TOKEN");
    c
}

async fn run(mut c: Command, stdin: Option<&str>) -> Output {
    let input = stdin.map(String::from);
    tokio::task::spawn_blocking(move || {
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(i) = input {
            child.stdin.take().unwrap().write_all(i.as_bytes()).unwrap();
        }
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service (D-Bus + gnome-keyring): scripts/test runs it inside scripts/with-session"]
async fn the_token_round_trips_through_the_secret_service() {
    let server = FakeTodoist::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::write(
        home.join("config.toml"),
        format!("[todoist]\napi_url = \"{}\"\n", server.url),
    )
    .unwrap();

    let set = run(
        {
            let mut c = delegate(home);
            c.args(["token", "set"]);
            c
        },
        Some(&format!("  {TOKEN}\n")),
    )
    .await;
    assert!(set.status.success(), "{}", text(&set));

    // Stored in the Secret Service itself, where other tools can see it.
    let lookup = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "app.delegate.Delegate",
            "username",
            "todoist-api-token",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&lookup.stdout).trim(), TOKEN);

    let status = run(
        {
            let mut c = delegate(home);
            c.args(["token", "status"]);
            c
        },
        None,
    )
    .await;
    let t = text(&status);
    assert!(status.status.success(), "{t}");
    assert!(
        t.contains("A Todoist token is set (from the OS keychain)."),
        "{t}"
    );
    assert!(
        t.contains("Connected as Test Person <test@example.com>."),
        "{t}"
    );
    assert!(!t.contains(TOKEN));
    assert!(server.requests().iter().all(|r| r.authorized));

    let clear = run(
        {
            let mut c = delegate(home);
            c.args(["token", "clear"]);
            c
        },
        None,
    )
    .await;
    assert!(text(&clear).contains("Removed the Todoist token"));
    let status = run(
        {
            let mut c = delegate(home);
            c.args(["token", "status"]);
            c
        },
        None,
    )
    .await;
    assert!(!status.status.success());
    assert!(text(&status).contains("No Todoist token."));
    let lookup = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "app.delegate.Delegate",
            "username",
            "todoist-api-token",
        ])
        .output()
        .unwrap();
    assert!(lookup.stdout.is_empty());
    let empty = run(
        {
            let mut c = delegate(home);
            c.args(["token", "set"]);
            c
        },
        Some("\n"),
    )
    .await;
    assert!(text(&empty).contains("no token given"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_service_gives_a_clear_fix() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        {
            let mut c = delegate(dir.path());
            c.args(["token", "status"]).env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/delegate-test-bus",
            );
            c
        },
        None,
    )
    .await;
    assert!(!o.status.success());
    let t = text(&o);
    assert_eq!(t.lines().count(), 1, "{t}");
    assert!(
        t.starts_with("delegate: the OS keychain is not available:"),
        "{t}"
    );
    assert!(
        t.contains("Install and start a Secret Service provider (gnome-keyring or KeePassXC)"),
        "{t}"
    );
    assert!(t.contains("TODOIST_API_TOKEN"), "{t}");
}
