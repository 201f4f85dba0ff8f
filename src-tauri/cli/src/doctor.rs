//! `delegate doctor`: one line per check, each failure with what to do about it.

use anyhow::Result;
use delegate_core::Paths;
use delegate_core::agent::{Login, spawn};
use delegate_core::config::{Config, SourceKind};
use delegate_core::secrets;
use delegate_core::source::{RetryPolicy, TodoistAccount, TodoistClient};
use std::process::ExitCode;
use std::time::Duration;

struct Report {
    failures: usize,
}

impl Report {
    fn ok(&self, what: &str) {
        println!("✓ {what}");
    }
    fn note(&self, what: &str) {
        println!("! {what}");
    }
    fn fail(&mut self, what: &str, fix: &str) {
        self.failures += 1;
        println!("✗ {what}\n    fix: {fix}");
    }
}

pub async fn doctor(paths: Paths) -> Result<ExitCode> {
    let mut r = Report { failures: 0 };
    let config = match Config::load(&paths.config_file, &delegate_core::agent::RULES) {
        Ok(c) => {
            r.ok(&format!(
                "config {} is valid ({} employee(s))",
                paths.config_file.display(),
                c.employees.len()
            ));
            c
        }
        Err(e) => {
            r.fail(
                &format!("config: {e}"),
                "edit the file at the line shown, then run `delegate doctor` again",
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    if config.employees.is_empty() {
        r.fail(
            "no employees",
            "add one with `delegate employee add NAME --workspace DIR`",
        );
    }

    let todoist: Vec<_> = config
        .employees
        .iter()
        .filter(|e| e.source == SourceKind::Todoist)
        .collect();
    if !todoist.is_empty() {
        let store = super::keychain();
        match secrets::todoist_token(store.as_ref()) {
            Ok(Some((token, origin))) => {
                r.ok(&format!(
                    "Todoist token present (from {})",
                    origin.describe()
                ));
                let client = TodoistClient::new(
                    &config.api_url(),
                    token,
                    RetryPolicy {
                        max_retries: 1,
                        ..RetryPolicy::default()
                    },
                )?;
                match client.user().await {
                    Ok(u) => {
                        r.ok(&format!(
                            "Todoist accepts the token: connected as {} <{}>",
                            u.full_name, u.email
                        ));
                        let account = TodoistAccount::new(client);
                        for e in &todoist {
                            let wanted = e.project.clone().unwrap_or_default();
                            match account.resolve_project(&wanted, Duration::from_secs(60)).await {
                                Ok(p) => r.ok(&format!("{}: project \"{}\" found (id {})", e.name, p.name, p.id)),
                                Err(err) => r.fail(&format!("{}: {err}", e.name), &match &err {
                                    delegate_core::source::SourceError::Todoist(t) => t.fix(),
                                    _ => "create the project in Todoist or fix `project` in config.toml".into(),
                                }),
                            }
                        }
                    }
                    // The fix depends on the cause: only a 401 means the token is bad.
                    Err(e) => r.fail(&format!("Todoist: {}", e.what()), &e.fix()),
                }
            }
            Ok(None) => r.fail(
                "no Todoist token",
                "run `delegate token set` (or set TODOIST_API_TOKEN)",
            ),
            Err(e) => r.fail(
                &format!("keychain: {e}"),
                "see the hint above, or set TODOIST_API_TOKEN",
            ),
        }
    }

    // The OS sandbox this machine offers, and each employee's against it.
    let support = delegate_core::sandbox::support();
    if support.available() {
        r.ok(&support.describe());
    } else {
        r.note(&support.describe());
    }
    // Whether a run's processes end with it even when Delegate is killed.
    match delegate_core::sandbox::contain::warning() {
        None => r.ok(delegate_core::sandbox::contain::describe()),
        Some(_) => r.note(delegate_core::sandbox::contain::describe()),
    }
    for e in &config.employees {
        for c in delegate_core::sandbox::check(e, &support) {
            match c {
                delegate_core::sandbox::Check::Fine(s) => r.ok(&s),
                delegate_core::sandbox::Check::Note(s) => r.note(&s),
                delegate_core::sandbox::Check::Problem { what, fix } => r.fail(&what, &fix),
            }
        }
    }

    for e in &config.employees {
        let agent = delegate_core::agent::for_kind(e.agent);
        match spawn::version(delegate_core::agent::command_of(e)).await {
            Ok(v) => {
                r.ok(&format!(
                    "{}: agent CLI \"{}\" found ({})",
                    e.name,
                    delegate_core::agent::command_of(e),
                    if v.is_empty() { "version unknown" } else { &v }
                ));
                // Logged in? Asked offline, the way each agent keeps its login.
                let (program, employee) = (
                    spawn::resolve_program(delegate_core::agent::command_of(e))?,
                    e.clone(),
                );
                let login = tokio::task::spawn_blocking(move || {
                    delegate_core::agent::for_kind(employee.agent).login(&program, &employee)
                })
                .await?;
                match login {
                    Login::Ready { how } => r.ok(&format!(
                        "{}: {} is logged in ({how})",
                        e.name,
                        agent.name()
                    )),
                    Login::NotReady { reason, fix } => {
                        r.fail(&format!("{}: {reason}", e.name), &fix)
                    }
                    Login::Unknown { note } => {
                        r.ok(&format!("{}: login not checked: {note}", e.name))
                    }
                }
            }
            Err(err) => r.fail(
                &format!("{}: {err}", e.name),
                &format!(
                    "{}, or set `command` to the CLI's full path",
                    agent.install_hint()
                ),
            ),
        }
        if e.workspace.is_dir() {
            r.ok(&format!(
                "{}: workspace {} exists",
                e.name,
                e.workspace.display()
            ));
        } else {
            r.fail(
                &format!(
                    "{}: workspace {} does not exist",
                    e.name,
                    e.workspace.display()
                ),
                &format!("create it: mkdir -p '{}'", e.workspace.display()),
            );
        }
    }
    if r.failures == 0 {
        println!("All checks passed.");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} problem(s) found.", r.failures);
        Ok(ExitCode::FAILURE)
    }
}
