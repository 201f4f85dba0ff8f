//! Desktop notifications through the notification plugin. What deserves one, its words, what
//! a click opens and what was already told are the engine's ([`delegate_core::notice`]); this
//! shows a notice with what a click on it opens, and hands clicks to the controller: a click
//! on "Draft ready" opens the window on that run (creating the window when it was closed),
//! "Open draft" opens the draft in the editor, "Gave up" opens the run with its error, budget
//! and token notices open Settings.

use crate::controller::{NoticeClick, Request, Shell};
use delegate_core::notice::{Notice, Opens};
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::{Action, ActionPerformed, ActionType, NotificationExt};

/// The action type of a notice about a run with a draft: two buttons where the notification
/// server shows them. Never an approve button: the person reads before approving.
const DRAFT_ACTIONS: &str = "delegate-draft";
const OPEN_DRAFT: &str = "open-draft";
const OPEN_RUN: &str = "open-run";

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

/// A click on a notice or one of its buttons, for the controller.
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
    if let Some(shell) = app.try_state::<Shell>() {
        shell.send(Request::NoticeClicked(NoticeClick {
            opens,
            draft_run,
            open_draft: a.action_id() == OPEN_DRAFT,
        }));
    }
}

/// Shows `n` as notification `id`, keeping what a click on it opens.
pub fn show(app: &AppHandle, id: i32, n: &Notice) {
    let mut b = app
        .notification()
        .builder()
        .id(id)
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
