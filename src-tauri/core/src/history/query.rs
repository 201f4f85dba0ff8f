//! Reading runs back: filtered pages for listings (keyset pagination on the id, so page N
//! costs the same as page 1) and one run in full.

use super::{History, HistoryError, ProgressLine, Review, RunDetail, RunStatus, RunSummary};
use crate::agent::Draft;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

/// Which runs to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub employee: Option<String>,
    pub status: Option<RunStatus>,
    /// Matches task title or description, case-insensitively.
    pub text: Option<String>,
    /// Only runs with an id below this (the last id of the previous page).
    pub before_id: Option<i64>,
    pub limit: usize,
}

const SUMMARY_COLUMNS: &str = "id, employee, source, task_id, task_title, attempt, max_attempts,
    status, started_at, ended_at, cost_usd, summary, error, review";

fn time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|d| d.with_timezone(&Utc))
}

fn summary(r: &Row<'_>) -> rusqlite::Result<RunSummary> {
    let status: String = r.get(7)?;
    Ok(RunSummary {
        id: r.get(0)?,
        employee: r.get(1)?,
        source: r.get(2)?,
        task_id: r.get(3)?,
        task_title: r.get(4)?,
        attempt: r.get(5)?,
        max_attempts: r.get(6)?,
        status: status.parse().map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                7,
                rusqlite::types::Type::Text,
                Box::new(HistoryError::UnknownStatus {
                    id: r.get(0).unwrap_or_default(),
                    status: status.clone(),
                }),
            )
        })?,
        started_at: time(r.get(8)?).unwrap_or_default(),
        ended_at: time(r.get(9)?),
        cost_usd: r.get(10)?,
        summary: r.get(11)?,
        error: r.get(12)?,
        review: r
            .get::<_, Option<String>>(13)?
            .and_then(|v| match v.as_str() {
                "approved" => Some(Review::Approved),
                "changes_requested" => Some(Review::ChangesRequested),
                _ => None,
            }),
    })
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl History {
    pub fn list(&self, f: &RunFilter) -> Result<Vec<RunSummary>, HistoryError> {
        let limit = if f.limit == 0 { 50 } else { f.limit.min(1000) };
        // Only the conditions in use go into the SQL, so SQLite can use the rowid range and
        // the (employee, started_at) / (status, started_at) indexes.
        let mut conditions: Vec<&str> = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(e) = &f.employee {
            conditions.push("employee = ? COLLATE NOCASE");
            values.push(e.clone().into());
        }
        if let Some(s) = f.status {
            conditions.push("status = ?");
            values.push(s.as_str().to_string().into());
        }
        if let Some(t) = f.text.as_deref().filter(|t| !t.trim().is_empty()) {
            conditions
                .push("(task_title LIKE ? ESCAPE '\\' OR task_description LIKE ? ESCAPE '\\')");
            let pattern = format!("%{}%", escape_like(t.trim()));
            values.push(pattern.clone().into());
            values.push(pattern.into());
        }
        if let Some(b) = f.before_id {
            conditions.push("id < ?");
            values.push(b.into());
        }
        values.push((limit as i64).into());
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        self.with(|c| {
            let sql =
                format!("SELECT {SUMMARY_COLUMNS} FROM runs {filter} ORDER BY id DESC LIMIT ?");
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(values), summary)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// The latest run of a task by an employee.
    pub fn last_run_for_task(
        &self,
        employee: &str,
        task_id: &str,
    ) -> Result<Option<RunSummary>, HistoryError> {
        self.with(|c| {
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS} FROM runs WHERE employee = ?1 AND task_id = ?2
                 ORDER BY id DESC LIMIT 1"
            );
            Ok(c.query_row(&sql, params![employee, task_id], summary)
                .optional()?)
        })
    }

    /// The agent session of `employee`'s run of `task_id` that worked under `claim_id` on
    /// this machine (a claim id read from a comment is only trusted for its own task), and the
    /// argv it ran (its program tells whether the same agent would resume it).
    pub fn session_of_claim(
        &self,
        claim_id: &str,
        employee: &str,
        task_id: &str,
    ) -> Result<Option<(String, Vec<String>)>, HistoryError> {
        self.with(|c| {
            let row: Option<(String, String)> = c
                .query_row(
                    "SELECT session_id, command FROM runs WHERE claim_id = ?1 AND employee = ?2
                       AND task_id = ?3 AND session_id IS NOT NULL AND session_id != ''
                     ORDER BY id DESC LIMIT 1",
                    params![claim_id, employee, task_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(row.map(|(s, cmd)| (s, serde_json::from_str(&cmd).unwrap_or_default())))
        })
    }

    /// The ids of the runs of one employee's task, oldest first (at most the last `limit`):
    /// the task's conversation as this machine saw it.
    pub fn task_run_ids(
        &self,
        employee: &str,
        task_id: &str,
        limit: usize,
    ) -> Result<Vec<i64>, HistoryError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id FROM runs WHERE employee = ?1 AND task_id = ?2 ORDER BY id DESC LIMIT ?3",
            )?;
            let mut ids: Vec<i64> = stmt
                .query_map(params![employee, task_id, limit as i64], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids.reverse();
            Ok(ids)
        })
    }

    pub fn get(&self, id: i64) -> Result<RunDetail, HistoryError> {
        self.with(|c| {
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS}, task_description, task_url, machine, command, exit_code,
                   stderr_tail, tokens_in, tokens_out, turns, session_id, permission_denials,
                   sandbox, input, questions, resumed_session
                 FROM runs WHERE id = ?1"
            );
            let detail = c
                .query_row(&sql, params![id], |r| {
                    let command: String = r.get(17)?;
                    let denials: String = r.get(24)?;
                    Ok(RunDetail {
                        run: summary(r)?,
                        task_description: r.get(14)?,
                        task_url: r.get(15)?,
                        machine: r.get(16)?,
                        command: serde_json::from_str(&command).unwrap_or_default(),
                        exit_code: r.get(18)?,
                        stderr_tail: r.get(19)?,
                        tokens_in: r.get::<_, Option<i64>>(20)?.map(|v| v as u64),
                        tokens_out: r.get::<_, Option<i64>>(21)?.map(|v| v as u64),
                        turns: r.get(22)?,
                        session_id: r.get(23)?,
                        permission_denials: serde_json::from_str(&denials).unwrap_or_default(),
                        sandbox: r.get(25)?,
                        progress: Vec::new(),
                        drafts: Vec::new(),
                        input: r.get(26)?,
                        questions: r
                            .get::<_, Option<String>>(27)?
                            .and_then(|q| serde_json::from_str(&q).ok())
                            .unwrap_or_default(),
                        resumed_session: r.get(28)?,
                    })
                })
                .optional()?;
            let mut detail = detail.ok_or(HistoryError::NoSuchRun(id))?;
            let mut stmt =
                c.prepare_cached("SELECT at, line FROM progress WHERE run_id = ?1 ORDER BY seq")?;
            detail.progress = stmt
                .query_map(params![id], |r| {
                    Ok(ProgressLine {
                        at: time(r.get(0)?).unwrap_or_default(),
                        line: r.get(1)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            let mut stmt = c.prepare_cached(
                "SELECT path, inside_workspace FROM drafts WHERE run_id = ?1 ORDER BY rowid",
            )?;
            detail.drafts = stmt
                .query_map(params![id], |r| {
                    Ok(Draft {
                        path: r.get(0)?,
                        inside_workspace: r.get(1)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(detail)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{NewRun, RunEnd};
    use crate::source::Task;

    fn task(id: &str, title: &str) -> Task {
        Task {
            id: id.into(),
            title: title.into(),
            description: "desc 100%".into(),
            labels: vec![],
            priority: 1,
            due: None,
            recurring: false,
            order: 0,
            updated_at: None,
            url: None,
        }
    }

    #[test]
    fn runs_round_trip_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.db")).unwrap();
        let t = task("t1", "Write a post");
        let new = |e: &'static str| NewRun {
            employee: e,
            source: "local",
            task: &t,
            attempt: 1,
            max_attempts: 3,
            machine: "m",
            command: &[],
            claim_id: "c",
            input: None,
        };
        let a = h.start_run(&new("Writer")).unwrap();
        let b = h.start_run(&new("Reviewer")).unwrap();
        h.add_progress(a, "📖 Reading").unwrap();
        h.add_progress(a, "✅ Done").unwrap();
        let mut end = RunEnd::status(RunStatus::Succeeded);
        end.cost_usd = Some(0.25);
        end.summary = Some("Wrote it".into());
        let drafts = [Draft {
            path: "drafts/a.md".into(),
            inside_workspace: true,
        }];
        h.finish_run(a, &end, &drafts, None).unwrap();

        let d = h.get(a).unwrap();
        assert_eq!(d.run.status, RunStatus::Succeeded);
        assert_eq!(d.progress.len(), 2);
        assert_eq!(d.progress[1].line, "✅ Done");
        assert_eq!(d.drafts, drafts);
        assert!(matches!(h.get(999), Err(HistoryError::NoSuchRun(999))));

        let all = h.list(&RunFilter::default()).unwrap();
        assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), [b, a]);
        let f = |f: RunFilter| h.list(&f).unwrap().len();
        assert_eq!(
            f(RunFilter {
                employee: Some("writer".into()),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            f(RunFilter {
                status: Some(RunStatus::Running),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            f(RunFilter {
                text: Some("POST".into()),
                ..Default::default()
            }),
            2
        );
        assert_eq!(
            f(RunFilter {
                text: Some("100%".into()),
                ..Default::default()
            }),
            2
        );
        assert_eq!(
            f(RunFilter {
                text: Some("x%".into()),
                ..Default::default()
            }),
            0
        );
        assert_eq!(
            f(RunFilter {
                before_id: Some(b),
                ..Default::default()
            }),
            1
        );

        let since = Utc::now() - chrono::Duration::hours(1);
        assert_eq!(h.spend_since(Some("Writer"), since).unwrap(), 0.25);
        assert_eq!(h.spend_since(Some("Reviewer"), since).unwrap(), 0.0);
        assert_eq!(
            h.spend_since(None, Utc::now() + chrono::Duration::hours(1))
                .unwrap(),
            0.0
        );
        assert_eq!(h.last_run_for_task("Writer", "t1").unwrap().unwrap().id, a);
    }

    #[test]
    fn runs_of_dead_processes_become_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.db")).unwrap();
        let t = task("t1", "x");
        let id = h
            .start_run(&NewRun {
                employee: "W",
                source: "local",
                task: &t,
                attempt: 1,
                max_attempts: 1,
                machine: "m",
                command: &[],
                claim_id: "claim-1",
                input: None,
            })
            .unwrap();
        // A run of a live process elsewhere (pid 1 always exists) is left alone.
        h.with(|c| Ok(c.execute("UPDATE runs SET pid = 1 WHERE id = ?1", params![id])?))
            .unwrap();
        assert!(h.mark_interrupted("m").unwrap().is_empty());
        h.with(|c| Ok(c.execute("UPDATE runs SET pid = 999999999 WHERE id = ?1", params![id])?))
            .unwrap();
        h.set_pgid(id, 4242).unwrap();
        assert!(h.mark_interrupted("other-machine").unwrap().is_empty());
        let marked = h.mark_interrupted("m").unwrap();
        assert_eq!(
            marked,
            [super::super::Interrupted {
                run_id: id,
                claim_id: Some("claim-1".into()),
                pgid: Some(4242)
            }]
        );
        assert_eq!(h.get(id).unwrap().run.status, RunStatus::Interrupted);
        assert!(h.dead_claims("m").unwrap().contains("claim-1"));
        // A status this version does not know is an error, not a silent "interrupted".
        h.with(|c| {
            Ok(c.execute(
                "UPDATE runs SET status = 'paused' WHERE id = ?1",
                params![id],
            )?)
        })
        .unwrap();
        let err = h.get(id).unwrap_err().to_string();
        assert!(err.contains("unknown status \"paused\""), "{err}");
    }
}
