//! The Todoist token in a real Secret Service (gnome-keyring in a D-Bus session), and the
//! message a person gets when there is none. The round trip needs the session the test
//! script sets up (`scripts/with-session`): it is ignored by a plain `cargo test`, and
//! `scripts/test` runs it there with `--ignored`. A keyring that never answers is a silent
//! socket of the test's own, so that test runs everywhere.

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

/// A session bus that accepts connections and never says a word (a Secret Service stuck
/// mid-start, a wedged D-Bus): `delegate run` gives up on the keyring after its timeout with
/// a message that says what to do, and the employee on the local queue does its task anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyring_that_never_answers_is_given_up_and_local_work_goes_on() {
    use delegate_core::config::{Employee, SourceKind, edit};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let bus = root.join("bus");
    let listener = std::os::unix::net::UnixListener::bind(&bus).unwrap();
    std::thread::spawn(move || {
        let mut silent = Vec::new();
        for conn in listener.incoming().flatten() {
            silent.push(conn);
        }
    });
    let config = data.join("config.toml");
    let mut todo = Employee::new("Todo", SourceKind::Todoist, root.join("ws-todo"));
    todo.set_setting("project", Some("Inbox"));
    todo.command = Some(common::fake_claude().display().to_string());
    edit::add_employee(&config, &todo).unwrap();
    let mut notes = Employee::new("Notes", SourceKind::Local, root.join("ws-notes"));
    notes.command = Some(common::fake_claude().display().to_string());
    edit::add_employee(&config, &notes).unwrap();
    for ws in ["ws-todo", "ws-notes"] {
        std::fs::create_dir_all(root.join(ws)).unwrap();
    }
    let cmd = |args: &[&str]| {
        let mut c = delegate(&data);
        c.args(args)
            .env("HOME", root)
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", bus.display()),
            )
            .env("DELEGATE_KEYRING_TIMEOUT_SECS", "2")
            .env_remove("DELEGATE_HOME")
            .env_remove("CLAUDE_CONFIG_DIR");
        c
    };
    let add = run(
        cmd(&["task", "add", "-e", "Notes", "Write the notes"]),
        None,
    )
    .await;
    assert!(add.status.success(), "{}", text(&add));

    // Waited for on a thread of its own, so a hang fails the test instead of stalling it.
    let child = cmd(&["run"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(std::time::Duration::from_secs(120)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            panic!("`delegate run` hung on a keyring that never answers");
        }
    };
    let t = text(&out);
    // 2: an employee could not work (this machine's problem), not a task's failure.
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains(
            "Todo: error: the keyring did not answer in 2 s — is gnome-keyring / KWallet running?"
        ),
        "{t}"
    );
    assert!(t.contains("TODOIST_API_TOKEN"), "{t}");
    assert!(t.contains("Notes: 1 run(s): #1 succeeded"), "{t}");
    assert!(
        root.join("ws-notes/drafts/write-the-notes.md").is_file(),
        "{t}"
    );
}
