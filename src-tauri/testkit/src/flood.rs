//! A large, realistic Claude Code `stream-json` run for memory benchmarks (`fake-claude`'s
//! `[flood]`): text deltas, assistant text, tool calls (Read, Grep, Bash, Write, Edit,
//! WebFetch) and their results (duplicated in `tool_use_result` as Claude Code does), long
//! lines (a file of a few MB read whole, and bursts of 32 of them in a row), over-long lines (above Delegate's line cap), refused
//! accesses outside the sandbox (many distinct paths, each repeated), debug and error output
//! on stderr, and a long final answer. Deterministic: the same size gives the same bytes.

use serde_json::json;
use std::io::{self, Write};

/// What to write.
pub struct Flood {
    /// Stop once stdout and stderr together reached this many bytes (then the result line).
    pub bytes: u64,
    pub cwd: String,
    pub home: String,
    pub session: String,
}

/// Bytes written to each stream.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    pub stdout: u64,
    pub stderr: u64,
    pub lines: u64,
}

/// A small deterministic generator (xorshift64*): no dependency, same stream every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi.saturating_sub(lo).max(1))
    }
}

const WORDS: &[&str] = &[
    "the",
    "agent",
    "reads",
    "draft",
    "post",
    "customer",
    "quote",
    "release",
    "notes",
    "weekly",
    "update",
    "section",
    "because",
    "review",
    "brand",
    "voice",
    "topic",
    "sandbox",
    "memory",
    "stream",
    "line",
    "result",
    "summary",
    "tool",
    "file",
    "workspace",
    "skill",
    "reference",
    "launch",
    "metric",
    "growth",
    "team",
    "product",
    "design",
    "feedback",
    "plan",
    "and",
    "with",
    "for",
    "from",
    "into",
    "about",
    "after",
    "before",
    "while",
    "every",
    "some",
    "more",
    "less",
    "fn",
    "let",
    "mut",
    "impl",
    "struct",
    "{",
    "}",
    "=>",
    "//",
    "#",
    "-",
    "1.",
    "2.",
];

/// Plain text to cut pieces from (ASCII, with line breaks, so any cut is a char boundary).
fn pool(rng: &mut Rng, len: usize) -> String {
    let mut s = String::with_capacity(len + 16);
    let mut col = 0;
    while s.len() < len {
        let w = WORDS[rng.below(WORDS.len())];
        s.push_str(w);
        col += w.len() + 1;
        if col > 60 + rng.below(40) {
            s.push('\n');
            col = 0;
        } else {
            s.push(' ');
        }
    }
    s
}

struct Out<'a, O: Write, E: Write> {
    out: &'a mut O,
    err: &'a mut E,
    written: Written,
    session: &'a str,
    uuid: u64,
}

impl<O: Write, E: Write> Out<'_, O, E> {
    fn line(&mut self, mut v: serde_json::Value) -> io::Result<()> {
        self.uuid += 1;
        v["session_id"] = json!(self.session);
        v["uuid"] = json!(format!("00000000-0000-4000-8000-{:012x}", self.uuid));
        let text = v.to_string();
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.written.stdout += text.len() as u64 + 1;
        self.written.lines += 1;
        Ok(())
    }
    /// A line serialised beforehand.
    fn raw(&mut self, line: &str) -> io::Result<()> {
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.written.stdout += line.len() as u64 + 1;
        self.written.lines += 1;
        Ok(())
    }
    fn err(&mut self, text: &str) -> io::Result<()> {
        self.err.write_all(text.as_bytes())?;
        self.err.write_all(b"\n")?;
        self.written.stderr += text.len() as u64 + 1;
        Ok(())
    }
    fn total(&self) -> u64 {
        self.written.stdout + self.written.stderr
    }
}

fn assistant(content: serde_json::Value, id: u64) -> serde_json::Value {
    json!({"type": "assistant", "message": {"id": format!("msg_{id:08}"), "type": "message",
        "role": "assistant", "model": "claude-sonnet-4-5", "content": [content],
        "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": 1200 + id % 977, "output_tokens": 40 + id % 301,
                  "cache_read_input_tokens": 18_000 + id * 3}},
        "parent_tool_use_id": null})
}

fn tool_result(id: &str, content: &str, is_error: bool, file: Option<&str>) -> serde_json::Value {
    let mut v = json!({"type": "user", "message": {"role": "user", "content": [
        {"tool_use_id": id, "type": "tool_result", "content": content, "is_error": is_error}]},
        "parent_tool_use_id": null});
    // Claude Code repeats what a tool returned, whole, beside the message.
    v["tool_use_result"] = match file {
        Some(path) => json!({"type": "text", "file": {"filePath": path, "content": content,
            "numLines": content.lines().count(), "startLine": 1,
            "totalLines": content.lines().count()}}),
        None => json!({"stdout": content, "stderr": "", "interrupted": false}),
    };
    v
}

/// Writes the run: `out` is the agent's stdout, `err` its stderr.
pub fn write(out: &mut impl Write, err: &mut impl Write, f: &Flood) -> io::Result<Written> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let text = pool(&mut rng, 512 * 1024);
    // A piece of the pool between `lo` and `hi` bytes long.
    let piece = |rng: &mut Rng, lo: usize, hi: usize| -> String {
        let len = rng.between(lo, hi).min(text.len());
        let start = rng.below(text.len() - len + 1);
        text[start..start + len].to_string()
    };
    let mut o = Out {
        out,
        err,
        written: Written::default(),
        session: &f.session,
        uuid: 0,
    };
    o.line(json!({"type": "system", "subtype": "init", "cwd": f.cwd,
        "model": "claude-sonnet-4-5", "permissionMode": "acceptEdits",
        "tools": ["Read", "Write", "Edit", "Glob", "Grep", "Bash", "WebFetch", "Skill"],
        "mcp_servers": [], "apiKeySource": "none", "claude_code_version": "2.1.197"}))?;
    let burst: Vec<String> = (0..32)
        .map(|k| {
            let len = rng.between(512 << 10, 3 << 19);
            let mut content = String::with_capacity(len);
            while content.len() < len {
                let want = (len - content.len()).min(text.len());
                content.push_str(&piece(&mut rng, want, want + 1));
            }
            let log = format!("{}/logs/{k}.log", f.cwd);
            let mut v = tool_result(&format!("toolu_burst_{k}"), &content, false, Some(&log));
            v["session_id"] = json!(f.session);
            v.to_string()
        })
        .collect();
    let mut turn: u64 = 0;
    while o.total() < f.bytes {
        turn += 1;
        // The answer as it is typed (`--include-partial-messages`): events Delegate skips.
        for _ in 0..rng.between(8, 24) {
            let delta = piece(&mut rng, 20, 90);
            o.line(
                json!({"type": "stream_event", "event": {"type": "content_block_delta",
                "index": 0, "delta": {"type": "text_delta", "text": delta}},
                "parent_tool_use_id": null}),
            )?;
        }
        let said = format!("Turn {turn}: {}", piece(&mut rng, 200, 1500).trim_start());
        o.line(assistant(json!({"type": "text", "text": said}), turn))?;

        let id = format!("toolu_{turn:010}");
        let note = format!("{}/notes/n{turn}.md", f.cwd);
        let draft = format!("{}/drafts/part-{}.md", f.cwd, turn % 50);
        let (call, file) = match turn % 6 {
            0 => (
                json!({"name": "Read", "input": {"file_path": note}}),
                Some(note.clone()),
            ),
            1 => (
                json!({"name": "Grep", "input": {"pattern": format!("word{turn}"), "path": f.cwd}}),
                None,
            ),
            2 => (
                json!({"name": "Bash", "input": {"command": format!("wc -l notes/n{turn}.md"),
                    "description": format!("Count the lines of note {turn}")}}),
                None,
            ),
            3 => (
                json!({"name": "Write", "input": {"file_path": draft,
                    "content": piece(&mut rng, 1024, 8192)}}),
                None,
            ),
            4 => (
                json!({"name": "Edit", "input": {"file_path": draft,
                    "old_string": piece(&mut rng, 200, 201), "new_string": piece(&mut rng, 300, 301)}}),
                None,
            ),
            _ => (
                json!({"name": "WebFetch", "input": {
                    "url": format!("https://example.com/blog/{turn}"),
                    "prompt": "Summarise the post"}}),
                None,
            ),
        };
        let mut call = call;
        call["type"] = json!("tool_use");
        call["id"] = json!(id);
        o.line(assistant(call, turn))?;

        // Refused accesses outside the sandbox: up to 120 distinct paths, most seen twice.
        if turn % 50 == 25 {
            // `find / -name '*.conf' 2>&1`: what it found, and the folders it may not enter.
            let mut found = String::new();
            let len = rng.between(128 << 10, 512 << 10);
            let mut n = 0;
            while found.len() < len {
                n += 1;
                if rng.below(3) == 0 {
                    found.push_str(&format!(
                        "find: '/proc/{}/task/{n}/fd': Permission denied\n",
                        turn * 7 + n % 50
                    ));
                } else {
                    found.push_str(&format!(
                        "/usr/share/doc/package-{}/examples/{n}/sample.conf\n",
                        turn % 97
                    ));
                }
            }
            o.line(tool_result(&id, &found, false, None))?;
        } else if turn % 25 == 7 {
            let refused = format!(
                "EACCES: permission denied, open '{}/.config/tool-{}/settings.json'",
                f.home,
                (turn / 25) % 120
            );
            o.line(tool_result(&id, &refused, true, None))?;
        } else {
            let len = if turn % 64 == 32 {
                // A large file read whole (the line is twice as long: the content is repeated).
                rng.between(512 << 10, 3 << 19)
            } else if turn % 1500 == 750 {
                // Longer than Delegate keeps of one line.
                3 << 20
            } else {
                rng.between(1024, 24 * 1024)
            };
            let mut content = String::with_capacity(len);
            while content.len() < len {
                let want = (len - content.len()).min(text.len());
                content.push_str(&piece(&mut rng, want, want + 1));
            }
            o.line(tool_result(&id, &content, false, file.as_deref()))?;
        }

        if turn % 1000 == 525 {
            // Many large files read at once (a log folder): a burst of long lines, written
            // as fast as the pipe takes them (the agent has them in memory already), right
            // after a `find /`.
            for (k, result) in burst.iter().enumerate() {
                o.line(assistant(
                    json!({"type": "tool_use", "id": format!("toolu_burst_{k}"), "name": "Read",
                        "input": {"file_path": format!("{}/logs/{k}.log", f.cwd)}}),
                    turn,
                ))?;
                o.raw(result)?;
            }
        }

        o.err(&format!(
            "[DEBUG] turn {turn}: tool {} finished in {} ms",
            ["Read", "Grep", "Bash", "Write", "Edit", "WebFetch"][(turn % 6) as usize],
            rng.between(2, 900)
        ))?;
        if turn % 25 == 13 {
            o.err(&format!(
                "Error: EACCES: permission denied, mkdir '{}/.cache/claude-cli-nodejs/ws-{}'",
                f.home,
                (turn / 25) % 120
            ))?;
        }
        if turn % 200 == 100 {
            // A stack dump: one long stderr burst.
            let mut dump = String::from("Warning: unhandled rejection\n");
            while dump.len() < 64 * 1024 {
                dump.push_str(&format!(
                    "    at step{} (file:///usr/lib/node_modules/@anthropic-ai/claude-code/cli.js:{}:{})\n",
                    rng.below(1000),
                    rng.below(90_000),
                    rng.below(200)
                ));
            }
            o.err(dump.trim_end())?;
        }
    }
    let answer = piece(&mut rng, 48 * 1024, 48 * 1024 + 1);
    o.line(
        json!({"type": "result", "subtype": "success", "is_error": false,
        "duration_ms": 600_000, "num_turns": turn, "total_cost_usd": 4.2,
        "result": format!("Done after {turn} turns.\n\n{answer}"),
        "usage": {"input_tokens": 120_000, "output_tokens": 40_000},
        "permission_denials": [
            {"tool_name": "Bash", "tool_input": {"command": "rm -rf build"}},
            {"tool_name": "WebFetch", "tool_input": {"url": "https://example.org/"}}
        ]}),
    )?;
    o.out.flush()?;
    o.err.flush()?;
    Ok(o.written)
}

/// The worst case: nothing but long lines (1 to 3 MB, written as fast as the pipe takes
/// them): large file reads, and every fourth a `find /` result of 256 KB with thousands of
/// refused folders and found paths (slow to read for refusals), up to `f.bytes`; then the
/// result.
pub fn write_long(out: &mut impl Write, f: &Flood) -> io::Result<Written> {
    let mut rng = Rng(0x517c_c1b7_2722_0a95);
    let text = pool(&mut rng, 512 * 1024);
    let mut sink = io::sink();
    let mut o = Out {
        out,
        err: &mut sink,
        written: Written::default(),
        session: &f.session,
        uuid: 0,
    };
    o.line(json!({"type": "system", "subtype": "init", "cwd": f.cwd,
        "model": "claude-sonnet-4-5", "tools": ["Read", "Bash"]}))?;
    let reads: Vec<String> = (0..32)
        .map(|k| {
            let len = 512 * 1024 + (k * 32 * 1024);
            let mut content = String::with_capacity(len);
            while content.len() < len {
                let want = (len - content.len()).min(text.len());
                let start = rng.below(text.len() - want + 1);
                content.push_str(&text[start..start + want]);
            }
            let log = format!("/var/log/app-{k}/{k}.log");
            let mut v = tool_result(&format!("toolu_read_{k}"), &content, false, Some(&log));
            v["session_id"] = json!(f.session);
            v.to_string()
        })
        .collect();
    let finds: Vec<String> = (0..8)
        .map(|k| {
            let mut found = String::new();
            let mut n = 0;
            while found.len() < 256 << 10 {
                n += 1;
                if n % 3 == 0 {
                    found.push_str(&format!("find: '/proc/{k}{n}/fd': Permission denied\n"));
                } else {
                    found.push_str(&format!("/var/log/app-{k}/{n}.log\n"));
                }
            }
            let mut v = tool_result(&format!("toolu_find_{k}"), &found, false, None);
            v["session_id"] = json!(f.session);
            v.to_string()
        })
        .collect();
    let mut turn = 0;
    while o.total() < f.bytes {
        turn += 1;
        if turn % 4 == 0 {
            let k = (turn / 4) % finds.len();
            o.line(assistant(
                json!({"type": "tool_use", "id": format!("toolu_find_{k}"), "name": "Bash",
                    "input": {"command": "find / -name '*.log' 2>&1", "description": "Find the logs"}}),
                turn as u64,
            ))?;
            o.raw(&finds[k])?;
        } else {
            let k = turn % reads.len();
            o.line(assistant(
                json!({"type": "tool_use", "id": format!("toolu_read_{k}"), "name": "Read",
                    "input": {"file_path": format!("/var/log/app-{k}/{k}.log")}}),
                turn as u64,
            ))?;
            o.raw(&reads[k])?;
        }
    }
    o.line(
        json!({"type": "result", "subtype": "success", "is_error": false,
        "num_turns": turn, "total_cost_usd": 1.5, "result": "Read the logs.",
        "usage": {"input_tokens": 1000, "output_tokens": 100}, "permission_denials": []}),
    )?;
    o.out.flush()?;
    Ok(o.written)
}

/// One line of `bytes` bytes and no newline (a runaway agent), then the end of the stream.
pub fn one_line(out: &mut impl Write, bytes: u64) -> io::Result<()> {
    let chunk = [b'x'; 64 * 1024];
    let mut left = bytes;
    out.write_all(
        b"{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"",
    )?;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        out.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flood_is_the_size_asked_and_every_line_is_json() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let f = Flood {
            bytes: 4 << 20,
            cwd: "/w".into(),
            home: "/home/a".into(),
            session: "s".into(),
        };
        let w = write(&mut out, &mut err, &f).expect("in memory");
        assert!(w.stdout + w.stderr >= 4 << 20);
        assert_eq!(w.stdout, out.len() as u64);
        let text = String::from_utf8(out).expect("utf-8");
        for line in text.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("json");
        }
        assert!(text.contains("EACCES: permission denied"));
        assert!(text.ends_with("}\n") && text.contains("\"type\":\"result\""));
        assert!(String::from_utf8_lossy(&err).contains("[DEBUG] turn 1:"));
    }
}
