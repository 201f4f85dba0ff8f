//! `delegate token set|status|clear`: the Todoist token in the OS keychain.

use anyhow::{Result, bail};
use clap::Subcommand;
use delegate_core::Paths;
use delegate_core::doctor;
use delegate_core::secrets::{self, SecretError};
use std::io::{IsTerminal, Read};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Read the token from stdin (or a hidden prompt) and store it in the keychain.
    Set,
    /// Say whether a token is set, where it comes from, and whether Todoist accepts it.
    Status,
    /// Remove the token from the keychain.
    Clear,
}

pub async fn token(paths: Paths, cmd: TokenCommand) -> Result<ExitCode> {
    let store = super::keychain();
    match cmd {
        TokenCommand::Set => {
            let value = if std::io::stdin().is_terminal() {
                rpassword::prompt_password(
                    "Paste your Todoist API token (Settings → Integrations → Developer): ",
                )?
            } else {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s
            };
            let token = match secrets::pasted_token(&value) {
                Err(SecretError::Empty) => {
                    bail!("no token given; pipe it in, e.g. `delegate token set < token.txt`")
                }
                other => other?,
            };
            store.set(&token)?;
            println!("Stored the Todoist token in the OS keychain.");
        }
        TokenCommand::Status => {
            let check = doctor::token(&paths, store.as_ref()).await?;
            for line in check.lines() {
                println!("{line}");
            }
            if !check.accepted() {
                return Ok(ExitCode::FAILURE);
            }
        }
        TokenCommand::Clear => {
            if store.clear()? {
                println!("Removed the Todoist token from the OS keychain.");
            } else {
                println!("There was no Todoist token in the OS keychain.");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
