//! The built-in local queue: tasks in SQLite with the same labels-and-comments model as
//! Todoist, so the whole cycle works with no account.

use super::{Claimed, Comment, Finish, Pending, SourceError, SourceKind, Task, TaskSource};
use crate::claims::{Claim, Log};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The built-in local queue as people and settings see it.
pub const INFO: super::SourceInfo = super::SourceInfo {
    kind: super::SourceKind::Local,
    title: "the local queue",
    target_noun: "queue",
    target_words: "the local queue",
    settings: &[],
    task_word: "task",
    // The local queue keeps comments in SQLite on this machine.
    comment_chars: 1_000_000,
    taken_words: "Tasks you add to the local queue",
    token_name: "",
    token_elsewhere: "",
    token_env: None,
    token_tool: None,
    default_api_url: None,
    api_url_env: None,
    keychain_entry: None,
    token_help: "",
    task_links: &[],
    connect: None,
};

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("local queue database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("local queue database migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("no local task with id {0}")]
    NoSuchTask(String),
    #[error("a task needs a title")]
    EmptyTitle,
    #[error(
        "local task {id} has unreadable labels ({labels}); fix or delete it in {}",
        "queue.db"
    )]
    BadLabels { id: i64, labels: String },
    #[error("no employee named \"{0}\" (see `delegate employee list`)")]
    NoSuchEmployee(String),
    #[error("{0} takes tasks from {1}; add the task there instead")]
    NotLocal(String, &'static str),
}

const MIGRATIONS: &[M<'static>] = &[
    M::up(
        "CREATE TABLE tasks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        employee TEXT NOT NULL COLLATE NOCASE,
        title TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        labels TEXT NOT NULL DEFAULT '[]',
        priority INTEGER NOT NULL DEFAULT 1,
        due TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        closed_at TEXT
    );
    CREATE INDEX tasks_open ON tasks(employee, closed_at);
    CREATE TABLE comments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id INTEGER NOT NULL REFERENCES tasks(id),
        content TEXT NOT NULL,
        posted_at TEXT NOT NULL
    );
    CREATE INDEX comments_task ON comments(task_id);",
    ),
    // Ids of finishes already applied, so a resent finish is applied once.
    M::up("CREATE TABLE applied (id TEXT PRIMARY KEY, at TEXT NOT NULL);"),
];

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
/// A local task as the queue stores it, with its state for listings.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LocalTask {
    pub employee: String,
    pub task: Task,
    pub closed: bool,
    /// The state in words ("waiting", "working", "ready for review", …).
    pub state: String,
}

pub struct LocalQueue {
    conn: Mutex<Connection>,
}

fn now() -> String {
    Utc::now().to_rfc3339()
}

fn parse_id(id: &str) -> Result<i64, QueueError> {
    id.parse()
        .map_err(|_| QueueError::NoSuchTask(id.to_string()))
}

impl LocalQueue {
    pub fn open(path: &Path) -> Result<Self, QueueError> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Migrations::from_slice(MIGRATIONS).to_latest(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, QueueError>,
    ) -> Result<T, QueueError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    pub fn add_task(
        &self,
        employee: &str,
        title: &str,
        description: &str,
        priority: u8,
    ) -> Result<String, QueueError> {
        if title.trim().is_empty() {
            return Err(QueueError::EmptyTitle);
        }
        self.with(|c| {
            let t = now();
            c.execute(
                "INSERT INTO tasks (employee, title, description, priority, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![employee, title.trim(), description, priority.clamp(1, 4), t],
            )?;
            Ok(c.last_insert_rowid().to_string())
        })
    }

    /// Adds a task for the employee called `employee` in `config` (any case), which must take
    /// its tasks from the local queue. Returns the task's id.
    pub fn add_for(
        &self,
        config: &crate::config::Config,
        employee: &str,
        title: &str,
        description: &str,
        priority: u8,
    ) -> Result<String, QueueError> {
        let e = config
            .employee(employee)
            .map_err(|_| QueueError::NoSuchEmployee(employee.to_string()))?;
        if e.source != crate::config::SourceKind::Local {
            return Err(QueueError::NotLocal(
                e.name.clone(),
                e.source.info().target_words,
            ));
        }
        self.add_task(&e.name, title, description, priority)
    }

    pub fn open_tasks(&self, employee: &str) -> Result<Vec<Task>, QueueError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, title, description, labels, priority, due, updated_at FROM tasks
                 WHERE employee = ?1 AND closed_at IS NULL ORDER BY id",
            )?;
            let rows = stmt.query_map(params![employee], row_to_task)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Every task of every employee, newest first (for listings).
    pub fn all_tasks(&self, limit: usize) -> Result<Vec<LocalTask>, QueueError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, title, description, labels, priority, due, updated_at, employee, closed_at
                 FROM tasks ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map(params![limit as i64], |r| {
                let task = row_to_task(r)?;
                let closed = r.get::<_, Option<String>>(8)?.is_some();
                Ok(LocalTask {
                    state: crate::labels::state_in_words(&task.labels, closed).to_string(),
                    task,
                    employee: r.get(7)?,
                    closed,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    pub fn task(&self, id: &str) -> Result<Task, QueueError> {
        let n = parse_id(id)?;
        self.with(|c| {
            c.query_row(
                "SELECT id, title, description, labels, priority, due, updated_at FROM tasks WHERE id = ?1",
                params![n],
                row_to_task,
            )
            .optional()?
            .ok_or_else(|| QueueError::NoSuchTask(id.to_string()))
        })
    }

    pub fn set_labels(&self, id: &str, labels: &[String]) -> Result<(), QueueError> {
        let n = parse_id(id)?;
        self.with(|c| write_labels(c, n, id, labels))
    }

    pub fn add_comment(&self, id: &str, content: &str) -> Result<(), QueueError> {
        let n = parse_id(id)?;
        self.with(|c| {
            let exists: Option<i64> = c
                .query_row("SELECT id FROM tasks WHERE id = ?1", params![n], |r| {
                    r.get(0)
                })
                .optional()?;
            if exists.is_none() {
                return Err(QueueError::NoSuchTask(id.to_string()));
            }
            c.execute(
                "INSERT INTO comments (task_id, content, posted_at) VALUES (?1, ?2, ?3)",
                params![n, content, now()],
            )?;
            Ok(())
        })
    }

    pub fn comments(&self, id: &str) -> Result<Vec<Comment>, QueueError> {
        let n = parse_id(id)?;
        self.with(|c| comments_in(c, n))
    }

    /// Claims the task atomically (one SQLite transaction, which also reads the labels it
    /// changes): several Delegate processes on one queue never work the same task, and no
    /// claim needs settling.
    pub fn claim(
        &self,
        id: &str,
        claim: &Claim,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Result<Claimed, QueueError> {
        let n = parse_id(id)?;
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let log = Log::new(comments_in(&tx, n)?);
        if let Some(live) = log.live_claim(Utc::now(), default_lease, dead) {
            return Ok(Claimed::Lost {
                machine: live.claim.machine,
                withdraw: None,
            });
        }
        let raw: String =
            tx.query_row("SELECT labels FROM tasks WHERE id = ?1", params![n], |r| {
                r.get(0)
            })?;
        let current: Vec<String> =
            serde_json::from_str(&raw).map_err(|_| QueueError::BadLabels { id: n, labels: raw })?;
        write_labels(&tx, n, id, &crate::labels::claimed(&current))?;
        tx.execute(
            "INSERT INTO comments (task_id, content, posted_at) VALUES (?1, ?2, ?3)",
            params![n, claim.text(), now()],
        )?;
        let note_id = tx.last_insert_rowid().to_string();
        tx.commit()?;
        Ok(Claimed::Won { note_id })
    }

    /// Renews a claim: its comment counts from now.
    pub fn renew(&self, note_id: &str) -> Result<(), QueueError> {
        let n = parse_id(note_id)?;
        self.with(|c| {
            c.execute(
                "UPDATE comments SET posted_at = ?1 WHERE id = ?2",
                params![now(), n],
            )?;
            Ok(())
        })
    }

    /// Adds a comment, or replaces the text of comment `note` when given. Returns its id.
    pub fn put_comment(
        &self,
        id: &str,
        note: Option<&str>,
        content: &str,
    ) -> Result<String, QueueError> {
        if let Some(note) = note {
            let n = parse_id(note)?;
            self.with(|c| {
                c.execute(
                    "UPDATE comments SET content = ?1 WHERE id = ?2",
                    params![content, n],
                )?;
                Ok(())
            })?;
            return Ok(note.to_string());
        }
        self.add_comment(id, content)?;
        self.with(|c| Ok(c.last_insert_rowid().to_string()))
    }

    /// A run's end in one transaction, applied once per [`Finish`] however often it comes.
    pub fn finish(&self, f: &Finish) -> Result<(), QueueError> {
        let n = parse_id(&f.task_id)?;
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        let fresh = tx.execute(
            "INSERT OR IGNORE INTO applied (id, at) VALUES (?1, ?2)",
            params![f.ids[1], now()],
        )?;
        if fresh == 1 {
            if let Some(labels) = &f.labels {
                write_labels(&tx, n, &f.task_id, labels)?;
            }
            if let Some(text) = &f.text {
                tx.execute(
                    "INSERT INTO comments (task_id, content, posted_at) VALUES (?1, ?2, ?3)",
                    params![n, text, now()],
                )?;
            }
            for note in f
                .delete_note
                .iter()
                .chain(&f.delete_more)
                .filter_map(|n| n.parse::<i64>().ok())
            {
                tx.execute(
                    "DELETE FROM comments WHERE id = ?1 AND task_id = ?2",
                    params![note, n],
                )?;
            }
            if f.close.is_some() {
                let t = now();
                tx.execute(
                    "UPDATE tasks SET closed_at = ?1, updated_at = ?1 WHERE id = ?2",
                    params![t, n],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// New labels and a comment in one transaction.
    pub fn labels_and_comment(
        &self,
        id: &str,
        labels: &[String],
        content: &str,
    ) -> Result<(), QueueError> {
        let n = parse_id(id)?;
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        write_labels(&tx, n, id, labels)?;
        tx.execute(
            "INSERT INTO comments (task_id, content, posted_at) VALUES (?1, ?2, ?3)",
            params![n, content, now()],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn close(&self, id: &str) -> Result<(), QueueError> {
        let n = parse_id(id)?;
        self.with(|c| {
            let t = now();
            let changed = c.execute(
                "UPDATE tasks SET closed_at = ?1, updated_at = ?1 WHERE id = ?2",
                params![t, n],
            )?;
            if changed == 0 {
                return Err(QueueError::NoSuchTask(id.to_string()));
            }
            Ok(())
        })
    }
}

/// One employee's tasks in the local queue.
pub struct LocalSource {
    queue: Arc<LocalQueue>,
    employee: String,
}

impl LocalSource {
    pub fn new(queue: Arc<LocalQueue>, employee: &str) -> Self {
        Self {
            queue,
            employee: employee.to_string(),
        }
    }
}

#[async_trait::async_trait]
impl TaskSource for LocalSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Local
    }

    async fn open_tasks(&self, _max_age: Duration) -> Result<Vec<Task>, SourceError> {
        Ok(self.queue.open_tasks(&self.employee)?)
    }

    async fn comments(
        &self,
        task_id: &str,
        _max_age: Duration,
    ) -> Result<Vec<Comment>, SourceError> {
        Ok(self.queue.comments(task_id)?)
    }

    /// One transaction decides a local claim, with the ends that ride along applied first.
    async fn claim(
        &self,
        task_id: &str,
        claim: &Claim,
        finishes: &[Finish],
        _not_before: Option<DateTime<Utc>>,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Result<Claimed, SourceError> {
        for f in finishes {
            self.queue.finish(f)?;
        }
        Ok(self.queue.claim(task_id, claim, default_lease, dead)?)
    }

    async fn settle(
        &self,
        pending: &mut Pending,
        finishes: &[Finish],
        _default_lease: u64,
        _dead: &HashSet<String>,
    ) -> Result<Claimed, SourceError> {
        self.send(finishes).await?;
        Ok(Claimed::Won {
            note_id: pending.note_id.clone(),
        })
    }

    async fn labels_now(&self, task_id: &str) -> Option<Vec<String>> {
        self.queue.task(task_id).ok().map(|t| t.labels)
    }

    async fn posted_at(&self, note: &str, task_id: &str) -> Option<DateTime<Utc>> {
        self.queue
            .comments(task_id)
            .ok()?
            .into_iter()
            .find(|c| c.id == note)
            .and_then(|c| c.posted_at)
    }

    async fn send(&self, finishes: &[Finish]) -> Result<(), SourceError> {
        for f in finishes {
            self.queue.finish(f)?;
        }
        Ok(())
    }

    async fn renew(
        &self,
        _task_id: &str,
        note_id: &str,
        _claim: &Claim,
    ) -> Result<String, SourceError> {
        self.queue.renew(note_id)?;
        Ok(note_id.to_string())
    }

    async fn progress(
        &self,
        task_id: &str,
        note: Option<&str>,
        text: &str,
    ) -> Result<Option<String>, SourceError> {
        Ok(Some(self.queue.put_comment(task_id, note, text)?))
    }

    async fn finish(&self, finish: &Finish) -> Result<(), SourceError> {
        Ok(self.queue.finish(finish)?)
    }

    async fn labels_and_comment(
        &self,
        task_id: &str,
        labels: &[String],
        text: &str,
    ) -> Result<(), SourceError> {
        Ok(self.queue.labels_and_comment(task_id, labels, text)?)
    }

    async fn set_labels(&self, task_id: &str, labels: &[String]) -> Result<(), SourceError> {
        Ok(self.queue.set_labels(task_id, labels)?)
    }

    async fn task(&self, task_id: &str) -> Result<Task, SourceError> {
        Ok(self.queue.task(task_id)?)
    }

    async fn close(&self, task_id: &str, labels: Option<&[String]>) -> Result<(), SourceError> {
        if let Some(l) = labels {
            self.queue.set_labels(task_id, l)?;
        }
        Ok(self.queue.close(task_id)?)
    }
}

fn write_labels(c: &Connection, n: i64, id: &str, labels: &[String]) -> Result<(), QueueError> {
    let json = serde_json::Value::from(labels.to_vec()).to_string();
    let changed = c.execute(
        "UPDATE tasks SET labels = ?1, updated_at = ?2 WHERE id = ?3",
        params![json, now(), n],
    )?;
    if changed == 0 {
        return Err(QueueError::NoSuchTask(id.to_string()));
    }
    Ok(())
}

fn comments_in(c: &Connection, n: i64) -> Result<Vec<Comment>, QueueError> {
    let mut stmt = c.prepare_cached(
        "SELECT id, content, posted_at FROM comments WHERE task_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![n], |r| {
        Ok(Comment {
            id: r.get::<_, i64>(0)?.to_string(),
            content: r.get(1)?,
            posted_at: parse_time(&r.get::<_, String>(2)?),
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn row_to_task(r: &rusqlite::Row<'_>) -> rusqlite::Result<Task> {
    let raw: String = r.get(3)?;
    let id: i64 = r.get(0)?;
    // Unreadable labels must not read as "no labels": that would run a done task again.
    let labels = serde_json::from_str(&raw).map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            3,
            rusqlite::types::Type::Text,
            Box::new(QueueError::BadLabels {
                id,
                labels: raw.clone(),
            }),
        )
    })?;
    Ok(Task {
        id: id.to_string(),
        title: r.get(1)?,
        description: r.get(2)?,
        labels,
        priority: r.get::<_, i64>(4)?.clamp(1, 4) as u8,
        due: r.get(5)?,
        recurring: false,
        order: r.get(0)?,
        updated_at: parse_time(&r.get::<_, String>(6)?),
        url: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_tasks_need_a_local_employee() {
        use crate::config::{Config, Employee, SourceKind};
        use std::path::PathBuf;
        let dir = tempfile::tempdir().unwrap();
        let q = LocalQueue::open(&dir.path().join("q.db")).unwrap();
        let mut config = Config::default();
        config.employees.push(Employee::new(
            "Notes",
            SourceKind::Local,
            PathBuf::from("/w"),
        ));
        let mut t = Employee::new("Writer", SourceKind::Todoist, PathBuf::from("/w"));
        t.set_setting("project", Some("P"));
        config.employees.push(t);
        let id = q
            .add_for(&config, "notes", "Sort the inbox", "", 1)
            .unwrap();
        let open = q.open_tasks("Notes").unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].id, id);
        assert!(matches!(
            q.add_for(&config, "Writer", "x", "", 1),
            Err(QueueError::NotLocal(n, _)) if n == "Writer"
        ));
        assert!(matches!(
            q.add_for(&config, "Nobody", "x", "", 1),
            Err(QueueError::NoSuchEmployee(_))
        ));
        assert!(matches!(
            q.add_for(&config, "Notes", "  ", "", 1),
            Err(QueueError::EmptyTitle)
        ));
    }

    #[test]
    fn queue_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let q = LocalQueue::open(&dir.path().join("q.db")).unwrap();
        let id = q
            .add_task("Writer", "Post about agents", "short", 1)
            .unwrap();
        q.add_task("Other", "Not mine", "", 1).unwrap();
        let open = q.open_tasks("writer").unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].title, "Post about agents");
        q.set_labels(&id, &["agent-working".into()]).unwrap();
        q.add_comment(&id, "Working on it").unwrap();
        assert_eq!(q.task(&id).unwrap().labels, vec!["agent-working"]);
        assert_eq!(q.comments(&id).unwrap()[0].content, "Working on it");
        q.close(&id).unwrap();
        assert!(q.open_tasks("Writer").unwrap().is_empty());
        assert!(matches!(q.close("999"), Err(QueueError::NoSuchTask(_))));
        assert!(matches!(
            q.add_task("W", "  ", "", 1),
            Err(QueueError::EmptyTitle)
        ));
    }

    #[test]
    fn unreadable_labels_are_an_error_not_an_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        let q = LocalQueue::open(&dir.path().join("q.db")).unwrap();
        let id = q.add_task("W", "T", "", 1).unwrap();
        q.with(|c| {
            c.execute(
                "UPDATE tasks SET labels = 'agent-done' WHERE id = ?1",
                params![id],
            )?;
            Ok(())
        })
        .unwrap();
        let err = q.open_tasks("W").unwrap_err().to_string();
        assert!(err.contains("unreadable labels"), "{err}");
    }

    #[test]
    fn a_finish_sent_twice_is_applied_once() {
        let dir = tempfile::tempdir().unwrap();
        let q = LocalQueue::open(&dir.path().join("q.db")).unwrap();
        let id = q.add_task("W", "T", "", 1).unwrap();
        let f = Finish::new(
            &id,
            vec!["agent-done".into()],
            "Done. Ready for review.".into(),
        );
        q.finish(&f).unwrap();
        q.set_labels(&id, &["agent-done".into(), "mine".into()])
            .unwrap();
        q.finish(&f).unwrap();
        assert_eq!(q.comments(&id).unwrap().len(), 1);
        assert_eq!(
            q.task(&id).unwrap().labels,
            ["agent-done", "mine"],
            "not applied again"
        );
    }

    #[test]
    fn a_second_claim_loses_while_the_first_holds() {
        let dir = tempfile::tempdir().unwrap();
        let q = LocalQueue::open(&dir.path().join("q.db")).unwrap();
        let id = q.add_task("W", "T", "", 1).unwrap();
        let claim = |cid: &str| Claim {
            id: cid.into(),
            machine: "m".into(),
            attempt: 1,
            max_attempts: 3,
            lease_secs: Some(600),
            due: None,
        };
        let none = HashSet::new();
        assert!(matches!(
            q.claim(&id, &claim("a"), 600, &none).unwrap(),
            Claimed::Won { .. }
        ));
        assert_eq!(q.task(&id).unwrap().labels, ["agent-working"]);
        assert!(matches!(
            q.claim(&id, &claim("b"), 600, &none).unwrap(),
            Claimed::Lost { .. }
        ));
        let dead: HashSet<String> = ["a".to_string()].into();
        assert!(matches!(
            q.claim(&id, &claim("c"), 600, &dead).unwrap(),
            Claimed::Won { .. }
        ));
    }
}
