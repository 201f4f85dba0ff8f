//! Desktop notifications for the moments a person wants to know about. Which events notify
//! is decided by [`message_for`] (plain data, unit-tested) and the settings.

use delegate_core::agent::first_line;
use delegate_core::config::NotificationSettings;
use delegate_core::history::RunStatus;
use delegate_core::worker::{ProblemKind, WorkerEvent};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use tauri::AppHandle;
use tauri_plugin_notification::NotificationExt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub title: String,
    pub body: String,
}

/// The notification for `ev`, if it deserves one under `settings`.
pub fn message_for(ev: &WorkerEvent, settings: &NotificationSettings) -> Option<Message> {
    match ev {
        WorkerEvent::RunFinished {
            status: RunStatus::Succeeded,
            task_title,
            summary,
            drafts,
            ..
        } if settings.draft_ready => Some(Message {
            title: format!("Draft ready: {}", first_line(task_title, 80)),
            body: summary
                .as_deref()
                .map(|s| first_line(s, 200))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("{} file(s) to review", drafts.len())),
        }),
        WorkerEvent::RunFinished {
            gave_up: true,
            task_title,
            error,
            ..
        } if settings.gave_up => Some(Message {
            title: format!("Gave up on {}", first_line(task_title, 80)),
            body: error
                .as_deref()
                .map(|e| first_line(e, 200))
                .unwrap_or_else(|| "The last attempt failed.".into()),
        }),
        WorkerEvent::BudgetReached {
            employee,
            spent_usd,
            limit_usd,
            first_today: true,
            ..
        } if settings.budget_reached => Some(Message {
            title: format!("Daily budget reached for {employee}"),
            body: format!(
                "Spent ${spent_usd:.2} of ${limit_usd:.2}. New tasks wait until tomorrow or a higher limit."
            ),
        }),
        WorkerEvent::Problem {
            kind: ProblemKind::AgentNotReady,
            employee,
            message,
        } if settings.needs_attention => Some(Message {
            title: format!("{employee} needs attention"),
            body: first_line(message, 240),
        }),
        WorkerEvent::Problem {
            kind: ProblemKind::TokenRejected,
            ..
        } if settings.token_rejected => Some(Message {
            title: "Todoist token rejected".into(),
            body: "Todoist no longer accepts the saved token. Open Delegate → Settings to paste a new one."
                .into(),
        }),
        _ => None,
    }
}

/// Set after a "token rejected" notification, cleared when a new token is saved, so a
/// broken token is reported once, not at every poll.
pub static TOKEN_REJECTED_TOLD: AtomicBool = AtomicBool::new(false);

/// Employees told that they need attention (a problem of this machine), until they work
/// again: one notification per episode, not one per cycle.
static NEEDS_ATTENTION_TOLD: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

pub fn on_event(app: &AppHandle, ev: &WorkerEvent, settings: &NotificationSettings) {
    if let WorkerEvent::Polled { employee, .. } = ev {
        NEEDS_ATTENTION_TOLD
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(employee);
    }
    let Some(m) = message_for(ev, settings) else {
        return;
    };
    match ev {
        WorkerEvent::Problem {
            kind: ProblemKind::AgentNotReady,
            employee,
            ..
        } => {
            let fresh = NEEDS_ATTENTION_TOLD
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(employee.clone());
            if !fresh {
                return;
            }
        }
        WorkerEvent::Problem { .. } if TOKEN_REJECTED_TOLD.swap(true, Ordering::SeqCst) => return,
        _ => {}
    }
    if let Err(e) = app
        .notification()
        .builder()
        .title(&m.title)
        .body(&m.body)
        .show()
    {
        tracing::warn!(error = %e, "cannot show a notification");
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
            drafts: vec![],
            gave_up,
        }
    }

    #[test]
    fn each_kind_has_its_words_and_can_be_turned_off() {
        let on = NotificationSettings::default();
        let m = message_for(&finished(RunStatus::Succeeded, false), &on).unwrap();
        assert_eq!(m.title, "Draft ready: Write a post");
        assert_eq!(m.body, "Wrote drafts/post.md.");
        let m = message_for(&finished(RunStatus::Failed, true), &on).unwrap();
        assert_eq!(m.title, "Gave up on Write a post");
        assert_eq!(m.body, "the agent exited with code 2");
        assert!(
            message_for(&finished(RunStatus::Failed, false), &on).is_none(),
            "retries are quiet"
        );
        let budget = WorkerEvent::BudgetReached {
            employee: "Writer".into(),
            spent_usd: 10.5,
            limit_usd: 10.0,
            scope: "employee".into(),
            first_today: true,
        };
        assert_eq!(
            message_for(&budget, &on).unwrap().title,
            "Daily budget reached for Writer"
        );
        let again = WorkerEvent::BudgetReached {
            employee: "Writer".into(),
            spent_usd: 10.5,
            limit_usd: 10.0,
            scope: "employee".into(),
            first_today: false,
        };
        assert!(message_for(&again, &on).is_none(), "once a day");
        let token = WorkerEvent::Problem {
            employee: "Writer".into(),
            kind: ProblemKind::TokenRejected,
            message: "401".into(),
        };
        assert_eq!(
            message_for(&token, &on).unwrap().title,
            "Todoist token rejected"
        );
        let login = WorkerEvent::Problem {
            employee: "Writer".into(),
            kind: ProblemKind::AgentNotReady,
            message: "Claude Code is not logged in on this machine — run `claude` and /login"
                .into(),
        };
        let m = message_for(&login, &on).unwrap();
        assert_eq!(m.title, "Writer needs attention");
        assert!(m.body.contains("/login"));

        let off = NotificationSettings {
            draft_ready: false,
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
            assert!(message_for(&ev, &off).is_none());
        }
    }
}
