//! Append-only schema changes for the history database. Never edit a shipped migration;
//! add a new one.

use rusqlite_migration::M;

pub const MIGRATIONS: &[M<'static>] = &[
    M::up(
        "CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        employee TEXT NOT NULL,
        source TEXT NOT NULL,
        task_id TEXT NOT NULL,
        task_title TEXT NOT NULL,
        task_description TEXT NOT NULL DEFAULT '',
        task_url TEXT,
        attempt INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        status TEXT NOT NULL,
        machine TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        command TEXT NOT NULL DEFAULT '[]',
        exit_code INTEGER,
        summary TEXT,
        error TEXT,
        stderr_tail TEXT,
        cost_usd REAL,
        tokens_in INTEGER,
        tokens_out INTEGER,
        turns INTEGER,
        session_id TEXT,
        permission_denials TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX runs_started ON runs(started_at DESC);
    CREATE INDEX runs_employee_started ON runs(employee, started_at DESC);
    CREATE INDEX runs_status ON runs(status, started_at DESC);
    CREATE INDEX runs_task ON runs(task_id, started_at DESC);
    CREATE TABLE progress (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        line TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    CREATE TABLE drafts (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        inside_workspace INTEGER NOT NULL,
        PRIMARY KEY (run_id, path)
    );",
    ),
    // Listings filter by employee and/or status and page by id: these indexes end in the
    // rowid, so SQLite walks them in id order without sorting.
    M::up(
        "DROP INDEX runs_status;
         CREATE INDEX runs_employee_status ON runs(employee COLLATE NOCASE, status);
         CREATE INDEX runs_status_id ON runs(status);",
    ),
    // What the person decided about a run's drafts.
    M::up(
        "ALTER TABLE runs ADD COLUMN review TEXT;
         ALTER TABLE runs ADD COLUMN reviewed_at TEXT;",
    ),
    // The claim a run worked under (also the marker in its agent's environment), and the
    // agent's process group, so leftovers of a crashed Delegate can be found and stopped.
    M::up(
        "ALTER TABLE runs ADD COLUMN claim_id TEXT;
         ALTER TABLE runs ADD COLUMN pgid INTEGER;",
    ),
    // How runs end on their task, kept until the source confirmed it (see `Finish`).
    M::up(
        "CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER NOT NULL,
            employee TEXT NOT NULL COLLATE NOCASE,
            task_id TEXT NOT NULL,
            write TEXT NOT NULL,
            created_at TEXT NOT NULL,
            tries INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        );
        CREATE INDEX outbox_employee ON outbox(employee);",
    ),
    // The OS sandbox a run's agent ran under ("strict · Landlock ABI 7", "off", …).
    M::up("ALTER TABLE runs ADD COLUMN sandbox TEXT;"),
    // The conversation: what the person said that a run answers (an answer, feedback), the
    // questions a run ended with (a JSON list), and whether it continued an earlier session.
    M::up(
        "ALTER TABLE runs ADD COLUMN input TEXT;
         ALTER TABLE runs ADD COLUMN questions TEXT;
         ALTER TABLE runs ADD COLUMN resumed_session TEXT;",
    ),
];
