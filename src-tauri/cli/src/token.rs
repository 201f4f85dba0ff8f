//! `delegate token set|status|clear [--source todoist|github|linear]`: a source's token in
//! the OS keychain.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use delegate_core::Paths;
use delegate_core::config::SourceKind;
use delegate_core::doctor;
use delegate_core::secrets::{self, SecretError};
use std::io::{IsTerminal, Read};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Read the token from stdin (or a hidden prompt) and store it in the keychain.
    Set(Which),
    /// Say whether a token is set, where it comes from, and whether the service accepts it.
    Status(Which),
    /// Remove the token from the keychain.
    Clear(Which),
}

#[derive(Args)]
pub struct Which {
    /// Whose token: a source that needs one (todoist, github, linear).
    #[arg(long, default_value_t = default_source(), value_parser = token_source)]
    source: SourceKind,
}

/// The first source that needs a token (the one Delegate started with).
fn default_source() -> SourceKind {
    SourceKind::with_tokens()
        .next()
        .unwrap_or(SourceKind::Local)
}

fn token_source(name: &str) -> Result<SourceKind, String> {
    let kind: SourceKind = name.parse()?;
    if !kind.info().needs_token() {
        return Err(format!(
            "{} needs no token (sources with one: {})",
            kind.info().title,
            SourceKind::with_tokens()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(kind)
}

pub async fn token(paths: Paths, cmd: TokenCommand) -> Result<ExitCode> {
    let kind = match &cmd {
        TokenCommand::Set(w) | TokenCommand::Status(w) | TokenCommand::Clear(w) => w.source,
    };
    let store = super::keychain(kind);
    let title = kind.info().title;
    match cmd {
        TokenCommand::Set(_) => {
            let value = if std::io::stdin().is_terminal() {
                rpassword::prompt_password(format!(
                    "Paste your {title} token ({}): ",
                    kind.info().token_help
                ))?
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
            println!("Stored the {title} token in the OS keychain.");
        }
        TokenCommand::Status(_) => {
            let check = doctor::source_token(&paths, kind, store.as_ref()).await?;
            for line in check.lines() {
                println!("{line}");
            }
            if !check.accepted() {
                return Ok(ExitCode::FAILURE);
            }
        }
        TokenCommand::Clear(_) => {
            if store.clear()? {
                println!("Removed the {title} token from the OS keychain.");
            } else {
                println!("There was no {title} token in the OS keychain.");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
