//! Which task an employee works on next: skip what is done, given up, freshly claimed by
//! someone, out of attempts, still backing off, or held until due; then order by priority,
//! due date and the project's own order.

use crate::config::Employee;
use crate::history::{RunStatus, RunSummary};
use crate::labels;
use crate::source::Task;
use chrono::{DateTime, Duration, Utc};
use std::cmp::Reverse;

/// How long past its timeout a claim stays valid, so a slow shutdown is not taken over.
pub const CLAIM_GRACE_SECS: i64 = 120;
/// The longest wait between two attempts.
const MAX_BACKOFF_SECS: u64 = 6 * 3600;

/// Why a task is not eligible now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    Done,
    GaveUp,
    ClaimedElsewhere,
    OutOfAttempts,
    BackingOff { until: DateTime<Utc> },
    NotDueYet,
}

/// Slack for clock differences between Todoist's `updated_at` and this machine.
const CLOCK_SLACK_SECS: i64 = 30;

/// The claim is this machine's own, from a run that was interrupted (Delegate died): no one
/// else touched the task since, so it can be taken back at once instead of after the lease.
fn ours_and_dead(task: &Task, last_run: Option<&RunSummary>) -> bool {
    let Some(run) = last_run.filter(|r| r.status == RunStatus::Interrupted) else {
        return false;
    };
    task.updated_at
        .is_none_or(|u| u <= run.started_at + Duration::seconds(CLOCK_SLACK_SECS))
}

/// The wait before attempt `failures + 1`.
pub fn backoff(employee: &Employee, failures: u32) -> Duration {
    let secs = employee
        .retry_backoff_secs
        .saturating_mul(1u64 << failures.saturating_sub(1).min(20))
        .min(MAX_BACKOFF_SECS);
    Duration::seconds(secs as i64)
}

pub fn check(
    task: &Task,
    employee: &Employee,
    last_run: Option<&RunSummary>,
    now: DateTime<Utc>,
) -> Result<(), Skip> {
    let has = |l: &str| task.labels.iter().any(|x| x == l);
    if has(labels::DONE) {
        return Err(Skip::Done);
    }
    if has(labels::FAILED) {
        return Err(Skip::GaveUp);
    }
    if has(labels::WORKING) {
        let lease = Duration::seconds(employee.timeout_secs as i64 + CLAIM_GRACE_SECS);
        let claimed_at = task
            .updated_at
            .into_iter()
            .chain(last_run.map(|r| r.started_at))
            .max();
        if claimed_at.is_some_and(|t| t + lease > now) && !ours_and_dead(task, last_run) {
            return Err(Skip::ClaimedElsewhere);
        }
    }
    let failures = labels::failures(&task.labels);
    if failures >= employee.max_attempts {
        return Err(Skip::OutOfAttempts);
    }
    if failures > 0 {
        let failed_at = task
            .updated_at
            .into_iter()
            .chain(last_run.and_then(|r| r.ended_at))
            .max();
        if let Some(t) = failed_at {
            let until = t + backoff(employee, failures);
            if until > now {
                return Err(Skip::BackingOff { until });
            }
        }
    }
    if employee.hold_until_due && task.due_at().is_some_and(|d| d > now) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;
    use std::path::PathBuf;

    fn task(id: &str, labels: &[&str]) -> Task {
        Task {
            id: id.into(),
            title: id.into(),
            description: String::new(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            priority: 1,
            due: None,
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

    #[test]
    fn protocol_labels_are_respected() {
        let e = employee();
        let now = Utc::now();
        assert_eq!(check(&task("a", &[]), &e, None, now), Ok(()));
        assert_eq!(
            check(&task("a", &["agent-done"]), &e, None, now),
            Err(Skip::Done)
        );
        assert_eq!(
            check(&task("a", &["agent-failed"]), &e, None, now),
            Err(Skip::GaveUp)
        );
        assert_eq!(
            check(&task("a", &["agent-retry-3"]), &e, None, now),
            Err(Skip::OutOfAttempts)
        );
    }

    #[test]
    fn fresh_claims_are_kept_and_stale_ones_taken_over() {
        let e = employee();
        let now = Utc::now();
        let mut t = task("a", &["agent-working"]);
        t.updated_at = Some(now - Duration::seconds(60));
        assert_eq!(check(&t, &e, None, now), Err(Skip::ClaimedElsewhere));
        t.updated_at = Some(now - Duration::seconds(300 + CLAIM_GRACE_SECS + 1));
        assert_eq!(check(&t, &e, None, now), Ok(()));
    }

    #[test]
    fn our_own_interrupted_claim_is_taken_back_at_once() {
        let e = employee();
        let now = Utc::now();
        let mut t = task("a", &["agent-working"]);
        t.updated_at = Some(now - Duration::seconds(10));
        let mut run = RunSummary {
            id: 1,
            employee: "W".into(),
            source: "local".into(),
            task_id: "a".into(),
            task_title: "a".into(),
            attempt: 1,
            max_attempts: 3,
            status: RunStatus::Interrupted,
            started_at: now - Duration::seconds(9),
            ended_at: Some(now),
            cost_usd: None,
            summary: None,
            error: None,
            review: None,
        };
        assert_eq!(check(&t, &e, Some(&run), now), Ok(()));
        // Someone claimed it after our run started: theirs, keep off.
        run.started_at = now - Duration::seconds(100);
        assert_eq!(check(&t, &e, Some(&run), now), Err(Skip::ClaimedElsewhere));
        run.status = RunStatus::Failed;
        run.started_at = now - Duration::seconds(9);
        assert_eq!(check(&t, &e, Some(&run), now), Err(Skip::ClaimedElsewhere));
    }

    #[test]
    fn retries_back_off_exponentially() {
        let e = employee();
        let now = Utc::now();
        let mut t = task("a", &["agent-retry-2"]);
        t.updated_at = Some(now - Duration::seconds(100));
        assert!(matches!(
            check(&t, &e, None, now),
            Err(Skip::BackingOff { .. })
        ));
        t.updated_at = Some(now - Duration::seconds(121));
        assert_eq!(check(&t, &e, None, now), Ok(()));
        assert_eq!(backoff(&e, 1), Duration::seconds(60));
        assert_eq!(backoff(&e, 30), Duration::seconds(MAX_BACKOFF_SECS as i64));
    }

    #[test]
    fn future_tasks_can_be_held() {
        let mut e = employee();
        let mut t = task("a", &[]);
        t.due = Some("2999-01-01".into());
        assert_eq!(check(&t, &e, None, Utc::now()), Ok(()));
        e.hold_until_due = true;
        assert_eq!(check(&t, &e, None, Utc::now()), Err(Skip::NotDueYet));
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
}
