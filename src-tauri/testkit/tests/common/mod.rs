//! Shared set-up for the integration tests: a temp home, workspaces, employees that use the
//! fake agent, and an engine pointed at the fake Todoist server.
#![allow(dead_code, clippy::unwrap_used)]

use delegate_core::config::{Employee, SourceKind, edit};
use delegate_core::history::RunDetail;
use delegate_core::secrets::{MemoryStore, Stores};
use delegate_core::{Engine, Paths};
use delegate_testkit::{FakeTodoist, sibling_binary};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

pub const TOKEN: &str = "tok-3f9a1c0e5b7d2e8f4a6c1b9d0e3f7a2c";

pub struct Home {
    pub dir: TempDir,
    pub paths: Paths,
}

impl Home {
    pub fn new(api_url: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        if let Some(url) = api_url {
            std::fs::write(
                &paths.config_file,
                // A short settle: one machine, no lag; the machines tests use the default.
                format!("[todoist]\napi_url = \"{url}\"\n\n[machine]\nclaim_settle_secs = 1\n"),
            )
            .unwrap();
        }
        Self { dir, paths }
    }

    pub fn workspace(&self, name: &str) -> PathBuf {
        let ws = self.dir.path().join("workspaces").join(name);
        std::fs::create_dir_all(&ws).unwrap();
        ws
    }

    /// An employee that runs the fake agent, with quick retries.
    pub fn employee(&self, name: &str, source: SourceKind, project: Option<&str>) -> Employee {
        let mut e = Employee::new(name, source, self.workspace(name));
        e.set_setting("project", project);
        e.command = Some(fake_claude().display().to_string());
        e.retry_backoff_secs = 0;
        e.timeout_secs = 30;
        e
    }

    pub fn add(&self, e: &Employee) {
        edit::add_employee(&self.paths.config_file, e).unwrap();
    }

    pub fn engine(&self) -> Engine {
        Engine::open(
            self.paths.clone(),
            Stores::memory().with(SourceKind::Todoist, MemoryStore::with(TOKEN)),
        )
        .unwrap()
    }
}

pub fn fake_claude() -> PathBuf {
    sibling_binary("fake-claude")
}

pub async fn server_with_project(name: &str) -> (FakeTodoist, String) {
    let server = FakeTodoist::start(TOKEN).await;
    let project = server.add_project(name);
    (server, project)
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next());
            state != Some("Z")
        }
        Err(_) => false,
    }
}

pub fn lines(d: &RunDetail) -> Vec<String> {
    d.progress.iter().map(|p| p.line.clone()).collect()
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// An engine on `home` whose `kind` token is `token`, in memory (the review the app does,
/// in this process, on a home a `delegate` process works in).
pub fn engine_with_token(home: &Path, kind: SourceKind, token: &str) -> Engine {
    Engine::open(
        Paths::under(home),
        Stores::memory().with(kind, MemoryStore::with(token)),
    )
    .unwrap()
}

/// Stops a `delegate run --watch` as Ctrl+C would (SIGTERM) and waits for it.
pub fn stop(mut child: std::process::Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();
}

/// Waits (checking every 100 ms) until `done` holds; fails after `limit`, naming `what`.
pub async fn until(limit: std::time::Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
