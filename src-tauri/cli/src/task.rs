//! `delegate task add` for an employee whose source takes tasks from Delegate (the local
//! queue, a PostgreSQL table); `delegate task list` for the local queue.

use anyhow::Result;
use clap::Subcommand;
use delegate_core::Paths;
use delegate_core::source::LocalQueue;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum TaskCommand {
    /// Add a task for an employee whose source is the local queue or a PostgreSQL table.
    Add {
        #[arg(long, short = 'e')]
        employee: String,
        title: String,
        #[arg(long, short = 'd', default_value = "")]
        description: String,
        /// 1 (normal) to 4 (most urgent).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=4))]
        priority: u8,
    },
    /// List local tasks, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON (employee, task with its labels, closed).
        #[arg(long)]
        json: bool,
    },
}

pub async fn task(paths: Paths, cmd: TaskCommand) -> Result<ExitCode> {
    match cmd {
        TaskCommand::Add {
            employee,
            title,
            description,
            priority,
        } => {
            let config = delegate_core::engine::load_config(&paths.config_file)?;
            let name = config.employee(&employee)?.name.clone();
            let engine =
                delegate_core::Engine::open(paths, delegate_core::secrets::Stores::keychain())?;
            let id = engine
                .add_task(&employee, &title, &description, priority)
                .await?;
            println!(
                "Added task {id} for {name}. Run it with `delegate run --employee \"{name}\"`."
            );
        }
        TaskCommand::List { limit, json } => {
            let queue = LocalQueue::open(&paths.queue_db())?;
            let all = queue.all_tasks(limit)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(ExitCode::SUCCESS);
            }
            if all.is_empty() {
                println!("The local queue is empty.");
            }
            for t in all {
                let state = if t.closed {
                    "closed".to_string()
                } else {
                    t.task.labels.join(",")
                };
                println!(
                    "{:>5}  {:<16} {:<24} {}",
                    t.task.id, t.employee, state, t.task.title
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
