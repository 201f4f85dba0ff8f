//! `delegate`: the engine without a window, for servers and scripts. Thin: every decision is
//! made in `delegate_core`; this file parses arguments and prints results.

mod doctor;
mod employee;
mod history;
mod postgres;
mod run;
mod task;
mod token;

use anyhow::Result;
use clap::{Parser, Subcommand};
use delegate_core::Paths;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "delegate",
    version,
    about = "Background AI employees that work through your to-do list",
    long_about = "Delegate polls a task queue (a Todoist project, a GitHub repository's issues, a \
Linear team, a PostgreSQL table, or its own local queue), hands each task to a headless agent CLI such as `claude -p` inside the employee's workspace, reports progress as \
comments and labels the task `agent-done` when a draft is ready for your review.\n\n\
Files live in the OS config and data folders, or all under DELEGATE_HOME (or --home)."
)]
struct Cli {
    /// Keep every file (config.toml, history, queue, logs) under this folder.
    #[arg(long, global = true, env = "DELEGATE_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one cycle of every (or the named) employee, or keep polling with --watch.
    Run(run::RunArgs),
    /// Add, list or remove employees.
    #[command(subcommand)]
    Employee(employee::EmployeeCommand),
    /// Add tasks (local queue, PostgreSQL) or list the local queue.
    #[command(subcommand)]
    Task(task::TaskCommand),
    /// Create or upgrade Delegate's tables in PostgreSQL (or print their SQL).
    #[command(subcommand)]
    Postgres(postgres::PostgresCommand),
    /// List past runs, newest first.
    History(history::HistoryArgs),
    /// Show one run in full: progress, summary, error, drafts.
    Show(history::ShowArgs),
    /// Store, check or remove a source's token (Todoist, GitHub, Linear) in the OS keychain.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Check the config, token, projects, agent CLIs and workspaces, with a fix for each problem.
    Doctor,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            let text = format!("{e:#}");
            eprintln!("delegate: {}", text.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

fn real_main(cli: Cli) -> Result<ExitCode> {
    let paths = Paths::resolve(cli.home.as_deref())?;
    let _log = delegate_core::logging::init(&paths.log_dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Run(a) => run::run(paths, a).await,
            Command::Employee(c) => employee::employee(paths, c).await,
            Command::Task(c) => task::task(paths, c).await,
            Command::Postgres(c) => postgres::postgres(paths, c).await,
            Command::History(a) => history::history(paths, a),
            Command::Show(a) => history::show(paths, a),
            Command::Token(c) => token::token(paths, c).await,
            Command::Doctor => doctor::doctor(paths).await,
        }
    })
}

/// The keychain store the CLI uses.
fn keychain(
    kind: delegate_core::config::SourceKind,
) -> std::sync::Arc<dyn delegate_core::secrets::SecretStore> {
    std::sync::Arc::new(delegate_core::secrets::KeychainStore::for_source(kind))
}
