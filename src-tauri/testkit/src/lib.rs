//! Dev-only test kit: a stateful Todoist-API-v1-compatible fake server, a fake Linear GraphQL
//! API checked against Linear's published schema, and (as binaries) a fake agent CLI that
//! replays recorded Claude streams. Used by integration tests, the end-to-end harness and
//! benchmarks.

pub mod airtable;
pub mod flood;
pub mod github;
pub mod linear;
pub mod postgres;
pub mod todoist;
pub mod webdriver;

pub use airtable::FakeAirtable;
pub use github::FakeGitHub;
pub use linear::FakeLinear;
pub use todoist::{FakeTodoist, Recorded};

use std::path::PathBuf;

/// A binary built next to the running test executable (`target/debug/NAME`).
pub fn sibling_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(|d| {
            if d.ends_with("deps") {
                d.parent()
            } else {
                Some(d)
            }
        })
        .expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build --workspace --bins`",
        path.display()
    );
    path
}

/// The live processes (zombies left out) whose working folder is `dir` or beneath it, by
/// their pids on this machine. Every process of an agent's run works in its workspace, so
/// this finds them all, in or out of the run's process group or PID namespace.
pub fn processes_in(dir: &std::path::Path) -> Vec<u32> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(&dir))
                && !zombie(*pid)
        })
        .collect()
}

fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next())
            == Some("Z")
    })
}

/// The pid on this machine of the process of a run in `dir` that calls itself `pid` (a run
/// in a PID namespace of its own sees other numbers than Delegate does; elsewhere they are
/// the same). Asked while the process runs.
pub fn host_pid(pid: u32, dir: &std::path::Path) -> Option<u32> {
    processes_in(dir).into_iter().find(|host| {
        std::fs::read_to_string(format!("/proc/{host}/status")).is_ok_and(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .and_then(|ids| ids.split_whitespace().last())
                .and_then(|last| last.parse::<u32>().ok())
                == Some(pid)
        })
    })
}
