//! The one rule for reaching a run's draft from outside the agent: it must be a draft that
//! run recorded, the file must still exist, and it must be inside the employee's workspace
//! (a draft written outside is flagged, never opened or shown for the person).

use crate::activity::RunError;
use crate::agent::spawn::is_inside;
use crate::engine::{Engine, EngineError};
use crate::history::RunDetail;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The largest draft shown in the window.
pub const MAX_SHOWN_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("that file is not a draft of this run")]
    NotADraft,
    #[error("the file no longer exists")]
    Gone,
    #[error("outside the employee's workspace; open it yourself if you trust it")]
    OutsideWorkspace,
    #[error("larger than 1 MB; open it in an editor")]
    TooLarge,
    #[error("cannot read the draft: {0}")]
    Io(#[from] std::io::Error),
}

/// Where a draft `rel` of `run` is, if it may be reached.
pub fn locate(workspace: &Path, run: &RunDetail, rel: &str) -> Result<PathBuf, DraftError> {
    if !run.drafts.iter().any(|d| d.path == rel) {
        return Err(DraftError::NotADraft);
    }
    within(workspace, rel)
}

/// A path relative to the workspace, resolved, existing and inside it.
pub fn within(workspace: &Path, rel: &str) -> Result<PathBuf, DraftError> {
    let real = workspace
        .join(rel)
        .canonicalize()
        .map_err(|_| DraftError::Gone)?;
    if !is_inside(&real, workspace) {
        return Err(DraftError::OutsideWorkspace);
    }
    Ok(real)
}

/// A draft's text for the window (at most [`MAX_SHOWN_BYTES`]).
pub fn read(workspace: &Path, rel: &str) -> Result<String, DraftError> {
    let real = within(workspace, rel)?;
    if std::fs::metadata(&real)?.len() > MAX_SHOWN_BYTES {
        return Err(DraftError::TooLarge);
    }
    Ok(String::from_utf8_lossy(&std::fs::read(&real)?).into_owned())
}

/// One draft of a run as the window shows it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DraftFile {
    pub path: String,
    pub inside_workspace: bool,
    /// The text, when it could be read.
    pub content: Option<String>,
    /// Why it could not be read.
    pub problem: Option<String>,
}

/// A run in full, with its drafts' text.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunView {
    pub run: RunDetail,
    pub drafts: Vec<DraftFile>,
    /// Where the task lives, as its link says it ("Open in GitHub").
    pub open_task_words: String,
    /// The task's conversation on this machine, oldest first: each run of the same employee
    /// on the same task, with what the person said that it answered.
    pub thread: Vec<Turn>,
    /// What every run of the task cost together (runs that report no cost count as none).
    pub task_cost_usd: Option<f64>,
}

/// One run in a task's conversation.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Turn {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub run_id: i64,
    pub status: crate::history::RunStatus,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// What the person said that this run answers (an answer, feedback).
    pub input: Option<String>,
    pub summary: Option<String>,
    pub questions: Vec<String>,
    pub error: Option<String>,
    /// The agent continued its earlier session (else it started afresh).
    pub resumed: bool,
    pub cost_usd: Option<f64>,
}

impl Engine {
    /// A run in full, with its drafts' text. Only files inside the employee's workspace are
    /// read; a path that leaves it (`..`, a symlink, an absolute path) is refused, and each
    /// draft that cannot be shown says why.
    pub fn run_view(&self, run_id: i64) -> Result<RunView, EngineError> {
        let run = self.history().get(run_id)?;
        let workspace = self.workspace_of(&run.run.employee);
        let drafts =
            run.drafts
                .iter()
                .map(|d| {
                    let read = match &workspace {
                        None => Err("the employee no longer exists, so its workspace is unknown"
                            .to_string()),
                        Some(ws) => read(ws, &d.path).map_err(|e| e.to_string()),
                    };
                    let (content, problem) = match read {
                        Ok(text) => (Some(text), None),
                        Err(why) => (None, Some(why)),
                    };
                    DraftFile {
                        path: d.path.clone(),
                        inside_workspace: d.inside_workspace,
                        content,
                        problem,
                    }
                })
                .collect();
        let title = crate::source::SOURCES
            .iter()
            .find(|s| s.kind.as_str() == run.run.source)
            .map(|s| s.title)
            .unwrap_or("the browser");
        let mut thread = Vec::new();
        for id in self
            .history()
            .task_run_ids(&run.run.employee, &run.run.task_id, 50)?
        {
            let r = if id == run.run.id {
                run.clone()
            } else {
                self.history().get(id)?
            };
            thread.push(Turn {
                run_id: id,
                status: r.run.status,
                started_at: r.run.started_at,
                input: r.input,
                summary: r.run.summary,
                questions: r.questions,
                error: r.run.error,
                resumed: r.resumed_session.is_some(),
                cost_usd: r.run.cost_usd,
            });
        }
        let costs: Vec<f64> = thread.iter().filter_map(|t| t.cost_usd).collect();
        let task_cost_usd = (!costs.is_empty()).then(|| costs.iter().sum());
        Ok(RunView {
            run,
            drafts,
            open_task_words: format!("Open in {title}"),
            thread,
            task_cost_usd,
        })
    }

    /// Where the draft `rel` of a run is, for opening it in an editor or its folder: only a
    /// draft that run recorded, existing, inside its employee's workspace.
    pub fn draft_path(&self, run_id: i64, rel: &str) -> Result<PathBuf, EngineError> {
        let run = self.history().get(run_id)?;
        self.locate_draft(&run, rel)
    }

    /// Where the run's first draft inside its workspace is (what a notice's "Open draft"
    /// opens).
    pub fn first_draft_path(&self, run_id: i64) -> Result<PathBuf, EngineError> {
        let run = self.history().get(run_id)?;
        let first = run
            .drafts
            .iter()
            .find(|d| d.inside_workspace)
            .ok_or(RunError::NoDraft)?;
        self.locate_draft(&run, &first.path)
    }

    fn locate_draft(&self, run: &RunDetail, rel: &str) -> Result<PathBuf, EngineError> {
        let workspace = self
            .workspace_of(&run.run.employee)
            .ok_or(RunError::EmployeeGone)?;
        Ok(locate(&workspace, run, rel).map_err(RunError::from)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_existing_files_inside_the_workspace_are_reached() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(ws.join("drafts")).unwrap();
        std::fs::write(ws.join("drafts/a.md"), "# A").unwrap();
        std::fs::write(dir.path().join("secret.md"), "no").unwrap();
        assert_eq!(read(&ws, "drafts/a.md").unwrap(), "# A");
        assert!(matches!(
            read(&ws, "../secret.md"),
            Err(DraftError::OutsideWorkspace)
        ));
        assert!(matches!(read(&ws, "drafts/gone.md"), Err(DraftError::Gone)));
        std::os::unix::fs::symlink(dir.path().join("secret.md"), ws.join("drafts/link.md"))
            .unwrap();
        assert!(
            matches!(
                read(&ws, "drafts/link.md"),
                Err(DraftError::OutsideWorkspace)
            ),
            "links are followed"
        );
    }

    /// An engine with a local employee "Writer" working in `dir/ws`.
    fn writer(dir: &Path) -> (Engine, PathBuf) {
        let engine = crate::testing::engine(dir);
        let ws = dir.join("ws");
        let e = crate::Employee::new("Writer", crate::config::SourceKind::Local, ws.clone());
        crate::config::edit::add_employee(&engine.paths().config_file, &e).unwrap();
        let engine = crate::testing::engine(dir);
        std::fs::create_dir_all(ws.join("drafts")).unwrap();
        (engine, ws)
    }

    #[test]
    fn a_run_shows_only_the_drafts_inside_its_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, ws) = writer(dir.path());
        std::fs::write(ws.join("drafts/a.md"), "# Hello").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "private").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), ws.join("drafts/link.md"))
            .unwrap();
        std::fs::write(
            ws.join("big.md"),
            vec![b'x'; (MAX_SHOWN_BYTES + 1) as usize],
        )
        .unwrap();
        let secret = dir.path().join("secret.txt");
        let drafts = [
            "drafts/a.md",
            "../secret.txt",
            "drafts/link.md",
            secret.to_str().unwrap(),
            "big.md",
            "drafts/gone.md",
        ];
        let id = crate::testing::finished_run(&engine, "Writer", None, &drafts);
        let view = engine.run_view(id).unwrap();
        let shown: Vec<(Option<&str>, Option<&str>)> = view
            .drafts
            .iter()
            .map(|d| (d.content.as_deref(), d.problem.as_deref()))
            .collect();
        assert_eq!(shown[0], (Some("# Hello"), None));
        for (i, (content, problem)) in shown.iter().enumerate().skip(1).take(3) {
            assert!(content.is_none(), "{} was read", drafts[i]);
            assert!(
                problem
                    .unwrap()
                    .contains("outside the employee's workspace")
            );
        }
        assert!(shown[4].1.unwrap().contains("larger than 1 MB"));
        assert!(shown[5].1.unwrap().contains("no longer exists"));

        // Opened from outside: the same rule, as a typed error with its code.
        assert_eq!(
            engine.draft_path(id, "drafts/a.md").unwrap(),
            ws.join("drafts/a.md").canonicalize().unwrap()
        );
        assert_eq!(
            engine.first_draft_path(id).unwrap(),
            engine.draft_path(id, "drafts/a.md").unwrap()
        );
        let code = |r: Result<PathBuf, EngineError>| r.unwrap_err().code();
        assert_eq!(
            code(engine.draft_path(id, "drafts/link.md")),
            "outside_workspace"
        );
        assert_eq!(code(engine.draft_path(id, "drafts/gone.md")), "not_found");
        assert_eq!(code(engine.draft_path(id, "drafts/other.md")), "not_found");
    }

    #[test]
    fn a_run_whose_employee_is_gone_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, _) = writer(dir.path());
        let id = crate::testing::finished_run(&engine, "Someone", None, &["drafts/a.md"]);
        let view = engine.run_view(id).unwrap();
        assert!(
            view.drafts[0]
                .problem
                .as_deref()
                .unwrap()
                .contains("no longer exists")
        );
        let e = engine.draft_path(id, "drafts/a.md").unwrap_err();
        assert!(matches!(e, EngineError::Run(RunError::EmployeeGone)));
        assert_eq!(e.code(), "not_found");
        let none = crate::testing::finished_run(&engine, "Writer", None, &["/tmp/outside.md"]);
        assert!(matches!(
            engine.first_draft_path(none),
            Err(EngineError::Run(RunError::NoDraft))
        ));
    }
}
