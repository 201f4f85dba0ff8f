//! Any program as an employee (a local model's CLI, a script): the prompt replaces `{prompt}`
//! in `args`, or goes on stdin when no argument names it; what the program prints on stdout
//! is the summary, and its exit code says whether it worked.

use super::{
    Agent, AgentEvent, AgentResult, Exit, Launch, Login, MachineProblem, Parsed, RunFacts,
    StreamParser, first_line, truncate,
};
use crate::config::{AgentKind, Employee};
use std::path::Path;

/// The placeholder in `args` that becomes the prompt.
pub const PROMPT: &str = "{prompt}";
/// The most stdout kept as the summary.
const SUMMARY_CHARS: usize = 20_000;

/// Any command.
pub struct CommandAgent;

impl Agent for CommandAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Command
    }
    fn name(&self) -> &'static str {
        "Command"
    }
    fn default_command(&self) -> &'static str {
        ""
    }
    fn install_hint(&self) -> &'static str {
        "set `command` to the program's name on PATH or its full path"
    }
    fn login_hint(&self) -> &'static str {
        "a plain command has no login; make sure it works when run by hand"
    }

    fn launch(&self, e: &Employee, prompt: &str) -> Launch {
        let named = e.args.iter().any(|a| a.contains(PROMPT));
        Launch {
            args: e.args.iter().map(|a| a.replace(PROMPT, prompt)).collect(),
            stdin: (!named).then(|| prompt.to_string()),
            ..Launch::default()
        }
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(CommandParser::default())
    }

    fn machine_problem(&self, _f: &RunFacts<'_>) -> Option<MachineProblem> {
        None
    }

    fn login(&self, _program: &Path, _e: &Employee) -> Login {
        Login::Unknown {
            note: "a plain command has no login to check".into(),
        }
    }

    fn scope(&self, e: &Employee) -> String {
        format!(
            "runs `{}` in its workspace; Delegate cannot limit what a plain command does beyond that",
            std::iter::once(super::command_of(e).to_string())
                .chain(e.args.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ")
        )
    }

    fn uses_tools(&self) -> bool {
        false
    }

    fn uses_args(&self) -> bool {
        true
    }

    fn check(&self, e: &Employee) -> Result<(), (&'static str, String)> {
        if e.command.as_deref().is_none_or(|c| c.trim().is_empty()) {
            return Err((
                "command",
                "is required for agent = \"command\": the program to run".into(),
            ));
        }
        Ok(())
    }
}

/// Keeps stdout as text; the exit code decides.
#[derive(Default)]
struct CommandParser {
    out: String,
    started: bool,
}

impl StreamParser for CommandParser {
    fn line(&mut self, line: &str) -> Parsed {
        let mut ev = Vec::new();
        if !self.started {
            self.started = true;
            ev.push(AgentEvent::Started {
                session_id: None,
                model: None,
            });
        }
        // What is kept is cut to SUMMARY_CHARS characters at the end (4 bytes each at most).
        let room = (SUMMARY_CHARS * 4).saturating_sub(self.out.len());
        if room > 0 {
            let mut end = line.len().min(room);
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            self.out.push_str(&line[..end]);
            self.out.push('\n');
        }
        Parsed::Events(ev)
    }

    fn finish(&mut self, exit: Exit) -> Vec<AgentEvent> {
        let text = self.out.trim().to_string();
        let ok = exit == Exit::Code(0);
        let mut ev = Vec::new();
        if ok && !text.is_empty() {
            ev.push(AgentEvent::Text(first_line(&text, 200)));
        }
        ev.push(AgentEvent::Result(AgentResult {
            is_error: !ok,
            subtype: if ok {
                "success"
            } else {
                "error_during_execution"
            }
            .into(),
            summary: (!text.is_empty()).then(|| truncate(&text, SUMMARY_CHARS)),
            errors: if ok {
                Vec::new()
            } else {
                vec![match exit {
                    Exit::Code(c) => format!("the command exited with code {c}"),
                    _ => "the command did not finish".into(),
                }]
            },
            ..AgentResult::default()
        }));
        ev
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;
    use std::path::PathBuf;

    #[test]
    fn the_prompt_is_an_argument_or_stdin() {
        let mut e = Employee::new("L", SourceKind::Local, PathBuf::from("/w"));
        e.agent = AgentKind::Command;
        e.command = Some("llm".into());
        e.args = vec!["-m".into(), "local".into(), "{prompt}".into()];
        let l = CommandAgent.launch(&e, "Write it");
        assert_eq!(l.args, ["-m", "local", "Write it"]);
        assert_eq!(l.stdin, None);
        e.args = vec!["--quiet".into()];
        assert_eq!(
            CommandAgent.launch(&e, "Write it").stdin.as_deref(),
            Some("Write it")
        );
    }

    #[test]
    fn stdout_is_the_summary_and_the_exit_code_decides() {
        let mut p = CommandParser::default();
        p.line("Here is the draft.");
        p.line("Second line.");
        let ev = p.finish(Exit::Code(0));
        let AgentEvent::Result(r) = ev.last().unwrap() else {
            panic!()
        };
        assert!(!r.is_error);
        assert_eq!(
            r.summary.as_deref(),
            Some("Here is the draft.\nSecond line.")
        );
        let mut p = CommandParser::default();
        let ev = p.finish(Exit::Code(3));
        let AgentEvent::Result(r) = ev.last().unwrap() else {
            panic!()
        };
        assert!(r.is_error && r.errors[0].contains("code 3"));
    }
}
