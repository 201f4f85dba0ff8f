//! Refusals read back: the accesses the sandbox refused, found in what the agent printed
//! (a tool result, its error output), for the run's timeline and the fix it suggests.

use super::policy::Plan;
use std::path::PathBuf;

/// An access the sandbox refused, as found in the agent's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub path: PathBuf,
    /// Whether the refused access was a write (`None`: cannot tell).
    pub writing: Option<bool>,
}

impl Denial {
    /// "🛡 Blocked: writing ~/.bashrc".
    pub fn line(&self, plan: &Plan) -> String {
        format!(
            "🛡 Blocked: {} {}",
            match self.writing {
                Some(true) => "writing",
                Some(false) => "reading",
                None => "opening",
            },
            plan.show(&self.path)
        )
    }
}

/// What a tool call does to files, from its name, to word a refused access.
pub fn tool_writes(tool: &str) -> Option<bool> {
    match tool {
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" | "write_file" | "replace" => Some(true),
        "Read" | "Glob" | "Grep" | "LS" | "read_file" | "read_many_files" | "glob" => Some(false),
        _ => None,
    }
}

/// Refused file accesses in a piece of the agent's output (a stream line, its error output):
/// "EACCES: permission denied, open '/home/a/.bashrc'", "Permission denied: '/x'",
/// "/x: Permission denied", "[Errno 13] …". Only paths outside what the plan allows count (a
/// permission problem inside the workspace is not the sandbox's doing), and only paths on
/// the same line as the error, near it: a long tool result that mentions a permission error
/// once does not make every path in it a refusal. At most [`MAX_DENIALS_PER_TEXT`].
///
/// `writing` is what the tool call behind the text does, when known; otherwise a path the
/// plan lets the agent read can only have been refused for a write.
pub fn denials(text: &str, plan: &Plan, writing: Option<bool>) -> Vec<Denial> {
    let mut out: Vec<Denial> = Vec::new();
    for (start, end) in error_spans(text) {
        for path in absolute_paths(&text[start..end]) {
            let path = PathBuf::from(path);
            if plan.may_write(&path) {
                continue;
            }
            let d = Denial {
                writing: writing.or(plan.may_read(&path).then_some(true)),
                path,
            };
            if !out.contains(&d) {
                out.push(d);
                if out.len() >= MAX_DENIALS_PER_TEXT {
                    return out;
                }
            }
        }
    }
    out
}

/// Most refused accesses read from one piece of output.
pub const MAX_DENIALS_PER_TEXT: usize = 16;
/// How far from the error a path may be, on its line.
const NEAR_ERROR: usize = 512;
/// Words of a refused access, lower case.
const ERROR_WORDS: [&str; 3] = ["permission denied", "eacces", "operation not permitted"];

/// Where the permission errors are in `text`: for each (up to [`MAX_DENIALS_PER_TEXT`]),
/// its line (a line break, or the `\n` escape of a JSON string, ends it), at most
/// [`NEAR_ERROR`] bytes on either side, cut between words. Reads `text` in pieces, so a
/// line of megabytes is never copied whole.
fn error_spans(text: &str) -> Vec<(usize, usize)> {
    const PIECE: usize = 64 * 1024;
    const OVERLAP: usize = 32; // longer than any error word
    let mut marks: Vec<(usize, usize)> = Vec::new();
    let mut lower = String::new();
    let mut from = 0;
    // Two words per error at most ("EACCES: permission denied").
    while from < text.len() && marks.len() < 2 * MAX_DENIALS_PER_TEXT {
        let mut to = (from + PIECE + OVERLAP).min(text.len());
        while !text.is_char_boundary(to) {
            to += 1;
        }
        lower.clear();
        lower.push_str(&text[from..to]);
        lower.make_ascii_lowercase();
        for word in ERROR_WORDS {
            for (at, _) in lower.match_indices(word) {
                let at = from + at;
                if marks.len() < 2 * MAX_DENIALS_PER_TEXT && !marks.iter().any(|(m, _)| *m == at) {
                    marks.push((at, at + word.len()));
                }
            }
        }
        from = to.saturating_sub(OVERLAP).max(from + 1);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        if to == text.len() {
            break;
        }
    }
    marks.sort_unstable();
    let bytes = text.as_bytes();
    // The length of the line break at `i`: a newline, or the `\n` escape in a JSON string.
    let line_break = |i: usize| match bytes[i] {
        b'\n' => Some(1),
        b'\\' if bytes.get(i + 1) == Some(&b'n') => Some(2),
        _ => None,
    };
    let breaks = |i: usize| line_break(i).is_some();
    let cut = |i: usize| matches!(bytes[i], b' ' | b'\'' | b'"' | b'`' | b'\t');
    marks
        .into_iter()
        .map(|(at, end)| {
            let floor = at.saturating_sub(NEAR_ERROR);
            let mut start = (floor..at)
                .rev()
                .find_map(|i| line_break(i).map(|n| i + n))
                .unwrap_or(floor);
            if start == floor && floor > 0 {
                // Cut by distance: start at a word's edge, never inside a path.
                start = (floor..at).find(|i| cut(*i)).unwrap_or(at);
            }
            let ceil = (end + NEAR_ERROR).min(text.len());
            let mut stop = (end..ceil).find(|i| breaks(*i)).unwrap_or(ceil);
            if stop == ceil && ceil < text.len() {
                // A path that runs past the limit is read to its end (at most PATH_MAX).
                let far = (ceil + 4096).min(text.len());
                stop = (ceil..far).find(|i| cut(*i) || breaks(*i)).unwrap_or(far);
            }
            while !text.is_char_boundary(start) {
                start += 1;
            }
            while !text.is_char_boundary(stop) {
                stop -= 1;
            }
            (start, stop.max(start))
        })
        .collect()
}

/// Absolute paths near a permission error: quoted ('…', "…", `…`) or followed by ": ".
fn absolute_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // JSON lines escape quotes and slashes; read them as plain text.
    let text = text.replace("\\\"", "\"").replace("\\/", "/");
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/'
            && (i == 0
                || matches!(
                    bytes[i - 1],
                    b'\'' | b'"' | b'`' | b' ' | b'(' | b'\n' | b'\t'
                ))
        {
            let start = i;
            let mut end = i;
            // A path ends at a quote, a blank, a bracket, or ": " / ", " (error punctuation).
            let ends = |at: usize| -> bool {
                let c = bytes[at];
                let punct_then_space =
                    matches!(c, b':' | b',') && bytes.get(at + 1).is_some_and(|n| *n == b' ');
                punct_then_space
                    || matches!(c, b'\'' | b'"' | b'`' | b' ' | b')' | b'\n' | b'\t' | b'\\')
            };
            while end < bytes.len() && !ends(end) {
                end += 1;
            }
            let p = &text[start..end];
            let p = p.trim_end_matches(['.', ',', ':', ';']);
            if p.len() > 1 && !out.iter().any(|o: &String| o == p) {
                out.push(p.to_string());
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::SandboxMode;
    use crate::sandbox::policy::tests::plan_for;

    #[test]
    fn denials_are_found_in_what_agents_print() {
        let p = plan_for(SandboxMode::Strict);
        let node = r#"{"type":"user","message":{"content":[{"type":"tool_result","is_error":true,"content":"EACCES: permission denied, open '/home/a/.bashrc'"}]}}"#;
        assert_eq!(
            denials(node, &p, Some(true))
                .iter()
                .map(|d| d.line(&p))
                .collect::<Vec<_>>(),
            ["🛡 Blocked: writing ~/.bashrc"]
        );
        let bash = "bash: line 1: /etc/hosts: Permission denied";
        assert_eq!(
            denials(bash, &p, None)[0].line(&p),
            "🛡 Blocked: writing /etc/hosts"
        );
        let py = "PermissionError: [Errno 13] Permission denied: '/home/a/.ssh/id_ed25519'";
        assert_eq!(
            denials(py, &p, None)[0].line(&p),
            "🛡 Blocked: opening ~/.ssh/id_ed25519"
        );
        // Inside the workspace a permission error is not the sandbox's doing.
        assert!(denials("open '/home/a/ws/x': Permission denied", &p, None).is_empty());
        assert!(denials("wrote /home/a/.bashrc", &p, None).is_empty());
    }

    #[test]
    fn only_paths_near_the_error_count_and_a_huge_text_is_read_in_pieces() {
        let p = plan_for(SandboxMode::Strict);
        // A long tool result: paths everywhere, one permission error on its own line.
        let mut text = String::new();
        for i in 0..200_000 {
            text.push_str(&format!("see /home/a/notes/{i}.md for details\\n"));
        }
        text.push_str("mkdir: cannot create directory '/home/a/.cache/x': Permission denied\\n");
        text.push_str(&"tail of the file /home/a/other.md\\n".repeat(1000));
        let found: Vec<String> = denials(&text, &p, None)
            .iter()
            .map(|d| d.line(&p))
            .collect();
        assert_eq!(found, ["🛡 Blocked: opening ~/.cache/x"]);

        // Far from the error on a very long line: a path cut by distance is not misread.
        let long = format!(
            "/home/a/.far/{}{} EACCES: permission denied, open '/home/a/.near'{} /home/a/.after",
            "x/".repeat(2000),
            " y".repeat(10),
            " y".repeat(2000)
        );
        let found: Vec<String> = denials(&long, &p, Some(false))
            .iter()
            .map(|d| d.line(&p))
            .collect();
        assert_eq!(found, ["🛡 Blocked: reading ~/.near"]);

        // An error word across two pieces, and many errors in one text: bounded.
        let mut across = "z".repeat(64 * 1024 - 7);
        across.push_str("Permission denied: '/home/a/.split'");
        assert_eq!(
            denials(&across, &p, None)[0].line(&p),
            "🛡 Blocked: opening ~/.split"
        );
        let many: String = (0..1000)
            .map(|i| format!("EACCES: permission denied, open '/home/a/.f{i}'\n"))
            .collect();
        assert_eq!(denials(&many, &p, None).len(), MAX_DENIALS_PER_TEXT);
    }
}
