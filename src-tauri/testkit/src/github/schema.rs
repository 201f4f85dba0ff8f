//! Checks an answer against GitHub's published OpenAPI description (the trimmed copy in
//! `descriptions/github-issues.json`): the status must be one the operation declares, and
//! the body must have every field the response schema marks `required`, at every depth,
//! with the declared JSON types (`nullable` allowing `null`) and enum values.
//!
//! A small recursive check rather than a JSON Schema validator crate (the well-kept one is
//! `jsonschema`): the description is OpenAPI 3.0, whose `nullable` is not JSON Schema, so
//! it would have to be rewritten first; its `oneOf`s are not exclusive (a `private-user`
//! also satisfies `public-user`), so a strict validator rejects GitHub's own examples; and
//! `required`, types and enums are what a client depends on.
//!
//! To refresh the vendored copy:
//! ```sh
//! cd /tmp && npm pack @octokit/openapi && tar xzf octokit-openapi-*.tgz
//! scripts/trim-github-description /tmp/package/generated/api.github.com.json \
//!     > src-tauri/testkit/descriptions/github-issues.json
//! ```

use serde_json::Value;

/// The vendored, trimmed description.
const VENDORED: &str = include_str!("../../descriptions/github-issues.json");

pub struct Description {
    doc: Value,
}

impl Description {
    pub fn vendored() -> Self {
        Self::parse(VENDORED).expect("the vendored description is JSON")
    }

    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        Ok(Self {
            doc: serde_json::from_str(text)?,
        })
    }

    /// The operations it describes, as (METHOD, path template) pairs.
    pub fn operations(&self) -> Vec<(String, String)> {
        let mut ops = Vec::new();
        if let Some(paths) = self.doc["paths"].as_object() {
            for (path, item) in paths {
                for method in item.as_object().into_iter().flat_map(|m| m.keys()) {
                    ops.push((method.to_uppercase(), path.clone()));
                }
            }
        }
        ops
    }

    /// The status codes an operation declares.
    pub fn statuses(&self, method: &str, path: &str) -> Vec<u16> {
        self.doc["paths"][path][method.to_lowercase()]["responses"]
            .as_object()
            .map(|r| r.keys().filter_map(|k| k.parse().ok()).collect())
            .unwrap_or_default()
    }

    /// What is wrong with answering `status` and `body` (`None`: no body) to the operation
    /// `method path` (a template, like `/repos/{owner}/{repo}/issues`). Empty: nothing.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: Option<&Value>,
    ) -> Vec<String> {
        let op = &self.doc["paths"][path][method.to_lowercase()];
        if op.is_null() {
            return vec![format!("the description has no operation {method} {path}")];
        }
        let Some(response) = op["responses"].get(status.to_string()) else {
            return vec![format!("{method} {path} declares no status {status}")];
        };
        let response = self.resolve(response);
        let schema = &response["content"]["application/json"]["schema"];
        let mut problems = Vec::new();
        match (schema.is_null(), body) {
            (true, None) => {}
            (true, Some(_)) => problems.push(format!("{status} has no body in the description")),
            (false, None) => problems.push(format!("{status} needs a body")),
            (false, Some(v)) => self.value(schema, v, "$", &mut problems),
        }
        problems
    }

    /// Follows `$ref`s within the description.
    fn resolve<'a>(&'a self, mut node: &'a Value) -> &'a Value {
        for _ in 0..32 {
            let Some(r) = node.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let Some(pointer) = r.strip_prefix('#') else {
                break;
            };
            node = self.doc.pointer(pointer).unwrap_or(&Value::Null);
        }
        node
    }

    fn value(&self, schema: &Value, v: &Value, at: &str, problems: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if schema.is_null() {
            problems.push(format!("{at}: a $ref leads nowhere"));
            return;
        }
        if v.is_null() {
            // A schema that says nothing about the value (no type, no alternatives) allows null.
            let open = schema["type"].is_null()
                && schema["allOf"].is_null()
                && schema["oneOf"].is_null()
                && schema["anyOf"].is_null();
            let nullable = schema["nullable"] == Value::Bool(true) || open;
            if !nullable {
                problems.push(format!(
                    "{at}: null where the description does not allow it"
                ));
            }
            return;
        }
        for part in schema["allOf"].as_array().into_iter().flatten() {
            self.value(part, v, at, problems);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(choices) = schema[key].as_array() {
                self.choice(schema, choices, v, at, problems);
            }
        }
        if let Some(allowed) = schema["enum"].as_array()
            && !allowed.contains(v)
        {
            problems.push(format!("{at}: {v} is not one of {}", schema["enum"]));
        }
        let kind = schema["type"].as_str().unwrap_or(
            if schema["properties"].is_object() || schema["required"].is_array() {
                "object"
            } else {
                ""
            },
        );
        let fits = match kind {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            _ => true,
        };
        if !fits {
            problems.push(format!(
                "{at}: {} where the description says {kind}",
                type_of(v)
            ));
            return;
        }
        if let Some(items) = v.as_array() {
            for (n, item) in items.iter().enumerate() {
                self.value(&schema["items"], item, &format!("{at}[{n}]"), problems);
            }
        }
        if let Some(obj) = v.as_object() {
            for name in schema["required"].as_array().into_iter().flatten() {
                let Some(name) = name.as_str() else { continue };
                if !obj.contains_key(name) {
                    problems.push(format!("{at}: required field `{name}` is missing"));
                }
            }
            if let Some(props) = schema["properties"].as_object() {
                for (name, sub) in props {
                    if let Some(field) = obj.get(name) {
                        self.value(sub, field, &format!("{at}.{name}"), problems);
                    }
                }
            }
        }
    }

    /// `oneOf`/`anyOf`: the alternative the discriminator names, or else any that fits
    /// (GitHub's alternatives overlap, so "exactly one" would reject its own examples).
    fn choice(
        &self,
        schema: &Value,
        choices: &[Value],
        v: &Value,
        at: &str,
        problems: &mut Vec<String>,
    ) {
        let disc = &schema["discriminator"];
        if let Some(prop) = disc["propertyName"].as_str()
            && let Some(tag) = v.get(prop).and_then(Value::as_str)
        {
            match disc["mapping"][tag].as_str() {
                Some(target) => {
                    let r = serde_json::json!({ "$ref": target });
                    self.value(&r, v, at, problems);
                }
                None => problems.push(format!("{at}: {prop} `{tag}` is not in the mapping")),
            }
            return;
        }
        let mut best: Option<Vec<String>> = None;
        for c in choices {
            let mut p = Vec::new();
            self.value(c, v, at, &mut p);
            if p.is_empty() {
                return;
            }
            if best.as_ref().is_none_or(|b| p.len() < b.len()) {
                best = Some(p);
            }
        }
        problems.extend(best.unwrap_or_default());
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn label() -> Value {
        json!({"id": 1, "node_id": "LA_1", "url": "u", "name": "bug", "description": null,
               "color": "d73a4a", "default": true})
    }

    #[test]
    fn a_missing_required_field_is_found_at_any_depth() {
        let d = Description::vendored();
        let path = "/repos/{owner}/{repo}/issues/{issue_number}/labels";
        assert!(
            d.check("GET", path, 200, Some(&json!([label()])))
                .is_empty()
        );
        let mut broken = label();
        broken.as_object_mut().unwrap().remove("color");
        let problems = d.check("GET", path, 200, Some(&json!([label(), broken])));
        assert_eq!(problems, vec!["$[1]: required field `color` is missing"]);
    }

    #[test]
    fn types_nulls_enums_and_statuses_are_checked() {
        let d = Description::vendored();
        let path = "/repos/{owner}/{repo}/labels";
        let mut l = label();
        l["default"] = json!("yes");
        assert_eq!(
            d.check("POST", path, 201, Some(&l)),
            vec!["$.default: string where the description says boolean"]
        );
        l["default"] = json!(true);
        l["name"] = Value::Null;
        assert_eq!(
            d.check("POST", path, 201, Some(&l)),
            vec!["$.name: null where the description does not allow it"]
        );
        assert_eq!(
            d.check("POST", path, 200, Some(&label())),
            vec!["POST /repos/{owner}/{repo}/labels declares no status 200"]
        );
        let comment = "/repos/{owner}/{repo}/issues/comments/{comment_id}";
        assert!(d.check("DELETE", comment, 204, None).is_empty());
        assert!(!d.check("DELETE", comment, 204, Some(&json!({}))).is_empty());
        let issue = "/repos/{owner}/{repo}/issues/{issue_number}";
        let problems = d.check("GET", issue, 200, Some(&json!({"state_reason": "bored"})));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("\"bored\" is not one of")),
            "{problems:?}"
        );
    }

    #[test]
    fn every_served_operation_is_described() {
        let d = Description::vendored();
        assert_eq!(d.operations().len(), 16);
        assert!(
            d.statuses("GET", "/repos/{owner}/{repo}/issues")
                .contains(&200)
        );
    }
}
