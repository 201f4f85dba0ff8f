//! Leftovers of a crashed Delegate. Every agent runs with [`RUN_MARKER`] in its environment
//! (the run's claim id — never a secret), and everything it starts inherits it. At start-up,
//! Delegate stops the processes that carry the marker of a run it marks `interrupted`: TERM,
//! a grace period, then KILL. Matching by marker, not by a recorded pid, means a pid the
//! system reused for something else is never hit.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// The environment variable that marks an agent process and its descendants.
pub const RUN_MARKER: &str = "DELEGATE_RUN";

/// Pids of this user's processes whose environment has `RUN_MARKER=<one of markers>`.
pub fn find(markers: &[String]) -> Vec<Pid> {
    if markers.is_empty() {
        return Vec::new();
    }
    let wanted: Vec<Vec<u8>> = markers
        .iter()
        .map(|m| format!("{RUN_MARKER}={m}").into_bytes())
        .collect();
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            // Unreadable (another user's process, or gone): not ours to stop.
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                env.split(|b| *b == 0)
                    .any(|v| wanted.iter().any(|w| v == w.as_slice()))
            })
        })
        .filter_map(|pid| i32::try_from(pid).ok().map(Pid::from_raw))
        .collect()
}

/// Stops every process carrying one of `markers`: TERM, up to `grace` for them to go, then
/// KILL. Returns how many there were.
pub fn stop(markers: &[String], grace: Duration) -> usize {
    let found = find(markers);
    if found.is_empty() {
        return 0;
    }
    tracing::warn!(
        count = found.len(),
        "stopping processes left by interrupted runs"
    );
    for p in &found {
        let _ = kill(*p, Signal::SIGTERM);
    }
    let until = Instant::now() + grace;
    loop {
        let left: Vec<Pid> = find(markers);
        if left.is_empty() {
            break;
        }
        if Instant::now() >= until {
            for p in left {
                let _ = kill(p, Signal::SIGKILL);
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    found.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_processes_are_found_and_stopped_and_others_left_alone() {
        // Unique per run, so nothing left over from another test run can match.
        let marker = format!("test-{}", uuid::Uuid::new_v4());
        let mut marked = std::process::Command::new("sleep")
            .arg("60")
            .env(RUN_MARKER, &marker)
            .spawn()
            .unwrap();
        let mut other = std::process::Command::new("sleep")
            .arg("60")
            .env(RUN_MARKER, "someone-else")
            .spawn()
            .unwrap();
        // `spawn` returns once `exec` is under way, a moment before the kernel has put the
        // new environment in place (`/proc/PID/environ` is empty until then): wait for it.
        let until = Instant::now() + Duration::from_secs(10);
        let found = loop {
            let found = find(std::slice::from_ref(&marker));
            if !found.is_empty() || Instant::now() >= until {
                break found;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(found, [Pid::from_raw(marked.id() as i32)]);
        assert_eq!(
            stop(std::slice::from_ref(&marker), Duration::from_secs(2)),
            1
        );
        assert!(
            marked.wait().unwrap().code().is_none(),
            "killed by a signal"
        );
        assert!(
            other.try_wait().unwrap().is_none(),
            "the other process still runs"
        );
        let _ = other.kill();
        let _ = other.wait();
    }
}
