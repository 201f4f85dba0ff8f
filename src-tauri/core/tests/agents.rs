//! Each agent's parser and failure classes on what the real CLIs printed (recorded in
//! `fixtures/real/`, see its README): a machine problem is never mistaken for the task's
//! failure, and the reason is the line that says what went wrong.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use delegate_core::agent::{
    self, AgentEvent, AgentResult, Exit, MachineKind, MachineProblem, Parsed, Progress, RunFacts,
};
use delegate_core::config::{AgentKind, Employee, SourceKind};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/real")
            .join(name),
    )
    .unwrap()
}

fn employee(kind: AgentKind) -> Employee {
    let mut e = Employee::new("E", SourceKind::Local, PathBuf::from("/w"));
    e.agent = kind;
    e
}

struct Run {
    events: Vec<AgentEvent>,
    lines: Vec<String>,
    garbage: usize,
}

fn replay(kind: AgentKind, stdout: &str, exit: Exit) -> Run {
    let mut parser = agent::for_kind(kind).parser();
    let mut progress = Progress::new(Path::new("/w"));
    let mut run = Run {
        events: Vec::new(),
        lines: Vec::new(),
        garbage: 0,
    };
    let mut take = |events: Vec<AgentEvent>, run: &mut Run| {
        for e in events {
            if let Some(l) = progress.line(&e) {
                run.lines.push(l);
            }
            run.events.push(e);
        }
    };
    for line in stdout.lines() {
        match parser.line(line) {
            Parsed::Events(ev) => take(ev, &mut run),
            Parsed::Unknown(_) => {}
            Parsed::Garbage(_) => run.garbage += 1,
        }
    }
    let last = parser.finish(exit);
    take(last, &mut run);
    run
}

fn classify(kind: AgentKind, run: &Run, exit: Exit, stderr: &str) -> Option<MachineProblem> {
    let e = employee(kind);
    let result: Option<&AgentResult> = run.events.iter().rev().find_map(|e| match e {
        AgentEvent::Result(r) => Some(r),
        _ => None,
    });
    let worked = run
        .events
        .iter()
        .any(|e| matches!(e, AgentEvent::ToolUse { .. } | AgentEvent::Text(_)));
    let last_retry = run
        .lines
        .iter()
        .rev()
        .find(|l| l.starts_with("⏳"))
        .cloned();
    let started = run
        .events
        .iter()
        .any(|e| matches!(e, AgentEvent::Started { .. }));
    agent::for_kind(kind).machine_problem(&RunFacts {
        exit,
        result,
        stderr,
        worked,
        started,
        last_retry: last_retry.as_deref(),
        employee: &e,
    })
}

#[test]
fn claude_not_logged_in_is_a_machine_problem_with_the_login_fix() {
    let run = replay(
        AgentKind::Claude,
        &fixture("claude-2.1.197-not-logged-in.jsonl"),
        Exit::Code(1),
    );
    assert_eq!(run.garbage, 0);
    let p = classify(AgentKind::Claude, &run, Exit::Code(1), "").unwrap();
    assert_eq!(p.kind, MachineKind::NotLoggedIn);
    assert!(
        p.reason.contains("Not logged in · Please run /login"),
        "{}",
        p.reason
    );
    assert!(p.fix.contains("/login"), "{}", p.fix);
}

#[test]
fn claude_retrying_an_unreachable_api_shows_retries_and_times_out_as_unreachable() {
    let run = replay(
        AgentKind::Claude,
        &fixture("claude-2.1.197-api-unreachable.jsonl"),
        Exit::TimedOut,
    );
    assert!(
        run.lines
            .iter()
            .any(|l| l == "⏳ API unreachable — retry 3 of 10"),
        "{:#?}",
        run.lines
    );
    let p = classify(AgentKind::Claude, &run, Exit::TimedOut, "").unwrap();
    assert_eq!(p.kind, MachineKind::Unreachable, "{p:?}");
    assert!(p.fix.contains("internet connection"));
}

#[test]
fn claude_refusals_name_the_real_reason_not_the_last_stderr_line() {
    let none = Run {
        events: vec![],
        lines: vec![],
        garbage: 0,
    };
    let root = classify(
        AgentKind::Claude,
        &none,
        Exit::Code(1),
        &fixture("claude-2.1.197-root-bypass.stderr"),
    )
    .unwrap();
    assert_eq!(root.kind, MachineKind::Refused);
    assert!(
        root.reason.contains("cannot be used with root/sudo"),
        "{}",
        root.reason
    );
    let budget = classify(
        AgentKind::Claude,
        &none,
        Exit::Code(1),
        &fixture("claude-2.1.197-budget-zero.stderr"),
    )
    .unwrap();
    assert_eq!(budget.kind, MachineKind::CliRejected);
    assert!(
        budget
            .reason
            .contains("--max-budget-usd must be a positive number"),
        "the reason is the error line, not \"Bun v1.4.0\": {}",
        budget.reason
    );
    let flag = classify(
        AgentKind::Claude,
        &none,
        Exit::Code(1),
        &fixture("claude-2.1.197-unknown-option.stderr"),
    )
    .unwrap();
    assert!(
        flag.reason.contains("unknown option '--bogus-flag'"),
        "{}",
        flag.reason
    );
}

#[test]
fn codex_without_network_retries_forever_and_its_timeout_is_unreachable() {
    let run = replay(
        AgentKind::Codex,
        &fixture("codex-0.169.0-offline.jsonl"),
        Exit::TimedOut,
    );
    assert_eq!(run.garbage, 0);
    assert!(
        run.lines.iter().any(
            |l| l.starts_with("⏳ stream disconnected before completion")
                && l.ends_with("retry 2 of 5")
        ),
        "{:#?}",
        run.lines
    );
    let p = classify(
        AgentKind::Codex,
        &run,
        Exit::TimedOut,
        &fixture("codex-0.169.0-offline.stderr"),
    )
    .unwrap();
    assert_eq!(p.kind, MachineKind::Unreachable, "{p:?}");
}

#[test]
fn codex_rejecting_an_argument_is_a_machine_problem() {
    let none = Run {
        events: vec![],
        lines: vec![],
        garbage: 0,
    };
    let p = classify(
        AgentKind::Codex,
        &none,
        Exit::Code(2),
        &fixture("codex-0.169.0-full-auto.stderr"),
    )
    .unwrap();
    assert_eq!(p.kind, MachineKind::CliRejected);
    assert!(
        p.reason.contains("unexpected argument '--full-auto'"),
        "{}",
        p.reason
    );
}

#[test]
fn gemini_exit_codes_are_classified() {
    let none = Run {
        events: vec![],
        lines: vec![],
        garbage: 0,
    };
    let auth = classify(
        AgentKind::Gemini,
        &none,
        Exit::Code(41),
        &fixture("gemini-0.61.0-no-auth.stderr"),
    )
    .unwrap();
    assert_eq!(auth.kind, MachineKind::NotLoggedIn);
    assert!(auth.reason.contains("GEMINI_API_KEY"), "{}", auth.reason);
    assert!(auth.fix.contains("GEMINI_API_KEY"));
    let trust = classify(
        AgentKind::Gemini,
        &none,
        Exit::Code(55),
        &fixture("gemini-0.61.0-untrusted.stderr"),
    )
    .unwrap();
    assert_eq!(trust.kind, MachineKind::Refused);
    assert!(
        trust.reason.contains("not running in a trusted directory"),
        "{}",
        trust.reason
    );
    assert!(
        !trust.reason.contains('\u{1b}'),
        "colour codes are stripped"
    );
    let arg = classify(
        AgentKind::Gemini,
        &none,
        Exit::Code(1),
        &fixture("gemini-0.61.0-unknown-argument.stderr"),
    )
    .unwrap();
    assert_eq!(arg.kind, MachineKind::CliRejected);
    assert!(
        arg.reason.contains("Unknown argument: bogus"),
        "{}",
        arg.reason
    );
}

#[test]
fn gemini_without_network_times_out_as_unreachable() {
    let run = replay(
        AgentKind::Gemini,
        &fixture("gemini-0.61.0-offline.jsonl"),
        Exit::TimedOut,
    );
    assert!(matches!(run.events[0], AgentEvent::Started { .. }));
    let p = classify(AgentKind::Gemini, &run, Exit::TimedOut, "").unwrap();
    assert_eq!(p.kind, MachineKind::Unreachable);
}

#[test]
fn a_real_task_failure_is_not_a_machine_problem() {
    for kind in [AgentKind::Claude, AgentKind::Codex, AgentKind::Gemini] {
        let run = Run {
            events: vec![
                AgentEvent::ToolUse {
                    id: "1".into(),
                    name: "Read".into(),
                    input: serde_json::json!({"file_path": "a.md"}),
                },
                AgentEvent::Result(AgentResult {
                    is_error: true,
                    subtype: "error_max_turns".into(),
                    errors: vec!["Reached maximum number of turns (10)".into()],
                    ..AgentResult::default()
                }),
            ],
            lines: vec![],
            garbage: 0,
        };
        assert_eq!(classify(kind, &run, Exit::Code(1), ""), None, "{kind:?}");
    }
}

/// A script (or a CLI) that crashed because it could not write a file — the OS sandbox
/// refused it — did not refuse its arguments: "update Claude Code" would send a person the
/// wrong way.
#[test]
fn a_file_the_program_could_not_open_is_not_a_refused_argument() {
    let none = Run {
        events: vec![],
        lines: vec![],
        garbage: 0,
    };
    let python = "Traceback (most recent call last):\n  File \"/opt/agent/claude\", line 9, in <module>\n    with open(path, \"a\") as f:\nPermissionError: [Errno 13] Permission denied: '/tmp/.tmpAb12/record.jsonl'\n";
    let node = "node:fs:581\n  return binding.open(\n                 ^\n\nError: EACCES: permission denied, open '/tmp/.tmpAb12/record.jsonl'\n    at Object.openSync (node:fs:581:18)\n";
    let shell =
        "/opt/agent/claude: 3: cannot create /tmp/.tmpAb12/record.jsonl: Permission denied\n";
    for kind in [AgentKind::Claude, AgentKind::Codex, AgentKind::Gemini] {
        for stderr in [python, node, shell] {
            assert_eq!(
                classify(kind, &none, Exit::Code(1), stderr),
                None,
                "{kind:?}: {stderr}"
            );
        }
    }
    // An argument error is still one.
    let flag = classify(
        AgentKind::Claude,
        &none,
        Exit::Code(1),
        &fixture("claude-2.1.197-unknown-option.stderr"),
    )
    .unwrap();
    assert_eq!(flag.kind, MachineKind::CliRejected);
}

/// When the run's output names a path the OS sandbox refused, what looks like a CLI refusing
/// its arguments or configuration is the sandbox's doing; a login or a limit is still the
/// machine's.
#[test]
fn a_sandbox_refusal_is_never_blamed_on_the_cli() {
    let e = employee(AgentKind::Codex);
    let stderr = fixture("codex-0.169.0-full-auto.stderr");
    let facts = RunFacts {
        exit: Exit::Code(2),
        result: None,
        stderr: &stderr,
        worked: false,
        started: false,
        last_retry: None,
        employee: &e,
    };
    let codex = agent::for_kind(AgentKind::Codex);
    assert_eq!(
        agent::machine_problem(codex, &facts, false).map(|p| p.kind),
        Some(MachineKind::CliRejected)
    );
    assert_eq!(agent::machine_problem(codex, &facts, true), None);

    let gemini = agent::for_kind(AgentKind::Gemini);
    let g = employee(AgentKind::Gemini);
    let untrusted = fixture("gemini-0.61.0-untrusted.stderr");
    let refused = RunFacts {
        exit: Exit::Code(55),
        stderr: &untrusted,
        employee: &g,
        ..facts
    };
    assert_eq!(
        agent::machine_problem(gemini, &refused, false).map(|p| p.kind),
        Some(MachineKind::Refused)
    );
    assert_eq!(agent::machine_problem(gemini, &refused, true), None);

    let run = replay(
        AgentKind::Claude,
        &fixture("claude-2.1.197-not-logged-in.jsonl"),
        Exit::Code(1),
    );
    let c = employee(AgentKind::Claude);
    let result = run.events.iter().find_map(|e| match e {
        AgentEvent::Result(r) => Some(r),
        _ => None,
    });
    let login = RunFacts {
        exit: Exit::Code(1),
        result,
        stderr: "",
        worked: false,
        started: true,
        last_retry: None,
        employee: &c,
    };
    assert_eq!(
        agent::machine_problem(agent::for_kind(AgentKind::Claude), &login, true).map(|p| p.kind),
        Some(MachineKind::NotLoggedIn)
    );
}
