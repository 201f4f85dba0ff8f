//! The fake GitHub REST server behaves like api.github.com, on good days and bad ones, and
//! everything it answers fits GitHub's published description.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use delegate_testkit::FakeGitHub;
use delegate_testkit::github::Description;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TOKEN: &str = "ghp_fake0123456789abcdefABCDEF01234567";
const REPO: &str = "acme/widgets";

/// A thin client: one token, absolute or relative URLs, JSON in and out.
struct Api {
    http: reqwest::Client,
    base: String,
    auth: Option<String>,
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Option<Value>,
}

impl Answer {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
    fn json(&self) -> &Value {
        self.body.as_ref().expect("a JSON body")
    }
    fn remaining(&self) -> u32 {
        self.header("x-ratelimit-remaining").parse().unwrap()
    }
    /// The URL of a `Link` relation.
    fn link(&self, rel: &str) -> Option<String> {
        let link = self.header("link");
        link.split(", ").find_map(|part| {
            let (url, r) = part.split_once("; ")?;
            (r == format!("rel=\"{rel}\""))
                .then(|| url.trim_matches(|c| c == '<' || c == '>').to_string())
        })
    }
}

impl Api {
    fn new(server: &FakeGitHub, token: &str) -> Self {
        Self::with_auth(server, Some(format!("Bearer {token}")))
    }

    fn with_auth(server: &FakeGitHub, auth: Option<String>) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            base: server.url.clone(),
            auth,
        }
    }

    fn request(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut r = self
            .http
            .request(method.parse().unwrap(), url)
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        if let Some(a) = &self.auth {
            r = r.header("authorization", a);
        }
        r
    }

    async fn send(&self, r: reqwest::RequestBuilder) -> Answer {
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let body = (!bytes.is_empty()).then(|| {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        });
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(self.request("GET", path)).await
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Answer {
        self.send(self.request(method, path).json(&body)).await
    }
}

async fn server_with_repo() -> (FakeGitHub, Api) {
    let server = FakeGitHub::start(TOKEN).await;
    server.add_repo(REPO);
    let api = Api::new(&server, TOKEN);
    (server, api)
}

fn numbers(page: &Answer) -> Vec<u64> {
    page.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_u64().unwrap())
        .collect()
}

/// Polls `f` until it holds (at most 10 s).
async fn eventually(mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f().await {
        assert!(Instant::now() < deadline, "did not happen within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_pagination_walks_250_issues() {
    let (server, api) = server_with_repo().await;
    let repo_id = server.add_repo(REPO);
    for i in 1..=250 {
        server.add_issue(REPO, &format!("issue {i}"), "", &[]);
    }
    let first = api
        .get(&format!("/repos/{REPO}/issues?per_page=100&state=open"))
        .await;
    assert_eq!(first.status, 200);
    // Newest first by default, as GitHub sorts.
    assert_eq!(numbers(&first)[0], 250);
    let last = first.link("last").unwrap();
    assert_eq!(
        last,
        format!(
            "{}/repositories/{repo_id}/issues?per_page=100&state=open&page=3",
            server.url
        )
    );
    assert!(first.link("prev").is_none() && first.link("first").is_none());
    let mut seen = numbers(&first);
    let mut next = first.link("next");
    let mut pages = 1;
    while let Some(url) = next {
        let page = api.get(&url).await;
        assert_eq!(page.status, 200, "{url}");
        assert!(page.link("first").is_some() && page.link("prev").is_some());
        seen.extend(numbers(&page));
        next = page.link("next");
        pages += 1;
        if next.is_none() {
            assert_eq!(numbers(&page).len(), 50);
            assert!(page.link("last").is_none());
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<u64> = (1..=250).rev().collect();
    assert_eq!(seen, expected);
    // per_page is capped at 100; the default is 30; past the end is an empty page.
    assert_eq!(
        numbers(&api.get(&format!("/repos/{REPO}/issues?per_page=500")).await).len(),
        100
    );
    assert_eq!(
        numbers(&api.get(&format!("/repos/{REPO}/issues")).await).len(),
        30
    );
    let beyond = api
        .get(&format!("/repos/{REPO}/issues?per_page=100&page=9"))
        .await;
    assert_eq!(numbers(&beyond), Vec::<u64>::new());
    let asc = api
        .get(&format!("/repos/{REPO}/issues?direction=asc&per_page=2"))
        .await;
    assert_eq!(numbers(&asc), vec![1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_requests_come_with_the_issues() {
    let (server, api) = server_with_repo().await;
    let a = server.add_issue(REPO, "an issue", "body", &["agent-todo"]);
    let pr = server.add_pull_request(REPO, "a pull request");
    let b = server.add_issue(REPO, "another issue", "", &[]);
    assert_eq!(
        (a, pr, b),
        (1, 2, 3),
        "issues and pull requests share numbers"
    );
    let list = api.get(&format!("/repos/{REPO}/issues")).await;
    let items = list.json().as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    let prs: Vec<u64> = items
        .iter()
        .filter(|i| i.get("pull_request").is_some())
        .map(|i| i["number"].as_u64().unwrap())
        .collect();
    assert_eq!(prs, vec![2]);
    let one = api.get(&format!("/repos/{REPO}/issues/2")).await;
    assert!(
        one.json()["pull_request"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/pulls/2")
    );
    // A label filter needs every label listed (names without case).
    let labelled = api
        .get(&format!("/repos/{REPO}/issues?labels=Agent-Todo"))
        .await;
    assert_eq!(numbers(&labelled), vec![1]);
    let both = api
        .get(&format!("/repos/{REPO}/issues?labels=agent-todo,bug"))
        .await;
    assert_eq!(numbers(&both), Vec::<u64>::new());
    server.set_issue_state(REPO, 3, "closed");
    assert_eq!(
        numbers(&api.get(&format!("/repos/{REPO}/issues")).await),
        vec![2, 1]
    );
    let closed = api.get(&format!("/repos/{REPO}/issues?state=closed")).await;
    assert_eq!(numbers(&closed), vec![3]);
    assert_eq!(closed.json()[0]["state_reason"], "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matching_etag_answers_304_without_spending_the_rate_limit() {
    let (server, api) = server_with_repo().await;
    server.add_issue(REPO, "one", "", &[]);
    let path = format!("/repos/{REPO}/issues");
    let first = api.get(&path).await;
    let etag = first.header("etag");
    assert!(etag.starts_with("W/\""), "{etag}");
    let remaining = first.remaining();
    let again = api
        .send(api.request("GET", &path).header("if-none-match", &etag))
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_none());
    assert_eq!(again.remaining(), remaining, "a 304 is free");
    assert_eq!(again.header("etag"), etag);
    let log = server.requests();
    assert_eq!(
        log.iter()
            .map(|r| (r.status, r.not_modified))
            .collect::<Vec<_>>(),
        vec![(200, false), (304, true)]
    );
    let c = server.counters();
    assert_eq!((c.requests, c.counted, c.not_modified), (2, 1, 1));
    // A change anywhere in the answer (a new comment counts) makes a new ETag.
    server.add_comment(REPO, 1, "octocat", "hello");
    let changed = api
        .send(api.request("GET", &path).header("if-none-match", &etag))
        .await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), etag);
    assert_eq!(changed.remaining(), remaining - 1);
    // Another token gets another ETag for the same body (as on GitHub).
    server.add_token("other-token", "someone-else");
    let other = Api::new(&server, "other-token");
    let theirs = other
        .send(
            other
                .request("GET", &path)
                .header("if-none-match", changed.header("etag")),
        )
        .await;
    assert_eq!(theirs.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_primary_rate_limit_counts_down_refuses_and_resets() {
    let (server, api) = server_with_repo().await;
    server.set_rate_limit(3, Duration::from_secs(3));
    let path = format!("/repos/{REPO}");
    let mut left = Vec::new();
    for _ in 0..3 {
        let a = api.get(&path).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.header("x-ratelimit-limit"), "3");
        assert_eq!(a.header("x-ratelimit-resource"), "core");
        left.push((a.remaining(), a.header("x-ratelimit-used")));
    }
    assert_eq!(
        left,
        vec![
            (2, "1".to_string()),
            (1, "2".to_string()),
            (0, "3".to_string())
        ]
    );
    let refused = api.get(&path).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.remaining(), 0);
    let message = refused.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("API rate limit exceeded for user ID"),
        "{message}"
    );
    assert_eq!(refused.json()["status"], "403");
    // Another user's tokens have their own count; this user's other tokens share it.
    server.add_token("second-token-same-user", "delegate-bot");
    server.add_token("token-of-another-user", "someone-else");
    assert_eq!(
        Api::new(&server, "second-token-same-user")
            .get(&path)
            .await
            .status,
        403
    );
    assert_eq!(
        Api::new(&server, "token-of-another-user")
            .get(&path)
            .await
            .remaining(),
        2
    );
    // At the reset time (epoch seconds on the server's clock) the count starts again.
    let reset: i64 = refused.header("x-ratelimit-reset").parse().unwrap();
    let (_, _, reported) = server.rate_limit(TOKEN);
    assert!((reset - reported).abs() <= 1, "{reset} vs {reported}");
    let wait_ms = reset * 1000 - chrono::Utc::now().timestamp_millis();
    assert!(
        wait_ms <= 4000,
        "the reset is within the window: {wait_ms} ms"
    );
    tokio::time::sleep(Duration::from_millis(wait_ms.max(0) as u64 + 100)).await;
    let after = api.get(&path).await;
    assert_eq!(after.status, 200);
    assert_eq!(after.remaining(), 2);
    assert_eq!(server.counters().rate_limited, 2);
    // GitHub may answer 429 instead.
    server.set_rate_limit(1, Duration::from_secs(60));
    server.set_rate_limit_status(429);
    assert_eq!(api.get(&path).await.status, 200);
    let limited = api.get(&path).await;
    assert_eq!((limited.status, limited.remaining()), (429, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secondary_limits_refuse_writes_with_retry_after() {
    let (server, api) = server_with_repo().await;
    server.add_issue(REPO, "one", "", &[]);
    let comments = format!("/repos/{REPO}/issues/1/comments");
    server.secondary_limit_next_writes(2, 403, Some(7));
    let refused = api.call("POST", &comments, json!({"body": "first"})).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.header("retry-after"), "7");
    assert!(refused.remaining() > 0, "not the primary limit");
    let message = refused.json()["message"].as_str().unwrap();
    assert!(message.contains("secondary rate limit"), "{message}");
    assert!(message.contains("content creation"), "{message}");
    // Reads go on; the next write is refused too, then writes go through.
    assert_eq!(api.get(&comments).await.status, 200);
    let labels = format!("/repos/{REPO}/issues/1/labels");
    let second = api.call("POST", &labels, json!({"labels": ["x"]})).await;
    assert_eq!(second.status, 403);
    assert!(
        second.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("You have exceeded a secondary rate limit. Please wait")
    );
    assert_eq!(
        api.call("POST", &comments, json!({"body": "third"}))
            .await
            .status,
        201
    );
    assert_eq!(server.comments(REPO, 1).stored_bodies(), vec!["third"]);
    assert!(
        server.issue(REPO, 1).labels.is_empty(),
        "a refused write changes nothing"
    );

    // A burst: the write over the limit and all writes for retry-after are refused.
    server.secondary_limit_on_burst(2, Duration::from_secs(30), 429, Duration::from_secs(1));
    for n in 0..2 {
        let a = api
            .call("POST", &comments, json!({"body": format!("burst {n}")}))
            .await;
        assert_eq!(a.status, 201);
    }
    let over = api
        .call("POST", &comments, json!({"body": "burst 2"}))
        .await;
    assert_eq!(
        (over.status, over.header("retry-after").as_str()),
        (429, "1")
    );
    let still = api
        .call("POST", &comments, json!({"body": "burst 3"}))
        .await;
    assert_eq!(still.status, 429);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        api.call("POST", &comments, json!({"body": "burst 4"}))
            .await
            .status,
        201
    );
    assert_eq!(server.counters().secondary_limited, 4);
    // Without retry-after, as GitHub sometimes answers.
    server.secondary_limit_next_writes(1, 403, None);
    let bare = api
        .call("POST", &comments, json!({"body": "no header"}))
        .await;
    assert_eq!(bare.status, 403);
    assert!(bare.headers.get("retry-after").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagged_write_is_stored_at_once_and_shown_later() {
    let (server, api) = server_with_repo().await;
    server.add_issue(REPO, "one", "", &[]);
    server.set_write_lag("claim", 1, Duration::from_secs(2));
    server.set_write_lag("agent-working", 1, Duration::from_secs(2));
    let comments = format!("/repos/{REPO}/issues/1/comments");
    let etag = api.get(&comments).await.header("etag");
    let posted = api
        .call(
            "POST",
            &comments,
            json!({"body": "Working on it…\nclaim c-1"}),
        )
        .await;
    assert_eq!(posted.status, 201);
    let id = posted.json()["id"].as_u64().unwrap();
    assert!(id > u64::from(u32::MAX), "comment ids do not fit 32 bits");
    let added = api
        .call(
            "POST",
            &format!("/repos/{REPO}/issues/1/labels"),
            json!({"labels": ["agent-working"]}),
        )
        .await;
    assert_eq!(
        added.json()[0]["name"],
        "agent-working",
        "the write's answer shows it"
    );
    // Readers do not see either yet, and their ETags are unchanged.
    let read = api
        .send(api.request("GET", &comments).header("if-none-match", &etag))
        .await;
    assert_eq!(read.status, 304);
    let issue = api.get(&format!("/repos/{REPO}/issues/1")).await;
    assert_eq!(issue.json()["comments"], 0);
    assert_eq!(issue.json()["labels"], json!([]));
    let view = server.comments(REPO, 1);
    assert_eq!((view.visible.len(), view.stored.len()), (0, 1));
    assert_eq!(server.issue(REPO, 1).labels, vec!["agent-working"]);
    assert!(server.issue(REPO, 1).visible_labels.is_empty());
    // Later they show, the comment with the time it arrived.
    eventually(async || api.get(&comments).await.json().as_array().unwrap().len() == 1).await;
    let shown = api.get(&comments).await;
    assert_eq!(shown.json()[0]["id"], id);
    assert_eq!(shown.json()[0]["created_at"], posted.json()["created_at"]);
    eventually(async || {
        api.get(&format!("/repos/{REPO}/issues/1/labels"))
            .await
            .json()[0]["name"]
            == "agent-working"
    })
    .await;
    assert_eq!(server.counters().lagged_writes, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagged_comments_can_appear_in_another_order_than_made() {
    let (server, api) = server_with_repo().await;
    server.add_issue(REPO, "one", "", &[]);
    server.set_write_lag("claim A", 1, Duration::from_millis(2500));
    server.set_write_lag("claim B", 1, Duration::from_millis(300));
    let comments = format!("/repos/{REPO}/issues/1/comments");
    let a = api
        .call("POST", &comments, json!({"body": "claim A"}))
        .await;
    let b = api
        .call("POST", &comments, json!({"body": "claim B"}))
        .await;
    assert!(a.json()["id"].as_u64() < b.json()["id"].as_u64());
    let mut appeared: Vec<String> = Vec::new();
    eventually(async || {
        for c in api.get(&comments).await.json().as_array().unwrap() {
            let body = c["body"].as_str().unwrap().to_string();
            if !appeared.contains(&body) {
                appeared.push(body);
            }
        }
        appeared.len() == 2
    })
    .await;
    assert_eq!(appeared, vec!["claim B", "claim A"], "B was seen before A");
    // Once both show, the list is in creation order again.
    let list = api.get(&comments).await;
    let bodies: Vec<&str> = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, vec!["claim A", "claim B"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_after_the_client_gave_up_still_applied_the_write_once() {
    let (server, api) = server_with_repo().await;
    server.add_issue(REPO, "one", "", &[]);
    server.answer_late_matching("Done. Ready for review.", 1, Duration::from_millis(1500));
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = impatient
        .post(format!("{}/repos/{REPO}/issues/1/comments", server.url))
        .bearer_auth(TOKEN)
        .json(&json!({"body": "Done. Ready for review."}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // Applied exactly once, and the log says what the server answered.
    let view = server.comments(REPO, 1);
    assert_eq!(view.stored_bodies(), vec!["Done. Ready for review."]);
    let posts: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].status, 201);
    assert_eq!(posts[0].login.as_deref(), Some("delegate-bot"));
    assert!(!posts[0].body.contains(TOKEN) && posts[0].body.contains("Done."));
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(server.counters().late_answers, 1);
    let listed = api.get(&format!("/repos/{REPO}/issues/1/comments")).await;
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
    // The next request is answered at once.
    assert_eq!(api.get(&format!("/repos/{REPO}")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_duplicate_names_get_422_and_unknown_ones_are_created() {
    let (server, api) = server_with_repo().await;
    server.add_issue(REPO, "one", "", &[]);
    let labels = format!("/repos/{REPO}/labels");
    let made = api
        .call(
            "POST",
            &labels,
            json!({"name": "agent-done", "color": "0e8a16"}),
        )
        .await;
    assert_eq!(made.status, 201);
    assert!(made.header("location").ends_with("/labels/agent-done"));
    for name in ["agent-done", "Agent-Done", "bug"] {
        let dup = api.call("POST", &labels, json!({"name": name})).await;
        assert_eq!(dup.status, 422, "{name}");
        assert_eq!(dup.json()["message"], "Validation Failed");
        assert_eq!(
            dup.json()["errors"],
            json!([{"resource": "Label", "field": "name", "code": "already_exists"}])
        );
    }
    // Adding a label the repository lacks creates it; POST adds, PUT replaces, DELETE one.
    let issue_labels = format!("/repos/{REPO}/issues/1/labels");
    let added = api
        .call(
            "POST",
            &issue_labels,
            json!({"labels": ["agent-working", "BUG"]}),
        )
        .await;
    let names = |a: &Answer| -> Vec<String> {
        a.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&added), vec!["agent-working", "bug"]);
    assert!(
        server
            .repo_labels(REPO)
            .contains(&"agent-working".to_string())
    );
    let bare = api
        .call("POST", &issue_labels, json!(["agent-retry-1"]))
        .await;
    assert_eq!(names(&bare), vec!["agent-working", "bug", "agent-retry-1"]);
    let put = api
        .call("PUT", &issue_labels, json!({"labels": ["agent-done"]}))
        .await;
    assert_eq!(names(&put), vec!["agent-done"]);
    let gone = api
        .send(api.request("DELETE", &format!("{issue_labels}/agent-done")))
        .await;
    assert_eq!((gone.status, gone.json().clone()), (200, json!([])));
    let again = api
        .send(api.request("DELETE", &format!("{issue_labels}/agent-done")))
        .await;
    assert_eq!(again.status, 404);
    assert_eq!(again.json()["message"], "Label does not exist");
    let spaced = api
        .call(
            "POST",
            &issue_labels,
            json!({"labels": ["good first issue"]}),
        )
        .await;
    assert_eq!(names(&spaced), vec!["good first issue"]);
    let removed = api
        .send(api.request("DELETE", &format!("{issue_labels}/good%20first%20issue")))
        .await;
    assert_eq!(removed.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_checked_as_github_checks_them() {
    let (server, api) = server_with_repo().await;
    server.add_issue(REPO, "one", "", &[]);
    let wrong = Api::new(&server, "ghp_wrong").get("/user").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.json(),
        &json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})
    );
    assert_eq!(wrong.header("x-ratelimit-limit"), "60");
    let none = Api::with_auth(&server, None).get("/user").await;
    assert_eq!(
        (none.status, none.json()["message"].as_str()),
        (401, Some("Requires authentication"))
    );
    let classic = Api::with_auth(&server, Some(format!("token {TOKEN}")))
        .get("/user")
        .await;
    assert_eq!(classic.json()["login"], "delegate-bot");
    assert_eq!(api.get("/user").await.json()["user_view_type"], "private");
    // A repository the token cannot see does not exist for it.
    server.add_repo("acme/secret");
    server.hide_repo(TOKEN, "acme/secret");
    let hidden = api.get("/repos/acme/secret").await;
    assert_eq!(
        (hidden.status, hidden.json()["message"].as_str()),
        (404, Some("Not Found"))
    );
    assert_eq!(api.get("/repos/acme/secret/issues").await.status, 404);
    assert_eq!(api.get("/repos/acme/nothing").await.status, 404);
    let mine = api.get("/user/repos").await;
    let names: Vec<&str> = mine
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![REPO]);
    // Owner and name are not case sensitive.
    assert_eq!(
        api.get("/repos/ACME/Widgets").await.json()["full_name"],
        REPO
    );
    // A token that may read but not write issues.
    server.set_read_only(TOKEN, true);
    assert_eq!(
        api.get(&format!("/repos/{REPO}/issues/1")).await.status,
        200
    );
    let denied = api
        .call(
            "POST",
            &format!("/repos/{REPO}/issues/1/comments"),
            json!({"body": "hi"}),
        )
        .await;
    assert_eq!(denied.status, 403);
    assert_eq!(
        denied.json()["message"],
        "Resource not accessible by personal access token"
    );
    assert_eq!(
        denied.header("x-accepted-github-permissions"),
        "issues=write; pull_requests=write"
    );
    assert!(server.comments(REPO, 1).stored.is_empty());
    assert!(server.requests().iter().all(|r| !r.query.contains(TOKEN)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_github_headers_on_the_servers_clock() {
    let (server, api) = server_with_repo().await;
    server.add_issue(REPO, "one", "", &[]);
    server.set_clock_skew_ms(-3_600_000);
    let a = api.get(&format!("/repos/{REPO}/issues/1")).await;
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-used",
        "x-ratelimit-reset",
        "x-ratelimit-resource",
        "date",
        "x-github-request-id",
        "etag",
    ] {
        assert!(!a.header(h).is_empty(), "{h} missing");
    }
    assert_eq!(a.header("content-type"), "application/json; charset=utf-8");
    let date = chrono::DateTime::parse_from_rfc2822(&a.header("date")).unwrap();
    let behind = chrono::Utc::now().signed_duration_since(date);
    assert!((3595..=3605).contains(&behind.num_seconds()), "{behind}");
    let posted = api
        .call(
            "POST",
            &format!("/repos/{REPO}/issues/1/comments"),
            json!({"body": "hi"}),
        )
        .await;
    let stamped =
        chrono::DateTime::parse_from_rfc3339(posted.json()["created_at"].as_str().unwrap())
            .unwrap();
    let behind = chrono::Utc::now().signed_duration_since(stamped);
    assert!((3595..=3605).contains(&behind.num_seconds()), "{behind}");
    assert!(posted.headers.get("etag").is_none(), "ETags are for reads");
    let ids: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.request_id.clone())
        .collect();
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_and_latency_happen_when_asked() {
    let (server, api) = server_with_repo().await;
    let path = format!("/repos/{REPO}");
    server.fail_next(502, 1);
    server.fail_next(503, 1);
    server.fail_next(500, 1);
    let bad_gateway = api.get(&path).await;
    assert_eq!(bad_gateway.status, 502);
    assert!(bad_gateway.header("content-type").starts_with("text/html"));
    let unavailable = api.get(&path).await;
    assert_eq!(unavailable.status, 503);
    assert_eq!(unavailable.json()["code"], "unavailable");
    assert_eq!(api.get(&path).await.status, 500);
    assert_eq!(api.get(&path).await.status, 200);
    assert_eq!(server.counters().injected_failures, 3);
    assert_eq!(
        server.counters().counted,
        1,
        "the front end's failures are not counted"
    );
    server.set_latency(Duration::from_millis(1200));
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = impatient
        .get(format!("{}{path}", server.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    server.set_latency(Duration::ZERO);
    assert_eq!(api.get(&path).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issues_are_updated_closed_and_commented_like_on_github() {
    let (server, api) = server_with_repo().await;
    server.add_issue(REPO, "one", "body", &["agent-todo"]);
    let issue = format!("/repos/{REPO}/issues/1");
    let closed = api
        .call("PATCH", &issue, json!({"state": "closed", "state_reason": "not_planned", "labels": ["agent-done"], "title": "One"}))
        .await;
    assert_eq!(closed.status, 200);
    assert_eq!(closed.json()["state"], "closed");
    assert_eq!(closed.json()["state_reason"], "not_planned");
    assert_eq!(closed.json()["closed_by"]["login"], "delegate-bot");
    assert_eq!(closed.json()["labels"][0]["name"], "agent-done");
    assert_eq!(server.issue(REPO, 1).title, "One");
    let reopened = api.call("PATCH", &issue, json!({"state": "open"})).await;
    assert_eq!(reopened.json()["state_reason"], "reopened");
    assert_eq!(reopened.json()["closed_at"], Value::Null);
    let bad = api.call("PATCH", &issue, json!({"state": "done"})).await;
    assert_eq!(bad.status, 422);
    let broken = api
        .send(api.request("PATCH", &issue).body("{not json"))
        .await;
    assert_eq!(
        (broken.status, broken.json()["message"].as_str()),
        (400, Some("Problems parsing JSON"))
    );
    // Comments: create, edit, delete, the 64 KiB cap, `since`.
    let comments = format!("{issue}/comments");
    let made = api
        .call("POST", &comments, json!({"body": "claim 1"}))
        .await;
    let id = made.json()["id"].as_u64().unwrap();
    let edited = api
        .call(
            "PATCH",
            &format!("/repos/{REPO}/issues/comments/{id}"),
            json!({"body": "claim 1 · lease 900 s"}),
        )
        .await;
    assert_eq!(edited.json()["body"], "claim 1 · lease 900 s");
    assert_eq!(edited.json()["created_at"], made.json()["created_at"]);
    let long = api
        .call("POST", &comments, json!({"body": "x".repeat(65537)}))
        .await;
    assert_eq!(long.status, 422);
    assert_eq!(api.call("POST", &comments, json!({})).await.status, 422);
    let future = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let none = api.get(&format!("{comments}?since={future}")).await;
    assert_eq!(none.json(), &json!([]));
    let deleted = api
        .send(api.request("DELETE", &format!("/repos/{REPO}/issues/comments/{id}")))
        .await;
    assert_eq!((deleted.status, deleted.body.is_none()), (204, true));
    assert!(server.comments(REPO, 1).stored.is_empty());
    let twice = api
        .send(api.request("DELETE", &format!("/repos/{REPO}/issues/comments/{id}")))
        .await;
    assert_eq!(twice.status, 404);
    server.delete_issue(REPO, 1);
    assert_eq!(api.get(&issue).await.status, 410);
    assert_eq!(api.get("/repos/acme/widgets/issues/99").await.status, 404);
}

/// Drives every operation (answers that succeed and the usual refusals) and checks each
/// answer against the description: a declared status, and every required field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_fits_githubs_description() {
    let (server, api) = server_with_repo().await;
    server.add_issue(REPO, "one", "body", &["agent-todo"]);
    server.add_pull_request(REPO, "a pull request");
    server.add_comment(REPO, 1, "octocat", "a comment by someone else");
    server.set_issue_state(REPO, 1, "closed");
    server.set_issue_state(REPO, 1, "open");
    let d = Description::vendored();
    let r = "/repos/{owner}/{repo}";
    let calls: Vec<(&str, String, String, Option<Value>, u16)> = vec![
        ("GET", "/user".into(), "/user".into(), None, 200),
        (
            "GET",
            "/user/repos".into(),
            "/user/repos?per_page=1".into(),
            None,
            200,
        ),
        ("GET", r.into(), format!("/repos/{REPO}"), None, 200),
        ("GET", r.into(), "/repos/acme/none".into(), None, 404),
        (
            "GET",
            format!("{r}/issues"),
            format!("/repos/{REPO}/issues?state=all"),
            None,
            200,
        ),
        (
            "GET",
            format!("{r}/issues"),
            format!("/repos/{REPO}/issues?state=nope"),
            None,
            422,
        ),
        (
            "GET",
            format!("{r}/issues"),
            "/repos/acme/none/issues".into(),
            None,
            404,
        ),
        (
            "GET",
            format!("{r}/issues/{{issue_number}}"),
            format!("/repos/{REPO}/issues/1"),
            None,
            200,
        ),
        (
            "GET",
            format!("{r}/issues/{{issue_number}}"),
            format!("/repos/{REPO}/issues/2"),
            None,
            200,
        ),
        (
            "GET",
            format!("{r}/issues/{{issue_number}}"),
            format!("/repos/{REPO}/issues/9"),
            None,
            404,
        ),
        (
            "PATCH",
            format!("{r}/issues/{{issue_number}}"),
            format!("/repos/{REPO}/issues/1"),
            Some(json!({"state": "closed", "labels": ["agent-done"]})),
            200,
        ),
        (
            "PATCH",
            format!("{r}/issues/{{issue_number}}"),
            format!("/repos/{REPO}/issues/1"),
            Some(json!({"state": "gone"})),
            422,
        ),
        (
            "GET",
            format!("{r}/issues/{{issue_number}}/comments"),
            format!("/repos/{REPO}/issues/1/comments"),
            None,
            200,
        ),
        (
            "GET",
            format!("{r}/issues/{{issue_number}}/comments"),
            format!("/repos/{REPO}/issues/9/comments"),
            None,
            404,
        ),
        (
            "POST",
            format!("{r}/issues/{{issue_number}}/comments"),
            format!("/repos/{REPO}/issues/1/comments"),
            Some(json!({"body": "Done."})),
            201,
        ),
        (
            "POST",
            format!("{r}/issues/{{issue_number}}/comments"),
            format!("/repos/{REPO}/issues/1/comments"),
            Some(json!({"body": ""})),
            422,
        ),
        (
            "POST",
            format!("{r}/issues/{{issue_number}}/comments"),
            format!("/repos/{REPO}/issues/9/comments"),
            Some(json!({"body": "x"})),
            404,
        ),
        (
            "GET",
            format!("{r}/issues/{{issue_number}}/labels"),
            format!("/repos/{REPO}/issues/1/labels"),
            None,
            200,
        ),
        (
            "POST",
            format!("{r}/issues/{{issue_number}}/labels"),
            format!("/repos/{REPO}/issues/1/labels"),
            Some(json!({"labels": ["agent-working"]})),
            200,
        ),
        (
            "POST",
            format!("{r}/issues/{{issue_number}}/labels"),
            format!("/repos/{REPO}/issues/1/labels"),
            Some(json!({"labels": [3]})),
            422,
        ),
        (
            "PUT",
            format!("{r}/issues/{{issue_number}}/labels"),
            format!("/repos/{REPO}/issues/1/labels"),
            Some(json!({"labels": ["agent-retry-1"]})),
            200,
        ),
        (
            "DELETE",
            format!("{r}/issues/{{issue_number}}/labels/{{name}}"),
            format!("/repos/{REPO}/issues/1/labels/agent-retry-1"),
            None,
            200,
        ),
        (
            "DELETE",
            format!("{r}/issues/{{issue_number}}/labels/{{name}}"),
            format!("/repos/{REPO}/issues/1/labels/agent-retry-1"),
            None,
            404,
        ),
        (
            "GET",
            format!("{r}/labels"),
            format!("/repos/{REPO}/labels"),
            None,
            200,
        ),
        (
            "POST",
            format!("{r}/labels"),
            format!("/repos/{REPO}/labels"),
            Some(
                json!({"name": "agent-failed", "color": "b60205", "description": "Delegate gave up"}),
            ),
            201,
        ),
        (
            "POST",
            format!("{r}/labels"),
            format!("/repos/{REPO}/labels"),
            Some(json!({"name": "agent-failed"})),
            422,
        ),
    ];
    let mut problems = Vec::new();
    let mut covered = std::collections::BTreeSet::new();
    for (method, template, url, body, expected) in &calls {
        let req = api.request(method, url);
        let a = api
            .send(match body {
                Some(b) => req.json(b),
                None => req,
            })
            .await;
        assert_eq!(a.status, *expected, "{method} {url}: {:?}", a.body);
        covered.insert((method.to_string(), template.clone()));
        for p in d.check(method, template, a.status, a.body.as_ref()) {
            problems.push(format!("{method} {url} ({}): {p}", a.status));
        }
    }
    // The comment just made can be edited and deleted.
    let made = server.comments(REPO, 1).stored.last().unwrap().id;
    let comment = format!("{r}/issues/comments/{{comment_id}}");
    let edit = api
        .call(
            "PATCH",
            &format!("/repos/{REPO}/issues/comments/{made}"),
            json!({"body": "Done!"}),
        )
        .await;
    problems.extend(d.check("PATCH", &comment, edit.status, edit.body.as_ref()));
    let bad_edit = api
        .call(
            "PATCH",
            &format!("/repos/{REPO}/issues/comments/{made}"),
            json!({"body": 5}),
        )
        .await;
    problems.extend(d.check("PATCH", &comment, bad_edit.status, bad_edit.body.as_ref()));
    let del = api
        .send(api.request("DELETE", &format!("/repos/{REPO}/issues/comments/{made}")))
        .await;
    problems.extend(d.check("DELETE", &comment, del.status, del.body.as_ref()));
    covered.insert(("PATCH".into(), comment.clone()));
    covered.insert(("DELETE".into(), comment));
    assert!(problems.is_empty(), "{problems:#?}");
    let described: std::collections::BTreeSet<_> = d.operations().into_iter().collect();
    assert_eq!(covered, described, "every described operation was driven");
    // What GitHub answers on any operation though many descriptions leave it out: the
    // error bodies still fit the shared error schema.
    server.fail_next(500, 1);
    let e = api.get(&format!("/repos/{REPO}/issues")).await;
    assert_eq!(e.status, 500);
    assert!(
        d.check("GET", "/user", 403, e.body.as_ref()).is_empty(),
        "basic-error shape"
    );
}
