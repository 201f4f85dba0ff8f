//! The OS sandbox (Landlock) around a real agent process: a probing fake agent, run by the real
//! `delegate` binary, tries what a strict sandbox must allow and refuse — in its own process and
//! in a child it starts — and each outcome is checked on the file system, in the agent's own
//! report and in the run record. The same probe without the sandbox succeeds everywhere, so the
//! test cannot pass by a probe that never tried.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::*;
use delegate_core::config::{Employee, SourceKind, edit};
use delegate_core::history::{History, RunFilter};
use delegate_core::sandbox::{self, NetworkRule, SandboxMode};
use delegate_testkit::sibling_binary;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

struct Probe {
    report: Value,
    detail: delegate_core::history::RunDetail,
    comments: String,
}

/// One `delegate run` of a `[sandbox-probe]` task for an employee with `mode`, with `home` as
/// the home folder and a loopback listener the probe tries to reach.
fn run_probe(dir: &Path, home: &Path, mode: SandboxMode, tag: &str) -> Probe {
    let data = dir.join(format!("data-{tag}"));
    let ws = dir.join(format!("ws-{tag}"));
    std::fs::create_dir_all(&ws).unwrap();
    let mut e = Employee::new("Prober", SourceKind::Local, ws.clone());
    e.command = Some(fake_claude().display().to_string());
    e.sandbox = mode;
    e.sandbox_network = NetworkRule::Https;
    e.max_attempts = 1;
    std::fs::create_dir_all(&data).unwrap();
    edit::add_employee(&data.join("config.toml"), &e).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A session runtime folder with a bus socket, as a desktop session has.
    let runtime = dir.join(format!("runtime-{tag}"));
    std::fs::create_dir_all(&runtime).unwrap();
    let bus = std::os::unix::net::UnixListener::bind(runtime.join("bus")).unwrap();
    // A tmux server's socket, where tmux keeps it: a server that runs commands for whoever
    // connects.
    let tmux_root = dir.join(format!("tmux-root-{tag}"));
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap());
    let tmux_dir = tmux_root.join(format!("tmux-{uid}"));
    std::fs::create_dir_all(&tmux_dir).unwrap();
    let tmux = std::os::unix::net::UnixListener::bind(tmux_dir.join("default")).unwrap();
    let delegate = |args: &[&str]| {
        let out = Command::new(sibling_binary("delegate"))
            .arg("--home")
            .arg(&data)
            .args(args)
            .env("HOME", home)
            .env("FAKE_CLAUDE_PROBE_PORT", port.to_string())
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("TMUX_TMPDIR", &tmux_root)
            .env("FAKE_CLAUDE_PROBE_SOCKETS", tmux_dir.join("default"))
            .env(
                "FAKE_CLAUDE_PROBE_TAG",
                format!("{tag}-{}", std::process::id()),
            )
            // Delegate itself would look for the keychain on that runtime folder's bus (which
            // answers nothing); a token in the environment keeps it off the keychain.
            .env("TODOIST_API_TOKEN", "probe-token-not-used")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("DELEGATE_HOME")
            .env_remove("CLAUDE_CONFIG_DIR")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "delegate {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    delegate(&[
        "task",
        "add",
        "-e",
        "Prober",
        "[sandbox-probe] try everything",
    ]);
    delegate(&["run"]);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join("probe.json")).unwrap()).unwrap();
    let history = History::open(&data.join("history.db")).unwrap();
    let runs = history.list(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 1);
    let detail = history.get(runs[0].id).unwrap();
    let queue = delegate_core::source::LocalQueue::open(&data.join("queue.db")).unwrap();
    let comments = queue
        .comments(&runs[0].task_id)
        .unwrap()
        .into_iter()
        .map(|c| c.content)
        .collect::<Vec<_>>()
        .join("\n---\n");
    drop(listener);
    drop(bus);
    drop(tmux);
    // The file the probe writes outside the sandbox when it is allowed to (mode off).
    let _ = std::fs::remove_file(format!("/tmp/delegate-probe-{tag}-{}", std::process::id()));
    Probe {
        report,
        detail,
        comments,
    }
}

/// The outcome of the probe step `what` on a path ending in `suffix`.
fn outcome(steps: &Value, what: &str, suffix: &str) -> bool {
    let step = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["what"] == what && s["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no {what} of …{suffix} in {steps}"));
    step["ok"].as_bool().unwrap()
}

fn home_with_secrets(dir: &Path, name: &str) -> std::path::PathBuf {
    let home = dir.join(name);
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_ed25519"), "-----BEGIN TEST KEY-----\n").unwrap();
    std::fs::write(home.join(".bashrc"), "# the person's own\n").unwrap();
    home
}

/// Whether an unprivileged process may make a user (and mount) namespace here, asked of the
/// kernel apart from `sandbox::support()` (util-linux `unshare`), so that a wrong "no" there
/// cannot quietly turn the session-bus check off. `None`: `unshare` is not installed.
fn user_namespaces_allowed() -> Option<bool> {
    Command::new("unshare")
        .args(["--user", "--mount", "true"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()
        .map(|s| s.success())
}

#[test]
fn a_strict_sandbox_holds_for_the_agent_and_its_children() {
    let support = sandbox::support();
    assert!(
        support.available(),
        "this test needs a kernel with Landlock: {}",
        support.describe()
    );
    let dir = tempfile::tempdir().unwrap();

    // Without the sandbox the probe reaches everything: the checks below can fail.
    let open_home = home_with_secrets(dir.path(), "home-open");
    let open = run_probe(dir.path(), &open_home, SandboxMode::Off, "off");
    for steps in [&open.report["process"], &open.report["child"]] {
        assert!(outcome(steps, "write", "/.bashrc"), "{steps}");
        assert!(outcome(steps, "read", "/.ssh/id_ed25519"), "{steps}");
        assert!(outcome(steps, "connect", "/bus"), "{steps}");
        assert!(outcome(steps, "connect", "/default"), "tmux: {steps}");
        assert!(
            steps
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["what"] == "connect"
                    && s["ok"] == true
                    && s["path"].as_str().unwrap().parse::<u16>().is_ok()),
            "{steps}"
        );
    }
    assert!(read(&open_home.join(".bashrc")).contains("written by the probe"));
    assert_eq!(open.detail.sandbox.as_deref(), Some("off"));
    assert!(
        lines(&open.detail)
            .iter()
            .any(|l| l.starts_with("⚠️ No OS sandbox")),
        "{:?}",
        lines(&open.detail)
    );

    // The network and session-bus checks below are required wherever the machine can hold
    // them (Landlock ABI 4, unprivileged user namespaces: this machine's kind and CI); only
    // elsewhere are they skipped, and then loudly.
    let check_network = support.network();
    if !check_network {
        eprintln!(
            "SKIPPED: the strict sandbox's network check, because this kernel offers Landlock ABI {} \
             and network rules need ABI 4",
            support.abi
        );
    }
    let userns = user_namespaces_allowed();
    if userns == Some(true) {
        assert!(
            support.hides_session,
            "this machine allows unprivileged user namespaces (`unshare --user --mount true` \
             works), yet sandbox::support() says the session cannot be hidden: {}",
            support.describe()
        );
    }
    let check_session = support.hides_session;
    if !check_session {
        eprintln!(
            "SKIPPED: the strict sandbox's session-bus check, because unprivileged user \
             namespaces are not allowed here ({})",
            match userns {
                Some(_) => "`unshare --user --mount true` fails",
                None => "sandbox::support() says so; `unshare` is not installed to confirm it",
            }
        );
    }

    // Strict: the same probe, refused outside what it may touch.
    let home = home_with_secrets(dir.path(), "home-strict");
    let strict = run_probe(dir.path(), &home, SandboxMode::Strict, "strict");
    eprintln!("strict sandbox probe: {}", strict.report);
    for (who, steps) in [
        ("agent", &strict.report["process"]),
        ("its child", &strict.report["child"]),
    ] {
        assert!(outcome(steps, "write", "/probe-ok.txt"), "{who}: {steps}");
        assert!(!outcome(steps, "write", "/.bashrc"), "{who}: {steps}");
        assert!(
            !outcome(
                steps,
                "write",
                &format!("/tmp/delegate-probe-strict-{}", std::process::id())
            ),
            "{who}: {steps}"
        );
        assert!(
            outcome(
                steps,
                "write",
                &format!("/probe-strict-{}", std::process::id())
            ),
            "{who}: the private TMPDIR is writable: {steps}"
        );
        assert!(
            !outcome(steps, "read", "/.ssh/id_ed25519"),
            "{who}: {steps}"
        );
        assert!(outcome(steps, "read", "/etc/passwd"), "{who}: {steps}");
        if check_network {
            let tcp = steps
                .as_array()
                .unwrap()
                .iter()
                .find(|s| {
                    s["what"] == "connect" && s["path"].as_str().unwrap().parse::<u16>().is_ok()
                })
                .unwrap();
            assert_eq!(tcp["ok"], false, "{who}: {steps}");
        }
        if check_session {
            // The session bus (and the keyring behind it) is out of reach, and so is tmux.
            assert!(!outcome(steps, "connect", "/bus"), "{who}: {steps}");
            assert!(!outcome(steps, "connect", "/default"), "{who}: {steps}");
        }
    }
    // The file system agrees.
    assert_eq!(read(&home.join(".bashrc")), "# the person's own\n");
    assert!(
        !Path::new(&format!(
            "/tmp/delegate-probe-strict-{}",
            std::process::id()
        ))
        .exists()
    );
    assert!(dir.path().join("ws-strict/probe-ok.txt").is_file());
    // The run record says which sandbox it ran under and what was refused.
    let record = strict.detail.sandbox.clone().unwrap();
    assert!(
        record.starts_with(&format!("strict · Landlock ABI {}", support.abi)),
        "{record}"
    );
    assert_eq!(strict.detail.run.status.as_str(), "succeeded");
    let timeline = lines(&strict.detail);
    assert!(
        timeline.iter().any(|l| l.starts_with("🛡 Sandbox: strict")),
        "{timeline:?}"
    );
    for blocked in [
        "🛡 Blocked: writing ~/.bashrc",
        "🛡 Blocked: reading ~/.ssh/id_ed25519",
    ] {
        assert!(
            timeline.iter().any(|l| l == blocked),
            "{blocked}: {timeline:?}"
        );
    }
    assert!(
        timeline
            .iter()
            .any(|l| l.starts_with("🛡 Blocked: writing /tmp/delegate-probe-strict-")),
        "{timeline:?}"
    );
    // …and so does the task's comment.
    assert!(
        strict.comments.contains("The OS sandbox refused"),
        "{}",
        strict.comments
    );
    assert!(
        strict.comments.contains("writing ~/.bashrc"),
        "{}",
        strict.comments
    );
    // The private temporary folder is gone after the run.
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_dir(e.path())
                .map(|mut d| {
                    d.any(|f| {
                        f.is_ok_and(|f| {
                            f.file_name().to_string_lossy()
                                == format!("probe-strict-{}", std::process::id())
                        })
                    })
                })
                .unwrap_or(false)
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn doctor_reports_the_machines_sandbox_and_each_employees() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let config = data.join("config.toml");
    let mut strict = Employee::new("Careful", SourceKind::Local, dir.path().join("ws1"));
    strict.command = Some(fake_claude().display().to_string());
    strict.sandbox_write = vec![dir.path().join("missing")];
    edit::add_employee(&config, &strict).unwrap();
    let mut loose = Employee::new("Loose", SourceKind::Local, dir.path().join("ws2"));
    loose.command = Some(fake_claude().display().to_string());
    loose.sandbox = SandboxMode::Off;
    edit::add_employee(&config, &loose).unwrap();
    let out = Command::new(sibling_binary("delegate"))
        .arg("--home")
        .arg(&data)
        .arg("doctor")
        .env_remove("TODOIST_API_TOKEN")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let support = sandbox::support();
    assert!(
        text.contains(&format!(
            "✓ Landlock ABI {}: agents run in an OS sandbox",
            support.abi
        )),
        "{text}"
    );
    assert!(
        text.contains("✓ Careful: OS sandbox (strict): writes only in its workspace"),
        "{text}"
    );
    assert!(
        text.contains("! Careful: the sandbox path") && text.contains("does not exist"),
        "{text}"
    );
    assert!(
        text.contains("! Loose: no OS sandbox: the agent can read and change anything you can"),
        "{text}"
    );
}

/// A program named like Claude Code that crashes because its sandbox refused a file it wanted
/// to write (here: a record outside the workspace, as a test script might keep) fails the
/// task with the 🛡 line and how to widen the sandbox — it is not "Claude Code refused its
/// arguments, update it", which would send a person the wrong way.
#[test]
fn a_write_the_sandbox_refused_fails_the_task_and_never_blames_the_cli() {
    let support = sandbox::support();
    assert!(
        support.available(),
        "this test needs a kernel with Landlock: {}",
        support.describe()
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (data, home, ws, outside) = (
        root.join("data"),
        root.join("home"),
        root.join("ws"),
        root.join("outside"),
    );
    for d in [&data, &home, &ws, &outside, &root.join("bin")] {
        std::fs::create_dir_all(d).unwrap();
    }
    let record = outside.join("record.jsonl");
    let program = root.join("bin/claude");
    // It answers the login check and the version probe; a run dies the way a Python script
    // does (the shell's own message about the write is silenced).
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\n\
             case \"$1\" in\n\
             --version) echo '2.1.197 (Claude Code)'; exit 0 ;;\n\
             auth) echo '{{\"loggedIn\": true, \"authMethod\": \"claude.ai\"}}'; exit 0 ;;\n\
             esac\n\
             if ! echo '{{\"started\": true}}' 2>/dev/null >> '{record}'; then\n\
             echo 'Traceback (most recent call last):' >&2\n\
             echo '  File \"{program}\", line 7, in <module>' >&2\n\
             echo \"PermissionError: [Errno 13] Permission denied: '{record}'\" >&2\n\
             exit 1\n\
             fi\n",
            record = record.display(),
            program = root.join("bin/claude").display(),
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut e = Employee::new("Scripted", SourceKind::Local, ws.clone());
    e.command = Some(program.display().to_string());
    e.sandbox = SandboxMode::Strict;
    e.max_attempts = 1;
    edit::add_employee(&data.join("config.toml"), &e).unwrap();
    let delegate = |args: &[&str]| {
        Command::new(sibling_binary("delegate"))
            .arg("--home")
            .arg(&data)
            .args(args)
            .env("HOME", &home)
            .env_remove("TODOIST_API_TOKEN")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("DELEGATE_HOME")
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("CLAUDE_CODE_OAUTH_TOKEN")
            .output()
            .unwrap()
    };
    let add = delegate(&["task", "add", "-e", "Scripted", "Keep a record"]);
    assert!(add.status.success(), "{add:?}");
    let run = delegate(&["run"]);
    let said = String::from_utf8_lossy(&run.stdout).into_owned();
    // 1: a task failed; 2 would be "this machine needs attention".
    assert_eq!(run.status.code(), Some(1), "{said}");
    assert!(!said.contains("needs attention"), "{said}");
    // The sandbox really refused the write.
    assert!(!record.exists());

    let history = History::open(&data.join("history.db")).unwrap();
    let runs = history.list(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 1);
    let detail = history.get(runs[0].id).unwrap();
    assert_eq!(detail.run.status.as_str(), "failed");
    let error = detail.run.error.clone().unwrap_or_default();
    for wrong in ["refused its arguments", "update Claude Code", "npm install"] {
        assert!(!error.contains(wrong), "{error}");
    }
    assert!(
        error.contains(&format!(
            "PermissionError: [Errno 13] Permission denied: '{}'",
            record.display()
        )),
        "{error}"
    );
    let blocked = format!("{}", record.display());
    assert!(
        error.contains("🛡 Blocked: ") && error.contains(&blocked),
        "{error}"
    );
    assert!(
        error.contains("`sandbox_read` / `sandbox_write`"),
        "{error}"
    );
    let timeline = lines(&detail);
    assert!(
        timeline
            .iter()
            .any(|l| l.starts_with("🛡 Blocked: ") && l.ends_with(&blocked)),
        "{timeline:?}"
    );
    // Only the refused file: not the program's own, which its traceback names too.
    assert_eq!(
        timeline
            .iter()
            .filter(|l| l.starts_with("🛡 Blocked: "))
            .count(),
        1,
        "{timeline:?}"
    );
    // The task's comment says the same, with the fix.
    let queue = delegate_core::source::LocalQueue::open(&data.join("queue.db")).unwrap();
    let comments = queue
        .comments(&runs[0].task_id)
        .unwrap()
        .into_iter()
        .map(|c| c.content)
        .collect::<Vec<_>>()
        .join("\n---\n");
    assert!(comments.contains("Failed after 1 attempt"), "{comments}");
    assert!(comments.contains("The OS sandbox refused"), "{comments}");
    assert!(comments.contains(&blocked), "{comments}");
    assert!(
        comments.contains("`sandbox_read` / `sandbox_write`"),
        "{comments}"
    );
    assert!(!comments.contains("update Claude Code"), "{comments}");
}
