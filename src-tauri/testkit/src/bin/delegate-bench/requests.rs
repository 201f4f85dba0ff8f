//! `delegate-bench requests`: what a finished task costs in Todoist requests when two
//! machines share a project — two engines (each its own home and machine name) run their
//! watch loops at the default poll interval and settle time against one fake Todoist until
//! every task is done; every request the fake received counts, polls included.

use delegate_core::config::{Employee, SourceKind, edit};
use delegate_core::secrets::MemoryStore;
use delegate_core::{Engine, Paths};
use delegate_testkit::FakeTodoist;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "bench-token";
const TASKS: usize = 12;
/// The most a finished task may cost (issue: ≤ 2.3 with polls at 30 s).
pub const TARGET: f64 = 2.3;

/// Runs the two machines and prints the figure; `Err` when it is above [`TARGET`] and
/// `enforce` is set.
pub async fn main(enforce: bool) -> Result<(), Box<dyn std::error::Error>> {
    let fake = std::env::current_exe()?.with_file_name("fake-claude");
    if !fake.exists() {
        println!("requests: skipped ({} not built)", fake.display());
        return Ok(());
    }
    let server = FakeTodoist::start(TOKEN).await;
    let project = server.add_project("Shared");
    let tasks: Vec<String> = (0..TASKS)
        .map(|i| server.add_task(&project, &format!("Bench task {i:02}"), ""))
        .collect();
    let mut engines = Vec::new();
    let mut dirs = Vec::new();
    for m in ["bench-a", "bench-b"] {
        let dir = tempfile::tempdir()?;
        let paths = Paths::under(dir.path());
        std::fs::write(
            &paths.config_file,
            format!(
                "[todoist]\napi_url = \"{}\"\n\n[machine]\nname = \"{m}\"\n",
                server.url
            ),
        )?;
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(&ws)?;
        let mut e = Employee::new("Writer", SourceKind::Todoist, ws);
        e.set_setting("project", Some("Shared"));
        e.command = Some(fake.display().to_string());
        edit::add_employee(&paths.config_file, &e)?;
        engines.push(Engine::open(
            paths,
            delegate_core::secrets::Stores::memory()
                .with(SourceKind::Todoist, MemoryStore::with(TOKEN)),
        )?);
        dirs.push(dir);
    }
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let all_a = engines[0].select(&[])?;
    let all_b = engines[1].select(&[])?;
    let done = || {
        tasks
            .iter()
            .all(|t| server.task(t).labels == ["agent-done"])
    };
    let watch = async {
        while !done() {
            if started.elapsed() > Duration::from_secs(300) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        cancel.cancel();
    };
    tokio::join!(
        engines[0].watch(&all_a, &cancel),
        engines[1].watch(&all_b, &cancel),
        watch
    );
    if !done() {
        return Err("requests: the two machines did not finish the tasks in 5 minutes".into());
    }
    let requests = server.requests().len();
    let per_task = requests as f64 / TASKS as f64;
    println!(
        "requests: {TASKS} tasks on 2 machines (poll 30 s, settle 5 s) done in {:.0} s with \
         {requests} requests = {per_task:.2} per finished task, polls included (target ≤ {TARGET}; \
         the original Python worker needs 3.2 on one machine)",
        started.elapsed().as_secs_f64()
    );
    if enforce && per_task > TARGET {
        return Err(format!("requests: {per_task:.2} per finished task is above {TARGET}").into());
    }
    Ok(())
}
