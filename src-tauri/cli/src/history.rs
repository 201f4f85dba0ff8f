//! `delegate history` and `delegate show`.

use anyhow::Result;
use chrono::Local;
use clap::Args;
use delegate_core::Paths;
use delegate_core::history::{History, RunFilter, RunStatus, RunSummary};
use std::process::ExitCode;

#[derive(Args)]
pub struct HistoryArgs {
    #[arg(long, short = 'e')]
    employee: Option<String>,
    /// running, succeeded, failed, timed_out, cancelled, interrupted, over_budget, blocked
    /// or lost_claim.
    #[arg(long, short = 's')]
    status: Option<RunStatus>,
    /// Only runs whose task title or description contains this text.
    #[arg(long)]
    search: Option<String>,
    #[arg(long, short = 'n', default_value_t = 20)]
    limit: usize,
    /// Runs older than this run id (for paging).
    #[arg(long)]
    before: Option<i64>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ShowArgs {
    /// The run id (from `delegate history`).
    run: i64,
    #[arg(long)]
    json: bool,
}

fn duration(r: &RunSummary) -> String {
    let Some(end) = r.ended_at else {
        return "…".into();
    };
    let s = (end - r.started_at).num_seconds().max(0);
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn cost(c: Option<f64>) -> String {
    c.map(|c| format!("${c:.2}")).unwrap_or_else(|| "—".into())
}

pub fn history(paths: Paths, a: HistoryArgs) -> Result<ExitCode> {
    let h = History::open(&paths.history_db())?;
    let runs = h.list(&RunFilter {
        employee: a.employee,
        status: a.status,
        text: a.search,
        before_id: a.before,
        limit: a.limit,
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!("No runs yet.");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>6}  {:<11}  {:<18}  {:>7}  {:<16}  {:>6}  {:>6}  TASK",
        "RUN", "STATUS", "EMPLOYEE", "ATTEMPT", "STARTED", "TIME", "COST"
    );
    for r in &runs {
        println!(
            "{:>6}  {:<11}  {:<18}  {:>7}  {:<16}  {:>6}  {:>6}  {}",
            format!("#{}", r.id),
            r.status.as_str(),
            delegate_core::agent::truncate(&r.employee, 18),
            format!("{}/{}", r.attempt, r.max_attempts),
            r.started_at.with_timezone(&Local).format("%Y-%m-%d %H:%M"),
            duration(r),
            cost(r.cost_usd),
            delegate_core::agent::truncate(&r.task_title, 60)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn show(paths: Paths, a: ShowArgs) -> Result<ExitCode> {
    let h = History::open(&paths.history_db())?;
    let d = h.get(a.run)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(ExitCode::SUCCESS);
    }
    let r = &d.run;
    println!("Run #{} — {}", r.id, r.status);
    println!(
        "Task:      {} ({} task {})",
        r.task_title, r.source, r.task_id
    );
    if let Some(url) = &d.task_url {
        println!("Link:      {url}");
    }
    println!(
        "Employee:  {} (attempt {} of {}) on {}",
        r.employee, r.attempt, r.max_attempts, d.machine
    );
    println!(
        "Started:   {}   Took: {}",
        r.started_at
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S"),
        duration(r)
    );
    let tokens = match (d.tokens_in, d.tokens_out) {
        (Some(i), Some(o)) => format!("{i} in / {o} out"),
        _ => "—".into(),
    };
    println!(
        "Cost:      {}   Tokens: {tokens}   Turns: {}",
        cost(r.cost_usd),
        d.turns.map(|t| t.to_string()).unwrap_or_else(|| "—".into())
    );
    if let Some(code) = d.exit_code {
        println!("Exit code: {code}");
    }
    if let Some(session) = &d.resumed_session {
        println!("Session:   continued {session}");
    }
    if let Some(input) = &d.input {
        println!("\nThe person wrote:\n{}", input.trim());
    }
    if !d.progress.is_empty() {
        println!("\nProgress:");
        for p in &d.progress {
            println!(
                "  {}  {}",
                p.at.with_timezone(&Local).format("%H:%M:%S"),
                p.line
            );
        }
    }
    if let Some(s) = &r.summary {
        println!("\nSummary:\n{}", s.trim());
    }
    if !d.questions.is_empty() {
        println!("\nThe agent asks (answer in a comment on the task):");
        for (i, q) in d.questions.iter().enumerate() {
            println!("  {}. {q}", i + 1);
        }
    }
    if let Some(e) = &r.error {
        println!("\nError: {e}");
    }
    if let Some(t) = &d.stderr_tail {
        println!("\nEnd of the agent's error output:\n{}", t.trim());
    }
    if !d.permission_denials.is_empty() {
        println!("\nPermission denials:");
        for p in &d.permission_denials {
            println!("  {} {}", p.tool_name, p.tool_input);
        }
    }
    if !d.drafts.is_empty() {
        println!("\nDrafts:");
        for dr in &d.drafts {
            let flag = if dr.inside_workspace {
                ""
            } else {
                "  ⚠️ outside the workspace"
            };
            println!("  {}{flag}", dr.path);
        }
    }
    Ok(ExitCode::SUCCESS)
}
