//! The one rule for reaching a run's draft from outside the agent: it must be a draft that
//! run recorded, the file must still exist, and it must be inside the employee's workspace
//! (a draft written outside is flagged, never opened or shown for the person).

use crate::agent::spawn::is_inside;
use crate::history::RunDetail;
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
}
