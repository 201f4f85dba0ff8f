//! No child Delegate starts gets the Todoist token: not the agent, and not the quick checks
//! around it — the login check before the first claim (`claude auth status`, `codex login
//! status`) and the version probe `doctor` runs. The agents are a recorder script named like
//! the real CLI that writes down its argv and environment, then becomes the fake agent.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::*;
use delegate_core::config::{AgentKind, Employee, SourceKind, edit};
use delegate_testkit::{FakeTodoist, sibling_binary};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `dir/bin/<name>`: records how it was started into `records`, then runs `target`.
fn recorder(dir: &Path, name: &str, records: &Path, target: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = bin.join(name);
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n\
             # Writes down its arguments and environment, then becomes the fake agent.\n\
             f='{records}/{name}-'\"$$-$(date +%s%N)\".txt\n\
             {{ for a in \"$@\"; do printf 'arg: %s\\n' \"$a\"; done; env; }} > \"$f\"\n\
             exec '{target}' \"$@\"\n",
            records = records.display(),
            target = target.display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

async fn output(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_child_gets_the_token_not_even_the_login_check_or_the_version_probe() {
    let server = FakeTodoist::start(TOKEN).await;
    let project = server.add_project("Writer");
    server.add_task(&project, "Write about secrets", "");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let data = root.join("data");
    let home = root.join("home");
    let records = root.join("records");
    for d in [&data, &home, &records] {
        std::fs::create_dir_all(d).unwrap();
    }
    let fake = fake_claude();
    // Codex's personality comes from the program's name.
    let fake_codex = root.join("bin/fake-codex");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::os::unix::fs::symlink(&fake, &fake_codex).unwrap();
    let claude = recorder(root, "claude", &records, &fake);
    let codex = recorder(root, "codex", &records, &fake_codex);
    // The sandboxed agents may write their records and run the fake agent.
    let fake_dir = fake.parent().unwrap().to_path_buf();

    let config = data.join("config.toml");
    let mut writer = Employee::new("Writer", SourceKind::Todoist, root.join("ws-writer"));
    writer.set_setting("project", Some("Writer"));
    writer.command = Some(claude.display().to_string());
    writer.sandbox_write = vec![records.clone()];
    writer.sandbox_read = vec![fake_dir.clone()];
    edit::add_employee(&config, &writer).unwrap();
    let mut coder = Employee::new("Coder", SourceKind::Local, root.join("ws-coder"));
    coder.agent = AgentKind::Codex;
    coder.command = Some(codex.display().to_string());
    coder.sandbox_write = vec![records.clone()];
    coder.sandbox_read = vec![fake_dir, root.join("bin")];
    edit::add_employee(&config, &coder).unwrap();
    for ws in ["ws-writer", "ws-coder"] {
        std::fs::create_dir_all(root.join(ws)).unwrap();
    }

    let delegate = |args: &[&str]| {
        let mut c = Command::new(sibling_binary("delegate"));
        c.arg("--home")
            .arg(&data)
            .args(args)
            .env("HOME", &home)
            .env("TODOIST_API_TOKEN", TOKEN)
            .env("SOME_COPY_OF_IT", format!("prefix-{TOKEN}-suffix"))
            .env("DELEGATE_TODOIST_API_URL", &server.url)
            .env_remove("DELEGATE_HOME")
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("CODEX_HOME")
            .env_remove("CLAUDE_CODE_OAUTH_TOKEN")
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("CODEX_API_KEY");
        c
    };
    let add = output(delegate(&["task", "add", "-e", "Coder", "Tidy the code"])).await;
    assert!(add.status.success(), "{add:?}");
    let run = output(delegate(&["run"])).await;
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "{said}");
    assert!(said.contains("Writer: 1 run(s): #"), "{said}");
    assert!(said.contains("Coder: 1 run(s): #"), "{said}");
    let doctor = output(delegate(&["doctor"])).await;
    let said = String::from_utf8_lossy(&doctor.stdout);
    assert!(said.contains("(2.1.197 (Claude Code))"), "{said}");
    assert!(said.contains("(codex-cli 0.169.0)"), "{said}");

    // Every kind of child was recorded: the checks below cannot pass on nothing.
    let recs: Vec<(String, String)> = std::fs::read_dir(&records)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                read(&p),
            )
        })
        .collect();
    let seen = |program: &str, first_arg: &str| {
        recs.iter().any(|(name, text)| {
            name.starts_with(&format!("{program}-"))
                && text.starts_with(&format!("arg: {first_arg}\n"))
        })
    };
    for (program, first_arg, what) in [
        ("claude", "auth", "the login check"),
        ("claude", "--version", "the version probe"),
        ("claude", "-p", "the agent's run"),
        ("codex", "login", "the login check"),
        ("codex", "--version", "the version probe"),
        ("codex", "exec", "the agent's run"),
    ] {
        assert!(
            seen(program, first_arg),
            "no record of {program}'s {what}: {:?}",
            recs.iter().map(|r| &r.0).collect::<Vec<_>>()
        );
    }
    for (name, text) in &recs {
        assert!(!text.contains(TOKEN), "the token reached {name}:\n{text}");
        for var in [
            "TODOIST_API_TOKEN=",
            "SOME_COPY_OF_IT=",
            "DELEGATE_TODOIST_API_URL=",
        ] {
            assert!(
                !text.lines().any(|l| l.starts_with(var)),
                "{var} reached {name}"
            );
        }
        // What the child needs is still there.
        assert!(text.lines().any(|l| l.starts_with("PATH=")), "{name}");
        assert!(
            text.lines()
                .any(|l| l == format!("HOME={}", home.display())),
            "{name}"
        );
    }
}
