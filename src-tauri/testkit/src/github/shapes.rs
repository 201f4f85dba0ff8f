//! The JSON GitHub answers with: users, repositories, issues, comments and labels, with
//! every field the description marks required (and the usual optional ones).

use super::gate::percent_encode;
use super::{FakeState, Issue, Label, Repo, StoredComment};
use serde_json::{Value, json};
use std::time::Instant;

const WEB: &str = "https://github.com";

/// A `simple-user` (the owner of a repository that no user of the fake has is an
/// organization).
pub(crate) fn simple_user(s: &FakeState, login: &str) -> Value {
    let api = &s.base;
    let owner = s.repos.iter().any(|r| r.owner == login);
    let (id, kind) = match s.user(login) {
        Some(u) => (u.id, "User"),
        None => (
            9_000_000 + login.bytes().map(u64::from).sum::<u64>(),
            if owner { "Organization" } else { "User" },
        ),
    };
    json!({
        "login": login,
        "id": id,
        "node_id": format!("U_kgDO{id:08}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": format!("{api}/users/{login}"),
        "html_url": format!("{WEB}/{login}"),
        "followers_url": format!("{api}/users/{login}/followers"),
        "following_url": format!("{api}/users/{login}/following{{/other_user}}"),
        "gists_url": format!("{api}/users/{login}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/users/{login}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/users/{login}/subscriptions"),
        "organizations_url": format!("{api}/users/{login}/orgs"),
        "repos_url": format!("{api}/users/{login}/repos"),
        "events_url": format!("{api}/users/{login}/events{{/privacy}}"),
        "received_events_url": format!("{api}/users/{login}/received_events"),
        "type": kind,
        "user_view_type": "public",
        "site_admin": false,
    })
}

/// `GET /user`: the token's owner as they see themselves (`private-user`).
pub(crate) fn private_user(s: &FakeState, login: &str) -> Value {
    let mut u = simple_user(s, login);
    let (name, created_at) = s
        .user(login)
        .map(|u| (u.name.clone(), u.created_at.clone()))
        .unwrap_or_default();
    let owned = s.repos.iter().filter(|r| r.owner == login).count();
    let extra = json!({
        "user_view_type": "private",
        "name": name,
        "company": null,
        "blog": "",
        "location": null,
        "email": null,
        "notification_email": null,
        "hireable": null,
        "bio": null,
        "twitter_username": null,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": created_at,
        "updated_at": created_at,
        "private_gists": 0,
        "total_private_repos": owned,
        "owned_private_repos": owned,
        "disk_usage": 0,
        "collaborators": 0,
        "two_factor_authentication": true,
        "plan": {"name": "free", "space": 976562499, "collaborators": 0, "private_repos": 10000},
    });
    merge(&mut u, extra);
    u
}

/// A `repository` as lists show it; `full` adds what `GET /repos/{o}/{r}` has more
/// (`full-repository`).
pub(crate) fn repository(s: &FakeState, r: &Repo, full: bool) -> Value {
    let api = format!("{}/repos/{}", s.base, r.full_name());
    let web = format!("{WEB}/{}", r.full_name());
    let open = r
        .issues
        .iter()
        .filter(|i| i.state == "open" && !i.deleted)
        .count();
    let mut v = json!({
        "id": r.id,
        "node_id": format!("R_kgDO{:08}", r.id),
        "name": r.name,
        "full_name": r.full_name(),
        "private": true,
        "owner": simple_user(s, &r.owner),
        "html_url": web,
        "description": null,
        "fork": false,
        "url": api,
        "clone_url": format!("{web}.git"),
        "git_url": format!("git://github.com/{}.git", r.full_name()),
        "ssh_url": format!("git@github.com:{}.git", r.full_name()),
        "svn_url": web,
        "mirror_url": null,
        "homepage": null,
        "language": null,
        "license": null,
    });
    merge(
        &mut v,
        json!({
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "size": 0,
        "default_branch": "main",
        "open_issues": open,
        "open_issues_count": open,
        "is_template": false,
        "topics": [],
        "has_issues": true,
        "has_projects": true,
        "has_wiki": false,
        "has_pages": false,
        "has_downloads": true,
        "has_discussions": false,
        "archived": false,
        "disabled": false,
        "visibility": "private",
        "pushed_at": r.created_at,
        "created_at": r.created_at,
        "updated_at": r.created_at,
        "permissions": {"admin": true, "maintain": true, "push": true, "triage": true, "pull": true},
        "allow_forking": false,
        "web_commit_signoff_required": false,
        }),
    );
    let urls = [
        ("archive_url", "/{archive_format}{/ref}"),
        ("assignees_url", "/assignees{/user}"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("branches_url", "/branches{/branch}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("comments_url", "/comments{/number}"),
        ("commits_url", "/commits{/sha}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("contents_url", "/contents/{+path}"),
        ("contributors_url", "/contributors"),
        ("deployments_url", "/deployments"),
        ("downloads_url", "/downloads"),
        ("events_url", "/events"),
        ("forks_url", "/forks"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("hooks_url", "/hooks"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("issue_events_url", "/issues/events{/number}"),
        ("issues_url", "/issues{/number}"),
        ("keys_url", "/keys{/key_id}"),
        ("labels_url", "/labels{/name}"),
        ("languages_url", "/languages"),
        ("merges_url", "/merges"),
        ("milestones_url", "/milestones{/number}"),
        (
            "notifications_url",
            "/notifications{?since,all,participating}",
        ),
        ("pulls_url", "/pulls{/number}"),
        ("releases_url", "/releases{/id}"),
        ("stargazers_url", "/stargazers"),
        ("statuses_url", "/statuses/{sha}"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("tags_url", "/tags"),
        ("teams_url", "/teams"),
        ("trees_url", "/git/trees{/sha}"),
    ];
    for (key, suffix) in urls {
        v[key] = json!(format!("{api}{suffix}"));
    }
    if full {
        merge(
            &mut v,
            json!({
                "network_count": 0,
                "subscribers_count": 1,
                "allow_rebase_merge": true,
                "allow_squash_merge": true,
                "allow_merge_commit": true,
                "allow_auto_merge": false,
                "delete_branch_on_merge": false,
                "temp_clone_token": null,
                "security_and_analysis": null,
                "custom_properties": {},
            }),
        );
    }
    v
}

pub(crate) fn label(s: &FakeState, r: &Repo, l: &Label) -> Value {
    json!({
        "id": l.id,
        "node_id": format!("LA_kwDO{:010}", l.id),
        "url": format!("{}/repos/{}/labels/{}", s.base, r.full_name(), percent_encode(&l.name)),
        "name": l.name,
        "color": l.color,
        "default": l.default,
        "description": l.description,
    })
}

/// Label objects for names (in the order given); a name the repository lost is left out.
pub(crate) fn labels(s: &FakeState, r: &Repo, names: &[String]) -> Vec<Value> {
    names
        .iter()
        .filter_map(|n| r.label(n).map(|l| label(s, r, l)))
        .collect()
}

/// An issue or pull request as a read shows it now (`detail`: one issue, which also
/// carries `closed_by`, as GitHub's single-issue answer does).
pub(crate) fn issue(s: &FakeState, r: &Repo, i: &Issue, detail: bool) -> Value {
    let now = Instant::now();
    let api = format!("{}/repos/{}", s.base, r.full_name());
    let url = format!("{api}/issues/{}", i.number);
    let kind = if i.pull_request { "pull" } else { "issues" };
    let html = format!("{WEB}/{}/{kind}/{}", r.full_name(), i.number);
    let mut v = json!({
        "id": i.id,
        "node_id": format!("{}_kwDO{:010}", if i.pull_request { "PR" } else { "I" }, i.id),
        "url": url,
        "repository_url": api,
        "labels_url": format!("{url}/labels{{/name}}"),
        "comments_url": format!("{url}/comments"),
        "events_url": format!("{url}/events"),
        "html_url": html,
        "timeline_url": format!("{url}/timeline"),
        "number": i.number,
        "state": i.state,
        "state_reason": i.state_reason,
        "title": i.title,
        "body": i.body,
        "user": simple_user(s, &i.author),
        "labels": labels(s, r, &i.visible_labels(now)),
        "assignee": null,
        "assignees": [],
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": s.visible_comment_count(r.id, i.number, now),
        "closed_at": i.closed_at,
        "created_at": i.created_at,
        "updated_at": i.updated_at,
        "author_association": association(r, &i.author),
        "type": null,
        "performed_via_github_app": null,
        "reactions": reactions(&url),
        "sub_issues_summary": {"total": 0, "completed": 0, "percent_completed": 0},
        "issue_dependencies_summary": {
            "blocked_by": 0, "blocking": 0, "total_blocked_by": 0, "total_blocking": 0
        },
    });
    if i.pull_request {
        let pulls = format!("{api}/pulls/{}", i.number);
        v["draft"] = json!(false);
        v["pull_request"] = json!({
            "url": pulls,
            "html_url": html,
            "diff_url": format!("{html}.diff"),
            "patch_url": format!("{html}.patch"),
            "merged_at": null,
        });
    }
    if detail {
        v["closed_by"] = match &i.closed_by {
            Some(login) => simple_user(s, login),
            None => Value::Null,
        };
    }
    v
}

pub(crate) fn comment(s: &FakeState, r: &Repo, c: &StoredComment) -> Value {
    let api = format!("{}/repos/{}", s.base, r.full_name());
    let url = format!("{api}/issues/comments/{}", c.id);
    json!({
        "id": c.id,
        "node_id": format!("IC_kwDO{:010}", c.id),
        "url": url,
        "html_url": format!("{WEB}/{}/issues/{}#issuecomment-{}", r.full_name(), c.issue_number, c.id),
        "issue_url": format!("{api}/issues/{}", c.issue_number),
        "body": c.body,
        "user": simple_user(s, &c.author),
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "author_association": association(r, &c.author),
        "performed_via_github_app": null,
        "reactions": reactions(&url),
    })
}

fn association(r: &Repo, login: &str) -> &'static str {
    if r.owner == login {
        "OWNER"
    } else {
        "COLLABORATOR"
    }
}

fn reactions(url: &str) -> Value {
    json!({
        "url": format!("{url}/reactions"),
        "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "confused": 0,
        "heart": 0, "hooray": 0, "eyes": 0, "rocket": 0,
    })
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}
