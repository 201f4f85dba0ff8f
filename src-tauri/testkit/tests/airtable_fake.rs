//! The fake Airtable against the shapes and behaviour its reference notes describe: each test
//! fails when the fake stops doing what the real service does.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use delegate_testkit::airtable::{FakeAirtable, FieldKind};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TOKEN: &str = "patFake00000001.0123456789abcdef";

async fn world() -> (FakeAirtable, String, String) {
    let at = FakeAirtable::start(TOKEN).await;
    let base = at.add_base("Content pipeline");
    let table = at.add_table(
        &base,
        "Posts",
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
    (at, base, table)
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn get(at: &FakeAirtable, path: &str) -> (u16, Value) {
    let r = client()
        .get(format!("{}{path}", at.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn send(at: &FakeAirtable, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let r = client()
        .request(method, format!("{}{path}", at.url))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn errors_have_airtables_shapes() {
    let (at, base, _) = world().await;
    let r = client()
        .get(format!("{}/v0/meta/whoami", at.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": {"type": "AUTHENTICATION_REQUIRED", "message": "Authentication required"}})
    );
    let (code, body) = get(&at, "/v0/appNope00000000001/Posts").await;
    assert_eq!(
        (code, body["error"]["type"].as_str()),
        (403, Some("INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"))
    );
    let (code, body) = get(&at, &format!("/v0/{base}/Nope")).await;
    assert_eq!(
        (code, body["error"]["type"].as_str()),
        (404, Some("TABLE_NOT_FOUND"))
    );
    let (code, body) = get(&at, &format!("/v0/{base}/Posts/recNope")).await;
    assert_eq!(
        (code, body["error"]["type"].as_str()),
        (404, Some("MODEL_ID_NOT_FOUND"))
    );
    let (code, body) = get(&at, "/v1/whatever").await;
    assert_eq!((code, body), (404, json!({"error": "NOT_FOUND"})));
    let (code, body) = get(&at, "/v0/meta/whoami").await;
    assert_eq!((code, body["id"].as_str()), (200, Some("usrDelegateBot01")));
    let (_, bases) = get(&at, "/v0/meta/bases").await;
    assert_eq!(bases["bases"][0]["id"], json!(base));
    let (_, tables) = get(&at, &format!("/v0/meta/bases/{base}/tables")).await;
    let status = &tables["tables"][0]["fields"][2];
    assert_eq!(status["type"], "singleSelect");
    assert_eq!(status["options"]["choices"][0]["name"], "Todo");
}

#[tokio::test]
async fn listing_pages_filters_and_leaves_empty_values_out() {
    let (at, base, table) = world().await;
    // Many requests in a second: not what this test is about.
    at.set_rate_limit(1000, Duration::from_secs(30));
    for i in 0..5 {
        at.add_record(&base, &table, json!({"Name": format!("Post {i}"), "Notes": "", "Status": if i < 3 { "Todo" } else { "Done" }}));
    }
    // Pages of two, by table id or name, until a page without `offset`.
    let mut seen = Vec::new();
    let mut offset: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &offset {
            Some(o) => format!("?pageSize=2&offset={}", urlencode(o)),
            None => "?pageSize=2".into(),
        };
        let (code, body) = get(&at, &format!("/v0/{base}/Posts{q}")).await;
        assert_eq!(code, 200, "{body}");
        pages += 1;
        for r in body["records"].as_array().unwrap() {
            assert!(
                r["fields"].get("Notes").is_none(),
                "an empty value is left out: {r}"
            );
            assert!(r["createdTime"].as_str().unwrap().ends_with(".000Z"));
            seen.push(r["fields"]["Name"].as_str().unwrap().to_string());
        }
        match body.get("offset").and_then(Value::as_str) {
            Some(o) => offset = Some(o.to_string()),
            None => break,
        }
    }
    assert_eq!((pages, seen.len()), (3, 5));
    let formula = urlencode("AND({Status} = 'Todo', {Name} != '')");
    let (_, body) = get(
        &at,
        &format!("/v0/{base}/{table}?filterByFormula={formula}&fields%5B%5D=Name&recordMetadata%5B%5D=commentCount"),
    )
    .await;
    let records = body["records"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    assert!(
        records
            .iter()
            .all(|r| r["fields"].get("Status").is_none() && r["commentCount"] == 0)
    );
    let (code, body) = get(
        &at,
        &format!(
            "/v0/{base}/{table}?filterByFormula={}",
            urlencode("{Stauts} = 'Todo'")
        ),
    )
    .await;
    assert_eq!(
        (code, body["error"]["type"].as_str()),
        (422, Some("INVALID_FILTER_BY_FORMULA"))
    );
    // The same listing as a POST (for long formulas).
    let (code, body) = send(
        &at,
        reqwest::Method::POST,
        &format!("/v0/{base}/{table}/listRecords"),
        json!({"filterByFormula": "{Status} = 'Done'", "pageSize": 100}),
    )
    .await;
    assert_eq!(
        (code, body["records"].as_array().map(Vec::len)),
        (200, Some(2))
    );
    // No sort, no promise of order.
    at.set_shuffled(true);
    let (_, a) = get(&at, &format!("/v0/{base}/{table}")).await;
    let (_, b) = get(&at, &format!("/v0/{base}/{table}")).await;
    assert_ne!(a["records"][0]["id"], b["records"][0]["id"]);
}

#[tokio::test]
async fn updates_refuse_unknown_fields_and_options() {
    let (at, base, table) = world().await;
    let rec = at.add_record(&base, &table, json!({"Name": "Post", "Status": "Todo"}));
    let path = format!("/v0/{base}/{table}/{rec}");
    let (code, body) = send(
        &at,
        reqwest::Method::PATCH,
        &path,
        json!({"fields": {"Stauts": "Review"}}),
    )
    .await;
    assert_eq!(
        (code, body["error"]["type"].as_str()),
        (422, Some("UNKNOWN_FIELD_NAME"))
    );
    let (code, body) = send(
        &at,
        reqwest::Method::PATCH,
        &path,
        json!({"fields": {"Status": "Waiting"}}),
    )
    .await;
    assert_eq!(
        (code, body["error"]["type"].as_str()),
        (422, Some("INVALID_MULTIPLE_CHOICE_OPTIONS"))
    );
    assert_eq!(
        at.record(&base, &table, &rec)["Status"],
        "Todo",
        "a refused write changes nothing"
    );
    let (code, body) = send(
        &at,
        reqwest::Method::PATCH,
        &path,
        json!({"fields": {"Status": "Review", "Draft": "# Hi"}}),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(
        body["fields"],
        json!({"Name": "Post", "Status": "Review", "Draft": "# Hi"}),
        "the whole record"
    );
}

#[tokio::test]
async fn comments_newest_first_lagged_and_only_the_authors_to_change() {
    let (at, base, table) = world().await;
    at.set_rate_limit(1000, Duration::from_secs(30));
    let rec = at.add_record(&base, &table, json!({"Name": "Post"}));
    let path = format!("/v0/{base}/{table}/{rec}/comments");
    let person = at.add_comment(&base, &table, &rec, "Please keep it short.");
    let (code, mine) = send(
        &at,
        reqwest::Method::POST,
        &path,
        json!({"text": "Working on it"}),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(mine["lastUpdatedTime"], Value::Null);
    let (_, list) = get(&at, &path).await;
    let texts: Vec<&str> = list["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["Working on it", "Please keep it short."],
        "newest first"
    );
    let (code, body) = send(
        &at,
        reqwest::Method::PATCH,
        &format!("{path}/{person}"),
        json!({"text": "x"}),
    )
    .await;
    assert_eq!(
        (code, body["error"]["type"].as_str()),
        (403, Some("INVALID_PERMISSIONS"))
    );
    let id = mine["id"].as_str().unwrap();
    let (code, edited) = send(
        &at,
        reqwest::Method::PATCH,
        &format!("{path}/{id}"),
        json!({"text": "Working on it (edited)"}),
    )
    .await;
    assert_eq!(code, 200);
    assert!(edited["lastUpdatedTime"].is_string());
    let (code, gone) = send(
        &at,
        reqwest::Method::DELETE,
        &format!("{path}/{id}"),
        json!({}),
    )
    .await;
    assert_eq!((code, gone), (200, json!({"id": id, "deleted": true})));
    // A new comment is stored at once and listed only later.
    at.set_comment_lag(Duration::from_millis(400));
    send(&at, reqwest::Method::POST, &path, json!({"text": "Late"})).await;
    let (_, now) = get(&at, &path).await;
    assert_eq!(now["comments"].as_array().unwrap().len(), 1);
    assert_eq!(at.comments(&base, &table, &rec).len(), 2);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let (_, later) = get(&at, &path).await;
    assert_eq!(later["comments"][0]["text"], "Late");
}

#[tokio::test]
async fn five_requests_a_second_per_base_then_30_s_of_429() {
    let (at, base, table) = world().await;
    at.set_rate_limit(5, Duration::from_millis(600));
    let mut codes = Vec::new();
    for _ in 0..7 {
        codes.push(get(&at, &format!("/v0/{base}/{table}")).await.0);
    }
    assert_eq!(codes, [200, 200, 200, 200, 200, 429, 429]);
    let (_, body) = get(&at, &format!("/v0/{base}/{table}")).await;
    assert_eq!(body["error"]["type"], "RATE_LIMIT_REACHED");
    // The meta API of the same token is not this base's.
    assert_eq!(get(&at, "/v0/meta/whoami").await.0, 200);
    let start = Instant::now();
    while get(&at, &format!("/v0/{base}/{table}")).await.0 == 429 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        start.elapsed() >= Duration::from_millis(400),
        "refused for the penalty"
    );
    assert!(at.counters().rate_limited >= 3);
}

#[tokio::test]
async fn a_write_answered_after_the_client_gave_up_is_stored_once() {
    let (at, base, table) = world().await;
    let rec = at.add_record(&base, &table, json!({"Name": "Post"}));
    at.answer_next_write_late(Duration::from_millis(800));
    let r = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap()
        .post(format!("{}/v0/{base}/{table}/{rec}/comments", at.url))
        .bearer_auth(TOKEN)
        .json(&json!({"text": "Done. Ready for review."}))
        .send()
        .await;
    assert!(r.is_err(), "the client gave up");
    assert_eq!(
        at.comments(&base, &table, &rec),
        ["Done. Ready for review."]
    );
    assert_eq!(at.counters().late_answers, 1);
    // 503 before doing anything; the clock as the server tells it.
    at.fail_next(1);
    let (code, body) = get(&at, &format!("/v0/{base}/{table}")).await;
    assert_eq!(
        (code, body["error"]["type"].as_str()),
        (503, Some("RETRIABLE_ERROR"))
    );
    at.set_clock_skew(chrono::Duration::hours(2));
    let r = client()
        .get(format!("{}/v0/meta/whoami", at.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let date = r.headers()["date"].to_str().unwrap().to_string();
    let told = chrono::DateTime::parse_from_rfc2822(&date).unwrap();
    assert!(told.with_timezone(&chrono::Utc) > chrono::Utc::now() + chrono::Duration::minutes(110));
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_string()
}
