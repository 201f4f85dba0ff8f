//! The tables a PostgreSQL employee works on, and the SQL Delegate sends to them: the tasks
//! table (Delegate's own `delegate_tasks`, or a person's table mapped by column names and
//! status values), its comments, the files Delegate attaches and the ids of writes already
//! applied; versioned migrations, and the trigger that tells waiting engines at once.

use super::PostgresError;
use crate::config::ServiceSettings;
use std::collections::BTreeMap;

/// The table an employee works on when it names none.
pub const DEFAULT_TABLE: &str = "delegate_tasks";
/// Where each table's schema version is kept.
const VERSIONS: &str = "delegate_schema";
/// What Delegate writes in a comment's `author`; any other value is a person's.
pub const DELEGATE_AUTHOR: &str = "delegate";

/// The longest identifier PostgreSQL keeps (longer ones are cut silently).
const MAX_IDENT: usize = 63;
/// The longest suffix Delegate adds to a table's name (`_comments`).
const LONGEST_SUFFIX: usize = "_comments".len();

macro_rules! names {
    ($what:ident, $keys:ident, $doc:literal, $($field:ident = $default:literal),+ $(,)?) => {
        #[doc = $doc]
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $what {
            $(pub $field: String,)+
        }

        impl Default for $what {
            fn default() -> Self {
                Self { $($field: $default.to_string(),)+ }
            }
        }

        /// The keys a person may set, as `config.toml` names them.
        pub const $keys: &[&str] = &[$(stringify!($field),)+];

        impl $what {
            fn set(&mut self, key: &str, value: &str) -> bool {
                match key {
                    $(stringify!($field) => self.$field = value.to_string(),)+
                    _ => return false,
                }
                true
            }
        }
    };
}

names!(
    Columns,
    COLUMN_KEYS,
    "The tasks table's column names (`[postgres.columns]`).",
    id = "id",
    employee = "employee",
    title = "title",
    description = "description",
    status = "status",
    priority = "priority",
    due = "due",
    attempts = "attempts",
    claimed_by = "claimed_by",
    claim_id = "claim_id",
    lease_until = "lease_until",
    result = "result",
    drafts = "drafts",
    created_at = "created_at",
    updated_at = "updated_at",
);

names!(
    Statuses,
    STATUS_KEYS,
    "The status values a task moves through (`[postgres.statuses]`).",
    pending = "pending",
    working = "working",
    review = "review",
    needs_input = "needs_input",
    failed = "failed",
    done = "done",
);

/// How Delegate reads a tasks table: its columns and status values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    pub columns: Columns,
    pub statuses: Statuses,
}

impl Mapping {
    /// From `[postgres.columns]` and `[postgres.statuses]`, each name checked.
    pub fn from_settings(s: &ServiceSettings) -> Result<Self, PostgresError> {
        let mut m = Mapping::default();
        for (key, value) in &s.columns {
            check_ident(value)
                .map_err(|why| PostgresError::Mapping(format!("columns.{key}: {why}")))?;
            if !m.columns.set(key, value) {
                return Err(PostgresError::Mapping(format!(
                    "columns.{key} is not a column Delegate uses; the keys are {}",
                    COLUMN_KEYS.join(", ")
                )));
            }
        }
        let c = &m.columns;
        let mut named: BTreeMap<&str, &str> = BTreeMap::new();
        for (key, value) in COLUMN_KEYS.iter().zip([
            &c.id,
            &c.employee,
            &c.title,
            &c.description,
            &c.status,
            &c.priority,
            &c.due,
            &c.attempts,
            &c.claimed_by,
            &c.claim_id,
            &c.lease_until,
            &c.result,
            &c.drafts,
            &c.created_at,
            &c.updated_at,
        ]) {
            if let Some(other) = named.insert(value.as_str(), key) {
                return Err(PostgresError::Mapping(format!(
                    "columns.{other} and columns.{key} are both \"{value}\"; each needs its own column"
                )));
            }
        }
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for (key, value) in &s.statuses {
            if value.trim().is_empty() || value.len() > 200 {
                return Err(PostgresError::Mapping(format!(
                    "statuses.{key} must be 1 to 200 characters"
                )));
            }
            if !m.statuses.set(key, value) {
                return Err(PostgresError::Mapping(format!(
                    "statuses.{key} is not a status Delegate uses; the keys are {}",
                    STATUS_KEYS.join(", ")
                )));
            }
        }
        let st = &m.statuses;
        for (key, value) in [
            ("pending", &st.pending),
            ("working", &st.working),
            ("review", &st.review),
            ("needs_input", &st.needs_input),
            ("failed", &st.failed),
            ("done", &st.done),
        ] {
            if let Some(other) = seen.insert(value.clone(), key) {
                return Err(PostgresError::Mapping(format!(
                    "statuses.{other} and statuses.{key} are both \"{value}\"; each status needs its own value"
                )));
            }
        }
        Ok(m)
    }
}

/// A name PostgreSQL takes unquoted and keeps whole: letters, digits, `_` (not first), at
/// most 63 bytes. Delegate quotes it anyway; the check keeps names plain and readable.
pub fn check_ident(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= MAX_IDENT
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{s}\" must be a plain name: letters, digits and _, not starting with a digit, at most {MAX_IDENT} characters"
        ))
    }
}

/// `name` or `schema.name`, as the employee's `pg_table` gives it.
pub fn check_table(s: &str) -> Result<(), String> {
    let (schema, name) = match s.split_once('.') {
        Some((a, b)) => (Some(a), b),
        None => (None, s),
    };
    if let Some(schema) = schema {
        check_ident(schema)?;
    }
    check_ident(name)?;
    // The table as people write it is also its NOTIFY channel, which PostgreSQL keeps to 63
    // bytes (a longer one would make the trigger, and so every insert, fail).
    if s.len() > MAX_IDENT {
        return Err(format!(
            "\"{s}\" is too long: schema and table together may have at most {MAX_IDENT} characters"
        ));
    }
    if name.len() > MAX_IDENT - LONGEST_SUFFIX {
        return Err(format!(
            "\"{name}\" is too long: Delegate names its comments table after it, so at most {} characters",
            MAX_IDENT - LONGEST_SUFFIX
        ));
    }
    Ok(())
}

/// An identifier, quoted.
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// A text literal, quoted.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One tasks table and its companions, with the SQL Delegate sends to them.
#[derive(Debug, Clone)]
pub struct Table {
    pub schema: Option<String>,
    pub name: String,
    pub map: Mapping,
}

impl Table {
    pub fn new(spec: &str, map: Mapping) -> Result<Self, PostgresError> {
        let spec = spec.trim();
        let spec = if spec.is_empty() { DEFAULT_TABLE } else { spec };
        check_table(spec).map_err(PostgresError::Mapping)?;
        let (schema, name) = match spec.split_once('.') {
            // `public.x` and `x` are one table (the default schema): one version row, one
            // NOTIFY channel, whichever way an employee spells it.
            Some(("public", b)) => (None, b.to_string()),
            Some((a, b)) => (Some(a.to_string()), b.to_string()),
            None => (None, spec.to_string()),
        };
        Ok(Self { schema, name, map })
    }

    /// As people read it (`delegate_tasks`, `work.tasks`).
    pub fn words(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }

    fn named(&self, name: &str) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", quote(s), quote(name)),
            None => quote(name),
        }
    }

    /// The tasks table, quoted.
    pub fn tasks(&self) -> String {
        self.named(&self.name)
    }
    /// Its comments: claims, progress, results, and what people write.
    pub fn comments(&self) -> String {
        self.named(&format!("{}_comments", self.name))
    }
    /// Files Delegate attached to a result (drafts).
    pub fn files(&self) -> String {
        self.named(&format!("{}_files", self.name))
    }
    /// Ids of runs' ends already applied (a resent end is applied once).
    pub fn applied(&self) -> String {
        self.named(&format!("{}_applied", self.name))
    }
    fn trigger_fn(&self, what: &str) -> String {
        self.named(&format!("{}_{what}", self.name))
    }
    /// The `LISTEN` channel: the table as people read it.
    pub fn channel(&self) -> String {
        self.words()
    }

    /// A column of the tasks table, quoted.
    pub fn col(&self, f: impl Fn(&Columns) -> &String) -> String {
        quote(f(&self.map.columns))
    }

    /// The statuses of open tasks (every one but `done`), as SQL literals.
    pub fn open_statuses(&self) -> String {
        let s = &self.map.statuses;
        [&s.pending, &s.working, &s.review, &s.needs_input, &s.failed]
            .iter()
            .map(|v| literal(v))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The SQL `delegate postgres init` applies, for a tasks table whose id is of `id_type`
    /// (`bigint` when Delegate creates it). Every statement may run again.
    pub fn migration(&self, version: u32, id_type: &str) -> Option<String> {
        let c = &self.map.columns;
        let s = &self.map.statuses;
        let q = quote;
        let tasks = self.tasks();
        let comments = self.comments();
        match version {
            1 => Some(format!(
                "CREATE TABLE IF NOT EXISTS {tasks} (\n\
                 \x20   {id} bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n\
                 \x20   {employee} text NOT NULL,\n\
                 \x20   {title} text NOT NULL,\n\
                 \x20   {description} text NOT NULL DEFAULT '',\n\
                 \x20   {status} text NOT NULL DEFAULT {pending},\n\
                 \x20   {priority} smallint NOT NULL DEFAULT 1 CHECK ({priority} BETWEEN 1 AND 4),\n\
                 \x20   {due} timestamptz\n\
                 );\n\
                 ALTER TABLE {tasks}\n\
                 \x20   ADD COLUMN IF NOT EXISTS {attempts} integer NOT NULL DEFAULT 0,\n\
                 \x20   ADD COLUMN IF NOT EXISTS {claimed_by} text,\n\
                 \x20   ADD COLUMN IF NOT EXISTS {claim_id} text,\n\
                 \x20   ADD COLUMN IF NOT EXISTS {lease_until} timestamptz,\n\
                 \x20   ADD COLUMN IF NOT EXISTS {result} text,\n\
                 \x20   ADD COLUMN IF NOT EXISTS {drafts} jsonb NOT NULL DEFAULT '[]',\n\
                 \x20   ADD COLUMN IF NOT EXISTS {created_at} timestamptz NOT NULL DEFAULT now(),\n\
                 \x20   ADD COLUMN IF NOT EXISTS {updated_at} timestamptz NOT NULL DEFAULT clock_timestamp();\n\
                 CREATE INDEX IF NOT EXISTS {open_idx} ON {tasks} ({employee}, {status});\n\
                 CREATE TABLE IF NOT EXISTS {comments} (\n\
                 \x20   id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n\
                 \x20   task_id {id_type} NOT NULL REFERENCES {tasks} ({id}) ON DELETE CASCADE,\n\
                 \x20   author text NOT NULL DEFAULT 'person',\n\
                 \x20   body text NOT NULL,\n\
                 \x20   created_at timestamptz NOT NULL DEFAULT clock_timestamp()\n\
                 );\n\
                 CREATE INDEX IF NOT EXISTS {comments_idx} ON {comments} (task_id, id);\n\
                 CREATE TABLE IF NOT EXISTS {files} (\n\
                 \x20   id uuid PRIMARY KEY,\n\
                 \x20   task_id {id_type} NOT NULL REFERENCES {tasks} ({id}) ON DELETE CASCADE,\n\
                 \x20   name text NOT NULL,\n\
                 \x20   content text NOT NULL,\n\
                 \x20   created_at timestamptz NOT NULL DEFAULT clock_timestamp()\n\
                 );\n\
                 CREATE TABLE IF NOT EXISTS {applied} (\n\
                 \x20   id text PRIMARY KEY,\n\
                 \x20   at timestamptz NOT NULL DEFAULT now()\n\
                 );\n\
                 CREATE OR REPLACE FUNCTION {task_fn}() RETURNS trigger LANGUAGE plpgsql AS $$\n\
                 BEGIN\n\
                 \x20   PERFORM pg_notify({channel}, NEW.{employee}::text);\n\
                 \x20   RETURN NULL;\n\
                 END $$;\n\
                 CREATE OR REPLACE FUNCTION {touch_fn}() RETURNS trigger LANGUAGE plpgsql AS $$\n\
                 BEGIN\n\
                 \x20   NEW.{updated_at} := clock_timestamp();\n\
                 \x20   RETURN NEW;\n\
                 END $$;\n\
                 DROP TRIGGER IF EXISTS {touch_trigger} ON {tasks};\n\
                 CREATE TRIGGER {touch_trigger} BEFORE UPDATE ON {tasks}\n\
                 \x20   FOR EACH ROW EXECUTE FUNCTION {touch_fn}();\n\
                 DROP TRIGGER IF EXISTS {task_trigger} ON {tasks};\n\
                 CREATE TRIGGER {task_trigger} AFTER INSERT OR UPDATE OF {status} ON {tasks}\n\
                 \x20   FOR EACH ROW WHEN (NEW.{status} = {pending}) EXECUTE FUNCTION {task_fn}();\n\
                 CREATE OR REPLACE FUNCTION {comment_fn}() RETURNS trigger LANGUAGE plpgsql AS $$\n\
                 BEGIN\n\
                 \x20   PERFORM pg_notify({channel}, (SELECT {employee}::text FROM {tasks} WHERE {id} = NEW.task_id));\n\
                 \x20   RETURN NULL;\n\
                 END $$;\n\
                 DROP TRIGGER IF EXISTS {comment_trigger} ON {comments};\n\
                 CREATE TRIGGER {comment_trigger} AFTER INSERT ON {comments}\n\
                 \x20   FOR EACH ROW WHEN (NEW.author <> {delegate}) EXECUTE FUNCTION {comment_fn}();\n",
                id = q(&c.id),
                employee = q(&c.employee),
                title = q(&c.title),
                description = q(&c.description),
                status = q(&c.status),
                priority = q(&c.priority),
                due = q(&c.due),
                attempts = q(&c.attempts),
                claimed_by = q(&c.claimed_by),
                claim_id = q(&c.claim_id),
                lease_until = q(&c.lease_until),
                result = q(&c.result),
                drafts = q(&c.drafts),
                created_at = q(&c.created_at),
                updated_at = q(&c.updated_at),
                pending = literal(&s.pending),
                open_idx = q(&format!("{}_open", self.name)),
                comments_idx = q(&format!("{}_comments_task", self.name)),
                files = self.files(),
                applied = self.applied(),
                task_fn = self.trigger_fn("notify"),
                touch_fn = self.trigger_fn("touch"),
                touch_trigger = q(&format!("{}_touch", self.name)),
                comment_fn = self.trigger_fn("comment_notify"),
                task_trigger = q(&format!("{}_notify", self.name)),
                comment_trigger = q(&format!("{}_comment_notify", self.name)),
                channel = literal(&self.channel()),
                delegate = literal(DELEGATE_AUTHOR),
            )),
            _ => None,
        }
    }

    /// Every migration after `from`, with its version.
    pub fn migrations_after(&self, from: u32, id_type: &str) -> Vec<(u32, String)> {
        (from + 1..)
            .map_while(|v| self.migration(v, id_type).map(|sql| (v, sql)))
            .collect()
    }

    /// The whole script for a DBA (`delegate postgres init --print`), in one transaction.
    pub fn script(&self, from: u32, id_type: &str) -> String {
        let mut out = format!(
            "-- Delegate's tables for {} (run as a role that may create tables here).\nBEGIN;\n\
             CREATE TABLE IF NOT EXISTS {VERSIONS} (tbl text PRIMARY KEY, version integer NOT NULL);\n",
            self.words()
        );
        let steps = self.migrations_after(from, id_type);
        for (v, sql) in &steps {
            out.push_str(&format!("-- version {v}\n{sql}"));
        }
        if let Some((last, _)) = steps.last() {
            out.push_str(&format!(
                "INSERT INTO {VERSIONS} (tbl, version) VALUES ({}, {last})\n\
                 \x20   ON CONFLICT (tbl) DO UPDATE SET version = EXCLUDED.version;\n",
                literal(&self.words())
            ));
        }
        out.push_str(&format!(
            "COMMIT;\n-- The role Delegate logs in as (if it is not the one that ran this) needs:\n\
             -- GRANT SELECT, INSERT, UPDATE, DELETE ON {tasks}, {comments}, {files}, {applied} TO delegate_role;\n\
             -- GRANT USAGE ON SEQUENCE {comments_seq} TO delegate_role;\n\
             -- GRANT SELECT ON {VERSIONS} TO delegate_role;\n",
            tasks = self.tasks(),
            comments = self.comments(),
            files = self.files(),
            applied = self.applied(),
            comments_seq = self.named(&format!("{}_comments_id_seq", self.name)),
        ));
        out
    }
}

/// The table that keeps each tasks table's schema version.
pub fn versions_table() -> &'static str {
    VERSIONS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_quoted() {
        assert!(check_table("delegate_tasks").is_ok());
        assert!(check_table("work.tasks").is_ok());
        let t = Table::new("public.delegate_tasks", Mapping::default()).unwrap();
        assert_eq!(
            (t.words(), t.channel()),
            ("delegate_tasks".into(), "delegate_tasks".into())
        );
        assert!(check_table("tasks; DROP TABLE x").is_err());
        assert!(check_table("1tasks").is_err());
        assert!(check_table(&"t".repeat(60)).is_err(), "room for _comments");
        assert!(
            check_table(&format!("{}.{}", "s".repeat(30), "t".repeat(40))).is_err(),
            "a channel name PostgreSQL keeps whole"
        );
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
    }

    #[test]
    fn a_mapping_names_known_keys_and_distinct_statuses() {
        let mut s = ServiceSettings::default();
        s.columns.insert("title".into(), "name".into());
        s.statuses.insert("pending".into(), "todo".into());
        let m = Mapping::from_settings(&s).unwrap();
        assert_eq!(m.columns.title, "name");
        assert_eq!(m.statuses.pending, "todo");
        s.columns.insert("colour".into(), "c".into());
        let e = Mapping::from_settings(&s).unwrap_err().to_string();
        assert!(e.contains("columns.colour is not a column"), "{e}");
        s.columns.remove("colour");
        s.statuses.insert("review".into(), "todo".into());
        let e = Mapping::from_settings(&s).unwrap_err().to_string();
        assert!(e.contains("both \"todo\""), "{e}");
        s.statuses.remove("review");
        s.columns.insert("description".into(), "name".into());
        let e = Mapping::from_settings(&s).unwrap_err().to_string();
        assert!(
            e.contains("columns.title and columns.description are both \"name\""),
            "{e}"
        );
        s.columns.remove("description");
        s.columns.insert("status".into(), "state; --".into());
        assert!(Mapping::from_settings(&s).is_err());
    }

    #[test]
    fn the_script_is_one_transaction_that_records_its_version() {
        let t = Table::new("", Mapping::default()).unwrap();
        let sql = t.script(0, "bigint");
        assert!(sql.starts_with("-- Delegate's tables for delegate_tasks"));
        assert!(sql.contains("CREATE TABLE IF NOT EXISTS \"delegate_tasks_comments\""));
        assert!(sql.contains("pg_notify('delegate_tasks', NEW.\"employee\"::text)"));
        assert!(sql.contains("VALUES ('delegate_tasks', 1)"));
        assert!(sql.contains("COMMIT;\n-- The role Delegate logs in as"));
        assert!(sql.contains("-- GRANT SELECT, INSERT, UPDATE, DELETE ON \"delegate_tasks\", \"delegate_tasks_comments\""));
        assert!(
            t.script(1, "bigint")
                .contains("BEGIN;\nCREATE TABLE IF NOT EXISTS delegate_schema")
        );
        assert!(!t.script(1, "bigint").contains("version 1"));
    }
}
