//! Desktop notifications. What deserves one, its words and what a click opens are decided
//! by the engine ([`delegate_core::notice`]); this shows them, remembers what each one
//! opens, and routes clicks: a click on "Draft ready" opens the window on that run (creating
//! the window when it was closed), "Open draft" opens the draft in the editor, "Gave up"
//! opens the run with its error, budget and token notices open Settings.

use crate::state::AppState;
use delegate_core::config::NotificationSettings;
use delegate_core::notice::{Bursts, Notice, Opens, notice_for};
use delegate_core::worker::{ProblemKind, WorkerEvent};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Instant;
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::{Action, ActionPerformed, ActionType, NotificationExt};

/// The action type of a notice about a run with a draft: two buttons where the notification
/// server shows them. Never an approve button: the person reads before approving.
const DRAFT_ACTIONS: &str = "delegate-draft";
const OPEN_DRAFT: &str = "open-draft";
const OPEN_RUN: &str = "open-run";

/// Set after a "token rejected" notification, cleared when a new token is saved, so a
/// broken token is reported once, not at every poll.
pub static TOKEN_REJECTED_TOLD: AtomicBool = AtomicBool::new(false);

/// Employees told that they need attention (a problem of this machine), until they work
/// again: one notification per episode, not one per cycle.
static NEEDS_ATTENTION_TOLD: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

static BURSTS: Mutex<Option<Bursts>> = Mutex::new(None);
static NEXT_ID: AtomicI32 = AtomicI32::new(1);

/// Registers the buttons and the click handler; notifications shown before this report
/// nothing.
pub fn setup(app: &AppHandle) {
    let n = app.notification();
    let actions = ActionType::builder(DRAFT_ACTIONS)
        .actions(vec![
            Action::builder(OPEN_DRAFT, "Open draft").build(),
            Action::builder(OPEN_RUN, "Open run").build(),
        ])
        .build();
    if let Err(e) = n.register_action_types(vec![actions]) {
        tracing::warn!(error = %e, "cannot register notification buttons");
    }
    let handle = app.clone();
    if let Err(e) = n.on_action(move |a| clicked(&handle, a)) {
        tracing::warn!(error = %e, "notification clicks will not be reported");
    }
}

/// A click on a notice or one of its buttons.
fn clicked(app: &AppHandle, a: &ActionPerformed) {
    let Some(shown) = a.notification() else {
        tracing::debug!(
            action = a.action_id(),
            "a click on a notification Delegate does not know"
        );
        return;
    };
    let opens: Option<Opens> = shown
        .extra()
        .get("opens")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let draft_run = shown.extra().get("draft_run").and_then(|v| v.as_i64());
    tracing::info!(action = a.action_id(), ?opens, "notification clicked");
    match (a.action_id(), draft_run) {
        (OPEN_DRAFT, Some(run)) => {
            if let Some(state) = app.try_state::<AppState>()
                && let Err(e) = crate::review::open_first_draft(app, &state, run)
            {
                tracing::warn!(error = %e.message, "cannot open the draft; opening the run");
                crate::window::open_on(app, Opens::Run { id: run });
            }
        }
        _ => {
            if let Some(o) = opens {
                crate::window::open_on(app, o);
            }
        }
    }
}

pub fn on_event(app: &AppHandle, ev: &WorkerEvent, settings: &NotificationSettings) {
    if let WorkerEvent::Polled { employee, .. } = ev {
        NEEDS_ATTENTION_TOLD
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(employee);
    }
    let Some(notice) = notice_for(ev, settings) else {
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
    let (now, due) = {
        let mut b = BURSTS.lock().unwrap_or_else(|e| e.into_inner());
        let bursts = b.get_or_insert_with(Bursts::default);
        let had_due = bursts.due_at().is_some();
        let now = bursts.offer(notice, Instant::now());
        // The first held notice schedules the group notice.
        (now, (!had_due).then(|| bursts.due_at()).flatten())
    };
    if let Some(n) = now {
        show(app, &n);
    }
    if let Some(at) = due {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            let group = BURSTS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_mut()
                .and_then(|b| b.flush(Instant::now()));
            if let Some(n) = group {
                show(&app, &n);
            }
        });
    }
}

fn show(app: &AppHandle, n: &Notice) {
    let mut b = app
        .notification()
        .builder()
        .id(NEXT_ID.fetch_add(1, Ordering::Relaxed))
        .title(&n.title)
        .body(&n.body)
        .extra("opens", n.opens);
    if let Some(run) = n.draft_run {
        b = b.extra("draft_run", run).action_type_id(DRAFT_ACTIONS);
    }
    if let Err(e) = b.show() {
        tracing::warn!(error = %e, "cannot show a notification");
    }
}
