//! The operations served, each as GitHub's description and its documentation describe it.

// The helpers' Err is the HTTP answer itself, returned as it is (boxing it would only add
// an allocation to every refusal).
#![allow(clippy::result_large_err)]

use super::gate::{Caller, error, percent_encode};
use super::{DOCS, FakeState, Issue, Label, Shared, StoredComment, shapes};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

mod comments;
mod issues;
mod labels;

pub(crate) use comments::push_comment;
use comments::{create_comment, delete_comment, list_comments, update_comment};
pub(crate) use issues::set_state;
use issues::{get_issue, list_issues, update_issue};
use labels::{
    add_labels, create_label, list_issue_labels, list_repo_labels, remove_label, set_labels,
};

type Params = Path<HashMap<String, String>>;

/// Each operation's documentation page (its `externalDocs` in the description), which
/// GitHub's errors point to.
mod docs {
    pub const USER_REPOS: &str =
        "https://docs.github.com/rest/repos/repos#list-repositories-for-the-authenticated-user";
    pub const REPO: &str = "https://docs.github.com/rest/repos/repos#get-a-repository";
    pub const ISSUES: &str = "https://docs.github.com/rest/issues/issues#list-repository-issues";
    pub const ISSUE: &str = "https://docs.github.com/rest/issues/issues#get-an-issue";
    pub const UPDATE_ISSUE: &str = "https://docs.github.com/rest/issues/issues#update-an-issue";
    pub const COMMENTS: &str = "https://docs.github.com/rest/issues/comments#list-issue-comments";
    pub const CREATE_COMMENT: &str =
        "https://docs.github.com/rest/issues/comments#create-an-issue-comment";
    pub const UPDATE_COMMENT: &str =
        "https://docs.github.com/rest/issues/comments#update-an-issue-comment";
    pub const DELETE_COMMENT: &str =
        "https://docs.github.com/rest/issues/comments#delete-an-issue-comment";
    pub const ISSUE_LABELS: &str =
        "https://docs.github.com/rest/issues/labels#list-labels-for-an-issue";
    pub const ADD_LABELS: &str =
        "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue";
    pub const SET_LABELS: &str =
        "https://docs.github.com/rest/issues/labels#set-labels-for-an-issue";
    pub const REMOVE_LABEL: &str =
        "https://docs.github.com/rest/issues/labels#remove-a-label-from-an-issue";
    pub const REPO_LABELS: &str =
        "https://docs.github.com/rest/issues/labels#list-labels-for-a-repository";
    pub const CREATE_LABEL: &str = "https://docs.github.com/rest/issues/labels#create-a-label";
}

pub(crate) fn router() -> Router<Shared> {
    let mut r = Router::new()
        .route("/user", get(get_user))
        .route("/user/repos", get(list_user_repos));
    // GitHub's Link headers point to /repositories/{id}/…: both spellings are served.
    for p in ["/repos/{owner}/{repo}", "/repositories/{repository_id}"] {
        r = r
            .route(p, get(get_repo))
            .route(&format!("{p}/issues"), get(list_issues))
            .route(
                &format!("{p}/issues/{{issue_number}}"),
                get(get_issue).patch(update_issue),
            )
            .route(
                &format!("{p}/issues/{{issue_number}}/comments"),
                get(list_comments).post(create_comment),
            )
            .route(
                &format!("{p}/issues/comments/{{comment_id}}"),
                patch(update_comment).delete(delete_comment),
            )
            .route(
                &format!("{p}/issues/{{issue_number}}/labels"),
                get(list_issue_labels).post(add_labels).put(set_labels),
            )
            .route(
                &format!("{p}/issues/{{issue_number}}/labels/{{name}}"),
                delete(remove_label),
            )
            .route(
                &format!("{p}/labels"),
                get(list_repo_labels).post(create_label),
            );
    }
    r.fallback(not_found).method_not_allowed_fallback(not_found)
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found", DOCS)
}

fn lock(st: &Shared) -> MutexGuard<'_, FakeState> {
    st.lock().unwrap_or_else(|e| e.into_inner())
}

fn not_found_at(docs: &str) -> Response {
    error(StatusCode::NOT_FOUND, "Not Found", docs)
}

/// 422 "Validation Failed" with one error object.
fn invalid(docs: &str, resource: &str, field: &str, code: &str, message: Option<&str>) -> Response {
    let mut e = json!({"resource": resource, "field": field, "code": code});
    if let Some(m) = message {
        e["message"] = json!(m);
    }
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({
            "message": "Validation Failed",
            "errors": [e],
            "documentation_url": docs,
            "status": "422",
        })),
    )
        .into_response()
}

/// 422 for a body that does not fit the operation's schema, worded as GitHub does.
fn invalid_request(docs: &str, detail: &str) -> Response {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        &format!("Invalid request.\n\n{detail}"),
        docs,
    )
}

fn parse_json(body: &Bytes, docs: &str) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body)
        .map_err(|_| error(StatusCode::BAD_REQUEST, "Problems parsing JSON", docs))
}

/// The repository the path names, as the caller may use it: 404 when there is none or the
/// token cannot see it; 403 for a write with a token that may only read.
fn find_repo(
    s: &FakeState,
    caller: &Caller,
    p: &HashMap<String, String>,
    write: bool,
    docs: &str,
) -> Result<usize, Response> {
    let found = match (p.get("owner"), p.get("repo"), p.get("repository_id")) {
        (Some(o), Some(r), _) => {
            let key = format!("{o}/{r}").to_lowercase();
            s.repos.iter().position(|x| x.key() == key)
        }
        (_, _, Some(id)) => id
            .parse::<u64>()
            .ok()
            .and_then(|id| s.repos.iter().position(|x| x.id == id)),
        _ => None,
    };
    let token = s.token(&caller.token);
    let Some(i) = found.filter(|i| token.is_some_and(|t| !t.hidden.contains(&s.repos[*i].key())))
    else {
        return Err(not_found_at(docs));
    };
    if write && token.is_some_and(|t| t.read_only) {
        let mut r = error(
            StatusCode::FORBIDDEN,
            "Resource not accessible by personal access token",
            docs,
        );
        r.headers_mut().insert(
            "x-accepted-github-permissions",
            HeaderValue::from_static("issues=write; pull_requests=write"),
        );
        return Err(r);
    }
    Ok(i)
}

/// The issue the path names: 404 when there is none, 410 when it was deleted.
fn find_issue(
    s: &FakeState,
    repo: usize,
    p: &HashMap<String, String>,
    docs: &str,
) -> Result<usize, Response> {
    let number = p.get("issue_number").and_then(|n| n.parse::<u64>().ok());
    let Some(i) = number.and_then(|n| s.repos[repo].issues.iter().position(|i| i.number == n))
    else {
        return Err(not_found_at(docs));
    };
    if s.repos[repo].issues[i].deleted {
        return Err(error(StatusCode::GONE, "This issue was deleted", docs));
    }
    Ok(i)
}

fn query_pairs(q: &Option<String>) -> Vec<(String, String)> {
    q.as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// One page of `items` (`per_page`: 30 by default, at most 100; `page` from 1) with
/// GitHub's `Link` header (`prev`, `next`, `last`, `first`, pointing to `link_path` with
/// the request's own parameters).
fn paginate(s: &FakeState, items: Vec<Value>, q: &[(String, String)], link_path: &str) -> Response {
    let per_page = param(q, "per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .map_or(30, |n| n.min(100));
    let page = param(q, "page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let last = items.len().div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let link = |n: usize| {
        let mut pairs: Vec<(String, String)> = q.to_vec();
        match pairs.iter_mut().find(|(k, _)| k == "page") {
            Some(p) => p.1 = n.to_string(),
            None => pairs.push(("page".into(), n.to_string())),
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        format!("<{}{link_path}?{}>", s.base, query.join("&"))
    };
    let mut rels = Vec::new();
    if page > 1 {
        rels.push(format!("{}; rel=\"prev\"", link((page - 1).min(last))));
    }
    if page < last {
        rels.push(format!("{}; rel=\"next\"", link(page + 1)));
        rels.push(format!("{}; rel=\"last\"", link(last)));
    }
    if page > 1 {
        rels.push(format!("{}; rel=\"first\"", link(1)));
    }
    let mut r = axum::Json(slice).into_response();
    if !rels.is_empty()
        && let Ok(v) = HeaderValue::from_str(&rels.join(", "))
    {
        r.headers_mut().insert(header::LINK, v);
    }
    r
}

fn parse_time(v: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(v)
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}

fn since_filter(
    q: &[(String, String)],
    docs: &str,
    resource: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, Response> {
    match param(q, "since") {
        None => Ok(None),
        Some(v) => parse_time(v)
            .map(Some)
            .ok_or_else(|| invalid(docs, resource, "since", "invalid", None)),
    }
}

// ---- Users and repositories ----

async fn get_user(State(st): State<Shared>, Extension(c): Extension<Caller>) -> Response {
    let s = lock(&st);
    axum::Json(shapes::private_user(&s, &c.login)).into_response()
}

async fn list_user_repos(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = query_pairs(&q);
    let s = lock(&st);
    let Some(token) = s.token(&c.token) else {
        return not_found_at(docs::USER_REPOS);
    };
    let mut repos: Vec<_> = s
        .repos
        .iter()
        .filter(|r| !token.hidden.contains(&r.key()))
        .collect();
    repos.sort_by_key(|r| r.key());
    if param(&q, "direction") == Some("desc") {
        repos.reverse();
    }
    let items = repos
        .iter()
        .map(|r| shapes::repository(&s, r, false))
        .collect();
    paginate(&s, items, &q, "/user/repos")
}

async fn get_repo(
    State(st): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(p): Params,
) -> Response {
    let s = lock(&st);
    match find_repo(&s, &c, &p, false, docs::REPO) {
        Ok(r) => axum::Json(shapes::repository(&s, &s.repos[r], true)).into_response(),
        Err(e) => e,
    }
}
