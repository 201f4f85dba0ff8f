//! Whole cycles with each agent behind the seam (the fake agent speaking Codex's and
//! Gemini's formats, a plain command), and machine problems: a not-logged-in agent never
//! costs a task an attempt, a label or a comment.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::*;
use delegate_core::config::{AgentKind, SourceKind};
use delegate_core::history::{RunFilter, RunStatus};
use delegate_core::worker::{ProblemKind, WorkerEvent};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// The fake agent under `name` (`claude`, `codex`, `gemini`) in a folder of its own.
fn linked(home: &Home, name: &str) -> PathBuf {
    let bin = home.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join(name);
    if !link.exists() {
        std::os::unix::fs::symlink(fake_claude(), &link).unwrap();
    }
    link
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_and_gemini_employees_work_end_to_end() {
    for (kind, name, model) in [
        (AgentKind::Codex, "codex", None),
        (AgentKind::Gemini, "gemini", Some("gemini-2.5-pro")),
    ] {
        // Gemini's login is its environment: the run goes through the `delegate` binary with
        // GEMINI_API_KEY set for that process only.
        let (server, project) = server_with_project("Writer").await;
        let task = server.add_task(&project, "Write a post about tray apps", "Short.");
        let home = Home::new(Some(&server.url));
        let mut e = home.employee("Writer", SourceKind::Todoist, Some("Writer"));
        e.agent = kind;
        e.command = Some(linked(&home, name).display().to_string());
        e.max_task_usd = None;
        home.add(&e);
        let runs: Vec<(i64, RunStatus)> = if kind == AgentKind::Gemini {
            let paths = home.paths.clone();
            let out = tokio::task::spawn_blocking(move || {
                std::process::Command::new(delegate_testkit::sibling_binary("delegate"))
                    .arg("--home")
                    .arg(paths.config_file.parent().unwrap())
                    .arg("run")
                    .env("TODOIST_API_TOKEN", TOKEN)
                    .env("GEMINI_API_KEY", "test-key")
                    .env_remove("DELEGATE_HOME")
                    .output()
                    .unwrap()
            })
            .await
            .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
            let engine = home.engine();
            engine
                .history()
                .list(&RunFilter::default())
                .unwrap()
                .iter()
                .map(|r| (r.id, r.status))
                .collect()
        } else {
            let engine = home.engine();
            let r = engine
                .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
                .await;
            r[0].1.as_ref().unwrap().runs.clone()
        };
        let engine = home.engine();
        assert_eq!(runs.len(), 1, "{name}: {runs:?}");
        assert_eq!(runs[0].1, RunStatus::Succeeded, "{name}");
        assert_eq!(server.task(&task).labels, ["agent-done"], "{name}");
        let c = server.comments(&task);
        assert!(
            c[1].starts_with("Done. Ready for review.\n\nWrote the draft to drafts/write-a-post-about-tray-apps.md."),
            "{name}: {}",
            c[1]
        );
        let d = engine.history().get(runs[0].0).unwrap();
        assert_eq!(d.tokens_out, Some(520), "{name}");
        assert_eq!(
            d.run.cost_usd, None,
            "{name}: no cost reported is unknown, not 0"
        );
        assert_eq!(d.drafts.len(), 1, "{name}: {:?}", d.drafts);
        let draft = read(&e.workspace.join(&d.drafts[0].path));
        assert!(
            draft.contains("Write a post about tray apps\n\nShort."),
            "{name}: {draft}"
        );
        let lines = lines(&d);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("✍️ Writing drafts/write-a-post")),
            "{name}: {lines:?}"
        );
        assert_eq!(lines.last().unwrap(), "✅ Done", "{name}");
        if let Some(m) = model {
            assert!(
                lines.iter().any(|l| l.starts_with("🚀") && l.contains(m)),
                "{lines:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_codex_run_is_the_tasks_failure() {
    for (kind, name) in [(AgentKind::Codex, "codex")] {
        let (server, project) = server_with_project("W").await;
        let task = server.add_task(&project, "Break [fail]", "");
        let home = Home::new(Some(&server.url));
        let mut e = home.employee("W", SourceKind::Todoist, Some("W"));
        e.agent = kind;
        e.command = Some(linked(&home, name).display().to_string());
        home.add(&e);
        let engine = home.engine();
        let r = engine
            .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
            .await;
        let (id, status) = r[0].1.as_ref().unwrap().runs[0];
        assert_eq!(status, RunStatus::Failed, "{name}");
        assert_eq!(server.task(&task).labels, ["agent-retry-1"], "{name}");
        let d = engine.history().get(id).unwrap();
        assert!(
            d.run.summary.is_none(),
            "{name}: a failed run has an error, not a summary"
        );
        let err = d.run.error.unwrap();
        assert!(
            err.contains("invalid tool call") || err.contains("max session turns"),
            "{name}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_command_can_be_an_employee() {
    let home = Home::new(None);
    let mut e = home.employee("Echo", SourceKind::Local, None);
    e.agent = AgentKind::Command;
    e.command = Some("cat".into());
    home.add(&e);
    let mut f = home.employee("Refuses", SourceKind::Local, None);
    f.agent = AgentKind::Command;
    f.command = Some("false".into());
    home.add(&f);
    let engine = home.engine();
    let ok = engine
        .queue()
        .add_task("Echo", "Summarise the week", "Three bullets", 1)
        .unwrap();
    engine
        .queue()
        .add_task("Refuses", "Anything", "", 1)
        .unwrap();
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    let echo = engine
        .history()
        .get(r[0].1.as_ref().unwrap().runs[0].0)
        .unwrap();
    assert_eq!(echo.run.status, RunStatus::Succeeded);
    assert_eq!(
        echo.run.summary.as_deref(),
        Some("Summarise the week\n\nThree bullets"),
        "the prompt went on stdin, stdout is the summary"
    );
    let comments = engine.queue().comments(&ok).unwrap();
    assert!(comments[1].content.contains("Three bullets"));
    let refused = engine
        .history()
        .get(r[1].1.as_ref().unwrap().runs[0].0)
        .unwrap();
    assert_eq!(refused.run.status, RunStatus::Failed);
    assert!(
        refused.run.error.unwrap().contains("exited with code 1"),
        "the exit code decides"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_out_agent_never_touches_the_task_and_recovers_by_itself() {
    let (server, project) = server_with_project("Writer").await;
    let task = server.add_task(&project, "Write it", "");
    let home = Home::new(Some(&server.url));
    let claude = linked(&home, "claude");
    let marker = PathBuf::from(format!("{}.logged-out", claude.display()));
    std::fs::write(&marker, "").unwrap();
    let mut e = home.employee("Writer", SourceKind::Todoist, Some("Writer"));
    e.command = Some(claude.display().to_string());
    home.add(&e);
    let engine = home.engine();
    let mut events = engine.subscribe();
    let all = engine.select(&[]).unwrap();
    for _ in 0..3 {
        let r = engine.run_once(&all, &CancellationToken::new()).await;
        let report = r[0].1.as_ref().unwrap();
        assert!(report.runs.is_empty());
        let why = report.blocked.as_deref().unwrap();
        assert!(
            why.contains("not logged in") && why.contains("/login"),
            "{why}"
        );
    }
    assert!(server.task(&task).labels.is_empty());
    assert!(server.comments(&task).is_empty());
    assert!(
        server.requests().iter().all(|r| r.commands().is_empty()),
        "nothing was written to Todoist"
    );
    let mut told = 0;
    while let Ok(ev) = events.try_recv() {
        if let WorkerEvent::Problem {
            kind: ProblemKind::AgentNotReady,
            message,
            ..
        } = ev
        {
            assert!(message.contains("/login"), "{message}");
            told += 1;
        }
    }
    assert!(told >= 3, "the tray hears about it at every cycle");

    // Logged in again: "Run now" re-checks at once and the task is worked.
    std::fs::remove_file(&marker).unwrap();
    engine.run_now();
    let r = engine.run_once(&all, &CancellationToken::new()).await;
    assert_eq!(r[0].1.as_ref().unwrap().runs[0].1, RunStatus::Succeeded);
    assert_eq!(server.task(&task).labels, ["agent-done"]);
    let c = server.comments(&task);
    assert!(
        c[0].contains("(attempt 1 of 3)"),
        "no attempt was spent: {c:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_that_expires_mid_run_releases_the_claim_without_a_trace() {
    let (server, project) = server_with_project("Writer").await;
    let task = server.add_task(&project, "Write it [not-logged-in]", "");
    let home = Home::new(Some(&server.url));
    let mut e = home.employee("Writer", SourceKind::Todoist, Some("Writer"));
    e.command = Some(linked(&home, "claude").display().to_string());
    home.add(&e);
    let engine = home.engine();
    let all = engine.select(&[]).unwrap();
    let r = engine.run_once(&all, &CancellationToken::new()).await;
    let report = r[0].1.as_ref().unwrap();
    assert_eq!(report.runs[0].1, RunStatus::Blocked);
    assert!(
        report
            .blocked
            .as_deref()
            .unwrap()
            .contains("Not logged in · Please run /login")
    );
    let t = server.task(&task);
    assert!(
        t.labels.is_empty(),
        "no retry or failed label, not left claimed: {:?}",
        t.labels
    );
    assert!(
        server.comments(&task).is_empty(),
        "the claim comment is gone: {:?}",
        server.comments(&task)
    );
    let d = engine.history().get(report.runs[0].0).unwrap();
    assert!(
        d.run.error.unwrap().contains("claude` in a terminal"),
        "the fix is on record"
    );
    // Waiting for the re-check: the next cycles leave the task alone.
    let again = engine.run_once(&all, &CancellationToken::new()).await;
    assert!(again[0].1.as_ref().unwrap().runs.is_empty());
    let runs = engine.history().list(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 1);
}

/// One cycle of every employee: in this process, or (Gemini, whose login is its
/// environment) through the `delegate` binary with GEMINI_API_KEY set for it alone. The runs
/// it made, oldest first.
async fn cycle(home: &Home, kind: AgentKind) -> Vec<(i64, RunStatus)> {
    if kind != AgentKind::Gemini {
        let engine = home.engine();
        let r = engine
            .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
            .await;
        return r[0].1.as_ref().unwrap().runs.clone();
    }
    let before: Vec<i64> = home
        .engine()
        .history()
        .list(&RunFilter::default())
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let paths = home.paths.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(delegate_testkit::sibling_binary("delegate"))
            .arg("--home")
            .arg(paths.config_file.parent().unwrap())
            .arg("run")
            .env("TODOIST_API_TOKEN", TOKEN)
            .env("GEMINI_API_KEY", "test-key")
            .env_remove("DELEGATE_HOME")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut runs: Vec<(i64, RunStatus)> = home
        .engine()
        .history()
        .list(&RunFilter::default())
        .unwrap()
        .iter()
        .filter(|r| !before.contains(&r.id))
        .map(|r| (r.id, r.status))
        .collect();
    runs.reverse();
    runs
}

/// Codex and Gemini in conversation: the question comes through Codex's structured output
/// (`--output-schema`) and through the json block at the end of Gemini's text; the answer on
/// the task continues the same session with each CLI's own form (`codex exec resume … --
/// <id> <answer>`, `gemini … --resume <id>`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_and_gemini_ask_and_continue_their_sessions() {
    for (kind, name) in [(AgentKind::Codex, "codex"), (AgentKind::Gemini, "gemini")] {
        let (server, project) = server_with_project("Writer").await;
        let task = server.add_task(&project, "Write a post about answers [ask]", "");
        let home = Home::new(Some(&server.url));
        let mut e = home.employee("Writer", SourceKind::Todoist, Some("Writer"));
        e.agent = kind;
        e.command = Some(linked(&home, name).display().to_string());
        e.max_task_usd = None;
        home.add(&e);

        let runs = cycle(&home, kind).await;
        assert_eq!(runs.len(), 1, "{name}: {runs:?}");
        assert_eq!(runs[0].1, RunStatus::NeedsInput, "{name}");
        let engine = home.engine();
        let asked = engine.history().get(runs[0].0).unwrap();
        assert_eq!(asked.questions.len(), 2, "{name}: {:?}", asked.questions);
        let session = asked.session_id.clone().unwrap();
        if kind == AgentKind::Codex {
            let at = asked
                .command
                .iter()
                .position(|a| a == "--output-schema")
                .unwrap();
            let schema = std::fs::read_to_string(&asked.command[at + 1]).unwrap();
            assert_eq!(schema, delegate_core::agent::report::SCHEMA);
        }
        assert_eq!(server.task(&task).labels, ["agent-needs-input"], "{name}");

        server.add_comment(&task, "Quote Ada. No price.");
        let runs = cycle(&home, kind).await;
        assert_eq!(runs.len(), 1, "{name}: {runs:?}");
        assert_eq!(runs[0].1, RunStatus::Succeeded, "{name}");
        let d = engine.history().get(runs[0].0).unwrap();
        assert_eq!(
            d.resumed_session.as_deref(),
            Some(session.as_str()),
            "{name}"
        );
        let argv = &d.command;
        match kind {
            AgentKind::Codex => {
                assert_eq!(&argv[1..3], ["exec", "resume"], "{argv:?}");
                assert!(!argv.iter().any(|a| a == "-C" || a == "-s"), "{argv:?}");
                let dash = argv.iter().position(|a| a == "--").unwrap();
                assert_eq!(argv[dash + 1], session);
                assert!(argv[dash + 2].contains("Quote Ada. No price."), "{argv:?}");
            }
            _ => {
                let at = argv.iter().position(|a| a == "--resume").unwrap();
                assert_eq!(argv[at + 1], session, "{argv:?}");
            }
        }
        assert_eq!(server.task(&task).labels, ["agent-done"], "{name}");
        let done = server.comments(&task).last().unwrap().clone();
        assert!(
            done.starts_with("Done. Ready for review.\n\nRevised"),
            "{name}: {done}"
        );
    }
}
