//! End to end through the web UI: the real app in Xvfb, driven by clicks and typing through
//! tauri-driver: onboarding to a first local-queue employee, a task added and watched live,
//! the draft rendered (and a hostile draft that must not run), request changes and approve,
//! the Activity screen over 100 000 runs, and a screenshot of every screen in both themes;
//! then GitHub Issues, Linear, a PostgreSQL table and an Airtable table as the source, each
//! from the onboarding to a task finished and approved.
//! Ignored by a plain `cargo test`; `scripts/test` and `scripts/e2e` run it with `--ignored`.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::{Guard, app_binary, artifacts};

use delegate_testkit::airtable::{FakeAirtable, FieldKind};
use delegate_testkit::postgres::PgServer;
use delegate_testkit::webdriver::Session;
use delegate_testkit::{FakeGitHub, FakeLinear, sibling_binary};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DRIVER: &str = "http://127.0.0.1:4446";
const SEEDED_RUNS: i64 = 100_000;

/// Small DOM helpers every script gets: find by text or label, and set a value the way React
/// notices (native setter, then an input/change event).
const HELPERS: &str = r#"
const byText = (sel, text) => [...document.querySelectorAll(sel)].find(e => e.textContent.trim() === text);
const byLabel = (text) => {
  const direct = document.querySelector(`[aria-label="${text}"]`);
  if (direct) return direct;
  const l = [...document.querySelectorAll('label')].find(l => l.textContent.trim().startsWith(text));
  return l && (l.control || l.querySelector('input,select,textarea'));
};
const setValue = (el, v) => {
  const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), 'value');
  d.set.call(el, v);
  el.dispatchEvent(new Event(el.tagName === 'SELECT' ? 'change' : 'input', { bubbles: true }));
};
"#;

struct Ui {
    s: Session,
}

impl Ui {
    async fn js(&self, body: &str, args: Value) -> Value {
        self.s
            .execute(&format!("{HELPERS}\n{body}"), args)
            .await
            .unwrap()
    }

    async fn wait(&self, what: &str, secs: u64, condition: &str, args: Value) -> Value {
        let start = Instant::now();
        loop {
            let v = self.js(condition, args.clone()).await;
            if !v.is_null() && v != json!(false) {
                return v;
            }
            if start.elapsed() > Duration::from_secs(secs) {
                let text = self.js("return document.body.innerText", json!([])).await;
                panic!(
                    "timed out waiting for {what}; the page says:\n{}",
                    text.as_str().unwrap_or("")
                );
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    async fn click(&self, text: &str) {
        self.wait(
            &format!("a button “{text}”"),
            20,
            "const b = byText('button', arguments[0]); if (!b || b.disabled) return false; b.click(); return true;",
            json!([text]),
        )
        .await;
    }

    async fn fill(&self, label: &str, value: &str) {
        self.wait(
            &format!("a field “{label}”"),
            20,
            "const el = byLabel(arguments[0]); if (!el) return false; setValue(el, arguments[1]); return true;",
            json!([label, value]),
        )
        .await;
    }

    async fn text_appears(&self, text: &str, secs: u64) {
        self.wait(
            &format!("the text “{text}”"),
            secs,
            "return document.body.textContent.includes(arguments[0]);",
            json!([text]),
        )
        .await;
    }

    async fn shot(&self, name: &str) {
        self.s.settled().await.unwrap();
        common::capture_window("Delegate", &artifacts().join(format!("{name}.png")));
    }

    /// The current screen in the light and the dark theme.
    async fn shots(&self, name: &str) {
        for theme in ["light", "dark"] {
            self.js(
                "document.documentElement.dataset.theme = arguments[0]; return true;",
                json!([theme]),
            )
            .await;
            self.shot(&format!("ui-{name}-{theme}")).await;
        }
        self.js(
            "delete document.documentElement.dataset.theme; return true;",
            json!([]),
        )
        .await;
    }
}

impl Ui {
    /// The current screen again in a wide window (both themes), then back to the smallest
    /// size people use (1024×700).
    async fn wide_shots(&self, name: &str) {
        self.s.set_window_size(1680, 1000).await.unwrap();
        self.shots(&format!("{name}-wide")).await;
        self.s.set_window_size(1024, 700).await.unwrap();
    }
}

/// 100 000 finished runs in the history, written in one transaction.
fn seed_history(home: &Path) {
    let db = home.join("history.db");
    drop(delegate_core::history::History::open(&db).unwrap());
    let mut conn = rusqlite::Connection::open(&db).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO runs (employee, source, task_id, task_title, attempt, max_attempts, status,
                   machine, pid, started_at, ended_at, cost_usd, summary)
                 VALUES (?1, 'local', ?2, ?3, 1, 3, ?4, 'seed', 1, ?5, ?5, 0.02, 'Seeded run')",
            )
            .unwrap();
        for i in 0..SEEDED_RUNS {
            let status = if i % 7 == 0 { "failed" } else { "succeeded" };
            let at = format!("2026-01-{:02}T10:00:00.000000Z", 1 + (i % 28));
            stmt.execute(rusqlite::params![
                ["Archive Writer", "Archive Reviewer"][(i % 2) as usize],
                format!("seed-{i}"),
                format!("Archived task number {i}"),
                status,
                at
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, D-Bus, gnome-keyring and tauri-driver: scripts/test runs it (or scripts/e2e)"]
async fn the_ui_end_to_end() {
    let data = tempfile::tempdir().unwrap();
    let delegate_home = data.path().join("delegate");
    std::fs::create_dir_all(&delegate_home).unwrap();
    seed_history(&delegate_home);
    let workspace = data.path().join("writer");
    let path = fake_claude_on_path(data.path());

    let _driver = driver(4446, &delegate_home, &path, &[], "tauri-driver-ui.log").await;
    let exit_status = data.path().join("app-exit-status");
    let app = app_recording_exit(data.path(), &exit_status);
    let ui = Ui {
        s: Session::start(DRIVER, app.to_str().unwrap()).await.unwrap(),
    };

    // Every screen at the smallest size people use, and some wide as well.
    ui.s.set_window_size(1024, 700).await.unwrap();
    // Onboarding, the "try it without an account" path.
    ui.text_appears("Welcome to Delegate", 20).await;
    ui.shots("onboarding-welcome").await;
    ui.click("Try it without an account").await;
    ui.text_appears("The agent", 10).await;
    // The agents this machine has, with their version and login state.
    ui.text_appears("Claude Code — 2.1.197, logged in", 20)
        .await;
    ui.text_appears("Found Claude Code 2.1.197, logged in (claude.ai).", 20)
        .await;
    ui.text_appears("Codex CLI — not installed", 5).await;
    ui.shots("onboarding-agent").await;
    ui.click("Continue").await;
    ui.text_appears("Your first employee", 10).await;
    ui.fill("Workspace folder", workspace.to_str().unwrap())
        .await;
    ui.shots("onboarding-employee").await;
    ui.click("Create employee").await;
    ui.wait(
        "the employee card",
        20,
        "return !!document.querySelector('[data-testid=\"employee-LinkedIn Writer\"]');",
        json!([]),
    )
    .await;
    assert!(
        workspace.join(".claude/CLAUDE.md").is_file(),
        "the template was copied"
    );

    // A task from the local queue, watched live in Activity until it finishes.
    ui.click("Local queue").await;
    ui.fill("Task", "Write a LinkedIn post about tray apps")
        .await;
    ui.fill("Details (optional)", "Friendly, under 150 words.")
        .await;
    ui.shots("local-queue").await;
    ui.click("Add task").await;
    ui.text_appears("Added for LinkedIn Writer", 10).await;
    ui.click("Activity").await;
    ui.text_appears("Write a LinkedIn post about tray apps", 20)
        .await;
    ui.wait(
        "the run to succeed",
        60,
        "const row = [...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('tray apps')); return !!row && row.textContent.includes('succeeded');",
        json!([]),
    )
    .await;
    ui.shots("activity").await;
    ui.wide_shots("activity").await;

    // The run's detail with the draft rendered.
    ui.js("[...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('tray apps')).click(); return true;", json!([])).await;
    ui.wait(
        "the rendered draft",
        20,
        "return !!document.querySelector('.markdown h1');",
        json!([]),
    )
    .await;
    ui.text_appears("Reading skill", 5).await;
    ui.shots("run-detail").await;
    ui.wide_shots("run-detail").await;
    ui.js(
        "document.querySelector('.draft').scrollIntoView(); return true;",
        json!([]),
    )
    .await;
    ui.shots("run-draft").await;

    // Request changes: the feedback reaches the next run's prompt (the fake agent writes it).
    ui.fill(
        "Request changes",
        "Make it shorter and add a question at the end",
    )
    .await;
    ui.click("Request changes").await;
    ui.text_appears("will rework the task", 10).await;
    ui.click("Activity").await;
    let second = ui
        .wait(
            "the rework to finish",
            60,
            "const rows = [...document.querySelectorAll('[data-testid=run-row]')].filter(r => r.textContent.includes('tray apps')); return rows.length >= 2 && rows[0].textContent.includes('succeeded') ? rows.length : false;",
            json!([]),
        )
        .await;
    assert_eq!(second, json!(2));
    ui.js("[...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('tray apps')).click(); return true;", json!([])).await;
    ui.wait(
        "the second draft",
        20,
        "return !!document.querySelector('.markdown');",
        json!([]),
    )
    .await;
    ui.text_appears("Make it shorter and add a question at the end", 10)
        .await;
    ui.click("Approve and close the task").await;
    ui.text_appears("Approved: the task is closed.", 10).await;
    ui.click("Local queue").await;
    ui.wait(
        "the task to be closed",
        10,
        "return document.body.innerText.includes('closed');",
        json!([]),
    )
    .await;

    // A conversation: the agent asks, the person answers on the run's page, the same
    // session goes on; the run page shows the thread (both themes).
    ui.fill("Task", "Post about our launch [ask]").await;
    ui.click("Add task").await;
    ui.click("Activity").await;
    ui.wait(
        "the question",
        60,
        "const row = [...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('our launch')); return !!row && row.textContent.includes('needs your answer');",
        json!([]),
    )
    .await;
    ui.js("[...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('our launch')).click(); return true;", json!([])).await;
    ui.wait(
        "the questions box",
        20,
        "return !!document.querySelector('[data-testid=questions]');",
        json!([]),
    )
    .await;
    ui.text_appears("Which customer should the post quote", 5)
        .await;
    ui.fill(
        "Your answer",
        "Quote Ada from Acme: it halved their review time. No price.",
    )
    .await;
    ui.shots("run-question").await;
    ui.click("Send answer").await;
    ui.text_appears("continues where it stopped", 10).await;
    ui.click("Activity").await;
    ui.wait(
        "the answered run to finish",
        60,
        "const rows = [...document.querySelectorAll('[data-testid=run-row]')].filter(r => r.textContent.includes('our launch')); return rows.length >= 2 && rows[0].textContent.includes('succeeded');",
        json!([]),
    )
    .await;
    ui.js("[...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('our launch')).click(); return true;", json!([])).await;
    ui.wait(
        "the conversation",
        20,
        "const t = document.querySelector('[data-testid=thread]'); return !!t && t.textContent.includes('continued its session') && t.textContent.includes('Quote Ada from Acme');",
        json!([]),
    )
    .await;
    ui.shots("run-thread").await;
    ui.wide_shots("run-thread").await;
    ui.click("Local queue").await;

    // A hostile draft: the task text carries a script and an event handler into the draft.
    ui.fill(
        "Task",
        "Post <script>window.__xss = 1</script> <img src=x onerror=\"window.__xss = 2\">",
    )
    .await;
    ui.click("Add task").await;
    ui.click("Activity").await;
    ui.wait(
        "the hostile run",
        60,
        "const row = [...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('window.__xss')); return !!row && row.textContent.includes('succeeded');",
        json!([]),
    )
    .await;
    ui.js("[...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('window.__xss')).click(); return true;", json!([])).await;
    ui.wait(
        "the hostile draft",
        20,
        "return !!document.querySelector('.markdown');",
        json!([]),
    )
    .await;
    // Whatever the draft could run would have run once the page has loaded its images and
    // drawn.
    ui.s.settled().await.unwrap();
    let traces = ui
        .js(
            "const m = document.querySelector('.markdown'); return { flag: window.__xss === undefined ? null : window.__xss, scripts: m.querySelectorAll('script').length, handlers: m.innerHTML.includes('onerror'), imgs: m.querySelectorAll('img').length };",
            json!([]),
        )
        .await;
    assert_eq!(
        traces,
        json!({"flag": null, "scripts": 0, "handlers": false, "imgs": 0}),
        "nothing from the draft ran"
    );

    // Activity over 100 000 runs: time from the click to the first page on screen.
    ui.click("Employees").await;
    ui.wait(
        "employees",
        10,
        "return !!byText('h1', 'Employees');",
        json!([]),
    )
    .await;
    let first_page =
        ui.s.execute_async(
            &format!(
                "{HELPERS}\nconst done = arguments[arguments.length - 1];\
                 const t0 = performance.now(); byText('button', 'Activity').click();\
                 const tick = () => document.querySelectorAll('[data-testid=run-row]').length >= 50\
                   ? done(performance.now() - t0) : requestAnimationFrame(tick);\
                 tick();"
            ),
            json!([]),
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    let runs_in_db: i64 = rusqlite::Connection::open(delegate_home.join("history.db"))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))
        .unwrap();
    assert!(runs_in_db > SEEDED_RUNS);
    let figure = format!(
        "Activity first page with {runs_in_db} runs in history: {first_page:.0} ms (click to 50 rows on screen)\n"
    );
    println!("{figure}");
    std::fs::write(artifacts().join("activity-100k.txt"), figure).unwrap();
    ui.fill("Search tasks", "number 99999").await;
    ui.text_appears("Archived task number 99999", 10).await;

    // The remaining screens, in both themes.
    ui.click("Employees").await;
    ui.text_appears("LinkedIn Writer", 10).await;
    ui.shots("employees").await;
    ui.wide_shots("employees").await;
    ui.click("Edit").await;
    ui.text_appears("Edit LinkedIn Writer", 10).await;
    ui.shots("employee-form").await;
    // Its OS sandbox section, in the engine's words.
    ui.text_appears("OS sandbox (strict): writes only in its workspace", 10)
        .await;
    ui.js(
        "document.querySelector('[aria-label=\"Sandbox\"]').scrollIntoView({block: 'center'}); return true;",
        json!([]),
    )
    .await;
    ui.shots("employee-form-sandbox").await;
    ui.click("Cancel").await;
    ui.click("Settings").await;
    ui.text_appears("Todoist connection", 10).await;
    ui.shots("settings").await;

    // Quit through the command the tray uses: the app exits, with status 0 and nothing of it
    // left running; the session is just dropped.
    quit(&ui, &exit_status).await;
}

/// The token the fake GitHub accepts (it belongs to the user `delegate-bot`).
const GITHUB_TOKEN: &str = "github_pat_e2e_0123456789";
const GITHUB_REPO: &str = "octo-org/docs";

/// GitHub Issues in the real app: the onboarding's "Connect GitHub" path (the token tested
/// live and kept in the keychain, the repository picked from the account's list, a label),
/// an issue worked by the fake agent and finished on the (fake) GitHub, the run page with its
/// "Open in GitHub" link, approve closing the issue, the employee form and Settings — each in
/// both themes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, D-Bus, gnome-keyring and tauri-driver: scripts/test runs it (or scripts/e2e)"]
async fn github_in_the_ui_end_to_end() {
    let data = tempfile::tempdir().unwrap();
    let delegate_home = data.path().join("delegate");
    std::fs::create_dir_all(&delegate_home).unwrap();
    let workspace = data.path().join("docs-writer");
    let path = fake_claude_on_path(data.path());

    // An account with three repositories; in the one the employee gets, an issue with the
    // label it will watch and one without.
    let github = FakeGitHub::start(GITHUB_TOKEN).await;
    for repo in ["delegate-bot/notes", GITHUB_REPO, "octo-org/website"] {
        github.add_repo(repo);
    }
    let issue = github.add_issue(
        GITHUB_REPO,
        "Write a LinkedIn post about the docs release",
        "Mention the new search. Under 150 words.",
        &["delegate"],
    );
    let unlabelled = github.add_issue(GITHUB_REPO, "Fix the broken link in the footer", "", &[]);

    let _driver = driver(
        4452,
        &delegate_home,
        &path,
        &[("DELEGATE_GITHUB_API_URL", &github.url)],
        "tauri-driver-ui-github.log",
    )
    .await;
    let exit_status = data.path().join("app-exit-status");
    let app = app_recording_exit(data.path(), &exit_status);
    let ui = Ui {
        s: Session::start("http://127.0.0.1:4452", app.to_str().unwrap())
            .await
            .unwrap(),
    };
    ui.s.set_window_size(1024, 700).await.unwrap();

    // Onboarding: connect GitHub with a token, tested live against the server.
    ui.text_appears("Welcome to Delegate", 20).await;
    ui.click("Connect GitHub").await;
    ui.wait(
        "the token step",
        10,
        "return !!byText('h1', 'Connect GitHub');",
        json!([]),
    )
    .await;
    ui.fill("GitHub personal access token", GITHUB_TOKEN).await;
    ui.shots("github-onboarding-token").await;
    ui.click("Connect").await;

    // The repository, picked from the account's list, and the label.
    ui.text_appears("Pick the repository", 20).await;
    ui.text_appears("Connected as delegate-bot", 10).await;
    let listed = ui
        .js(
            "return [...byLabel('GitHub repository').options].map(o => o.value).filter(v => v);",
            json!([]),
        )
        .await;
    let mut listed: Vec<String> = serde_json::from_value(listed).unwrap();
    listed.sort();
    assert_eq!(
        listed,
        ["delegate-bot/notes", GITHUB_REPO, "octo-org/website"],
        "the account's repositories are offered"
    );
    ui.fill("GitHub repository", GITHUB_REPO).await;
    ui.fill("Only issues with this label", "delegate").await;
    ui.shots("github-onboarding-repository").await;
    ui.click("Continue").await;
    // The token went to the keychain of this session's Secret Service.
    assert_eq!(keychain("github-token"), GITHUB_TOKEN);

    // The agent, then the workspace: the rest of the path is the same for every source.
    ui.text_appears("The agent", 10).await;
    ui.text_appears("Claude Code — 2.1.197, logged in", 20)
        .await;
    ui.click("Continue").await;
    ui.text_appears("Your first employee", 10).await;
    // The suggested folder arrives first (so it cannot overwrite the one typed in).
    ui.wait(
        "the suggested workspace",
        10,
        "const el = byLabel('Workspace folder'); return !!el && el.value !== '';",
        json!([]),
    )
    .await;
    ui.fill("Name", "Docs Writer").await;
    ui.fill("Workspace folder", workspace.to_str().unwrap())
        .await;
    ui.click("Create employee").await;
    ui.wait(
        "the employee card",
        20,
        "return !!document.querySelector('[data-testid=\"employee-Docs Writer\"]');",
        json!([]),
    )
    .await;
    ui.text_appears(GITHUB_REPO, 10).await;
    let config = std::fs::read_to_string(delegate_home.join("config.toml")).unwrap();
    for line in [
        "source = \"github\"",
        "repo = \"octo-org/docs\"",
        "github_label = \"delegate\"",
    ] {
        assert!(config.contains(line), "config.toml has {line}:\n{config}");
    }

    // The engine works the labelled issue with the fake agent and finishes it on GitHub:
    // the labels first, then the end comment (see `RemoteSource::finish`), so wait for both.
    let start = Instant::now();
    loop {
        let now = github.issue(GITHUB_REPO, issue);
        let comments = github.comments(GITHUB_REPO, issue).visible_bodies();
        let done = comments
            .iter()
            .any(|c| c.starts_with("Done. Ready for review."));
        if now.labels.iter().any(|l| l == "agent-done") && done {
            assert!(
                !now.labels.iter().any(|l| l == "agent-working"),
                "{:?}",
                now.labels
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the issue is not done after 90 s; its labels: {:?}, its comments: {comments:#?}",
            now.labels
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let other = github.issue(GITHUB_REPO, unlabelled);
    assert!(
        other.labels.is_empty() && github.comments(GITHUB_REPO, unlabelled).stored.is_empty(),
        "the issue without the label is left alone: {other:?}"
    );

    // The run page: the draft, and the link to the issue in GitHub's words.
    ui.click("Activity").await;
    ui.wait(
        "the run to succeed",
        30,
        "const row = [...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('docs release')); return !!row && row.textContent.includes('succeeded');",
        json!([]),
    )
    .await;
    ui.js("[...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('docs release')).click(); return true;", json!([])).await;
    ui.wait(
        "the rendered draft",
        20,
        "return !!document.querySelector('.markdown h1');",
        json!([]),
    )
    .await;
    let link = ui
        .wait(
            "the link to the issue",
            10,
            "const b = [...document.querySelectorAll('.run button.link')].find(b => b.textContent.trim().startsWith('Open in')); return b ? [b.textContent.trim(), b.title] : false;",
            json!([]),
        )
        .await;
    assert_eq!(link[0], json!("Open in GitHub"));
    assert!(
        link[1]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{GITHUB_REPO}/issues/{issue}")),
        "the link goes to the issue: {link}"
    );
    ui.shots("github-run-detail").await;

    // Approve closes the issue on GitHub, as completed.
    ui.click("Approve and close the task").await;
    ui.text_appears("Approved: the task is closed.", 10).await;
    let closed = github.issue(GITHUB_REPO, issue);
    assert_eq!(
        (closed.state.as_str(), closed.state_reason.as_deref()),
        ("closed", Some("completed"))
    );

    // The card says where its tasks come from; the form has GitHub chosen, the repository
    // from the account's list and the label.
    ui.click("Employees").await;
    let from = ui
        .wait(
            "the employee card",
            10,
            "const card = document.querySelector('[data-testid=\"employee-Docs Writer\"]'); if (!card) return false; const dt = [...card.querySelectorAll('dt')].find(d => d.textContent === 'Tasks from'); return dt ? dt.nextElementSibling.textContent : false;",
            json!([]),
        )
        .await;
    assert!(
        from.as_str().unwrap().contains(GITHUB_REPO),
        "the card's source: {from}"
    );
    ui.shots("github-employees").await;
    ui.click("Edit").await;
    ui.text_appears("Edit Docs Writer", 10).await;
    let form = ui
        .wait(
            "the GitHub fields",
            20,
            "const radio = [...document.querySelectorAll('label.inline')].find(l => l.textContent.includes('a GitHub repository'))?.querySelector('input'); const repo = byLabel('GitHub repository'); const label = byLabel('Only issues with this label'); if (!radio || !repo || repo.tagName !== 'SELECT' || !label) return false; return [radio.checked, repo.value, repo.options.length, label.value];",
            json!([]),
        )
        .await;
    assert_eq!(form, json!([true, GITHUB_REPO, 4, "delegate"]));
    ui.shots("github-employee-form").await;
    ui.js(
        "[...document.querySelectorAll('legend')].find(l => l.textContent === 'Allowed tools').scrollIntoView(); return true;",
        json!([]),
    )
    .await;
    ui.shots("github-employee-form-tools").await;
    ui.click("Cancel").await;

    // Settings: one connection per source; GitHub's token is the one in the keychain.
    ui.click("Settings").await;
    ui.text_appears("Todoist connection", 10).await;
    ui.text_appears("GitHub connection", 10).await;
    ui.wait(
        "GitHub's token state",
        10,
        "const p = document.querySelector('[data-testid=token-state-github]'); return !!p && p.textContent.includes('saved in the OS keychain');",
        json!([]),
    )
    .await;
    ui.shots("github-settings").await;
    // Remove takes it out of the keychain again (and leaves the session's keychain as the
    // other tests expect it).
    ui.wait(
        "GitHub's Remove button",
        10,
        "const b = [...document.querySelectorAll('[aria-labelledby=connection-github] button')].find(b => b.textContent === 'Remove'); if (!b || b.disabled) return false; b.click(); return true;",
        json!([]),
    )
    .await;
    ui.wait(
        "the token to be removed",
        10,
        "const p = document.querySelector('[data-testid=token-state-github]'); return !!p && p.textContent.startsWith('No ');",
        json!([]),
    )
    .await;
    assert_eq!(keychain("github-token"), "", "the token left the keychain");

    quit(&ui, &exit_status).await;
}

/// The personal API key the fake Linear accepts (its user is "Delegate Bot").
const LINEAR_KEY: &str = "lin_api_e2e_0123456789";
const LINEAR_TEAM: &str = "DOC";

/// Linear in the real app: the onboarding's "Connect Linear" path (the key tested live and
/// kept in the keychain, the team picked from the account's list, a label), an issue in
/// "Todo" worked by the fake agent and moved to "In Review" with the end comment, the run
/// page with its "Open in Linear" link, approve moving the issue to "Done", the employee
/// form and Settings — each in both themes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, D-Bus, gnome-keyring and tauri-driver: scripts/test runs it (or scripts/e2e)"]
async fn linear_in_the_ui_end_to_end() {
    let data = tempfile::tempdir().unwrap();
    let delegate_home = data.path().join("delegate");
    std::fs::create_dir_all(&delegate_home).unwrap();
    let workspace = data.path().join("docs-writer");
    let path = fake_claude_on_path(data.path());

    // An account with three teams (Linear's default workflow each). In the employee's team:
    // a labelled issue in Todo (the one to work), one without the label, one a person has
    // started and one already done; in another team, a labelled issue in Todo.
    let linear = FakeLinear::start(LINEAR_KEY).await;
    for (key, name) in [
        ("ENG", "Engineering"),
        (LINEAR_TEAM, "Documentation"),
        ("MKT", "Marketing"),
    ] {
        linear.add_team(key, name);
    }
    let issue = linear.add_issue(
        LINEAR_TEAM,
        "Write a LinkedIn post about the docs release",
        "Mention the new search. Under 150 words.",
        &["delegate"],
        "Todo",
    );
    let left_alone = [
        linear.add_issue(
            LINEAR_TEAM,
            "Fix the broken link in the footer",
            "",
            &[],
            "Todo",
        ),
        linear.add_issue(
            LINEAR_TEAM,
            "Draft the changelog",
            "",
            &["delegate"],
            "In Progress",
        ),
        linear.add_issue(LINEAR_TEAM, "Announce the beta", "", &["delegate"], "Done"),
        linear.add_issue(
            "ENG",
            "Write a post about the API",
            "",
            &["delegate"],
            "Todo",
        ),
    ];
    let before: Vec<_> = left_alone.iter().map(|id| linear.issue(id)).collect();

    let _driver = driver(
        4450,
        &delegate_home,
        &path,
        &[("DELEGATE_LINEAR_API_URL", &linear.url)],
        "tauri-driver-ui-linear.log",
    )
    .await;
    let exit_status = data.path().join("app-exit-status");
    let app = app_recording_exit(data.path(), &exit_status);
    let ui = Ui {
        s: Session::start("http://127.0.0.1:4450", app.to_str().unwrap())
            .await
            .unwrap(),
    };
    ui.s.set_window_size(1024, 700).await.unwrap();

    // Onboarding: connect Linear with a personal API key, tested live against the server.
    ui.text_appears("Welcome to Delegate", 20).await;
    ui.click("Connect Linear").await;
    ui.wait(
        "the key step",
        10,
        "return !!byText('h1', 'Connect Linear');",
        json!([]),
    )
    .await;
    ui.fill("Linear personal API key", LINEAR_KEY).await;
    ui.shots("linear-onboarding-key").await;
    ui.click("Connect").await;

    // The team, picked from the account's list, and the label.
    ui.text_appears("Pick the team", 20).await;
    ui.text_appears("Connected as Delegate Bot <delegate@example.com>", 10)
        .await;
    let listed = ui
        .js(
            "return [...byLabel('Linear team').options].filter(o => o.value).map(o => [o.value, o.textContent]);",
            json!([]),
        )
        .await;
    let mut listed: Vec<(String, String)> = serde_json::from_value(listed).unwrap();
    listed.sort();
    assert_eq!(
        listed
            .iter()
            .map(|(v, t)| format!("{v}={t}"))
            .collect::<Vec<_>>(),
        [
            format!("{LINEAR_TEAM}=Documentation ({LINEAR_TEAM})"),
            "ENG=Engineering (ENG)".to_string(),
            "MKT=Marketing (MKT)".to_string()
        ],
        "the account's teams are offered by name, and kept by key"
    );
    ui.fill("Linear team", LINEAR_TEAM).await;
    ui.fill("Only issues with this label", "delegate").await;
    ui.shots("linear-onboarding-team").await;
    ui.click("Continue").await;
    // The key went to the keychain of this session's Secret Service.
    assert_eq!(keychain("linear-api-key"), LINEAR_KEY);

    // The agent, then the workspace, as for every source.
    ui.text_appears("The agent", 10).await;
    ui.text_appears("Claude Code — 2.1.197, logged in", 20)
        .await;
    ui.click("Continue").await;
    ui.text_appears("Your first employee", 10).await;
    // The suggested folder arrives first (so it cannot overwrite the one typed in).
    ui.wait(
        "the suggested workspace",
        10,
        "const el = byLabel('Workspace folder'); return !!el && el.value !== '';",
        json!([]),
    )
    .await;
    ui.fill("Name", "Docs Writer").await;
    ui.fill("Workspace folder", workspace.to_str().unwrap())
        .await;
    ui.click("Create employee").await;
    ui.wait(
        "the employee card",
        20,
        "return !!document.querySelector('[data-testid=\"employee-Docs Writer\"]');",
        json!([]),
    )
    .await;
    let config = std::fs::read_to_string(delegate_home.join("config.toml")).unwrap();
    for line in [
        "source = \"linear\"",
        "team = \"DOC\"",
        "linear_label = \"delegate\"",
    ] {
        assert!(config.contains(line), "config.toml has {line}:\n{config}");
    }

    // The engine works the issue in Todo and finishes it on Linear: `agent-done`, the end
    // comment and the team's review state ("In Review"); labels and state move in one
    // update, the comment comes after, so wait for all of them.
    let start = Instant::now();
    loop {
        let now = linear.issue(&issue);
        let comments = linear.visible_comments(&issue);
        let done = comments
            .iter()
            .any(|c| c.starts_with("Done. Ready for review."));
        if now.labels.iter().any(|l| l == "agent-done") && done && now.state == "In Review" {
            assert!(
                !now.labels.iter().any(|l| l == "agent-working"),
                "{:?}",
                now.labels
            );
            assert_eq!(now.state_type, "started");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the issue is not done after 90 s; it is in “{}” with the labels {:?} and the comments {comments:#?}",
            now.state,
            now.labels
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let done_issue = linear.issue(&issue);
    for (id, was) in left_alone.iter().zip(&before) {
        let now = linear.issue(id);
        assert!(
            (&now.state, &now.labels) == (&was.state, &was.labels)
                && linear.comments(id).is_empty(),
            "{} ({}, {}) is left alone: {now:?}",
            was.identifier,
            was.team_key,
            was.state
        );
    }

    // The run page: the draft, and the link to the issue in Linear's words.
    ui.click("Activity").await;
    ui.wait(
        "the run to succeed",
        30,
        "const row = [...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('docs release')); return !!row && row.textContent.includes('succeeded');",
        json!([]),
    )
    .await;
    ui.js("[...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('docs release')).click(); return true;", json!([])).await;
    ui.wait(
        "the rendered draft",
        20,
        "return !!document.querySelector('.markdown h1');",
        json!([]),
    )
    .await;
    let link = ui
        .wait(
            "the link to the issue",
            10,
            "const b = [...document.querySelectorAll('.run button.link')].find(b => b.textContent.trim().startsWith('Open in')); return b ? [b.textContent.trim(), b.title] : false;",
            json!([]),
        )
        .await;
    assert_eq!(link[0], json!("Open in Linear"));
    assert!(
        link[1].as_str().unwrap().starts_with(&format!(
            "https://linear.app/fake/issue/{}/",
            done_issue.identifier
        )),
        "the link goes to the issue: {link}"
    );
    ui.shots("linear-run-detail").await;
    ui.js(
        "document.querySelector('.draft').scrollIntoView(); return true;",
        json!([]),
    )
    .await;
    ui.shots("linear-run-draft").await;

    // Approve moves the issue to the team's completed state.
    ui.click("Approve and close the task").await;
    ui.text_appears("Approved: the task is closed.", 10).await;
    let closed = linear.issue(&issue);
    assert_eq!(
        (closed.state.as_str(), closed.state_type.as_str()),
        ("Done", "completed")
    );

    // The card says where its tasks come from; the form has Linear chosen, the team from
    // the account's list and the label.
    ui.click("Employees").await;
    let from = ui
        .wait(
            "the employee card",
            10,
            "const card = document.querySelector('[data-testid=\"employee-Docs Writer\"]'); if (!card) return false; const dt = [...card.querySelectorAll('dt')].find(d => d.textContent === 'Tasks from'); return dt ? dt.nextElementSibling.textContent : false;",
            json!([]),
        )
        .await;
    assert_eq!(
        from,
        json!("Linear team DOC (issues labelled “delegate”)"),
        "the card's source"
    );
    ui.shots("linear-employees").await;
    ui.click("Edit").await;
    ui.text_appears("Edit Docs Writer", 10).await;
    let form = ui
        .wait(
            "the Linear fields",
            20,
            "const radio = [...document.querySelectorAll('label.inline')].find(l => l.textContent.includes('a Linear team'))?.querySelector('input'); const team = byLabel('Linear team'); const project = byLabel('Only this project'); const label = byLabel('Only issues with this label'); const review = byLabel('Drafts wait for review in'); if (!radio || !team || team.tagName !== 'SELECT' || !project || !label || !review) return false; return [radio.checked, team.value, team.options.length, project.value, label.value, review.value];",
            json!([]),
        )
        .await;
    assert_eq!(form, json!([true, LINEAR_TEAM, 4, "", "delegate", ""]));
    ui.shots("linear-employee-form").await;
    ui.click("Cancel").await;

    // Settings: Linear's key is the one in the keychain.
    ui.click("Settings").await;
    ui.text_appears("Linear connection", 10).await;
    ui.wait(
        "Linear's key state",
        10,
        "const p = document.querySelector('[data-testid=token-state-linear]'); return !!p && p.textContent.includes('saved in the OS keychain');",
        json!([]),
    )
    .await;
    ui.shots("linear-settings").await;
    // Remove takes it out of the keychain again (and leaves the session's keychain as the
    // other tests expect it).
    ui.wait(
        "Linear's Remove button",
        10,
        "const b = [...document.querySelectorAll('[aria-labelledby=connection-linear] button')].find(b => b.textContent === 'Remove'); if (!b || b.disabled) return false; b.click(); return true;",
        json!([]),
    )
    .await;
    ui.wait(
        "the key to be removed",
        10,
        "const p = document.querySelector('[data-testid=token-state-linear]'); return !!p && p.textContent.startsWith('No ');",
        json!([]),
    )
    .await;
    assert_eq!(keychain("linear-api-key"), "", "the key left the keychain");

    quit(&ui, &exit_status).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built app, tauri-driver, a display and PostgreSQL (scripts/test runs it)"]
async fn postgres_in_the_ui_end_to_end() {
    let data = tempfile::tempdir().unwrap();
    let delegate_home = data.path().join("delegate");
    std::fs::create_dir_all(&delegate_home).unwrap();
    let workspace = data.path().join("data-writer");
    let path = fake_claude_on_path(data.path());
    let server = PgServer::start();
    let db = server.database("content").await;
    let url = server.url_with_password(&db);

    let exit_status = data.path().join("app-exit-status");
    let app = app_recording_exit(data.path(), &exit_status);
    let (_driver, ui) = session_on(
        4456,
        &delegate_home,
        &path,
        &[],
        "tauri-driver-ui-postgres.log",
        &app,
    )
    .await;
    ui.s.set_window_size(1024, 700).await.unwrap();

    // Onboarding: the connection URL with its password, tested live against the server.
    ui.text_appears("Welcome to Delegate", 20).await;
    ui.click("Connect PostgreSQL").await;
    ui.wait(
        "the URL step",
        10,
        "return !!byText('h1', 'Connect PostgreSQL');",
        json!([]),
    )
    .await;
    ui.fill("PostgreSQL connection URL", &url).await;
    ui.shots("postgres-onboarding-url").await;
    ui.click("Connect").await;

    // The table: Delegate's own, created on first use.
    ui.text_appears("Pick the table", 20).await;
    ui.text_appears("Connected as delegate on content (PostgreSQL", 10)
        .await;
    let listed = ui
        .js(
            "return [...byLabel('Table').options].filter(o => o.value).map(o => [o.value, o.textContent]);",
            json!([]),
        )
        .await;
    assert_eq!(
        listed,
        json!([["delegate_tasks", "delegate_tasks (created on first use)"]])
    );
    ui.fill("Table", "delegate_tasks").await;
    ui.shots("postgres-onboarding-table").await;
    ui.click("Continue").await;
    // The URL (and its password) went to the keychain of this session's Secret Service.
    assert_eq!(keychain("postgres-password"), url);

    ui.text_appears("The agent", 10).await;
    ui.text_appears("Claude Code — 2.1.197, logged in", 20)
        .await;
    ui.click("Continue").await;
    ui.text_appears("Your first employee", 10).await;
    ui.wait(
        "the suggested workspace",
        10,
        "const el = byLabel('Workspace folder'); return !!el && el.value !== '';",
        json!([]),
    )
    .await;
    ui.fill("Name", "Data Writer").await;
    ui.fill("Workspace folder", workspace.to_str().unwrap())
        .await;
    ui.click("Create employee").await;
    ui.wait(
        "the employee card",
        20,
        "return !!document.querySelector('[data-testid=\"employee-Data Writer\"]');",
        json!([]),
    )
    .await;
    let config = std::fs::read_to_string(delegate_home.join("config.toml")).unwrap();
    for line in ["source = \"postgres\"", "pg_table = \"delegate_tasks\""] {
        assert!(config.contains(line), "config.toml has {line}:\n{config}");
    }
    assert!(
        !config.contains(delegate_testkit::postgres::PASSWORD),
        "no password in config.toml"
    );

    // A program inserts work: the engine, woken by NOTIFY, claims it and leaves the draft
    // in the row.
    let sql = server.connect(&db).await;
    let start = Instant::now();
    loop {
        // The table exists once the employee's engine has started.
        if sql
            .batch_execute(
                "INSERT INTO delegate_tasks (employee, title, description, priority) VALUES \
                 ('Data Writer', 'Write a LinkedIn post about the launch', 'Under 150 words.', 3)",
            )
            .await
            .is_ok()
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no table");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let start = Instant::now();
    let (result, drafts) = loop {
        let r = sql
            .query_one("SELECT status, result, drafts FROM delegate_tasks", &[])
            .await
            .unwrap();
        let status: String = r.get(0);
        if status == "review" {
            break (r.get::<_, Option<String>>(1).unwrap(), r.get::<_, Value>(2));
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the row is {status} after 90 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(result.starts_with("Done. Ready for review."), "{result}");
    assert_eq!(drafts.as_array().map(Vec::len), Some(1), "{drafts}");

    ui.click("Activity").await;
    ui.wait(
        "the run to succeed",
        30,
        "const row = [...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('the launch')); return !!row && row.textContent.includes('succeeded');",
        json!([]),
    )
    .await;
    ui.js("[...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('the launch')).click(); return true;", json!([])).await;
    ui.wait(
        "the rendered draft",
        20,
        "return !!document.querySelector('.markdown h1');",
        json!([]),
    )
    .await;
    ui.shots("postgres-run-detail").await;
    ui.click("Approve and close the task").await;
    ui.text_appears("Approved: the task is closed.", 10).await;
    let status: String = sql
        .query_one("SELECT status FROM delegate_tasks", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "done");

    ui.click("Employees").await;
    let from = ui
        .wait(
            "the employee card",
            10,
            "const card = document.querySelector('[data-testid=\"employee-Data Writer\"]'); if (!card) return false; const dt = [...card.querySelectorAll('dt')].find(d => d.textContent === 'Tasks from'); return dt ? dt.nextElementSibling.textContent : false;",
            json!([]),
        )
        .await;
    assert_eq!(
        from,
        json!("PostgreSQL table delegate_tasks"),
        "the card's source"
    );
    ui.shots("postgres-employees").await;
    ui.click("Edit").await;
    ui.text_appears("Edit Data Writer", 10).await;
    ui.wait(
        "the PostgreSQL fields",
        20,
        "const t = byLabel('Table'); const e = byLabel('Rows for'); return !!t && !!e && t.value === 'delegate_tasks';",
        json!([]),
    )
    .await;
    ui.shots("postgres-employee-form").await;
    ui.click("Cancel").await;

    ui.click("Settings").await;
    ui.text_appears("PostgreSQL connection", 10).await;
    ui.wait(
        "the URL's state",
        10,
        "const p = document.querySelector('[data-testid=token-state-postgres]'); return !!p && p.textContent.includes('saved in the OS keychain');",
        json!([]),
    )
    .await;
    ui.shots("postgres-settings").await;
    ui.wait(
        "PostgreSQL's Remove button",
        10,
        "const b = [...document.querySelectorAll('[aria-labelledby=connection-postgres] button')].find(b => b.textContent === 'Remove'); if (!b || b.disabled) return false; b.click(); return true;",
        json!([]),
    )
    .await;
    ui.wait(
        "the URL to be removed",
        10,
        "const p = document.querySelector('[data-testid=token-state-postgres]'); return !!p && p.textContent.startsWith('No ');",
        json!([]),
    )
    .await;
    assert_eq!(keychain("postgres-password"), "");

    quit(&ui, &exit_status).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, D-Bus, gnome-keyring and tauri-driver: scripts/test runs it (or scripts/e2e)"]
async fn airtable_in_the_ui_end_to_end() {
    const AIRTABLE_TOKEN: &str = "patUiEndToEnd001.0123456789abcdef0123456789abcdef";
    let data = tempfile::tempdir().unwrap();
    let delegate_home = data.path().join("delegate");
    std::fs::create_dir_all(&delegate_home).unwrap();
    let workspace = data.path().join("pipeline-writer");
    let path = fake_claude_on_path(data.path());
    let airtable = FakeAirtable::start(AIRTABLE_TOKEN).await;
    let base = airtable.add_base("Content pipeline");
    airtable.add_base("Hiring");
    let table = airtable.add_table(
        &base,
        "Content",
        &[
            ("Name", FieldKind::SingleLineText),
            ("Notes", FieldKind::MultilineText),
            (
                "Status",
                FieldKind::SingleSelect(
                    ["Todo", "In progress", "Review", "Failed", "Done"]
                        .map(String::from)
                        .to_vec(),
                ),
            ),
            ("Draft", FieldKind::MultilineText),
        ],
    );
    let record = airtable.add_record(
        &base,
        &table,
        json!({"Name": "Write a LinkedIn post about the launch", "Notes": "Under 150 words.", "Status": "Todo"}),
    );

    let _driver = driver(
        4458,
        &delegate_home,
        &path,
        &[("DELEGATE_AIRTABLE_API_URL", &airtable.url)],
        "tauri-driver-ui-airtable.log",
    )
    .await;
    let exit_status = data.path().join("app-exit-status");
    let app = app_recording_exit(data.path(), &exit_status);
    let ui = Ui {
        s: Session::start("http://127.0.0.1:4458", app.to_str().unwrap())
            .await
            .unwrap(),
    };
    ui.s.set_window_size(1024, 700).await.unwrap();

    ui.text_appears("Welcome to Delegate", 20).await;
    ui.click("Connect Airtable").await;
    ui.wait(
        "the token step",
        10,
        "return !!byText('h1', 'Connect Airtable');",
        json!([]),
    )
    .await;
    ui.fill("Airtable personal access token", AIRTABLE_TOKEN)
        .await;
    ui.shots("airtable-onboarding-token").await;
    ui.click("Connect").await;
    ui.text_appears("Pick the base", 20).await;
    ui.text_appears("Connected as delegate@example.com", 10)
        .await;
    let listed = ui
        .js(
            "return [...byLabel('Airtable base').options].filter(o => o.value).map(o => o.textContent);",
            json!([]),
        )
        .await;
    assert_eq!(
        listed,
        json!([
            format!("Content pipeline ({base})"),
            "Hiring (app00000000000003)"
        ])
    );
    ui.fill("Airtable base", &base).await;
    ui.fill("Table", "Content").await;
    ui.fill("Write drafts to this field", "Draft").await;
    ui.shots("airtable-onboarding-base").await;
    ui.click("Continue").await;
    assert_eq!(keychain("airtable-token"), AIRTABLE_TOKEN);

    ui.text_appears("The agent", 10).await;
    ui.text_appears("Claude Code — 2.1.197, logged in", 20)
        .await;
    ui.click("Continue").await;
    ui.text_appears("Your first employee", 10).await;
    ui.wait(
        "the suggested workspace",
        10,
        "const el = byLabel('Workspace folder'); return !!el && el.value !== '';",
        json!([]),
    )
    .await;
    ui.fill("Name", "Pipeline Writer").await;
    ui.fill("Workspace folder", workspace.to_str().unwrap())
        .await;
    ui.click("Create employee").await;
    ui.wait(
        "the employee card",
        20,
        "return !!document.querySelector('[data-testid=\"employee-Pipeline Writer\"]');",
        json!([]),
    )
    .await;
    let config = std::fs::read_to_string(delegate_home.join("config.toml")).unwrap();
    for line in [
        "source = \"airtable\"",
        &format!("airtable_base = \"{base}\""),
        "airtable_table = \"Content\"",
        "airtable_draft_field = \"Draft\"",
    ] {
        assert!(config.contains(line), "config.toml has {line}:\n{config}");
    }

    // The engine works the record: Review, the end comment, the draft in the Draft field.
    let start = Instant::now();
    loop {
        let fields = airtable.record(&base, &table, &record);
        let done = airtable
            .comments(&base, &table, &record)
            .iter()
            .any(|c| c.starts_with("Done. Ready for review."));
        if fields["Status"] == "Review" && done && fields.get("Draft").is_some() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the record is not done after 90 s: {fields:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    ui.click("Activity").await;
    ui.wait(
        "the run to succeed",
        30,
        "const row = [...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('the launch')); return !!row && row.textContent.includes('succeeded');",
        json!([]),
    )
    .await;
    ui.js("[...document.querySelectorAll('[data-testid=run-row]')].find(r => r.textContent.includes('the launch')).click(); return true;", json!([])).await;
    ui.wait(
        "the rendered draft",
        20,
        "return !!document.querySelector('.markdown h1');",
        json!([]),
    )
    .await;
    ui.shots("airtable-run-detail").await;
    ui.click("Approve and close the task").await;
    ui.text_appears("Approved: the task is closed.", 10).await;
    assert_eq!(airtable.record(&base, &table, &record)["Status"], "Done");

    ui.click("Employees").await;
    let from = ui
        .wait(
            "the employee card",
            10,
            "const card = document.querySelector('[data-testid=\"employee-Pipeline Writer\"]'); if (!card) return false; const dt = [...card.querySelectorAll('dt')].find(d => d.textContent === 'Tasks from'); return dt ? dt.nextElementSibling.textContent : false;",
            json!([]),
        )
        .await;
    assert_eq!(
        from,
        json!(format!(
            "Airtable base {base}, table “Content” (drafts in “Draft”)"
        )),
        "the card's source"
    );
    ui.shots("airtable-employees").await;
    ui.click("Edit").await;
    ui.text_appears("Edit Pipeline Writer", 10).await;
    ui.wait(
        "the Airtable fields",
        20,
        "const b = byLabel('Airtable base'); const t = byLabel('Table'); return !!b && !!t && b.value !== '' && t.value === 'Content';",
        json!([]),
    )
    .await;
    ui.shots("airtable-employee-form").await;
    ui.click("Cancel").await;

    ui.click("Settings").await;
    ui.text_appears("Airtable connection", 10).await;
    ui.wait(
        "Airtable's token state",
        10,
        "const p = document.querySelector('[data-testid=token-state-airtable]'); return !!p && p.textContent.includes('saved in the OS keychain');",
        json!([]),
    )
    .await;
    ui.shots("airtable-settings").await;
    ui.wait(
        "Airtable's Remove button",
        10,
        "const b = [...document.querySelectorAll('[aria-labelledby=connection-airtable] button')].find(b => b.textContent === 'Remove'); if (!b || b.disabled) return false; b.click(); return true;",
        json!([]),
    )
    .await;
    ui.wait(
        "the token to be removed",
        10,
        "const p = document.querySelector('[data-testid=token-state-airtable]'); return !!p && p.textContent.startsWith('No ');",
        json!([]),
    )
    .await;
    assert_eq!(keychain("airtable-token"), "");

    quit(&ui, &exit_status).await;
}

/// What the session's Secret Service keeps for Delegate under `entry` ("" for nothing).
fn keychain(entry: &str) -> String {
    let out = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "app.delegate.Delegate",
            "username",
            entry,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Quits through the command the tray uses and waits for the app's exit status (0), with
/// nothing of it left running; the session is just dropped.
async fn quit(ui: &Ui, exit_status: &Path) {
    ui.s.invoke("quit", json!({})).await.ok();
    let start = Instant::now();
    let code = loop {
        if let Ok(code) = std::fs::read_to_string(exit_status) {
            break code;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the app has not exited 30 s after Quit; still running: {:?}",
            running(&app_binary())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(code.trim(), "0", "the app's exit status after Quit");
    assert_eq!(running(&app_binary()), Vec::<u32>::new(), "no app left");
}

/// A `PATH` on which Claude Code is "installed": the fake agent under the name `claude`, in
/// `dir/bin`.
fn fake_claude_on_path(dir: &Path) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(sibling_binary("fake-claude"), bin.join("claude")).unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// tauri-driver on `port` (WebKitWebDriver on the next one), for an app that gets
/// `DELEGATE_HOME`, `PATH` and `env`; its log goes to the artefacts as `log`.
async fn driver(
    port: u16,
    delegate_home: &Path,
    path: &str,
    env: &[(&str, &str)],
    log: &str,
) -> Guard {
    let mut cmd = Command::new("tauri-driver");
    cmd.args(["--port", &port.to_string()])
        .args(["--native-port", &(port + 1).to_string()])
        .args(["--native-driver", "/usr/bin/WebKitWebDriver"])
        .process_group(0)
        .env("DELEGATE_HOME", delegate_home)
        .env("PATH", path)
        // Tokens come from the keychain (or nowhere), never from the tester's environment.
        .env_remove("TODOIST_API_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env_remove("LINEAR_API_KEY")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(artifacts().join(log)).unwrap());
    let guard = Guard {
        child: cmd.spawn().unwrap(),
        group: true,
    };
    common::wait_port(port, 20).await;
    guard
}

/// A driver on `port` and a session of `app` through it. A session that could not even be
/// asked for (the request never answered: the driver broke before it launched anything —
/// its log stays empty) is tried again with a new driver, twice at most.
async fn session_on(
    port: u16,
    delegate_home: &Path,
    path: &str,
    env: &[(&str, &str)],
    log: &str,
    app: &Path,
) -> (Guard, Ui) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let guard = driver(port, delegate_home, path, env, log).await;
        match Session::start(&format!("http://127.0.0.1:{port}"), app.to_str().unwrap()).await {
            Ok(s) => return (guard, Ui { s }),
            Err(e)
                if attempt < 3
                    && e.0.starts_with("error sending request")
                    && std::fs::read_to_string(artifacts().join(log))
                        .unwrap_or_default()
                        .is_empty() =>
            {
                eprintln!("the driver on {port} broke before launching the app ({e:?}); a new one");
                drop(guard);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => panic!("no WebDriver session on {port}: {e:?}"),
        }
    }
}

/// The app, started through a shell wrapper that writes its exit status to `status` once it
/// has ended: WebKitWebDriver starts the app, so it is not this test's child to wait on.
fn app_recording_exit(dir: &Path, status: &Path) -> PathBuf {
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let wrapper = dir.join("delegate-app-recorded");
    let tmp = status.with_extension("tmp");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n{} \"$@\"\necho $? > {} && mv {} {}\n",
            quote(&app_binary()),
            quote(&tmp),
            quote(&tmp),
            quote(status)
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    wrapper
}

/// Processes (not zombies) whose executable is `exe`.
fn running(exe: &Path) -> Vec<u32> {
    let want = exe.canonicalize().unwrap_or(exe.to_path_buf());
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == want)
                && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .unwrap_or_default()
                    .rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
        .collect()
}
