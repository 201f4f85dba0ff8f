//! GitHub Issues as a task source, end to end: the real `delegate` binary and the fake agent
//! against the fake GitHub (built from GitHub's OpenAPI description, with its bad days). A
//! whole cycle (claim, done, labels created, pull requests and unlabelled issues left alone),
//! retry and give up, request changes with the feedback in the next prompt, approve; a
//! comment POST answered after the client gave up lands once; secondary and primary rate
//! limits lose nothing and cause no hot loop; an idle poll costs one conditional request.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::*;
use delegate_core::config::SourceKind;
use delegate_core::history::RunFilter;
use delegate_testkit::{FakeGitHub, sibling_binary};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Duration;

const REPO: &str = "octo/content";

struct Site {
    dir: tempfile::TempDir,
    server: FakeGitHub,
    records: PathBuf,
}

impl Site {
    async fn new() -> Self {
        let server = FakeGitHub::start(TOKEN).await;
        server.add_repo(REPO);
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records");
        std::fs::create_dir_all(&records).unwrap();
        Self {
            dir,
            server,
            records,
        }
    }

    /// A home with one GitHub employee on `REPO` (issues labelled `delegate`).
    fn home(&self, name: &str, extra: &str) -> PathBuf {
        let home = self.dir.path().join(name);
        let ws = home.join("workspace");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::write(
            home.join("config.toml"),
            format!(
                "[github]\napi_url = \"{}\"\ntimeout_secs = 5\n\n[machine]\nclaim_settle_secs = 1\n\n\
                 [[employee]]\nname = \"Writer\"\nsource = \"github\"\nrepo = \"{REPO}\"\n\
                 github_label = \"delegate\"\nworkspace = \"{}\"\ncommand = \"{}\"\n\
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
            .env("GITHUB_TOKEN", TOKEN)
            .env("DELEGATE_MACHINE", machine)
            .env("FAKE_CLAUDE_RECORD", &self.records)
            .env_remove("DELEGATE_HOME")
            .env_remove("DELEGATE_GITHUB_API_URL")
            .env_remove("TODOIST_API_TOKEN");
        c
    }

    /// One cycle of `delegate run`.
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

    /// The prompts the fake agent was started with, by title (from its records).
    fn prompts(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in std::fs::read_dir(&self.records).unwrap() {
            let text = read(&f.unwrap().path());
            out.push(text);
        }
        out
    }

    fn labels(&self, n: u64) -> Vec<String> {
        let mut l = self.server.issue(REPO, n).labels;
        l.sort();
        l
    }

    fn bodies(&self, n: u64) -> Vec<String> {
        self.server.comments(REPO, n).stored_bodies()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issue_is_claimed_worked_reworked_with_feedback_and_approved() {
    let site = Site::new().await;
    let n = site.server.add_issue(
        REPO,
        "Write a LinkedIn post about background agents",
        "Keep it under 200 words.",
        &["delegate"],
    );
    let unlabelled = site.server.add_issue(REPO, "Not for the agent", "", &[]);
    let pr = site.server.add_pull_request(REPO, "Fix typo");
    let home = site.home("laptop", "");

    let out = site.run(&home);
    assert!(out.status.success());
    assert_eq!(site.labels(n), ["agent-done", "delegate"]);
    let bodies = site.bodies(n);
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    assert!(bodies[0].starts_with("Working on it… (attempt 1 of 2) on laptop"));
    assert!(
        bodies[1].starts_with("Done. Ready for review."),
        "{}",
        bodies[1]
    );
    assert!(
        bodies.iter().all(|b| b.contains("<!-- delegate:")),
        "every comment carries its marker"
    );
    // Left alone: the issue without the label, and the pull request.
    assert!(site.bodies(unlabelled).is_empty() && site.labels(unlabelled).is_empty());
    assert!(site.bodies(pr).is_empty());
    // Delegate's labels were made in the repository, with colours.
    let made = site.server.repo_labels(REPO);
    for l in ["agent-working", "agent-done", "agent-failed"] {
        assert!(made.iter().any(|m| m == l), "{made:?}");
    }
    let first_prompt = site.prompts();
    assert_eq!(first_prompt.len(), 1);
    assert!(first_prompt[0].contains("Write a LinkedIn post about background agents"));

    // Request changes, as the app does: a comment, `agent-done` removed.
    let run_id = {
        let engine = engine_with_token(&home, SourceKind::GitHub, TOKEN);
        let runs = engine.history().list(&RunFilter::default()).unwrap();
        assert_eq!(runs.len(), 1);
        engine
            .request_changes(runs[0].id, "Make it punchier, and end with a question.")
            .await
            .unwrap();
        runs[0].id
    };
    assert_eq!(site.labels(n), ["delegate"]);
    let out = site.run(&home);
    assert!(out.status.success());
    assert_eq!(site.labels(n), ["agent-done", "delegate"]);
    let prompts = site.prompts();
    assert_eq!(prompts.len(), 2, "reworked once");
    assert!(
        prompts
            .iter()
            .any(|p| p.contains("Make it punchier, and end with a question.")),
        "the feedback reached the agent"
    );

    // Approve: the issue is closed as completed.
    let engine = engine_with_token(&home, SourceKind::GitHub, TOKEN);
    let latest = engine.history().list(&RunFilter::default()).unwrap()[0].id;
    assert_ne!(latest, run_id);
    engine.approve(latest).await.unwrap();
    let issue = site.server.issue(REPO, n);
    assert_eq!(issue.state, "closed");
    assert_eq!(issue.state_reason.as_deref(), Some("completed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_issue_is_retried_then_given_up_with_the_reason() {
    let site = Site::new().await;
    let n = site
        .server
        .add_issue(REPO, "Draft the newsletter [fail]", "", &["delegate"]);
    let home = site.home("laptop", "");
    site.run(&home);
    assert_eq!(site.labels(n), ["agent-retry-1", "delegate"]);
    site.run(&home);
    assert_eq!(site.labels(n), ["agent-failed", "delegate"]);
    let bodies = site.bodies(n);
    assert!(
        bodies
            .iter()
            .any(|b| b.starts_with("Failed (attempt 1 of 2)")),
        "{bodies:#?}"
    );
    assert!(
        bodies
            .iter()
            .any(|b| b.starts_with("Failed after 2 attempts")),
        "{bodies:#?}"
    );
    // Given up: the next cycle leaves it alone.
    site.run(&home);
    assert_eq!(site.prompts().len(), 2);
}

/// A 40,000-character draft fits whole in a GitHub comment (65,536; the fake refuses more
/// with GitHub's 422), so the issue carries all of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_draft_is_delivered_whole_in_the_issue() {
    let site = Site::new().await;
    let n = site
        .server
        .add_issue(REPO, "Write the whitepaper [long-draft]", "", &["delegate"]);
    let home = site.home("laptop", "");
    site.run(&home);
    assert_eq!(site.labels(n), ["agent-done", "delegate"]);
    let bodies = site.bodies(n);
    let done = bodies
        .iter()
        .find(|b| b.starts_with("Done. Ready for review."))
        .unwrap();
    assert!(done.chars().count() > 40_000 && done.chars().count() <= 65_536);
    assert!(done.contains("📄 `drafts/write-the-whitepaper-long-draft.md`"));
    assert!(done.contains("Paragraph 800 of a long draft, written to be read."));
    assert!(!done.contains("more lines — the whole draft"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_answered_after_the_client_gave_up_lands_once() {
    let site = Site::new().await;
    let n = site
        .server
        .add_issue(REPO, "Write the release notes", "", &["delegate"]);
    // The "Done" comment is applied at once but answered after the client's 5 s timeout;
    // the claim's is answered late too.
    site.server
        .answer_late_matching("Done. Ready for review.", 1, Duration::from_secs(7));
    site.server
        .answer_late_matching("Working on it", 1, Duration::from_secs(7));
    let home = site.home("laptop", "");
    site.run(&home);
    let bodies = site.bodies(n);
    let done = bodies
        .iter()
        .filter(|b| b.starts_with("Done. Ready for review."))
        .count();
    let claims = bodies
        .iter()
        .filter(|b| b.starts_with("Working on it"))
        .count();
    assert_eq!((claims, done), (1, 1), "{bodies:#?}");
    assert_eq!(site.labels(n), ["agent-done", "delegate"]);
    assert!(site.server.counters().late_answers >= 2);
    assert_eq!(site.prompts().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_lose_nothing_and_cause_no_hot_loop() {
    let site = Site::new().await;
    let n = site
        .server
        .add_issue(REPO, "Summarise the meeting", "", &["delegate"]);
    // A secondary limit on the next two writes (403 with retry-after: 1): waited out.
    site.server.secondary_limit_next_writes(2, 403, Some(1));
    let home = site.home("laptop", "");
    site.run(&home);
    assert_eq!(site.labels(n), ["agent-done", "delegate"]);
    assert_eq!(
        site.bodies(n)
            .iter()
            .filter(|b| b.starts_with("Done."))
            .count(),
        1
    );
    assert!(site.server.counters().secondary_limited >= 2);

    // The primary limit used up for the next 10 minutes: one refused request, then none
    // until the reset — and the cycle says why, with the reset time.
    let m = site
        .server
        .add_issue(REPO, "Draft the FAQ", "", &["delegate"]);
    site.server.set_rate_limit(0, Duration::from_secs(600));
    site.server.clear_requests();
    let child = site.watch(&home, "laptop");
    let server = site.server.clone();
    until(Duration::from_secs(30), "the limit to be hit", move || {
        server.counters().rate_limited >= 1
    })
    .await;
    // Watch for a few poll intervals (poll_secs 1 would be several polls): nothing more.
    let before = site.server.requests().len();
    let log = home.join("stdout.txt");
    until(Duration::from_secs(30), "the problem to be told", || {
        read(&log).contains("rate limit")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = site.server.requests().len();
    stop(child);
    assert!(
        after - before <= 1,
        "no requests while the limit lasts: {} more",
        after - before
    );
    assert!(site.labels(m) == ["delegate"], "untouched, kept for later");
    assert!(read(&log).contains("UTC"), "{}", read(&log));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_poll_costs_one_conditional_request() {
    let site = Site::new().await;
    let n = site
        .server
        .add_issue(REPO, "Done already", "", &["delegate"]);
    let home = site.home("laptop", "poll_secs = 1\n");
    site.run(&home);
    assert_eq!(site.labels(n), ["agent-done", "delegate"]);
    let waiting = site.server.add_issue(REPO, "Waiting for a person", "", &[]);
    let _ = waiting;
    site.server.clear_requests();
    let before = site.server.counters();
    let child = site.watch(&home, "laptop");
    let server = site.server.clone();
    until(Duration::from_secs(60), "ten polls", move || {
        server.counters().requests - before.requests >= 12
    })
    .await;
    stop(child);
    let reqs = site.server.requests();
    // The first poll of a new process reads everything once; from then on each poll is one
    // conditional GET of the issue list, answered 304.
    let polls: Vec<_> = reqs
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/issues"))
        .collect();
    let others: Vec<_> = reqs
        .iter()
        .filter(|r| !(r.method == "GET" && r.path.ends_with("/issues")))
        .collect();
    let not_modified = polls.iter().filter(|r| r.not_modified).count();
    eprintln!(
        "idle: {} requests, {} list polls ({not_modified} answered 304), {} others: {:?}",
        reqs.len(),
        polls.len(),
        others.len(),
        others
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
    // A finished issue is watched for the person's reply (feedback continues the agent's
    // session): its comments are read until its last change has settled, then never again
    // while nothing changes.
    assert!(
        others
            .iter()
            .all(|r| r.method == "GET" && r.path.ends_with("/issues/1/comments")),
        "{others:#?}"
    );
    assert!(others.len() <= 3, "{others:#?}");
    assert!(
        reqs.iter()
            .rev()
            .take(4)
            .all(|r| r.method == "GET" && r.path.ends_with("/issues") && r.not_modified),
        "once settled, each poll is one conditional GET answered 304"
    );
    assert!(
        not_modified + 1 >= polls.len(),
        "every poll after the first is a 304"
    );
}

/// A run's end sets the labels, then posts its comment; GitHub may show the label change
/// seconds after the comment (and a machine reads the list and the comments apart). Another
/// machine that reads in that gap sees the "Done" without `agent-done`: it leaves the issue
/// alone instead of working it a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_whose_label_shows_late_is_not_worked_again() {
    let site = Site::new().await;
    let n = site
        .server
        .add_issue(REPO, "Write a post about late labels", "", &["delegate"]);
    site.server
        .set_write_lag("\"agent-done\"", 1, Duration::from_secs(20));
    let laptop = site.home("laptop", "");
    let desk = site.home("desk", "");
    assert!(site.run(&laptop).status.success());
    let bodies = site.bodies(n);
    assert!(
        bodies.last().is_some_and(|b| b.starts_with("Done.")),
        "{bodies:#?}"
    );
    let shown = site.server.issue(REPO, n).visible_labels;
    assert!(
        !shown.iter().any(|l| l == "agent-done"),
        "the label is still lagging: {shown:?}"
    );
    let out = site.delegate(&desk, "desk").arg("run").output().unwrap();
    assert!(out.status.success());
    assert_eq!(site.prompts().len(), 1, "the agent ran once");
    assert_eq!(
        site.bodies(n),
        bodies,
        "the other machine wrote nothing on the issue"
    );
    assert_eq!(
        site.server.counters().lagged_writes,
        1,
        "the lag was exercised"
    );
}

/// Two machines (`delegate run --watch`, each its own home) on one repository whose every
/// second claim comment shows 3 s after GitHub stamped it, with latency, and whose clock runs
/// 4 s behind the machines': each issue's agent starts exactly once, one claim and one "Done"
/// stay on each, and both machines take part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_machines_on_one_repository_start_each_agent_once_when_claims_show_late_and_clocks_differ()
 {
    let site = Site::new().await;
    let issues: Vec<u64> = (0..8)
        .map(|i| {
            site.server
                .add_issue(REPO, &format!("Shared task {i:02}"), "", &["delegate"])
        })
        .collect();
    site.server.set_latency(Duration::from_millis(60));
    site.server.set_clock_skew_ms(-4_000);
    site.server
        .set_write_lag("Working on it", 2, Duration::from_secs(3));
    // The default settle time (5 s), which covers the lag; quick polls.
    let setup = "poll_secs = 1\n";
    let homes: Vec<PathBuf> = ["machine-a", "machine-b"]
        .iter()
        .map(|m| {
            let h = site.home(m, setup);
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
    let ids = issues.clone();
    until(
        Duration::from_secs(180),
        "every issue to be done",
        move || {
            ids.iter().all(|n| {
                server
                    .issue(REPO, *n)
                    .labels
                    .contains(&"agent-done".to_string())
            })
        },
    )
    .await;
    // A machine whose view was still old may have claimed a finished issue; that claim is
    // settling (5 s) and then withdrawn. Stop once the issues' comments have not changed for
    // longer than a settle, so no machine is stopped in the middle of one.
    let mut quiet_since = std::time::Instant::now();
    let mut last = 0usize;
    let started = std::time::Instant::now();
    loop {
        let now: usize = issues
            .iter()
            .map(|n| site.server.comments(REPO, *n).stored.len())
            .sum();
        if now != last {
            last = now;
            quiet_since = std::time::Instant::now();
        } else if quiet_since.elapsed() > Duration::from_secs(7) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the machines never settled"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for c in children {
        stop(c);
    }
    // Each agent started once.
    let prompts = site.prompts();
    let mut starts: HashMap<String, usize> = HashMap::new();
    for p in &prompts {
        for i in 0..8 {
            if p.contains(&format!("Shared task {i:02}")) {
                *starts.entry(format!("{i:02}")).or_default() += 1;
            }
        }
    }
    assert_eq!(starts.len(), 8, "{starts:?}");
    if starts.values().any(|n| *n != 1) {
        // What the issues and the machines show, so a failure can be told apart.
        let mut seen = String::new();
        for (i, n) in issues.iter().enumerate() {
            if starts.get(&format!("{i:02}")).is_some_and(|k| *k != 1) {
                seen += &format!("issue #{n}: {:#?}\n", site.bodies(*n));
            }
        }
        for h in &homes {
            seen += &format!("{}:\n{}\n", h.display(), read(&h.join("stderr.txt")));
        }
        panic!("each agent started once: {starts:?}\n{seen}");
    }
    let mut winners: HashMap<String, usize> = HashMap::new();
    for n in &issues {
        let bodies = site.bodies(*n);
        let claims: Vec<&String> = bodies
            .iter()
            .filter(|b| b.starts_with("Working on it"))
            .collect();
        let done = bodies.iter().filter(|b| b.starts_with("Done.")).count();
        assert_eq!(
            (claims.len(), done),
            (1, 1),
            "one claim and one Done: {bodies:#?}"
        );
        let machine = claims[0]
            .lines()
            .next()
            .unwrap()
            .rsplit(" on ")
            .next()
            .unwrap()
            .to_string();
        *winners.entry(machine).or_default() += 1;
    }
    let lagged = site.server.counters().lagged_writes;
    eprintln!("two machines on GitHub: won {winners:?}; {lagged} claims shown late");
    assert!(lagged >= 2, "the lag was exercised");
    assert_eq!(winners.len(), 2, "both machines worked: {winners:?}");
}

/// The conversation on a GitHub issue: the agent asks (`agent-needs-input`, the questions in
/// a comment), the person answers in a comment, the same agent session goes on with the
/// answer, and the draft lands in the issue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_on_an_issue_is_answered_in_a_comment_and_the_session_goes_on() {
    let site = Site::new().await;
    let n = site
        .server
        .add_issue(REPO, "Post about our launch [ask]", "", &["delegate"]);
    let home = site.home("laptop", "");
    assert!(site.run(&home).status.success());
    assert_eq!(site.labels(n), ["agent-needs-input", "delegate"]);
    let bodies = site.bodies(n);
    let asked = bodies.last().unwrap();
    assert!(asked.starts_with("Needs your answer."), "{asked}");
    assert!(
        asked.contains("1. Which customer should the post quote"),
        "{asked}"
    );
    assert!(
        site.server
            .repo_labels(REPO)
            .iter()
            .any(|l| l == "agent-needs-input"),
        "the label was made in the repository"
    );
    assert!(site.run(&home).status.success());
    assert_eq!(site.prompts().len(), 1, "no answer yet: nothing runs");

    site.server
        .add_comment(REPO, n, "octocat", "Quote Ada from Acme. No price.");
    assert!(site.run(&home).status.success());
    assert_eq!(site.labels(n), ["agent-done", "delegate"]);
    let engine = engine_with_token(&home, SourceKind::GitHub, TOKEN);
    let runs = engine.history().list(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 2);
    let first = engine.history().get(runs[1].id).unwrap();
    let second = engine.history().get(runs[0].id).unwrap();
    assert_eq!(second.resumed_session, first.session_id, "the same session");
    assert_eq!(
        second.input.as_deref(),
        Some("Quote Ada from Acme. No price.")
    );
    let done = site.bodies(n).last().unwrap().clone();
    assert!(done.starts_with("Done. Ready for review."), "{done}");
    assert!(
        done.contains("Quote Ada from Acme. No price."),
        "the draft, in the issue: {done}"
    );
}
