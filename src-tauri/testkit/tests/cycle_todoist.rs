//! Whole worker cycles against the fake Todoist server and the fake agent CLI.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::*;
use delegate_core::config::SourceKind;
use delegate_core::history::{RunFilter, RunStatus};
use delegate_core::worker::WorkerEvent;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_is_claimed_worked_and_left_for_review() {
    let (server, project) = server_with_project("LinkedIn Writer").await;
    let task = server.add_task(
        &project,
        "Write a LinkedIn post about background agents",
        "Keep it under 200 words.",
    );
    let home = Home::new(Some(&server.url));
    let e = home.employee(
        "LinkedIn Writer",
        SourceKind::Todoist,
        Some("linkedin writer"),
    );
    home.add(&e);
    let engine = home.engine();
    let mut events = engine.subscribe();

    let results = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    let report = results[0].1.as_ref().unwrap();
    assert_eq!(report.runs.len(), 1);
    assert_eq!(report.runs[0].1, RunStatus::Succeeded);

    // Labels and comments on the task.
    let t = server.task(&task);
    assert_eq!(t.labels, ["agent-done"]);
    assert!(!t.checked, "the task stays open for review");
    let comments = server.comments(&task);
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert!(
        comments[0].starts_with("Working on it… (attempt 1 of 3) on "),
        "{}",
        comments[0]
    );
    assert!(
        comments[1].starts_with("Done. Ready for review.\n\nWrote the draft"),
        "{}",
        comments[1]
    );
    assert!(
        comments[1].contains("- `drafts/write-a-linkedin-post-about-background.md`"),
        "{}",
        comments[1]
    );
    // The draft itself, to read where the task is (a phone).
    let draft = read(
        &e.workspace
            .join("drafts/write-a-linkedin-post-about-background.md"),
    );
    assert!(
        comments[1].ends_with(&format!(
            "---\n📄 `drafts/write-a-linkedin-post-about-background.md`\n\n{}",
            draft.trim_end()
        )),
        "{}",
        comments[1]
    );

    // What the server received: bearer auth, and four requests in all, each a /sync batch:
    // the poll, the claim (a comment only: labels from a view that may be old are never
    // written), the read that settles the claim, and the finish (labels + done comment).
    let reqs = server.requests();
    assert!(reqs.iter().all(|r| r.authorized));
    assert!(reqs.iter().all(|r| r.path == "/api/v1/sync"), "{reqs:#?}");
    let kinds: Vec<Vec<String>> = reqs.iter().map(|r| r.command_types()).collect();
    assert_eq!(
        kinds,
        [
            vec![],
            vec!["note_add".to_string()],
            vec![],
            vec!["item_update".to_string(), "note_add".to_string()],
        ]
    );
    assert_eq!(
        reqs[3].commands()[0]["args"]["labels"],
        serde_json::json!(["agent-done"])
    );
    assert!(
        reqs[1].body.contains("\"sync_token\":\"st_"),
        "the claim carries the sync token, so its answer shows other claims"
    );

    // History: the run, its progress and its draft.
    let runs = engine.history().list(&RunFilter::default()).unwrap();
    let d = engine.history().get(runs[0].id).unwrap();
    assert_eq!(d.run.status, RunStatus::Succeeded);
    assert_eq!(d.run.cost_usd, Some(0.0421));
    assert_eq!(d.tokens_out, Some(602));
    assert_eq!(d.turns, Some(4));
    assert_eq!(d.run.task_id, task);
    assert_eq!(
        d.task_url.as_deref(),
        Some(format!("https://app.todoist.com/app/task/{task}").as_str())
    );
    let l = lines(&d);
    assert!(
        l.contains(&"📖 Reading skill: .claude/skills/linkedin-post/SKILL.md".to_string()),
        "{l:?}"
    );
    assert!(
        l.contains(&"✍️ Writing drafts/write-a-linkedin-post-about-background.md".to_string()),
        "{l:?}"
    );
    assert_eq!(l.last().unwrap(), "✅ Done");
    assert_eq!(d.drafts.len(), 1);
    assert!(d.drafts[0].inside_workspace);
    let draft = read(&e.workspace.join(&d.drafts[0].path));
    assert!(
        draft.contains("Write a LinkedIn post about background agents\n\nKeep it under 200 words."),
        "{draft}"
    );
    assert_eq!(d.command[0], delegate_core::agent::command_of(&e));

    // Events for the tray and UI.
    let mut kinds = Vec::new();
    while let Ok(ev) = events.try_recv() {
        kinds.push(match ev {
            WorkerEvent::Polled { .. } => "polled",
            WorkerEvent::RunStarted { .. } => "started",
            WorkerEvent::Progress { .. } => "progress",
            WorkerEvent::RunFinished { .. } => "finished",
            _ => "other",
        });
    }
    kinds.dedup();
    assert_eq!(kinds, ["polled", "started", "progress", "finished"]);

    // A second cycle finds nothing to do and costs one incremental sync.
    server.clear_requests();
    let results = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    assert!(results[0].1.as_ref().unwrap().runs.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_then_given_up() {
    let (server, project) = server_with_project("Research").await;
    let task = server.add_task(&project, "Summarise the market [fail]", "");
    let home = Home::new(Some(&server.url));
    let mut e = home.employee("Research", SourceKind::Todoist, Some("Research"));
    e.max_attempts = 2;
    home.add(&e);
    let engine = home.engine();
    let all = engine.select(&[]).unwrap();

    let r1 = engine.run_once(&all, &CancellationToken::new()).await;
    assert_eq!(r1[0].1.as_ref().unwrap().runs[0].1, RunStatus::Failed);
    assert_eq!(server.task(&task).labels, ["agent-retry-1"]);
    let c = server.comments(&task);
    assert!(c[1].starts_with("Failed (attempt 1 of 2). Will retry.\n\nReason: the agent reached its turn limit: Reached maximum number of turns (10)"), "{}", c[1]);
    assert!(
        c[1].contains("fake-claude: simulated failure"),
        "stderr tail: {}",
        c[1]
    );

    let r2 = engine.run_once(&all, &CancellationToken::new()).await;
    assert_eq!(r2[0].1.as_ref().unwrap().runs[0].1, RunStatus::Failed);
    assert_eq!(server.task(&task).labels, ["agent-failed"]);
    let c = server.comments(&task);
    assert!(
        c[2].starts_with("Working on it… (attempt 2 of 2)"),
        "{}",
        c[2]
    );
    assert!(
        c[3].starts_with("Failed after 2 attempts. Giving up."),
        "{}",
        c[3]
    );

    // Given up: never picked again.
    let r3 = engine.run_once(&all, &CancellationToken::new()).await;
    assert!(r3[0].1.as_ref().unwrap().runs.is_empty());
    let runs = engine.history().list(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!((runs[0].attempt, runs[1].attempt), (2, 1));
    let d = engine.history().get(runs[0].id).unwrap();
    assert_eq!(d.permission_denials.len(), 1);
    assert_eq!(d.exit_code, Some(1));
}

/// A draft longer than a Todoist comment takes (15,000 characters; the fake refuses more, as
/// Todoist's SDK declares) is cut at a line with where the rest is; with `deliver_drafts =
/// "path"` only its path is given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_are_delivered_in_the_comment_within_its_limit() {
    let (server, project) = server_with_project("Writer").await;
    let long = server.add_task(&project, "Write the whitepaper [long-draft]", "");
    let home = Home::new(Some(&server.url));
    let e = home.employee("Writer", SourceKind::Todoist, Some("Writer"));
    home.add(&e);
    let engine = home.engine();
    let all = engine.select(&[]).unwrap();
    let r = engine.run_once(&all, &CancellationToken::new()).await;
    assert_eq!(r[0].1.as_ref().unwrap().runs[0].1, RunStatus::Succeeded);
    assert_eq!(server.task(&long).labels, ["agent-done"]);
    let done = server.comments(&long).pop().unwrap();
    assert!(done.chars().count() <= 15_000, "{}", done.chars().count());
    assert!(done.contains(
        "📄 `drafts/write-the-whitepaper-long-draft.md`\n\n# Draft: Write the whitepaper"
    ));
    assert!(done.contains("Paragraph 001 of a long draft, written to be read.\n"));
    assert!(!done.contains("Paragraph 800"));
    // Too long for a Todoist comment: attached whole as a file, its first lines shown.
    let note = done.lines().last().unwrap();
    assert!(
        note.starts_with("… ")
            && note.ends_with(
                "more lines — the whole draft is attached as `write-the-whitepaper-long-draft.md`."
            ),
        "{note}"
    );
    let comment = server
        .all_comments(&long)
        .into_iter()
        .rfind(|c| c.content.starts_with("Done."))
        .unwrap();
    let attachment = comment
        .file_attachment
        .expect("the end comment carries the file");
    let url = attachment["file_url"].as_str().unwrap();
    let upload = server.uploaded(url).expect("the server keeps the upload");
    let draft = read(
        &e.workspace
            .join("drafts/write-the-whitepaper-long-draft.md"),
    );
    assert_eq!(
        String::from_utf8(upload.bytes).unwrap(),
        draft,
        "the whole draft"
    );
    assert_eq!(upload.mime, "text/markdown");
    assert_eq!(
        attachment["file_name"],
        "write-the-whitepaper-long-draft.md"
    );
    assert_eq!(attachment["file_size"], draft.len());

    // Every draft attached.
    let mut attach = e.clone();
    attach.deliver_drafts = delegate_core::config::DeliverDrafts::Attach;
    delegate_core::employees::save(&home.paths.config_file, Some("Writer"), &attach, None).unwrap();
    let poem = server.add_task(&project, "Write a limerick", "");
    let engine = home.engine();
    engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    let done = server
        .all_comments(&poem)
        .into_iter()
        .rfind(|c| c.content.starts_with("Done."))
        .unwrap();
    assert!(
        done.content
            .ends_with("📎 Also attached as `write-a-limerick.md`."),
        "{}",
        done.content
    );
    assert!(done.file_attachment.is_some());

    // Only the path.
    let mut e = e;
    e.deliver_drafts = delegate_core::config::DeliverDrafts::Path;
    delegate_core::employees::save(&home.paths.config_file, Some("Writer"), &e, None).unwrap();
    let short = server.add_task(&project, "Write a haiku", "");
    let engine = home.engine();
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    assert_eq!(r[0].1.as_ref().unwrap().runs[0].1, RunStatus::Succeeded);
    let done = server.comments(&short).pop().unwrap();
    assert!(done.contains("- `drafts/write-a-haiku.md`"), "{done}");
    assert!(!done.contains("📄"), "{done}");
}

/// Files the person attached to the task's comments are brought into the workspace for the
/// agent, under `inputs/<task>/`, named safely and capped: a hostile name writes nothing
/// outside it, a file declaring 2 GB is left out (and said so), and the prompt lists them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_on_the_task_are_brought_in_safely_and_capped() {
    let (server, project) = server_with_project("Writer").await;
    let task = server.add_task(&project, "Post about our figures", "");
    server.add_comment_with_file(&task, "The figures", "../../.bashrc", b"revenue,42\n", None);
    server.add_comment_with_file(
        &task,
        "And the raw dump",
        "dump.bin",
        b"tiny",
        Some(2 << 30),
    );
    let home = Home::new(Some(&server.url));
    let e = home.employee("Writer", SourceKind::Todoist, Some("Writer"));
    home.add(&e);
    let engine = home.engine();
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    let run = r[0].1.as_ref().unwrap().runs[0];
    assert_eq!(run.1, RunStatus::Succeeded);
    let folder = e.workspace.join("inputs").join(&task);
    assert_eq!(read(&folder.join("bashrc")), "revenue,42\n");
    assert!(
        !folder.join("dump.bin").exists(),
        "the 2 GB file is left out"
    );
    assert!(!home.dir.path().join(".bashrc").exists());
    assert!(!e.workspace.join(".bashrc").exists());
    let names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["bashrc"]);
    let d = engine.history().get(run.0).unwrap();
    let lines = lines(&d);
    assert!(
        lines.iter().any(|l| l.contains(&format!(
            "The file inputs/{task}/bashrc (11 B) from the task is in the workspace"
        ))),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Left out dump.bin: 2.0 GB declared, over the 20.0 MB cap")),
        "{lines:?}"
    );
    let draft = read(&e.workspace.join("drafts/post-about-our-figures.md"));
    assert!(
        draft.contains(&format!("- `inputs/{task}/bashrc` (11 B)")),
        "{draft}"
    );
    assert!(
        draft.contains("- dump.bin: not brought in (2.0 GB declared"),
        "{draft}"
    );
}

/// A retry's prompt says why the previous attempt failed (read from the task's "Failed"
/// comment, so it works whichever machine retries): the fake agent fails until it is told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_is_told_why_the_last_attempt_failed() {
    let (server, project) = server_with_project("Research").await;
    let task = server.add_task(&project, "Summarise the market [fail-once]", "");
    let home = Home::new(Some(&server.url));
    let mut e = home.employee("Research", SourceKind::Todoist, Some("Research"));
    e.max_attempts = 2;
    home.add(&e);
    let engine = home.engine();
    let all = engine.select(&[]).unwrap();
    let r1 = engine.run_once(&all, &CancellationToken::new()).await;
    assert_eq!(r1[0].1.as_ref().unwrap().runs[0].1, RunStatus::Failed);
    let r2 = engine.run_once(&all, &CancellationToken::new()).await;
    assert_eq!(r2[0].1.as_ref().unwrap().runs[0].1, RunStatus::Succeeded);
    assert_eq!(server.task(&task).labels, ["agent-done"]);
    let draft = read(&e.workspace.join("drafts/summarise-the-market-fail-once.md"));
    assert!(
        draft.contains("Your previous attempt at this task failed: the agent reached its turn limit: Reached maximum number of turns (10)"),
        "{draft}"
    );
    assert!(
        !draft.contains("fake-claude: simulated failure"),
        "the reason, not the error output: {draft}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_waits_for_its_backoff() {
    let (server, project) = server_with_project("Research").await;
    let task = server.add_task(&project, "Try again later [fail]", "");
    let home = Home::new(Some(&server.url));
    let mut e = home.employee("Research", SourceKind::Todoist, Some("Research"));
    e.retry_backoff_secs = 3600;
    home.add(&e);
    let engine = home.engine();
    let all = engine.select(&[]).unwrap();
    engine.run_once(&all, &CancellationToken::new()).await;
    assert_eq!(server.task(&task).labels, ["agent-retry-1"]);
    let again = engine.run_once(&all, &CancellationToken::new()).await;
    let report = again[0].1.as_ref().unwrap();
    assert!(report.runs.is_empty(), "still backing off");
    assert_eq!(report.waiting.len(), 1);
    assert!(
        report.waiting[0].starts_with("“Try again later [fail]” retries after "),
        "a skipped task says why and until when: {:?}",
        report.waiting
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_agent_is_stopped_with_everything_it_started() {
    let (server, project) = server_with_project("Slow").await;
    let task = server.add_task(&project, "Think forever [hang]", "");
    let home = Home::new(Some(&server.url));
    let mut e = home.employee("Slow", SourceKind::Todoist, Some("Slow"));
    e.timeout_secs = 2;
    home.add(&e);
    let engine = home.engine();
    let running = hang_pids(e.workspace.clone());
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    assert_eq!(r[0].1.as_ref().unwrap().runs[0].1, RunStatus::TimedOut);

    let pids = running.await.unwrap();
    assert_eq!(pids.len(), 2, "agent and grandchild pids");
    // The grandchild may take a moment to be reaped by init after SIGKILL.
    for _ in 0..50 {
        if pids.iter().all(|p| !alive(*p)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for p in &pids {
        assert!(!alive(*p), "process {p} survived the timeout");
    }
    assert_eq!(server.task(&task).labels, ["agent-retry-1"]);
    let c = server.comments(&task);
    assert!(c[1].contains("timed out after 2 s"), "{}", c[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_crashes_fail_with_a_clear_reason() {
    let (server, project) = server_with_project("Odd").await;
    let garbage = server.add_task_with(&project, "Print junk [garbage]", "", 4, None, &[]);
    let crash = server.add_task(&project, "Fall over [crash]", "");
    let home = Home::new(Some(&server.url));
    home.add(&home.employee("Odd", SourceKind::Todoist, Some("Odd")));
    let engine = home.engine();
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    let runs = &r[0].1.as_ref().unwrap().runs;
    assert_eq!(runs.len(), 2, "both tasks are tried in one cycle");
    let first = engine.history().get(runs[0].0).unwrap();
    assert_eq!(first.run.task_id, garbage, "priority 4 first");
    assert_eq!(
        first.run.error.as_deref(),
        Some("agent ended without a result (3 output lines were not valid stream JSON)")
    );
    let second = engine.history().get(runs[1].0).unwrap();
    let err = second.run.error.unwrap();
    assert!(
        err.starts_with("the agent exited with code 2 without a result"),
        "{err}"
    );
    assert!(second.stderr_tail.unwrap().contains("something broke"));
    assert_eq!(server.task(&crash).labels, ["agent-retry-1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_labels_and_claims_are_respected() {
    let (server, project) = server_with_project("Writer").await;
    let done = server.add_task_with(&project, "Done already", "", 1, None, &["agent-done"]);
    let failed = server.add_task_with(&project, "Gave up", "", 1, None, &["agent-failed"]);
    let claimed = server.add_task_with(
        &project,
        "Someone else has it",
        "",
        1,
        None,
        &["agent-working"],
    );
    server.add_comment(
        &claimed,
        "Working on it… (attempt 1 of 3) on elsewhere\n\nclaim c0ffee · lease 600 s",
    );
    let stale = server.add_task_with(
        &project,
        "Dead machine had it",
        "",
        1,
        None,
        &["agent-working", "mine"],
    );
    server.add_comment(
        &stale,
        "Working on it… (attempt 1 of 3) on dead-box\n\nclaim deadbeef · lease 600 s",
    );
    server.age_comments(&stale, 3600);
    let later = server.add_task_with(&project, "Not yet", "", 1, Some("2999-01-01"), &[]);
    let home = Home::new(Some(&server.url));
    let mut e = home.employee("Writer", SourceKind::Todoist, Some("Writer"));
    e.hold_until_due = true;
    home.add(&e);
    let engine = home.engine();
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    let runs = &r[0].1.as_ref().unwrap().runs;
    assert_eq!(runs.len(), 1);
    assert_eq!(engine.history().get(runs[0].0).unwrap().run.task_id, stale);
    assert_eq!(server.task(&stale).labels, ["mine", "agent-done"]);
    for (id, labels, comments) in [
        (done, vec!["agent-done"], 0),
        (failed, vec!["agent-failed"], 0),
        (claimed, vec!["agent-working"], 1),
        (later, vec![], 0),
    ] {
        assert_eq!(server.task(&id).labels, labels);
        assert_eq!(server.comments(&id).len(), comments);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sync_serves_every_employee_of_the_account() {
    let server = delegate_testkit::FakeTodoist::start(TOKEN).await;
    let home = Home::new(Some(&server.url));
    for name in ["A", "B", "C"] {
        let p = server.add_project(name);
        server.add_task(&p, &format!("Task for {name}"), "");
        home.add(&home.employee(name, SourceKind::Todoist, Some(name)));
    }
    let engine = home.engine();
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    for (name, res) in &r {
        assert_eq!(res.as_ref().unwrap().runs.len(), 1, "{name}");
    }
    // Before the first claim: one read for all three (the settling reads come after).
    let polls = server
        .requests()
        .iter()
        .take_while(|r| r.commands().is_empty())
        .count();
    assert_eq!(polls, 1, "three employees, one sync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_or_a_missing_cli_stops_only_that_employee() {
    let (server, project) = server_with_project("Online").await;
    let task = server.add_task(&project, "Needs the API", "");
    let home = Home::new(Some(&server.url));
    let mut broken = home.employee("Broken", SourceKind::Todoist, Some("Online"));
    broken.command = Some("/nonexistent/claude".into());
    home.add(&broken);
    home.add(&home.employee("Local", SourceKind::Local, None));
    let engine = home.engine();
    engine
        .queue()
        .add_task("Local", "Works offline", "", 1)
        .unwrap();
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    let err = r[0].1.as_ref().unwrap_err().to_string();
    assert!(
        err.contains("agent CLI \"/nonexistent/claude\" not found"),
        "{err}"
    );
    assert!(
        server.task(&task).labels.is_empty(),
        "no attempt burnt on a missing CLI"
    );
    assert_eq!(r[1].1.as_ref().unwrap().runs[0].1, RunStatus::Succeeded);

    // Todoist down (5xx on every retry): a clear error, and the local employee still works.
    let home2 = Home::new(Some(&server.url));
    home2.add(&home2.employee("Online", SourceKind::Todoist, Some("Online")));
    home2.add(&home2.employee("Local", SourceKind::Local, None));
    let engine2 = home2.engine();
    engine2
        .queue()
        .add_task("Local", "Still works", "", 1)
        .unwrap();
    server.fail_next(503, 5);
    let r = engine2
        .run_once(&engine2.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    let err = r[0].1.as_ref().unwrap_err().to_string();
    assert!(err.contains("HTTP 503"), "{err}");
    assert_eq!(r[1].1.as_ref().unwrap().runs[0].1, RunStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_waited_out() {
    let (server, project) = server_with_project("P").await;
    server.add_task(&project, "Go", "");
    let home = Home::new(Some(&server.url));
    home.add(&home.employee("P", SourceKind::Todoist, Some("P")));
    let engine = home.engine();
    server.fail_next(429, 2);
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    assert_eq!(r[0].1.as_ref().unwrap().runs[0].1, RunStatus::Succeeded);
    let polls = server
        .requests()
        .iter()
        .take_while(|r| r.commands().is_empty())
        .count();
    assert_eq!(polls, 3, "two 429s, then success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_budget_stops_new_dispatches() {
    let (server, project) = server_with_project("P").await;
    let first = server.add_task_with(&project, "First", "", 4, None, &[]);
    let second = server.add_task(&project, "Second", "");
    let home = Home::new(Some(&server.url));
    let mut e = home.employee("P", SourceKind::Todoist, Some("P"));
    e.daily_usd = Some(0.04);
    home.add(&e);
    let engine = home.engine();
    let mut events = engine.subscribe();
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    let report = r[0].1.as_ref().unwrap();
    assert_eq!(report.runs.len(), 1);
    assert!(report.budget_reached);
    assert_eq!(server.task(&first).labels, ["agent-done"]);
    assert!(server.task(&second).labels.is_empty());
    let mut told = 0;
    while let Ok(ev) = events.try_recv() {
        if let WorkerEvent::BudgetReached {
            limit_usd,
            spent_usd,
            ..
        } = ev
        {
            assert_eq!((limit_usd, spent_usd), (0.04, 0.0421));
            told += 1;
        }
    }
    assert_eq!(told, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requested_changes_reach_the_next_prompt() {
    let (server, project) = server_with_project("Writer").await;
    let task = server.add_task(&project, "Post about delegation", "");
    let home = Home::new(Some(&server.url));
    let e = home.employee("Writer", SourceKind::Todoist, Some("Writer"));
    home.add(&e);
    let engine = home.engine();
    let all = engine.select(&[]).unwrap();
    engine.run_once(&all, &CancellationToken::new()).await;
    assert_eq!(server.task(&task).labels, ["agent-done"]);

    // The reviewer asks for changes in Todoist.
    server.add_comment(&task, "Make it shorter and drop the emoji");
    server.set_labels(&task, &[]);
    let r = engine.run_once(&all, &CancellationToken::new()).await;
    assert_eq!(r[0].1.as_ref().unwrap().runs.len(), 1);
    let draft = read(&e.workspace.join("drafts/post-about-delegation.md"));
    assert!(
        draft.contains("asks for changes:\n\nMake it shorter and drop the emoji"),
        "{draft}"
    );
}

/// The conversation from the task alone (a phone): the agent asks, the person answers in a
/// comment, the same agent session goes on with the answer and delivers the draft in the
/// task; then two rounds of feedback, each a comment, each continuing that session. One
/// attempt throughout; the costs add up per task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_is_answered_on_the_task_and_the_same_session_goes_on() {
    let (server, project) = server_with_project("Writer").await;
    let task = server.add_task(&project, "Post about our launch [ask]", "");
    let home = Home::new(Some(&server.url));
    let e = home.employee("Writer", SourceKind::Todoist, Some("Writer"));
    home.add(&e);
    let engine = home.engine();
    let all = engine.select(&[]).unwrap();
    let mut events = engine.subscribe();
    macro_rules! run {
        () => {
            engine.run_once(&all, &CancellationToken::new()).await[0]
                .1
                .as_ref()
                .unwrap()
                .runs
                .clone()
        };
    }

    // The agent asks: the task says so, with the questions, and waits.
    let runs = run!();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].1, RunStatus::NeedsInput);
    let asked = engine.history().get(runs[0].0).unwrap();
    let session = asked.session_id.clone().unwrap();
    assert_eq!(asked.questions.len(), 2, "{:?}", asked.questions);
    assert_eq!(server.task(&task).labels, ["agent-needs-input"]);
    let comments = server.comments(&task);
    let q = comments.last().unwrap();
    assert!(q.starts_with("Needs your answer."), "{q}");
    assert!(
        q.contains("\n1. Which customer should the post quote, and what did they say?\n2. Should the post mention the price?"),
        "{q}"
    );
    let mut questions = None;
    while let Ok(ev) = events.try_recv() {
        if let WorkerEvent::RunFinished { questions: q, .. } = ev {
            questions = Some(q);
        }
    }
    assert_eq!(
        questions.unwrap().len(),
        2,
        "the event carries the questions"
    );
    assert!(run!().is_empty(), "no answer yet: nothing runs");

    // The answer, written on the phone: the next poll continues the same session with it.
    let answer = "Quote Ada from Acme: it cut their review time in half. No price.";
    server.add_comment(&task, answer);
    server.clear_requests();
    let runs = run!();
    let requests = server.requests().len();
    println!(
        "requests per question/answer round: {requests} (the poll that sees the answer, the claim, its settling read, the finish)"
    );
    assert!(requests <= 4, "{requests} requests for one answer");
    assert_eq!(runs[0].1, RunStatus::Succeeded);
    let answered = engine.history().get(runs[0].0).unwrap();
    let at = answered
        .command
        .iter()
        .position(|a| a == "--resume")
        .unwrap();
    assert_eq!(
        answered.command[at + 1],
        session,
        "the same session goes on"
    );
    assert_eq!(answered.resumed_session.as_deref(), Some(session.as_str()));
    assert_eq!(answered.input.as_deref(), Some(answer));
    assert_eq!(answered.run.attempt, 1, "an answer is not another attempt");
    assert_eq!(server.task(&task).labels, ["agent-done"]);
    let done = server.comments(&task).last().unwrap().clone();
    assert!(done.starts_with("Done. Ready for review."), "{done}");
    assert!(
        done.contains(answer),
        "the draft, with the answer, is in the task: {done}"
    );

    // Two rounds of feedback, written on the task (no label removed).
    let mut last = runs[0].0;
    for feedback in ["Shorter, please.", "Even shorter: three sentences."] {
        server.add_comment(&task, feedback);
        let runs = run!();
        assert_eq!(runs.len(), 1, "feedback on the task reworks it");
        assert_eq!(runs[0].1, RunStatus::Succeeded);
        let d = engine.history().get(runs[0].0).unwrap();
        assert_eq!(d.resumed_session.as_deref(), Some(session.as_str()));
        assert_eq!(d.input.as_deref(), Some(feedback));
        assert_eq!(d.run.attempt, 1);
        last = runs[0].0;
    }
    let draft = read(&e.workspace.join("drafts/post-about-our-launch-ask.md"));
    assert!(draft.contains("Even shorter: three sentences."), "{draft}");
    assert!(run!().is_empty(), "answered and delivered: nothing waits");

    // One conversation on the run's page, its costs summed.
    let view = engine.run_view(last).unwrap();
    assert_eq!(view.thread.len(), 4);
    assert_eq!(view.thread[0].questions.len(), 2);
    assert!(view.thread[1..].iter().all(|t| t.resumed));
    let costs: Vec<f64> = view.thread.iter().map(|t| t.cost_usd.unwrap()).collect();
    let total: f64 = costs.iter().sum();
    assert!((view.task_cost_usd.unwrap() - total).abs() < 1e-9);
    let first = engine.history().get(view.thread[0].run_id).unwrap();
    let rework = engine.history().get(last).unwrap();
    println!(
        "fresh start: {} tokens in, {} out, ${:.4}; rework by resume: {} in, {} out, ${:.4}; task total ${total:.4}",
        first.tokens_in.unwrap(),
        first.tokens_out.unwrap(),
        costs[0],
        rework.tokens_in.unwrap(),
        rework.tokens_out.unwrap(),
        costs[3]
    );
}

/// When the agent CLI no longer has the session (its store was cleared, another machine ran
/// it), the run says so and starts afresh with the whole conversation in its prompt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_the_cli_lost_falls_back_to_a_fresh_run_with_the_thread() {
    let (server, project) = server_with_project("Writer").await;
    let task = server.add_task(&project, "Post about the fallback [ask]", "");
    let home = Home::new(Some(&server.url));
    let e = home.employee("Writer", SourceKind::Todoist, Some("Writer"));
    home.add(&e);
    let engine = home.engine();
    let all = engine.select(&[]).unwrap();
    engine.run_once(&all, &CancellationToken::new()).await;
    assert_eq!(server.task(&task).labels, ["agent-needs-input"]);
    std::fs::remove_dir_all(e.workspace.join(".fake-sessions")).unwrap();
    server.add_comment(&task, "Quote Grace from Initech.");
    let r = engine.run_once(&all, &CancellationToken::new()).await;
    let runs = &r[0].1.as_ref().unwrap().runs;
    assert_eq!(
        runs[0].1,
        RunStatus::Succeeded,
        "not failed: started afresh"
    );
    let d = engine.history().get(runs[0].0).unwrap();
    assert_eq!(d.resumed_session, None);
    assert!(
        lines(&d).iter().any(|l| l.contains(
            "could not continue the earlier session (No conversation found with session ID"
        )),
        "{:?}",
        lines(&d)
    );
    let draft = read(&e.workspace.join("drafts/post-about-the-fallback-ask.md"));
    assert!(
        draft.contains("[The person wrote]\nQuote Grace from Initech."),
        "{draft}"
    );
    assert!(draft.contains("[You wrote]\nNeeds your answer."), "{draft}");
    assert_eq!(server.task(&task).labels, ["agent-done"]);
    let fresh_rework = d.run.cost_usd.unwrap();
    println!(
        "rework by a fresh run with the thread: {} tokens in, ${fresh_rework:.4}",
        d.tokens_in.unwrap()
    );
}

/// A recurring check with nothing to report completes its occurrence quietly: one short
/// comment, no notification, the task moved to its next date with its labels cleared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_to_do_completes_a_recurring_occurrence_quietly() {
    let (server, project) = server_with_project("Inbox").await;
    let today = chrono::Local::now().date_naive().to_string();
    let task = server.add_recurring_task(
        &project,
        "Check the inbox for refunds [nothing]",
        &today,
        "every day",
    );
    let home = Home::new(Some(&server.url));
    let e = home.employee("Inbox", SourceKind::Todoist, Some("Inbox"));
    home.add(&e);
    let engine = home.engine();
    let all = engine.select(&[]).unwrap();
    let mut events = engine.subscribe();
    let r = engine.run_once(&all, &CancellationToken::new()).await;
    assert_eq!(r[0].1.as_ref().unwrap().runs[0].1, RunStatus::NothingToDo);
    let t = server.task(&task);
    assert!(t.labels.is_empty(), "{:?}", t.labels);
    assert_ne!(
        t.due.as_ref().unwrap()["date"],
        today.as_str(),
        "moved to its next date"
    );
    let last = server.comments(&task).last().unwrap().clone();
    assert_eq!(
        last,
        "Nothing to do this time. No new messages from the customer since yesterday."
    );
    let settings = delegate_core::config::NotificationSettings::default();
    while let Ok(ev) = events.try_recv() {
        assert!(
            delegate_core::notice::notice_for(&ev, &settings).is_none(),
            "{ev:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_the_agent_and_releases_the_claim() {
    let (server, project) = server_with_project("P").await;
    let task = server.add_task(&project, "Long job [hang]", "");
    let home = Home::new(Some(&server.url));
    let e = home.employee("P", SourceKind::Todoist, Some("P"));
    home.add(&e);
    let engine = home.engine();
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    // Shut down once the agent is really running (it wrote its pids), not after a guess.
    let running = hang_pids(e.workspace.clone());
    let stopper = tokio::spawn(async move {
        let pids = running.await.unwrap();
        c2.cancel();
        pids
    });
    let r = engine.run_once(&engine.select(&[]).unwrap(), &cancel).await;
    assert_eq!(r[0].1.as_ref().unwrap().runs[0].1, RunStatus::Cancelled);
    assert!(
        server.task(&task).labels.is_empty(),
        "claim released without counting an attempt"
    );
    assert!(server.comments(&task)[1].starts_with("Stopped:"));
    for p in stopper.await.unwrap() {
        for _ in 0..50 {
            if !alive(p) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!alive(p), "process {p} survived shutdown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_outside_the_workspace_are_flagged() {
    let (server, project) = server_with_project("P").await;
    let task = server.add_task(&project, "Sneaky [outside]", "");
    let home = Home::new(Some(&server.url));
    // Without the OS sandbox (which refuses such writes, see tests/sandbox.rs) the file is
    // written, and the run and the task say so.
    let mut e = home.employee("P", SourceKind::Todoist, Some("P"));
    e.sandbox = delegate_core::sandbox::SandboxMode::Off;
    home.add(&e);
    let engine = home.engine();
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    let d = engine
        .history()
        .get(r[0].1.as_ref().unwrap().runs[0].0)
        .unwrap();
    assert_eq!(d.drafts.len(), 2, "{:?}", d.drafts);
    assert!(
        d.drafts
            .iter()
            .any(|d| !d.inside_workspace && d.path.ends_with("outside-sneaky-outside.md"))
    );
    assert!(server.comments(&task)[1].contains("⚠️ written outside the workspace"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_project_is_reported_with_the_choices() {
    let (server, _) = server_with_project("Real one").await;
    let home = Home::new(Some(&server.url));
    home.add(&home.employee("P", SourceKind::Todoist, Some("Typo")));
    let engine = home.engine();
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    let err = r[0].1.as_ref().unwrap_err().to_string();
    assert_eq!(
        err,
        "Todoist project \"Typo\" not found; projects in this account: Real one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_progress_is_batched_into_comments() {
    let (server, project) = server_with_project("P").await;
    let task = server.add_task(&project, "Narrate as you go [slow]", "");
    let home = Home::new(Some(&server.url));
    let mut e = home.employee("P", SourceKind::Todoist, Some("P"));
    e.live_progress = true;
    home.add(&e);
    let engine = delegate_core::Engine::open_with(
        home.paths.clone(),
        delegate_core::secrets::Stores::memory().with(
            SourceKind::Todoist,
            delegate_core::secrets::MemoryStore::with(TOKEN),
        ),
        delegate_core::EngineOptions {
            live_comment_period: Some(Duration::from_secs(1)),
        },
    )
    .unwrap();
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    assert_eq!(r[0].1.as_ref().unwrap().runs[0].1, RunStatus::Succeeded);
    let c = server.comments(&task);
    let progress: Vec<&String> = c.iter().filter(|c| c.starts_with("Progress:")).collect();
    // One progress comment, edited in place as the run went on (about 4 s of output at one
    // write per second): no flood of comments on the task.
    assert_eq!(progress.len(), 1, "{c:#?}");
    assert!(progress[0].matches("\n• ").count() >= 5, "{progress:#?}");
    let edits = server
        .requests()
        .iter()
        .filter(|r| r.command_types() == ["note_update"])
        .count();
    assert!(edits >= 1, "the progress comment was edited in place");
    assert!(c.first().unwrap().starts_with("Working on it"));
    assert!(c.last().unwrap().starts_with("Done. Ready for review."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_changes_then_approve_from_the_app() {
    let (server, project) = server_with_project("Writer").await;
    let task = server.add_task(&project, "Post about reviews", "");
    let home = Home::new(Some(&server.url));
    let e = home.employee("Writer", SourceKind::Todoist, Some("Writer"));
    home.add(&e);
    let engine = home.engine();
    let all = engine.select(&[]).unwrap();
    let first = engine.run_once(&all, &CancellationToken::new()).await[0]
        .1
        .as_ref()
        .unwrap()
        .runs[0]
        .0;

    let err = engine
        .request_changes(first, "   ")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("write what should change"), "{err}");
    engine
        .request_changes(first, "Cut it to three sentences")
        .await
        .unwrap();
    assert!(server.task(&task).labels.is_empty(), "agent-done removed");
    assert_eq!(
        server.comments(&task).last().unwrap(),
        "Cut it to three sentences"
    );
    assert_eq!(
        engine.history().get(first).unwrap().run.review,
        Some(delegate_core::history::Review::ChangesRequested)
    );

    let second = engine.run_once(&all, &CancellationToken::new()).await[0]
        .1
        .as_ref()
        .unwrap()
        .runs[0]
        .0;
    let draft = read(&e.workspace.join("drafts/post-about-reviews.md"));
    assert!(draft.contains("\n\nCut it to three sentences"), "{draft}");
    engine.approve(second).await.unwrap();
    assert!(server.task(&task).checked, "approve closes the task");
    assert_eq!(
        engine.history().get(second).unwrap().run.review,
        Some(delegate_core::history::Review::Approved)
    );
}

/// A recurring task is a schedule: worked, completed by the person (Todoist moves it to the
/// next date and keeps its labels and comments), worked again when due — without the earlier
/// occurrence's feedback — and held while its next date is in the future.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recurring_tasks_come_back_as_new_occurrences() {
    let (server, project) = server_with_project("Digest").await;
    let yesterday = (chrono::Local::now().date_naive() - chrono::Duration::days(1)).to_string();
    let tomorrow = (chrono::Local::now().date_naive() + chrono::Duration::days(1)).to_string();
    let task =
        server.add_recurring_task(&project, "Write the weekly digest", &yesterday, "every day");
    let home = Home::new(Some(&server.url));
    let mut e = home.employee("Digest", SourceKind::Todoist, Some("Digest"));
    e.hold_until_due = true;
    home.add(&e);
    let engine = home.engine();
    let all = engine.select(&[]).unwrap();

    let first = engine.run_once(&all, &CancellationToken::new()).await;
    assert_eq!(first[0].1.as_ref().unwrap().runs.len(), 1);
    assert_eq!(server.task(&task).labels, ["agent-done"]);
    assert!(
        server.comments(&task)[0].ends_with(&format!("due {yesterday}")),
        "the claim names its occurrence: {:?}",
        server.comments(&task)
    );
    // Feedback on this occurrence, then the person completes it in Todoist.
    server.add_comment(&task, "Lead with the numbers next time");
    server.complete_task(&task);
    let t = server.task(&task);
    assert_eq!(
        (t.checked, t.labels.clone()),
        (false, vec!["agent-done".to_string()])
    );

    // Due today: a new occurrence, worked again, without last time's feedback.
    let second = engine.run_once(&all, &CancellationToken::new()).await;
    assert_eq!(second[0].1.as_ref().unwrap().runs.len(), 1, "worked again");
    assert_eq!(server.task(&task).labels, ["agent-done"]);
    let draft = read(&e.workspace.join("drafts/write-the-weekly-digest.md"));
    assert!(!draft.contains("asked for these changes"), "{draft}");

    // Approve from Delegate: the labels are cleared in the same request as the close.
    let run = second[0].1.as_ref().unwrap().runs[0].0;
    server.clear_requests();
    engine.approve(run).await.unwrap();
    let close: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| !r.commands().is_empty())
        .collect();
    assert_eq!(close.len(), 1);
    assert_eq!(close[0].command_types(), ["item_update", "item_close"]);
    let t = server.task(&task);
    assert!(t.labels.is_empty(), "{:?}", t.labels);
    assert_eq!(t.due.as_ref().unwrap()["date"], tomorrow.as_str());

    // Due tomorrow: held until then.
    let third = engine.run_once(&all, &CancellationToken::new()).await;
    assert!(
        third[0].1.as_ref().unwrap().runs.is_empty(),
        "held until due"
    );
    assert!(server.task(&task).labels.is_empty());
}

/// An occurrence completed by the person (not through Delegate) comes back labelled
/// `agent-done`; the next poll clears the labels and holds it until it is due.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_occurrence_is_cleared_and_held() {
    let (server, project) = server_with_project("Weekly").await;
    let today = chrono::Local::now().date_naive().to_string();
    let task = server.add_recurring_task(&project, "Plan the week", &today, "every week");
    let home = Home::new(Some(&server.url));
    let mut e = home.employee("Weekly", SourceKind::Todoist, Some("Weekly"));
    e.hold_until_due = true;
    home.add(&e);
    let engine = home.engine();
    let all = engine.select(&[]).unwrap();
    engine.run_once(&all, &CancellationToken::new()).await;
    assert_eq!(server.task(&task).labels, ["agent-done"]);
    server.complete_task(&task);
    server.clear_requests();
    let r = engine.run_once(&all, &CancellationToken::new()).await;
    assert!(r[0].1.as_ref().unwrap().runs.is_empty());
    assert!(
        server.task(&task).labels.is_empty(),
        "protocol labels cleared"
    );
    let writes: Vec<Vec<String>> = server
        .requests()
        .iter()
        .map(|r| r.command_types())
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        writes,
        [vec!["item_update".to_string()]],
        "one request, no agent"
    );
}

/// Todoist is down when a run ends: the run is on record, its end waits in the outbox, and
/// the next cycle delivers it once — the task is not worked again meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finish_that_cannot_be_sent_is_delivered_later_exactly_once() {
    let (server, project) = server_with_project("P").await;
    let task = server.add_task(&project, "Outage at the end", "");
    let home = Home::new(Some(&server.url));
    home.add(&home.employee("P", SourceKind::Todoist, Some("P")));
    let engine = home.engine();
    let all = engine.select(&[]).unwrap();
    // Every try of the finish fails (the client retries 4 times).
    server.fail_matching("Done. Ready for review.", 5, 503);
    let r = engine.run_once(&all, &CancellationToken::new()).await;
    let err = r[0].1.as_ref().unwrap_err().to_string();
    assert!(err.contains("HTTP 503"), "{err}");
    assert!(
        server.task(&task).labels.is_empty(),
        "a short run is never labelled as being worked on"
    );
    assert_eq!(server.comments(&task).len(), 1, "only the claim");
    let runs = engine.history().list(&RunFilter::default()).unwrap();
    assert_eq!(runs[0].status, RunStatus::Succeeded, "the run is on record");

    // Todoist is back: the next cycle sends the same write first and runs nothing.
    let r = engine.run_once(&all, &CancellationToken::new()).await;
    assert!(r[0].1.as_ref().unwrap().runs.is_empty(), "not worked again");
    assert_eq!(server.task(&task).labels, ["agent-done"]);
    let c = server.comments(&task);
    assert_eq!(c.len(), 2, "{c:#?}");
    assert!(c[1].starts_with("Done. Ready for review."));
    assert!(engine.history().outbox("P").unwrap().is_empty());
}

/// The finish was applied by Todoist but every answer came too late: the outbox resends it
/// with the same uuids and Todoist ignores the repeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finish_applied_but_never_confirmed_is_not_applied_twice() {
    let (server, project) = server_with_project("P").await;
    let task = server.add_task(&project, "Slow Todoist at the end", "");
    let home = Home::new(Some(&server.url));
    std::fs::write(
        &home.paths.config_file,
        format!(
            "[todoist]\napi_url = \"{}\"\ntimeout_secs = 1\n",
            server.url
        ),
    )
    .unwrap();
    home.add(&home.employee("P", SourceKind::Todoist, Some("P")));
    let engine = home.engine();
    let all = engine.select(&[]).unwrap();
    server.answer_slowly_matching("Done. Ready for review.", 5, Duration::from_millis(1500));
    let r = engine.run_once(&all, &CancellationToken::new()).await;
    assert!(r[0].1.is_err(), "never confirmed");
    assert_eq!(
        server.comments(&task).len(),
        2,
        "applied by Todoist on the first try"
    );
    let r = engine.run_once(&all, &CancellationToken::new()).await;
    assert!(r[0].1.as_ref().unwrap().runs.is_empty());
    let c = server.comments(&task);
    assert_eq!(c.len(), 2, "exactly one Done comment: {c:#?}");
    assert_eq!(server.task(&task).labels, ["agent-done"]);
    let (_, replayed) = server.command_counts();
    assert!(replayed >= 2, "the resend was recognised by its uuids");
}

/// A run longer than half its lease renews it: the claim comment is edited to a longer
/// lease (it keeps its `posted_at`, so it keeps its place before any later claim), one
/// request each time, and the task shows a single claim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_run_renews_its_lease() {
    let (server, project) = server_with_project("P").await;
    let task = server.add_task(&project, "Take your time [slow]", "");
    let home = Home::new(Some(&server.url));
    std::fs::write(
        &home.paths.config_file,
        format!(
            "[todoist]\napi_url = \"{}\"\n\n[machine]\nclaim_grace_secs = 0\nclaim_settle_secs = 1\n",
            server.url
        ),
    )
    .unwrap();
    let mut e = home.employee("P", SourceKind::Todoist, Some("P"));
    // Lease 5 s (timeout 5 s + grace 0): renewed halfway, while the 3.3 s run goes on.
    e.timeout_secs = 5;
    home.add(&e);
    let engine = home.engine();
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    assert_eq!(r[0].1.as_ref().unwrap().runs[0].1, RunStatus::Succeeded);
    let all = server.all_comments(&task);
    let claims: Vec<_> = all
        .iter()
        .filter(|c| c.content.starts_with("Working on it"))
        .collect();
    assert_eq!(
        claims.len(),
        1,
        "one claim comment, never replaced: {all:#?}"
    );
    assert!(!claims[0].is_deleted);
    let lease: u64 = claims[0]
        .content
        .split("lease ")
        .nth(1)
        .and_then(|l| l.split(' ').next())
        .and_then(|l| l.parse().ok())
        .unwrap();
    assert!(lease > 5, "the lease was extended: {}", claims[0].content);
    let renewals = server
        .requests()
        .iter()
        .filter(|r| r.command_types() == ["note_update"])
        .count();
    assert!(renewals >= 1, "each renewal is one request");
}

/// The snapshot keeps only the employees' projects; an employee added later on another
/// project gets that project's existing tasks (one full sync), comments included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_added_later_brings_its_existing_tasks() {
    let server = delegate_testkit::FakeTodoist::start(TOKEN).await;
    let a = server.add_project("A");
    let b = server.add_project("B");
    server.add_task(&a, "For A", "");
    let old = server.add_task(&b, "Waiting in B", "");
    server.add_comment(&old, "Context from the person");
    let home = Home::new(Some(&server.url));
    home.add(&home.employee("A", SourceKind::Todoist, Some("A")));
    let engine = home.engine();
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    assert_eq!(r[0].1.as_ref().unwrap().runs.len(), 1);

    home.add(&home.employee("B", SourceKind::Todoist, Some("B")));
    engine.reload_config().await.unwrap();
    server.clear_requests();
    let r = engine
        .run_once(
            &engine.select(&["B".to_string()]).unwrap(),
            &CancellationToken::new(),
        )
        .await;
    assert_eq!(
        r[0].1.as_ref().unwrap().runs.len(),
        1,
        "B's old task was found"
    );
    assert_eq!(server.task(&old).labels, ["agent-done"]);
    assert!(
        server.requests()[0].body.contains("\"sync_token\":\"*\""),
        "a full sync brought the new project"
    );
}

/// A machine that decides from an old view (the task looked untouched) while another
/// machine finished it and the person added a label: the claim is a comment only, so the
/// labels stay exactly as the winner and the person left them; the claim is taken back and
/// nothing runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_from_an_old_view_never_overwrites_newer_labels() {
    let (server, project) = server_with_project("P").await;
    let task = server.add_task(&project, "Already done elsewhere", "");
    let home = Home::new(Some(&server.url));
    let mut e = home.employee("P", SourceKind::Todoist, Some("P"));
    // A fresh view is reused for five minutes: this machine will not look again.
    e.poll_secs = 600;
    home.add(&e);
    let engine = home.engine();
    engine
        .source_for(&e)
        .await
        .unwrap()
        .open_tasks(Duration::ZERO)
        .await
        .unwrap();
    // Meanwhile another machine claims and finishes it; the person adds a label.
    server.add_comment(
        &task,
        "Working on it… (attempt 1 of 3) on other\n\nclaim 0123456789abcdef · lease 600 s",
    );
    server.add_comment(&task, "Done. Ready for review.\n\nDraft written.");
    server.set_labels(&task, &["agent-done", "mine"]);
    server.clear_requests();

    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    assert!(r[0].1.as_ref().unwrap().runs.is_empty(), "nothing ran");
    assert_eq!(server.task(&task).labels, ["agent-done", "mine"]);
    let c = server.comments(&task);
    assert_eq!(c.len(), 2, "our claim was taken back: {c:#?}");
    assert!(c[0].contains("on other"));
    let labels_written = server
        .requests()
        .iter()
        .flat_map(|r| r.command_types())
        .filter(|t| t == "item_update")
        .count();
    assert_eq!(labels_written, 0, "no label was written from the old view");
}

/// Waits for the `[hang]` agent in `ws` to write `hang.pids` and returns its pid and its
/// grandchild's as this machine numbers them, asked while they run (the run's PID namespace
/// numbers them otherwise).
fn hang_pids(ws: std::path::PathBuf) -> tokio::task::JoinHandle<Vec<u32>> {
    tokio::spawn(async move {
        for _ in 0..400 {
            let s = read(&ws.join("hang.pids"));
            if s.ends_with('\n') {
                return s
                    .split_whitespace()
                    .map(|p| {
                        let p = p.parse().unwrap();
                        delegate_testkit::host_pid(p, &ws)
                            .unwrap_or_else(|| panic!("{p} is not running"))
                    })
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the agent never wrote hang.pids");
    })
}
