//! Labels on issues and on repositories.

use super::*;

fn label_list(s: &FakeState, r: usize, names: &[String]) -> Response {
    axum::Json(shapes::labels(s, &s.repos[r], names)).into_response()
}

pub(super) async fn list_issue_labels(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(p): Params,
    RawQuery(q): RawQuery,
) -> Response {
    let d = docs::ISSUE_LABELS;
    let q = query_pairs(&q);
    let s = lock(&st);
    let (r, i) = match find_repo(&s, &c, &p, false, d)
        .and_then(|r| find_issue(&s, r, &p, d).map(|i| (r, i)))
    {
        Ok(x) => x,
        Err(e) => return e,
    };
    let repo = &s.repos[r];
    let issue = &repo.issues[i];
    let items = shapes::labels(&s, repo, &issue.visible_labels(Instant::now()));
    let link = format!("/repositories/{}/issues/{}/labels", repo.id, issue.number);
    paginate(&s, items, &q, &link)
}

/// POST adds to the issue's labels, PUT replaces them.
async fn change_labels(
    st: Shared,
    c: Caller,
    p: HashMap<String, String>,
    body: Bytes,
    replace: bool,
) -> Response {
    let d = if replace {
        docs::SET_LABELS
    } else {
        docs::ADD_LABELS
    };
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
    let Some(names) = label_names(&v, replace) else {
        return invalid(d, "Label", "labels", "invalid", None);
    };
    if names.is_empty() && !replace {
        // The description's `minItems: 1`.
        return invalid(d, "Label", "labels", "missing_field", None);
    }
    let mut new = if replace {
        Vec::new()
    } else {
        s.repos[r].issues[i].labels()
    };
    for n in names {
        if !new.iter().any(|x| x.eq_ignore_ascii_case(&n)) {
            new.push(n);
        }
    }
    write_labels(&mut s, r, i, &new, c.lag);
    let stored = s.repos[r].issues[i].labels();
    label_list(&s, r, &stored)
}

pub(super) async fn add_labels(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(p): Params,
    body: Bytes,
) -> Response {
    change_labels(st, c, p, body, false).await
}

pub(super) async fn set_labels(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(p): Params,
    body: Bytes,
) -> Response {
    change_labels(st, c, p, body, true).await
}

pub(super) async fn remove_label(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(p): Params,
) -> Response {
    let d = docs::REMOVE_LABEL;
    let mut s = lock(&st);
    let (r, i) = match find_repo(&s, &c, &p, true, d)
        .and_then(|r| find_issue(&s, r, &p, d).map(|i| (r, i)))
    {
        Ok(x) => x,
        Err(e) => return e,
    };
    let name = p.get("name").cloned().unwrap_or_default();
    let mut labels = s.repos[r].issues[i].labels();
    let before = labels.len();
    labels.retain(|l| !l.eq_ignore_ascii_case(&name));
    if labels.len() == before {
        return error(StatusCode::NOT_FOUND, "Label does not exist", d);
    }
    write_labels(&mut s, r, i, &labels, c.lag);
    label_list(&s, r, &labels)
}

pub(super) async fn list_repo_labels(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(p): Params,
    RawQuery(q): RawQuery,
) -> Response {
    let d = docs::REPO_LABELS;
    let q = query_pairs(&q);
    let s = lock(&st);
    let r = match find_repo(&s, &c, &p, false, d) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let repo = &s.repos[r];
    let items = repo
        .labels
        .iter()
        .map(|l| shapes::label(&s, repo, l))
        .collect();
    paginate(&s, items, &q, &format!("/repositories/{}/labels", repo.id))
}

pub(super) async fn create_label(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(p): Params,
    body: Bytes,
) -> Response {
    let d = docs::CREATE_LABEL;
    let v = match parse_json(&body, d) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let mut s = lock(&st);
    let r = match find_repo(&s, &c, &p, true, d) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(name) = v
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
    else {
        return invalid_request(d, "\"name\" wasn't supplied.");
    };
    if s.repos[r].label(name).is_some() {
        return invalid(d, "Label", "name", "already_exists", None);
    }
    let color = v
        .get("color")
        .and_then(Value::as_str)
        .unwrap_or("ededed")
        .trim_start_matches('#')
        .to_lowercase();
    if color.len() != 6 || !color.chars().all(|c| c.is_ascii_hexdigit()) {
        return invalid(d, "Label", "color", "invalid", None);
    }
    let description = v
        .get("description")
        .and_then(Value::as_str)
        .map(String::from);
    if description
        .as_ref()
        .is_some_and(|t| t.chars().count() > 100)
    {
        return invalid(
            d,
            "Label",
            "description",
            "custom",
            Some("description is too long (maximum is 100 characters)"),
        );
    }
    let id = s.id(5_000_000_000);
    s.counters.writes += 1;
    s.repos[r].labels.push(Label {
        id,
        name: name.to_string(),
        color,
        description,
        default: false,
    });
    let repo = &s.repos[r];
    let Some(l) = repo.labels.last() else {
        return not_found_at(d);
    };
    let out = shapes::label(&s, repo, l);
    let location = out["url"].as_str().unwrap_or_default().to_string();
    let mut resp = (StatusCode::CREATED, axum::Json(out)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Label names from a request body: `{"labels": [...]}` or a bare array (or, for PUT, a
/// bare string), each a name or `{"name": …}`.
pub(super) fn label_names(v: &Value, allow_string: bool) -> Option<Vec<String>> {
    let list = match v {
        Value::Object(o) => o.get("labels")?.clone(),
        Value::String(_) if allow_string => json!([v]),
        other => other.clone(),
    };
    let mut names: Vec<String> = Vec::new();
    for item in list.as_array()? {
        let name = match item {
            Value::String(n) => n.clone(),
            Value::Object(o) => o.get("name")?.as_str()?.to_string(),
            _ => return None,
        };
        let name = name.trim().to_string();
        if name.is_empty() {
            return None;
        }
        if !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            names.push(name);
        }
    }
    Some(names)
}

/// Sets an issue's labels (creating missing repository labels), shown to readers after
/// the caller's lag.
pub(super) fn write_labels(
    s: &mut FakeState,
    r: usize,
    i: usize,
    names: &[String],
    lag: Option<Duration>,
) {
    let repo_id = s.repos[r].id;
    let names: Vec<String> = names.iter().map(|n| s.ensure_label(repo_id, n)).collect();
    let at = s.stamp();
    let visible_at = Instant::now() + lag.unwrap_or_default();
    if lag.is_some() {
        s.counters.lagged_writes += 1;
    }
    s.counters.writes += 1;
    let issue = &mut s.repos[r].issues[i];
    issue.label_log.push((visible_at, names));
    issue.updated_at = at;
}
