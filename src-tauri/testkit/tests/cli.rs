//! The `delegate` binary end to end: employees, local tasks, runs, history, doctor, signals,
//! and the rule that the Todoist token reaches nothing but the Todoist API.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::*;
use delegate_testkit::{FakeTodoist, sibling_binary};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn delegate(home: &Path) -> Command {
    let mut c = Command::new(sibling_binary("delegate"));
    c.arg("--home").arg(home);
    c.env_remove("TODOIST_API_TOKEN")
        .env_remove("DELEGATE_TODOIST_API_URL")
        .env_remove("DELEGATE_HOME");
    c
}

fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn fails(out: Output) -> String {
    assert!(
        !out.status.success(),
        "expected failure: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Blocking CLI calls run off the async runtime so the fake server keeps serving.
async fn output(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_queue_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let ws = home.join("ws");
    let fake = fake_claude();
    let out = ok(output({
        let mut c = delegate(home);
        c.args(["employee", "add", "Notes", "--workspace"])
            .arg(&ws)
            .arg("--command")
            .arg(&fake);
        c.args(["--max-attempts", "2", "--allowed-tools", "Read,Write,Skill"]);
        c
    })
    .await);
    assert!(out.contains("Added employee \"Notes\""), "{out}");
    assert!(out.contains("Created its workspace"), "{out}");
    assert!(
        out.contains("can read files, write files in its workspace; cannot run commands"),
        "{out}"
    );
    let config = read(&home.join("config.toml"));
    assert!(
        config.contains("max_attempts = 2") && config.contains("name = \"Notes\""),
        "{config}"
    );

    let list = ok(output({
        let mut c = delegate(home);
        c.args(["employee", "list"]);
        c
    })
    .await);
    assert!(
        list.contains("Notes\n  source:    the local queue"),
        "{list}"
    );

    let err = fails(
        output({
            let mut c = delegate(home);
            c.args(["task", "add", "-e", "Nobody", "x"]);
            c
        })
        .await,
    );
    assert_eq!(
        err.trim(),
        "delegate: no employee named \"Nobody\" (see `delegate employee list`)"
    );
    ok(output({
        let mut c = delegate(home);
        c.args([
            "task",
            "add",
            "--employee",
            "notes",
            "Write the weekly update",
            "-d",
            "Three bullets",
        ]);
        c
    })
    .await);

    let run = ok(output({
        let mut c = delegate(home);
        c.args(["run", "--verbose"]);
        c
    })
    .await);
    println!("{run}");
    assert!(
        run.contains("[Notes] 1 open task(s), 1 to work on"),
        "{run}"
    );
    assert!(
        run.contains("[Notes] run #1: “Write the weekly update” (attempt 1 of 2)"),
        "{run}"
    );
    assert!(
        run.contains("[Notes]   📖 Reading skill: .claude/skills/linkedin-post/SKILL.md"),
        "{run}"
    );
    assert!(run.contains("[Notes] run #1 succeeded"), "{run}");
    assert!(
        run.contains("draft: drafts/write-the-weekly-update.md"),
        "{run}"
    );
    assert!(
        run.trim_end().ends_with("Notes: 1 run(s): #1 succeeded"),
        "{run}"
    );
    assert!(ws.join("drafts/write-the-weekly-update.md").is_file());

    let again = ok(output({
        let mut c = delegate(home);
        c.arg("run");
        c
    })
    .await);
    assert_eq!(again.trim(), "Notes: nothing to do");

    let history = ok(output({
        let mut c = delegate(home);
        c.arg("history");
        c
    })
    .await);
    assert!(history.contains("#1  succeeded"), "{history}");
    assert!(history.contains("$0.04"), "{history}");
    let json = ok(output({
        let mut c = delegate(home);
        c.args(["history", "--json", "--status", "succeeded"]);
        c
    })
    .await);
    let runs: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(runs[0]["task_title"], "Write the weekly update");
    let show = ok(output({
        let mut c = delegate(home);
        c.args(["show", "1"]);
        c
    })
    .await);
    for part in [
        "Run #1 — succeeded",
        "Progress:",
        "✅ Done",
        "Summary:",
        "Drafts:\n  drafts/write-the-weekly-update.md",
    ] {
        assert!(show.contains(part), "{part} missing in\n{show}");
    }
    let tasks = ok(output({
        let mut c = delegate(home);
        c.args(["task", "list"]);
        c
    })
    .await);
    assert!(tasks.contains("agent-done"), "{tasks}");

    ok(output({
        let mut c = delegate(home);
        c.args(["employee", "remove", "NOTES"]);
        c
    })
    .await);
    let err = fails(
        output({
            let mut c = delegate(home);
            c.arg("run");
            c
        })
        .await,
    );
    assert_eq!(
        err.trim(),
        "delegate: no employees to run; add one with `delegate employee add`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[[employee]]\nname = \"A\"\nsource = \"local\"\nworkspace = \"/tmp\"\ntimout_secs = 5\n",
    )
    .unwrap();
    let err = fails(
        output({
            let mut c = delegate(dir.path());
            c.arg("run");
            c
        })
        .await,
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("line 5")
            && err.contains(
                "`timout_secs` is not a setting Delegate knows; did you mean `timeout_secs`?"
            ),
        "{err}"
    );
    let doctor = output({
        let mut c = delegate(dir.path());
        c.arg("doctor");
        c
    })
    .await;
    assert!(!doctor.status.success());
    assert!(String::from_utf8_lossy(&doctor.stdout).contains("✗ config:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_reaches_only_the_todoist_api() {
    let server = FakeTodoist::start(TOKEN).await;
    let project = server.add_project("Writer");
    server.add_task(&project, "Write about secrets", "");
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let record = home.join("agent-record");
    std::fs::create_dir_all(&record).unwrap();
    ok(output({
        let mut c = delegate(home);
        c.args([
            "employee",
            "add",
            "Writer",
            "--source",
            "todoist",
            "--project",
            "Writer",
            "--workspace",
        ])
        .arg(home.join("ws"))
        // The agent records what it saw there: a folder its OS sandbox must let it write.
        .arg("--sandbox-write")
        .arg(&record)
        .arg("--command")
        .arg(fake_claude());
        c
    })
    .await);
    let run = ok(output({
        let mut c = delegate(home);
        c.args(["run", "--verbose"])
            .env("TODOIST_API_TOKEN", TOKEN)
            .env("DELEGATE_TODOIST_API_URL", &server.url)
            .env("SOME_COPY_OF_IT", format!("prefix-{TOKEN}"))
            .env("ANTHROPIC_API_KEY", "sk-ant-would-switch-billing")
            .env("CLAUDECODE", "1")
            .env("CLAUDE_CODE_SESSION_ID", "outer")
            .env("CLAUDE_CODE_OAUTH_TOKEN", "subscription-token-kept")
            .env("FAKE_CLAUDE_RECORD", &record);
        c
    })
    .await);
    assert!(run.contains("succeeded"), "{run}");
    assert!(!run.contains(TOKEN));

    let recs: Vec<_> = std::fs::read_dir(&record).unwrap().collect();
    assert_eq!(recs.len(), 1);
    let rec: serde_json::Value =
        serde_json::from_str(&read(&recs[0].as_ref().unwrap().path())).unwrap();
    let env = rec["env"].as_object().unwrap();
    for gone in [
        "TODOIST_API_TOKEN",
        "SOME_COPY_OF_IT",
        "ANTHROPIC_API_KEY",
        "CLAUDECODE",
        "CLAUDE_CODE_SESSION_ID",
        "DELEGATE_TODOIST_API_URL",
    ] {
        assert!(!env.contains_key(gone), "{gone} reached the agent");
    }
    assert_eq!(env["CLAUDE_CODE_OAUTH_TOKEN"], "subscription-token-kept");
    assert!(
        !rec.to_string().contains(TOKEN),
        "token in the agent's argv or environment"
    );
    assert_eq!(
        rec["cwd"].as_str().unwrap(),
        home.join("ws").canonicalize().unwrap().to_str().unwrap()
    );

    // Nothing Delegate wrote holds the token: config, history, queue, logs, workspace.
    let mut files = vec![home.to_path_buf()];
    let mut scanned = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            scanned += 1;
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                "token found in {}",
                p.display()
            );
        }
    }
    assert!(scanned >= 5, "scanned {scanned} files");
    assert!(
        home.join("logs").read_dir().unwrap().count() >= 1,
        "a log file exists"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_everything_with_a_fix_for_each_problem() {
    let server = FakeTodoist::start(TOKEN).await;
    server.add_project("Writer");
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let add = |name: &str, project: &str, command: &Path| {
        let mut c = delegate(home);
        c.args([
            "employee",
            "add",
            name,
            "--source",
            "todoist",
            "--project",
            project,
            "--workspace",
        ])
        .arg(home.join(name))
        .arg("--command")
        .arg(command);
        c
    };
    ok(output(add("Good", "writer", &fake_claude())).await);
    ok(output(add("Bad", "Missing", Path::new("/nope/claude"))).await);
    std::fs::remove_dir(home.join("Bad")).unwrap();
    let out = output({
        let mut c = delegate(home);
        c.arg("doctor")
            .env("TODOIST_API_TOKEN", TOKEN)
            .env("DELEGATE_TODOIST_API_URL", &server.url);
        c
    })
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(!out.status.success());
    for line in [
        "✓ Todoist API token present (from the TODOIST_API_TOKEN variable)",
        "✓ Todoist accepts the API token: connected as Test Person <test@example.com>",
        "✓ Good: project \"Writer\" found",
        "✗ Bad: Todoist project \"Missing\" not found; projects in this account: Writer",
        "✓ Good: agent CLI",
        "(2.1.197 (Claude Code))",
        "✗ Bad: agent CLI \"/nope/claude\" not found at that path",
        "✗ Bad: workspace",
        "fix: create it: mkdir -p",
        "3 problem(s) found.",
    ] {
        assert!(text.contains(line), "missing {line:?}");
    }
    let out = output({
        let mut c = delegate(home);
        c.arg("doctor")
            .env("TODOIST_API_TOKEN", "wrong")
            .env("DELEGATE_TODOIST_API_URL", &server.url);
        c
    })
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("✗ Todoist: Todoist rejected the API token (HTTP 401)"));
    assert!(text.contains("fix: copy a fresh token"), "{text}");

    // Nothing listening: the fix is about the address, never about the token.
    let out = output({
        let mut c = delegate(home);
        c.arg("doctor")
            .env("TODOIST_API_TOKEN", TOKEN)
            .env("DELEGATE_TODOIST_API_URL", "http://127.0.0.1:9/api/v1");
        c
    })
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("✗ Todoist: cannot reach Todoist at http://127.0.0.1:9"),
        "{text}"
    );
    assert!(
        text.contains("fix: nothing answers at that address: check `api_url`"),
        "{text}"
    );
    assert!(!text.contains("token set"), "{text}");
}

fn wait_for(path: &Path) -> String {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        let s = read(path);
        if s.ends_with('\n') {
            return s;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

fn wait_gone(pid: u32) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The pids in a `hang.pids` of the agent running in `ws`, as this machine numbers them (the
/// run's PID namespace numbers them otherwise).
fn pids(s: &str, ws: &Path) -> Vec<u32> {
    s.split_whitespace()
        .map(|p| {
            let p = p.parse().unwrap();
            delegate_testkit::host_pid(p, ws).unwrap_or_else(|| panic!("{p} is not running"))
        })
        .collect()
}

fn setup_hanging(home: &Path) -> std::path::PathBuf {
    let ws = home.join("ws");
    let mut c = delegate(home);
    c.args(["employee", "add", "Slow", "--workspace"])
        .arg(&ws)
        .arg("--command")
        .arg(fake_claude());
    ok(c.output().unwrap());
    let mut c = delegate(home);
    c.args(["task", "add", "-e", "Slow", "Wait for ever [hang]"]);
    ok(c.output().unwrap());
    ws
}

#[test]
fn watch_stops_agents_cleanly_on_sigterm() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let dir = tempfile::tempdir().unwrap();
    let ws = setup_hanging(dir.path());
    let mut child = delegate(dir.path())
        .args(["run", "--watch"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let agent = pids(&wait_for(&ws.join("hang.pids")), &ws);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    for p in agent {
        assert!(wait_gone(p), "process {p} survived");
    }
    let out = delegate(dir.path())
        .args(["history", "--json"])
        .output()
        .unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs[0]["status"], "cancelled");
    let tasks = String::from_utf8(
        delegate(dir.path())
            .args(["task", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(!tasks.contains("agent-working"), "claim released: {tasks}");
}

#[test]
fn the_agent_dies_with_delegate_and_the_run_is_marked_interrupted() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let dir = tempfile::tempdir().unwrap();
    let ws = setup_hanging(dir.path());
    let mut child = delegate(dir.path())
        .args(["run"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let p = pids(&wait_for(&ws.join("hang.pids")), &ws);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    assert!(wait_gone(p[0]), "the agent outlived a killed Delegate");
    // Its own children go with it: when the run's PID namespace loses its init, the kernel
    // kills every process in it.
    assert!(wait_gone(p[1]), "the grandchild outlived a killed Delegate");
    assert_eq!(delegate_testkit::processes_in(&ws), Vec::<u32>::new());

    let out = ok(delegate(dir.path()).args(["history"]).output().unwrap());
    assert!(out.contains("running"), "{out}");
    // The next start marks the dead process's run as interrupted and, since the claim was
    // this machine's own, takes the task back at once instead of waiting out the lease.
    std::fs::remove_file(ws.join("hang.pids")).unwrap();
    let mut c = delegate(dir.path());
    c.args(["run", "--employee", "Slow"]);
    let c = c.stdout(Stdio::piped()).spawn().unwrap();
    let again = pids(&wait_for(&ws.join("hang.pids")), &ws);
    kill(Pid::from_raw(c.id() as i32), Signal::SIGTERM).unwrap();
    let text = String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap();
    assert!(
        text.contains("Marked 1 run(s) left running by a stopped Delegate as interrupted."),
        "{text}"
    );
    assert!(
        text.contains("run #2: “Wait for ever [hang]” (attempt 1 of 3)"),
        "{text}"
    );
    assert!(wait_gone(again[0]) && wait_gone(again[1]));
    let out = ok(delegate(dir.path()).args(["history"]).output().unwrap());
    assert!(
        out.contains("#1  interrupted") && out.contains("#2  cancelled"),
        "{out}"
    );
}
