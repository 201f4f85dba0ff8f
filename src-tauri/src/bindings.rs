//! TypeScript definitions of everything that crosses IPC, generated from the Rust types with
//! ts-rs and checked in under `ui/src/bindings/`. The test below fails when they drift;
//! `UPDATE_BINDINGS=1 cargo test -p delegate-app bindings` rewrites them.

#[cfg(test)]
mod tests {
    use crate::error::CommandError;
    use delegate_core::activity::RunQuery;
    use delegate_core::drafts::{DraftFile, RunView};
    use delegate_core::employees::EmployeeView;
    use delegate_core::secrets::{TokenOrigin, TokenStatus};
    use delegate_core::settings::SettingsView;
    use delegate_core::status::Board;
    use delegate_core::template::Template;
    use delegate_core::worker::WorkerEvent;
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
    use ts_rs::TS;

    fn export(dir: &Path) {
        EmployeeView::export_all_to(dir).unwrap();
        RunQuery::export_all_to(dir).unwrap();
        RunView::export_all_to(dir).unwrap();
        DraftFile::export_all_to(dir).unwrap();
        SettingsView::export_all_to(dir).unwrap();
        TokenStatus::export_all_to(dir).unwrap();
        TokenOrigin::export_all_to(dir).unwrap();
        CommandError::export_all_to(dir).unwrap();
        Board::export_all_to(dir).unwrap();
        Template::export_all_to(dir).unwrap();
        WorkerEvent::export_all_to(dir).unwrap();
        delegate_core::history::RunSummary::export_all_to(dir).unwrap();
        delegate_core::source::local::LocalTask::export_all_to(dir).unwrap();
        delegate_core::source::service::Target::export_all_to(dir).unwrap();
        delegate_core::source::SourceInfo::export_all_to(dir).unwrap();
        delegate_core::agent::AgentInfo::export_all_to(dir).unwrap();
        delegate_core::agent::ToolChoice::export_all_to(dir).unwrap();
        delegate_core::sandbox::SandboxView::export_all_to(dir).unwrap();
        delegate_core::notice::Opens::export_all_to(dir).unwrap();
        delegate_core::config::validate::FieldProblem::export_all_to(dir).unwrap();
        // The registry itself, so the UI's tests show the sources exactly as the backend
        // describes them.
        let sources = serde_json::to_string_pretty(&delegate_core::source::SOURCES).unwrap();
        std::fs::write(dir.join("sources.json"), sources + "\n").unwrap();
    }

    fn read_dir(dir: &Path) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                    out.insert(rel, std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        out
    }

    #[test]
    fn bindings_are_up_to_date() {
        let checked_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings");
        if std::env::var("UPDATE_BINDINGS").as_deref() == Ok("1") {
            let _ = std::fs::remove_dir_all(&checked_in);
            export(&checked_in);
            return;
        }
        let fresh = tempfile::tempdir().unwrap();
        export(fresh.path());
        let (want, have) = (read_dir(fresh.path()), read_dir(&checked_in));
        let want_names: Vec<_> = want.keys().collect();
        let have_names: Vec<_> = have.keys().collect();
        assert_eq!(
            have_names, want_names,
            "run UPDATE_BINDINGS=1 cargo test -p delegate-app bindings"
        );
        for (name, text) in &want {
            assert_eq!(
                &have[name],
                text,
                "{} is stale: run UPDATE_BINDINGS=1 cargo test -p delegate-app bindings",
                name.display()
            );
        }
    }
}
