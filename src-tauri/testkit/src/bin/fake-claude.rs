//! A stand-in for `claude -p … --output-format stream-json --verbose` that replays recorded
//! streams. What it does is chosen by a keyword in the prompt:
//! (none) success, writing `drafts/<slug>.md` · `[fail]` error result, exit 1 ·
//! `[budget]` spending cap hit · `[hang]` starts a grandchild and never ends ·
//! `[garbage]` non-JSON output and no result · `[crash]` exit 2 mid-stream ·
//! `[outside]` also writes a file outside the workspace · `[slow]` pauses between lines ·
//! `[hang-once]` hangs like `[hang]` the first time (a file `<slug>.once` in
//! `FAKE_CLAUDE_ONCE_DIR`, default the workspace, remembers it), then succeeds.
//! `FAKE_CLAUDE_RECORD=DIR` saves its argv, environment and cwd to `DIR/<pid>.json`;
//! `FAKE_CLAUDE_DELAY_MS` sets the pause between lines.

use std::io::Write;
use std::time::Duration;

const SUCCESS: &str = include_str!("../../../core/tests/fixtures/success.jsonl");
const FAILURE: &str = include_str!("../../../core/tests/fixtures/error_result.jsonl");

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
    let session = format!("fake-{}", std::process::id());
    for line in recording.lines() {
        let line = line
            .replace("{{CWD}}", &json_escape(cwd))
            .replace("{{DRAFT}}", &json_escape(draft))
            .replace("{{SESSION}}", &session);
        emit(&line, delay);
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
    let path = std::path::Path::new(&dir).join(format!("{}.json", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(path, doc.to_string());
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.iter().any(|a| a == "--version") {
        println!("2.1.197 (Claude Code)");
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

    let mut delay = std::env::var("FAKE_CLAUDE_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or_default();
    if prompt.contains("[slow]") {
        delay = delay.max(Duration::from_millis(300));
    }
    let slug = slug(&prompt);
    let draft = format!("drafts/{slug}.md");

    if prompt.contains("[fail]") {
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
    if prompt.contains("[crash]") {
        emit(
            r#"{"type":"system","subtype":"init","session_id":"c","model":"claude-sonnet-4-5","uuid":"i"}"#,
            delay,
        );
        eprintln!("Error: something broke inside the agent\n    at main (cli.js:1:1)");
        std::process::exit(2);
    }

    let _ = std::fs::create_dir_all("drafts");
    let body = format!(
        "# Draft: {}\n\n{prompt}\n\n[NEEDS INPUT: a real customer quote]\n",
        prompt.lines().next().unwrap_or("")
    );
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
    replay(SUCCESS, &cwd, &draft, delay);
}
