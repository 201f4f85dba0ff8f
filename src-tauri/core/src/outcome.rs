//! What one cycle of the employees came to (`delegate run` without `--watch`): a sentence per
//! employee and one verdict for the whole. A front end shows the sentences and turns the
//! verdict into its own signal (the CLI: its exit status).

use crate::engine::EngineError;
use crate::history::RunStatus;
use crate::worker::CycleReport;

/// The cycle as a whole; a later variant is worse and wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Every employee worked, or had nothing to do.
    Worked,
    /// A run failed: the task's own failure.
    RunFailed,
    /// An employee could not work: a problem of this machine, the config or Todoist.
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// One sentence per employee, in the order they were given.
    pub lines: Vec<String>,
    pub verdict: Verdict,
}

/// Sums up [`crate::Engine::run_once`]'s results.
pub fn of_cycle(results: &[(String, Result<CycleReport, EngineError>)]) -> Outcome {
    let mut lines = Vec::new();
    let mut verdict = Verdict::Worked;
    for (name, result) in results {
        let (line, v) = employee(name, result);
        lines.push(line);
        verdict = verdict.max(v);
    }
    Outcome { lines, verdict }
}

fn employee(name: &str, result: &Result<CycleReport, EngineError>) -> (String, Verdict) {
    let r = match result {
        Ok(r) => r,
        Err(e) => return (format!("{name}: error: {e}"), Verdict::Blocked),
    };
    let runs: Vec<String> = r.runs.iter().map(|(id, s)| format!("#{id} {s}")).collect();
    if let Some(reason) = &r.blocked {
        let runs = if runs.is_empty() {
            String::new()
        } else {
            format!(" ({})", runs.join(", "))
        };
        return (
            format!("{name}: needs attention: {reason}{runs}"),
            Verdict::Blocked,
        );
    }
    if runs.is_empty() {
        let line = if r.budget_reached {
            format!("{name}: daily budget reached; nothing dispatched")
        } else if !r.waiting.is_empty() {
            format!("{name}: nothing to do now; {}", r.waiting.join("; "))
        } else {
            format!("{name}: nothing to do")
        };
        return (line, Verdict::Worked);
    }
    let failed = r.runs.iter().any(|(_, s)| failed(*s));
    (
        format!("{name}: {} run(s): {}", r.runs.len(), runs.join(", ")),
        if failed {
            Verdict::RunFailed
        } else {
            Verdict::Worked
        },
    )
}

/// A run that ended without doing its task. A cancelled run was stopped on purpose, one
/// that lost its claim left the task to the machine that won it, one that asks waits for
/// the person, and one with nothing to do did its task.
fn failed(status: RunStatus) -> bool {
    !matches!(
        status,
        RunStatus::Succeeded
            | RunStatus::Cancelled
            | RunStatus::LostClaim
            | RunStatus::NeedsInput
            | RunStatus::NothingToDo
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(runs: &[(i64, RunStatus)]) -> CycleReport {
        CycleReport {
            runs: runs.to_vec(),
            ..CycleReport::default()
        }
    }

    #[test]
    fn each_employee_gets_a_sentence_and_the_worst_verdict_wins() {
        let waiting = CycleReport {
            waiting: vec!["“Post” retries after 10:42".into()],
            ..CycleReport::default()
        };
        let budget = CycleReport {
            budget_reached: true,
            ..CycleReport::default()
        };
        let results = vec![
            ("A".to_string(), Ok(CycleReport::default())),
            ("B".to_string(), Ok(waiting)),
            ("C".to_string(), Ok(budget)),
            ("D".to_string(), Ok(report(&[(7, RunStatus::Succeeded)]))),
        ];
        let o = of_cycle(&results);
        assert_eq!(
            o.lines,
            [
                "A: nothing to do",
                "B: nothing to do now; “Post” retries after 10:42",
                "C: daily budget reached; nothing dispatched",
                "D: 1 run(s): #7 succeeded",
            ]
        );
        assert_eq!(o.verdict, Verdict::Worked);
    }

    #[test]
    fn a_failed_run_fails_the_cycle_but_a_cancelled_or_lost_one_does_not() {
        let fine = [
            (1, RunStatus::Cancelled),
            (2, RunStatus::LostClaim),
            (3, RunStatus::NeedsInput),
            (4, RunStatus::NothingToDo),
        ];
        let o = of_cycle(&[("A".to_string(), Ok(report(&fine)))]);
        assert_eq!(o.verdict, Verdict::Worked);
        let o = of_cycle(&[(
            "A".to_string(),
            Ok(report(&[
                (1, RunStatus::Succeeded),
                (2, RunStatus::TimedOut),
            ])),
        )]);
        assert_eq!(o.verdict, Verdict::RunFailed);
        assert_eq!(
            o.lines,
            [format!(
                "A: 2 run(s): #1 succeeded, #2 {}",
                RunStatus::TimedOut
            )]
        );
    }

    #[test]
    fn an_employee_that_could_not_work_blocks_the_cycle() {
        let blocked = CycleReport {
            blocked: Some("the agent CLI is not logged in".into()),
            runs: vec![(3, RunStatus::Blocked)],
            ..CycleReport::default()
        };
        let results = vec![
            ("A".to_string(), Ok(report(&[(1, RunStatus::Failed)]))),
            ("B".to_string(), Ok(blocked)),
            (
                "C".to_string(),
                Err(EngineError::NoSourceToken(
                    crate::config::SourceKind::Todoist,
                )),
            ),
        ];
        let o = of_cycle(&results);
        assert_eq!(
            o.lines[1],
            format!(
                "B: needs attention: the agent CLI is not logged in (#3 {})",
                RunStatus::Blocked
            )
        );
        assert_eq!(
            o.lines[2],
            format!(
                "C: error: {}",
                EngineError::NoSourceToken(crate::config::SourceKind::Todoist)
            )
        );
        assert_eq!(o.verdict, Verdict::Blocked);
    }
}
