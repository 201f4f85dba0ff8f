//! Which worker events deserve a desktop notification, what it says, and what a click on it
//! opens — decided here, once, so the desktop shell only shows notices and routes clicks.
//! Bursts are grouped: ten drafts ready within a minute make one notice, not ten. A
//! [`Notifier`] keeps what was already told, so a broken token or an employee that needs
//! attention is told once, not at every poll.

use crate::agent::first_line;
use crate::config::NotificationSettings;
use crate::history::RunStatus;
use crate::worker::{ProblemKind, WorkerEvent};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Where a click on a notice takes the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "view", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Opens {
    Run {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        id: i64,
    },
    Activity,
    Employees,
    Settings,
}

/// A notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
    pub opens: Opens,
    /// A run with a draft: the notice offers "Open draft" and "Open run" buttons.
    pub draft_run: Option<i64>,
    /// Drafts ready (grouped when they come in a burst).
    pub draft_ready: bool,
}

/// The notice for `ev`, if it deserves one under `settings`. Never an approve button: the
/// person reads before approving.
pub fn notice_for(ev: &WorkerEvent, settings: &NotificationSettings) -> Option<Notice> {
    match ev {
        WorkerEvent::RunFinished {
            run_id,
            status: RunStatus::Succeeded,
            task_title,
            summary,
            drafts,
            ..
        } if settings.draft_ready => Some(Notice {
            title: format!("Draft ready: {}", first_line(task_title, 80)),
            body: summary
                .as_deref()
                .map(|s| first_line(s, 200))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("{} file(s) to review", drafts.len())),
            opens: Opens::Run { id: *run_id },
            draft_run: (!drafts.is_empty()).then_some(*run_id),
            draft_ready: true,
        }),
        WorkerEvent::RunFinished {
            run_id,
            employee,
            status: RunStatus::NeedsInput,
            task_title,
            questions,
            ..
        } if settings.question => Some(Notice {
            title: format!(
                "{employee} asks: {}",
                questions
                    .first()
                    .map(|q| first_line(q, 120))
                    .unwrap_or_else(|| "a question".into())
            ),
            body: match questions.len() {
                0 | 1 => format!(
                    "About “{}”. Answer on the task or in Delegate.",
                    first_line(task_title, 80)
                ),
                n => format!(
                    "And {} more question{} about “{}”. Answer on the task or in Delegate.",
                    n - 1,
                    if n == 2 { "" } else { "s" },
                    first_line(task_title, 80)
                ),
            },
            opens: Opens::Run { id: *run_id },
            draft_run: None,
            draft_ready: false,
        }),
        WorkerEvent::RunFinished {
            run_id,
            gave_up: true,
            task_title,
            error,
            ..
        } if settings.gave_up => Some(Notice {
            title: format!("Gave up on {}", first_line(task_title, 80)),
            body: error
                .as_deref()
                .map(|e| first_line(e, 200))
                .unwrap_or_else(|| "The last attempt failed.".into()),
            opens: Opens::Run { id: *run_id },
            draft_run: None,
            draft_ready: false,
        }),
        WorkerEvent::BudgetReached {
            employee,
            spent_usd,
            limit_usd,
            first_today: true,
            ..
        } if settings.budget_reached => Some(Notice {
            title: format!("Daily budget reached for {employee}"),
            body: format!(
                "Spent ${spent_usd:.2} of ${limit_usd:.2}. New tasks wait until tomorrow or a higher limit."
            ),
            opens: Opens::Settings,
            draft_run: None,
            draft_ready: false,
        }),
        WorkerEvent::Problem {
            kind: ProblemKind::AgentNotReady,
            employee,
            message,
            ..
        } if settings.needs_attention => Some(Notice {
            title: format!("{employee} needs attention"),
            body: first_line(message, 240),
            opens: Opens::Employees,
            draft_run: None,
            draft_ready: false,
        }),
        WorkerEvent::Problem {
            kind: ProblemKind::TokenRejected,
            source,
            message,
            ..
        } if settings.token_rejected => Some(Notice {
            title: match source {
                Some(kind) => format!("{} {} rejected", kind.info().title, kind.info().token_name),
                None => "Token rejected".into(),
            },
            body: format!(
                "{}. Click to open Settings and paste a new one.",
                first_line(message, 200)
                    .split("; ")
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('.')
            ),
            opens: Opens::Settings,
            draft_run: None,
            draft_ready: false,
        }),
        _ => None,
    }
}

/// Groups "Draft ready" notices that come in a burst: the first shows at once, the ones that
/// follow within [`Bursts::WINDOW`] are held and shown as one "N more drafts ready" notice
/// when the window has passed.
#[derive(Debug, Default)]
pub struct Bursts {
    last_shown: Option<Instant>,
    held: usize,
}

impl Bursts {
    pub const WINDOW: Duration = Duration::from_secs(60);

    /// What to show now for `notice` (`None`: held for the group).
    pub fn offer(&mut self, notice: Notice, now: Instant) -> Option<Notice> {
        if !notice.draft_ready {
            return Some(notice);
        }
        match self.last_shown {
            Some(t) if now.duration_since(t) < Self::WINDOW => {
                self.held += 1;
                None
            }
            _ => {
                self.last_shown = Some(now);
                Some(notice)
            }
        }
    }

    /// When the held notices should be shown as one, if any are held.
    pub fn due_at(&self) -> Option<Instant> {
        (self.held > 0).then(|| self.last_shown.map(|t| t + Self::WINDOW))?
    }

    /// The group notice, once its time has come.
    pub fn flush(&mut self, now: Instant) -> Option<Notice> {
        let due = self.due_at()?;
        if now < due {
            return None;
        }
        let n = std::mem::take(&mut self.held);
        self.last_shown = Some(now);
        Some(Notice {
            title: if n == 1 {
                "1 more draft ready".into()
            } else {
                format!("{n} more drafts ready")
            },
            body: "Open Delegate to review them.".into(),
            opens: Opens::Activity,
            draft_run: None,
            draft_ready: true,
        })
    }
}

/// Turns worker events into the notices to show, each told once: one "token rejected" until a
/// new token is saved, one "needs attention" per employee until it works again, and drafts in
/// a burst held for one group notice. Owned by whoever shows the notices (the desktop shell);
/// it needs the events in order and the time, nothing else.
#[derive(Debug, Default)]
pub struct Notifier {
    bursts: Bursts,
    token_rejected_told: bool,
    /// Employees told that they need attention (a problem of this machine), until they work
    /// again.
    needs_attention_told: BTreeSet<String>,
}

impl Notifier {
    /// The notice to show now for `ev` under `settings`, if any. A draft that comes in a burst
    /// is held: [`Notifier::due_at`] says when the group notice is due.
    pub fn on_event(
        &mut self,
        ev: &WorkerEvent,
        settings: &NotificationSettings,
        now: Instant,
    ) -> Option<Notice> {
        if let WorkerEvent::Polled { employee, .. } = ev {
            // A poll that worked ends the episode: the next problem is told again.
            self.needs_attention_told.remove(employee);
        }
        let notice = notice_for(ev, settings)?;
        match ev {
            WorkerEvent::Problem {
                kind: ProblemKind::AgentNotReady,
                employee,
                ..
            } if !self.needs_attention_told.insert(employee.clone()) => return None,
            WorkerEvent::Problem {
                kind: ProblemKind::TokenRejected,
                ..
            } if std::mem::replace(&mut self.token_rejected_told, true) => return None,
            _ => {}
        }
        self.bursts.offer(notice, now)
    }

    /// When the notices held from a burst are due as one, if any are held.
    pub fn due_at(&self) -> Option<Instant> {
        self.bursts.due_at()
    }

    /// The group notice for a burst, once it is due.
    pub fn flush(&mut self, now: Instant) -> Option<Notice> {
        self.bursts.flush(now)
    }

    /// A token was saved or cleared: a rejected token is worth telling again.
    pub fn token_changed(&mut self) {
        self.token_rejected_told = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(status: RunStatus, gave_up: bool) -> WorkerEvent {
        WorkerEvent::RunFinished {
            run_id: 3,
            employee: "Writer".into(),
            task_title: "Write a post".into(),
            status,
            summary: Some("\nWrote drafts/post.md.\nMore lines".into()),
            error: Some("the agent exited with code 2".into()),
            drafts: vec![crate::agent::Draft {
                path: "drafts/post.md".into(),
                inside_workspace: true,
            }],
            questions: vec!["Which customer quote should I use?".into()],
            gave_up,
        }
    }

    #[test]
    fn each_kind_has_its_words_its_target_and_can_be_turned_off() {
        let on = NotificationSettings::default();
        let m = notice_for(&finished(RunStatus::Succeeded, false), &on).unwrap();
        assert_eq!(m.title, "Draft ready: Write a post");
        assert_eq!(m.body, "Wrote drafts/post.md.");
        assert_eq!((m.opens, m.draft_run), (Opens::Run { id: 3 }, Some(3)));
        let m = notice_for(&finished(RunStatus::Failed, true), &on).unwrap();
        assert_eq!(m.title, "Gave up on Write a post");
        assert_eq!((m.opens, m.draft_run), (Opens::Run { id: 3 }, None));
        assert!(
            notice_for(&finished(RunStatus::Failed, false), &on).is_none(),
            "retries are quiet"
        );
        let budget = WorkerEvent::BudgetReached {
            employee: "Writer".into(),
            spent_usd: 10.5,
            limit_usd: 10.0,
            scope: "employee".into(),
            first_today: true,
        };
        assert_eq!(notice_for(&budget, &on).unwrap().opens, Opens::Settings);
        let token = WorkerEvent::Problem {
            employee: "Writer".into(),
            source: Some(crate::config::SourceKind::GitHub),
            kind: ProblemKind::TokenRejected,
            message: "401".into(),
        };
        let told = notice_for(&token, &on).unwrap();
        assert_eq!(told.opens, Opens::Settings);
        assert_eq!(told.title, "GitHub personal access token rejected");
        let login = WorkerEvent::Problem {
            employee: "Writer".into(),
            source: None,
            kind: ProblemKind::AgentNotReady,
            message: "Claude Code is not logged in — run `claude` and /login".into(),
        };
        let m = notice_for(&login, &on).unwrap();
        assert_eq!(
            (m.title.as_str(), m.opens),
            ("Writer needs attention", Opens::Employees)
        );
        let off = NotificationSettings {
            draft_ready: false,
            question: false,
            gave_up: false,
            budget_reached: false,
            token_rejected: false,
            needs_attention: false,
        };
        for ev in [
            finished(RunStatus::Succeeded, false),
            finished(RunStatus::Failed, true),
            budget,
            token,
            login,
        ] {
            assert!(notice_for(&ev, &off).is_none());
        }
    }

    #[test]
    fn a_burst_of_drafts_is_one_notice_then_one_summary() {
        let on = NotificationSettings::default();
        let draft = notice_for(&finished(RunStatus::Succeeded, false), &on).unwrap();
        let gave_up = notice_for(&finished(RunStatus::Failed, true), &on).unwrap();
        let mut b = Bursts::default();
        let t0 = Instant::now();
        assert!(
            b.offer(draft.clone(), t0).is_some(),
            "the first shows at once"
        );
        for i in 1..10 {
            assert!(
                b.offer(draft.clone(), t0 + Duration::from_secs(i))
                    .is_none()
            );
        }
        assert!(
            b.offer(gave_up, t0 + Duration::from_secs(5)).is_some(),
            "failures are never held"
        );
        assert_eq!(b.due_at(), Some(t0 + Bursts::WINDOW));
        assert!(b.flush(t0 + Duration::from_secs(30)).is_none(), "not yet");
        let group = b.flush(t0 + Bursts::WINDOW).unwrap();
        assert_eq!(
            (group.title.as_str(), group.opens),
            ("9 more drafts ready", Opens::Activity)
        );
        assert!(
            b.flush(t0 + Bursts::WINDOW * 3).is_none(),
            "nothing held any more"
        );
        // Quiet for a minute: the next draft shows at once again.
        assert!(b.offer(draft, t0 + Bursts::WINDOW * 3).is_some());
    }

    fn problem(employee: &str, kind: ProblemKind) -> WorkerEvent {
        WorkerEvent::Problem {
            employee: employee.into(),
            source: None,
            kind,
            message: "Claude Code is not logged in — run `claude` and /login".into(),
        }
    }

    fn polled(employee: &str) -> WorkerEvent {
        WorkerEvent::Polled {
            employee: employee.into(),
            open_tasks: 1,
            eligible: 0,
            awaiting_review: 0,
            awaiting_answer: 0,
        }
    }

    #[test]
    fn a_rejected_token_is_told_once_until_a_new_token_is_saved() {
        let on = NotificationSettings::default();
        let mut n = Notifier::default();
        let t = Instant::now();
        let rejected = problem("Writer", ProblemKind::TokenRejected);
        assert!(n.on_event(&rejected, &on, t).is_some());
        assert!(n.on_event(&rejected, &on, t).is_none(), "told once");
        assert!(
            n.on_event(&problem("Coder", ProblemKind::TokenRejected), &on, t)
                .is_none(),
            "one token, one notice, whichever employee hits it"
        );
        n.token_changed();
        assert!(n.on_event(&rejected, &on, t).is_some(), "told again");
        // Turned off, it is not told, and so not counted as told.
        let mut quiet = Notifier::default();
        let off = NotificationSettings {
            token_rejected: false,
            ..on
        };
        assert!(quiet.on_event(&rejected, &off, t).is_none());
        assert!(quiet.on_event(&rejected, &on, t).is_some());
    }

    #[test]
    fn needs_attention_is_told_once_per_employee_until_it_works_again() {
        let on = NotificationSettings::default();
        let mut n = Notifier::default();
        let t = Instant::now();
        let writer = problem("Writer", ProblemKind::AgentNotReady);
        let m = n.on_event(&writer, &on, t).unwrap();
        assert_eq!(m.title, "Writer needs attention");
        assert!(n.on_event(&writer, &on, t).is_none(), "once per episode");
        assert!(
            n.on_event(&problem("Coder", ProblemKind::AgentNotReady), &on, t)
                .is_some(),
            "each employee is told"
        );
        assert!(n.on_event(&polled("Coder"), &on, t).is_none());
        assert!(
            n.on_event(&writer, &on, t).is_none(),
            "another's poll ends nothing"
        );
        assert!(n.on_event(&polled("Writer"), &on, t).is_none());
        assert!(n.on_event(&writer, &on, t).is_some(), "a new episode");
        assert!(
            n.on_event(&problem("Writer", ProblemKind::AgentMissing), &on, t)
                .is_none(),
            "other problems show in the tray, not as notices"
        );
    }

    #[test]
    fn the_notifier_holds_a_burst_and_flushes_it_when_due() {
        let on = NotificationSettings::default();
        let mut n = Notifier::default();
        let t0 = Instant::now();
        let draft = finished(RunStatus::Succeeded, false);
        assert!(n.on_event(&draft, &on, t0).is_some());
        assert_eq!(n.due_at(), None);
        assert!(
            n.on_event(&draft, &on, t0 + Duration::from_secs(2))
                .is_none()
        );
        assert_eq!(n.due_at(), Some(t0 + Bursts::WINDOW));
        assert!(n.flush(t0 + Duration::from_secs(59)).is_none());
        let group = n.flush(t0 + Bursts::WINDOW).unwrap();
        assert_eq!(group.title, "1 more draft ready");
        assert_eq!(n.due_at(), None);
    }
}
