//! The Todoist client against the fake server: pagination, errors, retries.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::TOKEN;
use delegate_core::secrets::Secret;
use delegate_core::source::RetryPolicy;
use delegate_core::source::http::NetworkKind;
use delegate_core::source::todoist::{TodoistAccount, TodoistClient, TodoistError};
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
    let err = client.task("missing").await.unwrap_err();
    assert!(matches!(err, TodoistError::NotFound { .. }), "{err}");
    assert_eq!(server.requests().len(), 1, "4xx is never retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_network_error() {
    let client =
        TodoistClient::new("http://127.0.0.1:9/api/v1", Secret::new(TOKEN), quick()).unwrap();
    let err = client.projects().await.unwrap_err();
    assert!(
        matches!(
            err,
            TodoistError::Network {
                kind: NetworkKind::Refused,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(!text.contains(TOKEN));
    assert!(
        text.contains("check `api_url`"),
        "advice matches the cause: {text}"
    );
    assert!(
        !text.contains("token"),
        "a refused connection is not a token problem: {text}"
    );

    let dns = TodoistClient::new(
        "http://no-such-host.invalid/api/v1",
        Secret::new(TOKEN),
        quick(),
    )
    .unwrap()
    .projects()
    .await
    .unwrap_err();
    assert!(
        matches!(
            dns,
            TodoistError::Network {
                kind: NetworkKind::Dns,
                ..
            }
        ),
        "{dns:?}"
    );
    assert!(dns.to_string().contains("internet connection"), "{dns}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_error_gets_its_own_advice() {
    let server = FakeTodoist::start(TOKEN).await;
    let client = TodoistClient::new(
        &server.url,
        Secret::new(TOKEN),
        RetryPolicy {
            max_retries: 0,
            ..quick()
        },
    )
    .unwrap();
    let cases = [
        (503, "Todoist is having trouble"),
        (403, "shared with the account"),
        (429, "1000 requests per 15"),
    ];
    for (status, advice) in cases {
        server.fail_next(status, 1);
        let err = client.projects().await.unwrap_err().to_string();
        assert!(err.contains(advice), "{status}: {err}");
        assert!(!err.contains("delegate token set"), "{status}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_and_user() {
    let server = FakeTodoist::start(TOKEN).await;
    let p = server.add_project("P");
    let t = server.add_task(&p, "Approve me", "");
    let account =
        TodoistAccount::new(TodoistClient::new(&server.url, Secret::new(TOKEN), quick()).unwrap());
    account.watch("P");
    account.close(&t, None).await.unwrap();
    assert!(server.task(&t).checked);
    let client = account.client();
    assert!(client.tasks(&p).await.unwrap().is_empty());
    let u = client.user().await.unwrap();
    assert_eq!(u.email, "test@example.com");
    // Closing a task that is gone says so precisely (sync_status), without a retry.
    server.clear_requests();
    let err = account
        .close("missing", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("item_close") && err.contains("404"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

/// Todoist executed the write but answered after the client gave up: the retry carries the
/// same uuids, so there is exactly one comment and one label change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_answered_too_late_is_applied_once() {
    let server = FakeTodoist::start(TOKEN).await;
    let p = server.add_project("P");
    let t = server.add_task(&p, "Slow", "");
    let policy = RetryPolicy {
        request_timeout: Duration::from_millis(500),
        ..quick()
    };
    let account =
        TodoistAccount::new(TodoistClient::new(&server.url, Secret::new(TOKEN), policy).unwrap());
    account.watch("P");
    server.answer_slowly(2, Duration::from_secs(2));
    account
        .labels_and_comment(&t, &["agent-done".into()], "Done. Ready for review.")
        .await
        .unwrap();
    assert_eq!(server.comments(&t), ["Done. Ready for review."]);
    assert_eq!(server.task(&t).labels, ["agent-done"]);
    let (executed, replayed) = server.command_counts();
    assert_eq!(executed, 2, "two commands, each executed once");
    assert_eq!(replayed, 4, "two retries resent both uuids");
    let syncs: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/sync")
        .collect();
    assert_eq!(syncs.len(), 3);
    assert!(
        syncs.windows(2).all(|w| w[0].body == w[1].body),
        "retries resend the same body"
    );
}

/// 429 with hostile `retry_after` values and 5xx bursts: no panic, no hang, no hot loop, no
/// loss and no duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_retry_after_and_bursts_are_survived() {
    let server = FakeTodoist::start(TOKEN).await;
    let p = server.add_project("P");
    let t = server.add_task(&p, "Busy", "");
    let account = TodoistAccount::new(
        TodoistClient::new(
            &server.url,
            Secret::new(TOKEN),
            RetryPolicy {
                max_retries: 6,
                ..quick()
            },
        )
        .unwrap(),
    );
    account.watch("P");
    for hostile in [
        serde_json::json!(-5),
        serde_json::json!("NaN"),
        serde_json::json!(1e300),
    ] {
        server.clear_requests();
        server.fail_next_with(429, 1, hostile.clone());
        server.fail_next(502, 2);
        // A huge value is capped at the client's max_delay (50 ms here), so a hang would
        // show as this test never ending.
        account.set_labels(&t, &["x".into()]).await.unwrap();
        assert_eq!(
            server.requests().len(),
            4,
            "{hostile}: three failures then success"
        );
    }
    assert_eq!(server.command_counts().0, 3, "each write applied once");
}

/// The settle rule, on the server's own clock: a claim is decided by a read that reaches
/// Todoist at least the settle time after the claim's `posted_at` — also when Todoist's clock
/// runs ahead of this machine's or behind it (where trusting the local clock would read too
/// early).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_is_decided_by_a_read_the_settle_time_after_it() {
    use delegate_core::claims::Claim;
    use delegate_core::source::Claimed;
    for skew_ms in [0i64, 7_000, -4_000, -1_500] {
        let server = FakeTodoist::start(TOKEN).await;
        server.set_clock_skew_ms(skew_ms);
        let p = server.add_project("P");
        let t = server.add_task(&p, "Settle me", "");
        let account = TodoistAccount::new(
            TodoistClient::new(&server.url, Secret::new(TOKEN), quick()).unwrap(),
        )
        .with_settle(2);
        account.open_tasks("P", Duration::ZERO).await.unwrap();
        let claim = Claim {
            id: "c1".into(),
            machine: "m".into(),
            attempt: 1,
            max_attempts: 3,
            lease_secs: Some(600),
            due: None,
        };
        let none = std::collections::HashSet::new();
        let Claimed::Pending(mut pending) = account
            .claim(&t, &claim, &[], None, 600, &none)
            .await
            .unwrap()
        else {
            panic!("a claim waits for its settle time");
        };
        let won = account.settle(&mut pending, &[], 600, &none).await.unwrap();
        assert!(matches!(won, Claimed::Won { .. }), "{skew_ms}: {won:?}");
        let posted =
            chrono::DateTime::parse_from_rfc3339(&server.all_comments(&t)[0].posted_at).unwrap();
        let reads: Vec<_> = server.requests().into_iter().collect();
        let deciding = reads.last().unwrap();
        assert!(deciding.commands().is_empty(), "a read decides");
        let read_at = chrono::DateTime::parse_from_rfc3339(&deciding.at).unwrap();
        let after = read_at - posted;
        assert!(
            after >= chrono::Duration::seconds(2),
            "clock {skew_ms:+} ms: decided by a read {after} after the claim"
        );
        assert!(
            after < chrono::Duration::seconds(5),
            "clock {skew_ms:+} ms: no needless wait ({after})"
        );
        assert_eq!(reads.len(), 3, "{skew_ms}: poll, claim, one settling read");
    }
}
