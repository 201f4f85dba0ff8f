//! What the person looks at between runs: the history as the window pages through it, the
//! local queue, and where a run's task lives. The rules for what may be opened from a run
//! are here, so every front end follows the same ones.

use crate::drafts::DraftError;
use crate::engine::{Engine, EngineError};
use crate::history::{RunFilter, RunStatus, RunSummary};
use crate::source::local::LocalTask;
use serde::Deserialize;
use std::path::PathBuf;

/// Runs shown per page when the window does not say.
pub const RUNS_PER_PAGE: usize = 50;

/// Local-queue tasks the window lists, newest first.
pub const LOCAL_TASKS_SHOWN: usize = 200;

/// Why something of a run cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("this task has no link to open (local-queue tasks live only here)")]
    NoTaskLink,
    #[error("this run has no draft in its workspace")]
    NoDraft,
    #[error("the employee no longer exists")]
    EmployeeGone,
    #[error(transparent)]
    Draft(#[from] DraftError),
}

/// A page of the history as the window asks for it.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunQuery {
    pub employee: Option<String>,
    pub status: Option<RunStatus>,
    pub text: Option<String>,
    #[cfg_attr(feature = "ts", ts(as = "Option<f64>"))]
    pub before_id: Option<i64>,
    #[cfg_attr(feature = "ts", ts(as = "Option<f64>"))]
    pub limit: Option<usize>,
}

impl Engine {
    /// A page of runs, newest first ([`RUNS_PER_PAGE`] unless the query says).
    pub fn runs(&self, query: RunQuery) -> Result<Vec<RunSummary>, EngineError> {
        Ok(self.history().list(&RunFilter {
            employee: query.employee,
            status: query.status,
            text: query.text,
            before_id: query.before_id,
            limit: query.limit.unwrap_or(RUNS_PER_PAGE),
        })?)
    }

    /// Local-queue tasks, newest first.
    pub fn local_tasks(&self) -> Result<Vec<LocalTask>, EngineError> {
        Ok(self.queue().all_tasks(LOCAL_TASKS_SHOWN)?)
    }

    /// The page of the run's task, for the browser: only a link to its source's own task
    /// pages ([`crate::source::SourceInfo::task_links`]); a local task has none.
    pub fn task_link(&self, run_id: i64) -> Result<String, EngineError> {
        let run = self.history().get(run_id)?;
        let allowed = crate::source::SOURCES
            .iter()
            .find(|s| s.kind.as_str() == run.run.source)
            .map(|s| s.task_links)
            .unwrap_or(&[]);
        run.task_url
            .filter(|u| allowed.iter().any(|p| u.starts_with(p)))
            .filter(|u| !u.chars().any(|c| c.is_whitespace() || c.is_control()))
            .ok_or_else(|| RunError::NoTaskLink.into())
    }

    /// The workspace of the employee called `name`, if it still exists.
    pub fn workspace_of(&self, name: &str) -> Option<PathBuf> {
        self.config()
            .employees
            .into_iter()
            .find(|e| e.name == name)
            .map(|e| e.workspace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{engine, finished_run, finished_run_from};

    #[test]
    fn only_links_to_the_sources_own_task_pages_are_given() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        for link in [
            "https://app.todoist.com/app/task/abc",
            "https://github.com/octo-org/docs/issues/7",
            "https://linear.app/acme/issue/ENG-12/write-a-post",
        ] {
            let run = finished_run(&engine, "Writer", Some(link), &[]);
            assert_eq!(engine.task_link(run).unwrap(), link);
        }
        // Another source's page, or a link with a space in it, is not opened.
        let crossed = finished_run_from(
            &engine,
            "Writer",
            "todoist",
            Some("https://github.com/octo-org/docs/issues/7"),
            &[],
        );
        assert!(engine.task_link(crossed).is_err());
        let spaced = finished_run_from(
            &engine,
            "Writer",
            "github",
            Some("https://github.com/a b"),
            &[],
        );
        assert!(engine.task_link(spaced).is_err());
        for url in [
            None,
            Some("file:///etc/passwd"),
            Some("https://evil.example/app/task/1"),
        ] {
            let id = finished_run(&engine, "Writer", url, &[]);
            let e = engine.task_link(id).unwrap_err();
            assert!(
                matches!(e, EngineError::Run(RunError::NoTaskLink)),
                "{url:?}"
            );
            assert_eq!(e.code(), "not_found");
        }
        assert_eq!(engine.task_link(999).unwrap_err().code(), "history");
    }

    #[test]
    fn runs_come_a_page_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        for _ in 0..3 {
            finished_run(&engine, "Writer", None, &[]);
        }
        assert_eq!(engine.runs(RunQuery::default()).unwrap().len(), 3);
        let page = engine
            .runs(RunQuery {
                limit: Some(2),
                ..RunQuery::default()
            })
            .unwrap();
        assert_eq!(page.len(), 2);
        assert!(page[0].id > page[1].id, "newest first");
    }
}
