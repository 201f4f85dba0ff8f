//! The comments Delegate writes on tasks. The first words match the original Python worker
//! so existing projects read the same.

use crate::agent::{Draft, truncate};
use crate::source::Comment;

const DONE: &str = "Done. Ready for review.";
const OURS: [&str; 5] = ["Working on it", DONE, "Failed", "Stopped:", "Progress:"];
const SUMMARY_CHARS: usize = 3000;
const STDERR_CHARS: usize = 1200;

pub fn claim(attempt: u32, max: u32, machine: &str) -> String {
    format!("Working on it… (attempt {attempt} of {max}) on {machine}")
}

pub fn done(summary: Option<&str>, drafts: &[Draft]) -> String {
    let mut out = DONE.to_string();
    if let Some(s) = summary.map(str::trim).filter(|s| !s.is_empty()) {
        out.push_str("\n\n");
        out.push_str(&truncate(s, SUMMARY_CHARS));
    }
    if !drafts.is_empty() {
        out.push_str("\n\nDrafts:");
        for d in drafts {
            out.push_str(&format!("\n- `{}`", d.path));
            if !d.inside_workspace {
                out.push_str(" ⚠️ written outside the workspace");
            }
        }
    }
    out
}

pub fn failed(attempt: u32, max: u32, reason: &str, stderr_tail: &str) -> String {
    let head = if attempt >= max {
        format!(
            "Failed after {max} attempt{}. Giving up.",
            if max == 1 { "" } else { "s" }
        )
    } else {
        format!("Failed (attempt {attempt} of {max}). Will retry.")
    };
    let mut out = format!("{head}\n\nReason: {reason}");
    let tail = stderr_tail.trim();
    if !tail.is_empty() {
        let start = tail
            .char_indices()
            .rev()
            .nth(STDERR_CHARS)
            .map(|(i, _)| i)
            .unwrap_or(0);
        out.push_str(&format!(
            "\n\nEnd of the agent's error output:\n```\n{}\n```",
            &tail[start..]
        ));
    }
    out
}

pub fn stopped() -> String {
    "Stopped: Delegate was shut down before the agent finished. The task will be picked up again."
        .to_string()
}

pub fn progress(lines: &[String]) -> String {
    let mut out = "Progress:".to_string();
    for l in lines {
        out.push_str("\n• ");
        out.push_str(l);
    }
    out
}

/// The reviewer's comments since the last "Done" comment, for a rework prompt.
pub fn feedback(comments: &[Comment]) -> Vec<String> {
    let Some(last_done) = comments.iter().rposition(|c| c.content.starts_with(DONE)) else {
        return Vec::new();
    };
    comments[last_done + 1..]
        .iter()
        .map(|c| c.content.trim())
        .filter(|c| !c.is_empty() && !OURS.iter().any(|p| c.starts_with(p)))
        .map(str::to_string)
        .collect()
}

/// Title, a blank line, the description, then any reviewer feedback.
pub fn prompt(title: &str, description: &str, feedback: &[String]) -> String {
    let mut out = title.trim().to_string();
    if !description.trim().is_empty() {
        out.push_str("\n\n");
        out.push_str(description.trim());
    }
    if !feedback.is_empty() {
        out.push_str("\n\nThe reviewer read your previous draft and asked for these changes:");
        for f in feedback {
            out.push_str("\n- ");
            out.push_str(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Comment {
        Comment {
            id: "1".into(),
            content: s.into(),
            posted_at: None,
        }
    }

    #[test]
    fn feedback_is_what_came_after_the_last_done() {
        let comments = [
            c("early note"),
            c("Done. Ready for review.\n\nold"),
            c("Make it shorter"),
            c("Working on it… (attempt 1 of 3)"),
            c("And punchier"),
        ];
        assert_eq!(feedback(&comments), ["Make it shorter", "And punchier"]);
        assert!(feedback(&comments[..1]).is_empty());
    }

    #[test]
    fn prompt_shape() {
        assert_eq!(prompt("T", "", &[]), "T");
        assert_eq!(prompt("T", "D", &[]), "T\n\nD");
        assert!(prompt("T", "D", &["shorter".into()]).ends_with("changes:\n- shorter"));
    }

    #[test]
    fn comments_read_like_the_original_worker() {
        assert!(failed(1, 3, "x", "").starts_with("Failed (attempt 1 of 3). Will retry."));
        assert!(failed(3, 3, "x", "boom").starts_with("Failed after 3 attempts. Giving up."));
        let d = done(
            Some("Summary"),
            &[Draft {
                path: "drafts/a.md".into(),
                inside_workspace: true,
            }],
        );
        assert_eq!(
            d,
            "Done. Ready for review.\n\nSummary\n\nDrafts:\n- `drafts/a.md`"
        );
    }
}
