//! Prints speed and memory figures for the engine (a benchmark, never a test):
//! stream parsing, the cost of a poll across many employees, history queries over 100 000
//! runs, the idle footprint of `delegate run --watch`, and its peak memory while an agent
//! streams 256 MB.
//! Run: cargo run --release -p delegate-testkit --bin delegate-bench
//! Only the memory figures: `delegate-bench memory [--mb N] [--max-rss-mb N] [--delegate PATH]`
//! (see [`memory`]); PostgreSQL throughput and pickup latency on a real server:
//! `delegate-bench postgres [--tasks N]`.

use delegate_core::agent::Parsed;
use delegate_core::agent::Progress;
use delegate_core::agent::claude::parse_line;
use delegate_core::config::{Employee, SourceKind, edit};
use delegate_core::history::{History, NewRun, RunEnd, RunFilter, RunStatus};
use delegate_core::secrets::MemoryStore;
use delegate_core::source::Task;
use delegate_core::{Engine, Paths};
use delegate_testkit::FakeTodoist;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[path = "delegate-bench/memory.rs"]
mod memory;
#[path = "delegate-bench/postgres.rs"]
mod postgres;
#[path = "delegate-bench/requests.rs"]
mod requests;

const SUCCESS: &str = include_str!("../../../core/tests/fixtures/success.jsonl");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("memory") {
        return memory::main(&args[1..]);
    }
    let rt = tokio::runtime::Runtime::new()?;
    if args.first().map(String::as_str) == Some("postgres") {
        return rt.block_on(postgres::main(&args[1..]));
    }
    if args.first().map(String::as_str) == Some("requests") {
        return rt.block_on(requests::main(args.iter().any(|a| a == "--enforce")));
    }
    parsing();
    rt.block_on(polling())?;
    rt.block_on(requests::main(false))?;
    history()?;
    idle_watch()?;
    memory::main(&[])?;
    Ok(())
}

fn parsing() {
    let stream = SUCCESS
        .replace("{{CWD}}", "/w")
        .replace("{{DRAFT}}", "drafts/x.md")
        .replace("{{SESSION}}", "s");
    let lines: Vec<&str> = stream.lines().collect();
    let rounds = 20_000;
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum::<usize>() * rounds;
    let start = Instant::now();
    let mut events = 0usize;
    for _ in 0..rounds {
        let mut p = Progress::new(Path::new("/w"));
        for l in &lines {
            if let Parsed::Events(ev) = parse_line(l) {
                for e in &ev {
                    let _ = p.line(e);
                }
                events += ev.len();
            }
        }
    }
    let t = start.elapsed().as_secs_f64();
    let n = lines.len() * rounds;
    println!(
        "parse: {n} stream lines ({:.1} MB) in {t:.2} s = {:.0} lines/s, {:.1} MB/s ({events} events)",
        bytes as f64 / 1e6,
        n as f64 / t,
        bytes as f64 / 1e6 / t
    );
}

const TOKEN: &str = "bench-token";

/// A fake Todoist account and a Delegate home pointed at it.
async fn todoist_home()
-> Result<(FakeTodoist, tempfile::TempDir, Paths), Box<dyn std::error::Error>> {
    let server = FakeTodoist::start(TOKEN).await;
    let dir = tempfile::tempdir()?;
    let paths = Paths::under(dir.path());
    std::fs::write(
        &paths.config_file,
        format!("[todoist]\napi_url = \"{}\"\n", server.url),
    )?;
    Ok((server, dir, paths))
}

async fn polling() -> Result<(), Box<dyn std::error::Error>> {
    let (server, dir, paths) = todoist_home().await?;
    let employees = 10;
    let tasks_each = 500;
    for i in 0..employees {
        let name = format!("Employee {i}");
        let p = server.add_project(&name);
        for j in 0..tasks_each {
            server.add_task_with(&p, &format!("Task {j}"), "", 1, None, &["agent-done"]);
        }
        let ws = dir.path().join(format!("ws{i}"));
        std::fs::create_dir_all(&ws)?;
        let mut e = Employee::new(&name, SourceKind::Todoist, ws);
        e.set_setting("project", Some(&name));
        e.command = Some(std::env::current_exe()?.display().to_string());
        edit::add_employee(&paths.config_file, &e)?;
    }
    let engine = Engine::open(
        paths,
        delegate_core::secrets::Stores::memory()
            .with(SourceKind::Todoist, MemoryStore::with(TOKEN)),
    )?;
    let all = engine.select(&[])?;
    let cancel = CancellationToken::new();
    // First cycle: full sync. Then incremental cycles.
    let start = Instant::now();
    engine.run_once(&all, &cancel).await;
    let full = start.elapsed();
    server.clear_requests();
    let cycles = 20;
    let start = Instant::now();
    for _ in 0..cycles {
        engine.run_once(&all, &cancel).await;
    }
    let per = start.elapsed() / cycles;
    let requests = server.requests().len() as f64 / cycles as f64;
    println!(
        "poll: {employees} employees × {tasks_each} tasks: first cycle (full sync) {:.1} ms; \
         later cycles {:.2} ms and {requests:.1} HTTP request(s) per cycle for all employees",
        full.as_secs_f64() * 1e3,
        per.as_secs_f64() * 1e3
    );
    Ok(())
}

fn history() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let h = History::open(&dir.path().join("history.db"))?;
    let n = 100_000;
    let start = Instant::now();
    for i in 0..n {
        let task = Task {
            id: format!("t{i}"),
            title: format!(
                "Task number {i} about {}",
                ["agents", "posts", "reviews", "notes"][i % 4]
            ),
            description: String::new(),
            labels: vec![],
            priority: 1,
            due: None,
            recurring: false,
            order: 0,
            updated_at: None,
            url: None,
        };
        let id = h.start_run(&NewRun {
            employee: ["Writer", "Reviewer", "Research"][i % 3],
            source: "local",
            task: &task,
            attempt: 1,
            max_attempts: 3,
            machine: "bench",
            command: &[],
            claim_id: "bench",
            input: None,
        })?;
        let mut end = RunEnd::status(if i % 5 == 0 {
            RunStatus::Failed
        } else {
            RunStatus::Succeeded
        });
        end.cost_usd = Some(0.01);
        h.finish_run(id, &end, &[], None)?;
    }
    let insert = start.elapsed();
    let time = |f: &dyn Fn() -> usize| {
        let start = Instant::now();
        let mut rows = 0;
        for _ in 0..20 {
            rows = f();
        }
        (start.elapsed() / 20, rows)
    };
    let (first, _) = time(&|| {
        h.list(&RunFilter {
            limit: 50,
            ..Default::default()
        })
        .map(|r| r.len())
        .unwrap_or(0)
    });
    let (deep, _) = time(&|| {
        h.list(&RunFilter {
            limit: 50,
            before_id: Some(1_000),
            ..Default::default()
        })
        .map(|r| r.len())
        .unwrap_or(0)
    });
    let (filtered, _) = time(&|| {
        h.list(&RunFilter {
            limit: 50,
            employee: Some("Reviewer".into()),
            status: Some(RunStatus::Failed),
            ..Default::default()
        })
        .map(|r| r.len())
        .unwrap_or(0)
    });
    let (search, _) = time(&|| {
        h.list(&RunFilter {
            limit: 50,
            text: Some("number 99999".into()),
            ..Default::default()
        })
        .map(|r| r.len())
        .unwrap_or(0)
    });
    let (spend, _) = time(&|| {
        h.spend_since(
            Some("Writer"),
            chrono::Utc::now() - chrono::Duration::days(1),
        )
        .map(|v| v as usize)
        .unwrap_or(0)
    });
    println!(
        "history: {n} runs written in {:.1} s ({:.0} runs/s); first page {:.2} ms, page near the end {:.2} ms, \
         employee+status filter {:.2} ms, text search {:.1} ms, today's spend {:.1} ms",
        insert.as_secs_f64(),
        n as f64 / insert.as_secs_f64(),
        ms(first),
        ms(deep),
        ms(filtered),
        ms(search),
        ms(spend)
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn idle_watch() -> Result<(), Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let delegate = exe.with_file_name("delegate");
    if !delegate.exists() {
        println!("idle: skipped ({} not built)", delegate.display());
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let paths = Paths::under(dir.path());
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws)?;
    let mut e = Employee::new("Idle", SourceKind::Local, ws);
    e.command = Some(exe.display().to_string());
    e.poll_secs = 5;
    edit::add_employee(&paths.config_file, &e)?;
    let mut child = std::process::Command::new(&delegate)
        .arg("--home")
        .arg(dir.path())
        .args(["run", "--watch"])
        .stdout(std::process::Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_secs(2));
    let cpu0 = cpu_ticks(child.id());
    let window = 20;
    std::thread::sleep(Duration::from_secs(window));
    let cpu1 = cpu_ticks(child.id());
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))?;
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap_or("VmRSS: ?")
        .to_string();
    let rollup =
        std::fs::read_to_string(format!("/proc/{}/smaps_rollup", child.id())).unwrap_or_default();
    let pss = rollup
        .lines()
        .find(|l| l.starts_with("Pss:"))
        .unwrap_or("Pss: ?")
        .to_string();
    let _ = child.kill();
    let _ = child.wait();
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let cpu = (cpu1.saturating_sub(cpu0)) as f64 / ticks / window as f64 * 100.0;
    println!(
        "idle: `delegate run --watch` (1 local employee, 5 s poll): {} / {} ; CPU {cpu:.2} % over {window} s",
        rss.split_whitespace().skip(1).collect::<Vec<_>>().join(" "),
        pss.split_whitespace().skip(1).collect::<Vec<_>>().join(" ") + " PSS"
    );
    Ok(())
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat; after the ")" they are 12 and 13 (0-based 11, 12).
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}
