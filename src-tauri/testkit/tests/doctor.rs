//! `doctor` and `token status` as the engine has them, against the fake Todoist server: they
//! reach Todoist the way the workers do — the config's address and timeout, the same retries.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::*;
use delegate_core::config::SourceKind;
use delegate_core::doctor::{self, Check};
use delegate_core::secrets::MemoryStore;
use delegate_testkit::FakeTodoist;
use std::time::Duration;

fn config(home: &Home, server: &FakeTodoist, extra: &str) {
    std::fs::write(
        &home.paths.config_file,
        format!("[todoist]\napi_url = \"{}\"\n{extra}", server.url),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_status_waits_as_long_as_the_config_says() {
    let server = FakeTodoist::start(TOKEN).await;
    let home = Home::new(None);
    config(&home, &server, "timeout_secs = 1\n");
    server.answer_slowly(1, Duration::from_millis(2500));
    let check = doctor::source_token(&home.paths, SourceKind::Todoist, &MemoryStore::with(TOKEN))
        .await
        .unwrap();
    assert!(check.accepted(), "{:?}", check.lines());
    assert_eq!(
        check.lines()[1],
        "Connected as Test Person <test@example.com>."
    );
    assert_eq!(
        server.requests().len(),
        2,
        "no answer within timeout_secs, so it asked again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_retries_todoist_as_the_workers_do() {
    let server = FakeTodoist::start(TOKEN).await;
    server.add_project("Writer");
    let home = Home::new(None);
    config(&home, &server, "");
    home.add(&home.employee("Writer", SourceKind::Todoist, Some("writer")));
    // Two refusals in a row: a worker's poll gets through, and so does doctor.
    server.fail_next(503, 2);
    let report = doctor::report(
        &home.paths,
        &delegate_core::secrets::Stores::memory()
            .with(SourceKind::Todoist, MemoryStore::with(TOKEN)),
    )
    .await;
    let ok = |line: &str| report.checks.iter().any(|c| c == &Check::Ok(line.into()));
    assert!(
        ok("Todoist accepts the API token: connected as Test Person <test@example.com>"),
        "{report:#?}"
    );
    assert!(
        report.checks.iter().any(
            |c| matches!(c, Check::Ok(s) if s.starts_with("Writer: project \"Writer\" found"))
        ),
        "{report:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_told_with_its_fix() {
    let server = FakeTodoist::start(TOKEN).await;
    let home = Home::new(None);
    config(&home, &server, "");
    home.add(&home.employee("Writer", SourceKind::Todoist, Some("Writer")));
    let report = doctor::report(
        &home.paths,
        &delegate_core::secrets::Stores::memory()
            .with(SourceKind::Todoist, MemoryStore::with("wrong")),
    )
    .await;
    let rejected = report
        .checks
        .iter()
        .find_map(|c| match c {
            Check::Fail { what, fix } if what.starts_with("Todoist: ") => Some((what, fix)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{report:#?}"));
    assert_eq!(
        rejected.0,
        "Todoist: Todoist rejected the API token (HTTP 401)"
    );
    assert!(
        rejected.1.starts_with("copy a fresh token"),
        "{}",
        rejected.1
    );
    assert!(!report.passed());
    let check = doctor::source_token(
        &home.paths,
        SourceKind::Todoist,
        &MemoryStore::with("wrong"),
    )
    .await
    .unwrap();
    assert!(!check.accepted());
    assert!(
        check.lines()[1].starts_with("Token rejected or Todoist unreachable: "),
        "{:?}",
        check.lines()
    );
}
