//! `delegate run`: one cycle, or `--watch` until Ctrl+C / SIGTERM (agents are stopped cleanly).

use anyhow::Result;
use clap::Args;
use delegate_core::outcome::{self, Verdict};
use delegate_core::worker::WorkerEvent;
use delegate_core::{Engine, Paths};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

#[derive(Args)]
pub struct RunArgs {
    /// Only this employee (repeat for several). Default: every enabled employee.
    #[arg(long = "employee", short = 'e', value_name = "NAME")]
    employees: Vec<String>,
    /// Keep polling until Ctrl+C.
    #[arg(long)]
    watch: bool,
    /// Print progress lines as they happen.
    #[arg(long, short = 'v')]
    verbose: bool,
}

pub async fn run(paths: Paths, args: RunArgs) -> Result<ExitCode> {
    let engine = Engine::open(paths, delegate_core::secrets::Stores::keychain())?;
    if engine.interrupted_at_start() > 0 {
        println!(
            "Marked {} run(s) left running by a stopped Delegate as interrupted.",
            engine.interrupted_at_start()
        );
    }
    let employees = engine.select(&args.employees)?;
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let printer = tokio::spawn(print_events(
        engine.subscribe(),
        args.verbose,
        args.watch || args.verbose,
    ));

    let mut results = Vec::new();
    if args.watch {
        println!(
            "Watching {} employee(s); press Ctrl+C to stop.",
            employees.len()
        );
        engine.watch(&employees, &cancel).await;
    } else {
        results = engine.run_once(&employees, &cancel).await;
    }
    // Closing the engine ends the event stream; let the printer finish before the summary.
    drop(engine);
    let _ = printer.await;
    // 0: every employee worked (or had nothing to do); 1: a run failed (the task's own
    // failure); 2: an employee could not work (a problem of this machine, the config or
    // Todoist).
    let outcome = outcome::of_cycle(&results);
    for line in &outcome.lines {
        println!("{line}");
    }
    Ok(match outcome.verdict {
        Verdict::Worked => ExitCode::SUCCESS,
        Verdict::RunFailed => ExitCode::FAILURE,
        Verdict::Blocked => ExitCode::from(2),
    })
}

fn spawn_signal_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
        eprintln!("Stopping: agents are being stopped cleanly…");
        cancel.cancel();
    });
}

async fn print_events(
    mut rx: tokio::sync::broadcast::Receiver<WorkerEvent>,
    verbose: bool,
    problems: bool,
) {
    use tokio::sync::broadcast::error::RecvError;
    // A problem is printed when it starts or changes, not at every poll while it lasts.
    let mut told: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    loop {
        let ev = match rx.recv().await {
            Ok(ev) => ev,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        match ev {
            WorkerEvent::Polled {
                employee,
                open_tasks,
                eligible,
                ..
            } => {
                told.remove(&employee);
                if verbose {
                    println!("[{employee}] {open_tasks} open task(s), {eligible} to work on")
                }
            }
            WorkerEvent::RunStarted {
                run_id,
                employee,
                task_title,
                attempt,
                max_attempts,
                ..
            } => println!(
                "[{employee}] run #{run_id}: “{task_title}” (attempt {attempt} of {max_attempts})"
            ),
            WorkerEvent::Progress { employee, line, .. } if verbose => {
                println!("[{employee}]   {line}")
            }
            WorkerEvent::RunFinished {
                run_id,
                employee,
                status,
                error,
                drafts,
                questions,
                gave_up,
                ..
            } => {
                let mut text = format!("[{employee}] run #{run_id} {status}");
                for (i, q) in questions.iter().enumerate() {
                    text.push_str(&format!("\n[{employee}]   asks {}. {q}", i + 1));
                }
                if let Some(e) = error {
                    text.push_str(&format!(": {e}"));
                }
                if gave_up {
                    text.push_str(" — giving up on this task");
                }
                for d in drafts {
                    text.push_str(&format!("\n[{employee}]   draft: {}", d.path));
                }
                println!("{text}");
            }
            WorkerEvent::BudgetReached {
                employee,
                spent_usd,
                limit_usd,
                scope,
                first_today: true,
            } => println!(
                "[{employee}] {scope} daily budget reached: ${spent_usd:.2} of ${limit_usd:.2}; no new tasks today"
            ),
            WorkerEvent::Problem {
                employee, message, ..
            } if problems && told.get(&employee) != Some(&message) => {
                println!("[{employee}] problem: {message}");
                told.insert(employee, message);
            }
            _ => {}
        }
    }
}
