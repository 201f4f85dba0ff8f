//! Airtable as a task source, end to end: the real `delegate` binary and the fake agent
//! against the fake Airtable (built from Airtable's reference, with its limit of 5 requests
//! a second per base and its bad days). A whole cycle with the Status as the workflow (Todo →
//! In progress → Review, the draft written to the Draft field), retry and give up, request
//! changes with the feedback in the next prompt, approve to Done; a comment answered after the
//! client gave up lands once; a 429 loses nothing and causes no hot loop; two machines on one
//! table start each agent once; an idle poll costs one request.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::*;
use delegate_core::config::SourceKind;
use delegate_core::history::RunFilter;
use delegate_testkit::airtable::{FakeAirtable, FieldKind};
use delegate_testkit::sibling_binary;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const TOKEN: &str = "patDelegateTest1.3f9a1c0e5b7d2e8f4a6c1b9d0e3f7a2c";

struct Site {
    dir: tempfile::TempDir,
    server: FakeAirtable,
    base: String,
    table: String,
    records: PathBuf,
}

impl Site {
    async fn new() -> Self {
        let server = FakeAirtable::start(TOKEN).await;
        let base = server.add_base("Content pipeline");
        let table = server.add_table(
            &base,
            "Content",
            &[
                ("Name", FieldKind::SingleLineText),
                ("Notes", FieldKind::MultilineText),
                (
                    "Status",
                    FieldKind::SingleSelect(
                        ["Todo", "In progress", "Review", "Failed", "Done", "Idea"]
                            .map(String::from)
                            .to_vec(),
                    ),
                ),
                ("Draft", FieldKind::MultilineText),
            ],
        );
        // The tests run `delegate run` processes back to back: each paces its own requests
        // to 5 a second, but two in the same second would together exceed Airtable's limit
        // (the rate-limit test sets it back).
        server.set_rate_limit(20, Duration::from_secs(1));
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records");
        std::fs::create_dir_all(&records).unwrap();
        Self {
            dir,
            server,
            base,
            table,
            records,
        }
    }

    fn home(&self, name: &str, extra: &str) -> PathBuf {
        let home = self.dir.path().join(name);
        let ws = home.join("workspace");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::write(
            home.join("config.toml"),
            format!(
                "[airtable]\napi_url = \"{}\"\ntimeout_secs = 5\n\n[machine]\nclaim_settle_secs = 1\n\n\
                 [[employee]]\nname = \"Writer\"\nsource = \"airtable\"\nairtable_base = \"{}\"\n\
                 airtable_table = \"Content\"\nairtable_draft_field = \"Draft\"\n\
                 workspace = \"{}\"\ncommand = \"{}\"\n\
                 retry_backoff_secs = 0\nmax_attempts = 2\ntimeout_secs = 30\n\
                 sandbox_write = [\"{}\"]\n{extra}",
                self.server.url,
                self.base,
                ws.display(),
                fake_claude().display(),
                self.records.display(),
            ),
        )
        .unwrap();
        home
    }

    fn delegate(&self, home: &Path, machine: &str) -> Command {
        let mut c = Command::new(sibling_binary("delegate"));
        c.arg("--home")
            .arg(home)
            .env("AIRTABLE_TOKEN", TOKEN)
            .env("DELEGATE_MACHINE", machine)
            .env("FAKE_CLAUDE_RECORD", &self.records)
            .env_remove("DELEGATE_HOME")
            .env_remove("DELEGATE_AIRTABLE_API_URL")
            .env_remove("TODOIST_API_TOKEN");
        c
    }

    fn run(&self, home: &Path) -> Output {
        let out = self.delegate(home, "laptop").arg("run").output().unwrap();
        eprintln!(
            "delegate run: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn prompts(&self) -> Vec<String> {
        std::fs::read_dir(&self.records)
            .unwrap()
            .map(|f| read(&f.unwrap().path()))
            .collect()
    }

    fn status(&self, id: &str) -> String {
        self.server.record(&self.base, &self.table, id)["Status"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn add(&self, name: &str, status: &str) -> String {
        self.server.add_record(
            &self.base,
            &self.table,
            json!({"Name": name, "Notes": "Under 200 words.", "Status": status}),
        )
    }

    fn comments(&self, id: &str) -> Vec<String> {
        self.server.comments(&self.base, &self.table, id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_moves_through_the_statuses_is_reworked_and_approved() {
    let site = Site::new().await;
    let id = site.add("Write a LinkedIn post about background agents", "Todo");
    let idea = site.add("Someday", "Idea");
    let home = site.home("laptop", "");

    assert!(site.run(&home).status.success());
    assert_eq!(site.status(&id), "Review");
    let c = site.comments(&id);
    assert_eq!(c.len(), 2, "{c:#?}");
    assert!(c[0].starts_with("Working on it… (attempt 1 of 2) on laptop"));
    assert!(c[1].starts_with("Done. Ready for review."));
    assert!(c.iter().all(|c| c.contains("<!-- delegate:")), "markers");
    let record = site.server.record(&site.base, &site.table, &id);
    let draft = record["Draft"].as_str().unwrap();
    let ws = home.join("workspace");
    let drafts: Vec<_> = std::fs::read_dir(ws.join("drafts"))
        .unwrap()
        .map(|f| f.unwrap().path())
        .collect();
    assert_eq!(drafts.len(), 1, "{drafts:?}");
    let on_disk = std::fs::read_to_string(&drafts[0]).unwrap();
    assert_eq!(draft, on_disk, "the whole draft, in the Draft field");
    assert!(site.comments(&idea).is_empty(), "an Idea is left alone");
    assert_eq!(site.status(&idea), "Idea");

    // Request changes, as the app does: the feedback as a comment, back to Todo.
    {
        let engine = engine_with_token(&home, SourceKind::Airtable, TOKEN);
        let runs = engine.history().list(&RunFilter::default()).unwrap();
        engine
            .request_changes(runs[0].id, "Make it punchier, and end with a question.")
            .await
            .unwrap();
    }
    assert_eq!(site.status(&id), "Todo");
    assert!(site.run(&home).status.success());
    assert_eq!(site.status(&id), "Review");
    let prompts = site.prompts();
    assert_eq!(prompts.len(), 2);
    assert!(
        prompts
            .iter()
            .any(|p| p.contains("Make it punchier, and end with a question."))
    );

    let engine = engine_with_token(&home, SourceKind::Airtable, TOKEN);
    let latest = engine.history().list(&RunFilter::default()).unwrap()[0].id;
    engine.approve(latest).await.unwrap();
    assert_eq!(site.status(&id), "Done");
    // Nothing left to do: a run starts no agent.
    assert!(site.run(&home).status.success());
    assert_eq!(site.prompts().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_record_is_retried_then_given_up() {
    let site = Site::new().await;
    let id = site.add("Break this [fail]", "Todo");
    let home = site.home("laptop", "");
    site.run(&home);
    assert_eq!(site.status(&id), "Todo", "back to Todo for a retry");
    assert!(
        site.comments(&id)
            .last()
            .unwrap()
            .starts_with("Failed (attempt 1 of 2)")
    );
    site.run(&home);
    assert_eq!(site.status(&id), "Failed");
    assert!(
        site.comments(&id)
            .last()
            .unwrap()
            .starts_with("Failed after 2 attempts")
    );
    // Given up: no more runs.
    site.run(&home);
    assert_eq!(site.prompts().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_answered_after_the_client_gave_up_lands_once() {
    let site = Site::new().await;
    let id = site.add("Write a post", "Todo");
    let home = site.home("laptop", "");
    // The claim comment's answer comes after the 5 s timeout: Delegate looks before resending.
    site.server.answer_next_write_late(Duration::from_secs(7));
    site.run(&home);
    site.run(&home);
    let c = site.comments(&id);
    let claims = c.iter().filter(|c| c.starts_with("Working on it")).count();
    let ends = c.iter().filter(|c| c.starts_with("Done.")).count();
    assert_eq!((claims, ends), (1, 1), "{c:#?}");
    assert_eq!(site.status(&id), "Review");
    assert_eq!(site.prompts().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_loses_nothing_and_causes_no_hot_loop() {
    let site = Site::new().await;
    let id = site.add("Write a post", "Todo");
    let home = site.home("laptop", "poll_secs = 1\n");
    // Airtable's limit, and another program on the same base that used it up: the base is
    // refused for 5 s (Airtable: 30 s).
    site.server.set_rate_limit(5, Duration::from_secs(5));
    let http = reqwest::Client::new();
    for _ in 0..6 {
        let _ = http
            .get(format!("{}/v0/{}/Content", site.server.url, site.base))
            .bearer_auth(TOKEN)
            .send()
            .await;
    }
    let before = site.server.counters();
    assert_eq!(before.rate_limited, 1, "{before:?}");
    let child = site
        .delegate(&home, "laptop")
        .args(["run", "--watch"])
        .stdout(std::fs::File::create(home.join("stdout.txt")).unwrap())
        .stderr(std::fs::File::create(home.join("stderr.txt")).unwrap())
        .spawn()
        .unwrap();
    until(Duration::from_secs(90), "the record in Review", || {
        site.status(&id) == "Review"
    })
    .await;
    stop(child);
    let counters = site.server.counters();
    assert_eq!(site.prompts().len(), 1, "the agent ran once");
    let c = site.comments(&id);
    assert_eq!(c.len(), 2, "one claim, one end: {c:#?}");
    // Told "wait 30 s", the engine sent nothing to the base meanwhile: one refused request.
    let refused = counters.rate_limited - before.rate_limited;
    assert_eq!(
        refused, 1,
        "met the refusal once, then waited: {counters:?}"
    );
    eprintln!(
        "429s met by Delegate: {refused} ({} requests in all)",
        counters.requests
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_poll_costs_one_request() {
    let site = Site::new().await;
    let id = site.add("Write a post", "Todo");
    site.add("An idea for later", "Idea");
    let home = site.home("laptop", "poll_secs = 1\n");
    site.run(&home);
    assert_eq!(site.status(&id), "Review");
    site.server.clear_requests();
    let child = site
        .delegate(&home, "laptop")
        .args(["run", "--watch"])
        .stdout(std::fs::File::create(home.join("stdout.txt")).unwrap())
        .stderr(std::fs::File::create(home.join("stderr.txt")).unwrap())
        .spawn()
        .unwrap();
    let server = site.server.clone();
    until(Duration::from_secs(60), "ten polls", move || {
        server.requests().len() >= 12
    })
    .await;
    stop(child);
    let reqs = site.server.requests();
    let polls = reqs
        .iter()
        .filter(|r| r.path.ends_with("/listRecords"))
        .count();
    eprintln!(
        "idle Airtable: {} requests, {polls} polls: {:?}",
        reqs.len(),
        reqs.iter()
            .filter(|r| !r.path.ends_with("/listRecords"))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
    // The finished record's comments are read once when the engine first lists it (its
    // last end tells a question from a draft: Airtable has no labels), then until its last
    // change settles; then polls only.
    assert!(reqs.len() - polls <= 4, "only polls, once settled");
    assert!(
        reqs.iter()
            .rev()
            .take(4)
            .all(|r| r.path.ends_with("/listRecords")),
        "once settled, one request per poll"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_machines_on_one_table_start_each_agent_once_when_comments_show_late() {
    let site = Site::new().await;
    site.server.set_rate_limit(50, Duration::from_secs(1));
    // Comments show 3 s after they were made, within the default settle time (5 s), and the
    // records come in a different order at every listing.
    site.server.set_comment_lag(Duration::from_secs(3));
    site.server.set_shuffled(true);
    let ids: Vec<String> = (0..6)
        .map(|i| site.add(&format!("Post {i}"), "Todo"))
        .collect();
    let homes: Vec<PathBuf> = ["machine-a", "machine-b"]
        .iter()
        .map(|m| {
            let h = site.home(m, "poll_secs = 1\n");
            let text = read(&h.join("config.toml")).replace("claim_settle_secs = 1\n", "");
            std::fs::write(h.join("config.toml"), text).unwrap();
            h
        })
        .collect();
    let (a, b) = (homes[0].clone(), homes[1].clone());
    let ca = site
        .delegate(&a, "machine-a")
        .args(["run", "--watch"])
        .stdout(std::fs::File::create(a.join("stdout.txt")).unwrap())
        .stderr(std::fs::File::create(a.join("stderr.txt")).unwrap())
        .spawn()
        .unwrap();
    let cb = site
        .delegate(&b, "machine-b")
        .args(["run", "--watch"])
        .stdout(std::fs::File::create(b.join("stdout.txt")).unwrap())
        .stderr(std::fs::File::create(b.join("stderr.txt")).unwrap())
        .spawn()
        .unwrap();
    until(Duration::from_secs(120), "every record in Review", || {
        ids.iter().all(|id| site.status(id) == "Review")
    })
    .await;
    stop(ca);
    stop(cb);
    let prompts = site.prompts();
    for i in 0..6 {
        let n = prompts
            .iter()
            .filter(|p| p.contains(&format!("Post {i}\\n")) || p.contains(&format!("\"Post {i}")))
            .count();
        assert_eq!(n, 1, "Post {i} started once");
    }
    assert_eq!(prompts.len(), 6);
}
