//! The fake Linear GraphQL API itself, over HTTP as a client sees it: schema validation,
//! selection, pagination, filters, the writes and their idempotency, and each bad day.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use delegate_testkit::FakeLinear;
use delegate_testkit::linear::{DuplicateId, RateLimits};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const KEY: &str = "lin_api_9f3c1a7e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a";

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
    text: String,
}

impl Answer {
    fn error(&self) -> &Value {
        &self.body["errors"][0]
    }
    fn code(&self) -> &str {
        self.error()["extensions"]["code"].as_str().unwrap_or("")
    }
    fn header(&self, name: &str) -> i64 {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    }
}

async fn post(url: &str, auth: &str, query: &str, variables: Value) -> Answer {
    let r = reqwest::Client::new()
        .post(url)
        .header("authorization", auth)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
    Answer {
        status,
        headers,
        body,
        text,
    }
}

async fn gql(server: &FakeLinear, query: &str, variables: Value) -> Answer {
    post(&server.url, KEY, query, variables).await
}

/// A server with team ENG (Linear's default workflow) and `n` issues in Todo.
async fn with_issues(n: usize) -> (FakeLinear, Vec<String>) {
    let server = FakeLinear::start(KEY).await;
    server.add_team("ENG", "Engineering");
    let ids = (0..n)
        .map(|i| server.add_issue("ENG", &format!("issue {i}"), "", &[], "Todo"))
        .collect();
    (server, ids)
}

/// Waits (up to 10 s) until `done` holds; whether it ever did.
async fn eventually(mut done: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

const CREATE: &str = "mutation Claim($input: CommentCreateInput!) {
    commentCreate(input: $input) { success lastSyncId comment { id body createdAt } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_are_validated_against_the_schema() {
    let (server, ids) = with_issues(1).await;
    let misspelled = gql(&server, "query Me { viewer { id nmae } }", json!({})).await;
    assert_eq!(misspelled.status, 400);
    assert_eq!(
        misspelled.error()["message"],
        r#"Cannot query field "nmae" on type "User"."#
    );
    assert_eq!(misspelled.error()["extensions"]["type"], "graphql error");
    assert_eq!(misspelled.code(), "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(
        misspelled.error()["locations"],
        json!([{"line": 1, "column": 24}])
    );
    assert!(misspelled.body.get("data").is_none(), "{}", misspelled.body);

    let missing = gql(&server, "{ issue { id } }", json!({})).await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.error()["message"],
        r#"Field "issue" argument "id" of type "String!" is required, but it was not provided."#
    );
    assert_eq!(missing.code(), "GRAPHQL_VALIDATION_FAILED");

    let wrong_type = gql(
        &server,
        r#"{ issues(first: "ten") { nodes { id } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(wrong_type.status, 400);
    assert_eq!(wrong_type.code(), "GRAPHQL_VALIDATION_FAILED");

    let wrong_variable = gql(
        &server,
        "query($n: Int) { issues(first: $n) { nodes { id } } }",
        json!({"n": "ten"}),
    )
    .await;
    assert_eq!(wrong_variable.status, 400);
    assert_eq!(wrong_variable.code(), "GRAPHQL_VALIDATION_FAILED");

    let syntax = gql(&server, "{ viewer { id }", json!({})).await;
    assert_eq!(syntax.status, 400);
    assert!(
        syntax.error()["message"]
            .as_str()
            .unwrap()
            .starts_with("Syntax Error"),
        "{}",
        syntax.body
    );

    // An input field the schema does not know: refused before anything is written.
    let unknown_input = gql(
        &server,
        CREATE,
        json!({"input": {"issueId": ids[0], "body": "hi", "bodyText": "hi"}}),
    )
    .await;
    assert_eq!(unknown_input.status, 400, "{}", unknown_input.body);
    assert_eq!(unknown_input.code(), "GRAPHQL_VALIDATION_FAILED");
    assert!(server.comments(&ids[0]).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_selected_fields_come_back_with_aliases_fragments_and_typename() {
    let (server, ids) = with_issues(1).await;
    server.set_labels(&ids[0], &["bug"]);
    let a = gql(
        &server,
        "query One($id: String!) {
            me: viewer { __typename name }
            issue(id: $id) { ...Bits state { kind: type } labels { nodes { name } } team { key } }
        }
        fragment Bits on Issue { identifier title priority }",
        json!({"id": "ENG-1"}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.body,
        json!({"data": {
            "me": {"__typename": "User", "name": "Delegate Bot"},
            "issue": {"identifier": "ENG-1", "title": "issue 0", "priority": 0,
                      "state": {"kind": "unstarted"}, "labels": {"nodes": [{"name": "bug"}]},
                      "team": {"key": "ENG"}}
        }})
    );
    // Fields come in the order they were selected, as GraphQL asks.
    let order: Vec<usize> = [
        "\"me\"",
        "\"issue\"",
        "\"identifier\"",
        "\"title\"",
        "\"priority\"",
        "\"state\"",
    ]
    .iter()
    .map(|k| a.text.find(k).unwrap())
    .collect();
    assert!(order.is_sorted(), "{}", a.text);

    // A team by key or id; Linear's default workflow.
    let t = gql(
        &server,
        r#"{ team(id: "ENG") { id name states { nodes { name type position } } } }"#,
        json!({}),
    )
    .await;
    let mut states = t.body["data"]["team"]["states"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    states.sort_by(|x, y| {
        x["position"]
            .as_f64()
            .partial_cmp(&y["position"].as_f64())
            .unwrap()
    });
    let names: Vec<(&str, &str)> = states
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("Backlog", "backlog"),
            ("Todo", "unstarted"),
            ("In Progress", "started"),
            ("In Review", "started"),
            ("Done", "completed"),
            ("Canceled", "canceled")
        ]
    );
    let id = t.body["data"]["team"]["id"].as_str().unwrap();
    let by_id = gql(
        &server,
        "query($id: String!) { team(id: $id) { key } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(by_id.body["data"]["team"]["key"], "ENG");

    // A field the schema has and the fake does not serve is an error, never a made-up value.
    let unserved = gql(
        &server,
        r#"{ issue(id: "ENG-1") { id estimate } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        unserved.code(),
        "FAKE_LINEAR_UNSUPPORTED",
        "{}",
        unserved.body
    );
    let unknown = gql(&server, r#"{ issue(id: "ENG-404") { id } }"#, json!({})).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.code(), "INPUT_ERROR");
    assert_eq!(unknown.error()["message"], "Entity not found: Issue");
    assert_eq!(unknown.body["data"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_walks_120_issues_in_pages() {
    let (server, ids) = with_issues(120).await;
    let query = "query Page($after: String) {
        issues(first: 50, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut after = Value::Null;
    loop {
        let a = gql(&server, query, json!({"after": after})).await;
        let page = &a.body["data"]["issues"];
        let nodes = page["nodes"].as_array().unwrap();
        sizes.push(nodes.len());
        seen.extend(nodes.iter().map(|n| n["id"].as_str().unwrap().to_string()));
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            assert_eq!(page["pageInfo"]["endCursor"], json!(seen.last().unwrap()));
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(sizes, [50, 50, 20]);
    let mut expected = ids.clone();
    expected.reverse(); // newest first
    assert_eq!(seen, expected);

    let default = gql(&server, "{ issues { nodes { id } } }", json!({})).await;
    assert_eq!(
        default.body["data"]["issues"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        50
    );
    let most = gql(
        &server,
        "{ issues(first: 250) { nodes { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        most.body["data"]["issues"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        120
    );
    let too_many = gql(
        &server,
        "{ issues(first: 251) { nodes { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(too_many.code(), "INPUT_ERROR", "{}", too_many.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_pick_issues_by_team_state_labels_and_project() {
    let server = FakeLinear::start(KEY).await;
    server.add_team("ENG", "Engineering");
    server.add_team("OPS", "Operations");
    let site = server.add_project("Site", &["ENG"]);
    let a = server.add_issue("ENG", "a", "", &["agent-working"], "Todo");
    let b = server.add_issue("ENG", "b", "", &["agent-done", "bug"], "In Progress");
    let c = server.add_issue("ENG", "c", "", &[], "Done");
    let d = server.add_issue("OPS", "d", "", &["bug"], "Backlog");
    server.add_state("OPS", "Triage", "triage");
    let e = server.add_issue("OPS", "e", "", &[], "Triage");
    server.set_issue_details(&b, 2, Some("2030-01-31"), Some(&site));
    let ids = |filter: Value| {
        let server = server.clone();
        async move {
            let a = gql(
                &server,
                "query($f: IssueFilter) { issues(filter: $f) { nodes { id } } }",
                json!({"f": filter}),
            )
            .await;
            assert_eq!(a.status, 200, "{}", a.body);
            let mut ids: Vec<String> = a.body["data"]["issues"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        }
    };
    let sorted = |mut v: Vec<&String>| {
        v.sort();
        v.into_iter().cloned().collect::<Vec<_>>()
    };
    assert_eq!(
        ids(json!({"team": {"key": {"eq": "ENG"}}})).await,
        sorted(vec![&a, &b, &c])
    );
    assert_eq!(
        ids(json!({"team": {"key": {"eq": "ENG"}}, "state": {"type": {"in": ["unstarted", "started"]}}})).await,
        sorted(vec![&a, &b])
    );
    assert_eq!(
        ids(json!({"state": {"type": {"eq": "completed"}}})).await,
        sorted(vec![&c])
    );
    assert_eq!(
        ids(json!({"state": {"type": {"eq": "triage"}}})).await,
        sorted(vec![&e])
    );
    assert_eq!(
        ids(json!({"labels": {"name": {"eq": "bug"}}})).await,
        sorted(vec![&b, &d])
    );
    assert_eq!(
        ids(json!({"labels": {"some": {"name": {"in": ["agent-working", "agent-done"]}}}})).await,
        sorted(vec![&a, &b])
    );
    assert_eq!(
        ids(json!({"project": {"id": {"eq": site}}})).await,
        sorted(vec![&b])
    );
    assert_eq!(
        ids(json!({"project": {"name": {"eq": "Site"}}})).await,
        sorted(vec![&b])
    );
    assert_eq!(
        ids(json!({"project": {"null": true}, "team": {"key": {"eq": "OPS"}}})).await,
        sorted(vec![&d, &e])
    );
    assert_eq!(ids(json!({"id": {"eq": c}})).await, sorted(vec![&c]));
    assert_eq!(
        ids(json!({"or": [{"priority": {"eq": 2}}, {"team": {"key": {"eq": "OPS"}}}]})).await,
        sorted(vec![&b, &d, &e])
    );
    // Comments by their issue and author.
    server.add_comment(&a, "from a person");
    let mine = gql(
        &server,
        CREATE,
        json!({"input": {"issueId": a, "body": "from the API"}}),
    )
    .await;
    assert_eq!(mine.status, 200);
    let by_me = gql(
        &server,
        "query($id: ID) { comments(filter: {issue: {id: {eq: $id}}, user: {isMe: {eq: true}}}) { nodes { body } } }",
        json!({"id": a}),
    )
    .await;
    assert_eq!(
        by_me.body["data"]["comments"]["nodes"],
        json!([{"body": "from the API"}]),
        "{}",
        by_me.body
    );
    // What the fake cannot evaluate is an error, not a filter quietly ignored.
    let unsupported = gql(
        &server,
        "{ issues(filter: {assignee: {null: true}}) { nodes { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        unsupported.code(),
        "FAKE_LINEAR_UNSUPPORTED",
        "{}",
        unsupported.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_created_twice_with_one_id_exists_once() {
    let (server, ids) = with_issues(1).await;
    let id = "3b241101-e2bb-4255-8caf-4136c566a962";
    let input = json!({"input": {"id": id, "issueId": ids[0], "body": "Working on it…"}});
    let first = gql(&server, CREATE, input.clone()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["data"]["commentCreate"]["success"], true);
    assert_eq!(first.body["data"]["commentCreate"]["comment"]["id"], id);
    // Linear documents the id but not a repeat: by default the repeat is refused.
    let again = gql(&server, CREATE, input.clone()).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(again.code(), "INPUT_ERROR");
    assert_eq!(again.error()["extensions"]["type"], "invalid input");
    // ... or answered with the comment that has it.
    server.set_duplicate_comment_id(DuplicateId::Existing);
    let third = gql(&server, CREATE, input).await;
    assert_eq!(third.body["data"]["commentCreate"]["comment"]["id"], id);
    let stored = server.comments(&ids[0]);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].author, "viewer");

    let not_uuid = gql(
        &server,
        CREATE,
        json!({"input": {"id": "claim-1", "issueId": ids[0], "body": "x"}}),
    )
    .await;
    assert_eq!(not_uuid.code(), "INPUT_ERROR");
    assert_eq!(server.comments(&ids[0]).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_change_comments_states_and_labels() {
    let (server, ids) = with_issues(1).await;
    let issue = &ids[0];
    let states = gql(
        &server,
        r#"{ team(id: "ENG") { states { nodes { id name } } } }"#,
        json!({}),
    )
    .await;
    let state = |name: &str| {
        states.body["data"]["team"]["states"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["id"]
            .clone()
    };
    let team = gql(&server, r#"{ team(id: "ENG") { id } }"#, json!({})).await;
    let team_id = team.body["data"]["team"]["id"].clone();
    let label = |name: &str| {
        let server = server.clone();
        let team_id = team_id.clone();
        let name = name.to_string();
        async move {
            gql(
                &server,
                "mutation($i: IssueLabelCreateInput!) { issueLabelCreate(input: $i) { success issueLabel { id name } } }",
                json!({"i": {"name": name, "teamId": team_id}}),
            )
            .await
        }
    };
    let working = label("agent-working").await;
    let working = working.body["data"]["issueLabelCreate"]["issueLabel"]["id"].clone();
    let done =
        label("agent-done").await.body["data"]["issueLabelCreate"]["issueLabel"]["id"].clone();
    let twice = label("agent-done").await;
    assert_eq!(twice.code(), "INPUT_ERROR", "{}", twice.body);

    let update = "mutation($id: String!, $input: IssueUpdateInput!) {
        issueUpdate(id: $id, input: $input) { success issue { state { name } labels { nodes { name } } } } }";
    let a = gql(
        &server,
        update,
        json!({"id": issue, "input": {"stateId": state("In Progress"), "addedLabelIds": [working]}}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.body["data"]["issueUpdate"]["issue"]["state"]["name"],
        "In Progress"
    );
    let a = gql(
        &server,
        update,
        json!({"id": issue, "input": {"addedLabelIds": [done], "removedLabelIds": [working]}}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let now = server.issue(issue);
    assert_eq!(
        (now.state.as_str(), now.labels.clone()),
        ("In Progress", vec!["agent-done".to_string()])
    );
    let replaced = gql(
        &server,
        update,
        json!({"id": "ENG-1", "input": {"labelIds": []}}),
    )
    .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert!(server.issue(issue).labels.is_empty());

    // Another team's label, an unknown state: refused, nothing changed.
    server.add_team("OPS", "Operations");
    let ops_label = server.add_label(Some("OPS"), "ops-only");
    let foreign = gql(
        &server,
        update,
        json!({"id": issue, "input": {"labelIds": [ops_label]}}),
    )
    .await;
    assert_eq!(foreign.code(), "INPUT_ERROR", "{}", foreign.body);
    let unknown = gql(
        &server,
        update,
        json!({"id": issue, "input": {"stateId": "nope"}}),
    )
    .await;
    assert_eq!(unknown.code(), "INPUT_ERROR");
    assert_eq!(server.issue(issue).state, "In Progress");

    // Comments: edit and delete one's own; another person's is not one's to change.
    let made = gql(
        &server,
        CREATE,
        json!({"input": {"issueId": issue, "body": "claim 1"}}),
    )
    .await;
    let cid = made.body["data"]["commentCreate"]["comment"]["id"].clone();
    let edit = gql(
        &server,
        "mutation($id: String!) { commentUpdate(id: $id, input: {body: \"claim 1 · lease 900 s\"}) { success comment { body } } }",
        json!({"id": cid}),
    )
    .await;
    assert_eq!(
        edit.body["data"]["commentUpdate"]["comment"]["body"],
        "claim 1 · lease 900 s"
    );
    let gone = gql(
        &server,
        "mutation($id: String!) { commentDelete(id: $id) { success entityId } }",
        json!({"id": cid}),
    )
    .await;
    assert_eq!(
        gone.body["data"]["commentDelete"],
        json!({"success": true, "entityId": cid})
    );
    assert!(server.visible_comments(issue).is_empty());
    let theirs = server.add_comment(issue, "please also fix the footer");
    let forbidden = gql(
        &server,
        "mutation($id: String!) { commentDelete(id: $id) { success } }",
        json!({"id": theirs}),
    )
    .await;
    assert_eq!(forbidden.code(), "FORBIDDEN", "{}", forbidden.body);
    assert_eq!(
        server.visible_comments(issue),
        ["please also fix the footer"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagged_comment_is_invisible_then_visible_and_out_of_order() {
    let (server, ids) = with_issues(1).await;
    // Long enough that the reads below come well before it, whatever the machine's load.
    let lag = Duration::from_secs(3);
    server.set_commit_lag("late claim", 1, lag);
    let written = Instant::now();
    let read = "query($id: String!) { issue(id: $id) { comments { nodes { body createdAt } } } }";
    let lagged = gql(
        &server,
        CREATE,
        json!({"input": {"issueId": ids[0], "body": "late claim"}}),
    )
    .await;
    assert_eq!(lagged.status, 200, "{}", lagged.body);
    // The answer shows the comment as written, stamped at its arrival...
    let stamped = lagged.body["data"]["commentCreate"]["comment"]["createdAt"].clone();
    assert_eq!(
        lagged.body["data"]["commentCreate"]["comment"]["body"],
        "late claim"
    );
    let prompt = gql(
        &server,
        CREATE,
        json!({"input": {"issueId": ids[0], "body": "prompt claim"}}),
    )
    .await;
    assert_eq!(prompt.status, 200);
    // ...but reads do not show it yet, while the later comment is there.
    let before = gql(&server, read, json!({"id": ids[0]})).await;
    let bodies = |a: &Answer| -> Vec<String> {
        a.body["data"]["issue"]["comments"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["body"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(bodies(&before), ["prompt claim"]);
    let stored = server.comments(&ids[0]);
    assert_eq!(stored.len(), 2);
    assert!(!stored[0].visible && stored[1].visible, "{stored:?}");
    assert_eq!(server.lagged_writes(), 1);
    let mut after = None;
    let shown = eventually(async || {
        let a = gql(&server, read, json!({"id": ids[0]})).await;
        let both = bodies(&a).len() == 2;
        after = Some(a);
        both
    })
    .await;
    assert!(shown && written.elapsed() >= lag);
    let after = after.unwrap();
    // Newest first: the lagged comment shows up *behind* one the reader already saw.
    assert_eq!(bodies(&after), ["prompt claim", "late claim"]);
    assert_eq!(
        after.body["data"]["issue"]["comments"]["nodes"][1]["createdAt"],
        stamped
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagged_label_change_shows_late() {
    let (server, ids) = with_issues(1).await;
    let label = server.add_label(Some("ENG"), "agent-done");
    server.set_commit_lag("issueUpdate", 1, Duration::from_secs(3));
    let a = gql(
        &server,
        "mutation($id: String!, $l: [String!]) { issueUpdate(id: $id, input: {addedLabelIds: $l}) { success issue { labels { nodes { name } } } } }",
        json!({"id": ids[0], "l": [label]}),
    )
    .await;
    assert_eq!(
        a.body["data"]["issueUpdate"]["issue"]["labels"]["nodes"],
        json!([{"name": "agent-done"}])
    );
    assert!(server.issue(&ids[0]).labels.is_empty());
    assert!(eventually(async || !server.issue(&ids[0]).labels.is_empty()).await);
    assert_eq!(server.issue(&ids[0]).labels, ["agent-done"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_ratelimited_with_their_headers() {
    let (server, _) = with_issues(3).await;
    server.set_rate_limits(RateLimits {
        requests_per_period: 3,
        ..RateLimits::default()
    });
    let q = "{ viewer { id } }";
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let a = gql(&server, q, json!({})).await;
        assert_eq!(a.status, 200, "{}", a.body);
        remaining.push(a.header("x-ratelimit-requests-remaining"));
        assert_eq!(a.header("x-ratelimit-requests-limit"), 3);
        assert_eq!(a.header("x-complexity"), 2); // an object and a property, rounded up
    }
    assert_eq!(remaining, [2, 1, 0]);
    let limited = gql(&server, q, json!({})).await;
    assert_eq!(limited.status, 400, "{}", limited.body);
    assert_eq!(limited.code(), "RATELIMITED");
    assert_eq!(limited.error()["extensions"]["type"], "ratelimited");
    assert_eq!(limited.header("x-ratelimit-requests-remaining"), 0);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let reset = limited.header("x-ratelimit-requests-reset");
    assert!(
        reset > now_ms && reset <= now_ms + 3_600_000,
        "{reset} vs {now_ms}"
    );
    assert!(
        limited
            .headers
            .contains_key("x-ratelimit-complexity-remaining")
    );
    assert!(limited.body.get("data").is_none());

    // The complexity budget: a page of `issues { nodes { id title } }` costs
    // 1 + 50 × (1 + 0.1 + 0.1) = 61 points.
    server.set_rate_limits(RateLimits {
        complexity_per_period: 100,
        ..RateLimits::default()
    });
    let page = "{ issues { nodes { id title } } }";
    let a = gql(&server, page, json!({})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let cost = server.requests().last().unwrap().complexity.unwrap();
    assert!((cost - 61.0).abs() < 1e-9, "{cost}");
    assert_eq!(a.header("x-complexity"), cost.ceil() as i64);
    assert_eq!(a.header("x-ratelimit-complexity-remaining"), 39);
    let b = gql(&server, page, json!({})).await;
    assert_eq!(b.code(), "RATELIMITED", "{}", b.body);

    // One query over the per-query limit is refused whatever the budget.
    server.set_rate_limits(RateLimits::default());
    let huge = gql(
        &server,
        "{ issues(first: 250) { nodes { comments(first: 250) { nodes { id body } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(huge.status, 400);
    assert_eq!(huge.code(), "INPUT_ERROR");
    assert_eq!(huge.error()["message"], "Query too complex");
    let says = huge.error()["extensions"]["userPresentableMessage"]
        .as_str()
        .unwrap();
    assert!(
        says.contains("Maximum allowed complexity: 10000."),
        "{says}"
    );
    assert!(server.requests().last().unwrap().complexity.unwrap() > 10_000.0);

    // A budget spent all at once.
    assert_eq!(gql(&server, q, json!({})).await.status, 200);
    server.exhaust_rate_limit();
    assert_eq!(gql(&server, q, json!({})).await.code(), "RATELIMITED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_after_the_client_gave_up_was_applied_once() {
    let (server, ids) = with_issues(1).await;
    server.answer_slowly_matching("commentCreate", 1, Duration::from_secs(8));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let body = json!({"query": CREATE, "variables": {"input": {
        "id": "0f8fad5b-d9cb-469f-a165-70867728950e", "issueId": ids[0], "body": "Done. Ready for review."}}});
    let send = || {
        client
            .post(&server.url)
            .header("authorization", KEY)
            .json(&body)
            .send()
    };
    let gave_up = send().await.unwrap_err();
    assert!(gave_up.is_timeout(), "{gave_up}");
    // The write landed although its answer never arrived.
    assert_eq!(
        server.visible_comments(&ids[0]),
        ["Done. Ready for review."]
    );
    // The retry with the same id does not make a second comment.
    let retry = send().await.unwrap();
    assert_eq!(retry.status().as_u16(), 400);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["errors"][0]["extensions"]["code"], "INPUT_ERROR");
    assert_eq!(server.comments(&ids[0]).len(), 1);
    let creates = server
        .requests()
        .into_iter()
        .filter(|r| r.operation.as_deref() == Some("Claim"))
        .count();
    assert_eq!(creates, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_gets_linears_authentication_error() {
    let (server, _) = with_issues(0).await;
    let bearer = format!("Bearer {KEY}");
    for auth in ["lin_api_wrong", "", bearer.as_str()] {
        let a = post(&server.url, auth, "{ viewer { id } }", json!({})).await;
        assert_eq!(a.status, 401, "{auth}: {}", a.body);
        assert_eq!(a.code(), "AUTHENTICATION_ERROR");
        assert_eq!(a.error()["extensions"]["type"], "authentication error");
        assert_eq!(a.error()["extensions"]["userError"], true);
        assert!(a.body.get("data").is_none());
        assert!(!a.headers.contains_key("x-ratelimit-requests-remaining"));
    }
    let wrong = post(&server.url, "lin_api_wrong", "{ viewer { id } }", json!({})).await;
    assert_eq!(
        wrong.error()["extensions"]["userPresentableMessage"],
        "You need to authenticate to access this operation."
    );
    // An OAuth token goes after "Bearer".
    server.accept_oauth_token("oauth-abc");
    let oauth = post(
        &server.url,
        "Bearer oauth-abc",
        "{ viewer { name } }",
        json!({}),
    )
    .await;
    assert_eq!(oauth.body["data"]["viewer"]["name"], "Delegate Bot");
    let ok = gql(&server, "{ viewer { email } }", json!({})).await;
    assert_eq!(ok.status, 200);
    let log = serde_json::to_string(&server.requests()).unwrap();
    assert!(!log.contains(KEY) && !log.contains("oauth-abc"));
    let flags: Vec<bool> = server.requests().iter().map(|r| r.authorized).collect();
    assert_eq!(flags, [false, false, false, false, true, true]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_names_operations_and_masks_secrets() {
    let (server, ids) = with_issues(1).await;
    gql(
        &server,
        CREATE,
        json!({"input": {"issueId": ids[0], "body": "b"}}),
    )
    .await;
    gql(
        &server,
        "query Poll($f: IssueFilter, $token: String) { issues(filter: $f) { nodes { id } } }",
        json!({"f": {"team": {"key": {"eq": "ENG"}}}, "token": "s3cret"}),
    )
    .await;
    let log = server.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].operation.as_deref(), Some("Claim"));
    assert!(log[0].is_mutation());
    assert_eq!(log[0].variables["input"]["body"], "b");
    assert_eq!(log[1].operation.as_deref(), Some("Poll"));
    assert_eq!(log[1].variables["token"], "***");
    assert_eq!(log[1].status, 400); // $token is never used: a validation error
    assert_eq!(log[1].code.as_deref(), Some("GRAPHQL_VALIDATION_FAILED"));
    assert!(chrono::DateTime::parse_from_rfc3339(&log[0].at).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skewed_clock_shows_in_timestamps_and_the_date_header() {
    let (server, ids) = with_issues(1).await;
    server.set_clock_skew_ms(-3_600_000);
    let a = gql(
        &server,
        CREATE,
        json!({"input": {"issueId": ids[0], "body": "b"}}),
    )
    .await;
    let created = a.body["data"]["commentCreate"]["comment"]["createdAt"]
        .as_str()
        .unwrap();
    let created = chrono::DateTime::parse_from_rfc3339(created).unwrap();
    let behind = chrono::Utc::now()
        .signed_duration_since(created)
        .num_seconds();
    assert!((3590..=3610).contains(&behind), "{behind}");
    let date = a.headers.get("date").unwrap().to_str().unwrap();
    let date = chrono::DateTime::parse_from_rfc2822(date).unwrap();
    let behind = chrono::Utc::now().signed_duration_since(date).num_seconds();
    assert!((3590..=3610).contains(&behind), "{behind}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_failures_and_latency() {
    let (server, ids) = with_issues(1).await;
    server.fail_next(503, 1);
    let a = gql(&server, "{ viewer { id } }", json!({})).await;
    assert_eq!(a.status, 503);
    assert!(a.body.as_str().unwrap().contains("503 Service Unavailable"));
    assert_eq!(a.headers["content-type"].to_str().unwrap(), "text/html");
    server.fail_next(500, 1);
    let a = gql(&server, "{ viewer { id } }", json!({})).await;
    assert_eq!((a.status, a.code()), (500, "INTERNAL_SERVER_ERROR"));
    assert_eq!(
        gql(&server, "{ viewer { id } }", json!({})).await.status,
        200
    );

    // A failure before the write changes nothing; one after it leaves the write done.
    let input = json!({"input": {"issueId": ids[0], "body": "first"}});
    server.fail_matching("first", 1, 502);
    assert_eq!(gql(&server, CREATE, input.clone()).await.status, 502);
    assert!(server.comments(&ids[0]).is_empty());
    server.fail_matching_after_applying("first", 1, 504);
    assert_eq!(gql(&server, CREATE, input).await.status, 504);
    assert_eq!(server.visible_comments(&ids[0]), ["first"]);

    server.set_latency(Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(
        gql(&server, "{ viewer { id } }", json!({})).await.status,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
}
