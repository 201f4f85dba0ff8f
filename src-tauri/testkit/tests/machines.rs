//! Several machines on one Todoist project, as real `delegate run --watch` processes (each
//! with its own home and machine name) against one fake Todoist server that shows every
//! second claim write three seconds late, with latency and a skewed clock: every task's agent
//! starts exactly once and every machine takes part (wins, loses, stays up); a finished task
//! costs at most 2.3 requests; a killed machine's task is taken over only after its lease,
//! and a restart leaves no process of the killed run alive.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::*;
use delegate_testkit::{FakeTodoist, sibling_binary};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Machine {
    name: String,
    home: PathBuf,
    child: Option<Child>,
}

/// How the machines are set up.
#[derive(Clone, Copy)]
struct Setup {
    timeout_secs: u64,
    grace_secs: u64,
    poll_secs: u64,
    /// `None`: the default settle time.
    settle_secs: Option<u64>,
}

impl Setup {
    fn new(timeout_secs: u64, grace_secs: u64) -> Self {
        Self {
            timeout_secs,
            grace_secs,
            poll_secs: 1,
            settle_secs: None,
        }
    }
}

struct Fleet {
    dir: tempfile::TempDir,
    server: FakeTodoist,
    project: String,
    /// Where the fake agent records each start (one file per process).
    records: PathBuf,
    machines: Vec<Machine>,
}

impl Fleet {
    async fn new(project: &str, machines: usize, setup: Setup) -> Self {
        let Setup {
            timeout_secs,
            grace_secs,
            poll_secs,
            settle_secs,
        } = setup;
        let settle = settle_secs
            .map(|s| format!("claim_settle_secs = {s}\n"))
            .unwrap_or_default();
        let server = FakeTodoist::start(TOKEN).await;
        let project_id = server.add_project(project);
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records");
        // Folders the fake agent writes outside its workspace, opened in its sandbox.
        std::fs::create_dir_all(&records).unwrap();
        std::fs::create_dir_all(dir.path().join("once")).unwrap();
        let machines = (0..machines)
            .map(|i| {
                let name = format!("machine-{}", (b'a' + i as u8) as char);
                let home = dir.path().join(&name);
                let ws = home.join("workspace");
                std::fs::create_dir_all(&ws).unwrap();
                std::fs::write(
                    home.join("config.toml"),
                    format!(
                        "[todoist]\napi_url = \"{}\"\ntimeout_secs = 5\n\n[machine]\nclaim_grace_secs = {grace_secs}\n{settle}\n\
                         [[employee]]\nname = \"Writer\"\nsource = \"todoist\"\nproject = \"{project}\"\n\
                         workspace = \"{}\"\ncommand = \"{}\"\npoll_secs = {poll_secs}\ntimeout_secs = {timeout_secs}\n\
                         retry_backoff_secs = 0\n\
                         sandbox_write = [\"{}\", \"{}\"]\n",
                        server.url,
                        ws.display(),
                        fake_claude().display(),
                        records.display(),
                        dir.path().join("once").display()
                    ),
                )
                .unwrap();
                Machine {
                    name,
                    home,
                    child: None,
                }
            })
            .collect();
        Self {
            dir,
            server,
            project: project_id,
            records,
            machines,
        }
    }

    fn start(&mut self, i: usize) {
        let m = &mut self.machines[i];
        let child = Command::new(sibling_binary("delegate"))
            .arg("--home")
            .arg(&m.home)
            .args(["run", "--watch"])
            .env("TODOIST_API_TOKEN", TOKEN)
            .env("DELEGATE_MACHINE", &m.name)
            .env("FAKE_CLAUDE_RECORD", &self.records)
            .env("FAKE_CLAUDE_DELAY_MS", "20")
            .env("FAKE_CLAUDE_ONCE_DIR", self.dir.path().join("once"))
            .env_remove("DELEGATE_HOME")
            .env_remove("DELEGATE_TODOIST_API_URL")
            .stdout(std::fs::File::create(m.home.join("stdout.txt")).unwrap())
            .stderr(std::fs::File::create(m.home.join("stderr.txt")).unwrap())
            .spawn()
            .unwrap();
        m.child = Some(child);
    }

    /// Every machine is still running.
    fn all_alive(&mut self) -> Vec<String> {
        let mut dead = Vec::new();
        for m in &mut self.machines {
            if m.child
                .as_mut()
                .is_none_or(|c| c.try_wait().unwrap().is_some())
            {
                dead.push(m.name.clone());
            }
        }
        dead
    }

    /// Stops every machine with SIGTERM and checks that each shut down cleanly: exit 0,
    /// "Stopping" said, no panic.
    fn stop_all_cleanly(&mut self) {
        for m in &mut self.machines {
            let mut c = m.child.take().expect("running");
            kill(Pid::from_raw(c.id() as i32), Signal::SIGTERM).unwrap();
            let status = c.wait().unwrap();
            let err = read(&m.home.join("stderr.txt"));
            assert!(status.success(), "{} ended with {status}: {err}", m.name);
            assert!(err.contains("Stopping"), "{}: {err}", m.name);
            assert!(!err.contains("panicked"), "{}: {err}", m.name);
        }
    }

    /// Which machine started the agent, per task title (in start order).
    fn starts(&self) -> HashMap<String, Vec<String>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        let Ok(dir) = std::fs::read_dir(&self.records) else {
            return out;
        };
        for f in dir.filter_map(Result::ok) {
            let doc: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(f.path()).unwrap()).unwrap();
            let argv: Vec<String> = serde_json::from_value(doc["argv"].clone()).unwrap();
            let prompt = argv.last().unwrap().lines().next().unwrap().to_string();
            let cwd = doc["cwd"].as_str().unwrap_or("");
            let machine = self
                .machines
                .iter()
                .find(|m| cwd.starts_with(m.home.to_str().unwrap()))
                .map(|m| m.name.clone())
                .unwrap_or_default();
            out.entry(prompt).or_default().push(machine);
        }
        out
    }

    fn signal(&mut self, i: usize, sig: Signal) {
        if let Some(mut c) = self.machines[i].child.take() {
            kill(Pid::from_raw(c.id() as i32), sig).unwrap();
            c.wait().unwrap();
        }
    }

    fn stop_all(&mut self) {
        for i in 0..self.machines.len() {
            self.signal(i, Signal::SIGTERM);
        }
    }

    /// How many times the agent was started for each task title.
    fn runs(&self) -> HashMap<String, usize> {
        let mut out = HashMap::new();
        let Ok(dir) = std::fs::read_dir(&self.records) else {
            return out;
        };
        for f in dir.filter_map(Result::ok) {
            let doc: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(f.path()).unwrap()).unwrap();
            let argv: Vec<String> = serde_json::from_value(doc["argv"].clone()).unwrap();
            let prompt = argv.last().unwrap().lines().next().unwrap().to_string();
            *out.entry(prompt).or_insert(0) += 1;
        }
        out
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for m in &mut self.machines {
            if let Some(c) = m.child.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// Waits (checking the server's state) until `done` holds, or fails after `limit`.
fn wait_for(path: &Path) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let s = read(path);
        if s.ends_with('\n') {
            return s.split_whitespace().map(|p| p.parse().unwrap()).collect();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The pids an agent wrote (as its PID namespace numbers them) as the host numbers them.
fn on_host(pids: &[u32], ws: &Path) -> Vec<u32> {
    pids.iter()
        .map(|p| delegate_testkit::host_pid(*p, ws).unwrap())
        .collect()
}

async fn gone(pid: u32) -> bool {
    for _ in 0..200 {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// What a round of machines left on the server.
struct Tally {
    /// Claims withdrawn, per machine.
    lost: HashMap<String, usize>,
    /// Tasks whose agent each machine started.
    won: HashMap<String, usize>,
}

/// Checks the promises on every task: the agent started exactly once, one claim and one
/// "Done" left on the task, `agent-done`. Returns who won and who lost.
fn check_round(fleet: &Fleet, tasks: &[String], round: &str) -> Tally {
    let starts = fleet.starts();
    assert_eq!(starts.len(), tasks.len(), "{round}: {starts:?}");
    let mut won: HashMap<String, usize> = HashMap::new();
    for (title, machines) in &starts {
        assert_eq!(
            machines.len(),
            1,
            "{round}: the agent of “{title}” started once: {machines:?}"
        );
        *won.entry(machines[0].clone()).or_default() += 1;
    }
    let mut lost: HashMap<String, usize> = HashMap::new();
    for t in tasks {
        let c = fleet.server.comments(t);
        assert_eq!(
            c.len(),
            2,
            "{round}: one claim and one Done, no noise: {c:#?}"
        );
        assert!(c[0].starts_with("Working on it… (attempt 1 of 3) on machine-"));
        assert!(c[1].starts_with("Done. Ready for review."), "{c:#?}");
        assert_eq!(fleet.server.task(t).labels, ["agent-done"], "{round}");
        for gone in fleet
            .server
            .all_comments(t)
            .iter()
            .filter(|c| c.is_deleted && c.content.starts_with("Working on it"))
        {
            let first = gone.content.lines().next().unwrap_or("");
            let m = first.rsplit(" on ").next().unwrap_or("");
            *lost.entry(m.to_string()).or_default() += 1;
        }
    }
    Tally { lost, won }
}

// Every second claim write is visible 3 s after Todoist stamped it. Rounds (each its own
// test, so they run beside the others): three machines, three with a slow Todoist whose
// clock runs 7 s ahead, two with a Todoist whose clock runs 4 s behind.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_machines_start_each_agent_once_when_todoist_shows_claims_late() {
    lag_round(0, 3, 0, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_machines_on_a_slow_todoist_whose_clock_runs_ahead_start_each_agent_once() {
    lag_round(1, 3, 120, 7_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_machines_on_a_todoist_whose_clock_runs_behind_start_each_agent_once() {
    lag_round(2, 2, 0, -4_000).await;
}

/// One round: `machines` machines work 12 tasks on one project through a Todoist that shows
/// every second claim 3 s late, answers after `latency_ms` and whose clock is `skew_ms` off.
async fn lag_round(round: usize, machines: usize, latency_ms: u64, skew_ms: i64) {
    {
        let name =
            format!("round {round} ({machines} machines, {latency_ms} ms, clock {skew_ms:+} ms)");
        let mut fleet = Fleet::new("Shared", machines, Setup::new(30, 120)).await;
        let pid = fleet.project.clone();
        // Six tasks each more urgent than the next (every machine wants the same one: claims
        // collide), then six of equal rank (machines spread over them).
        let tasks: Vec<String> = (0..12)
            .map(|i| {
                let title = format!("Round {round} task {i:02}");
                let due = format!("2026-01-0{}", i + 1);
                let due = (i < 6).then_some(due.as_str());
                fleet.server.add_task_with(&pid, &title, "", 1, due, &[])
            })
            .collect();
        fleet.server.set_latency(Duration::from_millis(latency_ms));
        fleet.server.set_clock_skew_ms(skew_ms);
        fleet
            .server
            .set_commit_lag("Working on it", 2, Duration::from_secs(3));
        for i in 0..machines {
            fleet.start(i);
        }
        let server = fleet.server.clone();
        let ids = tasks.clone();
        until(
            Duration::from_secs(240),
            "every task to be done",
            move || ids.iter().all(|t| server.task(t).labels == ["agent-done"]),
        )
        .await;
        assert!(
            fleet.all_alive().is_empty(),
            "{name}: died: {:?}",
            fleet.all_alive()
        );
        fleet.stop_all_cleanly();

        let tally = check_round(&fleet, &tasks, &name);
        let (executed, replayed) = fleet.server.command_counts();
        let lagged = fleet.server.lagged_writes();
        eprintln!(
            "{name}: {} tasks, each agent started once; won {:?}; claims lost and withdrawn {:?}; \
             {lagged} writes shown late, {executed} commands executed, {replayed} replayed",
            tasks.len(),
            tally.won,
            tally.lost,
        );
        assert!(lagged >= 2, "{name}: the lag was exercised");
        for m in &fleet.machines {
            assert!(
                tally.won.get(&m.name).copied().unwrap_or(0) >= 1,
                "{name}: {} won a task: {:?}",
                m.name,
                tally.won
            );
            assert!(
                tally.lost.get(&m.name).copied().unwrap_or(0) >= 1,
                "{name}: {} lost a claim: {:?}",
                m.name,
                tally.lost
            );
        }
    }
}

/// A claim that shows up later than the settle time: the machine whose claim came second
/// already started; its next read shows the earlier claim, and it stops its agent at once,
/// takes its claim back without a trace and records the run as lost — not an attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_shown_later_than_the_settle_time_stops_the_later_run() {
    let mut setup = Setup::new(60, 120);
    setup.settle_secs = Some(1);
    let mut fleet = Fleet::new("Shared", 2, setup).await;
    let pid = fleet.project.clone();
    let task = fleet.server.add_task(&pid, "Late claim [long]", "");
    // Machine A's claim is stamped at once but shown only 2.5 s later.
    fleet
        .server
        .set_commit_lag("Working on it", 1, Duration::from_millis(2500));
    fleet.start(0);
    let server = fleet.server.clone();
    until(Duration::from_secs(30), "A's claim", move || {
        server.lagged_writes() == 1
    })
    .await;
    fleet
        .server
        .set_commit_lag("no write says this", 1, Duration::ZERO);
    fleet.start(1);
    let server = fleet.server.clone();
    let t = task.clone();
    until(Duration::from_secs(120), "the task to be done", move || {
        server.task(&t).labels == ["agent-done"]
    })
    .await;
    assert!(fleet.all_alive().is_empty());
    fleet.stop_all_cleanly();

    let starts = fleet.starts();
    let c = fleet.server.comments(&task);
    eprintln!("late claim: agent starts {starts:?}; comments {c:#?}");
    assert_eq!(c.len(), 2, "one claim and one Done: {c:#?}");
    assert!(c[0].contains("on machine-a"), "{c:#?}");
    assert!(c[1].starts_with("Done. Ready for review."));
    let all = fleet.server.all_comments(&task);
    let b_claims: Vec<_> = all
        .iter()
        .filter(|c| c.content.starts_with("Working on it") && c.content.contains("on machine-b"))
        .collect();
    // B claimed (A's claim was not visible yet); whether it had started its agent depends on
    // timing, but nothing of it stays on the task.
    assert!(!b_claims.is_empty(), "B claimed too: {all:#?}");
    assert!(b_claims.iter().all(|c| c.is_deleted), "{all:#?}");
    let b_started = starts
        .get("Late claim [long]")
        .is_some_and(|m| m.iter().any(|m| m == "machine-b"));
    if b_started {
        let out = Command::new(sibling_binary("delegate"))
            .arg("--home")
            .arg(&fleet.machines[1].home)
            .args(["history", "--json"])
            .env_remove("DELEGATE_HOME")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("lost_claim"),
            "B's run is recorded as lost: {text}"
        );
        assert!(!text.contains("\"failed\""), "not a failure: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_task_costs_at_most_2_3_requests_on_two_machines() {
    let mut setup = Setup::new(30, 120);
    setup.poll_secs = 30;
    let mut fleet = Fleet::new("Shared", 2, setup).await;
    let pid = fleet.project.clone();
    let tasks: Vec<String> = (0..12)
        .map(|i| {
            fleet
                .server
                .add_task(&pid, &format!("Costed task {i:02}"), "")
        })
        .collect();
    fleet.start(0);
    fleet.start(1);
    let server = fleet.server.clone();
    let ids = tasks.clone();
    until(
        Duration::from_secs(240),
        "every task to be done",
        move || ids.iter().all(|t| server.task(t).labels == ["agent-done"]),
    )
    .await;
    // Everything the machines sent, polls included.
    let requests = fleet.server.requests().len();
    if std::env::var_os("SHOW_REQUESTS").is_some() {
        for r in fleet.server.requests() {
            let notes: Vec<String> = r
                .commands()
                .iter()
                .map(|c| {
                    let content = c["args"]["content"]
                        .as_str()
                        .unwrap_or("")
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_string();
                    format!(
                        "{} {} {}",
                        c["type"],
                        c["args"]["item_id"]
                            .as_str()
                            .or(c["args"]["id"].as_str())
                            .unwrap_or(""),
                        content
                    )
                })
                .collect();
            eprintln!("  {:?}", notes);
        }
    }
    fleet.stop_all_cleanly();
    let tally = check_round(&fleet, &tasks, "costed");
    let per_task = requests as f64 / tasks.len() as f64;
    eprintln!(
        "costed: {} tasks on 2 machines (poll 30 s): {requests} requests = {per_task:.2} per \
         finished task; won {:?}, lost {:?}",
        tasks.len(),
        tally.won,
        tally.lost
    );
    assert!(per_task <= 2.3, "{per_task:.2} requests per finished task");
    assert!(
        tally.won.len() == 2,
        "both machines worked: {:?}",
        tally.won
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_machine_is_taken_over_after_its_lease_and_cleaned_up_on_restart() {
    // Lease = timeout 4 s + grace 2 s.
    let mut fleet = Fleet::new("Shared", 2, Setup::new(4, 2)).await;
    let pid = fleet.project.clone();
    let task = fleet.server.add_task(&pid, "Long research [hang-once]", "");

    // Machine A takes the task and hangs (with a grandchild); then it is killed outright.
    fleet.start(0);
    let ws_a = fleet.machines[0].home.join("workspace");
    let agent = on_host(&wait_for(&ws_a.join("hang.pids")), &ws_a);
    fleet.signal(0, Signal::SIGKILL);
    assert!(
        gone(agent[0]).await,
        "the agent dies with Delegate (pdeathsig)"
    );
    assert!(
        gone(agent[1]).await,
        "its grandchild dies with it (the run's PID namespace), no restart needed"
    );

    // Machine B sees a live claim and keeps off until the lease has run out.
    fleet.start(1);
    let server = fleet.server.clone();
    let t = task.clone();
    until(
        Duration::from_secs(60),
        "machine B to finish the task",
        move || server.task(&t).labels == ["agent-done"],
    )
    .await;
    let comments = fleet.server.all_comments(&task);
    let claim_at = |c: &delegate_testkit::todoist::FakeComment| {
        chrono::DateTime::parse_from_rfc3339(&c.posted_at).unwrap()
    };
    let a = comments
        .iter()
        .find(|c| c.content.contains("on machine-a"))
        .unwrap();
    let b = comments
        .iter()
        .find(|c| c.content.contains("on machine-b"))
        .unwrap();
    let waited = claim_at(b) - claim_at(a);
    assert!(
        waited >= chrono::Duration::seconds(6),
        "B took over after {waited} (lease 6 s)"
    );
    assert!(
        b.content.contains("(attempt 1 of 3)"),
        "the killed attempt is not counted"
    );
    assert_eq!(fleet.runs().get("Long research [hang-once]"), Some(&2));

    // A restarts: before anything else it stops what its killed run left behind.
    fleet.start(0);
    assert!(
        gone(agent[1]).await,
        "the grandchild of the killed run was stopped"
    );
    fleet.stop_all();
    assert_eq!(fleet.server.task(&task).labels, ["agent-done"]);
    assert_eq!(
        fleet.runs().get("Long research [hang-once]"),
        Some(&2),
        "not run again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_after_sigkill_reruns_the_task_once_and_leaves_nothing_behind() {
    let mut fleet = Fleet::new("Solo", 1, Setup::new(30, 120)).await;
    let pid = fleet.project.clone();
    let task = fleet.server.add_task(&pid, "Crash test [hang-once]", "");
    fleet.start(0);
    let ws = fleet.machines[0].home.join("workspace");
    let agent = on_host(&wait_for(&ws.join("hang.pids")), &ws);
    fleet.signal(0, Signal::SIGKILL);
    assert!(gone(agent[0]).await);
    assert!(gone(agent[1]).await, "the grandchild dies with Delegate");

    // The lease (30 s + 120 s) has not run out, but the claim is this machine's own and its
    // run was interrupted: the restart stops the leftovers and takes the task back at once.
    fleet.start(0);
    let server = fleet.server.clone();
    let t = task.clone();
    until(Duration::from_secs(30), "the re-run to finish", move || {
        server.task(&t).labels == ["agent-done"]
    })
    .await;
    fleet.stop_all();
    assert!(!alive(agent[1]), "no process of the killed run survives");
    assert_eq!(
        fleet.runs().get("Crash test [hang-once]"),
        Some(&2),
        "re-run once"
    );
    let c = fleet.server.comments(&task);
    let claims: Vec<&String> = c
        .iter()
        .filter(|c| c.starts_with("Working on it"))
        .collect();
    assert_eq!(claims.len(), 2);
    assert!(
        claims.iter().all(|c| c.contains("(attempt 1 of 3)")),
        "the killed attempt is not counted as a failure: {claims:#?}"
    );
    assert!(
        !fleet
            .server
            .task(&task)
            .labels
            .iter()
            .any(|l| l.starts_with("agent-retry"))
    );
}
