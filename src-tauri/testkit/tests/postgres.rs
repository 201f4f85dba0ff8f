//! PostgreSQL as a task queue, against a real server (a private cluster started per test):
//! the whole cycle, engines sharing one table with every task run once, a killed engine's
//! task taken over after its lease, pickup by NOTIFY, and a server restarted mid-run.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::*;
use delegate_core::Engine;
use delegate_core::config::SourceKind;
use delegate_core::history::RunStatus;
use delegate_core::secrets::{MemoryStore, Stores};
use delegate_testkit::postgres::{
    Fleet, PASSWORD, PgServer, count, init_with_cli, insert, until_reviewed,
};
use nix::sys::signal::Signal;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn pg_home(server: &PgServer, db: &str) -> Home {
    let home = Home::new(None);
    std::fs::write(
        &home.paths.config_file,
        format!("[postgres]\nurl = \"{}\"\n", server.url(db)),
    )
    .unwrap();
    home
}

fn pg_engine(home: &Home) -> Engine {
    Engine::open(
        home.paths.clone(),
        Stores::memory().with(SourceKind::Postgres, MemoryStore::with(PASSWORD)),
    )
    .unwrap()
}

async fn row(
    c: &tokio_postgres::Client,
    id: &str,
) -> (String, i32, Option<String>, serde_json::Value) {
    let r = c
        .query_one(
            "SELECT status, attempts, result, drafts FROM delegate_tasks WHERE id = $1::text::bigint",
            &[&id],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2), r.get(3))
}

async fn comments(c: &tokio_postgres::Client, id: &str) -> Vec<(String, String)> {
    c.query(
        "SELECT author, body FROM delegate_tasks_comments WHERE task_id = $1::text::bigint ORDER BY id",
        &[&id],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_cycle_on_a_real_postgres() {
    let server = PgServer::start();
    let db = server.database("cycle").await;
    let home = pg_home(&server, &db);
    let mut e = home.employee("Writer", SourceKind::Postgres, None);
    e.max_attempts = 2;
    home.add(&e);
    let engine = pg_engine(&home);
    let said = engine
        .prepare_source(SourceKind::Postgres, "", false)
        .await
        .unwrap();
    assert!(
        said.contains("delegate_tasks") && said.contains("applied version 1"),
        "{said}"
    );
    let again = engine
        .prepare_source(SourceKind::Postgres, "", false)
        .await
        .unwrap();
    assert!(again.contains("up to date"), "{again}");

    // The tables an employee can pick: Delegate's own, now that it exists.
    let service = engine.service(SourceKind::Postgres).await.unwrap();
    let targets = service.targets().await.unwrap();
    assert_eq!(
        targets
            .iter()
            .map(|t| (t.value.as_str(), t.name.as_str()))
            .collect::<Vec<_>>(),
        [("delegate_tasks", "delegate_tasks")]
    );
    let who = service.who().await.unwrap();
    assert!(who.starts_with("delegate on cycle (PostgreSQL "), "{who}");
    let ok = engine
        .add_task("Writer", "Write a post about agents", "Short.", 2)
        .await
        .unwrap();
    let bad = engine
        .add_task("Writer", "Break [fail]", "", 1)
        .await
        .unwrap();
    let sql = server.connect(&db).await;
    // A row another program inserts, for someone else.
    sql.batch_execute(
        "INSERT INTO delegate_tasks (employee, title) VALUES ('Someone else', 'Not for Writer')",
    )
    .await
    .unwrap();

    let cancel = CancellationToken::new();
    let r = engine.run_once(&engine.select(&[]).unwrap(), &cancel).await;
    let runs = r[0].1.as_ref().unwrap().runs.clone();
    assert_eq!(
        runs.iter().map(|r| r.1).collect::<Vec<_>>(),
        [RunStatus::Succeeded, RunStatus::Failed]
    );
    let (status, attempts, result, drafts) = row(&sql, &ok).await;
    assert_eq!((status.as_str(), attempts), ("review", 0));
    assert!(result.unwrap().starts_with("Done. Ready for review."));
    let drafts = drafts.as_array().unwrap().clone();
    assert_eq!(drafts.len(), 1, "{drafts:?}");
    assert_eq!(drafts[0]["name"], "write-a-post-about-agents.md");
    let on_disk =
        std::fs::read_to_string(e.workspace.join("drafts/write-a-post-about-agents.md")).unwrap();
    assert_eq!(
        drafts[0]["text"],
        on_disk.as_str(),
        "the whole draft, in the row"
    );
    let c = comments(&sql, &ok).await;
    assert_eq!(c.len(), 2, "{c:#?}");
    assert!(c[0].1.starts_with("Working on it… (attempt 1 of 2)"));
    assert!(c[1].1.starts_with("Done. Ready for review."));
    assert!(c.iter().all(|(a, _)| a == "delegate"));
    let (status, attempts, ..) = row(&sql, &bad).await;
    assert_eq!(
        (status.as_str(), attempts),
        ("pending", 1),
        "one failure, a retry waits"
    );
    let held: (Option<String>, Option<String>) = {
        let r = sql
            .query_one(
                "SELECT claimed_by, claim_id FROM delegate_tasks WHERE id = $1::text::bigint",
                &[&ok],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(held, (None, None), "the claim is gone with the run's end");

    // The second attempt fails too: given up.
    let r = engine.run_once(&engine.select(&[]).unwrap(), &cancel).await;
    assert_eq!(r[0].1.as_ref().unwrap().runs.len(), 1);
    let (status, attempts, result, _) = row(&sql, &bad).await;
    assert_eq!((status.as_str(), attempts), ("failed", 2));
    assert!(result.unwrap().starts_with("Failed after 2 attempts"));

    // Request changes: a feedback row, back to pending, worked again with the feedback.
    engine
        .request_changes(runs[0].0, "Make it half as long.")
        .await
        .unwrap();
    let (status, ..) = row(&sql, &ok).await;
    assert_eq!(status, "pending");
    let c = comments(&sql, &ok).await;
    assert_eq!(
        c.last().unwrap(),
        &("person".to_string(), "Make it half as long.".to_string())
    );
    let r = engine.run_once(&engine.select(&[]).unwrap(), &cancel).await;
    let rework = r[0].1.as_ref().unwrap().runs.clone();
    assert_eq!(rework.len(), 1);
    let detail = engine.history().get(rework[0].0).unwrap();
    assert!(
        detail
            .input
            .as_deref()
            .unwrap_or("")
            .contains("Make it half as long."),
        "{:?}",
        detail.input
    );
    assert_eq!(row(&sql, &ok).await.0, "review");

    // Approve: done, and no longer open.
    engine.approve(rework[0].0).await.unwrap();
    assert_eq!(row(&sql, &ok).await.0, "done");
    let r = engine.run_once(&engine.select(&[]).unwrap(), &cancel).await;
    assert!(r[0].1.as_ref().unwrap().runs.is_empty());
    let other: String = sql
        .query_one(
            "SELECT status FROM delegate_tasks WHERE employee = 'Someone else'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(other, "pending", "another employee's row is left alone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_blocked_by_the_machine_gives_the_row_back_at_once() {
    let server = PgServer::start();
    let db = server.database("blocked").await;
    let home = pg_home(&server, &db);
    home.add(&home.employee("Writer", SourceKind::Postgres, None));
    let engine = pg_engine(&home);
    let id = engine
        .add_task("Writer", "Post [not-logged-in]", "", 1)
        .await
        .unwrap();
    let r = engine
        .run_once(&engine.select(&[]).unwrap(), &CancellationToken::new())
        .await;
    assert_eq!(
        r[0].1
            .as_ref()
            .unwrap()
            .runs
            .iter()
            .map(|r| r.1)
            .collect::<Vec<_>>(),
        [RunStatus::Blocked]
    );
    // Not the task's fault: waiting again, held by no one, no attempt counted, no comment left
    // (another machine, logged in, may take it now rather than after the lease).
    let sql = server.connect(&db).await;
    let r = sql
        .query_one(
            "SELECT status, attempts, claimed_by, claim_id, lease_until IS NULL FROM delegate_tasks WHERE id = $1::text::bigint",
            &[&id],
        )
        .await
        .unwrap();
    let got: (String, i32, Option<String>, Option<String>, bool) =
        (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
    assert_eq!(got, ("pending".into(), 0, None, None, true));
    assert!(comments(&sql, &id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_of_your_own_is_mapped() {
    let server = PgServer::start();
    let db = server.database("own").await;
    let sql = server.connect(&db).await;
    // A content pipeline's own table: uuid ids, its own names and states, a date.
    sql.batch_execute(
        "CREATE SCHEMA content;
         CREATE TABLE content.posts (
             post_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
             owner text NOT NULL,
             headline text NOT NULL,
             body text,
             state text NOT NULL DEFAULT 'todo',
             prio smallint NOT NULL DEFAULT 1,
             due_on date
         );
         INSERT INTO content.posts (owner, headline, body, due_on)
             VALUES ('Writer', 'Post about the launch', 'Two lines.', '2026-01-15');
         INSERT INTO content.posts (owner, headline, state) VALUES ('Writer', 'Still a sketch', 'draft');",
    )
    .await
    .unwrap();
    let home = Home::new(None);
    std::fs::write(
        &home.paths.config_file,
        format!(
            "[postgres]\nurl = \"{}\"\n\n[postgres.columns]\nid = \"post_id\"\nemployee = \"owner\"\n\
             title = \"headline\"\ndescription = \"body\"\nstatus = \"state\"\npriority = \"prio\"\n\
             due = \"due_on\"\n\n[postgres.statuses]\npending = \"todo\"\nworking = \"doing\"\n\
             review = \"in_review\"\nneeds_input = \"question\"\nfailed = \"stuck\"\ndone = \"published\"\n",
            server.url(&db)
        ),
    )
    .unwrap();
    let mut e = home.employee("Writer", SourceKind::Postgres, None);
    e.set_setting("pg_table", Some("content.posts"));
    home.add(&e);
    let engine = pg_engine(&home);
    let said = engine
        .prepare_source(SourceKind::Postgres, "content.posts", false)
        .await
        .unwrap();
    assert!(
        said.contains("content.posts") && said.contains("applied version 1"),
        "{said}"
    );
    let cancel = CancellationToken::new();
    let r = engine.run_once(&engine.select(&[]).unwrap(), &cancel).await;
    let runs = r[0].1.as_ref().unwrap().runs.clone();
    assert_eq!(runs.len(), 1, "only the row in todo: {runs:?}");
    assert_eq!(runs[0].1, RunStatus::Succeeded);
    let rows: Vec<(String, String, Option<String>, i32)> = sql
        .query(
            "SELECT headline, state, result, attempts FROM content.posts ORDER BY headline",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(rows[0].0, "Post about the launch");
    assert_eq!(rows[0].1, "in_review");
    assert!(
        rows[0]
            .2
            .as_deref()
            .unwrap()
            .starts_with("Done. Ready for review.")
    );
    assert_eq!(
        (rows[1].1.as_str(), rows[1].2.as_deref()),
        ("draft", None),
        "left alone"
    );
    let notes: i64 = sql
        .query_one(
            "SELECT count(*) FROM content.posts_comments c JOIN content.posts p ON p.post_id = c.task_id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(notes, 2, "a claim and an end, keyed by the uuid");
    // The task as the worker saw it: its own due date, its uuid.
    let detail = engine.history().get(runs[0].0).unwrap();
    assert_eq!(detail.run.task_id.len(), 36, "{}", detail.run.task_id);
    engine.approve(runs[0].0).await.unwrap();
    let state: String = sql
        .query_one(
            "SELECT state FROM content.posts WHERE headline = 'Post about the launch'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "published");
    // A mapping that names a column the table lacks says which.
    std::fs::write(
        &home.paths.config_file,
        std::fs::read_to_string(&home.paths.config_file)
            .unwrap()
            .replace("\"prio\"", "\"urgency\""),
    )
    .unwrap();
    let engine = pg_engine(&home);
    let err = engine
        .prepare_source(SourceKind::Postgres, "content.posts", false)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("has no column \"urgency\" (its `priority`)"),
        "{err}"
    );
}

/// Every title started once, and each row has one claim and one end.
async fn check_each_once(
    sql: &tokio_postgres::Client,
    fleet: &Fleet,
    titles: &[String],
) -> HashMap<String, usize> {
    let starts = fleet.starts();
    let mut per_engine: HashMap<String, usize> = HashMap::new();
    for t in titles {
        let s = starts.get(t).cloned().unwrap_or_default();
        assert_eq!(s.len(), 1, "“{t}” started once: {s:?}");
        *per_engine.entry(s[0].clone()).or_default() += 1;
    }
    let noisy: i64 = sql
        .query_one(
            "SELECT count(*) FROM (SELECT task_id FROM delegate_tasks_comments GROUP BY task_id HAVING count(*) <> 2) x",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(noisy, 0, "every row: one claim, one end");
    per_engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_engines_on_one_table_run_each_task_once() {
    let server = PgServer::start();
    let db = server.database("fleet").await;
    let mut fleet = Fleet::new(&server, &db, 4, 60, 30);
    init_with_cli(&fleet.homes[0], &fleet.url).await;
    let sql = server.connect(&db).await;
    for i in 0..4 {
        fleet.start(i, 0);
    }
    // Two rounds on the same running engines: each task exactly once, none left.
    let mut all = Vec::new();
    for round in 0..2 {
        let titles: Vec<String> = (0..400)
            .map(|i| format!("Round {round} task {i:03}"))
            .collect();
        let start = Instant::now();
        insert(&sql, &titles).await;
        all.extend(titles);
        until_reviewed(&sql, all.len() as i64, Duration::from_secs(300), &fleet).await;
        let took = start.elapsed();
        let per_engine = check_each_once(&sql, &fleet, &all).await;
        println!(
            "round {round}: 400 tasks by 4 engines in {:.1} s ({:.1} tasks/s); per engine {per_engine:?}",
            took.as_secs_f64(),
            400.0 / took.as_secs_f64()
        );
        assert_eq!(
            count(&sql, "pending").await + count(&sql, "working").await,
            0
        );
    }
    // The password reached no agent: every agent's recorded argv and environment.
    let records = fleet.all_records();
    assert_eq!(records.len(), 800);
    for record in records {
        assert!(
            !record.contains(PASSWORD),
            "the database password reached an agent"
        );
        assert!(!record.contains("DATABASE_URL"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_engines_task_is_taken_over_after_its_lease() {
    let server = PgServer::start();
    let db = server.database("takeover").await;
    // A short run timeout: the lease is timeout + grace (1 s).
    let mut fleet = Fleet::new(&server, &db, 2, 4, 1);
    init_with_cli(&fleet.homes[0], &fleet.url).await;
    let sql = server.connect(&db).await;
    fleet.start(0, 3000);
    insert(&sql, &["Slow task [slow]".to_string()]).await;
    // Wait until engine 0's agent works on it, then kill the engine without a chance to
    // clean up.
    let start = Instant::now();
    loop {
        if count(&sql, "working").await == 1 && !fleet.starts().is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{}",
            fleet.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fleet.signal(0, Signal::SIGKILL);
    let lease: chrono::DateTime<chrono::Utc> = sql
        .query_one("SELECT lease_until FROM delegate_tasks", &[])
        .await
        .unwrap()
        .get(0);
    fleet.start(1, 0);
    until_reviewed(&sql, 1, Duration::from_secs(60), &fleet).await;
    let starts = fleet.starts();
    let who = &starts["Slow task [slow]"];
    assert_eq!(who, &["engine-0", "engine-1"], "{starts:?}");
    let taken: chrono::DateTime<chrono::Utc> = sql
        .query_one(
            "SELECT created_at FROM delegate_tasks_comments WHERE body LIKE 'Working on it%engine-1%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        taken >= lease,
        "taken over at {taken}, before the lease ended at {lease}"
    );
}

/// What `delegate history --json` says of an engine's runs.
fn history(fleet: &Fleet, i: usize) -> String {
    let out = std::process::Command::new(delegate_testkit::sibling_binary("delegate"))
        .arg("--home")
        .arg(&fleet.homes[i])
        .args(["history", "--json"])
        .env_remove("DELEGATE_HOME")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_that_slept_past_its_lease_leaves_the_new_holders_end_alone() {
    let server = PgServer::start();
    let db = server.database("slept").await;
    // Runs may last 6 s; a claim holds 7 s (timeout + 1 s grace) unless renewed.
    let mut fleet = Fleet::new(&server, &db, 2, 6, 1);
    init_with_cli(&fleet.homes[0], &fleet.url).await;
    let sql = server.connect(&db).await;
    fleet.start(0, 1500);
    insert(&sql, &["Long task".to_string()]).await;
    let start = Instant::now();
    while fleet.starts().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{}",
            fleet.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The laptop's lid closes: engine 0 stops where it is, its agent mid-run.
    fleet.pause(0);
    let lease: chrono::DateTime<chrono::Utc> = sql
        .query_one("SELECT lease_until FROM delegate_tasks", &[])
        .await
        .unwrap()
        .get(0);
    // Past the lease (on the server's clock), another engine takes the task and ends it.
    loop {
        let now: chrono::DateTime<chrono::Utc> =
            sql.query_one("SELECT now()", &[]).await.unwrap().get(0);
        if now > lease + chrono::Duration::milliseconds(200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fleet.start(1, 0);
    until_reviewed(&sql, 1, Duration::from_secs(60), &fleet).await;
    let (result_b, attempts): (String, i32) = {
        let r = sql
            .query_one("SELECT result, attempts FROM delegate_tasks", &[])
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    // The lid opens: engine 0 finds its claim gone; whatever its run came to, the row stays
    // as engine 1 left it.
    fleet.resume(0);
    let start = Instant::now();
    loop {
        let h = history(&fleet, 0);
        if h.contains("\"status\"") && !h.contains("\"running\"") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "engine 0: {h}\n{}",
            fleet.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = sql
        .query_one(
            "SELECT status, result, attempts, claimed_by FROM delegate_tasks",
            &[],
        )
        .await
        .unwrap();
    let (status, result, now_attempts, holder): (String, String, i32, Option<String>) =
        (r.get(0), r.get(1), r.get(2), r.get(3));
    assert_eq!(status, "review");
    assert_eq!(result, result_b, "engine 1's end stands");
    assert_eq!(now_attempts, attempts);
    assert_eq!(holder, None);
    let ends: Vec<String> = sql
        .query(
            "SELECT body FROM delegate_tasks_comments WHERE body NOT LIKE 'Working on it%' ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ends.len(), 1, "one end, engine 1's: {ends:#?}");
    assert!(ends[0].starts_with("Done. Ready for review."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_started_while_the_server_is_down_works_once_it_is_up() {
    let server = PgServer::start();
    let db = server.database("late").await;
    let mut fleet = Fleet::new(&server, &db, 1, 60, 1);
    init_with_cli(&fleet.homes[0], &fleet.url).await;
    server.down("fast");
    fleet.start(0, 0);
    // It polls, fails and says why (the log names the server), and keeps polling.
    let start = Instant::now();
    let said = || {
        ["stdout.txt", "stderr.txt"]
            .iter()
            .map(|f| std::fs::read_to_string(fleet.homes[0].join(f)).unwrap_or_default())
            .collect::<String>()
    };
    while !said().contains("cannot reach PostgreSQL") {
        assert!(start.elapsed() < Duration::from_secs(30), "{}", said());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.up();
    let sql = server.connect(&db).await;
    insert(&sql, &["After the outage".to_string()]).await;
    until_reviewed(&sql, 1, Duration::from_secs(60), &fleet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_wakes_an_engine_long_before_its_poll() {
    let server = PgServer::start();
    let db = server.database("notify").await;
    // Polls every 10 minutes: only NOTIFY can start a task within seconds.
    let mut fleet = Fleet::new(&server, &db, 1, 60, 600);
    init_with_cli(&fleet.homes[0], &fleet.url).await;
    let sql = server.connect(&db).await;
    // A first task, worked by the poll at start: the engine is then listening (or about
    // to be: a listener that connects wakes its employees once, in case it missed one).
    // Added as a person would, with the CLI.
    let out = std::process::Command::new(delegate_testkit::sibling_binary("delegate"))
        .arg("--home")
        .arg(&fleet.homes[0])
        .args([
            "task",
            "add",
            "--employee",
            "Writer",
            "Warm-up",
            "-d",
            "First.",
        ])
        .env("DATABASE_URL", &fleet.url)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.starts_with("Added task 1 for Writer."),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fleet.start(0, 0);
    until_reviewed(&sql, 1, Duration::from_secs(30), &fleet).await;
    let mut latencies = Vec::new();
    for i in 1..=20 {
        let t0 = Instant::now();
        insert(&sql, &[format!("Ping {i}")]).await;
        loop {
            let claimed: i64 = sql
                .query_one(
                    "SELECT count(*) FROM delegate_tasks_comments WHERE body LIKE 'Working on it%'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            if claimed > i {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "not woken\n{}",
                fleet.logs()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        latencies.push(t0.elapsed());
        until_reviewed(&sql, i + 1, Duration::from_secs(20), &fleet).await;
    }
    latencies.sort();
    println!(
        "NOTIFY pickup latency (insert → claim), 20 tasks: p50 {:?}, p95 {:?}",
        latencies[10], latencies[18]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restarted_mid_run_loses_nothing() {
    let server = PgServer::start();
    let db = server.database("restart").await;
    let mut fleet = Fleet::new(&server, &db, 2, 60, 1);
    init_with_cli(&fleet.homes[0], &fleet.url).await;
    let sql = server.connect(&db).await;
    fleet.start(0, 300);
    fleet.start(1, 300);
    let titles: Vec<String> = (0..12).map(|i| format!("Restart task {i:02}")).collect();
    insert(&sql, &titles).await;
    // Wait until work is under way, then crash and restart the server.
    let start = Instant::now();
    while count(&sql, "review").await < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{}",
            fleet.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(sql);
    server.down("immediate");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.up();
    let sql = server.connect(&db).await;
    until_reviewed(&sql, titles.len() as i64, Duration::from_secs(120), &fleet).await;
    let starts = fleet.starts();
    for t in &titles {
        let s = starts.get(t).cloned().unwrap_or_default();
        // A run whose end could not be written is finished from the outbox, never run again
        // while its claim holds.
        assert!(
            !s.is_empty() && s.len() <= 1,
            "“{t}”: {s:?}\n{}",
            fleet.logs()
        );
    }
    assert_eq!(
        count(&sql, "pending").await + count(&sql, "working").await,
        0
    );
}
