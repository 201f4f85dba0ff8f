//! The Claude stream parser and progress lines on recorded streams.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use delegate_core::agent::Parsed;
use delegate_core::agent::claude::parse_line;
use delegate_core::agent::{AgentEvent, AgentResult, Progress};
use std::path::Path;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(path)
        .unwrap()
        .replace("{{CWD}}", "/w")
        .replace("{{DRAFT}}", "drafts/background-agents.md")
        .replace("{{SESSION}}", "sess-1")
}

struct Replay {
    events: Vec<AgentEvent>,
    unknown: Vec<String>,
    garbage: usize,
}

fn replay(text: &str) -> Replay {
    let mut r = Replay {
        events: vec![],
        unknown: vec![],
        garbage: 0,
    };
    for line in text.split('\n') {
        match parse_line(line) {
            Parsed::Events(e) => r.events.extend(e),
            Parsed::Unknown(k) => r.unknown.push(k),
            Parsed::Garbage(_) => r.garbage += 1,
        }
    }
    r
}

fn result(r: &Replay) -> Option<&AgentResult> {
    r.events.iter().find_map(|e| match e {
        AgentEvent::Result(r) => Some(r),
        _ => None,
    })
}

#[test]
fn success_stream() {
    let r = replay(&fixture("success.jsonl"));
    assert_eq!(r.garbage, 0);
    assert_eq!(r.unknown, ["rate_limit_event"]);
    let res = result(&r).unwrap();
    assert!(!res.is_error);
    assert_eq!(res.subtype, "success");
    assert_eq!(res.cost_usd, Some(0.0421));
    assert_eq!(res.tokens_in, Some(7400 + 9100 + 2100));
    assert_eq!(res.tokens_out, Some(602));
    assert_eq!(res.turns, Some(4));
    assert_eq!(res.session_id.as_deref(), Some("sess-1"));
    assert!(
        res.summary
            .as_deref()
            .unwrap()
            .starts_with("Wrote the draft")
    );

    let mut p = Progress::new(Path::new("/w"));
    let lines: Vec<String> = r.events.iter().filter_map(|e| p.line(e)).collect();
    assert_eq!(
        lines,
        [
            "🚀 Agent started (claude-sonnet-4-5)",
            "💬 I'll start by reading the skill for this kind of task.",
            "📖 Reading skill: .claude/skills/linkedin-post/SKILL.md",
            "📚 Reading reference: reference/brand.md",
            "✍️ Writing drafts/background-agents.md",
            "💬 Wrote the draft to drafts/background-agents.md. Hook: \"Your to-do list can hire.\" Needs a real customer quote before posting.",
            "✅ Done",
        ]
    );
}

#[test]
fn error_result_with_permission_denial() {
    let r = replay(&fixture("error_result.jsonl"));
    assert!(r.unknown.is_empty(), "{:?}", r.unknown);
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, AgentEvent::Retry { attempt: 1, .. })),
        "api_retry is shown as a retry"
    );
    let res = result(&r).unwrap();
    assert!(res.is_error);
    assert_eq!(res.subtype, "error_max_turns");
    assert_eq!(res.permission_denials.len(), 1);
    assert_eq!(res.permission_denials[0].tool_name, "Bash");
    assert_eq!(
        res.failure_reason(),
        "the agent reached its turn limit: Reached maximum number of turns (10)"
    );
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, AgentEvent::ToolResult { is_error: true, .. }))
    );
}

#[test]
fn garbage_crlf_and_non_ascii_are_survived() {
    let r = replay(&fixture("garbage_crlf.jsonl"));
    // The plain-text warning, the wrongly shaped assistant line and the binary junk.
    assert_eq!(r.garbage, 3);
    assert_eq!(r.unknown, ["hook_started", "stream_event"]);
    let res = result(&r).unwrap();
    assert_eq!(res.summary.as_deref(), Some("Fertig — 完了"));
    let mut p = Progress::new(Path::new("/w"));
    let lines: Vec<String> = r.events.iter().filter_map(|e| p.line(e)).collect();
    assert!(
        lines.contains(&"💬 Écrire un brouillon — 下書き ✍️".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"✍️ Writing drafts/café.md".to_string()),
        "{lines:?}"
    );
}

#[test]
fn truncated_last_line_gives_no_result() {
    let r = replay(&fixture("truncated.jsonl"));
    assert_eq!(r.garbage, 1);
    assert!(result(&r).is_none());
    assert!(matches!(r.events[0], AgentEvent::Started { .. }));
}

#[test]
fn api_error_with_success_subtype_is_an_error() {
    let r = replay(&fixture("api_error_success.jsonl"));
    let res = result(&r).unwrap();
    assert!(res.is_error);
    assert_eq!(
        res.failure_reason(),
        "the agent reported an error: Invalid API key · Please run /login"
    );
}
