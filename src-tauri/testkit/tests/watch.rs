//! The long-running loop the desktop app uses: polling, pause and resume, and config reloads
//! that add and remove employees without a restart.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::*;
use delegate_core::config::{SourceKind, edit};
use delegate_core::worker::WorkerEvent;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..150 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_all_follows_pause_and_reloads() {
    let home = Home::new(None);
    let mut a = home.employee("A", SourceKind::Local, None);
    a.poll_secs = 1;
    home.add(&a);
    let mut w = home.employee("W", SourceKind::Local, None);
    w.poll_secs = 1;
    home.add(&w);
    let engine = Arc::new(home.engine());
    let mut events = engine.subscribe();
    let cancel = CancellationToken::new();
    let watcher = {
        let (engine, cancel) = (engine.clone(), cancel.clone());
        tokio::spawn(async move { engine.watch_all(&cancel).await })
    };
    let done = |id: &str| engine.queue().task(id).unwrap().labels == ["agent-done"];

    let t1 = engine.queue().add_task("A", "First", "", 1).unwrap();
    eventually("the first task", || done(&t1)).await;

    // Pausing everything is told (and undone) at once.
    engine.set_paused(None, true);
    assert!(engine.all_paused());
    engine.set_paused(None, false);
    // A paused employee does nothing while the others work: W, unpaused, finishes a task
    // after "Run now" woke every loop, and A's task is still untouched.
    engine.set_paused(Some("A"), true);
    let t2 = engine.queue().add_task("A", "While paused", "", 1).unwrap();
    let tw = engine.queue().add_task("W", "Witness", "", 1).unwrap();
    engine.run_now();
    eventually("the witness's task", || done(&tw)).await;
    assert!(
        engine.queue().task(&t2).unwrap().labels.is_empty(),
        "paused employees do nothing"
    );
    engine.set_paused(Some("A"), false);
    eventually("the task after resume", || done(&t2)).await;

    // Add B and remove A while running.
    let mut b = home.employee("B", SourceKind::Local, None);
    b.poll_secs = 1;
    home.add(&b);
    edit::remove_employee(&home.paths.config_file, "A").unwrap();
    engine.reload_config().await.unwrap();
    let tb = engine
        .queue()
        .add_task("B", "For the new one", "", 1)
        .unwrap();
    let ta = engine
        .queue()
        .add_task("A", "For the removed one", "", 1)
        .unwrap();
    eventually("the new employee's task", || done(&tb)).await;
    // One more full cycle of B after the reload: A, removed, never got its task.
    let tb2 = engine.queue().add_task("B", "Another one", "", 1).unwrap();
    engine.run_now();
    eventually("the new employee's second task", || done(&tb2)).await;
    assert!(
        engine.queue().task(&ta).unwrap().labels.is_empty(),
        "removed employees stop"
    );

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(10), watcher)
        .await
        .unwrap()
        .unwrap();

    let mut saw_pause = false;
    while let Ok(ev) = events.try_recv() {
        if let WorkerEvent::Paused {
            employee: None,
            paused: true,
        } = ev
        {
            saw_pause = true;
        }
    }
    assert!(saw_pause);
}
