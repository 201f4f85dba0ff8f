//! Setting employees up, the one way the CLI and the desktop app both do it. Saving: check it,
//! create its workspace, write it into `config.toml` (keeping the person's comments), and copy
//! the chosen template into the workspace (never over the person's files). Also what the
//! employee form starts from (a template's defaults, a suggested workspace) and the employees
//! as the window lists them.

use crate::agent::AgentInfo;
use crate::config::{self, AgentKind, ConfigError, Employee, SourceKind, edit};
use crate::engine::{Engine, EngineError};
use crate::source::service::Target;
use crate::template::{self, Installed, TemplateError};
use serde::Serialize;
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

/// Removes the employee called `name` from the config file at `path`, keeping everything
/// else (comments included). Its history and workspace stay.
pub fn remove(path: &Path, name: &str) -> Result<(), EmployeeError> {
    Ok(edit::remove_employee(path, name)?)
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

/// An employee as the window lists it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EmployeeView {
    pub employee: Employee,
    /// Where its tasks come from, in words ("GitHub repository octo/docs").
    pub source_words: String,
    /// The tool scope in plain words.
    pub permissions: String,
    pub paused: bool,
    /// The OS sandbox in plain words.
    pub sandbox: String,
    /// Dollars recorded today, for the budget bar.
    pub spent_today: f64,
}

impl Engine {
    /// Every employee of the config, with its scope and sandbox in words, whether it is
    /// paused, and what it spent today (0 when the history cannot say).
    pub fn employee_views(&self) -> Vec<EmployeeView> {
        let today = crate::worker::start_of_today();
        self.config()
            .employees
            .into_iter()
            .map(|e| EmployeeView {
                source_words: source_in_words(&e),
                permissions: crate::agent::scope(&e),
                sandbox: crate::sandbox::summary(&e),
                paused: self.is_paused(&e.name),
                spent_today: self
                    .history()
                    .spend_since(Some(&e.name), today)
                    .unwrap_or(0.0),
                employee: e,
            })
            .collect()
    }

    /// Removes the employee called `name` from `config.toml` (keeping everything else) and
    /// stops its worker after its current run. Its history and workspace stay.
    pub async fn delete_employee(&self, name: &str) -> Result<(), EngineError> {
        remove(&self.paths().config_file, name)?;
        self.reload_config().await
    }

    /// What an employee of `kind` can work on, listed live from its account: Todoist
    /// projects, GitHub repositories (most recently updated first), Linear teams. A source
    /// on this machine has nothing to list.
    pub async fn targets(&self, kind: SourceKind) -> Result<Vec<Target>, EngineError> {
        if kind.info().connect.is_none() {
            return Ok(Vec::new());
        }
        Ok(self.service(kind).await?.targets().await?)
    }

    /// Who `kind`'s token belongs to, asked the way the workers ask ("connected as …"); a
    /// rejected token is a `token_rejected` error.
    pub async fn check_token(&self, kind: SourceKind) -> Result<String, EngineError> {
        if kind.info().connect.is_none() {
            return Ok(kind.info().target_words.to_string());
        }
        Ok(self.service(kind).await?.who().await?)
    }
}

/// A new employee as the form starts it: a template's defaults (plain defaults without one),
/// for `agent` when given — the templates' defaults are Claude Code's, so another agent keeps
/// only what it takes.
pub fn new_employee(
    template: Option<&str>,
    name: &str,
    source: SourceKind,
    workspace: &str,
    agent: Option<AgentKind>,
) -> Result<Employee, EngineError> {
    let mut e = Employee::new(name.trim(), source, PathBuf::from(workspace.trim()));
    if let Some(id) = template {
        template::find(id)
            .map_err(EmployeeError::from)?
            .apply_defaults(&mut e);
    }
    if let Some(kind) = agent {
        crate::agent::switch(&mut e, kind);
    }
    Ok(e)
}

/// A sensible home for a new employee's workspace: `~/Delegate/<name in lower case, words
/// joined by dashes>` (`employee` when the name has no letters or digits).
pub fn suggest_workspace(name: &str) -> String {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    workspace_under(&home, name).display().to_string()
}

fn workspace_under(home: &Path, name: &str) -> PathBuf {
    let slug: String = name
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    home.join("Delegate").join(if slug.is_empty() {
        "employee".into()
    } else {
        slug
    })
}

/// Every agent Delegate knows, as this machine has them (installed, version, logged in).
pub async fn agents() -> Vec<AgentInfo> {
    let mut out = Vec::new();
    for a in crate::agent::all() {
        out.push(crate::agent::describe(a.kind(), None).await);
    }
    out
}

/// Where an employee's tasks come from, in words: `Todoist project “Writer”`, `GitHub
/// repository octo/site (issues labelled “delegate”)`, `the local queue`.
pub fn source_in_words(e: &Employee) -> String {
    let info = e.source.info();
    if info.settings.is_empty() {
        return info.target_words.to_string();
    }
    let mut out = info.title.to_string();
    for s in info.settings.iter().filter(|s| !s.words.is_empty()) {
        if let Some(v) = e.setting(s.key) {
            let part = s.words.replace("{}", v);
            if !part.starts_with([',', ' ']) {
                out.push(' ');
            }
            out.push_str(&part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn workspaces_are_named_after_the_employee() {
        let home = Path::new("/home/p");
        assert_eq!(
            workspace_under(home, "LinkedIn Writer!"),
            Path::new("/home/p/Delegate/linkedin-writer")
        );
        assert_eq!(
            workspace_under(home, "  "),
            Path::new("/home/p/Delegate/employee")
        );
        assert!(suggest_workspace("Rev").ends_with("/Delegate/rev"));
    }

    #[test]
    fn a_new_employee_takes_its_template_defaults() {
        let e = new_employee(
            Some("code-reviewer"),
            " Rev ",
            SourceKind::Local,
            " /w ",
            None,
        )
        .unwrap();
        assert_eq!(
            (e.name.as_str(), e.workspace.as_path()),
            ("Rev", Path::new("/w"))
        );
        assert_eq!(e.disallowed_tools, ["Bash"]);
        let g = new_employee(
            Some("code-reviewer"),
            "Rev",
            SourceKind::Local,
            "/w",
            Some(AgentKind::Gemini),
        )
        .unwrap();
        assert_eq!((g.agent, g.max_task_usd), (AgentKind::Gemini, None));
        let unknown = new_employee(Some("nope"), "R", SourceKind::Local, "/w", None).unwrap_err();
        assert_eq!(unknown.code(), "template");
    }

    #[tokio::test]
    async fn deleting_an_employee_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let engine = crate::testing::engine(dir.path());
        for name in ["Writer", "Coder"] {
            let e = Employee::new(name, SourceKind::Local, dir.path().join(name));
            engine.save_employee(None, &e, None).await.unwrap();
        }
        engine.delete_employee("writer").await.unwrap();
        let names: Vec<String> = engine
            .employee_views()
            .into_iter()
            .map(|v| v.employee.name)
            .collect();
        assert_eq!(names, ["Coder"]);
        assert_eq!(
            engine.delete_employee("Writer").await.unwrap_err().code(),
            "not_found"
        );
    }
}
