//! No process of a run outlives it: the real `delegate` binary runs a fake agent that leaves
//! processes running in and out of its process group (`[orphans]`: a child, a `setsid` child,
//! an orphan whose parent exited). When Delegate is killed outright, all of them are gone
//! within seconds without Delegate starting again; when the agent ends, they end with it. For
//! a sandboxed employee and for one with `sandbox = "off"`.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::*;
use delegate_core::config::{Employee, SourceKind, edit};
use delegate_core::sandbox::SandboxMode;
use delegate_testkit::{host_pid, processes_in, sibling_binary};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the processes of a run may take to go.
const LIMIT: Duration = Duration::from_secs(5);

/// A home with one employee in `mode` and one `[orphans]` task (plus `extra` in its title).
struct Setup {
    dir: tempfile::TempDir,
    ws: PathBuf,
}

impl Setup {
    fn new(mode: SandboxMode, extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        let mut e = Employee::new("Leaver", SourceKind::Local, ws.clone());
        e.command = Some(fake_claude().display().to_string());
        e.sandbox = mode;
        e.max_attempts = 1;
        edit::add_employee(&dir.path().join("config.toml"), &e).unwrap();
        let out = self_delegate(dir.path())
            .args(["task", "add", "-e", "Leaver"])
            .arg(format!("Leave things running [orphans]{extra}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        Self { dir, ws }
    }

    /// Waits for the agent's `orphans.pids` and turns its pids into this machine's.
    fn orphans(&self) -> Vec<u32> {
        let file = self.ws.join("orphans.pids");
        let start = Instant::now();
        let seen: Vec<u32> = loop {
            let s = read(&file);
            if s.ends_with('\n') {
                break s.split_whitespace().map(|p| p.parse().unwrap()).collect();
            }
            assert!(start.elapsed() < Duration::from_secs(30), "no orphans.pids");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(
            seen.len(),
            4,
            "the agent and three processes it left: {seen:?}"
        );
        assert!(seen.iter().all(|p| *p > 0), "all three started: {seen:?}");
        seen.iter()
            .map(|p| {
                host_pid(*p, &self.ws)
                    .unwrap_or_else(|| panic!("process {p} of the run is not running: {seen:?}"))
            })
            .collect()
    }

    /// Waits until no process of the run is left; how long that took.
    fn all_gone(&self, known: &[u32]) -> Duration {
        let start = Instant::now();
        loop {
            let left: Vec<u32> = processes_in(&self.ws)
                .into_iter()
                .chain(known.iter().copied().filter(|p| alive(*p)))
                .collect::<std::collections::BTreeSet<u32>>()
                .into_iter()
                .collect();
            if left.is_empty() {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < LIMIT,
                "processes of the run still alive after {LIMIT:?}: {}",
                describe(&left)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Setup {
    /// Whatever a failed check left running goes.
    fn drop(&mut self) {
        for p in processes_in(&self.ws) {
            let _ = kill(Pid::from_raw(p as i32), Signal::SIGKILL);
        }
    }
}

fn self_delegate(home: &Path) -> Command {
    let mut c = Command::new(sibling_binary("delegate"));
    c.arg("--home")
        .arg(home)
        .env_remove("TODOIST_API_TOKEN")
        .env_remove("DELEGATE_TODOIST_API_URL")
        .env_remove("DELEGATE_HOME");
    c
}

fn describe(pids: &[u32]) -> String {
    pids.iter()
        .map(|p| {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            format!("{p} ({})", cmd.trim())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn needs_pid_namespaces() {
    assert!(
        delegate_core::sandbox::contain::available(),
        "this test needs user namespaces: {}",
        delegate_core::sandbox::contain::describe()
    );
}

#[test]
fn a_killed_delegate_takes_every_process_of_its_run_with_it() {
    needs_pid_namespaces();
    for mode in [SandboxMode::Strict, SandboxMode::Off] {
        for round in 0..3 {
            let s = Setup::new(mode, " [hang]");
            let mut delegate = self_delegate(s.dir.path())
                .args(["run", "--watch"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let orphans = s.orphans();
            let before = processes_in(&s.ws);
            for p in &orphans {
                assert!(before.contains(p), "{p} is found by its folder");
            }
            kill(Pid::from_raw(delegate.id() as i32), Signal::SIGKILL).unwrap();
            delegate.wait().unwrap();
            let took = s.all_gone(&orphans);
            eprintln!(
                "sandbox {}, round {round}: {} processes of the run gone {took:?} after Delegate was killed",
                mode.as_str(),
                before.len()
            );
        }
    }
}

#[test]
fn what_an_agent_leaves_running_ends_with_it() {
    needs_pid_namespaces();
    for mode in [SandboxMode::Strict, SandboxMode::Off] {
        // Slow: it ends a few seconds after leaving them, so they can be seen running.
        let s = Setup::new(mode, " [slow]");
        let run = self_delegate(s.dir.path())
            .arg("run")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let orphans = s.orphans();
        let out = run.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("run #1 succeeded"),
            "the run itself succeeded: {stdout}"
        );
        let took = s.all_gone(&orphans);
        eprintln!(
            "sandbox {}: what the agent left running was gone {took:?} after `delegate run` returned",
            mode.as_str()
        );
    }
}
