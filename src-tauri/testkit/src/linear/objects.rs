//! The objects a query reaches (`User`, `Team`, `WorkflowState`, `IssueLabel`, `Project`,
//! `Issue`, `Comment`), each a snapshot taken when it was reached; its relations are looked
//! up in the store as they are asked for.

use super::error::ApiError;
use super::resolve::{self, Ctx, args, connection, leaf, obj};
use super::store::{Comment, Issue, Label, Project, Team, User, WfState, fmt_time};
use apollo_compiler::resolvers::{FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// Where links point (the fake's workspace is called "fake").
const APP: &str = "https://linear.app/fake";

#[derive(Debug, Clone)]
pub(crate) enum Entity {
    User(User),
    Team(Team),
    State(WfState),
    Label(Label),
    Project(Project),
    Issue(Issue),
    Comment(Comment),
}

impl Entity {
    pub fn id(&self) -> &str {
        match self {
            Entity::User(x) => &x.id,
            Entity::Team(x) => &x.id,
            Entity::State(x) => &x.id,
            Entity::Label(x) => &x.id,
            Entity::Project(x) => &x.id,
            Entity::Issue(x) => &x.id,
            Entity::Comment(x) => &x.id,
        }
    }

    /// The order of a list: by creation (or last update), then by id.
    pub fn sort_key(&self, by_update: bool) -> (DateTime<Utc>, String) {
        let (created, updated) = match self {
            Entity::User(x) => (x.created_at, x.created_at),
            Entity::Team(x) => (x.created_at, x.created_at),
            Entity::State(x) => (x.created_at, x.created_at),
            Entity::Label(x) => (x.created_at, x.created_at),
            Entity::Project(x) => (x.created_at, x.updated_at),
            Entity::Issue(x) => (x.created_at, x.updated_at),
            Entity::Comment(x) => (x.created_at, x.updated_at),
        };
        (
            if by_update { updated } else { created },
            self.id().to_string(),
        )
    }
}

pub(crate) struct Obj<'a> {
    pub ctx: &'a Ctx,
    pub e: Entity,
}

fn text<'a>(s: &str) -> ResolvedValue<'a> {
    leaf(Value::String(s.to_string()))
}

fn time<'a>(t: &DateTime<Utc>) -> ResolvedValue<'a> {
    leaf(Value::String(fmt_time(t)))
}

fn slug(title: &str) -> String {
    let words: Vec<String> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(str::to_lowercase)
        .collect();
    words.join("-")
}

fn priority_label(p: u8) -> &'static str {
    match p {
        1 => "Urgent",
        2 => "High",
        3 => "Medium",
        4 => "Low",
        _ => "No priority",
    }
}

impl ObjectValue for Obj<'_> {
    fn type_name(&self) -> &str {
        match self.e {
            Entity::User(_) => "User",
            Entity::Team(_) => "Team",
            Entity::State(_) => "WorkflowState",
            Entity::Label(_) => "IssueLabel",
            Entity::Project(_) => "Project",
            Entity::Issue(_) => "Issue",
            Entity::Comment(_) => "Comment",
        }
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let field = info.field_name();
        // Never set on anything the fake holds.
        if matches!(field, "archivedAt" | "retiredAt" | "parent" | "parentId") {
            return Ok(ResolvedValue::null());
        }
        let r = match &self.e {
            Entity::User(u) => self.user(u, field),
            Entity::Team(t) => self.team(t, info),
            Entity::State(w) => self.state(w, field),
            Entity::Label(l) => self.label(l, field),
            Entity::Project(p) => self.project(p, info),
            Entity::Issue(i) => self.issue(i, info),
            Entity::Comment(c) => self.comment(c, field),
        };
        let r = r.and_then(|v| {
            v.ok_or_else(|| ApiError::unsupported(format_args!("{}.{field}", self.type_name())))
        });
        self.ctx.run(r)
    }
}

type Field<'a> = Result<Option<ResolvedValue<'a>>, ApiError>;

impl<'c> Obj<'c> {
    fn user<'a>(&'a self, u: &User, field: &str) -> Field<'a> {
        let is_me = self
            .ctx
            .store
            .borrow()
            .viewer
            .as_ref()
            .is_some_and(|v| v.id == u.id);
        Ok(Some(match field {
            "id" => text(&u.id),
            "name" | "displayName" => text(&u.name),
            "email" => text(&u.email),
            "active" => leaf(json!(true)),
            "admin" | "guest" | "app" => leaf(json!(false)),
            "isMe" => leaf(json!(is_me)),
            "createdAt" | "updatedAt" => time(&u.created_at),
            "avatarUrl" => ResolvedValue::null(),
            "url" => text(&format!("{APP}/profiles/{}", slug(&u.name))),
            _ => return Ok(None),
        }))
    }

    fn team<'a>(&'a self, t: &Team, info: &'a ResolveInfo<'a>) -> Field<'a> {
        let ctx = self.ctx;
        let a = args(info);
        let s = ctx.store.borrow();
        Ok(Some(match info.field_name() {
            "id" => text(&t.id),
            "key" => text(&t.key),
            "name" | "displayName" => text(&t.name),
            "description" => ResolvedValue::null(),
            "private" => leaf(json!(false)),
            "createdAt" | "updatedAt" => time(&t.created_at),
            "states" => connection(
                ctx,
                &a,
                resolve::states(&s, |w| w.team_id == t.id),
                "WorkflowState",
            )?,
            "labels" => connection(
                ctx,
                &a,
                resolve::labels(&s, |l| l.team_id.as_deref() == Some(&t.id)),
                "IssueLabel",
            )?,
            "issues" => connection(ctx, &a, resolve::issues(&s, |i| i.team_id == t.id), "Issue")?,
            "projects" => {
                let items = s
                    .projects
                    .iter()
                    .filter(|p| p.team_ids.contains(&t.id))
                    .map(|p| (Entity::Project(p.clone()), super::filter::project_view(p)))
                    .collect();
                connection(ctx, &a, items, "Project")?
            }
            _ => return Ok(None),
        }))
    }

    fn state<'a>(&'a self, w: &WfState, field: &str) -> Field<'a> {
        Ok(Some(match field {
            "id" => text(&w.id),
            "name" => text(&w.name),
            "type" => text(&w.kind),
            "position" => leaf(json!(w.position)),
            "color" => text(&w.color),
            "description" => ResolvedValue::null(),
            "createdAt" | "updatedAt" => time(&w.created_at),
            "team" => self.team_of(&w.team_id)?,
            _ => return Ok(None),
        }))
    }

    fn label<'a>(&'a self, l: &Label, field: &str) -> Field<'a> {
        Ok(Some(match field {
            "id" => text(&l.id),
            "name" => text(&l.name),
            "color" => text(&l.color),
            "description" => ResolvedValue::null(),
            "isGroup" => leaf(json!(false)),
            "createdAt" | "updatedAt" => time(&l.created_at),
            "team" => match &l.team_id {
                Some(t) => self.team_of(t)?,
                None => ResolvedValue::null(),
            },
            _ => return Ok(None),
        }))
    }

    fn project<'a>(&'a self, p: &Project, info: &'a ResolveInfo<'a>) -> Field<'a> {
        let ctx = self.ctx;
        let a = args(info);
        let s = ctx.store.borrow();
        Ok(Some(match info.field_name() {
            "id" => text(&p.id),
            "name" => text(&p.name),
            "description" => text(""),
            "slugId" => text(&p.id[..8]),
            "url" => text(&format!("{APP}/project/{}-{}", slug(&p.name), &p.id[..8])),
            "createdAt" => time(&p.created_at),
            "updatedAt" => time(&p.updated_at),
            "teams" => {
                let items = s
                    .teams
                    .iter()
                    .filter(|t| p.team_ids.contains(&t.id))
                    .map(|t| (Entity::Team(t.clone()), super::filter::team_view(t)))
                    .collect();
                connection(ctx, &a, items, "Team")?
            }
            "issues" => connection(
                ctx,
                &a,
                resolve::issues(&s, |i| i.project_id.as_deref() == Some(&p.id)),
                "Issue",
            )?,
            _ => return Ok(None),
        }))
    }

    fn issue<'a>(&'a self, i: &Issue, info: &'a ResolveInfo<'a>) -> Field<'a> {
        let ctx = self.ctx;
        let a = args(info);
        let s = ctx.store.borrow();
        let identifier = s.identifier(i);
        Ok(Some(match info.field_name() {
            "id" => text(&i.id),
            "identifier" => text(&identifier),
            "number" => leaf(json!(f64::from(i.number))),
            "title" => text(&i.title),
            "description" => leaf(json!(i.description)),
            "priority" => leaf(json!(f64::from(i.priority))),
            "priorityLabel" => text(priority_label(i.priority)),
            "url" => text(&format!("{APP}/issue/{identifier}/{}", slug(&i.title))),
            "branchName" => text(&format!("{}-{}", identifier.to_lowercase(), slug(&i.title))),
            "createdAt" => time(&i.created_at),
            "updatedAt" => time(&i.updated_at),
            "dueDate" => leaf(json!(i.due_date)),
            "labelIds" => leaf(json!(i.label_ids)),
            "assignee" | "delegate" | "trashed" => ResolvedValue::null(),
            "state" => match s.state(&i.state_id) {
                Some(w) => obj(ctx, Entity::State(w.clone())),
                None => return Err(ApiError::not_found("WorkflowState")),
            },
            "team" => self.team_of(&i.team_id)?,
            "project" => match i.project_id.as_deref().and_then(|p| s.project(p)) {
                Some(p) => obj(ctx, Entity::Project(p.clone())),
                None => ResolvedValue::null(),
            },
            "labels" => connection(
                ctx,
                &a,
                resolve::labels(&s, |l| i.label_ids.contains(&l.id)),
                "IssueLabel",
            )?,
            "comments" => connection(
                ctx,
                &a,
                resolve::comments(&s, |c| c.issue_id == i.id),
                "Comment",
            )?,
            _ => return Ok(None),
        }))
    }

    fn comment<'a>(&'a self, c: &Comment, field: &str) -> Field<'a> {
        let ctx = self.ctx;
        let s = ctx.store.borrow();
        Ok(Some(match field {
            "id" => text(&c.id),
            "body" => text(&c.body),
            "createdAt" => time(&c.created_at),
            "updatedAt" => time(&c.updated_at),
            "editedAt" => c.edited_at.as_ref().map_or(ResolvedValue::null(), time),
            "resolvedAt" | "quotedText" => ResolvedValue::null(),
            "issueId" => text(&c.issue_id),
            "url" => {
                let issue = s.issues.iter().find(|i| i.id == c.issue_id);
                let ident = issue.map(|i| s.identifier(i)).unwrap_or_default();
                text(&format!("{APP}/issue/{ident}#comment-{}", &c.id[..8]))
            }
            "issue" => match s.issues.iter().find(|i| i.id == c.issue_id) {
                Some(i) => obj(ctx, Entity::Issue(i.clone())),
                None => ResolvedValue::null(),
            },
            "user" => match s.user(&c.user_id) {
                Some(u) => obj(ctx, Entity::User(u.clone())),
                None => ResolvedValue::null(),
            },
            _ => return Ok(None),
        }))
    }

    fn team_of<'a>(&'a self, id: &str) -> Result<ResolvedValue<'a>, ApiError> {
        let team = self.ctx.store.borrow().team(id).cloned();
        team.map(|t| obj(self.ctx, Entity::Team(t)))
            .ok_or_else(|| ApiError::not_found("Team"))
    }
}
