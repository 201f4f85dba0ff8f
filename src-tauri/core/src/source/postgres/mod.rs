//! A PostgreSQL table as a task queue: an employee works on the rows whose employee column
//! names it (`pg_table`, `pg_employee`). The database itself makes each task run once: a
//! claim is one statement that takes the row only if no live lease holds it and nobody changed
//! it since it was read (`FOR UPDATE SKIP LOCKED`), a lease is renewed while the run goes on
//! and taken over only after it lapses, and a run's end is one transaction (status, result,
//! drafts, comment) applied once however often it is sent. `LISTEN`/`NOTIFY` wakes the
//! employee the moment a row is added or set back to pending; the poll stays as a fallback.
//!
//! The worker's labels are read from and written to the row's status and attempts
//! (`pending` + 2 attempts reads as `agent-retry-2`, `review` as `agent-done`, …), and its
//! comments live in the table's `_comments` companion.

mod error;
mod listen;
pub mod schema;

pub use error::PostgresError;

use super::registry::Setting;
use super::{
    Claimed, Comment, FileRef, Finish, Pending, SourceError, SourceKind, Task, TaskSource,
};
use crate::claims::Claim;
use crate::config::{Config, Employee};
use crate::labels;
use crate::secrets::Secret;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use listen::{Board, Wake};
use schema::{DELEGATE_AUTHOR, Table, literal, quote};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// PostgreSQL as people and settings see it.
pub const INFO: super::SourceInfo = super::SourceInfo {
    kind: SourceKind::Postgres,
    title: "PostgreSQL",
    target_noun: "table",
    target_words: "a PostgreSQL table",
    settings: &[
        Setting {
            key: "pg_table",
            label: "Table",
            hint: "Empty: delegate_tasks, which Delegate creates when it is missing.",
            example: "delegate_tasks",
            required: false,
            target: true,
            words: "table {}",
            first_run: false,
            check: Some(schema::check_table),
        },
        Setting {
            key: "pg_employee",
            label: "Rows for",
            hint: "The value of the table's employee column for this employee's rows. Empty: the employee's name.",
            example: "Writer",
            required: false,
            target: false,
            words: " (rows for “{}”)",
            first_run: false,
            check: None,
        },
    ],
    task_word: "task",
    // A `text` column: the end comment is never cut.
    comment_chars: 1_000_000,
    taken_words: "Pending rows of this table for this employee",
    token_name: "connection URL",
    token_elsewhere: "",
    token_env: Some("DATABASE_URL"),
    token_tool: None,
    default_api_url: None,
    api_url_env: None,
    keychain_entry: Some("postgres-password"),
    token_help: "from whoever runs the database: a role and its password, written as \
        `postgres://role:password@host:5432/database` (add `?sslmode=require` for TLS). The role \
        needs SELECT, INSERT, UPDATE and DELETE on Delegate's tables (`delegate postgres init \
        --print` shows the SQL to create them)",
    task_links: &[],
    connect: Some(PostgresService::connect),
};

/// The pool and how to name the server in messages.
struct Db {
    pool: Pool,
    /// `host:port/database`, never with the password.
    at: String,
    user: String,
}

impl Db {
    async fn client(&self) -> Result<deadpool_postgres::Object, PostgresError> {
        self.pool.get().await.map_err(|e| self.fail_pool(&e))
    }

    fn fail(&self, e: &tokio_postgres::Error) -> PostgresError {
        match PostgresError::of(&self.at, e) {
            PostgresError::Rejected { at, message, .. } => PostgresError::Rejected {
                at,
                user: self.user.clone(),
                message,
            },
            other => other,
        }
    }

    fn fail_pool(&self, e: &deadpool_postgres::PoolError) -> PostgresError {
        match e {
            deadpool_postgres::PoolError::Backend(e) => self.fail(e),
            _ => PostgresError::of_pool(&self.at, e),
        }
    }
}

/// The connection settings from `[postgres] url` and the secret: a password, or (from
/// `DATABASE_URL`) a whole URL.
fn connection(
    config: &Config,
    secret: &Secret,
) -> Result<
    (
        tokio_postgres::Config,
        Option<tokio_postgres_rustls::MakeRustlsConnect>,
    ),
    PostgresError,
> {
    let raw = secret.expose().trim();
    let whole = raw.starts_with("postgres://") || raw.starts_with("postgresql://");
    let url = if whole {
        raw.to_string()
    } else {
        config.api_url(SourceKind::Postgres)
    };
    if url.trim().is_empty() {
        return Err(PostgresError::NoUrl);
    }
    let mut pc: tokio_postgres::Config =
        url.trim().parse().map_err(|e: tokio_postgres::Error| {
            // The driver's message names the part, never the password.
            PostgresError::BadUrl(e.to_string())
        })?;
    if !whole && !raw.is_empty() {
        pc.password(raw);
    }
    pc.application_name("delegate");
    let timeout = config
        .service(SourceKind::Postgres)
        .timeout_secs
        .unwrap_or(10)
        .clamp(1, 300);
    pc.connect_timeout(Duration::from_secs(timeout));
    pc.keepalives_idle(Duration::from_secs(30));
    let tls = match pc.get_ssl_mode() {
        tokio_postgres::config::SslMode::Require => {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| PostgresError::BadUrl(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
            Some(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        }
        // TLS only when the URL asks for it.
        _ => {
            pc.ssl_mode(tokio_postgres::config::SslMode::Disable);
            None
        }
    };
    Ok((pc, tls))
}

fn server_words(pc: &tokio_postgres::Config) -> String {
    let host = match pc.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = pc.get_ports().first().copied().unwrap_or(5432);
    let db = pc.get_dbname().or(pc.get_user()).unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

/// A table ready for work: its SQL and the type of its id.
struct Ready {
    table: Table,
    id_type: String,
    /// The status and employee columns' types (a person's table may use an enum or a
    /// number): values are written as text cast to them.
    status_type: String,
    employee_type: String,
}

/// The tables of one server, each made ready once (migrated, checked, its statements made)
/// the first time an employee works on it — at its first poll, not when its watcher starts,
/// so a server that is down then is simply tried again at the next poll.
struct Tables {
    db: Arc<Db>,
    mapping: schema::Mapping,
    ready: Mutex<HashMap<String, Arc<Prepared>>>,
}

impl Tables {
    /// The table named `spec` ("" for the default), its schema brought up to date (created
    /// when missing) and its columns checked.
    async fn ready(&self, spec: &str) -> Result<Arc<Prepared>, PostgresError> {
        let table = Table::new(spec, self.mapping.clone())?;
        let key = table.words();
        let mut cache = self.ready.lock().await;
        if let Some(r) = cache.get(&key) {
            return Ok(r.clone());
        }
        let id_type = migrate(&self.db, &table, true).await?.1;
        check_columns(&self.db, &table).await?;
        let c = self.db.client().await?;
        let typed = |column: String| {
            let c = &c;
            let db = &self.db;
            let table = &table;
            async move {
                Ok::<_, PostgresError>(
                    column_type(c, db, table, &column)
                        .await?
                        .unwrap_or_else(|| "text".into()),
                )
            }
        };
        let status_type = typed(table.map.columns.status.clone()).await?;
        let employee_type = typed(table.map.columns.employee.clone()).await?;
        drop(c);
        let ready = Ready {
            table,
            id_type,
            status_type,
            employee_type,
        };
        let r = Arc::new(Prepared {
            sql: Sql::new(&ready),
            ready,
        });
        cache.insert(key, r.clone());
        Ok(r)
    }
}

/// A ready table and its statements.
struct Prepared {
    ready: Ready,
    sql: Sql,
}

/// One PostgreSQL server and role as a [`super::Service`].
pub struct PostgresService {
    db: Arc<Db>,
    mapping: schema::Mapping,
    tables: Arc<Tables>,
    sources: Mutex<HashMap<(String, String), Arc<PostgresSource>>>,
    board: Arc<Board>,
    channels: tokio::sync::mpsc::UnboundedSender<String>,
    listener: std::sync::Mutex<Option<ListenerStart>>,
    _stop: tokio_util::sync::DropGuard,
}

/// What starts the listening connection, the first time a table is watched.
struct ListenerStart {
    config: tokio_postgres::Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    channels: tokio::sync::mpsc::UnboundedReceiver<String>,
    stop: tokio_util::sync::CancellationToken,
}

impl PostgresService {
    pub fn connect(
        config: &Config,
        secret: Secret,
    ) -> Result<Arc<dyn super::Service>, SourceError> {
        Ok(Arc::new(Self::open(config, &secret)?))
    }

    pub fn open(config: &Config, secret: &Secret) -> Result<Self, PostgresError> {
        let mapping = schema::Mapping::from_settings(&config.service(SourceKind::Postgres))?;
        let (pc, tls) = connection(config, secret)?;
        let at = server_words(&pc);
        let user = pc.get_user().unwrap_or("").to_string();
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &tls {
            Some(tls) => Manager::from_config(pc.clone(), tls.clone(), manager_config),
            None => Manager::from_config(pc.clone(), tokio_postgres::NoTls, manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(4)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(pc.get_connect_timeout().copied())
            .build()
            .map_err(|e| PostgresError::BadUrl(e.to_string()))?;
        let (channels, rx) = tokio::sync::mpsc::unbounded_channel();
        let stop = tokio_util::sync::CancellationToken::new();
        let db = Arc::new(Db { pool, at, user });
        Ok(Self {
            tables: Arc::new(Tables {
                db: db.clone(),
                mapping: mapping.clone(),
                ready: Mutex::new(HashMap::new()),
            }),
            db,
            mapping,
            sources: Mutex::new(HashMap::new()),
            board: Arc::new(Board::default()),
            channels,
            listener: std::sync::Mutex::new(Some(ListenerStart {
                config: pc,
                tls,
                channels: rx,
                stop: stop.clone(),
            })),
            _stop: stop.drop_guard(),
        })
    }

    /// The table named `spec`, ready for work (see [`Tables::ready`]).
    async fn ready(&self, spec: &str) -> Result<Arc<Prepared>, PostgresError> {
        self.tables.ready(spec).await
    }

    /// `delegate postgres init`: applies Delegate's migrations to the table (or, with
    /// `print`, only returns their SQL). Returns what was done, in words or SQL.
    pub async fn init(&self, spec: &str, print: bool) -> Result<String, PostgresError> {
        let table = Table::new(spec, self.mapping.clone())?;
        if print {
            let (version, id_type) = match versions(&self.db, &table).await {
                Ok(v) => v,
                // A DBA's script is wanted even when this role cannot read the server yet.
                Err(PostgresError::Unreachable { .. }) => (0, "bigint".into()),
                Err(e) => return Err(e),
            };
            return Ok(table.script(version, &id_type));
        }
        let (applied, _) = migrate(&self.db, &table, false).await?;
        check_columns(&self.db, &table).await?;
        Ok(if applied.is_empty() {
            format!("{} is up to date in {}", table.words(), self.db.at)
        } else {
            format!(
                "{} in {}: applied version{} {}",
                table.words(),
                self.db.at,
                if applied.len() == 1 { "" } else { "s" },
                applied
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    fn start_listening(&self) {
        let start = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(s) = start {
            tokio::spawn(listen::run(
                s.config,
                s.tls,
                self.board.clone(),
                s.channels,
                s.stop,
            ));
        }
    }
}

/// The whole script for a new table with `config`'s mapping, without asking the server
/// (`delegate postgres init --print` with no connection).
pub fn offline_script(config: &Config, table: &str) -> Result<String, PostgresError> {
    let mapping = schema::Mapping::from_settings(&config.service(SourceKind::Postgres))?;
    Ok(Table::new(table, mapping)?.script(0, "bigint"))
}

/// The table's schema version and the type of its id column (`bigint` before it exists).
async fn versions(db: &Db, table: &Table) -> Result<(u32, String), PostgresError> {
    let c = db.client().await?;
    let row = c
        .query_one(
            &format!(
                "SELECT (SELECT version FROM {v} WHERE tbl = $1) FROM (SELECT to_regclass({v_lit}) AS r) x WHERE r IS NOT NULL
                 UNION ALL SELECT NULL LIMIT 1",
                v = schema::versions_table(),
                v_lit = literal(schema::versions_table())
            ),
            &[&table.words()],
        )
        .await;
    // The versions table may not exist yet: then version 0.
    let version = match row {
        Ok(r) => r.get::<_, Option<i32>>(0).unwrap_or(0).max(0) as u32,
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => 0,
        Err(e) => return Err(db.fail(&e)),
    };
    let id_type = id_type(&c, db, table).await?;
    Ok((version, id_type.unwrap_or_else(|| "bigint".into())))
}

async fn id_type<C: deadpool_postgres::GenericClient>(
    c: &C,
    db: &Db,
    table: &Table,
) -> Result<Option<String>, PostgresError> {
    column_type(c, db, table, &table.map.columns.id).await
}

/// A column's type as SQL names it (`bigint`, `uuid`, `post_state`), if the table has it.
async fn column_type<C: deadpool_postgres::GenericClient>(
    c: &C,
    db: &Db,
    table: &Table,
    column: &str,
) -> Result<Option<String>, PostgresError> {
    let row = c
        .query_opt(
            "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
             WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped",
            &[&table.tasks(), &column],
        )
        .await
        .map_err(|e| db.fail(&e))?;
    Ok(row.map(|r| r.get(0)))
}

/// Applies the migrations the table lacks, under an advisory lock (engines starting
/// together apply them once). `auto`: as a side effect of starting work, so a role that may
/// not create tables is told to ask for `init`. Returns the versions applied and the id's
/// type.
async fn migrate(db: &Db, table: &Table, auto: bool) -> Result<(Vec<u32>, String), PostgresError> {
    let (version, _) = versions(db, table).await?;
    let latest = table.migrations_after(0, "bigint").len() as u32;
    // A table dropped since it was made is made again.
    let exists = id_type(&db.client().await?, db, table).await?.is_some();
    if version >= latest && exists {
        let t = id_type(&db.client().await?, db, table).await?;
        return match t {
            Some(t) => Ok((Vec::new(), t)),
            None => Err(PostgresError::NoTable {
                at: db.at.clone(),
                table: table.words(),
            }),
        };
    }
    let mut c = db.client().await?;
    let tx = c.transaction().await.map_err(|e| db.fail(&e))?;
    let privilege = |e: tokio_postgres::Error| match db.fail(&e) {
        PostgresError::Privilege { at, message, .. } => PostgresError::Privilege {
            at,
            what: if auto {
                format!(
                    "create Delegate's tables for {} (run `delegate postgres init --print` and have the database's owner run it)",
                    table.words()
                )
            } else {
                format!("create Delegate's tables for {}", table.words())
            },
            message,
        },
        other => other,
    };
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('delegate:' || $1))",
        &[&table.words()],
    )
    .await
    .map_err(privilege)?;
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {} (tbl text PRIMARY KEY, version integer NOT NULL)",
        schema::versions_table()
    ))
    .await
    .map_err(privilege)?;
    let version: u32 = tx
        .query_opt(
            &format!(
                "SELECT version FROM {} WHERE tbl = $1",
                schema::versions_table()
            ),
            &[&table.words()],
        )
        .await
        .map_err(privilege)?
        .map(|r| r.get::<_, i32>(0).max(0) as u32)
        .unwrap_or(0);
    let id = id_type(&tx, db, table).await?;
    let version = if id.is_some() { version } else { 0 };
    let id = id.unwrap_or_else(|| "bigint".into());
    let mut applied = Vec::new();
    for (v, sql) in table.migrations_after(version, &id) {
        tx.batch_execute(&sql).await.map_err(privilege)?;
        tx.execute(
            &format!(
                "INSERT INTO {} (tbl, version) VALUES ($1, $2) ON CONFLICT (tbl) DO UPDATE SET version = EXCLUDED.version",
                schema::versions_table()
            ),
            &[&table.words(), &(v as i32)],
        )
        .await
        .map_err(privilege)?;
        applied.push(v);
    }
    tx.commit().await.map_err(privilege)?;
    if !applied.is_empty() {
        tracing::info!(table = %table.words(), versions = ?applied, "PostgreSQL tables brought up to date");
    }
    let id = id_type(&db.client().await?, db, table).await?.unwrap_or(id);
    Ok((applied, id))
}

/// Every column the mapping names is in the table.
async fn check_columns(db: &Db, table: &Table) -> Result<(), PostgresError> {
    let c = db.client().await?;
    let rows = c
        .query(
            "SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
            &[&table.tasks()],
        )
        .await
        .map_err(|e| db.fail(&e))?;
    if rows.is_empty() {
        return Err(PostgresError::NoTable {
            at: db.at.clone(),
            table: table.words(),
        });
    }
    let have: HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
    let m = &table.map.columns;
    let wanted = [
        ("id", &m.id),
        ("employee", &m.employee),
        ("title", &m.title),
        ("description", &m.description),
        ("status", &m.status),
        ("priority", &m.priority),
        ("due", &m.due),
        ("attempts", &m.attempts),
        ("claimed_by", &m.claimed_by),
        ("claim_id", &m.claim_id),
        ("lease_until", &m.lease_until),
        ("result", &m.result),
        ("drafts", &m.drafts),
        ("created_at", &m.created_at),
        ("updated_at", &m.updated_at),
    ];
    for (key, column) in wanted {
        if !have.contains(column.as_str()) {
            return Err(PostgresError::NoColumn {
                at: db.at.clone(),
                table: table.words(),
                column: column.clone(),
                key,
            });
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl super::Service for PostgresService {
    fn kind(&self) -> SourceKind {
        SourceKind::Postgres
    }

    async fn who(&self) -> Result<String, SourceError> {
        let c = self.db.client().await?;
        let r = c
            .query_one(
                "SELECT current_user::text, current_database()::text, current_setting('server_version')",
                &[],
            )
            .await
            .map_err(|e| self.db.fail(&e))?;
        let (user, db, version): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        Ok(format!(
            "{user} on {db} (PostgreSQL {version}) at {}",
            self.db.at
        ))
    }

    /// Tables with the mapping's employee and status columns (and the default table, which
    /// is created on first use).
    async fn targets(&self) -> Result<Vec<super::service::Target>, SourceError> {
        let c = self.db.client().await?;
        let m = &self.mapping.columns;
        let rows = c
            .query(
                "SELECT table_schema::text, table_name::text, table_schema = current_schema() FROM information_schema.columns
                 WHERE column_name IN ($1, $2) AND table_schema NOT IN ('pg_catalog', 'information_schema')
                 GROUP BY table_schema, table_name HAVING count(*) = 2 ORDER BY 3 DESC, 2",
                &[&m.employee, &m.status],
            )
            .await
            .map_err(|e| self.db.fail(&e))?;
        let mut out: Vec<super::service::Target> = rows
            .iter()
            .map(|r| {
                let (schema, name, here): (String, String, bool) = (r.get(0), r.get(1), r.get(2));
                let value = if here {
                    name
                } else {
                    format!("{schema}.{name}")
                };
                super::service::Target {
                    name: value.clone(),
                    value,
                }
            })
            .collect();
        if !out.iter().any(|t| t.value == schema::DEFAULT_TABLE) {
            out.insert(
                0,
                super::service::Target {
                    value: schema::DEFAULT_TABLE.into(),
                    name: format!("{} (created on first use)", schema::DEFAULT_TABLE),
                },
            );
        }
        Ok(out)
    }

    async fn source_for(&self, employee: &Employee) -> Result<super::Source, SourceError> {
        let spec = employee.setting("pg_table").unwrap_or_default().to_string();
        let table = Table::new(&spec, self.mapping.clone())?;
        let who = employee
            .setting("pg_employee")
            .unwrap_or(&employee.name)
            .to_string();
        let key = (table.words(), who.clone());
        let mut sources = self.sources.lock().await;
        if let Some(s) = sources.get(&key) {
            return Ok(s.clone());
        }
        let wake = Arc::new(Wake::default());
        let channel = table.channel();
        if self.board.add(&channel, &who, wake.clone()) {
            let _ = self.channels.send(channel);
        }
        self.start_listening();
        let source = Arc::new(PostgresSource {
            db: self.db.clone(),
            tables: self.tables.clone(),
            spec,
            table,
            who,
            wake,
            view: Mutex::new(View::default()),
            prepared: tokio::sync::OnceCell::new(),
        });
        sources.insert(key, source.clone());
        Ok(source)
    }

    /// The table: its columns, the trigger that wakes engines, the role's privileges and
    /// the rows waiting.
    async fn check(&self, employee: &Employee) -> Result<String, SourceError> {
        let prepared = self
            .ready(employee.setting("pg_table").unwrap_or_default())
            .await?;
        let t = &prepared.ready.table;
        let who = employee.setting("pg_employee").unwrap_or(&employee.name);
        let c = self.db.client().await?;
        let privileges = c
            .query_one(
                "SELECT bool_and(has_table_privilege(x, p))
                 FROM unnest($1::text[]) x, unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p",
                &[&vec![t.tasks(), t.comments(), t.files(), t.applied()]],
            )
            .await
            .map_err(|e| self.db.fail(&e))?
            .get::<_, Option<bool>>(0)
            .unwrap_or(false);
        if !privileges {
            return Err(PostgresError::Privilege {
                at: self.db.at.clone(),
                what: format!("read and write {} and its companions", t.words()),
                message: "missing SELECT, INSERT, UPDATE or DELETE".into(),
            }
            .into());
        }
        let trigger: bool = c
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2)",
                &[&t.tasks(), &format!("{}_notify", t.name)],
            )
            .await
            .map_err(|e| self.db.fail(&e))?
            .get(0);
        let pending: i64 = c
            .query_one(
                &format!(
                    "SELECT count(*) FROM {} WHERE {} = $1 AND {} = {}",
                    t.tasks(),
                    t.col(|c| &c.employee),
                    t.col(|c| &c.status),
                    literal(&t.map.statuses.pending)
                ),
                &[&who],
            )
            .await
            .map_err(|e| self.db.fail(&e))?
            .get(0);
        Ok(format!(
            "table {} in {}: {pending} pending row{} for “{who}”; {}",
            t.words(),
            self.db.at,
            if pending == 1 { "" } else { "s" },
            if trigger {
                "new rows wake Delegate at once (NOTIFY trigger in place)"
            } else {
                "no NOTIFY trigger: new rows wait for the next poll (run `delegate postgres init`)"
            }
        ))
    }

    async fn invalidate(&self) {
        for s in self.sources.lock().await.values() {
            s.wake.stale.store(true, Ordering::SeqCst);
        }
    }

    async fn prepare(&self, target: &str, print: bool) -> Result<String, SourceError> {
        Ok(self.init(target, print).await?)
    }
}

/// A row as the worker needs it, and its version.
#[derive(Debug, Clone)]
struct Row {
    task: Task,
    status: String,
    /// `updated_at` as read (none in a person's table that leaves it empty).
    version: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct View {
    rows: Vec<Row>,
    comments: HashMap<String, Vec<Comment>>,
    /// Tasks whose comments this machine changed since the read: asked of the server.
    forgotten: HashSet<String>,
    read: Option<Instant>,
    /// The server's clock at the read, and when that was here.
    server_now: Option<(DateTime<Utc>, Instant)>,
}

/// One employee's rows of one table.
pub struct PostgresSource {
    db: Arc<Db>,
    tables: Arc<Tables>,
    /// The table as the employee names it, and as parsed (its words and statuses).
    spec: String,
    table: Table,
    who: String,
    wake: Arc<Wake>,
    view: Mutex<View>,
    prepared: tokio::sync::OnceCell<Arc<Prepared>>,
}

/// The statements, made once per source.
struct Sql {
    list: String,
    comments: String,
    one: String,
    one_comments: String,
    claim: String,
    holder: String,
    renew: String,
    set_state: String,
    add_comment: String,
    edit_comment: String,
    delete_comments: String,
    applied: String,
    upload: String,
    close: String,
    add_task: String,
}

impl Sql {
    fn new(r: &Ready) -> Self {
        let t = &r.table;
        let c = &t.map.columns;
        let s = &t.map.statuses;
        let q = quote;
        let tasks = t.tasks();
        let comments = t.comments();
        let id_is = format!("{} = CAST($1::text AS {})", q(&c.id), r.id_type);
        let fields = format!(
            "{id}::text, coalesce({title}::text, ''), coalesce({description}::text, ''), {status}::text, \
             coalesce({priority}::int4, 1), to_json({due}) #>> '{{}}', coalesce({attempts}::int4, 0), \
             {updated_at}::timestamptz, now()",
            id = q(&c.id),
            title = q(&c.title),
            description = q(&c.description),
            status = q(&c.status),
            priority = q(&c.priority),
            due = q(&c.due),
            attempts = q(&c.attempts),
            updated_at = q(&c.updated_at),
        );
        let open = format!(
            "{}::text = $1 AND {}::text IN ({})",
            q(&c.employee),
            q(&c.status),
            t.open_statuses()
        );
        let not_working = format!(
            "CASE WHEN $2::text = {working} THEN {{col}} ELSE NULL END",
            working = literal(&s.working)
        );
        Self {
            list: format!(
                "SELECT {fields} FROM {tasks} WHERE {open} ORDER BY {created}, {id}",
                created = q(&c.created_at),
                id = q(&c.id)
            ),
            comments: format!(
                "SELECT c.task_id::text, c.id, c.body, c.created_at FROM {comments} c
                 JOIN {tasks} t ON t.{id} = c.task_id
                 WHERE t.{employee}::text = $1 AND t.{status}::text IN ({open_st}) ORDER BY c.task_id, c.id",
                id = q(&c.id),
                employee = q(&c.employee),
                status = q(&c.status),
                open_st = t.open_statuses(),
            ),
            one: format!("SELECT {fields} FROM {tasks} WHERE {id_is}"),
            one_comments: format!(
                "SELECT c.id, c.body, c.created_at FROM {comments} c
                 WHERE c.task_id = CAST($1::text AS {}) ORDER BY c.id",
                r.id_type
            ),
            // Takes the row only if it is this employee's, open, unchanged since it was read
            // ($3, when known) and not held by a live lease (or held by one of this machine's
            // dead claims, $4); a row another claim is taking right now is skipped, not waited
            // for. The claim comment is written in the same statement.
            claim: format!(
                "WITH target AS (
                    SELECT {id} FROM {tasks}
                    WHERE {id_is} AND {employee}::text = $2 AND {status}::text IN ({open_st})
                      AND ($3::timestamptz IS NULL OR {updated_at}::timestamptz = $3)
                      AND ({status}::text <> {working} OR {lease_until} IS NULL OR {lease_until} < now()
                           OR {claim_id} = ANY($4::text[]))
                    FOR UPDATE SKIP LOCKED
                 ), won AS (
                    UPDATE {tasks} t SET {status} = {working}, {claimed_by} = $5, {claim_id} = $6,
                        {lease_until} = now() + make_interval(secs => $7::float8),
                        {updated_at} = clock_timestamp()
                    FROM target WHERE t.{id} = target.{id}
                    RETURNING t.{id} AS id, t.{updated_at}::timestamptz AS v
                 ), note AS (
                    INSERT INTO {comments} (task_id, author, body)
                    SELECT id, {delegate}, $8 FROM won RETURNING id
                 )
                 SELECT (SELECT id FROM note), (SELECT v FROM won)",
                id = q(&c.id),
                employee = q(&c.employee),
                status = q(&c.status),
                open_st = t.open_statuses(),
                updated_at = q(&c.updated_at),
                working = literal(&s.working),
                lease_until = q(&c.lease_until),
                claim_id = q(&c.claim_id),
                claimed_by = q(&c.claimed_by),
                delegate = literal(DELEGATE_AUTHOR),
            ),
            holder: format!(
                "SELECT coalesce({}, ''), {}::text, coalesce({}, '') FROM {tasks} WHERE {id_is}",
                q(&c.claimed_by),
                q(&c.status),
                q(&c.claim_id)
            ),
            // The lease counts from the claim comment's own stamp (as the worker computes
            // it); the comment carries the new lease. Nothing changes unless the claim still
            // holds the row.
            renew: format!(
                "WITH l AS (
                    UPDATE {tasks} SET {lease_until} =
                        (SELECT created_at FROM {comments} WHERE id = $4) + make_interval(secs => $3::float8)
                    WHERE {id_is} AND {claim_id} = $2 RETURNING 1
                 ), n AS (
                    UPDATE {comments} SET body = $5 WHERE id = $4 AND EXISTS (SELECT 1 FROM l) RETURNING 1
                 )
                 SELECT count(*) FROM l",
                lease_until = q(&c.lease_until),
                claim_id = q(&c.claim_id),
            ),
            // $2 status, $3 attempts, $4 result (kept when null), $5 draft file ids (drafts
            // kept when null).
            set_state: format!(
                "UPDATE {tasks} SET {status} = CAST($2::text AS {status_type}),
                    {attempts} = CASE WHEN $2::text = {failed} THEN greatest(coalesce({attempts}, 0) + 1, $3::int4) ELSE $3::int4 END,
                    {claimed_by} = {cb}, {claim_id} = {ci}, {lease_until} = {lu},
                    {result} = coalesce($4, {result}),
                    {drafts} = CASE WHEN $5::text[] IS NULL THEN {drafts} ELSE (
                        SELECT coalesce(jsonb_agg(jsonb_build_object('name', f.name, 'text', f.content) ORDER BY f.created_at), '[]'::jsonb)
                        FROM {files} f WHERE f.id = ANY($5::text[]::uuid[])) END,
                    {updated_at} = clock_timestamp()
                 WHERE {id_is} AND ($6::text IS NULL OR {claim_id} = $6)
                 RETURNING {updated_at}::timestamptz",
                status = q(&c.status),
                attempts = q(&c.attempts),
                failed = literal(&s.failed),
                status_type = r.status_type,
                claimed_by = q(&c.claimed_by),
                claim_id = q(&c.claim_id),
                lease_until = q(&c.lease_until),
                cb = not_working.replace("{col}", &q(&c.claimed_by)),
                ci = not_working.replace("{col}", &q(&c.claim_id)),
                lu = not_working.replace("{col}", &q(&c.lease_until)),
                result = q(&c.result),
                drafts = q(&c.drafts),
                files = t.files(),
                updated_at = q(&c.updated_at),
            ),
            add_comment: format!(
                "INSERT INTO {comments} (task_id, author, body) VALUES (CAST($1::text AS {}), $2, $3) RETURNING id",
                r.id_type
            ),
            edit_comment: format!(
                "UPDATE {comments} SET body = $2 WHERE id = $1 AND task_id = CAST($3::text AS {})",
                r.id_type
            ),
            delete_comments: format!(
                "DELETE FROM {comments} WHERE id = ANY($2::int8[]) AND task_id = CAST($1::text AS {})",
                r.id_type
            ),
            applied: format!(
                "INSERT INTO {} (id) VALUES ($1) ON CONFLICT (id) DO NOTHING",
                t.applied()
            ),
            upload: format!(
                "INSERT INTO {} (id, task_id, name, content) VALUES ($1::text::uuid, CAST($2::text AS {}), $3, $4)",
                t.files(),
                r.id_type
            ),
            close: format!(
                "UPDATE {tasks} SET {status} = {done}, {claimed_by} = NULL, {claim_id} = NULL, {lease_until} = NULL,
                    {updated_at} = clock_timestamp() WHERE {id_is}",
                status = q(&c.status),
                done = literal(&s.done),
                claimed_by = q(&c.claimed_by),
                claim_id = q(&c.claim_id),
                lease_until = q(&c.lease_until),
                updated_at = q(&c.updated_at),
            ),
            add_task: format!(
                "INSERT INTO {tasks} ({employee}, {title}, {description}, {priority}, {status})
                 VALUES (CAST($1::text AS {employee_type}), $2, $3, $4::int4, {pending}) RETURNING {id}::text",
                employee_type = r.employee_type,
                employee = q(&c.employee),
                title = q(&c.title),
                description = q(&c.description),
                priority = q(&c.priority),
                status = q(&c.status),
                pending = literal(&s.pending),
                id = q(&c.id),
            ),
        }
    }
}

/// The labels a row's status and attempts read as.
fn labels_of(s: &schema::Statuses, status: &str, attempts: i32) -> Vec<String> {
    let mut out = Vec::new();
    let retry = |out: &mut Vec<String>| {
        if attempts > 0 {
            out.push(format!("agent-retry-{attempts}"));
        }
    };
    if status == s.working {
        retry(&mut out);
        out.push(labels::WORKING.into());
    } else if status == s.review {
        out.push(labels::DONE.into());
    } else if status == s.needs_input {
        out.push(labels::NEEDS_INPUT.into());
    } else if status == s.failed {
        out.push(labels::FAILED.into());
    } else {
        retry(&mut out);
    }
    out
}

/// The status and attempts the worker's labels stand for.
fn state_of<'a>(s: &'a schema::Statuses, l: &[String]) -> (&'a str, i32) {
    let has = |x: &str| l.iter().any(|y| y == x);
    let attempts = labels::failures(l) as i32;
    let status = if has(labels::WORKING) {
        &s.working
    } else if has(labels::NEEDS_INPUT) {
        &s.needs_input
    } else if has(labels::DONE) {
        &s.review
    } else if has(labels::FAILED) {
        &s.failed
    } else {
        &s.pending
    };
    (status, attempts)
}

/// The file id in a [`FileRef`]'s address (`postgres:<table>/files/<uuid>`).
fn file_id(f: &FileRef) -> Option<String> {
    let id = f.url.rsplit('/').next()?;
    uuid::Uuid::parse_str(id).ok().map(|u| u.to_string())
}

impl PostgresSource {
    /// The table, made ready on first use (tried again at the next call after a failure).
    async fn p(&self) -> Result<Arc<Prepared>, SourceError> {
        Ok(self
            .prepared
            .get_or_try_init(|| self.tables.ready(&self.spec))
            .await?
            .clone())
    }

    fn statuses(&self) -> &schema::Statuses {
        &self.table.map.statuses
    }

    fn gone(&self, id: &str) -> SourceError {
        PostgresError::NoSuchTask {
            id: id.to_string(),
            table: self.table.words(),
        }
        .into()
    }

    fn row(&self, r: &tokio_postgres::Row, order: i64) -> Row {
        let status: String = r.get(3);
        let attempts: i32 = r.get(6);
        let id: String = r.get(0);
        Row {
            task: Task {
                order: id.parse().unwrap_or(order),
                id,
                title: r.get(1),
                description: r.get(2),
                labels: labels_of(self.statuses(), &status, attempts),
                priority: r.get::<_, i32>(4).clamp(1, 4) as u8,
                due: r.get(5),
                recurring: false,
                updated_at: r.get(7),
                url: None,
            },
            status,
            version: r.get(7),
        }
    }

    /// Reads the rows and their comments unless the view is younger than `max_age` and
    /// nothing woke it.
    async fn refresh(&self, max_age: Duration) -> Result<(), SourceError> {
        let p = self.p().await?;
        let mut view = self.view.lock().await;
        let stale = self.wake.stale.swap(false, Ordering::SeqCst);
        if !stale && view.read.is_some_and(|t| t.elapsed() < max_age) {
            return Ok(());
        }
        let c = self.db.client().await?;
        let rows = c
            .query(&p.sql.list, &[&self.who])
            .await
            .map_err(|e| self.db.fail(&e))?;
        let notes = c
            .query(&p.sql.comments, &[&self.who])
            .await
            .map_err(|e| self.db.fail(&e))?;
        view.server_now = rows
            .first()
            .map(|r| (r.get::<_, DateTime<Utc>>(8), Instant::now()));
        view.rows = rows
            .iter()
            .enumerate()
            .map(|(i, r)| self.row(r, i as i64))
            .collect();
        let mut comments: HashMap<String, Vec<Comment>> = HashMap::new();
        for n in &notes {
            comments.entry(n.get(0)).or_default().push(Comment {
                id: n.get::<_, i64>(1).to_string(),
                content: n.get(2),
                posted_at: Some(n.get(3)),
            });
        }
        view.comments = comments;
        view.forgotten.clear();
        view.read = Some(Instant::now());
        Ok(())
    }

    /// Records this machine's own write in the view: the row's new status, labels and
    /// version (so the next claim of it is not refused as changed by someone else).
    async fn remember(&self, task_id: &str, labels: &[String], version: Option<DateTime<Utc>>) {
        let (status, _) = state_of(self.statuses(), labels);
        let status = status.to_string();
        let mut view = self.view.lock().await;
        if let Some(row) = view.rows.iter_mut().find(|r| r.task.id == task_id) {
            row.task.labels = labels.to_vec();
            row.status = status;
            if version.is_some() {
                row.version = version;
                row.task.updated_at = version;
            }
        }
    }

    async fn forget_comments(&self, task_id: &str) {
        let mut view = self.view.lock().await;
        view.comments.remove(task_id);
        // The next read of this task's comments goes to the server (only this task's).
        view.forgotten.insert(task_id.to_string());
    }

    async fn apply(&self, f: &Finish) -> Result<(), SourceError> {
        let p = self.p().await?;
        let mut c = self.db.client().await?;
        let fail = |e: tokio_postgres::Error| SourceError::from(self.db.fail(&e));
        let tx = c.transaction().await.map_err(fail)?;
        let fresh = tx
            .execute(&p.sql.applied, &[&f.ids[1]])
            .await
            .map_err(fail)?
            == 1;
        let mut version = None;
        // The end of a run whose claim no longer holds the row (it slept past its lease and
        // another machine took over): only its own comments go.
        let mut stale = false;
        if fresh {
            if let Some(labels) = &f.labels {
                let (status, attempts) = state_of(self.statuses(), labels);
                // The drafts change with a successful end only.
                let files: Option<Vec<String>> = (f.text.is_some()
                    && labels.iter().any(|l| l == labels::DONE))
                .then(|| f.files.iter().filter_map(file_id).collect());
                let row = tx
                    .query_opt(
                        &p.sql.set_state,
                        &[&f.task_id, &status, &attempts, &f.text, &files, &f.claim],
                    )
                    .await
                    .map_err(fail)?;
                match row {
                    Some(r) => version = r.get::<_, Option<DateTime<Utc>>>(0),
                    None => {
                        let holder = tx
                            .query_opt(&p.sql.holder, &[&f.task_id])
                            .await
                            .map_err(fail)?;
                        let Some(holder) = holder else {
                            return Err(self.gone(&f.task_id));
                        };
                        let machine: String = holder.get(0);
                        tracing::warn!(task = %f.task_id, holder = %machine, "this run's claim no longer holds the row (its lease ran out and another machine took over); its end is not applied");
                        stale = true;
                    }
                }
            }
            if let Some(text) = f.text.as_ref().filter(|_| !stale) {
                tx.execute(&p.sql.add_comment, &[&f.task_id, &DELEGATE_AUTHOR, text])
                    .await
                    .map_err(fail)?;
            }
            let deletes: Vec<i64> = f
                .delete_note
                .iter()
                .chain(&f.delete_more)
                .filter_map(|n| n.parse().ok())
                .collect();
            if !deletes.is_empty() {
                tx.execute(&p.sql.delete_comments, &[&f.task_id, &deletes])
                    .await
                    .map_err(fail)?;
            }
            if f.close.is_some() && !stale {
                tx.execute(&p.sql.close, &[&f.task_id])
                    .await
                    .map_err(fail)?;
            }
        }
        tx.commit().await.map_err(fail)?;
        if let Some(labels) = f.labels.as_ref().filter(|_| !stale) {
            self.remember(&f.task_id, labels, version).await;
        } else if stale {
            self.wake.stale.store(true, Ordering::SeqCst);
        }
        self.forget_comments(&f.task_id).await;
        Ok(())
    }

    async fn write_state(&self, task_id: &str, labels: &[String]) -> Result<(), SourceError> {
        let p = self.p().await?;
        let (status, attempts) = state_of(self.statuses(), labels);
        let none: Option<String> = None;
        let no_files: Option<Vec<String>> = None;
        let c = self.db.client().await?;
        let row = c
            .query_opt(
                &p.sql.set_state,
                &[&task_id, &status, &attempts, &none, &no_files, &none],
            )
            .await
            .map_err(|e| self.db.fail(&e))?;
        let Some(row) = row else {
            return Err(self.gone(task_id));
        };
        self.remember(task_id, labels, row.get(0)).await;
        Ok(())
    }

    /// Adds a row for this employee; returns its id.
    pub async fn insert(
        &self,
        title: &str,
        description: &str,
        priority: u8,
    ) -> Result<String, SourceError> {
        let p = self.p().await?;
        let c = self.db.client().await?;
        let row = c
            .query_one(
                &p.sql.add_task,
                &[
                    &self.who,
                    &title,
                    &description,
                    &(priority.clamp(1, 4) as i32),
                ],
            )
            .await
            .map_err(|e| self.db.fail(&e))?;
        self.wake.stale.store(true, Ordering::SeqCst);
        Ok(row.get(0))
    }
}

#[async_trait::async_trait]
impl TaskSource for PostgresSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Postgres
    }

    async fn open_tasks(&self, max_age: Duration) -> Result<Vec<Task>, SourceError> {
        self.refresh(max_age).await?;
        Ok(self
            .view
            .lock()
            .await
            .rows
            .iter()
            .map(|r| r.task.clone())
            .collect())
    }

    async fn comments(
        &self,
        task_id: &str,
        max_age: Duration,
    ) -> Result<Vec<Comment>, SourceError> {
        let p = self.p().await?;
        {
            let view = self.view.lock().await;
            let fresh = view.read.is_some_and(|t| t.elapsed() < max_age)
                && !self.wake.stale.load(Ordering::SeqCst);
            if fresh
                && !view.forgotten.contains(task_id)
                && view.rows.iter().any(|r| r.task.id == task_id)
            {
                return Ok(view.comments.get(task_id).cloned().unwrap_or_default());
            }
        }
        let c = self.db.client().await?;
        let rows = c
            .query(&p.sql.one_comments, &[&task_id])
            .await
            .map_err(|e| self.db.fail(&e))?;
        let comments: Vec<Comment> = rows
            .iter()
            .map(|n| Comment {
                id: n.get::<_, i64>(0).to_string(),
                content: n.get(1),
                posted_at: Some(n.get(2)),
            })
            .collect();
        let mut view = self.view.lock().await;
        if view.forgotten.remove(task_id) {
            view.comments.insert(task_id.to_string(), comments.clone());
        }
        Ok(comments)
    }

    async fn now(&self) -> DateTime<Utc> {
        match self.view.lock().await.server_now {
            Some((t, at)) => t + chrono::Duration::from_std(at.elapsed()).unwrap_or_default(),
            None => Utc::now(),
        }
    }

    /// One statement decides the claim (see [`Sql::claim`]); the ends that ride along are
    /// applied first.
    async fn claim(
        &self,
        task_id: &str,
        claim: &Claim,
        finishes: &[Finish],
        _not_before: Option<DateTime<Utc>>,
        default_lease: u64,
        dead: &HashSet<String>,
    ) -> Result<Claimed, SourceError> {
        let p = self.p().await?;
        for f in finishes {
            self.apply(f).await?;
        }
        let seen = self
            .view
            .lock()
            .await
            .rows
            .iter()
            .find(|r| r.task.id == task_id)
            .and_then(|r| r.version);
        let dead: Vec<String> = dead.iter().cloned().collect();
        let lease = claim.lease_secs.unwrap_or(default_lease) as f64;
        let c = self.db.client().await?;
        let row = c
            .query_one(
                &p.sql.claim,
                &[
                    &task_id,
                    &self.who,
                    &seen,
                    &dead,
                    &claim.machine,
                    &claim.id,
                    &lease,
                    &claim.text(),
                ],
            )
            .await
            .map_err(|e| self.db.fail(&e))?;
        let note: Option<i64> = row.get(0);
        let version: Option<DateTime<Utc>> = row.get(1);
        match (note, version) {
            (Some(note), v) => {
                let current = self.labels_now(task_id).await.unwrap_or_default();
                self.remember(task_id, &labels::claimed(&current), v).await;
                self.forget_comments(task_id).await;
                Ok(Claimed::Won {
                    note_id: note.to_string(),
                })
            }
            _ => {
                // Someone else has it, or it changed since it was read: read again next time.
                self.wake.stale.store(true, Ordering::SeqCst);
                let holder = c
                    .query_opt(&p.sql.holder, &[&task_id])
                    .await
                    .map_err(|e| self.db.fail(&e))?;
                let Some(holder) = holder else {
                    return Err(self.gone(task_id));
                };
                let machine: String = holder.get(0);
                Ok(Claimed::Lost {
                    machine: if machine.is_empty() {
                        "another machine".into()
                    } else {
                        machine
                    },
                    withdraw: None,
                })
            }
        }
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
        self.view
            .lock()
            .await
            .rows
            .iter()
            .find(|r| r.task.id == task_id)
            .map(|r| r.task.labels.clone())
    }

    async fn posted_at(&self, note: &str, task_id: &str) -> Option<DateTime<Utc>> {
        self.comments(task_id, Duration::ZERO)
            .await
            .ok()?
            .into_iter()
            .find(|c| c.id == note)
            .and_then(|c| c.posted_at)
    }

    async fn send(&self, finishes: &[Finish]) -> Result<(), SourceError> {
        for f in finishes {
            self.apply(f).await?;
        }
        Ok(())
    }

    /// Extends the lease (counted from the claim comment's stamp, as the worker counts it)
    /// while the claim still holds the row; a claim that no longer does is an error.
    async fn renew(
        &self,
        task_id: &str,
        note_id: &str,
        claim: &Claim,
    ) -> Result<String, SourceError> {
        let p = self.p().await?;
        let note: i64 = note_id.parse().map_err(|_| self.gone(task_id))?;
        let lease = claim.lease_secs.unwrap_or(600) as f64;
        let c = self.db.client().await?;
        let held: i64 = c
            .query_one(
                &p.sql.renew,
                &[&task_id, &claim.id, &lease, &note, &claim.text()],
            )
            .await
            .map_err(|e| self.db.fail(&e))?
            .get(0);
        if held == 0 {
            return Err(PostgresError::ClaimLost {
                id: task_id.to_string(),
                table: self.table.words(),
            }
            .into());
        }
        Ok(note_id.to_string())
    }

    /// The machine now holding the row, when it is no longer this claim (its lease ran out
    /// while this machine was away, and another took over).
    async fn rival(
        &self,
        task_id: &str,
        claim_id: &str,
        _known: &HashSet<String>,
        _default_lease: u64,
        _dead: &HashSet<String>,
    ) -> Option<(String, Option<String>)> {
        let p = self.p().await.ok()?;
        let c = self.db.client().await.ok()?;
        let row = c.query_opt(&p.sql.holder, &[&task_id]).await.ok()??;
        let (machine, status, holder): (String, String, String) =
            (row.get(0), row.get(1), row.get(2));
        if holder == claim_id {
            return None;
        }
        tracing::warn!(task = %task_id, holder = %machine, %status, "the row was taken over while this machine was away");
        // Its end stays the other machine's: this run's end is not applied (see `apply`).
        Some((
            if machine.is_empty() {
                "another machine".into()
            } else {
                machine
            },
            None,
        ))
    }

    async fn progress(
        &self,
        task_id: &str,
        note: Option<&str>,
        text: &str,
    ) -> Result<Option<String>, SourceError> {
        let p = self.p().await?;
        let c = self.db.client().await?;
        if let Some(n) = note.and_then(|n| n.parse::<i64>().ok()) {
            c.execute(&p.sql.edit_comment, &[&n, &text, &task_id])
                .await
                .map_err(|e| self.db.fail(&e))?;
            return Ok(Some(n.to_string()));
        }
        let row = c
            .query_one(&p.sql.add_comment, &[&task_id, &DELEGATE_AUTHOR, &text])
            .await
            .map_err(|e| self.db.fail(&e))?;
        Ok(Some(row.get::<_, i64>(0).to_string()))
    }

    async fn finish(&self, finish: &Finish) -> Result<(), SourceError> {
        self.apply(finish).await
    }

    /// A person's words (feedback, an answer) with the labels they bring, in one transaction.
    async fn labels_and_comment(
        &self,
        task_id: &str,
        labels: &[String],
        text: &str,
    ) -> Result<(), SourceError> {
        let p = self.p().await?;
        let (status, attempts) = state_of(self.statuses(), labels);
        let none: Option<String> = None;
        let no_files: Option<Vec<String>> = None;
        let mut c = self.db.client().await?;
        let fail = |e: tokio_postgres::Error| SourceError::from(self.db.fail(&e));
        let tx = c.transaction().await.map_err(fail)?;
        let row = tx
            .query_opt(
                &p.sql.set_state,
                &[&task_id, &status, &attempts, &none, &no_files, &none],
            )
            .await
            .map_err(fail)?;
        let Some(row) = row else {
            return Err(self.gone(task_id));
        };
        tx.execute(&p.sql.add_comment, &[&task_id, &"person", &text])
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        self.remember(task_id, labels, row.get(0)).await;
        self.forget_comments(task_id).await;
        Ok(())
    }

    async fn set_labels(&self, task_id: &str, labels: &[String]) -> Result<(), SourceError> {
        self.write_state(task_id, labels).await
    }

    async fn task(&self, task_id: &str) -> Result<Task, SourceError> {
        let p = self.p().await?;
        let c = self.db.client().await?;
        let row = c
            .query_opt(&p.sql.one, &[&task_id])
            .await
            .map_err(|e| self.db.fail(&e))?;
        match row {
            Some(r) => Ok(self.row(&r, 0).task),
            None => Err(self.gone(task_id)),
        }
    }

    /// Keeps the draft in the table's `_files`; the run's end copies it into the row's
    /// `drafts`.
    async fn upload(
        &self,
        task_id: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<FileRef>, SourceError> {
        let p = self.p().await?;
        let id = uuid::Uuid::new_v4().to_string();
        let size = bytes.len() as u64;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let c = self.db.client().await?;
        c.execute(&p.sql.upload, &[&id, &task_id, &name, &text])
            .await
            .map_err(|e| self.db.fail(&e))?;
        Ok(Some(FileRef {
            name: name.to_string(),
            url: format!("postgres:{}/files/{id}", self.table.words()),
            size: Some(size),
            mime: Some("text/markdown".into()),
        }))
    }

    async fn close(&self, task_id: &str, _labels: Option<&[String]>) -> Result<(), SourceError> {
        let p = self.p().await?;
        let c = self.db.client().await?;
        let n = c
            .execute(&p.sql.close, &[&task_id])
            .await
            .map_err(|e| self.db.fail(&e))?;
        if n == 0 {
            return Err(self.gone(task_id));
        }
        self.wake.stale.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn invalidate(&self) {
        self.wake.stale.store(true, Ordering::SeqCst);
    }

    async fn changed(&self) {
        self.wake.notify.notified().await;
    }

    fn drafts_as_files(&self) -> bool {
        true
    }

    /// The claim itself sets the row to working.
    fn labels_on_claim(&self) -> bool {
        true
    }

    async fn add_task(
        &self,
        title: &str,
        description: &str,
        priority: u8,
    ) -> Result<Option<String>, SourceError> {
        Ok(Some(self.insert(title, description, priority).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn labels_and_states_stand_for_each_other() {
        let s = schema::Statuses::default();
        for labels in [
            l(&[]),
            l(&["agent-retry-2"]),
            l(&["agent-retry-1", "agent-working"]),
            l(&["agent-working"]),
            l(&["agent-done"]),
            l(&["agent-needs-input"]),
            l(&["agent-failed"]),
        ] {
            let (status, attempts) = state_of(&s, &labels);
            assert_eq!(
                labels_of(&s, status, attempts),
                labels,
                "{status} {attempts}"
            );
        }
        assert_eq!(state_of(&s, &labels::failed(&[], 3, 3)).0, "failed");
        assert_eq!(state_of(&s, &labels::failed(&[], 1, 3)), ("pending", 1));
        assert_eq!(labels_of(&s, "archived", 0), Vec::<String>::new());
    }
}
