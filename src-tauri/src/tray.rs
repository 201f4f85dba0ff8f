//! The tray icon and its menu. [`TrayView::of`] turns the status board into plain data
//! (icon, tooltip, menu entries) that unit tests check; [`show`] shows it. Every action is
//! in the menu, because tray click events are unreliable on Linux; a click on one is a
//! request to the controller.

use crate::controller::{Request, Shell};
use delegate_core::status::{Activity, BlockKind, Board};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};

pub const TRAY_ID: &str = "delegate";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayIcon {
    Idle,
    Working,
    Review,
    Paused,
    Error,
}

impl TrayIcon {
    fn png(self) -> &'static [u8] {
        match self {
            TrayIcon::Idle => include_bytes!("../../icons/tray-idle.png"),
            TrayIcon::Working => include_bytes!("../../icons/tray-working.png"),
            TrayIcon::Review => include_bytes!("../../icons/tray-review.png"),
            TrayIcon::Paused => include_bytes!("../../icons/tray-paused.png"),
            TrayIcon::Error => include_bytes!("../../icons/tray-error.png"),
        }
    }
}

/// A menu action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Open,
    OpenLatestDraft,
    RunAllNow,
    PauseAll,
    ResumeAll,
    Quit,
}

impl Action {
    const ALL: [Action; 6] = [
        Action::Open,
        Action::OpenLatestDraft,
        Action::RunAllNow,
        Action::PauseAll,
        Action::ResumeAll,
        Action::Quit,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Action::Open => "open",
            Action::OpenLatestDraft => "open-latest-draft",
            Action::RunAllNow => "run-all-now",
            Action::PauseAll => "pause-all",
            Action::ResumeAll => "resume-all",
            Action::Quit => "quit",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.id() == id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A line of text that cannot be clicked (an employee's status).
    Status(String),
    Item {
        action: Action,
        label: String,
    },
    Separator,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    pub icon: TrayIcon,
    pub tooltip: String,
    pub entries: Vec<Entry>,
}

fn short(s: &str, max: usize) -> String {
    delegate_core::agent::truncate(s, max)
}

impl TrayView {
    pub fn of(board: &Board) -> Self {
        let all = board.employees.values();
        let working = all
            .clone()
            .filter(|e| matches!(e.activity, Activity::Working { .. }))
            .count();
        let review: usize = all.clone().map(|e| e.awaiting_review).sum();
        let answer: usize = all.clone().map(|e| e.awaiting_answer).sum();
        let blocked = all
            .clone()
            .filter(|e| matches!(e.activity, Activity::Blocked { .. }))
            .count();
        let paused_each =
            !board.employees.is_empty() && all.clone().all(|e| e.activity == Activity::Paused);
        let paused = board.paused_all || paused_each;

        let icon = if blocked > 0 {
            TrayIcon::Error
        } else if working > 0 {
            TrayIcon::Working
        } else if paused {
            TrayIcon::Paused
        } else if review > 0 || answer > 0 {
            TrayIcon::Review
        } else {
            TrayIcon::Idle
        };

        let mut parts = Vec::new();
        if paused {
            parts.push("Paused".to_string());
        }
        if working > 0 {
            parts.push(format!("{working} working"));
        }
        if answer > 0 {
            parts.push(format!(
                "{answer} question{} for you",
                if answer == 1 { "" } else { "s" }
            ));
        }
        if review > 0 {
            parts.push(format!("{review} ready for review"));
        }
        if blocked > 0 {
            parts.push(format!(
                "{blocked} need{} attention",
                if blocked == 1 { "s" } else { "" }
            ));
        }
        let tooltip = if board.employees.is_empty() {
            "Delegate · no employees yet".to_string()
        } else if parts.is_empty() {
            "Delegate · idle".to_string()
        } else {
            format!("Delegate · {}", parts.join(" · "))
        };

        let mut entries = Vec::new();
        if board.employees.is_empty() {
            entries.push(Entry::Status(
                "No employees yet — open Delegate to add one".into(),
            ));
        }
        for e in board.employees.values() {
            let state = match &e.activity {
                Activity::Working { task_title, .. } => {
                    format!("working on “{}”", short(task_title, 40))
                }
                Activity::Paused => "paused".to_string(),
                Activity::Blocked {
                    kind: BlockKind::Budget,
                    ..
                } => "daily budget reached".into(),
                Activity::Blocked { message, .. } => format!("⚠ {}", short(message, 60)),
                Activity::Idle if e.awaiting_answer > 0 && e.awaiting_review > 0 => format!(
                    "asks you something · {} ready for review",
                    e.awaiting_review
                ),
                Activity::Idle if e.awaiting_answer > 0 => "asks you something".to_string(),
                Activity::Idle if e.awaiting_review > 0 => {
                    format!("{} ready for review", e.awaiting_review)
                }
                Activity::Idle if board.paused_all => "paused".to_string(),
                Activity::Idle => "idle".to_string(),
            };
            let unsandboxed = if e.unsandboxed { " · no sandbox" } else { "" };
            entries.push(Entry::Status(format!(
                "{} — {state}{unsandboxed}",
                short(&e.name, 30)
            )));
        }
        entries.push(Entry::Separator);
        let item = |action, label: &str| Entry::Item {
            action,
            label: label.to_string(),
        };
        entries.push(item(Action::Open, "Open Delegate"));
        if board.latest_draft_run.is_some() {
            entries.push(item(Action::OpenLatestDraft, "Open latest draft"));
        }
        entries.push(item(Action::RunAllNow, "Run all now"));
        if board.paused_all {
            entries.push(item(Action::ResumeAll, "Resume all"));
        } else {
            entries.push(item(Action::PauseAll, "Pause all"));
        }
        entries.push(Entry::Separator);
        entries.push(item(Action::Quit, "Quit Delegate"));
        TrayView {
            icon,
            tooltip,
            entries,
        }
    }
}

/// Creates the tray icon showing `view`; returns its menu, which [`show`] fills again.
pub fn create(app: &AppHandle, view: &TrayView) -> tauri::Result<Menu<Wry>> {
    let menu = Menu::new(app)?;
    fill(app, &menu, view)?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(view.icon.png())?)
        .tooltip(&view.tooltip)
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| {
            if let Some(action) = Action::from_id(event.id().as_ref())
                && let Some(shell) = app.try_state::<Shell>()
            {
                shell.send(Request::Tray(action));
            }
        })
        .build(app)?;
    Ok(menu)
}

/// Shows `view`. On Linux a tray menu cannot be replaced, so its items are swapped in place.
pub fn show(app: &AppHandle, menu: &Menu<Wry>, view: &TrayView) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    if let Ok(icon) = Image::from_bytes(view.icon.png()) {
        let _ = tray.set_icon(Some(icon));
    }
    let _ = tray.set_tooltip(Some(&view.tooltip));
    if let Ok(items) = menu.items() {
        for item in items {
            let _ = menu.remove(&item);
        }
    }
    if let Err(e) = fill(app, menu, view) {
        tracing::warn!(error = %e, "cannot update the tray menu");
    }
}

fn fill(app: &AppHandle, menu: &Menu<Wry>, view: &TrayView) -> tauri::Result<()> {
    for (i, entry) in view.entries.iter().enumerate() {
        match entry {
            Entry::Status(text) => menu.append(&MenuItem::with_id(
                app,
                format!("status-{i}"),
                text,
                false,
                None::<&str>,
            )?)?,
            Entry::Item { action, label } => menu.append(&MenuItem::with_id(
                app,
                action.id(),
                label,
                true,
                None::<&str>,
            )?)?,
            Entry::Separator => menu.append(&PredefinedMenuItem::separator(app)?)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use delegate_core::worker::{ProblemKind, WorkerEvent};

    fn labels(v: &TrayView) -> Vec<String> {
        v.entries
            .iter()
            .map(|e| match e {
                Entry::Status(s) => format!("[{s}]"),
                Entry::Item { label, .. } => label.clone(),
                Entry::Separator => "---".into(),
            })
            .collect()
    }

    fn started(name: &str, title: &str) -> WorkerEvent {
        WorkerEvent::RunStarted {
            run_id: 1,
            employee: name.into(),
            task_id: "t".into(),
            task_title: title.into(),
            attempt: 1,
            max_attempts: 3,
            answered: false,
        }
    }

    fn polled(name: &str, review: usize) -> WorkerEvent {
        WorkerEvent::Polled {
            employee: name.into(),
            open_tasks: 3,
            eligible: 0,
            awaiting_review: review,
            awaiting_answer: 0,
        }
    }

    #[test]
    fn idle_board() {
        let v = TrayView::of(&Board::new(["Writer"]));
        assert_eq!(v.icon, TrayIcon::Idle);
        assert_eq!(v.tooltip, "Delegate · idle");
        assert_eq!(
            labels(&v),
            [
                "[Writer — idle]",
                "---",
                "Open Delegate",
                "Run all now",
                "Pause all",
                "---",
                "Quit Delegate"
            ]
        );
    }

    #[test]
    fn an_unsandboxed_employee_is_marked() {
        let mut b = Board::new(["Careful", "Loose"]);
        b.set_unsandboxed(["Loose"]);
        let v = TrayView::of(&b);
        assert_eq!(labels(&v)[0], "[Careful — idle]");
        assert_eq!(labels(&v)[1], "[Loose — idle · no sandbox]");
    }

    #[test]
    fn no_employees_says_what_to_do() {
        let v = TrayView::of(&Board::default());
        assert_eq!(v.tooltip, "Delegate · no employees yet");
        assert_eq!(
            labels(&v)[0],
            "[No employees yet — open Delegate to add one]"
        );
    }

    #[test]
    fn working_and_review_counts() {
        let mut b = Board::new(["Writer", "Reviewer", "Research"]);
        b.apply(&started(
            "Writer",
            "Write a LinkedIn post about background agents and more",
        ));
        b.apply(&started("Research", "Compare"));
        b.apply(&polled("Reviewer", 1));
        let v = TrayView::of(&b);
        assert_eq!(v.icon, TrayIcon::Working);
        assert_eq!(v.tooltip, "Delegate · 2 working · 1 ready for review");
        let l = labels(&v);
        assert_eq!(l[0], "[Research — working on “Compare”]");
        assert_eq!(l[1], "[Reviewer — 1 ready for review]");
        assert_eq!(
            l[2],
            "[Writer — working on “Write a LinkedIn post about background…”]"
        );
    }

    #[test]
    fn review_only_and_latest_draft() {
        let mut b = Board::new(["Writer"]);
        b.apply(&polled("Writer", 2));
        b.latest_draft_run = Some(7);
        let v = TrayView::of(&b);
        assert_eq!(v.icon, TrayIcon::Review);
        assert!(labels(&v).contains(&"Open latest draft".to_string()));
    }

    #[test]
    fn problems_win_over_everything() {
        let mut b = Board::new(["Writer", "Coder"]);
        b.apply(&started("Writer", "x"));
        b.apply(&WorkerEvent::Problem {
            employee: "Coder".into(),
            source: None,
            kind: ProblemKind::AgentMissing,
            message: "agent CLI \"claude\" not found on PATH; install it".into(),
        });
        let v = TrayView::of(&b);
        assert_eq!(v.icon, TrayIcon::Error);
        assert_eq!(v.tooltip, "Delegate · 1 working · 1 needs attention");
        assert!(labels(&v)[0].starts_with("[Coder — ⚠ agent CLI \"claude\" not found"));
        b.apply(&WorkerEvent::BudgetReached {
            employee: "Writer".into(),
            spent_usd: 10.0,
            limit_usd: 10.0,
            scope: "employee".into(),
            first_today: true,
        });
        let v = TrayView::of(&b);
        assert_eq!(labels(&v)[1], "[Writer — daily budget reached]");
        assert_eq!(v.tooltip, "Delegate · 2 need attention");
    }

    #[test]
    fn pause_all_switches_the_menu() {
        let mut b = Board::new(["Writer"]);
        b.apply(&WorkerEvent::Paused {
            employee: None,
            paused: true,
        });
        let v = TrayView::of(&b);
        assert_eq!(v.icon, TrayIcon::Paused);
        assert_eq!(v.tooltip, "Delegate · Paused");
        let l = labels(&v);
        assert!(l.contains(&"Resume all".to_string()) && !l.contains(&"Pause all".to_string()));
        assert_eq!(l[0], "[Writer — paused]");
    }

    #[test]
    fn action_ids_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::from_id(a.id()), Some(a));
        }
        assert_eq!(Action::from_id("status-0"), None);
    }
}
