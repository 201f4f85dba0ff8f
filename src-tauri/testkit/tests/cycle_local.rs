//! The whole cycle on the local queue: no account needed.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::*;
use delegate_core::config::SourceKind;
use delegate_core::history::RunStatus;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_queue_runs_the_same_protocol() {
    let home = Home::new(None);
    let mut e = home.employee("Notes", SourceKind::Local, None);
    e.max_attempts = 1;
    home.add(&e);
    let engine = home.engine();
    let ok = engine
        .queue()
        .add_task("Notes", "Draft the weekly update", "Three bullets.", 1)
        .unwrap();
    let bad = engine
        .queue()
        .add_task("Notes", "Break [fail]", "", 1)
        .unwrap();
    engine
        .queue()
        .add_task("Someone else", "Not for Notes", "", 4)
        .unwrap();

    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    let runs = &r[0].1.as_ref().unwrap().runs;
    assert_eq!(
        runs.iter().map(|r| r.1).collect::<Vec<_>>(),
        [RunStatus::Succeeded, RunStatus::Failed]
    );

    let q = engine.queue();
    assert_eq!(q.task(&ok).unwrap().labels, ["agent-done"]);
    assert_eq!(q.task(&bad).unwrap().labels, ["agent-failed"]);
    let c: Vec<String> = q
        .comments(&ok)
        .unwrap()
        .into_iter()
        .map(|c| c.content)
        .collect();
    assert!(c[0].starts_with("Working on it… (attempt 1 of 1)"));
    assert!(c[1].starts_with("Done. Ready for review."));
    let c: Vec<String> = q
        .comments(&bad)
        .unwrap()
        .into_iter()
        .map(|c| c.content)
        .collect();
    assert!(
        c[1].starts_with("Failed after 1 attempt. Giving up."),
        "{}",
        c[1]
    );
    assert!(
        e.workspace
            .join("drafts/draft-the-weekly-update.md")
            .is_file()
    );
    assert_eq!(
        q.open_tasks("Someone else").unwrap()[0].labels,
        Vec::<String>::new()
    );
}
