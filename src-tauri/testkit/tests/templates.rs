//! Employees created from each shipped template: the workspace gets the rules, skills and
//! reference notes, a whole cycle runs in it, and creating it again keeps a person's edits.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::{fake_claude, read};
use delegate_core::config::Config;
use delegate_core::template::TEMPLATES;
use delegate_testkit::sibling_binary;
use std::path::Path;
use std::process::{Command, Output};

fn delegate(home: &Path, args: &[&str]) -> Output {
    Command::new(sibling_binary("delegate"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("TODOIST_API_TOKEN")
        .output()
        .unwrap()
}

fn ok(o: Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

#[test]
fn each_template_gives_a_working_employee() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let fake = fake_claude().display().to_string();
    let listed = ok(delegate(home, &["employee", "templates"]));
    for t in TEMPLATES {
        assert!(listed.contains(t.id), "{listed}");
        let ws = home.join(t.id);
        let name = t.title;
        let out = ok(delegate(
            home,
            &[
                "employee",
                "add",
                name,
                "--template",
                t.id,
                "--workspace",
                ws.to_str().unwrap(),
                "--command",
                &fake,
            ],
        ));
        assert!(
            out.contains(&format!("Set it up as a {}: copied", t.title)),
            "{out}"
        );
        for f in [
            ".claude/CLAUDE.md",
            "reference/brand.md",
            "reference/pillars.md",
            "reference/style.md",
        ] {
            assert!(ws.join(f).is_file(), "{f} missing for {}", t.id);
        }
        assert!(
            ws.join(format!(".claude/skills/{}/SKILL.md", t.skill))
                .is_file()
        );
        assert!(ws.join("drafts").is_dir());

        ok(delegate(
            home,
            &[
                "task",
                "add",
                "--employee",
                name,
                &format!("First task for the {name}"),
            ],
        ));
        let run = ok(delegate(home, &["run", "--employee", name]));
        assert!(run.contains("succeeded"), "{run}");
    }
    let config = Config::load(&home.join("config.toml"), &delegate_core::agent::RULES).unwrap();
    let reviewer = config.employee("Code Reviewer").unwrap();
    assert_eq!(reviewer.disallowed_tools, ["Bash"]);
    assert!(reviewer.allowed_tools.contains(&"Skill".to_string()));
    let researcher = config.employee("Researcher").unwrap();
    assert!(researcher.allowed_tools.contains(&"WebFetch".to_string()));
    assert!(
        researcher
            .append_system_prompt
            .as_deref()
            .unwrap()
            .contains("research-brief")
    );
    let list = ok(delegate(home, &["employee", "list"]));
    assert!(
        list.contains("write only drafts/** in its workspace; cannot run commands"),
        "{list}"
    );
}

#[test]
fn creating_again_keeps_a_persons_edits() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let ws = home.join("writer");
    let fake = fake_claude().display().to_string();
    let add = |extra: &[&str]| {
        let mut args = vec![
            "employee",
            "add",
            "Writer",
            "--template",
            "linkedin-writer",
            "--workspace",
            ws.to_str().unwrap(),
            "--command",
            &fake,
        ];
        args.extend_from_slice(extra);
        delegate(home, &args)
    };
    ok(add(&[]));
    let brand = ws.join("reference/brand.md");
    std::fs::write(&brand, "# My own voice\nShort and warm.\n").unwrap();
    std::fs::remove_file(ws.join("reference/style.md")).unwrap();
    ok(delegate(home, &["employee", "remove", "Writer"]));
    let out = ok(add(&["--model", "opus"]));
    assert!(out.contains("copied 1 template file(s)"), "{out}");
    assert!(out.contains("kept"), "{out}");
    assert_eq!(read(&brand), "# My own voice\nShort and warm.\n");
    assert!(
        ws.join("reference/style.md").is_file(),
        "a deleted file comes back"
    );
    let config = Config::load(&home.join("config.toml"), &delegate_core::agent::RULES).unwrap();
    assert_eq!(
        config.employee("Writer").unwrap().model,
        "opus",
        "flags override template defaults"
    );

    let bad = delegate(
        home,
        &[
            "employee",
            "add",
            "X",
            "--template",
            "poet",
            "--workspace",
            "/tmp/x",
        ],
    );
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("no template named \"poet\"; choose one of: linkedin-writer"),
        "{err}"
    );
}
