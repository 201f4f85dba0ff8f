//! `delegate-bench postgres [--tasks N]`: PostgreSQL figures on a real private server —
//! tasks per second claimed and finished by 1, 2 and 4 engines (`delegate run --watch`
//! processes) on one table with an instant agent, and how long a new row waits before an
//! engine claims it, woken by NOTIFY and by polling alone.

use delegate_testkit::postgres::{Fleet, PgServer, count, init_with_cli, insert, until_reviewed};
use std::time::{Duration, Instant};

pub async fn main(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let tasks: usize = args
        .iter()
        .position(|a| a == "--tasks")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let server = PgServer::start();
    println!(
        "PostgreSQL: {tasks} tasks on one table, an instant agent (release figures are higher)"
    );
    for engines in [1usize, 2, 4] {
        let db = server.database(&format!("throughput_{engines}")).await;
        let mut fleet = Fleet::new(&server, &db, engines, 60, 30);
        init_with_cli(&fleet.homes[0], &fleet.url).await;
        let sql = server.connect(&db).await;
        // Engines running and idle first: the figure is the work, not the start-up.
        for i in 0..engines {
            fleet.start(i, 0);
        }
        insert(&sql, &["Warm-up".to_string()]).await;
        until_reviewed(&sql, 1, Duration::from_secs(60), &fleet).await;
        let titles: Vec<String> = (0..tasks).map(|i| format!("Bench task {i:04}")).collect();
        let start = Instant::now();
        insert(&sql, &titles).await;
        until_reviewed(&sql, tasks as i64 + 1, Duration::from_secs(900), &fleet).await;
        let took = start.elapsed().as_secs_f64();
        let starts = fleet.starts();
        let twice = starts.values().filter(|s| s.len() > 1).count();
        println!(
            "  {engines} engine{}: {tasks} tasks in {took:.1} s = {:.1} tasks/s claimed and finished; run twice: {twice}; left: {}",
            if engines == 1 { " " } else { "s" },
            tasks as f64 / took,
            count(&sql, "pending").await + count(&sql, "working").await
        );
    }
    for (words, poll, trigger) in [("NOTIFY", 600u64, true), ("polling every 2 s", 2, false)] {
        let db = server
            .database(&format!(
                "latency_{}",
                if trigger { "notify" } else { "poll" }
            ))
            .await;
        let mut fleet = Fleet::new(&server, &db, 1, 60, poll);
        init_with_cli(&fleet.homes[0], &fleet.url).await;
        let sql = server.connect(&db).await;
        if !trigger {
            sql.batch_execute(
                "DROP TRIGGER delegate_tasks_notify ON delegate_tasks;
                 DROP TRIGGER delegate_tasks_comment_notify ON delegate_tasks_comments;",
            )
            .await?;
        }
        insert(&sql, &["Warm-up".to_string()]).await;
        fleet.start(0, 0);
        until_reviewed(&sql, 1, Duration::from_secs(60), &fleet).await;
        let rounds = if trigger { 40 } else { 8 };
        let mut waits = Vec::new();
        for i in 1..=rounds {
            // Inserted at a random moment of the poll interval.
            tokio::time::sleep(Duration::from_millis(fastrand_ms(poll))).await;
            let t0 = Instant::now();
            insert(&sql, &[format!("Ping {i}")]).await;
            loop {
                let claims: i64 = sql
                    .query_one(
                        "SELECT count(*) FROM delegate_tasks_comments WHERE body LIKE 'Working on it%'",
                        &[],
                    )
                    .await?
                    .get(0);
                if claims > i as i64 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            waits.push(t0.elapsed());
            until_reviewed(&sql, i as i64 + 1, Duration::from_secs(60), &fleet).await;
        }
        waits.sort();
        let pct = |p: f64| waits[((waits.len() as f64 * p) as usize).min(waits.len() - 1)];
        println!(
            "  pickup latency (insert → claim) with {words}: p50 {:.0} ms, p95 {:.0} ms ({rounds} rows)",
            pct(0.5).as_secs_f64() * 1000.0,
            pct(0.95).as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

/// A pause of up to one poll interval (at most 2 s), so a row lands anywhere in it.
fn fastrand_ms(poll_secs: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0) as u64;
    nanos % (poll_secs.min(2) * 1000).max(1)
}
