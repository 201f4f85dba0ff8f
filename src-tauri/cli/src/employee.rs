//! `delegate employee add|list|remove`.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use delegate_core::Paths;
use delegate_core::config::{AgentKind, Employee, SourceKind};
use delegate_core::source::SOURCES;
use delegate_core::template;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum EmployeeCommand {
    /// Add an employee (validated, written to config.toml keeping your comments).
    Add(Box<AddArgs>),
    /// List employees.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove an employee (its history stays).
    Remove { name: String },
    /// List the employee templates `add --template` accepts.
    Templates,
}

/// Where tasks come from, and that source's settings: one flag per setting a source declares
/// (`--repo`, `--github-label`), made from the sources' registry so a new source brings its
/// own.
pub struct SourceArgs {
    source: SourceKind,
    settings: Vec<(&'static str, String)>,
}

impl clap::FromArgMatches for SourceArgs {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let source = m
            .get_one::<SourceKind>("source")
            .copied()
            .unwrap_or(SourceKind::Local);
        let settings = SOURCES
            .iter()
            .flat_map(|info| info.settings)
            .filter_map(|s| m.get_one::<String>(s.key).map(|v| (s.key, v.clone())))
            .collect();
        Ok(Self { source, settings })
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for SourceArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let names: Vec<&str> = SOURCES.iter().map(|s| s.kind.as_str()).collect();
        let mut cmd = cmd.arg(
            clap::Arg::new("source")
                .long("source")
                .value_name("SOURCE")
                .default_value("local")
                .value_parser(|v: &str| v.parse::<SourceKind>())
                .help(format!("Where tasks come from: {}", names.join(", "))),
        );
        for info in SOURCES {
            for s in info.settings {
                let with = if s.required { "required with" } else { "with" };
                cmd = cmd.arg(
                    clap::Arg::new(s.key)
                        .long(s.key.replace('_', "-"))
                        .value_name(s.key.to_uppercase())
                        .help(format!(
                            "{} — {with} --source {} (like \"{}\")",
                            s.label,
                            info.kind.as_str(),
                            s.example
                        )),
                );
            }
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

#[derive(Args)]
pub struct AddArgs {
    /// A name for the employee, e.g. "LinkedIn Writer".
    name: String,
    #[command(flatten)]
    source: SourceArgs,
    /// The employee's working folder (created if missing).
    #[arg(long)]
    workspace: PathBuf,
    /// Start from a shipped template (see `delegate employee templates`): copies its rules,
    /// skills and reference notes into the workspace (never over your files) and sets
    /// defaults for the job. Flags given here override the defaults.
    #[arg(long)]
    template: Option<String>,
    /// Which agent CLI does the work.
    #[arg(long, value_enum, default_value = "claude")]
    agent: AgentArg,
    /// Agent CLI program name on PATH or absolute path (default: the agent's own, e.g.
    /// claude, codex, gemini; required with --agent command).
    #[arg(long)]
    command: Option<String>,
    /// Arguments for --agent command; `{prompt}` becomes the task text (else it goes on
    /// stdin). Repeat for each argument.
    #[arg(long = "arg", allow_hyphen_values = true)]
    args: Vec<String>,
    #[arg(long)]
    model: Option<String>,
    /// Tools the agent may use, comma-separated (default: Read,Write,Edit,Glob,Grep).
    #[arg(long, value_delimiter = ',')]
    allowed_tools: Option<Vec<String>>,
    /// Tools the agent may never use, comma-separated.
    #[arg(long, value_delimiter = ',')]
    disallowed_tools: Option<Vec<String>>,
    #[arg(long)]
    permission_mode: Option<String>,
    #[arg(long)]
    max_turns: Option<u32>,
    #[arg(long)]
    timeout_secs: Option<u64>,
    #[arg(long)]
    max_attempts: Option<u32>,
    #[arg(long)]
    retry_backoff_secs: Option<u64>,
    /// Per-task spending cap in USD, passed to the agent.
    #[arg(long)]
    max_task_usd: Option<f64>,
    /// No new dispatch once today's recorded spend reaches this (USD).
    #[arg(long)]
    daily_usd: Option<f64>,
    #[arg(long)]
    poll_secs: Option<u64>,
    /// Post progress lines to the task as comments (rate-limited).
    #[arg(long)]
    live_progress: bool,
    /// Leave tasks with a future due date alone until they are due.
    #[arg(long)]
    hold_until_due: bool,
    /// The OS sandbox: strict (default: writes only the workspace, cannot read your home
    /// folder), workspace (may read your files) or off.
    #[arg(long)]
    sandbox: Option<delegate_core::sandbox::SandboxMode>,
    /// TCP connections the sandboxed agent may open: open (default), https or none.
    #[arg(long)]
    sandbox_network: Option<delegate_core::sandbox::NetworkRule>,
    /// Where the machine cannot sandbox: refuse (default) or unsandboxed.
    #[arg(long)]
    sandbox_fallback: Option<delegate_core::sandbox::Fallback>,
    /// What the end comment carries of the drafts: inline (default: the drafts themselves,
    /// within the source's comment limit) or path (only where they are).
    #[arg(long)]
    deliver_drafts: Option<delegate_core::config::DeliverDrafts>,
    /// A folder or file the sandboxed agent may also read (repeat).
    #[arg(long)]
    sandbox_read: Vec<PathBuf>,
    /// A folder or file the sandboxed agent may also write (repeat).
    #[arg(long)]
    sandbox_write: Vec<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum AgentArg {
    Claude,
    Codex,
    Gemini,
    Command,
}

pub async fn employee(paths: Paths, cmd: EmployeeCommand) -> Result<ExitCode> {
    match cmd {
        EmployeeCommand::Add(a) => add(&paths, *a)?,
        EmployeeCommand::List { json } => list(&paths, json)?,
        EmployeeCommand::Templates => {
            for t in template::TEMPLATES {
                println!("{:<16} {} — {}", t.id, t.title, t.summary);
            }
        }
        EmployeeCommand::Remove { name } => {
            delegate_core::employees::remove(&paths.config_file, &name)?;
            println!("Removed employee \"{name}\" (its run history is kept).");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn add(paths: &Paths, a: AddArgs) -> Result<()> {
    let source = a.source.source;
    let workspace = std::path::absolute(&a.workspace)
        .with_context(|| format!("cannot resolve {}", a.workspace.display()))?;
    let info = source.info();
    for (key, _) in &a.source.settings {
        if info.setting(key).is_none() {
            bail!(
                "--{} is not a setting of {}; leave it out, or use --source {}",
                key.replace('_', "-"),
                info.title,
                SOURCES
                    .iter()
                    .find(|other| other.setting(key).is_some())
                    .map_or("…", |other| other.kind.as_str())
            );
        }
    }
    if let Some(missing) = info
        .settings
        .iter()
        .find(|s| s.required && !a.source.settings.iter().any(|(k, _)| k == &s.key))
    {
        bail!(
            "--{} is required with --source {} ({}, like \"{}\")",
            missing.key.replace('_', "-"),
            source.as_str(),
            missing.label,
            missing.example
        );
    }
    let mut e = Employee::new(&a.name, source, workspace.clone());
    let chosen = a.template.as_deref().map(template::find).transpose()?;
    if let Some(t) = chosen {
        t.apply_defaults(&mut e);
    }
    for (key, value) in &a.source.settings {
        e.set_setting(key, Some(value));
    }
    delegate_core::agent::switch(
        &mut e,
        match a.agent {
            AgentArg::Claude => AgentKind::Claude,
            AgentArg::Codex => AgentKind::Codex,
            AgentArg::Gemini => AgentKind::Gemini,
            AgentArg::Command => AgentKind::Command,
        },
    );
    e.command = a.command;
    e.args = a.args;
    if let Some(v) = a.model {
        e.model = v;
    }
    if let Some(v) = a.allowed_tools {
        e.allowed_tools = v
            .into_iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
    }
    if let Some(v) = a.disallowed_tools {
        e.disallowed_tools = v
            .into_iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
    }
    if a.permission_mode.is_some() {
        e.permission_mode = a.permission_mode;
    }
    if a.max_turns.is_some() {
        e.max_turns = a.max_turns;
    }
    if let Some(v) = a.timeout_secs {
        e.timeout_secs = v;
    }
    if let Some(v) = a.max_attempts {
        e.max_attempts = v;
    }
    if let Some(v) = a.retry_backoff_secs {
        e.retry_backoff_secs = v;
    }
    if a.max_task_usd.is_some() {
        e.max_task_usd = a.max_task_usd;
    }
    e.daily_usd = a.daily_usd;
    if let Some(v) = a.poll_secs {
        e.poll_secs = v;
    }
    e.live_progress = a.live_progress;
    e.hold_until_due = a.hold_until_due;
    if let Some(v) = a.sandbox {
        e.sandbox = v;
    }
    if let Some(v) = a.sandbox_network {
        e.sandbox_network = v;
    }
    if let Some(v) = a.sandbox_fallback {
        e.sandbox_fallback = v;
    }
    if let Some(v) = a.deliver_drafts {
        e.deliver_drafts = v;
    }
    for p in a.sandbox_read {
        e.sandbox_read.push(std::path::absolute(&p)?);
    }
    for p in a.sandbox_write {
        e.sandbox_write.push(std::path::absolute(&p)?);
    }

    // The same use case as the app's: check, create the workspace, write, install.
    let saved =
        delegate_core::employees::save(&paths.config_file, None, &e, a.template.as_deref())?;
    let created = saved.created_workspace;
    println!(
        "Added employee \"{}\" to {}.",
        e.name,
        paths.config_file.display()
    );
    if created {
        println!("Created its workspace {}.", workspace.display());
    }
    if let (Some(t), Some(done)) = (chosen, saved.template) {
        println!(
            "Set it up as a {}: copied {} template file(s) (rules, skills, reference notes){}.",
            t.title,
            done.written.len(),
            if done.kept.is_empty() {
                String::new()
            } else {
                format!("; kept {} file(s) that were already there", done.kept.len())
            }
        );
        println!(
            "Edit {} to give it your voice and topics.",
            workspace.join("reference").display()
        );
    }
    println!("Permissions: {}", delegate_core::agent::scope(&e));
    println!("Sandbox: {}", delegate_core::sandbox::summary(&e));
    Ok(())
}

fn list(paths: &Paths, json: bool) -> Result<()> {
    let config = delegate_core::engine::load_config(&paths.config_file)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&config.employees)?);
        return Ok(());
    }
    if config.employees.is_empty() {
        println!("No employees yet. Add one with `delegate employee add NAME --workspace DIR`.");
        return Ok(());
    }
    for e in &config.employees {
        let source = delegate_core::employees::source_in_words(e);
        println!(
            "{}{}\n  source:    {source}\n  agent:     {} ({}, model {})\n  workspace: {}\n  access:    {}\n  sandbox:   {}",
            e.name,
            if e.enabled { "" } else { " (disabled)" },
            delegate_core::agent::command_of(e),
            delegate_core::agent::for_kind(e.agent).name(),
            if e.model.is_empty() {
                match delegate_core::agent::for_kind(e.agent).default_model() {
                    "" => "its default".to_string(),
                    m => m.to_string(),
                }
            } else {
                e.model.clone()
            },
            e.workspace.display(),
            delegate_core::agent::scope(e),
            delegate_core::sandbox::summary(e)
        );
    }
    Ok(())
}
