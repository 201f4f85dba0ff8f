//! Linear's filters (`IssueFilter`, `TeamFilter`, `WorkflowStateFilter`, `IssueLabelFilter`,
//! `CommentFilter`, `ProjectFilter`) evaluated over a JSON view of each entity. The filter
//! input has already been checked against the schema; what the fake cannot evaluate (a
//! field its view lacks, a comparator it does not know) is an error, never a silent match.

use super::error::ApiError;
use super::store::{Comment, Issue, Label, Project, Store, Team, WfState, fmt_time};
use serde_json::{Value, json};

pub(crate) fn team_view(t: &Team) -> Value {
    json!({"id": t.id, "key": t.key, "name": t.name, "createdAt": fmt_time(&t.created_at),
           "updatedAt": fmt_time(&t.created_at)})
}

pub(crate) fn state_view(s: &Store, w: &WfState) -> Value {
    json!({"id": w.id, "name": w.name, "type": w.kind, "position": w.position,
           "createdAt": fmt_time(&w.created_at), "updatedAt": fmt_time(&w.created_at),
           "team": s.team(&w.team_id).map(team_view)})
}

pub(crate) fn label_view(s: &Store, l: &Label) -> Value {
    json!({"id": l.id, "name": l.name, "createdAt": fmt_time(&l.created_at),
           "updatedAt": fmt_time(&l.created_at), "isGroup": false,
           "team": l.team_id.as_deref().and_then(|t| s.team(t)).map(team_view)})
}

pub(crate) fn project_view(p: &Project) -> Value {
    json!({"id": p.id, "name": p.name, "createdAt": fmt_time(&p.created_at),
           "updatedAt": fmt_time(&p.updated_at)})
}

pub(crate) fn issue_view(s: &Store, i: &Issue) -> Value {
    let labels: Vec<Value> = i
        .label_ids
        .iter()
        .filter_map(|l| s.label(l))
        .map(|l| label_view(s, l))
        .collect();
    json!({
        "id": i.id, "number": i.number, "title": i.title, "description": i.description,
        "priority": i.priority, "dueDate": i.due_date,
        "createdAt": fmt_time(&i.created_at), "updatedAt": fmt_time(&i.updated_at),
        "team": s.team(&i.team_id).map(team_view),
        "state": s.state(&i.state_id).map(|w| state_view(s, w)),
        "labels": labels,
        "project": i.project_id.as_deref().and_then(|p| s.project(p)).map(project_view),
    })
}

pub(crate) fn comment_view(s: &Store, c: &Comment) -> Value {
    json!({
        "id": c.id, "body": c.body,
        "createdAt": fmt_time(&c.created_at), "updatedAt": fmt_time(&c.updated_at),
        "issue": s.issues.iter().find(|i| i.id == c.issue_id).map(|i| issue_view(s, i)),
        "user": s.user(&c.user_id).map(|u| json!({"id": u.id, "name": u.name, "email": u.email,
            "isMe": s.viewer.as_ref().is_some_and(|v| v.id == u.id)})),
    })
}

/// Whether `entity` (a view above) passes `filter`.
pub(crate) fn matches(filter: &Value, entity: &Value, on: &str) -> Result<bool, ApiError> {
    let Some(filter) = filter.as_object() else {
        return Ok(true);
    };
    for (key, cond) in filter {
        if cond.is_null() {
            continue;
        }
        let ok = match key.as_str() {
            "and" => all(cond, |f| matches(f, entity, on))?,
            "or" => any(cond, |f| matches(f, entity, on))?,
            _ => {
                let Some(value) = entity.get(key) else {
                    return Err(ApiError::unsupported(format_args!("filters on {on}.{key}")));
                };
                let on = format!("{on}.{key}");
                match value {
                    Value::Array(items) => collection(cond, items, &on)?,
                    Value::Object(_) => relation(cond, value, &on)?,
                    Value::Null if entity_field(cond) => relation(cond, value, &on)?,
                    _ => compare(cond, value, &on)?,
                }
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A filter on a relation (`state: {type: …}`) rather than a comparator (`{eq: …}`).
fn entity_field(cond: &Value) -> bool {
    cond.as_object()
        .is_some_and(|c| c.keys().any(|k| !is_comparator(k)))
}

fn is_comparator(k: &str) -> bool {
    matches!(
        k,
        "eq" | "neq"
            | "in"
            | "nin"
            | "null"
            | "gt"
            | "gte"
            | "lt"
            | "lte"
            | "eqIgnoreCase"
            | "neqIgnoreCase"
            | "contains"
            | "containsIgnoreCase"
            | "notContains"
            | "notContainsIgnoreCase"
            | "startsWith"
            | "startsWithIgnoreCase"
            | "notStartsWith"
            | "endsWith"
            | "notEndsWith"
    )
}

fn all(
    list: &Value,
    mut f: impl FnMut(&Value) -> Result<bool, ApiError>,
) -> Result<bool, ApiError> {
    for item in list.as_array().into_iter().flatten() {
        if !f(item)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn any(
    list: &Value,
    mut f: impl FnMut(&Value) -> Result<bool, ApiError>,
) -> Result<bool, ApiError> {
    for item in list.as_array().into_iter().flatten() {
        if f(item)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A nullable relation: `{null: true}` asks for its absence, anything else filters it.
fn relation(cond: &Value, value: &Value, on: &str) -> Result<bool, ApiError> {
    let mut rest = cond.clone();
    if let Some(null) = rest.as_object_mut().and_then(|c| c.remove("null"))
        && null.as_bool() != Some(value.is_null())
    {
        return Ok(false);
    }
    if value.is_null() {
        return Ok(rest
            .as_object()
            .is_none_or(|r| r.values().all(Value::is_null)));
    }
    matches(&rest, value, on)
}

/// A collection (`labels`): `some`, `every`, `length`, `null`, and field conditions, which
/// hold when some member passes them.
fn collection(cond: &Value, items: &[Value], on: &str) -> Result<bool, ApiError> {
    let Some(cond) = cond.as_object() else {
        return Ok(true);
    };
    for (key, c) in cond {
        if c.is_null() {
            continue;
        }
        let ok = match key.as_str() {
            "some" => {
                let mut found = false;
                for i in items {
                    if matches(c, i, on)? {
                        found = true;
                        break;
                    }
                }
                found
            }
            "every" => {
                let mut every = true;
                for i in items {
                    if !matches(c, i, on)? {
                        every = false;
                        break;
                    }
                }
                every
            }
            "null" => c.as_bool() == Some(items.is_empty()),
            "length" => compare(c, &json!(items.len()), on)?,
            "and" => all(c, |f| collection(f, items, on))?,
            "or" => any(c, |f| collection(f, items, on))?,
            field => {
                let mut one = serde_json::Map::new();
                one.insert(field.to_string(), c.clone());
                let one = Value::Object(one);
                let mut found = false;
                for i in items {
                    if matches(&one, i, on)? {
                        found = true;
                        break;
                    }
                }
                found
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A comparator (`StringComparator`, `IDComparator`, `NumberComparator`, `DateComparator`,
/// their nullable forms) applied to one value.
fn compare(cond: &Value, value: &Value, on: &str) -> Result<bool, ApiError> {
    let Some(cond) = cond.as_object() else {
        return Ok(true);
    };
    let text = value.as_str().unwrap_or_default();
    let lower = text.to_lowercase();
    for (op, arg) in cond {
        if arg.is_null() {
            continue;
        }
        let s = arg.as_str().unwrap_or_default();
        let list = || arg.as_array().cloned().unwrap_or_default();
        let ok = match op.as_str() {
            "null" => arg.as_bool() == Some(value.is_null()),
            _ if value.is_null() => false,
            "eq" => same(value, arg, on)?,
            "neq" => !same(value, arg, on)?,
            "in" => {
                let mut found = false;
                for a in list() {
                    found |= same(value, &a, on)?;
                }
                found
            }
            "nin" => {
                let mut found = false;
                for a in list() {
                    found |= same(value, &a, on)?;
                }
                !found
            }
            "gt" | "gte" | "lt" | "lte" => {
                let ord = order(value, arg, on)?;
                match op.as_str() {
                    "gt" => ord.is_gt(),
                    "gte" => ord.is_ge(),
                    "lt" => ord.is_lt(),
                    _ => ord.is_le(),
                }
            }
            "eqIgnoreCase" => lower == s.to_lowercase(),
            "neqIgnoreCase" => lower != s.to_lowercase(),
            "contains" => text.contains(s),
            "containsIgnoreCase" => lower.contains(&s.to_lowercase()),
            "notContains" => !text.contains(s),
            "notContainsIgnoreCase" => !lower.contains(&s.to_lowercase()),
            "startsWith" => text.starts_with(s),
            "startsWithIgnoreCase" => lower.starts_with(&s.to_lowercase()),
            "notStartsWith" => !text.starts_with(s),
            "endsWith" => text.ends_with(s),
            "notEndsWith" => !text.ends_with(s),
            other => {
                return Err(ApiError::unsupported(format_args!(
                    "the comparator {other} on {on}"
                )));
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn same(value: &Value, arg: &Value, on: &str) -> Result<bool, ApiError> {
    Ok(match (value.as_f64(), arg.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ if is_time(value) => order(value, arg, on)?.is_eq(),
        _ => value == arg,
    })
}

fn is_time(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

/// Numbers by value, times by instant (a relative time such as "-P1D" is not evaluated).
fn order(value: &Value, arg: &Value, on: &str) -> Result<std::cmp::Ordering, ApiError> {
    if let (Some(a), Some(b)) = (value.as_f64(), arg.as_f64()) {
        return Ok(a.total_cmp(&b));
    }
    let time = |v: &Value| {
        v.as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    match (time(value), time(arg)) {
        (Some(a), Some(b)) => Ok(a.cmp(&b)),
        _ => match (value.as_str(), arg.as_str()) {
            // Dates without a time ("2025-01-31") order as text.
            (Some(a), Some(b)) if a.len() == 10 && b.len() == 10 => Ok(a.cmp(b)),
            _ => Err(ApiError::unsupported(format_args!(
                "comparing {on} with {arg} (give an absolute time)"
            ))),
        },
    }
}
