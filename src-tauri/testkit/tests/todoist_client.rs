//! The Todoist client against the fake server: pagination, errors, retries.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::TOKEN;
use delegate_core::secrets::Secret;
use delegate_core::source::{RetryPolicy, TodoistClient, TodoistError};
use delegate_testkit::FakeTodoist;
use std::time::Duration;

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        request_timeout: Duration::from_secs(5),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_follow_every_page() {
    let server = FakeTodoist::start(TOKEN).await;
    let p = server.add_project("Big");
    let other = server.add_project("Other");
    for i in 0..450 {
        server.add_task(&p, &format!("task {i}"), "");
    }
    server.add_task(&other, "not in Big", "");
    let first = server.add_task(&p, "commented", "");
    for i in 0..230 {
        server.add_comment(&first, &format!("comment {i}"));
    }
    let client = TodoistClient::new(&server.url, Secret::new(TOKEN), quick()).unwrap();
    let tasks = client.tasks(&p).await.unwrap();
    assert_eq!(tasks.len(), 451);
    assert_eq!(tasks[0].title, "task 0");
    let pages: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/tasks")
        .map(|r| r.query)
        .collect();
    assert_eq!(pages.len(), 3);
    assert!(pages[0].contains("limit=200") && !pages[0].contains("cursor"));
    assert!(pages[1].contains("cursor=cur_200") && pages[1].contains(&format!("project_id={p}")));
    assert_eq!(client.comments(&first).await.unwrap().len(), 230);
    assert_eq!(client.projects().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_is_not_retried() {
    let server = FakeTodoist::start(TOKEN).await;
    let client = TodoistClient::new(&server.url, Secret::new("wrong"), quick()).unwrap();
    let err = client.projects().await.unwrap_err();
    assert!(matches!(err, TodoistError::Unauthorized), "{err}");
    assert_eq!(server.requests().len(), 1);
    assert!(err.to_string().contains("delegate token set"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_then_reported() {
    let server = FakeTodoist::start(TOKEN).await;
    let p = server.add_project("P");
    let client = TodoistClient::new(&server.url, Secret::new(TOKEN), quick()).unwrap();
    server.fail_next(500, 2);
    assert_eq!(client.tasks(&p).await.unwrap().len(), 0);
    assert_eq!(server.requests().len(), 3);

    server.clear_requests();
    server.fail_next(502, 4);
    let err = client.tasks(&p).await.unwrap_err();
    assert!(err.is_transient());
    assert!(err.to_string().contains("HTTP 502"), "{err}");
    assert_eq!(server.requests().len(), 4, "first try + 3 retries");

    server.clear_requests();
    let err = client
        .set_labels("missing", &["x".into()])
        .await
        .unwrap_err();
    assert!(matches!(err, TodoistError::NotFound { .. }), "{err}");
    assert_eq!(server.requests().len(), 1, "4xx is never retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_network_error() {
    let client =
        TodoistClient::new("http://127.0.0.1:9/api/v1", Secret::new(TOKEN), quick()).unwrap();
    let err = client.projects().await.unwrap_err();
    assert!(matches!(err, TodoistError::Network { .. }), "{err}");
    assert!(!err.to_string().contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_and_user() {
    let server = FakeTodoist::start(TOKEN).await;
    let p = server.add_project("P");
    let t = server.add_task(&p, "Approve me", "");
    let client = TodoistClient::new(&server.url, Secret::new(TOKEN), quick()).unwrap();
    client.close_task(&t).await.unwrap();
    assert!(server.task(&t).checked);
    assert!(client.tasks(&p).await.unwrap().is_empty());
    let u = client.user().await.unwrap();
    assert_eq!(u.email, "test@example.com");
}
