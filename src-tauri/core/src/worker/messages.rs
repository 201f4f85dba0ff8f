//! The comments Delegate writes on tasks. The first words match the original Python worker
//! so existing projects read the same.

use crate::agent::{Draft, truncate};
use crate::claims::{ASKED_HEAD, NOTHING_HEAD, Reply, ReplyTo, Speaker};

const DONE: &str = "Done. Ready for review.";
const SUMMARY_CHARS: usize = 3000;
/// How long a "nothing to do" comment may be: one short line.
const NOTHING_CHARS: usize = 300;
/// Under a result: how the person goes on from the task itself.
const REVIEW_HINT: &str = "Reply in a comment to ask for changes (the agent revises its drafts); complete the task to approve.";
const STDERR_CHARS: usize = 1200;
/// Lines a live progress comment shows (it is edited in place as the run goes on).
const PROGRESS_LINES: usize = 40;

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
    out.push_str("\n\n");
    out.push_str(REVIEW_HINT);
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

/// Room kept in an end comment for what a source adds to it (GitHub's marker, Linear's
/// mention of the claim) and for counting slack.
pub const COMMENT_MARGIN: usize = 300;
/// A draft is not started in an end comment with less room than this left.
const DRAFT_MIN_ROOM: usize = 400;

/// How much of an attached draft its end comment shows.
const ATTACHED_EXCERPT: usize = 1500;

/// Adds the drafts themselves (Markdown, as the agent wrote them) to an end comment, each in
/// turn, keeping the whole under `limit` characters. A draft in `attached` (its path, and the
/// file's name) shows its first lines and says it is attached. Any other draft that does not
/// fit whole is cut at a line, with how much is left and where it is; drafts with no room left
/// are only named (their paths are listed above). Also returns the paths of the drafts that
/// were not shown whole (the ones to attach, where the source takes files).
pub fn with_drafts(
    mut text: String,
    drafts: &[(String, String)],
    limit: usize,
    attached: &[(String, String)],
) -> (String, Vec<String>) {
    let (mut left_out, mut included) = (0, 0);
    let mut not_whole = Vec::new();
    for (i, (path, body)) in drafts.iter().enumerate() {
        // Room for naming the drafts that may not fit after this one.
        let after = if i + 1 < drafts.len() { 100 } else { 0 };
        let body = body.trim_end();
        let head = format!("\n\n---\n📄 `{path}`\n\n");
        let used = text.chars().count() + head.chars().count();
        let room = limit.saturating_sub(used);
        if room < DRAFT_MIN_ROOM || body.is_empty() {
            if !body.is_empty() {
                left_out += 1;
                not_whole.push(path.clone());
            }
            continue;
        }
        included += 1;
        let total = body.lines().count();
        if let Some((_, file)) = attached.iter().find(|(p, _)| p == path) {
            let note = |shown: usize| {
                if shown >= total {
                    format!("\n\n📎 Also attached as `{file}`.")
                } else {
                    format!(
                        "\n\n… {} more line{} — the whole draft is attached as `{file}`.",
                        total - shown,
                        if total - shown == 1 { "" } else { "s" }
                    )
                }
            };
            let max = room
                .saturating_sub(note(0).chars().count() + after)
                .min(ATTACHED_EXCERPT);
            let kept = cut_at_line(body, max);
            text.push_str(&head);
            text.push_str(kept);
            text.push_str(&note(kept.lines().count()));
            continue;
        }
        if body.chars().count() <= room {
            text.push_str(&head);
            text.push_str(body);
            continue;
        }
        not_whole.push(path.clone());
        let note = |shown: usize| {
            format!(
                "\n\n… {} more line{} — the whole draft is `{path}` in the workspace, and on the run's page in Delegate.",
                total - shown,
                if total - shown == 1 { "" } else { "s" }
            )
        };
        let kept = cut_at_line(body, room.saturating_sub(note(0).chars().count() + after));
        let shown = kept.lines().count();
        text.push_str(&head);
        text.push_str(kept);
        text.push_str(&note(shown));
    }
    if left_out > 0 {
        let more = format!(
            "\n\n({left_out}{} draft{} too long to add here: see the list above.)",
            if included > 0 { " more" } else { "" },
            if left_out == 1 { "" } else { "s" }
        );
        if text.chars().count() + more.chars().count() <= limit {
            text.push_str(&more);
        }
    }
    (text, not_whole)
}

/// The longest start of `text` of at most `max` characters that ends at a line's end (or,
/// with no line end in reach, at a character).
fn cut_at_line(text: &str, max: usize) -> &str {
    let end = text.char_indices().nth(max).map_or(text.len(), |(i, _)| i);
    let head = &text[..end];
    if end == text.len() {
        return head;
    }
    match head.rfind('\n') {
        Some(i) if i > 0 => &head[..i],
        _ => head,
    }
}

/// The last line of a run's refused accesses when there were more than it lists.
pub const BLOCKED_CUT: &str = "🛡 …(truncated): more accesses were refused";

/// Adds what the OS sandbox refused ("🛡 Blocked: writing ~/.bashrc") to a task comment, so
/// the person can widen the employee's sandbox knowingly.
pub fn with_sandbox_blocks(mut text: String, blocked: &[String]) -> String {
    if blocked.is_empty() {
        return text;
    }
    let (listed, cut) = listed(blocked);
    text.push_str("\n\nThe OS sandbox refused:");
    for line in listed.iter().take(12) {
        text.push_str("\n- ");
        text.push_str(line.trim_start_matches("🛡 Blocked: "));
    }
    if let Some(more) = more(listed.len().saturating_sub(12), cut) {
        text.push_str(&format!("\n- {more}"));
    }
    text.push_str(
        "\n(Widen it with `sandbox_read` / `sandbox_write` in the employee's settings if the agent needs these.)",
    );
    text
}

/// For a failed run's reason when the OS sandbox refused something: the first refusals
/// ("🛡 Blocked: writing /tmp/x") and how to allow them.
pub fn sandbox_refusal(blocked: &[String]) -> String {
    let (listed, cut) = listed(blocked);
    let shown: Vec<&str> = listed.iter().take(3).map(String::as_str).collect();
    format!(
        "{}{} (widen the sandbox with `sandbox_read` / `sandbox_write` in the employee's settings if the agent needs {})",
        shown.join("; "),
        more(listed.len() - shown.len(), cut)
            .map(|m| format!("; {m}"))
            .unwrap_or_default(),
        if listed.len() == 1 && !cut {
            "it"
        } else {
            "these"
        }
    )
}

/// The refusals a run listed, and whether it stopped listing them ([`BLOCKED_CUT`]).
fn listed(blocked: &[String]) -> (&[String], bool) {
    match blocked.split_last() {
        Some((last, listed)) if last == BLOCKED_CUT => (listed, true),
        _ => (blocked, false),
    }
}

/// "… and 3 more" for refusals not shown; "… and over 3 more" when the run stopped listing.
fn more(not_shown: usize, cut: bool) -> Option<String> {
    match (not_shown, cut) {
        (0, false) => None,
        (0, true) => Some("… and more".into()),
        (n, false) => Some(format!("… and {n} more")),
        (n, true) => Some(format!("… and over {n} more")),
    }
}

pub fn stopped() -> String {
    "Stopped: Delegate was shut down before the agent finished. The task will be picked up again."
        .to_string()
}

/// The live progress comment: the latest lines of the run.
pub fn progress(lines: &[String]) -> String {
    let mut out = "Progress:".to_string();
    let skip = lines.len().saturating_sub(PROGRESS_LINES);
    if skip > 0 {
        out.push_str(&format!(
            "\n… {skip} earlier line{}",
            if skip == 1 { "" } else { "s" }
        ));
    }
    for l in &lines[skip..] {
        out.push_str("\n• ");
        out.push_str(l);
    }
    out
}

/// What a fresh run is asked: the title, a blank line, the description; the conversation so
/// far when there is one this run cannot resume (the agent's results and questions, the
/// person's answers and feedback, oldest first); then why the previous attempt failed, on a
/// retry.
pub fn prompt(
    title: &str,
    description: &str,
    last_failure: Option<&str>,
    thread: &[(Speaker, String)],
    files: &[String],
) -> String {
    let mut out = title.trim().to_string();
    if !description.trim().is_empty() {
        out.push_str("\n\n");
        out.push_str(description.trim());
    }
    push_files(&mut out, files);
    if !thread.is_empty() {
        out.push_str(
            "\n\nYou worked on this task before, in a session that cannot be continued here. \
             The conversation on the task so far, oldest first:",
        );
        for (who, text) in thread {
            let who = match who {
                Speaker::Agent => "You wrote",
                Speaker::Person => "The person wrote",
            };
            out.push_str(&format!("\n\n[{who}]\n{text}"));
        }
        out.push_str(
            "\n\nContinue from there: act on what the person wrote last (their answers, or the \
             changes they asked for: revise the drafts you wrote, in the same files).",
        );
    }
    if let Some(reason) = last_failure {
        out.push_str(&format!(
            "\n\nYour previous attempt at this task failed: {reason}\nKeep that in mind and avoid the same problem this time."
        ));
    }
    out
}

/// The files the person attached, as the prompt lists them.
fn push_files(out: &mut String, files: &[String]) {
    if files.is_empty() {
        return;
    }
    out.push_str("\n\nFiles the person attached to the task (in this workspace; read them, do not change them):");
    for f in files {
        out.push_str("\n- ");
        out.push_str(f);
    }
}

/// What a resumed session is told: only the person's new words (the session has the rest),
/// and the files on the task.
pub fn reply_prompt(reply: &Reply, last_failure: Option<&str>, files: &[String]) -> String {
    let mut out = match reply.to {
        ReplyTo::Questions => "The person answered your questions:".to_string(),
        ReplyTo::Result => "The person reviewed your result and asks for changes:".to_string(),
    };
    for t in &reply.texts {
        out.push_str("\n\n");
        out.push_str(t);
    }
    push_files(&mut out, files);
    out.push_str(match reply.to {
        ReplyTo::Questions => "\n\nContinue the task with these answers.",
        ReplyTo::Result => {
            "\n\nRevise your work accordingly: change the drafts you wrote, in the same files."
        }
    });
    if let Some(reason) = last_failure {
        out.push_str(&format!(
            "\n\nYour previous attempt at this failed: {reason}\nKeep that in mind and avoid the same problem this time."
        ));
    }
    out
}

/// The run's line when the agent CLI could not continue the earlier session.
pub fn resume_failed(agent: &str, why: &str) -> String {
    let why = crate::agent::first_line(why, 200);
    let why = if why.is_empty() {
        String::new()
    } else {
        format!(" ({why})")
    };
    format!(
        "ℹ️ {agent} could not continue the earlier session{why}: starting afresh, with the whole conversation on the task in the prompt"
    )
}

/// The comment of a run that asks the person something (or says what blocks it): the
/// questions, numbered, then what the agent did so far.
pub fn asked(questions: &[String], summary: Option<&str>, limit: usize) -> String {
    let mut out = format!("{ASKED_HEAD} Reply in a comment: the agent continues where it stopped.");
    out.push('\n');
    for (i, q) in questions.iter().enumerate() {
        let line = format!("\n{}. {}", i + 1, q.trim());
        if out.chars().count() + line.chars().count() + 100 > limit {
            out.push_str(&format!(
                "\n… and {} more question{} (on the run's page in Delegate).",
                questions.len() - i,
                if questions.len() - i == 1 { "" } else { "s" }
            ));
            return out;
        }
        out.push_str(&line);
    }
    if let Some(s) = summary.map(str::trim).filter(|s| !s.is_empty()) {
        let room = limit.saturating_sub(out.chars().count() + 12);
        if room > 100 {
            out.push_str("\n\nSo far: ");
            out.push_str(&truncate(s, SUMMARY_CHARS.min(room)));
        }
    }
    out
}

/// The short comment of a run that found nothing to do.
pub fn nothing(summary: Option<&str>) -> String {
    let mut out = NOTHING_HEAD.to_string();
    if let Some(s) = summary.map(str::trim).filter(|s| !s.is_empty()) {
        out.push(' ');
        out.push_str(&truncate(s, NOTHING_CHARS));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_go_in_whole_while_they_fit_and_are_cut_at_a_line_when_not() {
        let short = (
            "drafts/a.md".to_string(),
            "# A\n\nShort post.\n".to_string(),
        );
        let (text, cut) = with_drafts(
            "Done. Ready for review.".into(),
            std::slice::from_ref(&short),
            1000,
            &[],
        );
        assert!(cut.is_empty());
        assert_eq!(
            text,
            "Done. Ready for review.\n\n---\n📄 `drafts/a.md`\n\n# A\n\nShort post."
        );
        let long_body: String = (1..=2000)
            .map(|i| format!("Line {i} of the draft.\n"))
            .collect();
        let long = ("drafts/b.md".to_string(), long_body);
        for limit in [1_000, 2_500, 15_000 - COMMENT_MARGIN] {
            let (text, cut) =
                with_drafts("Done.".into(), &[long.clone(), short.clone()], limit, &[]);
            assert_eq!(cut[0], "drafts/b.md");
            assert!(
                text.chars().count() <= limit,
                "{limit}: {}",
                text.chars().count()
            );
            assert!(
                text.contains("📄 `drafts/b.md`\n\nLine 1 of the draft.\n"),
                "{text}"
            );
            let note = text.lines().rev().find(|l| l.starts_with('…')).unwrap();
            assert!(
                note.contains("more lines — the whole draft is `drafts/b.md`"),
                "{note}"
            );
            // Cut after a whole line.
            let before = text.split("\n\n…").next().unwrap();
            assert!(before.ends_with(" of the draft."), "{before}");
        }
        // No room for the second: it is only named.
        let (text, cut) = with_drafts("Done.".into(), &[long.clone(), short.clone()], 2_500, &[]);
        assert!(text.ends_with("(1 more draft too long to add here: see the list above.)"));
        assert_eq!(cut, ["drafts/b.md", "drafts/a.md"]);
        // Nothing fits: it says so.
        assert_eq!(
            with_drafts("Done.".into(), std::slice::from_ref(&long), 300, &[]).0,
            "Done.\n\n(1 draft too long to add here: see the list above.)"
        );
        // Attached: its first lines, and where the whole is.
        let attached = [("drafts/b.md".to_string(), "b.md".to_string())];
        let (text, _) = with_drafts(
            "Done.".into(),
            &[long, short],
            15_000 - COMMENT_MARGIN,
            &attached,
        );
        assert!(
            text.contains("📄 `drafts/b.md`\n\nLine 1 of the draft.\n"),
            "{text}"
        );
        assert!(
            text.contains("more lines — the whole draft is attached as `b.md`."),
            "{text}"
        );
        assert!(
            text.chars().count() < 2_000,
            "an excerpt, then the next draft whole"
        );
        assert!(text.ends_with("# A\n\nShort post."), "{text}");
    }

    #[test]
    fn a_sandbox_refusal_says_what_and_how_to_allow_it() {
        let one = sandbox_refusal(&["🛡 Blocked: writing /tmp/x/record.jsonl".into()]);
        assert_eq!(
            one,
            "🛡 Blocked: writing /tmp/x/record.jsonl (widen the sandbox with `sandbox_read` / `sandbox_write` in the employee's settings if the agent needs it)"
        );
        let many: Vec<String> = (1..=5)
            .map(|i| format!("🛡 Blocked: reading /x/{i}"))
            .collect();
        let text = sandbox_refusal(&many);
        assert!(
            text.starts_with("🛡 Blocked: reading /x/1; 🛡 Blocked: reading /x/2; 🛡 Blocked: reading /x/3; … and 2 more (widen"),
            "{text}"
        );
        assert!(text.ends_with("needs these)"), "{text}");
    }

    #[test]
    fn progress_keeps_the_latest_lines() {
        let lines: Vec<String> = (0..45).map(|i| format!("line {i}")).collect();
        let p = progress(&lines);
        assert!(
            p.starts_with("Progress:\n… 5 earlier lines\n• line 5"),
            "{p}"
        );
        assert!(p.ends_with("• line 44"));
    }

    #[test]
    fn a_long_list_of_refusals_is_summed_up() {
        let mut blocked: Vec<String> = (0..50)
            .map(|i| format!("🛡 Blocked: writing ~/.f{i}"))
            .collect();
        let t = with_sandbox_blocks(String::new(), &blocked);
        assert!(t.contains("\n- writing ~/.f11\n- … and 38 more\n"), "{t}");
        blocked.push(BLOCKED_CUT.into());
        let t = with_sandbox_blocks(String::new(), &blocked);
        assert!(
            t.contains("\n- writing ~/.f11\n- … and over 38 more\n"),
            "{t}"
        );
        let t = with_sandbox_blocks(String::new(), &blocked[45..]);
        assert!(t.contains("\n- writing ~/.f49\n- … and more\n"), "{t}");
        assert!(!t.contains("truncated"), "{t}");
        let r = sandbox_refusal(&blocked);
        assert!(r.contains("~/.f2; … and over 47 more (widen"), "{r}");
        let r = sandbox_refusal(&blocked[49..]);
        assert!(
            r.contains("~/.f49; … and more (widen") && r.ends_with("needs these)"),
            "{r}"
        );
    }

    #[test]
    fn prompt_shape() {
        assert_eq!(prompt("T", "", None, &[], &[]), "T");
        assert_eq!(prompt("T", "D", None, &[], &[]), "T\n\nD");
        assert!(
            prompt("T", "D", None, &[], &["`inputs/1/a.pdf` (2 KB)".into()]).ends_with(
                "(in this workspace; read them, do not change them):\n- `inputs/1/a.pdf` (2 KB)"
            )
        );
        let thread = [
            (
                Speaker::Agent,
                "Needs your answer.\n\n1. Which quote?".to_string(),
            ),
            (Speaker::Person, "Ada's".to_string()),
        ];
        let p = prompt("T", "D", None, &thread, &[]);
        assert!(
            p.starts_with("T\n\nD\n\nYou worked on this task before"),
            "{p}"
        );
        assert!(
            p.contains(
                "[You wrote]\nNeeds your answer.\n\n1. Which quote?\n\n[The person wrote]\nAda's"
            ),
            "{p}"
        );
        let reply = Reply {
            to: ReplyTo::Questions,
            texts: vec!["Ada's".into(), "No price.".into()],
            claim_id: None,
        };
        assert_eq!(
            reply_prompt(&reply, None, &[]),
            "The person answered your questions:\n\nAda's\n\nNo price.\n\nContinue the task with these answers."
        );
        assert_eq!(
            prompt("T", "D", Some("the agent timed out after 600 s"), &[], &[]),
            "T\n\nD\n\nYour previous attempt at this task failed: the agent timed out after 600 s\nKeep that in mind and avoid the same problem this time."
        );
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
            format!(
                "Done. Ready for review.\n\nSummary\n\nDrafts:\n- `drafts/a.md`\n\n{REVIEW_HINT}"
            )
        );
        let a = asked(
            &["Which quote?".into(), "Price?".into()],
            Some("Read the brief."),
            15_000,
        );
        let many: Vec<String> = (0..20)
            .map(|i| format!("{i} {}", "q".repeat(990)))
            .collect();
        let long = asked(&many, Some(&"s".repeat(5000)), 14_700);
        assert!(long.chars().count() <= 14_700, "{}", long.chars().count());
        assert!(long.contains("more questions (on the run's page in Delegate)."));
        assert_eq!(
            a,
            "Needs your answer. Reply in a comment: the agent continues where it stopped.\n\n1. Which quote?\n2. Price?\n\nSo far: Read the brief."
        );
        assert_eq!(crate::claims::Mark::of(&a), crate::claims::Mark::Asked);
        let n = nothing(Some("No new mail."));
        assert_eq!(n, "Nothing to do this time. No new mail.");
        assert_eq!(crate::claims::Mark::of(&n), crate::claims::Mark::Nothing);
    }
}
