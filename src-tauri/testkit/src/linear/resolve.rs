//! The roots of execution (`Query`, `Mutation`) and connections, for apollo-compiler's
//! resolver-based executor: it walks the validated selection set (aliases, fragments,
//! variables, `__typename`, null propagation) and asks these objects for one field at a
//! time. A field the fake does not serve answers a field error that says so.

use super::error::ApiError;
use super::filter;
use super::objects::{Entity, Obj};
use super::store::{DuplicateId, Store};
use apollo_compiler::resolvers::{FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::response::JsonValue;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::time::Duration;

/// Linear's page sizes: 50 unless `first` says otherwise, at most 250.
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: i64 = 250;

/// Everything a request's resolvers share. The store is moved in for the request and back
/// out after it (execution is synchronous and holds the server's lock throughout).
pub(crate) struct Ctx {
    pub store: RefCell<Store>,
    /// Errors raised by resolvers, with the extensions their answer carries.
    pub errors: RefCell<Vec<ApiError>>,
    /// This request's writes become visible only after this.
    pub lag: Option<Duration>,
    pub duplicate: DuplicateId,
}

impl Ctx {
    pub fn fail(&self, e: ApiError) -> FieldError {
        let message = e.message.clone();
        self.errors.borrow_mut().push(e);
        FieldError { message }
    }

    pub fn run<'a>(
        &self,
        r: Result<ResolvedValue<'a>, ApiError>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        r.map_err(|e| self.fail(e))
    }
}

/// A leaf value from plain JSON.
pub(crate) fn leaf<'a>(v: Value) -> ResolvedValue<'a> {
    ResolvedValue::Leaf(serde_json::from_value::<JsonValue>(v).unwrap_or(JsonValue::Null))
}

/// The field's arguments after coercion (defaults filled in), as plain JSON.
pub(crate) fn args(info: &ResolveInfo<'_>) -> Map<String, Value> {
    serde_json::to_value(info.arguments())
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

pub(crate) fn obj<'a>(ctx: &'a Ctx, e: Entity) -> ResolvedValue<'a> {
    ResolvedValue::object(Obj { ctx, e })
}

/// `Query`.
pub(crate) struct QueryRoot<'a> {
    pub ctx: &'a Ctx,
}

impl ObjectValue for QueryRoot<'_> {
    fn type_name(&self) -> &str {
        "Query"
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let ctx = self.ctx;
        let a = args(info);
        let id = a.get("id").and_then(Value::as_str).unwrap_or_default();
        let r = {
            let s = ctx.store.borrow();
            match info.field_name() {
                "viewer" => s
                    .viewer
                    .clone()
                    .map(|u| obj(ctx, Entity::User(u)))
                    .ok_or_else(|| ApiError::not_found("User")),
                "teams" => {
                    let items = s
                        .teams
                        .iter()
                        .map(|t| (Entity::Team(t.clone()), filter::team_view(t)))
                        .collect();
                    connection(ctx, &a, items, "Team")
                }
                "team" => s
                    .team(id)
                    .cloned()
                    .map(|t| obj(ctx, Entity::Team(t)))
                    .ok_or_else(|| ApiError::not_found("Team")),
                "issues" => connection(ctx, &a, issues(&s, |_| true), "Issue"),
                "issue" => s
                    .issue_index(id)
                    .map(|i| obj(ctx, Entity::Issue(s.issues[i].clone())))
                    .ok_or_else(|| ApiError::not_found("Issue")),
                "comments" => connection(ctx, &a, comments(&s, |_| true), "Comment"),
                "comment" => s
                    .comments
                    .iter()
                    .find(|c| c.id == id && s.visible_comment(c))
                    .map(|c| obj(ctx, Entity::Comment(c.clone())))
                    .ok_or_else(|| ApiError::not_found("Comment")),
                "projects" => {
                    let items = s
                        .projects
                        .iter()
                        .map(|p| (Entity::Project(p.clone()), filter::project_view(p)))
                        .collect();
                    connection(ctx, &a, items, "Project")
                }
                "project" => s
                    .project(id)
                    .cloned()
                    .map(|p| obj(ctx, Entity::Project(p)))
                    .ok_or_else(|| ApiError::not_found("Project")),
                "issueLabels" => connection(ctx, &a, labels(&s, |_| true), "IssueLabel"),
                "workflowStates" => connection(ctx, &a, states(&s, |_| true), "WorkflowState"),
                other => Err(ApiError::unsupported(format_args!("Query.{other}"))),
            }
        };
        ctx.run(r)
    }
}

/// `Mutation`: the writes Delegate makes. Each answers its payload (`success`,
/// `lastSyncId` and the entity) even when the write is lagged.
pub(crate) struct MutationRoot<'a> {
    pub ctx: &'a Ctx,
}

impl ObjectValue for MutationRoot<'_> {
    fn type_name(&self) -> &str {
        "Mutation"
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let ctx = self.ctx;
        let a = args(info);
        let id = a.get("id").and_then(Value::as_str).unwrap_or_default();
        let input = a
            .get("input")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let r = {
            let mut s = ctx.store.borrow_mut();
            let (ty, done) = match info.field_name() {
                "commentCreate" => (
                    "CommentPayload",
                    s.comment_create(&input, ctx.lag, ctx.duplicate)
                        .map(|c| Done::Entity(Entity::Comment(c))),
                ),
                "commentUpdate" => (
                    "CommentPayload",
                    s.comment_update(id, &input, ctx.lag)
                        .map(|c| Done::Entity(Entity::Comment(c))),
                ),
                "commentDelete" => (
                    "DeletePayload",
                    s.comment_delete(id, ctx.lag).map(Done::Deleted),
                ),
                "issueUpdate" => (
                    "IssuePayload",
                    s.issue_update(id, &input, ctx.lag)
                        .map(|i| Done::Entity(Entity::Issue(i))),
                ),
                "issueLabelCreate" if a.get("replaceTeamLabels") == Some(&Value::Bool(true)) => (
                    "IssueLabelPayload",
                    Err(ApiError::unsupported(
                        "issueLabelCreate(replaceTeamLabels: true)",
                    )),
                ),
                "issueLabelCreate" => (
                    "IssueLabelPayload",
                    s.label_create(&input)
                        .map(|l| Done::Entity(Entity::Label(l))),
                ),
                "fileUpload" => ("UploadPayload", s.file_upload(&a).map(Done::Upload)),
                other => (
                    "",
                    Err(ApiError::unsupported(format_args!("Mutation.{other}"))),
                ),
            };
            done.map(|done| {
                ResolvedValue::object(Payload {
                    ctx,
                    ty,
                    sync_id: s.sync_id,
                    done,
                })
            })
        };
        ctx.run(r)
    }
}

enum Done {
    Entity(Entity),
    Deleted(String),
    /// `fileUpload`'s `uploadFile`, as plain JSON.
    Upload(Value),
}

/// An object served from plain JSON (`UploadFile`, `UploadFileHeader`): scalars as they
/// are, lists of objects as objects of `item` type.
struct JsonObject {
    ty: &'static str,
    v: Value,
}

impl ObjectValue for JsonObject {
    fn type_name(&self) -> &str {
        self.ty
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match self.v.get(info.field_name()) {
            Some(Value::Array(items)) => Ok(ResolvedValue::list(items.iter().map(|i| {
                ResolvedValue::object(JsonObject {
                    ty: "UploadFileHeader",
                    v: i.clone(),
                })
            }))),
            Some(v) => Ok(leaf(v.clone())),
            None => Ok(leaf(Value::Null)),
        }
    }
}

/// `CommentPayload`, `IssuePayload`, `IssueLabelPayload`, `DeletePayload`.
struct Payload<'a> {
    ctx: &'a Ctx,
    ty: &'static str,
    sync_id: u64,
    done: Done,
}

impl ObjectValue for Payload<'_> {
    fn type_name(&self) -> &str {
        self.ty
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match (info.field_name(), &self.done) {
            ("success", _) => Ok(leaf(Value::Bool(true))),
            ("lastSyncId", _) => Ok(leaf(serde_json::json!(self.sync_id as f64))),
            ("comment" | "issue" | "issueLabel", Done::Entity(e)) => Ok(obj(self.ctx, e.clone())),
            ("entityId", Done::Deleted(id)) => Ok(leaf(Value::String(id.clone()))),
            ("uploadFile", Done::Upload(v)) => Ok(ResolvedValue::object(JsonObject {
                ty: "UploadFile",
                v: v.clone(),
            })),
            (other, _) => Err(self
                .ctx
                .fail(ApiError::unsupported(format_args!("{}.{other}", self.ty)))),
        }
    }
}

pub(crate) fn issues(
    s: &Store,
    keep: impl Fn(&super::store::Issue) -> bool,
) -> Vec<(Entity, Value)> {
    s.issues
        .iter()
        .filter(|i| keep(i))
        .map(|i| (Entity::Issue(i.clone()), filter::issue_view(s, i)))
        .collect()
}

pub(crate) fn comments(
    s: &Store,
    keep: impl Fn(&super::store::Comment) -> bool,
) -> Vec<(Entity, Value)> {
    s.comments
        .iter()
        .filter(|c| s.visible_comment(c) && keep(c))
        .map(|c| (Entity::Comment(c.clone()), filter::comment_view(s, c)))
        .collect()
}

pub(crate) fn labels(
    s: &Store,
    keep: impl Fn(&super::store::Label) -> bool,
) -> Vec<(Entity, Value)> {
    s.labels
        .iter()
        .filter(|l| keep(l))
        .map(|l| (Entity::Label(l.clone()), filter::label_view(s, l)))
        .collect()
}

pub(crate) fn states(
    s: &Store,
    keep: impl Fn(&super::store::WfState) -> bool,
) -> Vec<(Entity, Value)> {
    s.states
        .iter()
        .filter(|w| keep(w))
        .map(|w| (Entity::State(w.clone()), filter::state_view(s, w)))
        .collect()
}

/// A page of `items` as a `{Node}Connection`: filtered by `filter`, ordered by `orderBy`
/// (`createdAt` unless `updatedAt`, newest first), after the cursor `after` (a node's id),
/// `first` of them (50 by default, at most 250).
pub(crate) fn connection<'a>(
    ctx: &'a Ctx,
    a: &Map<String, Value>,
    mut items: Vec<(Entity, Value)>,
    node: &'static str,
) -> Result<ResolvedValue<'a>, ApiError> {
    for key in ["last", "before", "sort"] {
        if a.get(key).is_some_and(|v| !v.is_null()) {
            return Err(ApiError::unsupported(format_args!(
                "the argument {key} on a {node} list"
            )));
        }
    }
    if let Some(f) = a.get("filter").filter(|f| !f.is_null()) {
        let mut kept = Vec::with_capacity(items.len());
        for (e, view) in items {
            if filter::matches(f, &view, node)? {
                kept.push((e, view));
            }
        }
        items = kept;
    }
    let by_update = a.get("orderBy").and_then(Value::as_str) == Some("updatedAt");
    let mut nodes: Vec<Entity> = items.into_iter().map(|(e, _)| e).collect();
    nodes.sort_by_key(|n| std::cmp::Reverse(n.sort_key(by_update)));
    let first = match a.get("first").and_then(Value::as_i64) {
        None => DEFAULT_PAGE,
        Some(n) if (0..=MAX_PAGE).contains(&n) => n as usize,
        Some(_) => {
            return Err(ApiError::input(
                "Argument Validation Error",
                format!("first must be between 0 and {MAX_PAGE}."),
            ));
        }
    };
    let start = match a.get("after").and_then(Value::as_str) {
        None => 0,
        Some(cursor) => {
            let key = ctx
                .store
                .borrow()
                .sort_key_of(cursor, by_update)
                .ok_or_else(|| ApiError::input("Invalid cursor", "The cursor is not valid."))?;
            nodes
                .iter()
                .position(|n| n.sort_key(by_update) < key)
                .unwrap_or(nodes.len())
        }
    };
    let has_previous = start > 0;
    let mut page: Vec<Entity> = nodes.into_iter().skip(start).collect();
    let has_next = page.len() > first;
    page.truncate(first);
    Ok(ResolvedValue::object(Connection {
        ctx,
        node,
        nodes: page,
        has_next,
        has_previous,
    }))
}

struct Connection<'a> {
    ctx: &'a Ctx,
    node: &'static str,
    nodes: Vec<Entity>,
    has_next: bool,
    has_previous: bool,
}

impl ObjectValue for Connection<'_> {
    fn type_name(&self) -> &str {
        match self.node {
            "Issue" => "IssueConnection",
            "Comment" => "CommentConnection",
            "Team" => "TeamConnection",
            "WorkflowState" => "WorkflowStateConnection",
            "IssueLabel" => "IssueLabelConnection",
            "Project" => "ProjectConnection",
            _ => "UserConnection",
        }
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let ctx = self.ctx;
        match info.field_name() {
            "nodes" => Ok(ResolvedValue::list(
                self.nodes.iter().map(move |e| obj(ctx, e.clone())),
            )),
            "edges" => Ok(ResolvedValue::list(self.nodes.iter().map(move |e| {
                ResolvedValue::object(Edge {
                    ctx,
                    node: self.node,
                    e: e.clone(),
                })
            }))),
            "pageInfo" => Ok(ResolvedValue::object(PageInfo {
                has_next: self.has_next,
                has_previous: self.has_previous,
                start: self.nodes.first().map(|e| e.id().to_string()),
                end: self.nodes.last().map(|e| e.id().to_string()),
            })),
            other => Err(ctx.fail(ApiError::unsupported(format_args!(
                "{}.{other}",
                self.type_name()
            )))),
        }
    }
}

struct Edge<'a> {
    ctx: &'a Ctx,
    node: &'static str,
    e: Entity,
}

impl ObjectValue for Edge<'_> {
    fn type_name(&self) -> &str {
        match self.node {
            "Issue" => "IssueEdge",
            "Comment" => "CommentEdge",
            "Team" => "TeamEdge",
            "WorkflowState" => "WorkflowStateEdge",
            "IssueLabel" => "IssueLabelEdge",
            "Project" => "ProjectEdge",
            _ => "UserEdge",
        }
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match info.field_name() {
            "node" => Ok(obj(self.ctx, self.e.clone())),
            "cursor" => Ok(leaf(Value::String(self.e.id().to_string()))),
            other => Err(self
                .ctx
                .fail(ApiError::unsupported(format_args!("Edge.{other}")))),
        }
    }
}

struct PageInfo {
    has_next: bool,
    has_previous: bool,
    start: Option<String>,
    end: Option<String>,
}

impl ObjectValue for PageInfo {
    fn type_name(&self) -> &str {
        "PageInfo"
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        Ok(match info.field_name() {
            "hasNextPage" => leaf(Value::Bool(self.has_next)),
            "hasPreviousPage" => leaf(Value::Bool(self.has_previous)),
            "startCursor" => leaf(self.start.clone().map_or(Value::Null, Value::String)),
            "endCursor" => leaf(self.end.clone().map_or(Value::Null, Value::String)),
            other => {
                return Err(FieldError {
                    message: format!("fake-linear does not serve PageInfo.{other}"),
                });
            }
        })
    }
}
