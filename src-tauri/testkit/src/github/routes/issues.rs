//! Issues (and pull requests, which share their numbers): list, read, update.

use super::labels::{label_names, write_labels};
use super::*;

pub(super) async fn list_issues(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(p): Params,
    RawQuery(q): RawQuery,
) -> Response {
    let d = docs::ISSUES;
    let q = query_pairs(&q);
    let s = lock(&st);
    let r = match find_repo(&s, &c, &p, false, d) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let state = param(&q, "state").unwrap_or("open");
    if !["open", "closed", "all"].contains(&state) {
        return invalid(d, "Issue", "state", "invalid", None);
    }
    let sort = param(&q, "sort").unwrap_or("created");
    if !["created", "updated", "comments"].contains(&sort) {
        return invalid(d, "Issue", "sort", "invalid", None);
    }
    let direction = param(&q, "direction").unwrap_or("desc");
    if !["asc", "desc"].contains(&direction) {
        return invalid(d, "Issue", "direction", "invalid", None);
    }
    let since = match since_filter(&q, d, "Issue") {
        Ok(v) => v,
        Err(e) => return e,
    };
    let wanted: Vec<String> = param(&q, "labels")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_lowercase)
        .collect();
    let now = Instant::now();
    let repo = &s.repos[r];
    let mut items: Vec<&Issue> = repo
        .issues
        .iter()
        .filter(|i| !i.deleted && (state == "all" || i.state == state))
        .filter(|i| {
            let have: Vec<String> = i
                .visible_labels(now)
                .iter()
                .map(|l| l.to_lowercase())
                .collect();
            wanted.iter().all(|w| have.contains(w))
        })
        .filter(|i| since.is_none_or(|t| parse_time(&i.updated_at).is_some_and(|u| u >= t)))
        .collect();
    match sort {
        "updated" => items.sort_by(|a, b| (&a.updated_at, a.id).cmp(&(&b.updated_at, b.id))),
        "comments" => {
            items.sort_by_key(|i| (s.visible_comment_count(repo.id, i.number, now), i.id))
        }
        _ => items.sort_by_key(|i| i.id),
    }
    if direction == "desc" {
        items.reverse();
    }
    let values = items
        .iter()
        .map(|i| shapes::issue(&s, repo, i, false))
        .collect();
    paginate(&s, values, &q, &format!("/repositories/{}/issues", repo.id))
}

pub(super) async fn get_issue(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(p): Params,
) -> Response {
    let s = lock(&st);
    let found = find_repo(&s, &c, &p, false, docs::ISSUE)
        .and_then(|r| find_issue(&s, r, &p, docs::ISSUE).map(|i| (r, i)));
    match found {
        Ok((r, i)) => {
            let repo = &s.repos[r];
            axum::Json(shapes::issue(&s, repo, &repo.issues[i], true)).into_response()
        }
        Err(e) => e,
    }
}

/// Opens or closes an issue the way GitHub records it.
pub(crate) fn set_state(i: &mut Issue, state: &str, reason: Option<&str>, by: &str, at: &str) {
    if state == i.state {
        if state == "closed"
            && let Some(r) = reason
        {
            i.state_reason = Some(r.to_string());
        }
        return;
    }
    i.state = state.to_string();
    if state == "closed" {
        i.state_reason = Some(reason.unwrap_or("completed").to_string());
        i.closed_at = Some(at.to_string());
        i.closed_by = Some(by.to_string());
    } else {
        i.state_reason = Some("reopened".into());
        i.closed_at = None;
        i.closed_by = None;
    }
}

pub(super) async fn update_issue(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(p): Params,
    body: Bytes,
) -> Response {
    let d = docs::UPDATE_ISSUE;
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
    if !v.is_object() && !v.is_null() {
        return invalid_request(d, "Body should be a JSON object");
    }
    let title = match v.get("title") {
        None => None,
        Some(Value::String(t)) if !t.trim().is_empty() => Some(t.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return invalid(d, "Issue", "title", "missing_field", None),
    };
    let state = match v.get("state") {
        None => None,
        Some(Value::String(st)) if st == "open" || st == "closed" => Some(st.clone()),
        Some(_) => return invalid(d, "Issue", "state", "invalid", None),
    };
    let reason = match v.get("state_reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(r))
            if ["completed", "not_planned", "duplicate", "reopened"].contains(&r.as_str()) =>
        {
            Some(r.clone())
        }
        Some(_) => return invalid(d, "Issue", "state_reason", "invalid", None),
    };
    let labels = match v.get("labels") {
        None => None,
        Some(l) => match label_names(l, false) {
            Some(n) => Some(n),
            None => return invalid(d, "Issue", "labels", "invalid", None),
        },
    };
    match labels {
        Some(names) => write_labels(&mut s, r, i, &names, c.lag),
        None => s.counters.writes += 1,
    }
    let at = s.stamp();
    let issue = &mut s.repos[r].issues[i];
    if let Some(t) = title {
        issue.title = t;
    }
    match v.get("body") {
        Some(Value::String(b)) => issue.body = Some(b.clone()),
        Some(Value::Null) => issue.body = None,
        _ => {}
    }
    if let Some(state) = state {
        set_state(issue, &state, reason.as_deref(), &c.login, &at);
    }
    issue.updated_at = at;
    let repo = &s.repos[r];
    let mut out = shapes::issue(&s, repo, &repo.issues[i], true);
    // The answer comes from where the write went: it shows the labels just set.
    out["labels"] = json!(shapes::labels(&s, repo, &repo.issues[i].labels()));
    axum::Json(out).into_response()
}
