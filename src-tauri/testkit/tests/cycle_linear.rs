//! Linear as a task source, end to end: the real `delegate` binary and the fake agent against
//! the fake Linear (every operation validated against Linear's published GraphQL schema, with
//! its bad days). A whole cycle with the workflow following the labels (Todo → In Progress →
//! In Review), retry and give up, request changes with the feedback in the next prompt and
//! the issue back in Todo, approve to Done; issues a person started are left alone; a comment
//! answered after the client gave up lands once; `RATELIMITED` loses nothing and causes no
//! hot loop; two machines on one team with a commit lag start each agent once.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::*;
use delegate_core::config::SourceKind;
use delegate_core::history::RunFilter;
use delegate_testkit::{FakeLinear, sibling_binary};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Duration;

const KEY: &str = "lin_api_3f9a1c0e5b7d2e8f4a6c1b9d0e3f7a2c";

struct Site {
    dir: tempfile::TempDir,
    server: FakeLinear,
    records: PathBuf,
}

impl Site {
    async fn new() -> Self {
        let server = FakeLinear::start(KEY).await;
        server.add_team("ENG", "Engineering");
        server.add_team("OPS", "Operations");
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records");
        std::fs::create_dir_all(&records).unwrap();
        Self {
            dir,
            server,
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
                "[linear]\napi_url = \"{}\"\ntimeout_secs = 5\n\n[machine]\nclaim_settle_secs = 1\n\n\
                 [[employee]]\nname = \"Writer\"\nsource = \"linear\"\nteam = \"ENG\"\n\
                 workspace = \"{}\"\ncommand = \"{}\"\n\
                 retry_backoff_secs = 0\nmax_attempts = 2\ntimeout_secs = 30\n\
                 sandbox_write = [\"{}\"]\n{extra}",
                self.server.url,
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
            .env("LINEAR_API_KEY", KEY)
            .env("DELEGATE_MACHINE", machine)
            .env("FAKE_CLAUDE_RECORD", &self.records)
            .env_remove("DELEGATE_HOME")
            .env_remove("DELEGATE_LINEAR_API_URL")
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

    fn watch(&self, home: &Path, machine: &str) -> Child {
        self.delegate(home, machine)
            .args(["run", "--watch"])
            .stdout(std::fs::File::create(home.join("stdout.txt")).unwrap())
            .stderr(std::fs::File::create(home.join("stderr.txt")).unwrap())
            .spawn()
            .unwrap()
    }

    fn prompts(&self) -> Vec<String> {
        std::fs::read_dir(&self.records)
            .unwrap()
            .map(|f| read(&f.unwrap().path()))
            .collect()
    }

    fn state(&self, id: &str) -> (String, Vec<String>) {
        let i = self.server.issue(id);
        let mut l = i.labels;
        l.sort();
        (i.state, l)
    }

    /// The comments a reader sees now.
    fn bodies(&self, id: &str) -> Vec<String> {
        self.server.visible_comments(id)
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issue_moves_through_the_workflow_is_reworked_and_approved() {
    let site = Site::new().await;
    let id = site.server.add_issue(
        "ENG",
        "Write a LinkedIn post about background agents",
        "Keep it under 200 words.",
        &[],
        "Todo",
    );
    let theirs = site
        .server
        .add_issue("ENG", "A person is on it", "", &[], "In Progress");
    let other_team = site
        .server
        .add_issue("OPS", "Not this team", "", &[], "Todo");
    let backlog = site.server.add_issue("ENG", "Someday", "", &[], "Backlog");
    let home = site.home("laptop", "");

    assert!(site.run(&home).status.success());
    assert_eq!(
        site.state(&id),
        ("In Review".into(), strings(&["agent-done"]))
    );
    let bodies = site.bodies(&id);
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    assert!(bodies[0].starts_with("Working on it… (attempt 1 of 2) on laptop"));
    assert!(bodies[1].starts_with("Done. Ready for review."));
    for left in [&theirs, &other_team, &backlog] {
        assert!(site.bodies(left).is_empty(), "left alone");
    }
    assert_eq!(site.state(&theirs).0, "In Progress");
    // A won claim moved the issue to In Progress with `agent-working` at once: the request
    // log shows that issueUpdate before the "Done" comment.
    let reqs = site.server.requests();
    let moved = reqs
        .iter()
        .position(|r| r.operation.as_deref() == Some("Move"))
        .unwrap();
    let done = reqs
        .iter()
        .position(|r| r.variables.to_string().contains("Done. Ready for review."))
        .unwrap();
    assert!(moved < done);

    // Request changes, as the app does: a comment, `agent-done` removed, back to Todo.
    {
        let engine = engine_with_token(&home, SourceKind::Linear, KEY);
        let runs = engine.history().list(&RunFilter::default()).unwrap();
        engine
            .request_changes(runs[0].id, "Make it punchier, and end with a question.")
            .await
            .unwrap();
    }
    assert_eq!(site.state(&id), ("Todo".into(), vec![]));
    assert!(site.run(&home).status.success());
    assert_eq!(
        site.state(&id),
        ("In Review".into(), strings(&["agent-done"]))
    );
    let prompts = site.prompts();
    assert_eq!(prompts.len(), 2);
    assert!(
        prompts
            .iter()
            .any(|p| p.contains("Make it punchier, and end with a question."))
    );

    // Approve: the team's first completed state.
    let engine = engine_with_token(&home, SourceKind::Linear, KEY);
    let latest = engine.history().list(&RunFilter::default()).unwrap()[0].id;
    engine.approve(latest).await.unwrap();
    assert_eq!(site.state(&id).0, "Done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_issue_is_retried_from_todo_then_given_up() {
    let site = Site::new().await;
    let id = site
        .server
        .add_issue("ENG", "Draft the newsletter [fail]", "", &[], "Todo");
    let home = site.home("laptop", "");
    site.run(&home);
    assert_eq!(
        site.state(&id),
        ("Todo".into(), strings(&["agent-retry-1"]))
    );
    site.run(&home);
    assert_eq!(site.state(&id), ("Todo".into(), strings(&["agent-failed"])));
    let bodies = site.bodies(&id);
    assert!(
        bodies
            .iter()
            .any(|b| b.starts_with("Failed (attempt 1 of 2)"))
    );
    assert!(
        bodies
            .iter()
            .any(|b| b.starts_with("Failed after 2 attempts"))
    );
    site.run(&home);
    assert_eq!(site.prompts().len(), 2, "given up: left alone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_answered_after_the_client_gave_up_lands_once() {
    let site = Site::new().await;
    let id = site
        .server
        .add_issue("ENG", "Write the release notes", "", &[], "Todo");
    site.server
        .answer_slowly_matching("Done. Ready for review.", 1, Duration::from_secs(7));
    site.server
        .answer_slowly_matching("Working on it", 1, Duration::from_secs(7));
    let home = site.home("laptop", "");
    site.run(&home);
    let bodies = site.bodies(&id);
    let count = |head: &str| bodies.iter().filter(|b| b.starts_with(head)).count();
    assert_eq!(
        (count("Working on it"), count("Done. Ready for review.")),
        (1, 1),
        "{bodies:#?}"
    );
    assert_eq!(
        site.state(&id),
        ("In Review".into(), strings(&["agent-done"]))
    );
    assert_eq!(site.prompts().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratelimited_loses_nothing_and_causes_no_hot_loop() {
    let site = Site::new().await;
    let id = site
        .server
        .add_issue("ENG", "Summarise the meeting", "", &[], "Todo");
    let home = site.home("laptop", "poll_secs = 1\n");
    // A budget of 20 requests an hour, used up now: the next requests are RATELIMITED and
    // one request comes back every three minutes.
    site.server
        .set_rate_limits(delegate_testkit::linear::RateLimits {
            requests_per_period: 20,
            ..Default::default()
        });
    site.server.exhaust_rate_limit();
    site.server.clear_requests();
    let child = site.watch(&home, "laptop");
    let log = home.join("stdout.txt");
    until(Duration::from_secs(60), "the limit to be told", || {
        read(&log).contains("rate limit")
    })
    .await;
    let before = site.server.requests().len();
    // Several poll intervals: no request until the limit lets one through.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = site.server.requests().len();
    stop(child);
    assert!(
        after - before <= 1,
        "{} requests while limited",
        after - before
    );
    assert!(site.bodies(&id).is_empty(), "nothing half-done");
    assert_eq!(site.state(&id), ("Todo".into(), vec![]));

    // The limit lifted: the task is worked as if nothing happened.
    site.server
        .set_rate_limits(delegate_testkit::linear::RateLimits::default());
    assert!(site.run(&home).status.success());
    assert_eq!(
        site.state(&id),
        ("In Review".into(), strings(&["agent-done"]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_poll_costs_one_request() {
    let site = Site::new().await;
    site.server
        .add_issue("ENG", "Done already", "", &[], "Todo");
    let home = site.home("laptop", "poll_secs = 1\n");
    site.run(&home);
    site.server
        .add_issue("ENG", "A person is on it", "", &[], "In Progress");
    site.server.clear_requests();
    let child = site.watch(&home, "laptop");
    let server = site.server.clone();
    until(Duration::from_secs(60), "ten polls", move || {
        server.requests().len() >= 12
    })
    .await;
    stop(child);
    let reqs = site.server.requests();
    let polls = reqs
        .iter()
        .filter(|r| r.operation.as_deref() == Some("Open"))
        .count();
    eprintln!(
        "idle Linear: {} requests, {polls} polls: {:?}",
        reqs.len(),
        reqs.iter()
            .filter(|r| r.operation.as_deref() != Some("Open"))
            .map(|r| r.operation.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    );
    // A finished issue is watched for the person's reply (feedback continues the agent's
    // session): its comments are read until its last change has settled, then only polls.
    assert!(reqs.len() - polls <= 3, "only polls, once settled");
    assert!(
        reqs.iter()
            .rev()
            .take(4)
            .all(|r| r.operation.as_deref() == Some("Open")),
        "once settled, one request per poll"
    );
}

/// Two machines on one team whose every second claim shows 3 s late, with latency, and a
/// Linear whose clock runs 7 s ahead of the machines': each agent starts once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_machines_on_one_team_start_each_agent_once_when_comments_show_late_and_clocks_differ()
{
    let site = Site::new().await;
    let ids: Vec<String> = (0..8)
        .map(|i| {
            site.server
                .add_issue("ENG", &format!("Shared task {i:02}"), "", &[], "Todo")
        })
        .collect();
    site.server.set_latency(Duration::from_millis(60));
    site.server.set_clock_skew_ms(7_000);
    site.server
        .set_commit_lag("Working on it", 2, Duration::from_secs(3));
    let homes: Vec<PathBuf> = ["machine-a", "machine-b"]
        .iter()
        .map(|m| {
            let h = site.home(m, "poll_secs = 1\n");
            let text = read(&h.join("config.toml")).replace("claim_settle_secs = 1\n", "");
            std::fs::write(h.join("config.toml"), text).unwrap();
            h
        })
        .collect();
    let children: Vec<Child> = homes
        .iter()
        .zip(["machine-a", "machine-b"])
        .map(|(h, m)| site.watch(h, m))
        .collect();
    let server = site.server.clone();
    let all = ids.clone();
    until(
        Duration::from_secs(180),
        "every issue to be done",
        move || {
            all.iter()
                .all(|i| server.issue(i).labels.contains(&"agent-done".to_string()))
        },
    )
    .await;
    for c in children {
        stop(c);
    }
    let mut starts: HashMap<String, usize> = HashMap::new();
    for p in site.prompts() {
        for i in 0..8 {
            if p.contains(&format!("Shared task {i:02}")) {
                *starts.entry(format!("{i:02}")).or_default() += 1;
            }
        }
    }
    assert_eq!(starts.len(), 8, "{starts:?}");
    assert!(
        starts.values().all(|n| *n == 1),
        "each agent started once: {starts:?}"
    );
    let mut winners: HashMap<String, usize> = HashMap::new();
    for id in &ids {
        let bodies = site.bodies(id);
        let claims: Vec<&String> = bodies
            .iter()
            .filter(|b| b.starts_with("Working on it"))
            .collect();
        let done = bodies.iter().filter(|b| b.starts_with("Done.")).count();
        assert_eq!((claims.len(), done), (1, 1), "{bodies:#?}");
        let m = claims[0]
            .lines()
            .next()
            .unwrap()
            .rsplit(" on ")
            .next()
            .unwrap();
        *winners.entry(m.to_string()).or_default() += 1;
    }
    let lagged = site.server.lagged_writes();
    eprintln!("two machines on Linear: won {winners:?}; {lagged} claims shown late");
    assert!(lagged >= 2);
    assert_eq!(winners.len(), 2, "{winners:?}");
}

/// The conversation on a Linear issue: a question moves it to the review state with
/// `agent-needs-input`; the person's comment continues the same agent session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_on_a_linear_issue_is_answered_and_the_session_goes_on() {
    let site = Site::new().await;
    let id = site
        .server
        .add_issue("ENG", "Post about our launch [ask]", "", &[], "Todo");
    let home = site.home("laptop", "");
    assert!(site.run(&home).status.success());
    assert_eq!(
        site.state(&id),
        ("In Review".into(), strings(&["agent-needs-input"]))
    );
    let asked = site.bodies(&id).last().unwrap().clone();
    assert!(asked.starts_with("Needs your answer."), "{asked}");

    site.server
        .add_comment(&id, "Quote Ada from Acme. No price.");
    assert!(site.run(&home).status.success());
    assert_eq!(
        site.state(&id),
        ("In Review".into(), strings(&["agent-done"]))
    );
    let engine = engine_with_token(&home, SourceKind::Linear, KEY);
    let runs = engine.history().list(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 2);
    let first = engine.history().get(runs[1].id).unwrap();
    let second = engine.history().get(runs[0].id).unwrap();
    assert_eq!(second.resumed_session, first.session_id, "the same session");
    let done = site.bodies(&id).last().unwrap().clone();
    assert!(done.contains("Quote Ada from Acme. No price."), "{done}");
}

/// `deliver_drafts = "attach"` on Linear: the draft is uploaded (`fileUpload`, then a PUT to
/// the signed address with its headers and without the API key) and the end comment links
/// the asset under the draft's first lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_is_attached_to_the_linear_comment_as_an_uploaded_file() {
    let site = Site::new().await;
    let id = site
        .server
        .add_issue("ENG", "Write the whitepaper [long-draft]", "", &[], "Todo");
    let home = site.home("laptop", "deliver_drafts = \"attach\"\n");
    assert!(site.run(&home).status.success());
    assert_eq!(
        site.state(&id),
        ("In Review".into(), strings(&["agent-done"]))
    );
    let done = site.bodies(&id).last().unwrap().clone();
    assert!(
        done.contains("the whole draft is attached as `write-the-whitepaper-long-draft.md`."),
        "{done}"
    );
    let link = done
        .split("📎 [write-the-whitepaper-long-draft.md](")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("a link to the asset: {done}"));
    let uploaded = site
        .server
        .asset(link)
        .expect("the bytes reached the signed address");
    let draft = read(&home.join("workspace/drafts/write-the-whitepaper-long-draft.md"));
    assert_eq!(String::from_utf8(uploaded).unwrap(), draft);
    assert_eq!(site.server.uploads_prepared(), 1);
}

/// A file the person attached on Linear (a link to its upload in the comment) is brought into
/// the workspace for the agent, named safely from the link's text, fetched with the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_attached_on_linear_is_brought_into_the_workspace() {
    let site = Site::new().await;
    let id = site
        .server
        .add_issue("ENG", "Post about our figures", "", &[], "Todo");
    site.server
        .add_comment_with_file(&id, "The figures:", "../../.bashrc", b"revenue,42\n");
    let home = site.home("laptop", "");
    assert!(site.run(&home).status.success());
    let ws = home.join("workspace");
    let engine = engine_with_token(&home, SourceKind::Linear, KEY);
    let run = engine.history().list(&RunFilter::default()).unwrap()[0].clone();
    let folder = ws.join("inputs").join(&run.task_id);
    assert_eq!(read(&folder.join("bashrc")), "revenue,42\n");
    assert!(!home.join(".bashrc").exists() && !ws.join(".bashrc").exists());
    let draft = read(&ws.join("drafts/post-about-our-figures.md"));
    assert!(
        draft.contains(&format!("- `inputs/{}/bashrc` (11 B)", run.task_id)),
        "{draft}"
    );
}
