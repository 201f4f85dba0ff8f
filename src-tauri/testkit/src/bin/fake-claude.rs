//! A stand-in for the agent CLIs that replays recorded streams: `claude -p … --output-format
//! stream-json --verbose` by default; Codex (`codex exec --json`) or Gemini (`gemini -p …
//! -o stream-json`, prompt on stdin) when its program name says `codex` or `gemini` (tests
//! link it under those names). A file `<program>.logged-out` next to the program makes it
//! behave like the real CLI with no login (`auth status` / `login status` say so, and a run
//! ends with the recorded not-logged-in answer). What it does is chosen by a keyword in the
//! prompt:
//! (none) success, writing `drafts/<slug>.md` · `[fail]` error result, exit 1 · `[fail-once]`
//! the same until the prompt says why the previous attempt failed · `[long-draft]` a draft of
//! about 40,000 characters ·
//! `[budget]` spending cap hit · `[hang]` starts a grandchild and never ends ·
//! `[garbage]` non-JSON output and no result · `[crash]` exit 2 mid-stream ·
//! `[outside]` also writes a file outside the workspace · `[slow]` pauses between lines (`[long]`: 2 s each) ·
//! `[hang-once]` hangs like `[hang]` the first time (a file `<slug>.once` in
//! `FAKE_CLAUDE_ONCE_DIR`, default the workspace, remembers it), then succeeds.
//! `[orphans]` first leaves three processes running and writes `orphans.pids` (its own pid,
//! then theirs, as it sees them): a child in its process group, a child in a session of its
//! own (`setsid`) and an orphan (started by a shell that exited); then it carries on.
//! `[flood]` a long, busy run of `FAKE_CLAUDE_FLOOD_MB` (default 256) MB of realistic stream
//! and error output (see `delegate_testkit::flood`) · `[flood-long]` that size in long lines
//! only, every fourth slow to read · `[flood-line]` one line of that size with no newline.
//! Conversations: `[ask]` asks two questions (`needs_input`) until the conversation holds
//! an answer · `[blocked]` says what blocks it until answered · `[nothing]` finds nothing to do.
//! Each start is a session (`<cwd>/.fake-sessions/<id>.json`) that `--resume <id>` (Claude,
//! Gemini) or `exec resume <id>` (Codex) continues; an unknown id gets the real CLI's recorded
//! answer. With `--json-schema` (Claude) or `--output-schema` (Codex) the result carries the
//! report as structured output; Gemini ends its final text with the report in a `json` block.
//! Usage figures model a fresh start (reading the skill and references) against a resumed
//! session (its context read from the cache).
//! `FAKE_CLAUDE_RECORD=DIR` saves its argv, environment and cwd to a new file in `DIR` (one
//! per start: pids repeat, since every run has a PID namespace of its own);
//! `FAKE_CLAUDE_DELAY_MS` sets the pause between lines.

use std::io::Write;
use std::time::Duration;

const SUCCESS: &str = include_str!("../../../core/tests/fixtures/success.jsonl");
const FAILURE: &str = include_str!("../../../core/tests/fixtures/error_result.jsonl");
const NOT_LOGGED_IN: &str =
    include_str!("../../../core/tests/fixtures/real/claude-2.1.197-not-logged-in.jsonl");
const CODEX_SUCCESS: &str = include_str!("../../../core/tests/fixtures/codex_success.jsonl");
const CODEX_FAILURE: &str = include_str!("../../../core/tests/fixtures/codex_failure.jsonl");
const GEMINI_SUCCESS: &str = include_str!("../../../core/tests/fixtures/gemini_success.jsonl");
const GEMINI_FAILURE: &str = include_str!("../../../core/tests/fixtures/gemini_failure.jsonl");
const CLAUDE_RESUME_UNKNOWN: &str =
    include_str!("../../../core/tests/fixtures/real/claude-2.1.197-resume-unknown.jsonl");
const CLAUDE_RESUME_UNKNOWN_ERR: &str =
    include_str!("../../../core/tests/fixtures/real/claude-2.1.197-resume-unknown.stderr");
const CLAUDE_RECORDED_ID: &str = "5f0c2c5e-8d0e-4a35-9f58-3b1f4f7b2a11";
const CODEX_RESUME_UNKNOWN: &str =
    include_str!("../../../core/tests/fixtures/real/codex-0.169.0-resume-unknown.stderr");
const CODEX_RECORDED_ID: &str = "0199a213-81c0-7800-8aa1-bbab2a035a53";
const GEMINI_RESUME_UNKNOWN: &str =
    include_str!("../../../core/tests/fixtures/real/gemini-0.61.0-resume-unknown.stderr");

/// One agent session, kept in the workspace so a later start can continue it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Session {
    id: String,
    /// The first prompt (the task).
    task: String,
    /// Every later prompt (answers, feedback), in order.
    turns: Vec<String>,
}

impl Session {
    fn path(cwd: &str, id: &str) -> std::path::PathBuf {
        let safe: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        std::path::Path::new(cwd)
            .join(".fake-sessions")
            .join(format!("{safe}.json"))
    }

    fn new(task: &str) -> Session {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let n = nanos ^ ((std::process::id() as u128) << 64);
        let id = format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (n >> 96) as u32 ^ (n as u32),
            (n >> 80) as u16,
            (n >> 68) as u16 & 0xfff,
            (n >> 56) as u16 & 0xfff,
            n as u64 & 0xffff_ffff_ffff
        );
        Session {
            id,
            task: task.to_string(),
            turns: Vec::new(),
        }
    }

    fn load(cwd: &str, id: &str) -> Option<Session> {
        let text = std::fs::read_to_string(Session::path(cwd, id)).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn save(&self, cwd: &str) {
        let path = Session::path(cwd, &self.id);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(path, serde_json::to_string(self).unwrap_or_default());
    }

    /// Everything said so far, for the keywords.
    fn text(&self) -> String {
        let mut out = self.task.clone();
        for t in &self.turns {
            out.push_str("\n\n");
            out.push_str(t);
        }
        out
    }
}

/// What the conversation so far asks of this run: a report's status, summary, questions and
/// reason, or `None` for the usual work (a draft).
fn decide(text: &str) -> Option<serde_json::Value> {
    let answered =
        text.contains("The person answered your questions") || text.contains("[The person wrote]");
    if text.contains("[ask]") && !answered {
        return Some(serde_json::json!({
            "status": "needs_input",
            "summary": "I read the brief and the brand voice; two facts are missing before I can write the post.",
            "questions": ["Which customer should the post quote, and what did they say?", "Should the post mention the price?"],
            "reason": ""
        }));
    }
    if text.contains("[blocked]") && !answered {
        return Some(serde_json::json!({
            "status": "blocked",
            "summary": "",
            "questions": [],
            "reason": "The reference folder is empty: add last quarter's figures to reference/ and reply."
        }));
    }
    if text.contains("[nothing]") {
        return Some(serde_json::json!({
            "status": "nothing_to_do",
            "summary": "No new messages from the customer since yesterday.",
            "questions": [],
            "reason": ""
        }));
    }
    None
}

/// Usage and cost of a run: a fresh start reads the skill and the references anew; a resumed
/// session reads its context from the cache and only the new words are input (prices per
/// million tokens: input $3, cache write $3.75, cache read $0.30, output $15).
fn usage(fresh: bool, prompt: &str, turns: usize) -> (u64, u64, u64, u64, f64) {
    let words = (prompt.len() / 4) as u64;
    if fresh {
        // The recorded run ($0.0421), plus the conversation a fallback's prompt carries.
        let extra = if prompt.contains("You worked on this task before") {
            words
        } else {
            0
        };
        let cost = 0.0421 + extra as f64 * 3.0 / 1e6;
        return (7_400 + extra, 2_100, 9_100, 602, (cost * 1e4).round() / 1e4);
    }
    let (input, write, read, output) = (300 + words, words, 12_600 + 1_000 * turns as u64, 380);
    let cost =
        (input as f64 * 3.0 + write as f64 * 3.75 + read as f64 * 0.3 + output as f64 * 15.0) / 1e6;
    (input, write, read, output, (cost * 1e4).round() / 1e4)
}

/// Claude Code's `result` line for a run that went well.
fn claude_result(
    session: &str,
    summary: &str,
    report: Option<&serde_json::Value>,
    fresh: bool,
    prompt: &str,
    turns: usize,
) -> String {
    let (input, write, read, output, cost) = usage(fresh, prompt, turns);
    let mut v = serde_json::json!({
        "type": "result", "subtype": "success", "is_error": false, "duration_ms": 21000,
        "num_turns": 4, "result": summary, "stop_reason": "end_turn", "session_id": session,
        "total_cost_usd": cost,
        "usage": {"input_tokens": input, "cache_creation_input_tokens": write,
                  "cache_read_input_tokens": read, "output_tokens": output},
        "modelUsage": {"claude-sonnet-4-5": {"inputTokens": input, "outputTokens": output,
            "cacheReadInputTokens": read, "cacheCreationInputTokens": write, "costUSD": cost}},
        "permission_denials": [], "uuid": "res1"
    });
    if let Some(r) = report {
        v["structured_output"] = r.clone();
    }
    v.to_string()
}

#[derive(Clone, Copy, PartialEq)]
enum Cli {
    Claude,
    Codex,
    Gemini,
}

fn emit(line: &str, delay: Duration) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    drop(out);
    std::thread::sleep(delay);
}

fn slug(prompt: &str) -> String {
    let first = prompt.lines().next().unwrap_or("draft").to_lowercase();
    let words: Vec<String> = first
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    // Whole words only, up to 40 characters.
    let mut s = String::new();
    for w in words {
        if !s.is_empty() && s.len() + 1 + w.len() > 40 {
            break;
        }
        if !s.is_empty() {
            s.push('-');
        }
        s.push_str(&w);
    }
    if s.is_empty() { "draft".into() } else { s }
}

fn json_escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted[1..quoted.len() - 1].to_string()
}

fn replay(recording: &str, cwd: &str, draft: &str, delay: Duration) {
    replay_with(recording, cwd, draft, "", delay)
}

fn replay_with(recording: &str, cwd: &str, draft: &str, prompt: &str, delay: Duration) {
    let session = format!("fake-{}", std::process::id());
    for line in recording.lines() {
        let line = line
            .replace("{{CWD}}", &json_escape(cwd))
            .replace("{{DRAFT}}", &json_escape(draft))
            .replace("{{PROMPT}}", &json_escape(prompt))
            .replace("{{SESSION}}", &session);
        emit(&line, delay);
    }
}

/// The Codex and Gemini personalities: their argv, their streams, their exit codes.
fn other_cli(cli: Cli, argv: &[String], logged_out: bool) {
    let arg_after = |flag: &str| {
        argv.iter()
            .position(|a| a == flag)
            .and_then(|i| argv.get(i + 1))
            .cloned()
    };
    let resuming = match cli {
        Cli::Codex => argv.get(2).map(String::as_str) == Some("resume"),
        _ => argv.iter().any(|a| a == "--resume"),
    };
    let mut resume_id = None;
    let prompt = match cli {
        Cli::Codex if resuming => {
            // `codex exec resume [OPTIONS] -- <SESSION_ID> <PROMPT>`: no -C, no -s.
            if argv.iter().any(|a| a == "-C" || a == "-s") {
                eprintln!(
                    "error: unexpected argument '-C' found\n\nUsage: codex exec resume [OPTIONS] [SESSION_ID] [PROMPT]"
                );
                std::process::exit(2);
            }
            let at = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
            resume_id = argv.get(at + 1).cloned();
            argv.get(at + 2).cloned().unwrap_or_default()
        }
        Cli::Codex => {
            if argv.get(1).map(String::as_str) != Some("exec")
                || !argv.iter().any(|a| a == "--json")
            {
                eprintln!(
                    "error: unexpected argument found\n\nUsage: codex exec [OPTIONS] [PROMPT]"
                );
                std::process::exit(2);
            }
            if !argv.iter().any(|a| a == "--skip-git-repo-check") {
                eprintln!(
                    "Not inside a trusted directory and --skip-git-repo-check was not specified."
                );
                std::process::exit(1);
            }
            arg_after("--").unwrap_or_default()
        }
        _ => {
            if arg_after("-o").as_deref() != Some("stream-json")
                || !argv.iter().any(|a| a == "--skip-trust")
            {
                eprintln!("Gemini CLI is not running in a trusted directory.");
                std::process::exit(55);
            }
            resume_id = arg_after("--resume");
            let mut stdin = String::new();
            let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut stdin);
            format!("{stdin}{}", arg_after("-p").unwrap_or_default())
        }
    };
    let cwd = match cli {
        Cli::Codex if !resuming => arg_after("-C").unwrap_or_default(),
        _ => std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    };
    record(argv, &cwd);
    if logged_out && cli == Cli::Gemini {
        eprintln!(
            "Please set an Auth method in your ~/.gemini/settings.json or specify one of the following environment variables before running: GEMINI_API_KEY, GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_GENAI_USE_GCA"
        );
        std::process::exit(41);
    }
    let delay = Duration::from_millis(
        std::env::var("FAKE_CLAUDE_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    );
    if let Some(path) = arg_after("--output-schema")
        && std::fs::read_to_string(&path).is_err()
    {
        eprintln!(
            "Failed to read output schema file {path}: No such file or directory (os error 2)"
        );
        std::process::exit(1);
    }
    let session = match &resume_id {
        Some(id) => match Session::load(&cwd, id) {
            Some(mut s) => {
                s.turns.push(prompt.clone());
                s
            }
            None => {
                // What the real CLIs answer (recorded), for this id.
                match cli {
                    Cli::Codex => {
                        eprint!("{}", CODEX_RESUME_UNKNOWN.replace(CODEX_RECORDED_ID, id))
                    }
                    _ => eprint!("{GEMINI_RESUME_UNKNOWN}"),
                }
                std::process::exit(if cli == Cli::Codex { 1 } else { 42 });
            }
        },
        None => Session::new(&prompt),
    };
    session.save(&cwd);
    let fresh = resume_id.is_none();
    let turn_prompt = prompt.clone();
    let prompt = session.text();
    let (input, write, read, output, _) = usage(fresh, &turn_prompt, session.turns.len());
    let slug = slug(&prompt);
    let draft = format!("drafts/{slug}.md");
    let fail = prompt.contains("[fail]");
    let structured = arg_after("--output-schema").is_some();
    // The final text: Codex with a schema answers the report object itself; Gemini (no
    // structured output) ends its text with the report in a `json` block.
    let final_text = |summary: &str, report: &serde_json::Value| match cli {
        Cli::Codex if structured => report.to_string(),
        Cli::Codex => summary.to_string(),
        _ => format!("{summary}\n\n```json\n{report}\n```"),
    };
    if !fail && let Some(report) = decide(&prompt) {
        let summary = report["summary"].as_str().unwrap_or("").to_string();
        let text = final_text(&summary, &report);
        let lines = match cli {
            Cli::Codex => vec![
                serde_json::json!({"type":"thread.started","thread_id": session.id}),
                serde_json::json!({"type":"turn.started"}),
                serde_json::json!({"type":"item.completed","item":{"id":"item_0","type":"agent_message","text": text}}),
                serde_json::json!({"type":"turn.completed","usage":{"input_tokens": input + write, "cached_input_tokens": read, "output_tokens": output}}),
            ],
            _ => vec![
                serde_json::json!({"type":"init","session_id": session.id,"model":"gemini-2.5-pro"}),
                serde_json::json!({"type":"message","role":"assistant","content": text,"delta":true}),
                serde_json::json!({"type":"result","status":"success","stats":{"total_tokens": input + write + read + output,"input_tokens": input + write + read,"output_tokens": output,"cached": read}}),
            ],
        };
        for l in lines {
            emit(&l.to_string(), Duration::ZERO);
        }
        return;
    }
    let stream = match (cli, fail) {
        (Cli::Codex, false) => CODEX_SUCCESS,
        (Cli::Codex, true) => CODEX_FAILURE,
        (_, false) => GEMINI_SUCCESS,
        (_, true) => GEMINI_FAILURE,
    };
    if !fail {
        let _ = std::fs::create_dir_all(std::path::Path::new(&cwd).join("drafts"));
        let body = format!(
            "# Draft: {}\n\n{prompt}\n",
            prompt.lines().next().unwrap_or("")
        );
        let _ = std::fs::write(std::path::Path::new(&cwd).join(&draft), body);
    }
    let summary = if fresh {
        format!("Wrote the draft to {draft}. It needs a real customer quote before posting.")
    } else {
        format!("Revised {draft} as asked.")
    };
    let report =
        serde_json::json!({"status": "done", "summary": summary, "questions": [], "reason": ""});
    let text = final_text(&summary, &report);
    let stream: String = stream
        .lines()
        // Gemini's final text comes as one message (the recorded first half is dropped).
        .filter(|l| fail || cli == Cli::Codex || !l.contains("\"Wrote the draft to"))
        .map(|l| {
            if fail {
                return l.to_string();
            }
            let is_final_text = match cli {
                Cli::Codex => l.contains("\"agent_message\""),
                _ => l.contains("\"role\":\"assistant\"") && l.contains("real customer quote"),
            };
            if !is_final_text {
                return l.to_string();
            }
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
            match cli {
                Cli::Codex => v["item"]["text"] = text.clone().into(),
                _ => v["content"] = text.clone().into(),
            }
            v.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
        .replace("{{SESSION}}", &session.id);
    replay_with(&stream, &cwd, &draft, &prompt, delay);
    if fail {
        std::process::exit(if cli == Cli::Gemini { 53 } else { 1 });
    }
}

/// `[flood]`, `[flood-long]` and `[flood-line]`: the memory benchmark's agent.
fn flood(prompt: &str, cwd: &str) {
    let mb: u64 = std::env::var("FAKE_CLAUDE_FLOOD_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if prompt.contains("[flood-line]") {
        let _ = delegate_testkit::flood::one_line(&mut out, mb << 20);
        return;
    }
    let mut err = std::io::BufWriter::with_capacity(1 << 12, std::io::stderr().lock());
    let f = delegate_testkit::flood::Flood {
        bytes: mb << 20,
        cwd: cwd.to_string(),
        home: std::env::var("HOME").unwrap_or_else(|_| "/home/agent".into()),
        session: format!("flood-{}", std::process::id()),
    };
    let written = if prompt.contains("[flood-long]") {
        delegate_testkit::flood::write_long(&mut out, &f)
    } else {
        delegate_testkit::flood::write(&mut out, &mut err, &f)
    };
    if let Err(e) = written {
        eprintln!("fake-claude: {e}");
        std::process::exit(1);
    }
}

fn record(argv: &[String], cwd: &str) {
    let Some(dir) = std::env::var_os("FAKE_CLAUDE_RECORD") else {
        return;
    };
    let env: serde_json::Map<String, serde_json::Value> = std::env::vars()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let doc = serde_json::json!({ "argv": argv, "env": env, "cwd": cwd });
    let _ = std::fs::create_dir_all(&dir);
    // Every agent of a run in its own PID namespace is pid 2: the clock makes the name.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    for n in 0..100 {
        let path =
            std::path::Path::new(&dir).join(format!("{nanos}-{}-{n}.json", std::process::id()));
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            let _ = f.write_all(doc.to_string().as_bytes());
            return;
        }
    }
}

/// What one probe step did: `ok`, or the error as Node.js words it (EACCES … 'path'), which
/// is what Delegate reads refused accesses from.
fn attempt(what: &str, path: &str, r: std::io::Result<()>) -> serde_json::Value {
    match r {
        Ok(()) => serde_json::json!({"what": what, "path": path, "ok": true}),
        Err(e) => {
            let words = if e.kind() == std::io::ErrorKind::PermissionDenied {
                format!("EACCES: permission denied, open '{path}'")
            } else {
                format!("{e}: '{path}'")
            };
            serde_json::json!({"what": what, "path": path, "ok": false, "error": words})
        }
    }
}

/// `[sandbox-probe]`: tries what an OS sandbox must allow or refuse, in this process and in
/// a child it starts (rules are inherited), and reports each outcome. `FAKE_CLAUDE_PROBE_PORT`
/// names a loopback port to connect to; `FAKE_CLAUDE_PROBE_TAG` makes the /tmp name unique.
fn probe(cwd: &str) -> Vec<serde_json::Value> {
    use std::io::{Read, Write};
    let home = std::env::var("HOME").unwrap_or_default();
    let tag = std::env::var("FAKE_CLAUDE_PROBE_TAG").unwrap_or_else(|_| "x".into());
    let tmpdir = std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".into());
    let append = |path: &str| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        f.write_all(b"# written by the probe\n")
    };
    let read = |path: &str| -> std::io::Result<()> {
        let mut s = String::new();
        std::fs::File::open(path)?
            .read_to_string(&mut s)
            .map(|_| ())
    };
    let ws_file = format!("{cwd}/probe-ok.txt");
    let bashrc = format!("{home}/.bashrc");
    let tmp_outside = format!("/tmp/delegate-probe-{tag}");
    let tmp_private = format!("{tmpdir}/probe-{tag}");
    let key = format!("{home}/.ssh/id_ed25519");
    let mut out = vec![
        attempt("write", &ws_file, append(&ws_file)),
        attempt("write", &bashrc, append(&bashrc)),
        attempt("write", &tmp_outside, append(&tmp_outside)),
        attempt("write", &tmp_private, append(&tmp_private)),
        attempt("read", &key, read(&key)),
        attempt("read", "/etc/passwd", read("/etc/passwd")),
    ];
    // The session bus, where the keyring's Secret Service answers.
    if let Some(rt) = std::env::var_os("XDG_RUNTIME_DIR") {
        let bus = std::path::Path::new(&rt).join("bus");
        let r = std::os::unix::net::UnixStream::connect(&bus).map(|_| ());
        out.push(match r {
            Ok(()) => serde_json::json!({"what": "connect", "path": bus, "ok": true}),
            Err(e) => serde_json::json!({"what": "connect", "path": bus, "ok": false, "error": e.to_string()}),
        });
    }
    if let Some(port) = std::env::var("FAKE_CLAUDE_PROBE_PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
    {
        let r = std::net::TcpStream::connect(("127.0.0.1", port)).map(|_| ());
        out.push(match r {
            Ok(()) => serde_json::json!({"what": "connect", "path": port.to_string(), "ok": true}),
            Err(e) => serde_json::json!({"what": "connect", "path": port.to_string(), "ok": false, "error": e.to_string()}),
        });
    }
    // Other Unix sockets named by a path (`FAKE_CLAUDE_PROBE_SOCKETS`, separated by `:`).
    let sockets = std::env::var("FAKE_CLAUDE_PROBE_SOCKETS").unwrap_or_default();
    for path in sockets.split(':').filter(|p| !p.is_empty()) {
        let r = std::os::unix::net::UnixStream::connect(path).map(|_| ());
        out.push(match r {
            Ok(()) => serde_json::json!({"what": "connect", "path": path, "ok": true}),
            Err(e) => serde_json::json!({"what": "connect", "path": path, "ok": false, "error": e.to_string()}),
        });
    }
    out
}

/// `[orphans]`: processes an agent might leave behind, each out of reach of the last: one in
/// its process group, one in a session of its own, one whose parent is gone.
fn leave_orphans() {
    use std::process::{Command, Stdio};
    let mut pids = vec![std::process::id()];
    let spawned = |c: std::io::Result<std::process::Child>| c.map(|c| c.id()).unwrap_or(0);
    pids.push(spawned(Command::new("sleep").arg("1000").spawn()));
    pids.push(spawned(
        Command::new("setsid").args(["sleep", "1000"]).spawn(),
    ));
    let orphan = Command::new("sh")
        .args(["-c", "sleep 1000 >/dev/null 2>&1 & echo $!"])
        .stdout(Stdio::piped())
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(0);
    pids.push(orphan);
    let line: Vec<String> = pids.iter().map(u32::to_string).collect();
    let _ = std::fs::write("orphans.pids", format!("{}\n", line.join(" ")));
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--probe-child") {
        let cwd = std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        println!("{}", serde_json::Value::Array(probe(&cwd)));
        return;
    }
    let program = argv.first().cloned().unwrap_or_default();
    let name = std::path::Path::new(&program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cli = if name.contains("codex") {
        Cli::Codex
    } else if name.contains("gemini") {
        Cli::Gemini
    } else {
        Cli::Claude
    };
    let logged_out = std::path::Path::new(&format!("{program}.logged-out")).exists();
    if argv.iter().any(|a| a == "--version") {
        println!(
            "{}",
            match cli {
                Cli::Claude => "2.1.197 (Claude Code)",
                Cli::Codex => "codex-cli 0.169.0",
                Cli::Gemini => "0.61.0",
            }
        );
        return;
    }
    match (
        cli,
        argv.get(1).map(String::as_str),
        argv.get(2).map(String::as_str),
    ) {
        (Cli::Claude, Some("auth"), Some("status")) => {
            println!(
                "{{\n  \"loggedIn\": {},\n  \"authMethod\": \"{}\"\n}}",
                !logged_out,
                if logged_out { "none" } else { "claude.ai" }
            );
            std::process::exit(if logged_out { 1 } else { 0 });
        }
        (Cli::Codex, Some("login"), Some("status")) => {
            if logged_out {
                eprintln!("Not logged in");
                std::process::exit(1);
            }
            eprintln!("Logged in using ChatGPT");
            return;
        }
        _ => {}
    }
    if cli != Cli::Claude {
        other_cli(cli, &argv, logged_out);
        return;
    }
    let has = |f: &str| argv.iter().any(|a| a == f);
    if !has("-p") && !has("--print") {
        eprintln!("fake-claude: only print mode (-p) is supported");
        std::process::exit(1);
    }
    if !argv
        .windows(2)
        .any(|w| w[0] == "--output-format" && w[1] == "stream-json")
        || !has("--verbose")
    {
        eprintln!("Error: When using --print, --output-format=stream-json requires --verbose");
        std::process::exit(1);
    }
    let Some(prompt) = argv
        .iter()
        .position(|a| a == "--")
        .and_then(|i| argv.get(i + 1))
        .cloned()
    else {
        eprintln!(
            "Error: Input must be provided either through stdin or as a prompt argument when using --print"
        );
        std::process::exit(1);
    };
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    record(&argv, &cwd);
    let resume_id = argv
        .iter()
        .position(|a| a == "--resume")
        .and_then(|i| argv.get(i + 1))
        .cloned();
    let session = match &resume_id {
        Some(id) => match Session::load(&cwd, id) {
            Some(mut s) => {
                s.turns.push(prompt.clone());
                s
            }
            None => {
                // What Claude Code 2.1.197 answers (recorded), for this id.
                print!("{}", CLAUDE_RESUME_UNKNOWN.replace(CLAUDE_RECORDED_ID, id));
                eprint!(
                    "{}",
                    CLAUDE_RESUME_UNKNOWN_ERR.replace(CLAUDE_RECORDED_ID, id)
                );
                std::process::exit(1);
            }
        },
        None => Session::new(&prompt),
    };
    session.save(&cwd);
    let fresh = resume_id.is_none();
    let turn_prompt = prompt.clone();
    // The keywords below read the whole conversation (a resumed session knows its task).
    let prompt = session.text();
    let schema = has("--json-schema");

    let mut delay = std::env::var("FAKE_CLAUDE_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or_default();
    if prompt.contains("[slow]") {
        delay = delay.max(Duration::from_millis(300));
    }
    if prompt.contains("[long]") {
        delay = delay.max(Duration::from_millis(2000));
    }
    let slug = slug(&prompt);
    let draft = format!("drafts/{slug}.md");

    // `[not-logged-in]`: the login expired although `auth status` still says otherwise.
    if logged_out || prompt.contains("[not-logged-in]") {
        replay(NOT_LOGGED_IN, &cwd, &draft, delay);
        std::process::exit(1);
    }
    // `[fail-once]`: fails until the prompt says why the previous attempt failed (a retry
    // that remembers), then works.
    let fail_once = prompt.contains("[fail-once]")
        && !prompt.contains("Your previous attempt at this task failed:");
    if prompt.contains("[fail]") || fail_once {
        replay(FAILURE, &cwd, &draft, delay);
        eprintln!("fake-claude: simulated failure for this task");
        std::process::exit(1);
    }
    if prompt.contains("[budget]") {
        emit(
            r#"{"type":"system","subtype":"init","session_id":"b","model":"claude-sonnet-4-5","uuid":"i"}"#,
            delay,
        );
        emit(
            r#"{"type":"result","subtype":"error_max_budget_usd","is_error":true,"num_turns":3,"session_id":"b","total_cost_usd":1.02,"usage":{"input_tokens":100,"output_tokens":10},"permission_denials":[],"errors":["Exceeded USD budget (1)"]}"#,
            delay,
        );
        std::process::exit(1);
    }
    if prompt.contains("[orphans]") {
        leave_orphans();
    }
    let hang_once = prompt.contains("[hang-once]") && {
        let dir = std::env::var_os("FAKE_CLAUDE_ONCE_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::PathBuf::from("."));
        let _ = std::fs::create_dir_all(&dir);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(format!("{slug}.once")))
            .is_ok()
    };
    if prompt.contains("[hang]") || hang_once {
        emit(
            r#"{"type":"system","subtype":"init","session_id":"h","model":"claude-sonnet-4-5","uuid":"i"}"#,
            delay,
        );
        let child = std::process::Command::new("sleep").arg("600").spawn();
        let grandchild = child.as_ref().map(|c| c.id()).unwrap_or(0);
        let _ = std::fs::write(
            "hang.pids",
            format!("{} {grandchild}\n", std::process::id()),
        );
        emit(
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t","name":"Bash","input":{"command":"sleep 600","description":"Wait for something that never comes"}}]}}"#,
            Duration::ZERO,
        );
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    if prompt.contains("[garbage]") {
        emit("Loading configuration…", delay);
        emit(
            r#"{"type":"system","subtype":"init","session_id":"g","model":"claude-sonnet-4-5","uuid":"i"}"#,
            delay,
        );
        emit("\u{1b}[31mthis is not json\u{1b}[0m", delay);
        emit(r#"{"type":"brand_new_event","payload":{}}"#, delay);
        emit(r#"{"type":"assistant","message":{"content":"#, delay);
        return;
    }
    if prompt.contains("[sandbox-probe]") {
        emit(
            r#"{"type":"system","subtype":"init","session_id":"p","model":"claude-sonnet-4-5","uuid":"i"}"#,
            delay,
        );
        let mine = probe(&cwd);
        let child = std::process::Command::new(&program)
            .arg("--probe-child")
            .output()
            .ok()
            .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
            .unwrap_or(serde_json::Value::Null);
        for (i, step) in mine.iter().enumerate() {
            let id = format!("toolu_probe_{i}");
            let ev = match step["what"].as_str() {
                Some("connect") => {
                    serde_json::json!({"type":"assistant","message":{"content":[{"type":"tool_use","id": id,"name": "Bash","input":{"command": format!("nc -z 127.0.0.1 {}", step["path"].as_str().unwrap_or("")), "description": "Reach a local port"}}]}})
                }
                Some("read") => {
                    serde_json::json!({"type":"assistant","message":{"content":[{"type":"tool_use","id": id,"name": "Read","input":{"file_path": step["path"]}}]}})
                }
                _ => {
                    serde_json::json!({"type":"assistant","message":{"content":[{"type":"tool_use","id": id,"name": "Write","input":{"file_path": step["path"], "content": "x"}}]}})
                }
            };
            emit(&ev.to_string(), delay);
            let content = step["error"].as_str().unwrap_or("ok").to_string();
            let ev = serde_json::json!({"type":"user","message":{"content":[{"type":"tool_result","tool_use_id": id,"is_error": step["ok"] == false,"content": content}]}});
            emit(&ev.to_string(), delay);
        }
        let report = serde_json::json!({"process": mine, "child": child});
        let _ = std::fs::write("probe.json", report.to_string());
        emit(
            r#"{"type":"result","subtype":"success","is_error":false,"num_turns":2,"session_id":"p","total_cost_usd":0.01,"usage":{"input_tokens":10,"output_tokens":5},"result":"Probed the sandbox.","permission_denials":[]}"#,
            delay,
        );
        return;
    }
    if ["[flood]", "[flood-long]", "[flood-line]"]
        .iter()
        .any(|k| prompt.contains(k))
    {
        flood(&prompt, &cwd);
        return;
    }
    if prompt.contains("[crash]") {
        emit(
            r#"{"type":"system","subtype":"init","session_id":"c","model":"claude-sonnet-4-5","uuid":"i"}"#,
            delay,
        );
        eprintln!("Error: something broke inside the agent\n    at main (cli.js:1:1)");
        std::process::exit(2);
    }

    if let Some(report) = decide(&prompt) {
        let summary = report["summary"].as_str().unwrap_or("").to_string();
        emit(
            &serde_json::json!({"type":"system","subtype":"init","session_id": session.id,"cwd": cwd,"model":"claude-sonnet-4-5","uuid":"i"}).to_string(),
            delay,
        );
        emit(
            &serde_json::json!({"type":"assistant","message":{"content":[{"type":"tool_use","id":"toolu_r","name":"Read","input":{"file_path": format!("{cwd}/reference/brand.md")}}]},"session_id": session.id}).to_string(),
            delay,
        );
        let text = if schema {
            summary.clone()
        } else {
            format!("{summary}\n\n```json\n{report}\n```")
        };
        emit(
            &claude_result(
                &session.id,
                &text,
                schema.then_some(&report),
                fresh,
                &turn_prompt,
                session.turns.len(),
            ),
            delay,
        );
        return;
    }
    let _ = std::fs::create_dir_all("drafts");
    let mut body = format!(
        "# Draft: {}\n\n{prompt}\n\n[NEEDS INPUT: a real customer quote]\n",
        prompt.lines().next().unwrap_or("")
    );
    if prompt.contains("[long-draft]") {
        // About 40,000 characters: more than a Todoist comment takes, less than GitHub's.
        for i in 1..=800 {
            body.push_str(&format!(
                "Paragraph {i:03} of a long draft, written to be read.\n"
            ));
        }
    }
    let _ = std::fs::write(&draft, body);
    if prompt.contains("[outside]") {
        let outside = std::path::Path::new(&cwd)
            .join("..")
            .join(format!("outside-{slug}.md"));
        let _ = std::fs::write(&outside, "written outside");
        let ev = serde_json::json!({"type":"assistant","message":{"content":[{"type":"tool_use","id":"toolu_out","name":"Write","input":{"file_path": outside, "content":"x"}}]}});
        emit(&ev.to_string(), delay);
        emit(
            r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"toolu_out","content":"ok"}]}}"#,
            delay,
        );
    }
    // The recorded stream with this session's id and this run's result.
    let lines: Vec<&str> = SUCCESS.lines().collect();
    let stream = lines[..lines.len() - 1].join("\n");
    replay_with(
        &stream.replace("{{SESSION}}", &session.id),
        &cwd,
        &draft,
        "",
        delay,
    );
    let summary = if fresh {
        format!("Wrote the draft to {draft}.\n\nHook: \"Your to-do list can hire.\"")
    } else {
        format!("Revised {draft} as asked.")
    };
    let report =
        serde_json::json!({"status": "done", "summary": summary, "questions": [], "reason": ""});
    emit(
        &claude_result(
            &session.id,
            &summary,
            schema.then_some(&report),
            fresh,
            &turn_prompt,
            session.turns.len(),
        ),
        delay,
    );
}
