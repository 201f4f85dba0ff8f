//! The `delegate` binary's own front end: what it prints of the engine's reports and the exit
//! status it gives. The whole tool, against the fake Todoist server and the fake agent, is
//! tested in `delegate-testkit` (tests/cli.rs and others).

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use std::path::Path;
use std::process::{Command, Output};

fn delegate(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_delegate"));
    c.arg("--home")
        .arg(home)
        .env_remove("DELEGATE_HOME")
        .env_remove("TODOIST_API_TOKEN")
        .env_remove("DELEGATE_TODOIST_API_URL");
    c
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn version() {
    let dir = tempfile::tempdir().unwrap();
    let o = delegate(dir.path()).arg("--version").output().unwrap();
    assert!(o.status.success());
    assert_eq!(
        stdout(&o).trim(),
        concat!("delegate ", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn doctor_prints_each_problem_with_its_fix_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let o = delegate(dir.path()).arg("doctor").output().unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.starts_with("✓ config "), "{out}");
    assert!(
        out.contains(
            "\n✗ no employees\n    fix: add one with `delegate employee add NAME --workspace DIR`\n"
        ),
        "{out}"
    );
    assert!(out.ends_with("\n1 problem(s) found.\n"), "{out}");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn doctor_stops_at_a_broken_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[todoist]\ntimout_secs = 5\n",
    )
    .unwrap();
    let o = delegate(dir.path()).arg("doctor").output().unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.starts_with("✗ config: "), "{out}");
    assert!(
        out.ends_with(
            "\n    fix: edit the file at the line shown, then run `delegate doctor` again\n"
        ),
        "{out}"
    );
    assert!(!out.contains("problem(s) found"), "{out}");
}

#[test]
fn token_status_with_a_broken_config_is_an_error_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[todoist]\ntimout_secs = 5\n",
    )
    .unwrap();
    let o = delegate(dir.path())
        .args(["token", "status"])
        .env("TODOIST_API_TOKEN", "tok")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("delegate: "), "{err}");
    assert!(err.contains("unknown field `timout_secs`"), "{err}");
}
