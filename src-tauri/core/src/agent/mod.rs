//! Agents: how to start each agent CLI, how to read its stream, and how to turn that stream
//! into short lines a person understands.

pub mod claude;
mod lines;
pub mod progress;
pub mod reap;
pub mod spawn;

use serde::{Deserialize, Serialize};

pub use progress::{Draft, Progress};
pub use spawn::{Exit, Invocation, ProcessOutcome, SpawnError};

/// What an agent did, independent of which CLI said it.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    Started {
        session_id: Option<String>,
        model: Option<String>,
    },
    ToolUse {
        id: String,
        name: String,
        input: serde_json::Value,
    },
    ToolResult {
        id: String,
        is_error: bool,
    },
    Text(String),
    Result(AgentResult),
}

/// A tool call the agent was not allowed to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PermissionDenial {
    pub tool_name: String,
    #[serde(default)]
    pub tool_input: serde_json::Value,
}

/// The agent's final word on a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentResult {
    pub is_error: bool,
    pub subtype: String,
    /// The final text on success (or the error text when an API error ended the turn).
    pub summary: Option<String>,
    pub errors: Vec<String>,
    pub cost_usd: Option<f64>,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    pub turns: Option<u32>,
    pub session_id: Option<String>,
    pub permission_denials: Vec<PermissionDenial>,
}

impl AgentResult {
    /// A one-line reason for a failed result.
    pub fn failure_reason(&self) -> String {
        let detail = self
            .errors
            .iter()
            .find(|e| !e.trim().is_empty())
            .cloned()
            .or_else(|| self.summary.clone())
            .unwrap_or_default();
        let what = match self.subtype.as_str() {
            "error_max_turns" => "the agent reached its turn limit",
            "error_max_budget_usd" => "the agent reached its per-task spending cap",
            "error_during_execution" => "the agent stopped with an error",
            _ => "the agent reported an error",
        };
        if detail.trim().is_empty() {
            what.to_string()
        } else {
            format!("{what}: {}", first_line(&detail, 300))
        }
    }
}

/// The first non-empty line of `s`, at most `max` characters.
pub fn first_line(s: &str, max: usize) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    truncate(line, max)
}

/// Cuts `s` to at most `max` characters, marking the cut with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    let mut out = cut.trim_end().to_string();
    out.push('…');
    out
}
