//! Claude Code in print mode: the argv we build and the `stream-json` lines we read.

use super::{AgentEvent, AgentResult, PermissionDenial};
use crate::config::Employee;
use serde::Deserialize;
use serde_json::Value;

/// Session variables Claude Code sets in its own children; inherited, they make a nested
/// session misbehave (refuse to start, or stop persisting sessions).
pub const NESTING_VARS: [&str; 4] = [
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CODE_SESSION_ID",
    "CLAUDE_CODE_CHILD_SESSION",
];
/// Would silently move billing from the subscription to the pay-per-use API.
pub const API_KEY_VAR: &str = "ANTHROPIC_API_KEY";

/// The arguments after the program name. Tool lists are passed as one comma-separated value
/// each, and `--` comes before the prompt, so neither the variadic options nor a prompt that
/// starts with `-` can be misread.
pub fn args(employee: &Employee, prompt: &str) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "-p".into(),
        "--output-format".into(),
        "stream-json".into(),
        "--verbose".into(),
        "--model".into(),
        employee.model.clone(),
    ];
    if !employee.allowed_tools.is_empty() {
        a.push("--allowedTools".into());
        a.push(employee.allowed_tools.join(","));
    }
    if !employee.disallowed_tools.is_empty() {
        a.push("--disallowedTools".into());
        a.push(employee.disallowed_tools.join(","));
    }
    if let Some(mode) = &employee.permission_mode {
        a.push("--permission-mode".into());
        a.push(mode.clone());
    }
    if let Some(turns) = employee.max_turns {
        a.push("--max-turns".into());
        a.push(turns.to_string());
    }
    if let Some(usd) = employee.max_task_usd {
        a.push("--max-budget-usd".into());
        a.push(format!("{usd:.2}"));
    }
    if let Some(extra) = &employee.append_system_prompt {
        a.push("--append-system-prompt".into());
        a.push(extra.clone());
    }
    a.push("--".into());
    a.push(prompt.to_string());
    a
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    System {
        #[serde(default)]
        subtype: String,
        #[serde(default)]
        session_id: Option<String>,
        #[serde(default)]
        model: Option<String>,
    },
    Assistant {
        message: Message,
    },
    User {
        message: Message,
    },
    Result(ResultLine),
    /// New event types appear often; they are skipped.
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Value,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        #[serde(default)]
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    ToolResult {
        #[serde(default)]
        tool_use_id: String,
        #[serde(default)]
        is_error: Option<bool>,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
struct ResultLine {
    #[serde(default)]
    subtype: String,
    #[serde(default)]
    is_error: bool,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    errors: Vec<Value>,
    #[serde(default)]
    total_cost_usd: Option<f64>,
    #[serde(default)]
    num_turns: Option<u32>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default, rename = "modelUsage")]
    model_usage: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    permission_denials: Vec<PermissionDenial>,
}

#[derive(Deserialize, Default)]
struct Usage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
}

/// What became of one stdout line.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    Events(Vec<AgentEvent>),
    /// Valid JSON of a type we do not use; the type is kept for the log.
    Unknown(String),
    /// Not JSON, or JSON of the wrong shape; the error is kept for the log.
    Garbage(String),
}

/// Parses one line of `--output-format stream-json`. Never fails: bad lines are reported as
/// [`Parsed::Garbage`] so the run goes on.
pub fn parse_line(line: &str) -> Parsed {
    let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if line.is_empty() {
        return Parsed::Events(Vec::new());
    }
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Parsed::Garbage(e.to_string()),
    };
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let parsed: Line = match serde_json::from_value(value) {
        Ok(l) => l,
        Err(e) => return Parsed::Garbage(format!("{kind}: {e}")),
    };
    match parsed {
        Line::System {
            subtype,
            session_id,
            model,
        } if subtype == "init" => Parsed::Events(vec![AgentEvent::Started { session_id, model }]),
        Line::System { subtype, .. } => Parsed::Unknown(format!("system/{subtype}")),
        Line::Assistant { message } | Line::User { message } => {
            Parsed::Events(blocks(message.content))
        }
        Line::Result(r) => Parsed::Events(vec![AgentEvent::Result(result(r))]),
        Line::Unknown => Parsed::Unknown(kind),
    }
}

fn blocks(content: Value) -> Vec<AgentEvent> {
    let Value::Array(items) = content else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|b| serde_json::from_value::<Block>(b).ok())
        .filter_map(|b| match b {
            Block::Text { text } if !text.trim().is_empty() => Some(AgentEvent::Text(text)),
            Block::ToolUse { id, name, input } => Some(AgentEvent::ToolUse { id, name, input }),
            Block::ToolResult {
                tool_use_id,
                is_error,
            } => Some(AgentEvent::ToolResult {
                id: tool_use_id,
                is_error: is_error.unwrap_or(false),
            }),
            _ => None,
        })
        .collect()
}

fn result(r: ResultLine) -> AgentResult {
    // `modelUsage` covers subagents too; `usage` only the main loop.
    let from_models = r.model_usage.as_ref().map(|models| {
        let sum = |keys: &[&str]| -> u64 {
            models
                .values()
                .map(|m| keys.iter().filter_map(|k| m.get(*k)?.as_u64()).sum::<u64>())
                .sum()
        };
        (
            sum(&[
                "inputTokens",
                "cacheReadInputTokens",
                "cacheCreationInputTokens",
            ]),
            sum(&["outputTokens"]),
        )
    });
    let from_usage = r.usage.as_ref().map(|u| {
        (
            u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens,
            u.output_tokens,
        )
    });
    let tokens = from_models.filter(|(i, o)| i + o > 0).or(from_usage);
    AgentResult {
        is_error: r.is_error,
        subtype: r.subtype,
        summary: r.result,
        errors: r
            .errors
            .into_iter()
            .map(|e| match e {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        cost_usd: r.total_cost_usd,
        tokens_in: tokens.map(|t| t.0),
        tokens_out: tokens.map(|t| t.1),
        turns: r.num_turns,
        session_id: r.session_id,
        permission_denials: r.permission_denials,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;
    use std::path::PathBuf;

    #[test]
    fn argv_keeps_the_prompt_out_of_variadic_options() {
        let mut e = Employee::new("W", SourceKind::Local, PathBuf::from("/w"));
        e.allowed_tools = vec!["Read".into(), "Bash(git log:*)".into()];
        e.max_task_usd = Some(1.0);
        let a = args(&e, "-rf everything");
        let tools = a.iter().position(|x| x == "--allowedTools").unwrap();
        assert_eq!(a[tools + 1], "Read,Bash(git log:*)");
        assert_eq!(&a[a.len() - 2..], ["--", "-rf everything"]);
        assert!(a.windows(2).any(|w| w == ["--max-budget-usd", "1.00"]));
        assert!(
            a.windows(2)
                .any(|w| w == ["--output-format", "stream-json"])
        );
        assert!(a.contains(&"--verbose".to_string()));
    }

    #[test]
    fn tool_use_blocks_become_events() {
        let line = r#"{"type":"assistant","message":{"content":[{"type":"text","text":"Let me read"},{"type":"tool_use","id":"t1","name":"Read","input":{"file_path":"/w/a.md"}}]}}"#;
        let Parsed::Events(ev) = parse_line(line) else {
            panic!()
        };
        assert_eq!(ev.len(), 2);
        assert!(matches!(&ev[1], AgentEvent::ToolUse { name, .. } if name == "Read"));
    }

    #[test]
    fn unknown_types_and_garbage_are_not_fatal() {
        assert_eq!(
            parse_line(r#"{"type":"rate_limit_event","x":1}"#),
            Parsed::Unknown("rate_limit_event".into())
        );
        assert!(matches!(parse_line("Loading…"), Parsed::Garbage(_)));
        assert!(matches!(
            parse_line(r#"{"type":"result""#),
            Parsed::Garbage(_)
        ));
        assert_eq!(parse_line("  \r"), Parsed::Events(vec![]));
    }
}
