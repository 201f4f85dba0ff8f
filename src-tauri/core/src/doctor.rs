//! `doctor` and `token status`: what Delegate can check of its config, the Todoist token and
//! projects, this machine's sandbox, the agent CLIs and the workspaces — each problem with what
//! to do about it. The checks, their words and their fixes are decided here; a front end only
//! shows the report. Neither opens the engine: `doctor` has to speak about a config the engine
//! could not load, and neither should mark runs or stop processes as opening it does.

use crate::agent::{self, Login, spawn};
use crate::config::{Config, Employee, SourceKind};
use crate::engine::EngineError;
use crate::paths::Paths;
use crate::sandbox;
use crate::secrets::{self, SecretStore, TokenOrigin};

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

/// Runs every check. A source's token comes from its variable or its store, which is only
/// asked when an employee works from that source.
pub async fn report(paths: &Paths, stores: &crate::secrets::Stores) -> Report {
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
    for kind in SourceKind::with_tokens() {
        source(&mut r, &config, kind, stores.get(kind).as_ref()).await;
    }
    machine(&mut r, &config);
    for e in &config.employees {
        agent_cli(&mut r, e).await;
        workspace(&mut r, e);
    }
    r
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
            TokenCheck::Missing(kind) => vec![format!(
                "No {} token. Set one with `delegate token set --source {}`.",
                kind.info().title,
                kind.as_str()
            )],
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

/// One source's part: the token (from where), whether the service takes it, and each of its
/// employees' targets — through the account the workers use (the same address, timeout and
/// retries).
async fn source(r: &mut Report, config: &Config, kind: SourceKind, store: &dyn SecretStore) {
    let employees: Vec<&Employee> = config
        .employees
        .iter()
        .filter(|e| e.source == kind)
        .collect();
    let info = kind.info();
    let (Some(connect), false) = (info.connect, employees.is_empty()) else {
        return;
    };
    let (token, origin) = match secrets::source_token(kind, store, Some(config)) {
        Ok(Some(found)) => found,
        Ok(None) => {
            let missing = EngineError::NoSourceToken(kind).to_string();
            let fix = missing
                .split_once(": ")
                .map(|(_, fix)| fix.to_string())
                .unwrap_or(missing.clone());
            return r.fail(format!("no {} {}", info.title, info.token_name), fix);
        }
        Err(e) => {
            return r.fail(
                format!("keychain: {e}"),
                format!(
                    "see the hint above, or set {}",
                    info.token_env.unwrap_or("the token's variable")
                ),
            );
        }
    };
    r.ok(format!(
        "{} {} present (from {})",
        info.title,
        info.token_name,
        origin.describe_for(kind)
    ));
    let service = match connect(config, token) {
        Ok(s) => s,
        Err(e) => return r.fail(format!("{}: {}", info.title, e.what()), e.fix()),
    };
    match service.who().await {
        Ok(who) => r.ok(format!(
            "{} accepts the {}: connected as {who}",
            info.title, info.token_name
        )),
        // The fix depends on the cause: only a 401 means the token is bad.
        Err(e) => return r.fail(format!("{}: {}", info.title, e.what()), e.fix()),
    }
    for e in employees {
        match service.check(e).await {
            Ok(words) => r.ok(format!("{}: {words}", e.name)),
            Err(err) => r.fail(format!("{}: {}", e.name, err.what()), err.fix()),
        }
    }
}

/// Checks `kind`'s token as [`TokenCheck`] says. Fails when the keychain cannot be read, or
/// when a token is set and the config (which says where the service is) cannot be.
pub async fn source_token(
    paths: &Paths,
    kind: SourceKind,
    store: &dyn SecretStore,
) -> Result<TokenCheck, EngineError> {
    // The config says where the service is; it must be readable once a token is there.
    let config = crate::engine::load_config(&paths.config_file);
    let Some((token, origin)) = secrets::source_token(kind, store, config.as_ref().ok())? else {
        return Ok(TokenCheck::Missing(kind));
    };
    let config = config?;
    let answer = match kind.info().connect {
        Some(connect) => match connect(&config, token) {
            Ok(service) => service.who().await,
            Err(e) => Err(e),
        }
        .map_err(|e| e.to_string()),
        None => Ok(kind.info().target_words.to_string()),
    };
    Ok(TokenCheck::Set {
        kind,
        origin,
        answer,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::edit;
    use crate::secrets::MemoryStore;

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
        let r = report(&paths, &crate::secrets::Stores::memory()).await;
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
        let r = report(&paths, &crate::secrets::Stores::memory()).await;
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
        let r = report(&paths, &crate::secrets::Stores::memory()).await;
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
        if std::env::var("TODOIST_API_TOKEN").is_ok_and(|v| !v.trim().is_empty()) {
            return; // a token set for this test process answers before the store
        }
        let (dir, paths) = home();
        let mut e = Employee::new("Writer", SourceKind::Todoist, dir.path().to_path_buf());
        e.set_setting("project", Some("Writer"));
        edit::add_employee(&paths.config_file, &e).unwrap();
        let r = report(&paths, &crate::secrets::Stores::memory()).await;
        assert!(fails(&r).contains(&(
            "no Todoist API token",
            "run `delegate token set --source todoist` (or set TODOIST_API_TOKEN)"
        )));
        let check = source_token(&paths, SourceKind::Todoist, &MemoryStore::default())
            .await
            .unwrap();
        assert!(!check.accepted());
        assert_eq!(
            check.lines(),
            ["No Todoist token. Set one with `delegate token set --source todoist`."]
        );
    }

    #[tokio::test]
    async fn a_token_with_a_broken_config_is_the_configs_error() {
        let (_dir, paths) = home();
        std::fs::write(&paths.config_file, "[todoist]\napi_url = 5\n").unwrap();
        let err = source_token(&paths, SourceKind::Todoist, &MemoryStore::with("tok"))
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
