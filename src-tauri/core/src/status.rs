//! A live picture of every employee — idle, working on a task, paused, or stuck on a problem
//! — built from the worker events. The tray and the UI read it; they decide nothing.

use crate::history::RunStatus;
use crate::worker::{ProblemKind, WorkerEvent};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Activity {
    Idle,
    Working {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        run_id: i64,
        task_title: String,
        attempt: u32,
    },
    Paused,
    /// Nothing is dispatched until the problem goes away (or the next day, for a budget).
    Blocked {
        kind: BlockKind,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum BlockKind {
    Problem(ProblemKind),
    Budget,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EmployeeStatus {
    pub name: String,
    pub activity: Activity,
    /// Open tasks labelled `agent-done` at the last poll.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub awaiting_review: usize,
    /// Open tasks labelled `agent-needs-input` at the last poll: questions for the person.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub awaiting_answer: usize,
    #[cfg_attr(feature = "ts", ts(as = "Option<(f64, RunStatus)>"))]
    pub last_run: Option<(i64, RunStatus)>,
    /// Its agent runs without the OS sandbox (`sandbox = "off"`): marked wherever it shows.
    pub unsandboxed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Board {
    pub employees: BTreeMap<String, EmployeeStatus>,
    pub paused_all: bool,
    /// The newest run that produced a draft, for "Open latest draft".
    #[cfg_attr(feature = "ts", ts(as = "Option<f64>"))]
    pub latest_draft_run: Option<i64>,
}

impl Board {
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut b = Board::default();
        b.set_employees(names);
        b
    }

    /// Keeps the listed employees (adding new ones as idle) and drops the others.
    pub fn set_employees<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        let names: Vec<&str> = names.into_iter().collect();
        self.employees.retain(|k, _| names.contains(&k.as_str()));
        for n in names {
            self.entry(n);
        }
    }

    fn entry(&mut self, name: &str) -> &mut EmployeeStatus {
        self.employees
            .entry(name.to_string())
            .or_insert_with(|| EmployeeStatus {
                name: name.to_string(),
                activity: Activity::Idle,
                awaiting_review: 0,
                awaiting_answer: 0,
                last_run: None,
                unsandboxed: false,
            })
    }

    /// The board for `config`: its enabled employees, idle.
    pub fn of(config: &crate::config::Config) -> Self {
        let mut b = Board::default();
        b.align(config);
        b
    }

    /// After a config change: lists exactly the enabled employees of `config` (keeping what is
    /// known of those that stay), those without the OS sandbox marked.
    pub fn align(&mut self, config: &crate::config::Config) {
        let enabled = config.employees.iter().filter(|e| e.enabled);
        self.set_employees(enabled.clone().map(|e| e.name.as_str()));
        self.set_unsandboxed(
            enabled
                .filter(|e| e.sandbox == crate::config::SandboxMode::Off)
                .map(|e| e.name.as_str()),
        );
    }

    /// Marks the employees whose agents run without the OS sandbox.
    pub fn set_unsandboxed<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        let names: Vec<&str> = names.into_iter().collect();
        for (name, e) in self.employees.iter_mut() {
            e.unsandboxed = names.contains(&name.as_str());
        }
    }

    pub fn apply(&mut self, ev: &WorkerEvent) {
        match ev {
            WorkerEvent::Polled {
                employee,
                awaiting_review,
                awaiting_answer,
                ..
            } => {
                let e = self.entry(employee);
                e.awaiting_review = *awaiting_review;
                e.awaiting_answer = *awaiting_answer;
                // A poll that worked clears earlier problems.
                if matches!(e.activity, Activity::Blocked { .. }) {
                    e.activity = Activity::Idle;
                }
            }
            WorkerEvent::RunStarted {
                run_id,
                employee,
                task_title,
                attempt,
                answered,
                ..
            } => {
                let e = self.entry(employee);
                if *answered {
                    e.awaiting_answer = e.awaiting_answer.saturating_sub(1);
                }
                e.activity = Activity::Working {
                    run_id: *run_id,
                    task_title: task_title.clone(),
                    attempt: *attempt,
                };
            }
            WorkerEvent::Progress { .. } => {}
            WorkerEvent::RunFinished {
                run_id,
                employee,
                status,
                drafts,
                ..
            } => {
                let e = self.entry(employee);
                e.activity = Activity::Idle;
                e.last_run = Some((*run_id, *status));
                if *status == RunStatus::NeedsInput {
                    e.awaiting_answer += 1;
                }
                if *status == RunStatus::Succeeded {
                    e.awaiting_review += 1;
                    if !drafts.is_empty() {
                        self.latest_draft_run = Some(*run_id);
                    }
                }
            }
            WorkerEvent::BudgetReached {
                employee,
                spent_usd,
                limit_usd,
                scope,
                ..
            } => {
                self.entry(employee).activity = Activity::Blocked {
                    kind: BlockKind::Budget,
                    message: format!(
                        "{} daily budget reached (${spent_usd:.2} of ${limit_usd:.2})",
                        if scope == "global" {
                            "the shared"
                        } else {
                            "its"
                        }
                    ),
                };
            }
            WorkerEvent::Problem {
                employee,
                kind,
                message,
                ..
            } => {
                self.entry(employee).activity = Activity::Blocked {
                    kind: BlockKind::Problem(*kind),
                    message: message.clone(),
                };
            }
            WorkerEvent::Paused { employee, paused } => match employee {
                None => self.paused_all = *paused,
                Some(name) => {
                    let e = self.entry(name);
                    if *paused {
                        if !matches!(e.activity, Activity::Working { .. }) {
                            e.activity = Activity::Paused;
                        }
                    } else if e.activity == Activity::Paused {
                        e.activity = Activity::Idle;
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(name: &str, id: i64) -> WorkerEvent {
        WorkerEvent::RunStarted {
            run_id: id,
            employee: name.into(),
            task_id: "t".into(),
            task_title: "Write".into(),
            attempt: 1,
            max_attempts: 3,
            answered: false,
        }
    }

    #[test]
    fn events_move_employees_between_states() {
        let mut b = Board::new(["A", "B"]);
        b.apply(&started("A", 1));
        assert!(matches!(
            b.employees["A"].activity,
            Activity::Working { run_id: 1, .. }
        ));
        b.apply(&WorkerEvent::RunFinished {
            run_id: 1,
            employee: "A".into(),
            task_title: "Write".into(),
            status: RunStatus::Succeeded,
            summary: None,
            error: None,
            drafts: vec![crate::agent::Draft {
                path: "drafts/a.md".into(),
                inside_workspace: true,
            }],
            questions: Vec::new(),
            gave_up: false,
        });
        assert_eq!(b.employees["A"].activity, Activity::Idle);
        assert_eq!(b.employees["A"].awaiting_review, 1);
        assert_eq!(b.latest_draft_run, Some(1));

        b.apply(&WorkerEvent::Problem {
            employee: "B".into(),
            source: None,
            kind: ProblemKind::AgentMissing,
            message: "agent CLI not found".into(),
        });
        assert!(matches!(
            b.employees["B"].activity,
            Activity::Blocked {
                kind: BlockKind::Problem(ProblemKind::AgentMissing),
                ..
            }
        ));
        b.apply(&WorkerEvent::Polled {
            employee: "B".into(),
            open_tasks: 2,
            eligible: 0,
            awaiting_review: 2,
            awaiting_answer: 1,
        });
        assert_eq!(b.employees["B"].activity, Activity::Idle);
        assert_eq!(b.employees["B"].awaiting_review, 2);
        assert_eq!(b.employees["B"].awaiting_answer, 1);
        // The answer's run starts: the question no longer waits for the person.
        let mut answering = started("B", 9);
        if let WorkerEvent::RunStarted { answered, .. } = &mut answering {
            *answered = true;
        }
        b.apply(&answering);
        assert_eq!(b.employees["B"].awaiting_answer, 0);
        b.apply(&WorkerEvent::RunFinished {
            run_id: 9,
            employee: "B".into(),
            task_title: "Write".into(),
            status: RunStatus::Succeeded,
            summary: None,
            error: None,
            drafts: Vec::new(),
            questions: Vec::new(),
            gave_up: false,
        });

        b.apply(&WorkerEvent::Paused {
            employee: None,
            paused: true,
        });
        assert!(b.paused_all);
        b.apply(&WorkerEvent::Paused {
            employee: Some("B".into()),
            paused: true,
        });
        assert_eq!(b.employees["B"].activity, Activity::Paused);
        b.apply(&WorkerEvent::Paused {
            employee: Some("B".into()),
            paused: false,
        });
        assert_eq!(b.employees["B"].activity, Activity::Idle);

        b.set_employees(["B", "C"]);
        assert_eq!(b.employees.keys().collect::<Vec<_>>(), ["B", "C"]);
    }

    #[test]
    fn the_board_follows_the_enabled_employees_of_the_config() {
        use crate::config::SandboxMode;
        use crate::config::{Config, Employee, SourceKind};
        let employee = |name: &str| Employee::new(name, SourceKind::Local, "/w".into());
        let mut config = Config::default();
        config.employees.push(employee("Writer"));
        let mut off = employee("Loose");
        off.sandbox = SandboxMode::Off;
        config.employees.push(off);
        let mut disabled = employee("Resting");
        disabled.enabled = false;
        config.employees.push(disabled);
        let mut b = Board::of(&config);
        assert_eq!(b.employees.keys().collect::<Vec<_>>(), ["Loose", "Writer"]);
        assert!(b.employees["Loose"].unsandboxed && !b.employees["Writer"].unsandboxed);
        b.apply(&started("Writer", 4));
        config.employees.retain(|e| e.name != "Loose");
        b.align(&config);
        assert_eq!(b.employees.keys().collect::<Vec<_>>(), ["Writer"]);
        assert!(
            matches!(
                b.employees["Writer"].activity,
                Activity::Working { run_id: 4, .. }
            ),
            "what is known of an employee that stays is kept"
        );
    }
}
