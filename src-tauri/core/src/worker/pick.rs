//! Which task an employee works on next: skip what is done, given up, freshly claimed by
//! someone, out of attempts, still backing off, or held until due; then order by priority,
//! due date and the project's own order.

use crate::claims::{Awaiting, Log};
use crate::config::Employee;
use crate::history::RunSummary;
use crate::labels;
use crate::source::Task;
use chrono::{DateTime, Duration, Utc};
use std::cmp::Reverse;
use std::collections::HashSet;
/// The longest wait between two attempts.
const MAX_BACKOFF_SECS: u64 = 6 * 3600;

/// Why a task is not eligible now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    Done,
    /// The agent asked the person something; no answer yet.
    AwaitingAnswer,
    GaveUp,
    ClaimedElsewhere,
    OutOfAttempts,
    BackingOff {
        until: DateTime<Utc>,
    },
    NotDueYet,
}

/// What the decision needs beyond the task's labels.
pub struct Seen<'a> {
    /// The task's comments (claims, failures), when they were read.
    pub log: Option<&'a Log>,
    /// This employee's latest run of the task.
    pub last_run: Option<&'a RunSummary>,
    /// The source's clock.
    pub now: DateTime<Utc>,
    /// This machine's interrupted claims, which hold no more.
    pub dead: &'a HashSet<String>,
    /// How long past its timeout a claim holds.
    pub grace_secs: u64,
}

/// The lease of a claim that does not say its own (written by an older worker).
pub fn default_lease(employee: &Employee, grace_secs: u64) -> u64 {
    employee.timeout_secs.saturating_add(grace_secs)
}

/// Whether the decision needs the task's comments: every task not settled by its labels
/// (a claim is a comment, labelled only once its run lasts; a result or a question is
/// answered by a comment), and a recurring task that may have moved to a new occurrence.
/// Only a task given up is settled by its labels alone.
pub fn needs_log(task: &Task) -> bool {
    let has = |l: &str| task.labels.iter().any(|x| x == l);
    !has(labels::FAILED) || (task.recurring && labels::any_ours(&task.labels))
}

/// The wait before attempt `failures + 1`.
pub fn backoff(employee: &Employee, failures: u32) -> Duration {
    let secs = employee
        .retry_backoff_secs
        .saturating_mul(1u64 << failures.saturating_sub(1).min(20))
        .min(MAX_BACKOFF_SECS);
    Duration::seconds(secs as i64)
}

pub fn check(task: &Task, employee: &Employee, seen: &Seen<'_>) -> Result<(), Skip> {
    let has = |l: &str| task.labels.iter().any(|x| x == l);
    // A result or a question waits for the person: their comment since (feedback, an
    // answer) makes the task work again.
    let replied = || {
        seen.log
            .is_some_and(|l| l.reply(task.due.as_deref(), task.recurring).is_some())
    };
    if has(labels::NEEDS_INPUT) && !replied() {
        return Err(Skip::AwaitingAnswer);
    }
    if has(labels::DONE) && !replied() {
        return Err(Skip::Done);
    }
    if has(labels::FAILED) {
        return Err(Skip::GaveUp);
    }
    // The comments may be newer than the labels: a run that ended after the labels were
    // read (or whose labels the service shows late) is settled by its end comment.
    match seen
        .log
        .and_then(|l| l.awaiting(task.due.as_deref(), task.recurring))
    {
        Some(Awaiting::Answer) => return Err(Skip::AwaitingAnswer),
        Some(Awaiting::Review) => return Err(Skip::Done),
        None => {}
    }
    let lease = default_lease(employee, seen.grace_secs);
    match seen.log {
        Some(log) if log.live_claim(seen.now, lease, seen.dead).is_some() => {
            return Err(Skip::ClaimedElsewhere);
        }
        Some(_) => {}
        // Labelled but the comments are unknown: trust the label until it is old.
        None if has(labels::WORKING) => {
            let lease = Duration::seconds(lease as i64);
            if task.updated_at.is_none_or(|u| u + lease > seen.now) {
                return Err(Skip::ClaimedElsewhere);
            }
        }
        None => {}
    }
    let failures = labels::failures(&task.labels);
    if failures >= employee.max_attempts {
        return Err(Skip::OutOfAttempts);
    }
    if failures > 0 {
        // The failure comment's own time (the task's `updated_at` moves for any edit);
        // a task labelled by an older worker falls back to the history and `updated_at`.
        let failed_at = seen
            .log
            .and_then(Log::last_failure_at)
            .into_iter()
            .chain(seen.last_run.and_then(|r| r.ended_at))
            .max()
            .or(task.updated_at);
        if let Some(t) = failed_at {
            let until = t + backoff(employee, failures);
            if until > seen.now {
                return Err(Skip::BackingOff { until });
            }
        }
    }
    if employee.hold_until_due && task.due_at().is_some_and(|d| d > seen.now) {
        return Err(Skip::NotDueYet);
    }
    // A recurring check that found nothing completed its occurrence itself: the next one
    // waits for its date (else every poll would run, find nothing and move the date on).
    if task.recurring
        && task.due_at().is_some_and(|d| d > seen.now)
        && seen.log.is_some_and(Log::ended_with_nothing)
    {
        return Err(Skip::NotDueYet);
    }
    Ok(())
}

/// Most urgent first, then earliest due (undated last), then the project's order.
pub fn sort(tasks: &mut [Task]) {
    tasks.sort_by_key(|t| {
        (
            Reverse(t.priority),
            t.due_at().is_none(),
            t.due_at(),
            t.order,
            t.id.clone(),
        )
    });
}

/// How many of the best tasks of equal rank a machine that shares its project chooses from.
pub const SPREAD: usize = 5;

/// Puts first, among the first [`SPREAD`] tasks of the same rank (priority and due date),
/// the one this machine prefers — a preference of its own (a hash of the machine and the
/// task), so machines that share a project and decide at the same moment mostly claim
/// different tasks instead of all claiming the first one, where all but one lose.
pub fn spread(tasks: &mut [Task], machine: &str) {
    use std::hash::{Hash, Hasher};
    let Some(first) = tasks.first() else { return };
    let rank = |t: &Task| (t.priority, t.due_at());
    let top = rank(first);
    let n = tasks
        .iter()
        .take(SPREAD)
        .take_while(|t| rank(t) == top)
        .count();
    let score = |t: &Task| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (machine, &t.id).hash(&mut h);
        h.finish()
    };
    if let Some(best) = (0..n).min_by_key(|&i| score(&tasks[i])) {
        tasks[..=best].rotate_right(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Claim;
    use crate::config::SourceKind;
    use crate::source::Comment;
    use std::path::PathBuf;

    const GRACE: u64 = 120;

    fn task(id: &str, labels: &[&str]) -> Task {
        Task {
            id: id.into(),
            title: id.into(),
            description: String::new(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            priority: 1,
            due: None,
            recurring: false,
            order: 0,
            updated_at: None,
            url: None,
        }
    }

    fn employee() -> Employee {
        let mut e = Employee::new("W", SourceKind::Local, PathBuf::from("/w"));
        e.timeout_secs = 300;
        e.retry_backoff_secs = 60;
        e.max_attempts = 3;
        e
    }

    fn check_with(
        t: &Task,
        e: &Employee,
        log: Option<&Log>,
        now: DateTime<Utc>,
        dead: &HashSet<String>,
    ) -> Result<(), Skip> {
        check(
            t,
            e,
            &Seen {
                log,
                last_run: None,
                now,
                dead,
                grace_secs: GRACE,
            },
        )
    }

    fn comment(id: &str, secs_ago: i64, content: &str) -> Comment {
        Comment {
            id: id.into(),
            content: content.into(),
            posted_at: Some(Utc::now() - Duration::seconds(secs_ago)),
        }
    }

    fn claim_text(id: &str) -> String {
        Claim {
            id: id.into(),
            machine: "A".into(),
            attempt: 1,
            max_attempts: 3,
            lease_secs: Some(420),
            due: None,
        }
        .text()
    }

    #[test]
    fn protocol_labels_are_respected() {
        let e = employee();
        let now = Utc::now();
        let none = HashSet::new();
        assert_eq!(check_with(&task("a", &[]), &e, None, now, &none), Ok(()));
        assert_eq!(
            check_with(&task("a", &["agent-done"]), &e, None, now, &none),
            Err(Skip::Done)
        );
        assert_eq!(
            check_with(&task("a", &["agent-failed"]), &e, None, now, &none),
            Err(Skip::GaveUp)
        );
        assert_eq!(
            check_with(&task("a", &["agent-retry-3"]), &e, None, now, &none),
            Err(Skip::OutOfAttempts)
        );
        assert!(needs_log(&task("a", &["agent-working"])));
        // A claim carries no label until its run lasts: an unlabelled task is read too.
        assert!(needs_log(&task("a", &["mine"])));
        // A result or a question is answered by a comment: read too. A task given up is not.
        assert!(needs_log(&task("a", &["agent-done"])));
        assert!(needs_log(&task("a", &["agent-needs-input"])));
        assert!(!needs_log(&task("a", &["agent-failed"])));
    }

    #[test]
    fn a_result_or_a_question_waits_for_the_persons_comment() {
        let e = employee();
        let now = Utc::now();
        let none = HashSet::new();
        let asked = task("a", &["agent-needs-input"]);
        let mut comments = vec![
            comment("1", 60, &claim_text("c1")),
            comment(
                "2",
                50,
                "Needs your answer. Reply in a comment.\n\n1. Which quote?",
            ),
        ];
        let log = Log::new(comments.clone());
        assert_eq!(
            check_with(&asked, &e, Some(&log), now, &none),
            Err(Skip::AwaitingAnswer)
        );
        assert_eq!(
            check_with(&asked, &e, None, now, &none),
            Err(Skip::AwaitingAnswer)
        );
        comments.push(comment("3", 10, "Ada's quote"));
        let log = Log::new(comments);
        assert_eq!(check_with(&asked, &e, Some(&log), now, &none), Ok(()));
        // Feedback on a result, written on the task itself (no label removed): a rework.
        let done = task("b", &["agent-done"]);
        let log = Log::new(vec![
            comment("1", 60, &claim_text("c1")),
            comment("2", 50, "Done. Ready for review."),
        ]);
        assert_eq!(
            check_with(&done, &e, Some(&log), now, &none),
            Err(Skip::Done)
        );
        let log = Log::new(vec![
            comment("1", 60, &claim_text("c1")),
            comment("2", 50, "Done. Ready for review."),
            comment("3", 5, "Shorter, please"),
        ]);
        assert_eq!(check_with(&done, &e, Some(&log), now, &none), Ok(()));
    }

    /// Labels read before a run ended (or shown late by the service) still invite work while
    /// the comments already show its end: the end settles it, until the person answers.
    #[test]
    fn an_end_in_the_comments_settles_the_task_when_its_labels_are_older() {
        let e = employee();
        let now = Utc::now();
        let none = HashSet::new();
        let stale = task("a", &[]);
        let done = vec![
            comment("1", 60, &claim_text("c1")),
            comment("2", 50, "Done. Ready for review."),
        ];
        assert_eq!(
            check_with(&stale, &e, Some(&Log::new(done.clone())), now, &none),
            Err(Skip::Done)
        );
        let asked = vec![
            comment("1", 60, &claim_text("c1")),
            comment(
                "2",
                50,
                "Needs your answer. Reply in a comment.\n\n1. Which quote?",
            ),
        ];
        assert_eq!(
            check_with(&stale, &e, Some(&Log::new(asked)), now, &none),
            Err(Skip::AwaitingAnswer)
        );
        // The person's comment since is what makes it work again.
        let mut answered = done.clone();
        answered.push(comment("3", 5, "Shorter, please"));
        assert_eq!(
            check_with(&stale, &e, Some(&Log::new(answered)), now, &none),
            Ok(())
        );
        // A failed run invites the retry its labels say.
        let failed = vec![
            comment("1", 60, &claim_text("c1")),
            comment(
                "2",
                50,
                "Failed (attempt 1 of 3). Will retry.\n\nReason: timed out",
            ),
        ];
        assert_eq!(
            check_with(&stale, &e, Some(&Log::new(failed)), now, &none),
            Ok(())
        );
        // A recurring task's end about an earlier occurrence does not hold the next one.
        let mut recurring = task("r", &[]);
        recurring.recurring = true;
        recurring.due = Some("2026-12-08".into());
        let earlier = Claim {
            id: "c1".into(),
            machine: "A".into(),
            attempt: 1,
            max_attempts: 3,
            lease_secs: Some(420),
            due: Some("2026-12-01".into()),
        };
        let log = Log::new(vec![
            comment("1", 60, &earlier.text()),
            comment("2", 50, "Done. Ready for review."),
        ]);
        assert_eq!(check_with(&recurring, &e, Some(&log), now, &none), Ok(()));
        let this = Claim {
            due: Some("2026-12-08".into()),
            ..earlier
        };
        let log = Log::new(vec![
            comment("1", 60, &this.text()),
            comment("2", 50, "Done. Ready for review."),
        ]);
        assert_eq!(
            check_with(&recurring, &e, Some(&log), now, &none),
            Err(Skip::Done)
        );
    }

    #[test]
    fn live_claims_are_kept_stale_and_dead_ones_taken_over() {
        let e = employee();
        let now = Utc::now();
        let none = HashSet::new();
        let t = task("a", &["agent-working"]);
        let fresh = Log::new(vec![comment("1", 60, &claim_text("c1"))]);
        assert_eq!(
            check_with(&t, &e, Some(&fresh), now, &none),
            Err(Skip::ClaimedElsewhere)
        );
        let stale = Log::new(vec![comment("1", 421, &claim_text("c1"))]);
        assert_eq!(check_with(&t, &e, Some(&stale), now, &none), Ok(()));
        let dead: HashSet<String> = ["c1".to_string()].into();
        assert_eq!(
            check_with(&t, &e, Some(&fresh), now, &dead),
            Ok(()),
            "our own interrupted claim"
        );
        // A live claim counts even when the label is gone.
        assert_eq!(
            check_with(&task("a", &[]), &e, Some(&fresh), now, &none),
            Err(Skip::ClaimedElsewhere)
        );
        // Without comments, the label holds until it is older than the lease.
        let mut t = task("a", &["agent-working"]);
        t.updated_at = Some(now - Duration::seconds(60));
        assert_eq!(
            check_with(&t, &e, None, now, &none),
            Err(Skip::ClaimedElsewhere)
        );
        t.updated_at = Some(now - Duration::seconds(300 + GRACE as i64 + 1));
        assert_eq!(check_with(&t, &e, None, now, &none), Ok(()));
    }

    #[test]
    fn retries_back_off_from_the_failure_comment() {
        let e = employee();
        let now = Utc::now();
        let none = HashSet::new();
        let t = task("a", &["agent-retry-2"]);
        let recent = Log::new(vec![comment(
            "1",
            100,
            "Failed (attempt 2 of 3). Will retry.",
        )]);
        assert!(matches!(
            check_with(&t, &e, Some(&recent), now, &none),
            Err(Skip::BackingOff { .. })
        ));
        let old = Log::new(vec![comment(
            "1",
            121,
            "Failed (attempt 2 of 3). Will retry.",
        )]);
        assert_eq!(check_with(&t, &e, Some(&old), now, &none), Ok(()));
        assert_eq!(backoff(&e, 1), Duration::seconds(60));
        assert_eq!(backoff(&e, 30), Duration::seconds(MAX_BACKOFF_SECS as i64));
    }

    #[test]
    fn future_tasks_can_be_held() {
        let mut e = employee();
        let mut t = task("a", &[]);
        let none = HashSet::new();
        t.due = Some("2999-01-01".into());
        assert_eq!(check_with(&t, &e, None, Utc::now(), &none), Ok(()));
        e.hold_until_due = true;
        assert_eq!(
            check_with(&t, &e, None, Utc::now(), &none),
            Err(Skip::NotDueYet)
        );
    }

    #[test]
    fn order_is_priority_then_due_then_project_order() {
        let mut a = task("a", &[]);
        a.order = 1;
        let mut b = task("b", &[]);
        b.order = 0;
        let mut c = task("c", &[]);
        c.due = Some("2030-01-02".into());
        let mut d = task("d", &[]);
        d.due = Some("2030-01-01".into());
        let mut e = task("e", &[]);
        e.priority = 4;
        let mut all = vec![a, b, c, d, e];
        sort(&mut all);
        let ids: Vec<_> = all.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["e", "d", "c", "b", "a"]);
    }

    #[test]
    fn machines_that_share_a_project_prefer_different_tasks() {
        let tasks: Vec<Task> = (0..6).map(|i| task(&format!("t{i}"), &[])).collect();
        let firsts: HashSet<String> = (0..8)
            .map(|m| {
                let mut t = tasks.clone();
                spread(&mut t, &format!("machine-{m}"));
                assert_eq!(t.len(), 6);
                t[0].id.clone()
            })
            .collect();
        assert!(
            firsts.len() > 1,
            "not every machine picks the same: {firsts:?}"
        );
        assert!(
            firsts
                .iter()
                .all(|f| ["t0", "t1", "t2", "t3", "t4"].contains(&f.as_str())),
            "only the first {SPREAD} are chosen from: {firsts:?}"
        );
        // A more urgent task stays first whatever the machine.
        let mut t = tasks.clone();
        t[0].priority = 4;
        sort(&mut t);
        spread(&mut t, "machine-x");
        assert_eq!(t[0].id, "t0");
    }
}
