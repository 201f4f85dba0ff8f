//! `delegate doctor`: prints the engine's report, one line per check and each failure with
//! what to do about it.

use anyhow::Result;
use delegate_core::Paths;
use delegate_core::doctor::{self, Check};
use std::process::ExitCode;

pub async fn doctor(paths: Paths) -> Result<ExitCode> {
    let report = doctor::report(&paths, &delegate_core::secrets::Stores::keychain()).await;
    for check in &report.checks {
        match check {
            Check::Ok(what) => println!("✓ {what}"),
            Check::Note(what) => println!("! {what}"),
            Check::Fail { what, fix } => println!("✗ {what}\n    fix: {fix}"),
        }
    }
    if let Some(summary) = report.summary() {
        println!("{summary}");
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
