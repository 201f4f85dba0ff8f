//! `delegate-bench memory`: the peak memory of the real `delegate run --watch` while its agent
//! (`fake-claude`) streams a long, busy run: `--mb` MB (default 256) of realistic stream-json
//! and error output with long lines, over-long lines and refused accesses (`[flood]`); the
//! same size in long lines only, every fourth slow to read (`[flood-long]`, the worst case); and one line of that size with no newline (`[flood-line]`).
//!
//! The figure is the `delegate` process's own high-water mark (`VmHWM` in
//! `/proc/PID/status`: the agent is not counted), read once the run's end was printed, while
//! the process still lives. Memory, unlike time, does not depend on how busy the machine is,
//! so `--max-rss-mb N` may fail the benchmark (exit 1) when the peak is above N MB.

use delegate_core::config::{Employee, SourceKind, edit};
use delegate_core::history::History;
use delegate_core::source::LocalQueue;
use delegate_core::{Paths, config::Config};
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one scenario may take before the benchmark gives up (a guard, not a measure).
const GIVE_UP: Duration = Duration::from_secs(300);

struct Figures {
    hwm_kb: u64,
    rss_kb: u64,
    secs: f64,
    finished: String,
    progress_rows: usize,
    blocked_rows: usize,
    stderr_tail: usize,
    summary: usize,
}

pub fn main(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let mut mb: u64 = 256;
    let mut max_rss_mb: Option<u64> = None;
    let exe = std::env::current_exe()?;
    // The program measured: the `delegate` beside this one unless named (scripts/test
    // measures the release build the package ships, driven by this debug harness).
    let mut delegate = exe.with_file_name("delegate");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || -> Result<&String, Box<dyn std::error::Error>> {
            Ok(it.next().ok_or(format!("{a} needs a value"))?)
        };
        match a.as_str() {
            "--mb" => mb = value()?.parse()?,
            "--max-rss-mb" => max_rss_mb = Some(value()?.parse()?),
            "--delegate" => delegate = value()?.into(),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let fake = exe.with_file_name("fake-claude");
    for p in [&delegate, &fake] {
        if !p.exists() {
            return Err(format!(
                "{} is missing: build it first (`cargo build --workspace --bins`)",
                p.display()
            )
            .into());
        }
    }
    let mut worst = 0;
    for (keyword, what) in [
        ("[flood]", format!("{mb} MB of stream-json and stderr")),
        (
            "[flood-long]",
            format!("{mb} MB in long lines, every fourth slow to read"),
        ),
        (
            "[flood-line]",
            format!("one {mb} MB line without a newline"),
        ),
    ] {
        let f = scenario(&delegate, &fake, keyword, mb)?;
        worst = worst.max(f.hwm_kb);
        println!(
            "memory: `delegate run --watch`, agent streams {what} in {:.1} s: peak RSS {:.1} MB \
             (VmHWM; {:.1} MB at the end); kept {} progress line(s) ({} 🛡), {} B of stderr, \
             {} B of result; {}",
            f.secs,
            mib(f.hwm_kb),
            mib(f.rss_kb),
            f.progress_rows,
            f.blocked_rows,
            f.stderr_tail,
            f.summary,
            f.finished,
        );
    }
    if let Some(max) = max_rss_mb {
        if mib(worst) > max as f64 {
            println!(
                "memory: FAILED: peak RSS {:.1} MB is above {max} MB",
                mib(worst)
            );
            std::process::exit(1);
        }
        println!("memory: peak RSS {:.1} MB is within {max} MB", mib(worst));
    }
    Ok(())
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn scenario(
    delegate: &Path,
    fake: &Path,
    keyword: &str,
    mb: u64,
) -> Result<Figures, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let paths = Paths::under(dir.path());
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws)?;
    let mut e = Employee::new("Flood", SourceKind::Local, ws);
    e.command = Some(fake.display().to_string());
    // Sandboxed where the machine can (the refused accesses are read from the output either
    // way), and run anyway where it cannot.
    e.sandbox_fallback = delegate_core::sandbox::Fallback::Unsandboxed;
    e.max_attempts = 1;
    edit::add_employee(&paths.config_file, &e)?;
    let config = Config::load(&paths.config_file, &delegate_core::agent::RULES)?;
    LocalQueue::open(&paths.queue_db())?.add_for(
        &config,
        "Flood",
        &format!("Write the long report {keyword}"),
        "",
        1,
    )?;

    let start = Instant::now();
    let mut child = Command::new(delegate)
        .arg("--home")
        .arg(dir.path())
        .args(["run", "--watch"])
        .env("FAKE_CLAUDE_FLOOD_MB", mb.to_string())
        .env_remove("DELEGATE_HOME")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The run's end as `delegate` prints it: "[Flood] run #1 succeeded…".
    let finished = loop {
        let left = GIVE_UP.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with("[Flood] run #") && !line.contains('“') => break line,
            Ok(line) if line.starts_with("[Flood] problem:") => {
                stop(&mut child);
                return Err(format!("the employee cannot work here: {line}").into());
            }
            Ok(_) => {}
            Err(_) => {
                stop(&mut child);
                return Err(format!("no end of the run within {} s", GIVE_UP.as_secs()).into());
            }
        }
    };
    let secs = start.elapsed().as_secs_f64();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (hwm_kb, rss_kb) = (kb("VmHWM:"), kb("VmRSS:"));
    stop(&mut child);
    let _ = reader.join();

    let history = History::open(&paths.history_db())?;
    let run = history.get(1)?;
    Ok(Figures {
        hwm_kb,
        rss_kb,
        secs,
        finished: finished.trim_start_matches("[Flood] ").to_string(),
        progress_rows: run.progress.len(),
        blocked_rows: run
            .progress
            .iter()
            .filter(|p| p.line.starts_with("🛡 Blocked"))
            .count(),
        stderr_tail: run.stderr_tail.map(|s| s.len()).unwrap_or(0),
        summary: run.run.summary.map(|s| s.len()).unwrap_or(0),
    })
}

/// SIGTERM (delegate stops its agents cleanly), then reaps it.
fn stop(child: &mut std::process::Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();
}
