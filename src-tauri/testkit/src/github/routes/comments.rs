//! Issue comments: list, create, edit, delete.

use super::*;

/// Stores a comment, shown to readers `lag` after now. Returns its id.
pub(crate) fn push_comment(
    s: &mut FakeState,
    repo_id: u64,
    number: u64,
    author: &str,
    body: &str,
    lag: Duration,
) -> u64 {
    let id = s.id(4_400_000_000);
    let at = s.stamp();
    s.comments.push(StoredComment {
        id,
        repo_id,
        issue_number: number,
        body: body.to_string(),
        author: author.to_string(),
        created_at: at.clone(),
        updated_at: at.clone(),
        visible_at: Instant::now() + lag,
    });
    if let Some(i) = s
        .repos
        .iter_mut()
        .find(|r| r.id == repo_id)
        .and_then(|r| r.issue_mut(number))
    {
        i.updated_at = at;
    }
    id
}

pub(super) async fn list_comments(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(p): Params,
    RawQuery(q): RawQuery,
) -> Response {
    let d = docs::COMMENTS;
    let q = query_pairs(&q);
    let s = lock(&st);
    let (r, i) = match find_repo(&s, &c, &p, false, d)
        .and_then(|r| find_issue(&s, r, &p, d).map(|i| (r, i)))
    {
        Ok(x) => x,
        Err(e) => return e,
    };
    let since = match since_filter(&q, d, "IssueComment") {
        Ok(v) => v,
        Err(e) => return e,
    };
    let repo = &s.repos[r];
    let number = repo.issues[i].number;
    let now = Instant::now();
    let mut items: Vec<&StoredComment> = s
        .comments
        .iter()
        .filter(|x| x.repo_id == repo.id && x.issue_number == number && x.visible_at <= now)
        .filter(|x| since.is_none_or(|t| parse_time(&x.updated_at).is_some_and(|u| u >= t)))
        .collect();
    items.sort_by_key(|x| (x.created_at.clone(), x.id));
    let values = items.iter().map(|x| shapes::comment(&s, repo, x)).collect();
    let link = format!("/repositories/{}/issues/{number}/comments", repo.id);
    paginate(&s, values, &q, &link)
}

/// The comment body of a create or update: 422 unless it is a string of at most 65,536
/// characters that is not blank.
fn comment_body(v: &Value, docs: &str) -> Result<String, Response> {
    match v.get("body") {
        None | Some(Value::Null) => Err(invalid_request(docs, "\"body\" wasn't supplied.")),
        Some(Value::String(b)) if b.trim().is_empty() => Err(invalid(
            docs,
            "IssueComment",
            "body",
            "missing_field",
            Some("Body cannot be blank"),
        )),
        Some(Value::String(b)) if b.chars().count() > 65536 => Err(invalid(
            docs,
            "IssueComment",
            "body",
            "custom",
            Some("body is too long (maximum is 65536 characters)"),
        )),
        Some(Value::String(b)) => Ok(b.clone()),
        Some(other) => Err(invalid_request(
            docs,
            &format!("For 'properties/body', {other} is not a string."),
        )),
    }
}

pub(super) async fn create_comment(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(p): Params,
    body: Bytes,
) -> Response {
    let d = docs::CREATE_COMMENT;
    let v = match parse_json(&body, d) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let mut s = lock(&st);
    let (r, i) = match find_repo(&s, &c, &p, true, d)
        .and_then(|r| find_issue(&s, r, &p, d).map(|i| (r, i)))
    {
        Ok(x) => x,
        Err(e) => return e,
    };
    let text = match comment_body(&v, d) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let (repo_id, number) = (s.repos[r].id, s.repos[r].issues[i].number);
    if c.lag.is_some() {
        s.counters.lagged_writes += 1;
    }
    s.counters.writes += 1;
    let id = push_comment(
        &mut s,
        repo_id,
        number,
        &c.login,
        &text,
        c.lag.unwrap_or_default(),
    );
    let repo = &s.repos[r];
    let Some(stored) = s.comments.iter().find(|x| x.id == id) else {
        return not_found_at(d);
    };
    let out = shapes::comment(&s, repo, stored);
    let location = out["url"].as_str().unwrap_or_default().to_string();
    let mut resp = (StatusCode::CREATED, axum::Json(out)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// The comment the path names, in the repository the path names.
fn find_comment(s: &FakeState, repo: usize, p: &HashMap<String, String>) -> Option<usize> {
    let id = p.get("comment_id")?.parse::<u64>().ok()?;
    let repo_id = s.repos[repo].id;
    s.comments
        .iter()
        .position(|c| c.id == id && c.repo_id == repo_id)
}

pub(super) async fn update_comment(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(p): Params,
    body: Bytes,
) -> Response {
    let d = docs::UPDATE_COMMENT;
    let v = match parse_json(&body, d) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let mut s = lock(&st);
    let r = match find_repo(&s, &c, &p, true, d) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(ci) = find_comment(&s, r, &p) else {
        return not_found_at(d);
    };
    let text = match comment_body(&v, d) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let at = s.stamp();
    s.counters.writes += 1;
    let comment = &mut s.comments[ci];
    comment.body = text;
    comment.updated_at = at;
    let out = shapes::comment(&s, &s.repos[r], &s.comments[ci]);
    axum::Json(out).into_response()
}

pub(super) async fn delete_comment(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(p): Params,
) -> Response {
    let d = docs::DELETE_COMMENT;
    let mut s = lock(&st);
    let r = match find_repo(&s, &c, &p, true, d) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(ci) = find_comment(&s, r, &p) else {
        return not_found_at(d);
    };
    s.comments.remove(ci);
    s.counters.writes += 1;
    StatusCode::NO_CONTENT.into_response()
}
