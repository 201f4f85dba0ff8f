//! The real agent CLIs from npm (`@anthropic-ai/claude-code`, `@openai/codex`,
//! `@google/gemini-cli`), with an empty HOME, no login and no network: each accepts the argv
//! Delegate builds (it fails at login or at the network, never at parsing), its failure is
//! classified as a problem of this machine, whole cycles leave the task untouched, and
//! `doctor` names the fix.
//!
//! They need the CLIs (about 740 MB): `scripts/test` installs them into
//! `target/agent-clis` and runs these tests with `--ignored`, pointing `DELEGATE_REAL_CLIS`
//! at their `node_modules/.bin`.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use delegate_core::agent::{
    self, AgentEvent, AgentResult, Exit, Invocation, MachineKind, Parsed, RunFacts,
};
use delegate_core::config::{AgentKind, Employee, SourceKind};
use delegate_core::sandbox;
use delegate_testkit::sibling_binary;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const NEEDS: &str =
    "needs the real agent CLIs: scripts/test installs them and sets DELEGATE_REAL_CLIS";

fn cli(name: &str) -> PathBuf {
    let dir = std::env::var("DELEGATE_REAL_CLIS").expect(NEEDS);
    let p = Path::new(&dir).join(name);
    assert!(p.exists(), "{} is missing; {NEEDS}", p.display());
    p
}

/// Runs the agent the way the worker does, with `home` as HOME, and classifies the end.
async fn run_real(
    kind: AgentKind,
    home: &Path,
    workspace: &Path,
    timeout: Duration,
    extra_env: &[(&str, &str)],
    sandboxed: bool,
) -> (Exit, Vec<AgentEvent>, String, Option<agent::MachineProblem>) {
    let a = agent::for_kind(kind);
    let mut e = Employee::new("Real", SourceKind::Local, workspace.to_path_buf());
    e.agent = kind;
    e.command = Some(cli(a.default_command()).display().to_string());
    e.max_task_usd = (kind == AgentKind::Claude).then_some(0.001);
    let launch = a.launch(&e, "-rf: write a haiku about queues");
    let mut set_env = launch.set_env.clone();
    set_env.push(("HOME".into(), home.display().to_string()));
    for (k, v) in extra_env {
        set_env.push((k.to_string(), v.to_string()));
    }
    let mut remove_env = launch.remove_env.clone();
    remove_env.extend(
        [
            "ANTHROPIC_API_KEY",
            "CLAUDE_CODE_OAUTH_TOKEN",
            "CODEX_API_KEY",
            "OPENAI_API_KEY",
            "GEMINI_API_KEY",
            "GOOGLE_API_KEY",
        ]
        .map(String::from),
    );
    let inv = Invocation {
        program: delegate_core::agent::command_of(&e).to_string(),
        args: launch.args.clone(),
        cwd: workspace.to_path_buf(),
        remove_env,
        scrub_values: vec![],
        timeout,
        grace: Duration::from_secs(3),
        marker: Some(format!("real-cli-test-{}", std::process::id())),
        stdin: launch.stdin.clone(),
        set_env,
        sandbox: if sandboxed {
            let program =
                agent::spawn::resolve_program(delegate_core::agent::command_of(&e)).unwrap();
            let plan = delegate_core::agent::sandbox_plan(&e, &program, Some(home)).unwrap();
            assert_eq!(plan.mode, sandbox::SandboxMode::Strict);
            Some(plan)
        } else {
            None
        },
    };
    let mut parser = a.parser();
    let mut events = Vec::new();
    let outcome = agent::spawn::run(
        &inv,
        &CancellationToken::new(),
        |_| {},
        |l| {
            if let Parsed::Events(ev) = parser.line(&l.text) {
                events.extend(ev);
            }
        },
    )
    .await
    .unwrap();
    events.extend(parser.finish(outcome.exit));
    let result: Option<&AgentResult> = events.iter().rev().find_map(|e| match e {
        AgentEvent::Result(r) => Some(r),
        _ => None,
    });
    let retry = events.iter().rev().find_map(|e| match e {
        AgentEvent::Retry { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    let problem = a.machine_problem(&RunFacts {
        exit: outcome.exit,
        result,
        stderr: &outcome.stderr_tail,
        worked: events
            .iter()
            .any(|e| matches!(e, AgentEvent::ToolUse { .. } | AgentEvent::Text(_))),
        started: events
            .iter()
            .any(|e| matches!(e, AgentEvent::Started { .. })),
        last_retry: retry.as_deref(),
        employee: &e,
    });
    (outcome.exit, events, outcome.stderr_tail, problem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real agent CLIs: scripts/test installs them and sets DELEGATE_REAL_CLIS"]
async fn the_real_clis_accept_delegates_argv_and_fail_as_machine_problems() {
    // The same outside and inside the strict OS sandbox: the CLIs start, parse the argv and
    // stop at the login or the network, classified the same way.
    for sandboxed in [false, true] {
        eprintln!("== sandboxed: {sandboxed}");
        real_clis_fail_as_machine_problems(sandboxed).await;
    }
}

async fn real_clis_fail_as_machine_problems(sandboxed: bool) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&ws).unwrap();
    // The settings the person's own Claude Code keeps in ~/.claude.json (seeded into
    // ~/.claude for the sandboxed run, which cannot write the home folder).
    let user_id = "5f1e0c3a9b7d4e2f8a6c1b0d9e3f7a2c5f1e0c3a9b7d4e2f8a6c1b0d9e3f7a2c";
    std::fs::write(
        home.join(".claude.json"),
        format!("{{\"userID\": \"{user_id}\", \"numStartups\": 3}}"),
    )
    .unwrap();

    // Claude: init, then "Not logged in" — so --tools, --allowedTools, --max-budget-usd 0.001
    // and the prompt after `--` were all accepted.
    let (exit, events, stderr, problem) = run_real(
        AgentKind::Claude,
        &home,
        &ws,
        Duration::from_secs(60),
        &[],
        sandboxed,
    )
    .await;
    assert_eq!(exit, Exit::Code(1), "{stderr}");
    let p = problem.unwrap();
    assert_eq!(p.kind, MachineKind::NotLoggedIn, "{p:?}");
    eprintln!("claude: {}", p.message());
    assert!(matches!(events[0], AgentEvent::Started { .. }));

    // Codex: it starts its thread (the argv parsed) and then waits for the network forever;
    // Delegate's timeout ends it and calls it unreachable.
    let (exit, events, stderr, problem) = run_real(
        AgentKind::Codex,
        &home,
        &ws,
        Duration::from_secs(8),
        &[],
        sandboxed,
    )
    .await;
    assert_eq!(exit, Exit::TimedOut, "{stderr}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::Started { .. })),
        "{stderr}"
    );
    let p = problem.unwrap();
    assert_eq!(p.kind, MachineKind::Unreachable, "{p:?}");
    eprintln!("codex: {}", p.message());

    // Gemini: exit 41 (no auth) comes after argument parsing.
    let (exit, _, stderr, problem) = run_real(
        AgentKind::Gemini,
        &home,
        &ws,
        Duration::from_secs(60),
        &[],
        sandboxed,
    )
    .await;
    assert_eq!(exit, Exit::Code(41), "{stderr}");
    let p = problem.unwrap();
    assert_eq!(p.kind, MachineKind::NotLoggedIn);
    eprintln!("gemini: {}", p.message());

    // Gemini with a key: trusted (--skip-trust), the prompt read from stdin, then no network.
    let (_, events, stderr, problem) = run_real(
        AgentKind::Gemini,
        &home,
        &ws,
        Duration::from_secs(10),
        &[("GEMINI_API_KEY", "not-a-real-key")],
        sandboxed,
    )
    .await;
    assert!(
        matches!(events.first(), Some(AgentEvent::Started { .. })),
        "{stderr}"
    );
    assert_eq!(problem.unwrap().kind, MachineKind::Unreachable);

    if sandboxed {
        // Inside the sandbox each CLI kept its state in its own folder and wrote nothing else
        // in the home folder (Claude's settings file went into ~/.claude).
        let mut left: Vec<String> = std::fs::read_dir(&home)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert!(
            left.iter()
                .all(|n| [".claude", ".claude.json", ".codex", ".gemini"].contains(&n.as_str())),
            "{left:?}"
        );
        let seeded = std::fs::read_to_string(home.join(".claude/.claude.json")).unwrap();
        assert!(seeded.contains(user_id), "{seeded}");
    }
}

fn delegate(home: &Path, agent_home: &Path) -> Command {
    let mut c = Command::new(sibling_binary("delegate"));
    c.arg("--home")
        .arg(home)
        .env("HOME", agent_home)
        .env_remove("DELEGATE_HOME")
        .env_remove("TODOIST_API_TOKEN")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("CLAUDE_CODE_OAUTH_TOKEN")
        .env_remove("CODEX_API_KEY")
        .env_remove("GEMINI_API_KEY");
    c
}

#[test]
#[ignore = "needs the real agent CLIs: scripts/test installs them and sets DELEGATE_REAL_CLIS"]
fn whole_cycles_with_logged_out_clis_never_touch_the_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("delegate");
    let agent_home = dir.path().join("empty-home");
    std::fs::create_dir_all(&agent_home).unwrap();
    for (name, agent) in [
        ("Claude", "claude"),
        ("Codex", "codex"),
        ("Gemini", "gemini"),
    ] {
        let ws = dir.path().join(name);
        let out = delegate(&home, &agent_home)
            .args(["employee", "add", name, "--agent", agent, "--workspace"])
            .arg(&ws)
            .arg("--command")
            .arg(cli(agent))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = delegate(&home, &agent_home)
            .args(["task", "add", "-e", name, "Write a haiku about queues"])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    for round in 0..3 {
        let out = delegate(&home, &agent_home).arg("run").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        eprintln!("round {round}:\n{text}");
        assert_eq!(
            out.status.code(),
            Some(2),
            "an employee could not work: {text}"
        );
        assert!(
            text.contains("Claude: needs attention: Claude Code is not logged in"),
            "{text}"
        );
        assert!(text.contains("/login"), "{text}");
        assert!(
            text.contains("Codex: needs attention: the Codex CLI is not logged in"),
            "{text}"
        );
        assert!(text.contains("codex login"), "{text}");
        assert!(
            text.contains("Gemini: needs attention: the Gemini CLI has no login"),
            "{text}"
        );
        assert!(text.contains("GEMINI_API_KEY"), "{text}");
    }
    let out = delegate(&home, &agent_home)
        .args(["task", "list", "--json"])
        .output()
        .unwrap();
    let tasks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for t in tasks.as_array().unwrap() {
        assert_eq!(t["task"]["labels"], serde_json::json!([]), "{t}");
    }
    let out = delegate(&home, &agent_home)
        .args(["history"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("failed"), "no run failed: {text}");

    let out = delegate(&home, &agent_home).arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}");
    assert!(!out.status.success());
    assert!(
        text.contains("✗ Claude: Claude Code is not logged in"),
        "{text}"
    );
    assert!(
        text.contains("fix: run `claude` in a terminal and log in with /login"),
        "{text}"
    );
    assert!(
        text.contains("✗ Codex: the Codex CLI is not logged in"),
        "{text}"
    );
    assert!(
        text.contains("✗ Gemini: the Gemini CLI has no login"),
        "{text}"
    );
}

/// `codex ARGS` started the way Delegate starts an agent for `e` (its OS sandbox, if any;
/// its own PID namespace), with `home` as HOME: how it ended and its error output.
async fn run_codex(e: &Employee, home: &Path, args: &[&str], sandboxed: bool) -> (Exit, String) {
    let program = agent::spawn::resolve_program(delegate_core::agent::command_of(e)).unwrap();
    let inv = Invocation {
        program: delegate_core::agent::command_of(e).to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        cwd: e.workspace.clone(),
        remove_env: vec!["CODEX_API_KEY".into(), "OPENAI_API_KEY".into()],
        scrub_values: vec![],
        timeout: Duration::from_secs(60),
        grace: Duration::from_secs(3),
        marker: Some(format!("real-codex-test-{}", std::process::id())),
        stdin: None,
        set_env: vec![("HOME".into(), home.display().to_string())],
        sandbox: sandboxed
            .then(|| delegate_core::agent::sandbox_plan(e, &program, Some(home)).unwrap()),
    };
    let outcome = agent::spawn::run(&inv, &CancellationToken::new(), |_| {}, |_| {})
        .await
        .unwrap();
    (outcome.exit, outcome.stderr_tail)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real agent CLIs: scripts/test installs them and sets DELEGATE_REAL_CLIS"]
async fn codex_runs_commands_inside_delegates_sandbox() {
    assert!(sandbox::support().available(), "needs Landlock");
    // Not under the temporary folder: Codex puts its sandbox helper in CODEX_HOME and refuses
    // one there ("Refusing to create helper binaries under temporary dir"). The clone itself
    // may live under /tmp, so the first place that is not is taken.
    let tmp = std::env::temp_dir();
    let home_cache = std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache"));
    let base = [
        Some(std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))),
        Some(std::path::PathBuf::from("/var/tmp")),
        home_cache,
    ]
    .into_iter()
    .flatten()
    .find(|p| !p.starts_with(&tmp) && std::fs::create_dir_all(p).is_ok())
    .expect("a folder outside the temporary one");
    let dir = tempfile::tempdir_in(base).unwrap();
    let home = dir.path().join("home");
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&ws).unwrap();
    let mut e = Employee::new("Codex", SourceKind::Local, ws.clone());
    e.agent = AgentKind::Codex;
    e.command = Some(cli("codex").display().to_string());
    e.allowed_tools = vec!["Read".into(), "Write".into(), "Bash".into()];
    let codex = agent::for_kind(AgentKind::Codex);
    let outside = home.join("outside.txt");
    let probe = |mode: &str| -> Vec<String> {
        [
            "sandbox",
            "-c",
            &format!("sandbox_mode=\"{mode}\""),
            "--",
            "sh",
            "-c",
            &format!("echo hi > ok.txt; echo no > {}", outside.display()),
        ]
        .map(String::from)
        .to_vec()
    };
    let run = |args: Vec<String>, e: Employee, sandboxed: bool| {
        let home = home.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_codex(&e, &home, &args, sandboxed).await
        }
    };

    // Inside the strict sandbox Delegate starts Codex with its own sandbox off ...
    let args = codex.launch(&e, "x").args;
    assert!(
        args.contains(&"--dangerously-bypass-approvals-and-sandbox".to_string()),
        "{args:?}"
    );
    let mode = agent::codex::sandbox_mode(&e, true);
    // ... so its commands run, in the workspace, and Delegate's sandbox holds.
    let (exit, stderr) = run(probe(mode), e.clone(), true).await;
    assert_eq!(
        std::fs::read_to_string(ws.join("ok.txt")).ok().as_deref(),
        Some("hi\n"),
        "{exit:?} {stderr}"
    );
    assert!(
        !outside.exists(),
        "Delegate's sandbox let Codex write the home folder"
    );
    eprintln!("inside, {mode}: {exit:?}, {}", stderr.trim());

    // Codex's own sandbox cannot start inside Delegate's (bubblewrap mounts; Landlock refuses
    // mount(2)). Should a later Codex manage, `codex::sandbox_mode` could let it hold again.
    std::fs::remove_file(ws.join("ok.txt")).unwrap();
    let (exit, stderr) = run(probe("workspace-write"), e.clone(), true).await;
    eprintln!("inside, workspace-write: {exit:?}, {}", stderr.trim());
    assert!(
        !ws.join("ok.txt").exists() && exit != Exit::Code(0),
        "Codex's own sandbox now starts inside Delegate's: {stderr}"
    );

    // A read-only scope stays read-only: Delegate's sandbox keeps the workspace so.
    let mut reader = e.clone();
    reader.allowed_tools = vec!["Read".into()];
    let (exit, stderr) = run(probe(mode), reader, true).await;
    assert!(!ws.join("ok.txt").exists(), "{exit:?} {stderr}");

    // Without Delegate's sandbox (sandbox = "off", still in the run's own namespaces), Codex's
    // sandbox starts and holds: the workspace is written, the home folder is not.
    let mut off = e.clone();
    off.sandbox = sandbox::SandboxMode::Off;
    let args = codex.launch(&off, "x").args;
    assert!(
        args.windows(2).any(|w| w == ["-s", "workspace-write"]),
        "{args:?}"
    );
    let (exit, stderr) = run(probe("workspace-write"), off, false).await;
    assert_eq!(
        std::fs::read_to_string(ws.join("ok.txt")).ok().as_deref(),
        Some("hi\n"),
        "{exit:?} {stderr}"
    );
    assert!(
        !outside.exists(),
        "Codex's sandbox let it write the home folder"
    );
}

/// The real CLIs asked, with the argv Delegate resumes a session with, to continue a session
/// they do not have (the conversation's earlier run was on another machine, or their session
/// store was cleared): each answers in its own words (recorded in
/// `core/tests/fixtures/real/*-resume-unknown.*`), and Delegate reads every one of them as "the
/// session is missing" — the answer on which a run starts afresh with the whole conversation
/// (the fallback itself is exercised with the fake agent in `cycle_todoist`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the real agent CLIs: scripts/test installs them and sets DELEGATE_REAL_CLIS"]
async fn each_real_cli_says_when_it_does_not_have_the_session_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("empty-home");
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&ws).unwrap();
    for (kind, id) in [
        (AgentKind::Claude, "5f0c2c5e-8d0e-4a35-9f58-3b1f4f7b2a11"),
        (AgentKind::Codex, "0199a213-81c0-7800-8aa1-bbab2a035a53"),
        (AgentKind::Gemini, "5f0c2c5e-8d0e-4a35-9f58-3b1f4f7b2a11"),
    ] {
        let a = agent::for_kind(kind);
        let mut e = Employee::new("Real", SourceKind::Local, ws.clone());
        e.agent = kind;
        e.command = Some(cli(a.default_command()).display().to_string());
        let launch = a.resume(&e, id, "The one at the bakery.").unwrap();
        let mut set_env = launch.set_env.clone();
        set_env.push(("HOME".into(), home.display().to_string()));
        let program = agent::spawn::resolve_program(delegate_core::agent::command_of(&e)).unwrap();
        let inv = Invocation {
            program: delegate_core::agent::command_of(&e).to_string(),
            args: launch.args.clone(),
            cwd: ws.clone(),
            remove_env: launch.remove_env.clone(),
            scrub_values: vec![],
            timeout: Duration::from_secs(60),
            grace: Duration::from_secs(3),
            marker: Some(format!("real-cli-resume-{}", std::process::id())),
            stdin: launch.stdin.clone(),
            set_env,
            sandbox: delegate_core::agent::sandbox_plan(&e, &program, Some(&home)),
        };
        let mut parser = a.parser();
        let mut events = Vec::new();
        let outcome = agent::spawn::run(
            &inv,
            &CancellationToken::new(),
            |_| {},
            |l| {
                if let Parsed::Events(ev) = parser.line(&l.text) {
                    events.extend(ev);
                }
            },
        )
        .await
        .unwrap();
        events.extend(parser.finish(outcome.exit));
        let result: Option<&AgentResult> = events.iter().rev().find_map(|e| match e {
            AgentEvent::Result(r) => Some(r),
            _ => None,
        });
        let facts = RunFacts {
            exit: outcome.exit,
            result,
            stderr: &outcome.stderr_tail,
            worked: false,
            started: events
                .iter()
                .any(|e| matches!(e, AgentEvent::Started { .. })),
            last_retry: None,
            employee: &e,
        };
        eprintln!(
            "{}: {:?} {:?} {}",
            a.name(),
            outcome.exit,
            result.map(|r| r.errors.clone()),
            outcome
                .stderr_tail
                .lines()
                .find(|l| !l.trim().is_empty() && !l.starts_with("WARNING"))
                .unwrap_or("")
        );
        assert!(
            a.session_missing(&facts),
            "{}: {:?} {:?} {}",
            a.name(),
            outcome.exit,
            result,
            outcome.stderr_tail
        );
    }
}
