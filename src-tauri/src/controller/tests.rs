//! The controller's reactions, with a real engine in a temporary folder and a desktop that
//! records what it was asked (as Firezone's `MockIntegration` does).

pub(crate) mod recorder;

use super::*;
use delegate_core::Paths;
use delegate_core::agent::Draft;
use delegate_core::config::SourceKind;
use delegate_core::history::{NewRun, RunEnd, RunStatus};
use delegate_core::secrets::Stores;
use delegate_core::source::Task;
use delegate_core::worker::ProblemKind;
use recorder::Recorder;
use std::path::Path;

struct Setup {
    controller: Controller<Recorder>,
    shell: Shell,
    desktop: Recorder,
    events: broadcast::Sender<WorkerEvent>,
    dir: tempfile::TempDir,
}

fn setup_with(desktop: Recorder) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Paths::under(dir.path()), Stores::memory()).unwrap();
    let (events, rx) = broadcast::channel(64);
    let (controller, shell) = Controller::with_events(Arc::new(engine), desktop.clone(), rx);
    Setup {
        controller,
        shell,
        desktop,
        events,
        dir,
    }
}

fn setup() -> Setup {
    setup_with(Recorder::default())
}

/// Hands `request` to the controller and returns its answer.
async fn ask<T>(
    c: &mut Controller<Recorder>,
    request: impl FnOnce(oneshot::Sender<T>) -> Request,
) -> T {
    let (tx, rx) = oneshot::channel();
    assert!(c.handle(request(tx)).await.is_continue());
    rx.await.unwrap()
}

fn problem(employee: &str, kind: ProblemKind) -> WorkerEvent {
    WorkerEvent::Problem {
        employee: employee.into(),
        source: Some(SourceKind::Todoist),
        kind,
        message: "Todoist rejected the token (401)".into(),
    }
}

fn draft_ready(run_id: i64) -> WorkerEvent {
    WorkerEvent::RunFinished {
        run_id,
        employee: "Writer".into(),
        task_title: format!("Post {run_id}"),
        status: RunStatus::Succeeded,
        summary: None,
        error: None,
        drafts: vec![Draft {
            path: "drafts/post.md".into(),
            inside_workspace: true,
        }],
        questions: Vec::new(),
        gave_up: false,
    }
}

fn writer(dir: &Path) -> Employee {
    Employee::new("Writer", SourceKind::Local, dir.join("ws"))
}

async fn save(c: &mut Controller<Recorder>, employee: Employee) -> Result<(), ShellError> {
    ask(c, |reply| Request::SaveEmployee {
        original: None,
        employee: Box::new(employee),
        template: None,
        reply,
    })
    .await
}

/// Records a finished run of `employee` with `url` and `drafts`, as a worker does.
fn record_run(engine: &Engine, employee: &str, url: Option<&str>, drafts: &[&str]) -> i64 {
    let task = Task {
        id: "t1".into(),
        title: "Write a post".into(),
        description: String::new(),
        labels: vec![],
        priority: 1,
        due: None,
        recurring: false,
        order: 0,
        updated_at: None,
        url: url.map(String::from),
    };
    let id = engine
        .history()
        .start_run(&NewRun {
            employee,
            source: if url.is_some() { "todoist" } else { "local" },
            task: &task,
            attempt: 1,
            max_attempts: 1,
            machine: "m",
            command: &[],
            claim_id: "c1",
            input: None,
        })
        .unwrap();
    let drafts: Vec<Draft> = drafts
        .iter()
        .map(|p| Draft {
            path: (*p).into(),
            inside_workspace: !p.starts_with('/'),
        })
        .collect();
    engine
        .history()
        .finish_run(id, &RunEnd::status(RunStatus::Succeeded), &drafts, None)
        .unwrap();
    id
}

#[tokio::test]
async fn a_rejected_token_is_told_once_until_a_new_token_is_saved() {
    let Setup {
        mut controller,
        desktop,
        ..
    } = setup();
    let rejected = problem("Writer", ProblemKind::TokenRejected);
    controller.on_event(&rejected);
    controller.on_event(&rejected);
    assert_eq!(desktop.seen().notices.len(), 1, "told once");
    assert_eq!(
        desktop.seen().notices[0].title,
        "Todoist API token rejected"
    );
    assert_eq!(
        desktop.seen().notices[0].body,
        "Todoist rejected the token (401). Click to open Settings and paste a new one."
    );
    assert_eq!(
        desktop.seen().engine_events,
        2,
        "the window hears every event"
    );

    let status = ask(&mut controller, |reply| Request::SetToken {
        token: "0123456789abcdef".into(),
        source: SourceKind::Todoist,
        reply,
    })
    .await
    .unwrap();
    assert!(status.set);
    assert_eq!(
        desktop.seen().tokens,
        [status],
        "the window hears the new status"
    );
    controller.on_event(&rejected);
    assert_eq!(
        desktop.seen().notices.len(),
        2,
        "told again after a new token"
    );

    // A pasted token that cannot be one is refused with its code, and changes nothing.
    let bad = ask(&mut controller, |reply| Request::SetToken {
        token: "  ".into(),
        source: SourceKind::Todoist,
        reply,
    })
    .await
    .unwrap_err();
    assert_eq!(bad.code(), "invalid");
    assert_eq!(desktop.seen().tokens.len(), 1);
    controller.on_event(&rejected);
    assert_eq!(desktop.seen().notices.len(), 2);

    let cleared = ask(&mut controller, |reply| Request::ClearToken {
        source: SourceKind::Todoist,
        reply,
    })
    .await
    .unwrap();
    assert!(!cleared.set || cleared.origin.is_some());
    controller.on_event(&rejected);
    assert_eq!(
        desktop.seen().notices.len(),
        3,
        "clearing counts as a change"
    );
}

#[tokio::test]
async fn the_tray_and_the_window_follow_the_board_only_when_it_changes() {
    let Setup {
        mut controller,
        desktop,
        dir,
        ..
    } = setup();
    save(&mut controller, writer(dir.path())).await.unwrap();
    let trays = desktop.seen().trays.len();
    let statuses = desktop.seen().statuses.len();
    controller.on_event(&WorkerEvent::RunStarted {
        run_id: 1,
        employee: "Writer".into(),
        task_id: "t".into(),
        task_title: "Write".into(),
        attempt: 1,
        max_attempts: 3,
        answered: false,
    });
    assert_eq!(desktop.seen().trays.len(), trays + 1);
    assert_eq!(
        desktop.seen().trays.last().unwrap().icon,
        tray::TrayIcon::Working
    );
    assert_eq!(desktop.seen().statuses.len(), statuses + 1);
    controller.on_event(&WorkerEvent::Progress {
        run_id: 1,
        employee: "Writer".into(),
        line: "thinking".into(),
    });
    assert_eq!(
        desktop.seen().trays.len(),
        trays + 1,
        "progress is not a change"
    );
    assert_eq!(desktop.seen().engine_events, 2);
    let board = ask(&mut controller, Request::Status).await;
    assert!(matches!(
        board.employees["Writer"].activity,
        delegate_core::status::Activity::Working { run_id: 1, .. }
    ));
}

#[tokio::test]
async fn the_first_employee_turns_start_at_login_on_once() {
    let Setup {
        mut controller,
        desktop,
        dir,
        ..
    } = setup();
    save(&mut controller, writer(dir.path())).await.unwrap();
    assert_eq!(desktop.seen().autostart_switched, [true]);
    assert_eq!(
        controller.engine.config().desktop.autostart,
        Some(true),
        "remembered"
    );
    let board = ask(&mut controller, Request::Status).await;
    assert_eq!(board.employees.keys().collect::<Vec<_>>(), ["Writer"]);
    assert_eq!(
        desktop.seen().statuses.last(),
        Some(&board),
        "the window hears the new board"
    );

    let mut coder = Employee::new("Coder", SourceKind::Local, dir.path().join("c"));
    coder.sandbox = delegate_core::config::SandboxMode::Off;
    save(&mut controller, coder).await.unwrap();
    assert_eq!(
        desktop.seen().autostart_switched,
        [true],
        "only the first time"
    );
    let tray = desktop.seen().trays.last().unwrap().clone();
    assert!(
        tray.entries
            .contains(&tray::Entry::Status("Coder — idle · no sandbox".into()))
    );

    // Deleting one updates the board; the other stays.
    let deleted: Result<(), ShellError> = ask(&mut controller, |reply| Request::DeleteEmployee {
        name: "Coder".into(),
        reply,
    })
    .await;
    deleted.unwrap();
    let board = ask(&mut controller, Request::Status).await;
    assert_eq!(board.employees.keys().collect::<Vec<_>>(), ["Writer"]);
    let gone: Result<(), ShellError> = ask(&mut controller, |reply| Request::DeleteEmployee {
        name: "Coder".into(),
        reply,
    })
    .await;
    assert_eq!(gone.unwrap_err().code(), "not_found");
    // Saving an employee twice is refused with its code.
    assert_eq!(
        save(&mut controller, writer(dir.path()))
            .await
            .unwrap_err()
            .code(),
        "duplicate"
    );
}

#[tokio::test]
async fn the_settings_switch_is_carried_out_then_remembered() {
    let Setup {
        mut controller,
        desktop,
        dir,
        ..
    } = setup();
    let mut settings = ask(&mut controller, Request::Settings).await;
    assert!(!settings.autostart, "the login item as the system has it");
    settings.autostart = false;
    settings.notifications.gave_up = false;
    let saved: Result<(), ShellError> = ask(&mut controller, |reply| Request::SaveSettings {
        settings: settings.clone(),
        reply,
    })
    .await;
    saved.unwrap();
    assert_eq!(desktop.seen().autostart_switched, [false]);
    let config = controller.engine.config();
    assert_eq!(config.desktop.autostart, Some(false));
    assert!(!config.notifications.gave_up);
    // The person chose: the first employee leaves it off.
    save(&mut controller, writer(dir.path())).await.unwrap();
    assert_eq!(desktop.seen().autostart_switched, [false]);
    settings.autostart = true;
    let saved: Result<(), ShellError> = ask(&mut controller, |reply| Request::SaveSettings {
        settings,
        reply,
    })
    .await;
    saved.unwrap();
    assert!(ask(&mut controller, Request::Settings).await.autostart);
}

#[tokio::test]
async fn a_login_item_that_cannot_be_switched_is_reported_and_not_remembered() {
    let Setup {
        mut controller,
        desktop,
        dir,
        ..
    } = setup_with(Recorder::failing(true, false));
    save(&mut controller, writer(dir.path())).await.unwrap();
    assert_eq!(controller.engine.config().desktop.autostart, None);
    let mut settings = ask(&mut controller, Request::Settings).await;
    settings.autostart = true;
    let failed: Result<(), ShellError> = ask(&mut controller, |reply| Request::SaveSettings {
        settings,
        reply,
    })
    .await;
    let e = crate::error::CommandError::from(failed.unwrap_err());
    assert_eq!(e.code, "autostart");
    assert!(e.message.contains("start at login"), "{}", e.message);
    assert_eq!(controller.engine.config().desktop.autostart, None);
    assert!(desktop.seen().autostart_switched.is_empty());
}

#[tokio::test]
async fn only_links_to_the_sources_task_pages_reach_the_browser() {
    let Setup {
        mut controller,
        desktop,
        ..
    } = setup();
    let link = "https://app.todoist.com/app/task/6X7rM8997g3RQmvh";
    let todoist = record_run(&controller.engine, "Writer", Some(link), &[]);
    let local = record_run(&controller.engine, "Writer", None, &[]);
    let odd = record_run(
        &controller.engine,
        "Writer",
        Some("file:///etc/passwd"),
        &[],
    );
    let opened: Result<(), ShellError> = ask(&mut controller, |reply| Request::OpenTask {
        run: todoist,
        reply,
    })
    .await;
    opened.unwrap();
    for run in [local, odd] {
        let refused: Result<(), ShellError> =
            ask(&mut controller, |reply| Request::OpenTask { run, reply }).await;
        assert_eq!(refused.unwrap_err().code(), "not_found");
    }
    assert_eq!(desktop.seen().urls, [link]);
}

#[tokio::test]
async fn drafts_are_opened_or_revealed_only_inside_the_workspace() {
    let Setup {
        mut controller,
        desktop,
        dir,
        ..
    } = setup();
    save(&mut controller, writer(dir.path())).await.unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(ws.join("drafts")).unwrap();
    std::fs::write(ws.join("drafts/post.md"), "# Post").unwrap();
    std::fs::write(dir.path().join("secret.md"), "no").unwrap();
    let run = record_run(
        &controller.engine,
        "Writer",
        None,
        &["drafts/post.md", "../secret.md"],
    );
    let full = ws.join("drafts/post.md").canonicalize().unwrap();
    for reveal in [false, true] {
        let done: Result<(), ShellError> = ask(&mut controller, |reply| Request::OpenDraft {
            run,
            path: "drafts/post.md".into(),
            reveal,
            reply,
        })
        .await;
        done.unwrap();
    }
    let (opened, revealed) = {
        let seen = desktop.seen();
        (seen.opened.clone(), seen.revealed.clone())
    };
    assert_eq!((opened, revealed), (vec![full.clone()], vec![full]));
    let refused: Result<(), ShellError> = ask(&mut controller, |reply| Request::OpenDraft {
        run,
        path: "../secret.md".into(),
        reveal: false,
        reply,
    })
    .await;
    assert_eq!(refused.unwrap_err().code(), "outside_workspace");
    assert_eq!(desktop.seen().opened.len(), 1);
}

#[tokio::test]
async fn a_click_on_a_notice_opens_what_it_says() {
    let Setup {
        mut controller,
        desktop,
        dir,
        ..
    } = setup();
    save(&mut controller, writer(dir.path())).await.unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(ws.join("drafts")).unwrap();
    std::fs::write(ws.join("drafts/post.md"), "# Post").unwrap();
    let run = record_run(&controller.engine, "Writer", None, &["drafts/post.md"]);
    let gone = record_run(&controller.engine, "Writer", None, &["drafts/gone.md"]);
    let click = |draft_run: Option<i64>, open_draft: bool| {
        Request::NoticeClicked(NoticeClick {
            opens: draft_run.map(|id| Opens::Run { id }),
            draft_run,
            open_draft,
        })
    };
    let _ = controller.handle(click(Some(run), true)).await;
    assert_eq!(desktop.seen().opened.len(), 1, "Open draft opens the draft");
    assert!(desktop.seen().windows.is_empty());
    let _ = controller.handle(click(Some(gone), true)).await;
    assert_eq!(
        desktop.seen().windows,
        [Some(Opens::Run { id: gone })],
        "a draft that cannot be opened opens its run instead"
    );
    let _ = controller.handle(click(Some(run), false)).await;
    let _ = controller
        .handle(Request::NoticeClicked(NoticeClick {
            opens: Some(Opens::Settings),
            draft_run: None,
            open_draft: false,
        }))
        .await;
    assert_eq!(
        desktop.seen().windows[1..],
        [Some(Opens::Run { id: run }), Some(Opens::Settings)]
    );
}

#[tokio::test]
async fn a_draft_the_desktop_cannot_open_opens_its_run() {
    let Setup {
        mut controller,
        desktop,
        dir,
        ..
    } = setup_with(Recorder::failing(false, true));
    save(&mut controller, writer(dir.path())).await.unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(ws.join("drafts")).unwrap();
    std::fs::write(ws.join("drafts/post.md"), "# Post").unwrap();
    let run = record_run(&controller.engine, "Writer", None, &["drafts/post.md"]);
    let _ = controller
        .handle(Request::NoticeClicked(NoticeClick {
            opens: Some(Opens::Run { id: run }),
            draft_run: Some(run),
            open_draft: true,
        }))
        .await;
    assert_eq!(desktop.seen().windows, [Some(Opens::Run { id: run })]);
    let failed: Result<(), ShellError> = ask(&mut controller, |reply| Request::OpenDraft {
        run,
        path: "drafts/post.md".into(),
        reveal: false,
        reply,
    })
    .await;
    let e = crate::error::CommandError::from(failed.unwrap_err());
    assert_eq!(e.code, "open");
    assert!(e.message.starts_with("cannot open "), "{}", e.message);
}

#[tokio::test]
async fn the_tray_menu_and_a_second_launch_reach_the_controller() {
    let Setup {
        mut controller,
        desktop,
        ..
    } = setup();
    controller.on_event(&draft_ready(7));
    let _ = controller
        .handle(Request::Tray(tray::Action::OpenLatestDraft))
        .await;
    let _ = controller
        .handle(Request::SecondLaunch { quit: false })
        .await;
    assert_eq!(desktop.seen().windows, [Some(Opens::Run { id: 7 }), None]);
    let _ = controller
        .handle(Request::Tray(tray::Action::PauseAll))
        .await;
    assert!(controller.engine.all_paused());
    let _ = controller
        .handle(Request::Tray(tray::Action::ResumeAll))
        .await;
    assert!(!controller.engine.all_paused());
    assert!(
        controller
            .handle(Request::SecondLaunch { quit: true })
            .await
            .is_break()
    );
    assert!(desktop.seen().exited);
}

#[tokio::test(start_paused = true)]
async fn the_loop_serves_events_and_requests_shows_a_held_burst_when_due_and_quits() {
    let Setup {
        controller,
        shell,
        desktop,
        events,
        ..
    } = setup();
    let running = tokio::spawn(controller.run());
    for run in 1..=3 {
        events.send(draft_ready(run)).unwrap();
    }
    // The first draft shows at once; the two after it wait for the group notice.
    until(|| desktop.seen().statuses.len() == 3).await;
    let board = shell.ask(Request::Status).await.unwrap();
    assert_eq!(
        board.latest_draft_run,
        Some(3),
        "all three events were served"
    );
    assert_eq!(desktop.seen().notices.len(), 1);
    assert_eq!(desktop.seen().notices[0].title, "Draft ready: Post 1");
    let start = tokio::time::Instant::now();
    until(|| desktop.seen().notices.len() == 2).await;
    assert!(start.elapsed() >= delegate_core::notice::Bursts::WINDOW - Duration::from_secs(1));
    assert_eq!(desktop.seen().notices[1].title, "2 more drafts ready");

    shell.send(Request::Quit);
    running.await.unwrap();
    assert!(shell.is_quitting() && desktop.seen().exited);
    assert!(matches!(
        shell.ask(Request::Status).await,
        Err(ShellError::Stopped)
    ));
}

/// Waits (on tokio's clock, which a paused test moves at once) until `done` holds.
async fn until(done: impl Fn() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the controller never got there");
}
