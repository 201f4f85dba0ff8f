//! Helpers for the engine's own unit tests: an engine in a temporary folder and runs recorded
//! the way a worker records them.

use crate::agent::Draft;
use crate::history::{NewRun, RunEnd, RunStatus};
use crate::secrets::Stores;
use crate::source::Task;
use crate::{Engine, Paths};
use std::path::Path;

/// An engine whose files all live under `dir`, with a keychain in memory.
pub fn engine(dir: &Path) -> Engine {
    Engine::open(Paths::under(dir), Stores::memory()).unwrap()
}

/// Records a finished run of `employee` on a task with `url`, with `drafts` (relative paths
/// inside the workspace, absolute ones outside); from the source the link belongs to.
pub fn finished_run(engine: &Engine, employee: &str, url: Option<&str>, drafts: &[&str]) -> i64 {
    let source = match url {
        Some(u) if u.starts_with("https://github.com/") => "github",
        Some(u) if u.starts_with("https://linear.app/") => "linear",
        Some(_) => "todoist",
        None => "local",
    };
    finished_run_from(engine, employee, source, url, drafts)
}

/// [`finished_run`] with the source named.
pub fn finished_run_from(
    engine: &Engine,
    employee: &str,
    source: &str,
    url: Option<&str>,
    drafts: &[&str],
) -> i64 {
    let task = Task {
        id: "t1".into(),
        title: "Write a post".into(),
        description: String::new(),
        labels: vec![],
        priority: 1,
        due: None,
        recurring: false,
        order: 0,
        updated_at: None,
        url: url.map(String::from),
    };
    let h = engine.history();
    let id = h
        .start_run(&NewRun {
            employee,
            source,
            task: &task,
            attempt: 1,
            max_attempts: 1,
            machine: "m",
            command: &[],
            claim_id: "claim-1",
            input: None,
        })
        .unwrap();
    let drafts: Vec<Draft> = drafts
        .iter()
        .map(|p| Draft {
            path: (*p).into(),
            inside_workspace: !p.starts_with('/'),
        })
        .collect();
    h.finish_run(id, &RunEnd::status(RunStatus::Succeeded), &drafts, None)
        .unwrap();
    id
}
