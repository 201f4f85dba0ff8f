//! The label protocol on tasks, compatible with the original Python worker: `agent-working`
//! while claimed, `agent-retry-k` after k failed attempts, `agent-done` when a draft waits for
//! review, `agent-failed` after the last attempt.

pub const WORKING: &str = "agent-working";
pub const DONE: &str = "agent-done";
pub const FAILED: &str = "agent-failed";
/// The agent asked the person something and waits for their answer (a comment).
pub const NEEDS_INPUT: &str = "agent-needs-input";
const RETRY_PREFIX: &str = "agent-retry-";

/// Failed attempts so far, read from the highest `agent-retry-k` label.
pub fn failures(labels: &[String]) -> u32 {
    labels
        .iter()
        .filter_map(|l| l.strip_prefix(RETRY_PREFIX)?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
}

/// One of Delegate's own labels (`agent-working`, `agent-done`, `agent-failed`, `agent-retry-k`).
pub fn is_ours(label: &str) -> bool {
    label == WORKING
        || label == DONE
        || label == FAILED
        || label == NEEDS_INPUT
        || label
            .strip_prefix(RETRY_PREFIX)
            .is_some_and(|n| n.parse::<u32>().is_ok())
}

/// The person's own labels, with every protocol label removed.
fn theirs(labels: &[String]) -> Vec<String> {
    labels.iter().filter(|l| !is_ours(l)).cloned().collect()
}

/// Labels while a machine works on the task (previous retry labels are kept: they count).
pub fn claimed(labels: &[String]) -> Vec<String> {
    let mut out: Vec<String> = labels
        .iter()
        .filter(|l| l.as_str() != WORKING && l.as_str() != DONE && l.as_str() != NEEDS_INPUT)
        .cloned()
        .collect();
    out.push(WORKING.into());
    out
}

/// Labels after a run that asked the person something: waiting for their answer.
pub fn asked(labels: &[String]) -> Vec<String> {
    let mut out = theirs(labels);
    out.push(NEEDS_INPUT.into());
    out
}

/// Labels after a successful run.
pub fn done(labels: &[String]) -> Vec<String> {
    let mut out = theirs(labels);
    out.push(DONE.into());
    out
}

/// Labels after failed attempt `attempt` of `max`: retry later, or give up.
pub fn failed(labels: &[String], attempt: u32, max: u32) -> Vec<String> {
    let mut out = theirs(labels);
    if attempt >= max {
        out.push(FAILED.into());
    } else {
        out.push(format!("{RETRY_PREFIX}{attempt}"));
    }
    out
}

/// Labels when a claim is released without counting an attempt (shutdown mid-run).
pub fn released(labels: &[String]) -> Vec<String> {
    labels
        .iter()
        .filter(|l| l.as_str() != WORKING)
        .cloned()
        .collect()
}

/// Labels a finished run left, read back from its end comment (`Done.`, `Failed (attempt k
/// of N)…`, `Failed after N attempts…`, `Stopped:`), applied to `current`.
pub fn after_end(end: &str, current: &[String]) -> Option<Vec<String>> {
    if end.starts_with("Done.") || end.starts_with(crate::claims::NOTHING_HEAD) {
        return Some(done(current));
    }
    if end.starts_with(crate::claims::ASKED_HEAD) {
        return Some(asked(current));
    }
    if end.starts_with("Stopped:") {
        return Some(released(current));
    }
    let numbers: Vec<u32> = end
        .lines()
        .next()?
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    if end.starts_with("Failed after ") {
        let max = *numbers.first()?;
        return Some(failed(current, max, max));
    }
    if end.starts_with("Failed (attempt ") {
        return Some(failed(current, *numbers.first()?, *numbers.get(1)?));
    }
    None
}

/// Labels when a reviewer asks for changes: ready to be reworked from attempt 1. Also the
/// labels a recurring task starts a new occurrence with.
pub fn rework(labels: &[String]) -> Vec<String> {
    theirs(labels)
}

/// A task's state in words, from its protocol labels, for listings.
pub fn state_in_words(labels: &[String], closed: bool) -> &'static str {
    let has = |l: &str| labels.iter().any(|x| x == l);
    if closed {
        "closed"
    } else if has(WORKING) {
        "working"
    } else if has(NEEDS_INPUT) {
        "needs your answer"
    } else if has(DONE) {
        "ready for review"
    } else if has(FAILED) {
        "gave up"
    } else if failures(labels) > 0 {
        "will retry"
    } else {
        "waiting"
    }
}

/// Whether any of Delegate's own labels is on the task.
pub fn any_ours(labels: &[String]) -> bool {
    labels.iter().any(|l| is_ours(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn failures_read_the_highest_retry_label() {
        assert_eq!(failures(&l(&["x"])), 0);
        assert_eq!(failures(&l(&["agent-retry-1", "agent-retry-2"])), 2);
        assert_eq!(failures(&l(&["agent-retry-x"])), 0);
    }

    #[test]
    fn lifecycle_keeps_the_persons_labels() {
        let start = l(&["writing", "agent-retry-1"]);
        let c = claimed(&start);
        assert_eq!(c, l(&["writing", "agent-retry-1", "agent-working"]));
        assert_eq!(done(&c), l(&["writing", "agent-done"]));
        assert_eq!(failed(&c, 2, 3), l(&["writing", "agent-retry-2"]));
        assert_eq!(failed(&c, 3, 3), l(&["writing", "agent-failed"]));
        assert_eq!(released(&c), start);
        assert_eq!(rework(&l(&["writing", "agent-done"])), l(&["writing"]));
        let a = asked(&c);
        assert_eq!(a, l(&["writing", "agent-needs-input"]));
        assert_eq!(claimed(&a), l(&["writing", "agent-working"]));
        assert_eq!(state_in_words(&a, false), "needs your answer");
        assert_eq!(
            after_end("Needs your answer.\n\n1. Which quote?", &c),
            Some(a)
        );
    }

    #[test]
    fn an_end_comment_gives_back_its_labels() {
        let c = l(&["mine", "agent-working"]);
        assert_eq!(
            after_end("Done. Ready for review.", &c),
            Some(l(&["mine", "agent-done"]))
        );
        assert_eq!(
            after_end("Failed (attempt 1 of 3). Will retry.\n\nReason: x", &c),
            Some(l(&["mine", "agent-retry-1"]))
        );
        assert_eq!(
            after_end("Failed after 3 attempts. Giving up.", &c),
            Some(l(&["mine", "agent-failed"]))
        );
        assert_eq!(after_end("Stopped: …", &c), Some(l(&["mine"])));
        assert_eq!(after_end("hello", &c), None);
    }

    /// Every protocol label, so a new occurrence of a recurring task starts clean.
    #[test]
    fn theirs_drops_every_protocol_label() {
        assert_eq!(
            rework(&l(&[
                "a",
                "agent-done",
                "agent-retry-2",
                "agent-failed",
                "agent-working"
            ])),
            l(&["a"])
        );
    }

    #[test]
    fn states_read_like_a_person_would_say_them() {
        assert_eq!(
            state_in_words(&l(&["agent-done"]), false),
            "ready for review"
        );
        assert_eq!(state_in_words(&l(&["agent-retry-1"]), false), "will retry");
        assert_eq!(
            state_in_words(&l(&["agent-working", "agent-retry-1"]), false),
            "working"
        );
        assert_eq!(state_in_words(&l(&[]), true), "closed");
        assert_eq!(state_in_words(&l(&["mine"]), false), "waiting");
    }

    #[test]
    fn claim_is_not_duplicated() {
        assert_eq!(claimed(&l(&["agent-working"])), l(&["agent-working"]));
    }
}
