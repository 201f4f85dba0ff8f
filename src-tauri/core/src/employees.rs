//! Saving an employee, the one way the CLI and the desktop app both do it: check it, create
//! its workspace, write it into `config.toml` (keeping the person's comments), and copy the
//! chosen template into the workspace (never over the person's files).

use crate::config::{self, ConfigError, Employee, edit};
use crate::template::{self, Installed, TemplateError};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum EmployeeError {
    /// A field a person must fix, named.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("cannot create the workspace {path}: {source}")]
    Workspace {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What saving did, for the person to read.
#[derive(Debug)]
pub struct Saved {
    /// The workspace did not exist and was created.
    pub created_workspace: bool,
    /// The template's files, when one was installed.
    pub template: Option<Installed>,
}

/// Every problem of an employee being edited, by field, in the engine's words: the data's
/// own rules and its agent's (for the form, before saving).
pub fn problems(employee: &Employee) -> Vec<config::validate::FieldProblem> {
    config::validate::problems(employee, &crate::agent::RULES)
}

/// Adds `employee` (or replaces the one called `original`) in the config file at `path`.
pub fn save(
    path: &Path,
    original: Option<&str>,
    employee: &Employee,
    template_id: Option<&str>,
) -> Result<Saved, EmployeeError> {
    config::validate::check(employee, &crate::agent::RULES).map_err(EmployeeError::Invalid)?;
    let chosen = template_id.map(template::find).transpose()?;
    let created_workspace = !employee.workspace.exists();
    std::fs::create_dir_all(&employee.workspace).map_err(|source| EmployeeError::Workspace {
        path: employee.workspace.clone(),
        source,
    })?;
    match original {
        Some(name) => edit::replace_employee(path, name, employee)?,
        None => edit::add_employee(path, employee)?,
    }
    let template = match chosen {
        Some(_) => Some(template::install(&employee.workspace)?),
        None => None,
    };
    Ok(Saved {
        created_workspace,
        template,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;

    #[test]
    fn saving_checks_creates_writes_and_installs() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        let ws = dir.path().join("ws");
        let e = Employee::new("Writer", SourceKind::Local, ws.clone());
        let saved = save(&cfg, None, &e, Some("linkedin-writer")).unwrap();
        assert!(saved.created_workspace && ws.join(".claude/CLAUDE.md").is_file());
        assert!(matches!(
            save(&cfg, None, &e, None),
            Err(EmployeeError::Config(ConfigError::DuplicateEmployee(_)))
        ));
        let mut bad = e.clone();
        bad.timeout_secs = 0;
        let err = save(&cfg, Some("Writer"), &bad, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("timeout_secs"), "{err}");
        let again = save(&cfg, Some("Writer"), &e, None).unwrap();
        assert!(!again.created_workspace && again.template.is_none());
    }
}
