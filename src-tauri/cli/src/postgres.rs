//! `delegate postgres init`: Delegate's tables in a PostgreSQL database, created or brought
//! up to date, or printed as SQL for whoever runs the database.

use anyhow::Result;
use clap::Subcommand;
use delegate_core::config::SourceKind;
use delegate_core::{Engine, Paths};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum PostgresCommand {
    /// Create the tasks table (when missing), its comments, files and applied tables and the
    /// trigger that wakes Delegate at once; apply newer versions. Safe to run again.
    Init {
        /// The table (`name` or `schema.name`). Default: the employee's `pg_table`, else
        /// delegate_tasks.
        #[arg(long)]
        table: Option<String>,
        /// Use this employee's table.
        #[arg(long, short = 'e', conflicts_with = "table")]
        employee: Option<String>,
        /// Print the SQL instead of running it (for a database owner to run).
        #[arg(long)]
        print: bool,
    },
}

pub async fn postgres(paths: Paths, cmd: PostgresCommand) -> Result<ExitCode> {
    match cmd {
        PostgresCommand::Init {
            table,
            employee,
            print,
        } => {
            let engine = Engine::open(paths, delegate_core::secrets::Stores::keychain())?;
            let table = match (table, employee) {
                (Some(t), _) => t,
                (None, Some(e)) => engine
                    .config()
                    .employee(&e)?
                    .setting("pg_table")
                    .unwrap_or_default()
                    .to_string(),
                (None, None) => String::new(),
            };
            let out = match engine
                .prepare_source(SourceKind::Postgres, &table, print)
                .await
            {
                Ok(out) => out,
                // The script is wanted by someone who may not be able to connect.
                Err(e) if print => {
                    eprintln!("(not connected: {e}; the script is for a new table)");
                    delegate_core::source::postgres::offline_script(&engine.config(), &table)?
                }
                Err(e) => return Err(e.into()),
            };
            println!("{}", out.trim_end());
        }
    }
    Ok(ExitCode::SUCCESS)
}
