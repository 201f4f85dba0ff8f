//! `doctor` and `token status`: what Delegate can check of its config, the Todoist token and
//! projects, this machine's sandbox, the agent CLIs and the workspaces — each problem with what
//! to do about it. The checks, their words and their fixes are decided here; a front end only
//! shows the report. Neither opens the engine: `doctor` has to speak about a config the engine
//! could not load, and neither should mark runs or stop processes as opening it does.

use crate::agent::{self, Login, spawn};
use crate::config::{Config, Employee, SourceKind};
use crate::engine::{EngineError, github_client, linear_client, todoist_account};
use crate::paths::Paths;
use crate::sandbox;
use crate::secrets::{self, SecretStore, TokenOrigin};
use crate::source::{SourceError, TodoistError};
use std::time::Duration;

/// One finding of `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// All well: the words to show.
    Ok(String),
    /// Works, but a person should know.
    Note(String),
    /// Something that keeps Delegate from working, and what to do about it.
    Fail { what: String, fix: String },
}

/// Everything `doctor` found, in the order it looked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub checks: Vec<Check>,
    /// False when it stopped early: with no config to read, nothing else can be checked.
    complete: bool,
}

impl Report {
    fn new() -> Self {
        Self {
            checks: Vec::new(),
            complete: true,
        }
    }
    fn ok(&mut self, what: impl Into<String>) {
        self.checks.push(Check::Ok(what.into()));
    }
    fn note(&mut self, what: impl Into<String>) {
        self.checks.push(Check::Note(what.into()));
    }
    fn fail(&mut self, what: impl Into<String>, fix: impl Into<String>) {
        self.checks.push(Check::Fail {
            what: what.into(),
            fix: fix.into(),
        });
    }

    /// How many problems were found.
    pub fn failures(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| matches!(c, Check::Fail { .. }))
            .count()
    }

    pub fn passed(&self) -> bool {
        self.failures() == 0
    }

    /// The closing line; none when the checks stopped at a config that could not be read
    /// (its own line says it all).
    pub fn summary(&self) -> Option<String> {
        if !self.complete {
            None
        } else if self.passed() {
            Some("All checks passed.".into())
        } else {
            Some(format!("{} problem(s) found.", self.failures()))
        }
    }
}

/// Runs every check. The token comes from `TODOIST_API_TOKEN` or `store`, which is only asked
/// when an employee works from Todoist.
pub async fn report(paths: &Paths, store: &dyn SecretStore) -> Report {
    let mut r = Report::new();
    let config = match crate::engine::load_config(&paths.config_file) {
        Ok(c) => c,
        Err(e) => {
            r.fail(
                format!("config: {e}"),
                "edit the file at the line shown, then run `delegate doctor` again",
            );
            r.complete = false;
            return r;
        }
    };
    r.ok(format!(
        "config {} is valid ({} employee(s))",
        paths.config_file.display(),
        config.employees.len()
    ));
    if config.employees.is_empty() {
        r.fail(
            "no employees",
            "add one with `delegate employee add NAME --workspace DIR`",
        );
    }
    todoist(&mut r, &config, store).await;
    github(&mut r, &config).await;
    linear(&mut r, &config).await;
    machine(&mut r, &config);
    for e in &config.employees {
        agent_cli(&mut r, e).await;
        workspace(&mut r, e);
    }
    r
}

/// The token, whether Todoist takes it, and each Todoist employee's project — through the
/// account the workers use (the same address, timeout and retries).
async fn todoist(r: &mut Report, config: &Config, store: &dyn SecretStore) {
    let employees: Vec<&Employee> = config
        .employees
        .iter()
        .filter(|e| e.source == SourceKind::Todoist)
        .collect();
    if employees.is_empty() {
        return;
    }
    let (token, origin) = match secrets::todoist_token(store) {
        Ok(Some(found)) => found,
        Ok(None) => {
            return r.fail(
                "no Todoist token",
                "run `delegate token set` (or set TODOIST_API_TOKEN)",
            );
        }
        Err(e) => {
            return r.fail(
                format!("keychain: {e}"),
                "see the hint above, or set TODOIST_API_TOKEN",
            );
        }
    };
    r.ok(format!(
        "Todoist token present (from {})",
        origin.describe()
    ));
    let account = match todoist_account(config, token) {
        Ok(a) => a,
        Err(e) => return fail_todoist(r, &e),
    };
    match account.client().user().await {
        Ok(u) => r.ok(format!(
            "Todoist accepts the token: connected as {} <{}>",
            u.full_name, u.email
        )),
        // The fix depends on the cause: only a 401 means the token is bad.
        Err(e) => return fail_todoist(r, &e),
    }
    for e in employees {
        let wanted = e.project.clone().unwrap_or_default();
        match account
            .resolve_project(&wanted, Duration::from_secs(60))
            .await
        {
            Ok(p) => r.ok(format!(
                "{}: project \"{}\" found (id {})",
                e.name, p.name, p.id
            )),
            Err(err) => {
                let fix = match &err {
                    SourceError::Todoist(t) => t.fix(),
                    _ => "create the project in Todoist or fix `project` in config.toml".into(),
                };
                r.fail(format!("{}: {err}", e.name), fix);
            }
        }
    }
}

fn fail_todoist(r: &mut Report, e: &TodoistError) {
    r.fail(format!("Todoist: {}", e.what()), e.fix());
}

/// The OS sandbox this machine offers and each employee's against it, and whether a run's
/// processes end with it even when Delegate is killed.
fn machine(r: &mut Report, config: &Config) {
    let support = sandbox::support();
    if support.available() {
        r.ok(support.describe());
    } else {
        r.note(support.describe());
    }
    match sandbox::contain::warning() {
        None => r.ok(sandbox::contain::describe()),
        Some(_) => r.note(sandbox::contain::describe()),
    }
    for e in &config.employees {
        for c in sandbox::check(e, &support) {
            match c {
                sandbox::Check::Fine(s) => r.ok(s),
                sandbox::Check::Note(s) => r.note(s),
                sandbox::Check::Problem { what, fix } => r.fail(what, fix),
            }
        }
    }
}

/// The employee's agent CLI: found, its version, and whether it is logged in (asked offline,
/// the way each agent keeps its login).
async fn agent_cli(r: &mut Report, e: &Employee) {
    let agent = agent::for_kind(e.agent);
    let not_found = |err: &spawn::SpawnError| {
        (
            format!("{}: {err}", e.name),
            format!(
                "{}, or set `command` to the CLI's full path",
                agent.install_hint()
            ),
        )
    };
    let version = match spawn::version(agent::command_of(e)).await {
        Ok(v) => v,
        Err(err) => {
            let (what, fix) = not_found(&err);
            return r.fail(what, fix);
        }
    };
    r.ok(format!(
        "{}: agent CLI \"{}\" found ({})",
        e.name,
        agent::command_of(e),
        if version.is_empty() {
            "version unknown"
        } else {
            &version
        }
    ));
    let program = match spawn::resolve_program(agent::command_of(e)) {
        Ok(p) => p,
        Err(err) => {
            let (what, fix) = not_found(&err);
            return r.fail(what, fix);
        }
    };
    let employee = e.clone();
    let login = tokio::task::spawn_blocking(move || {
        agent::for_kind(employee.agent).login(&program, &employee)
    })
    .await;
    match login {
        Ok(Login::Ready { how }) => {
            r.ok(format!("{}: {} is logged in ({how})", e.name, agent.name()))
        }
        Ok(Login::NotReady { reason, fix }) => r.fail(format!("{}: {reason}", e.name), fix),
        Ok(Login::Unknown { note }) => r.ok(format!("{}: login not checked: {note}", e.name)),
        Err(err) => r.fail(
            format!(
                "{}: the login check of {} failed ({err})",
                e.name,
                agent.name()
            ),
            "run `delegate doctor` again; if it keeps failing, please report it",
        ),
    }
}

fn workspace(r: &mut Report, e: &Employee) {
    if e.workspace.is_dir() {
        r.ok(format!(
            "{}: workspace {} exists",
            e.name,
            e.workspace.display()
        ));
    } else {
        r.fail(
            format!(
                "{}: workspace {} does not exist",
                e.name,
                e.workspace.display()
            ),
            format!("create it: mkdir -p '{}'", e.workspace.display()),
        );
    }
}

/// `token status`: whether a source's token is set, where it comes from, and whether the
/// service takes it.
#[derive(Debug)]
pub enum TokenCheck {
    /// Neither the source's variable nor the keychain (nor, for GitHub, `gh`) holds one.
    Missing(SourceKind),
    /// The service's answer to "who is this?", asked the way the workers ask: who, or why not.
    Set {
        kind: SourceKind,
        origin: TokenOrigin,
        answer: Result<String, String>,
    },
}

impl TokenCheck {
    /// Whether a token is set and the service accepts it.
    pub fn accepted(&self) -> bool {
        matches!(self, TokenCheck::Set { answer: Ok(_), .. })
    }

    /// The check in sentences, one a line.
    pub fn lines(&self) -> Vec<String> {
        match self {
            TokenCheck::Missing(kind) => {
                let flag = match kind {
                    SourceKind::Todoist => String::new(),
                    k => format!(" --source {}", k.as_str()),
                };
                vec![format!(
                    "No {} token. Set one with `delegate token set{flag}`.",
                    kind.info().title
                )]
            }
            TokenCheck::Set {
                kind,
                origin,
                answer,
            } => vec![
                format!(
                    "A {} token is set (from {}).",
                    kind.info().title,
                    origin.describe_for(*kind)
                ),
                match answer {
                    Ok(who) => format!("Connected as {who}."),
                    Err(e) => format!("Token rejected or {} unreachable: {e}", kind.info().title),
                },
            ],
        }
    }
}

/// Checks the Todoist token as [`TokenCheck`] says.
pub async fn token(paths: &Paths, store: &dyn SecretStore) -> Result<TokenCheck, EngineError> {
    source_token(paths, SourceKind::Todoist, store).await
}

/// Checks `kind`'s token as [`TokenCheck`] says. Fails when the keychain cannot be read, or
/// when a token is set and the config (which says where the service is) cannot be.
pub async fn source_token(
    paths: &Paths,
    kind: SourceKind,
    store: &dyn SecretStore,
) -> Result<TokenCheck, EngineError> {
    let Some((token, origin)) = secrets::source_token(kind, store)? else {
        return Ok(TokenCheck::Missing(kind));
    };
    let config = crate::engine::load_config(&paths.config_file)?;
    let answer = match kind {
        SourceKind::Todoist => match todoist_account(&config, token) {
            Ok(account) => account.client().user().await,
            Err(e) => Err(e),
        }
        .map(|u| format!("{} <{}>", u.full_name, u.email))
        .map_err(|e| e.to_string()),
        SourceKind::GitHub => match github_client(&config, token) {
            Ok(c) => c.user().await,
            Err(e) => Err(e),
        }
        .map(|u| github_who(&u))
        .map_err(|e| e.to_string()),
        SourceKind::Linear => match linear_client(&config, token) {
            Ok(c) => c.viewer().await,
            Err(e) => Err(e),
        }
        .map(|u| format!("{} <{}>", u.name, u.email))
        .map_err(|e| e.to_string()),
        SourceKind::Local => Ok("the local queue".into()),
    };
    Ok(TokenCheck::Set {
        kind,
        origin,
        answer,
    })
}

fn github_who(u: &crate::source::github::client::User) -> String {
    match &u.name {
        Some(n) if !n.trim().is_empty() => format!("{} ({n})", u.login),
        _ => u.login.clone(),
    }
}

/// The Linear key, whether Linear takes it, and each Linear employee's team with the states
/// Delegate moves issues through. The keychain is asked only when an employee works from
/// Linear.
async fn linear(r: &mut Report, config: &Config) {
    let employees: Vec<&Employee> = config
        .employees
        .iter()
        .filter(|e| e.source == SourceKind::Linear)
        .collect();
    if employees.is_empty() {
        return;
    }
    let store = secrets::KeychainStore::for_source(SourceKind::Linear);
    let (token, origin) = match secrets::source_token(SourceKind::Linear, &store) {
        Ok(Some(found)) => found,
        Ok(None) => {
            return r.fail(
                "no Linear API key",
                "run `delegate token set --source linear` (or set LINEAR_API_KEY)",
            );
        }
        Err(e) => {
            return r.fail(
                format!("keychain: {e}"),
                "see the hint above, or set LINEAR_API_KEY",
            );
        }
    };
    r.ok(format!(
        "Linear API key present (from {})",
        origin.describe_for(SourceKind::Linear)
    ));
    let client = match linear_client(config, token) {
        Ok(c) => std::sync::Arc::new(c),
        Err(e) => return r.fail(format!("Linear: {}", e.what()), e.fix()),
    };
    match client.viewer().await {
        Ok(u) => r.ok(format!(
            "Linear accepts the key: connected as {} <{}>",
            u.name, u.email
        )),
        Err(e) => return r.fail(format!("Linear: {}", e.what()), e.fix()),
    }
    for e in employees {
        let team = crate::source::LinearTeam::new(
            client.clone(),
            e.team.as_deref().unwrap_or(""),
            e.linear_project.as_deref(),
            e.linear_label.as_deref(),
            e.linear_review_state.as_deref(),
        );
        match team.describe().await {
            Ok(words) => r.ok(format!("{}: {words}", e.name)),
            Err(err) => r.fail(format!("{}: {}", e.name, err.what()), err.fix()),
        }
    }
}

/// The GitHub token, whether GitHub takes it, and each GitHub employee's repository: there,
/// with issues on, and writable by the token. The keychain is asked only when an employee
/// works from GitHub.
async fn github(r: &mut Report, config: &Config) {
    let employees: Vec<&Employee> = config
        .employees
        .iter()
        .filter(|e| e.source == SourceKind::GitHub)
        .collect();
    if employees.is_empty() {
        return;
    }
    let store = secrets::KeychainStore::for_source(SourceKind::GitHub);
    let (token, origin) = match secrets::source_token(SourceKind::GitHub, &store) {
        Ok(Some(found)) => found,
        Ok(None) => {
            return r.fail(
                "no GitHub token",
                "run `delegate token set --source github` (or set GITHUB_TOKEN, or log in with `gh auth login`)",
            );
        }
        Err(e) => {
            return r.fail(
                format!("keychain: {e}"),
                "see the hint above, or set GITHUB_TOKEN",
            );
        }
    };
    r.ok(format!(
        "GitHub token present (from {})",
        origin.describe_for(SourceKind::GitHub)
    ));
    let client = match github_client(config, token) {
        Ok(c) => c,
        Err(e) => return r.fail(format!("GitHub: {}", e.what()), e.fix()),
    };
    match client.user().await {
        Ok(u) => r.ok(format!(
            "GitHub accepts the token: connected as {}",
            github_who(&u)
        )),
        Err(e) => return r.fail(format!("GitHub: {}", e.what()), e.fix()),
    }
    for e in employees {
        let repo = e.repo.clone().unwrap_or_default();
        match client.repo(&repo).await {
            Ok(found) if found.has_issues == Some(false) => r.fail(
                format!(
                    "{}: the repository {} has issues turned off",
                    e.name, found.full_name
                ),
                "turn on Issues in the repository's Settings → General → Features",
            ),
            Ok(found) if found.archived => r.fail(
                format!(
                    "{}: the repository {} is archived (read-only)",
                    e.name, found.full_name
                ),
                "unarchive it, or point `repo` at another repository",
            ),
            Ok(found)
                if found
                    .permissions
                    .as_ref()
                    .is_some_and(|p| !p.push && !p.triage) =>
            {
                r.fail(
                    format!(
                        "{}: the token can read {} but may not label or comment on its issues",
                        e.name, found.full_name
                    ),
                    "give the token Issues read and write on the repository (or Triage access)",
                )
            }
            Ok(found) => r.ok(format!(
                "{}: repository {} found{}",
                e.name,
                found.full_name,
                e.github_label
                    .as_deref()
                    .map(|l| format!(" (issues labelled \"{l}\")"))
                    .unwrap_or_default()
            )),
            Err(err) => r.fail(format!("{}: {}", e.name, err.what()), err.fix()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::edit;
    use crate::secrets::{MemoryStore, TOKEN_ENV};

    fn fails(r: &Report) -> Vec<(&str, &str)> {
        r.checks
            .iter()
            .filter_map(|c| match c {
                Check::Fail { what, fix } => Some((what.as_str(), fix.as_str())),
                _ => None,
            })
            .collect()
    }

    fn home() -> (tempfile::TempDir, Paths) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        (dir, paths)
    }

    #[tokio::test]
    async fn no_employees_is_a_problem_with_its_fix() {
        let (_dir, paths) = home();
        let r = report(&paths, &MemoryStore::default()).await;
        assert_eq!(
            r.checks[0],
            Check::Ok(format!(
                "config {} is valid (0 employee(s))",
                paths.config_file.display()
            ))
        );
        assert_eq!(
            fails(&r),
            [(
                "no employees",
                "add one with `delegate employee add NAME --workspace DIR`"
            )]
        );
        assert!(!r.passed());
        assert_eq!(r.summary().as_deref(), Some("1 problem(s) found."));
        // No Todoist employee: Todoist and the keychain are left alone.
        assert!(!format!("{r:?}").contains("Todoist"));
    }

    #[tokio::test]
    async fn a_broken_config_is_the_only_finding() {
        let (_dir, paths) = home();
        std::fs::write(
            &paths.config_file,
            "[todoist]\napi_url = \"http://x\"\ntimout_secs = 5\n",
        )
        .unwrap();
        let r = report(&paths, &MemoryStore::default()).await;
        assert_eq!(r.checks.len(), 1, "{r:?}");
        let [(what, fix)] = fails(&r)[..] else {
            panic!("{r:?}")
        };
        assert!(what.starts_with("config: "), "{what}");
        assert!(what.contains("line 3"), "{what}");
        assert_eq!(
            fix,
            "edit the file at the line shown, then run `delegate doctor` again"
        );
        assert_eq!(r.summary(), None);
        assert!(!r.passed());
    }

    #[tokio::test]
    async fn a_missing_agent_and_workspace_each_say_what_to_do() {
        let (dir, paths) = home();
        let workspace = dir.path().join("gone");
        let mut e = Employee::new("Writer", SourceKind::Local, workspace.clone());
        e.command = Some("/nonexistent/claude".into());
        edit::add_employee(&paths.config_file, &e).unwrap();
        let r = report(&paths, &MemoryStore::default()).await;
        let fails = fails(&r);
        let agent = fails
            .iter()
            .find(|(what, _)| what.starts_with("Writer: agent CLI \"/nonexistent/claude\""))
            .unwrap_or_else(|| panic!("{r:?}"));
        assert!(
            agent
                .1
                .ends_with(", or set `command` to the CLI's full path"),
            "{agent:?}"
        );
        assert!(fails.contains(&(
            format!("Writer: workspace {} does not exist", workspace.display()).as_str(),
            format!("create it: mkdir -p '{}'", workspace.display()).as_str()
        )));
        assert_eq!(
            r.summary(),
            Some(format!("{} problem(s) found.", r.failures()))
        );
    }

    #[tokio::test]
    async fn a_todoist_employee_without_a_token_is_told_how_to_set_one() {
        if std::env::var(TOKEN_ENV).is_ok_and(|v| !v.trim().is_empty()) {
            return; // a token set for this test process answers before the store
        }
        let (dir, paths) = home();
        let mut e = Employee::new("Writer", SourceKind::Todoist, dir.path().to_path_buf());
        e.project = Some("Writer".into());
        edit::add_employee(&paths.config_file, &e).unwrap();
        let r = report(&paths, &MemoryStore::default()).await;
        assert!(fails(&r).contains(&(
            "no Todoist token",
            "run `delegate token set` (or set TODOIST_API_TOKEN)"
        )));
        let check = token(&paths, &MemoryStore::default()).await.unwrap();
        assert!(!check.accepted());
        assert_eq!(
            check.lines(),
            ["No Todoist token. Set one with `delegate token set`."]
        );
    }

    #[tokio::test]
    async fn a_token_with_a_broken_config_is_the_configs_error() {
        let (_dir, paths) = home();
        std::fs::write(&paths.config_file, "[todoist]\napi_url = 5\n").unwrap();
        let err = token(&paths, &MemoryStore::with("tok"))
            .await
            .expect_err("the config says where Todoist is");
        assert!(matches!(err, EngineError::Config(_)), "{err:?}");
    }

    #[test]
    fn every_check_passing_says_so() {
        let mut r = Report::new();
        r.ok("fine");
        r.note("worth knowing");
        assert!(r.passed());
        assert_eq!(r.summary().as_deref(), Some("All checks passed."));
    }
}
