//! A real PostgreSQL server for tests: a private cluster in a temporary folder (Debian's
//! `postgresql` package, the newest version installed), started on a free loopback port with
//! password login, stopped (or crashed, or restarted) on demand and removed on drop. The
//! server refuses to run as root, so as root the cluster belongs to the `postgres` user.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The superuser the tests log in as.
pub const USER: &str = "delegate";
/// Its password (a test cluster on loopback only).
pub const PASSWORD: &str = "pg-test-3c9e1f7a";

pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Who runs the server (`None`: this user).
    owner: Option<String>,
    pub port: u16,
}

/// The newest PostgreSQL's programs (`/usr/lib/postgresql/N/bin`).
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed: apt-get install postgresql (scripts/test does)")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, b)| b)
        .expect("no /usr/lib/postgresql/N/bin/pg_ctl")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl PgServer {
    /// A new cluster, started.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("delegate-pg-")
            .tempdir()
            .expect("temp dir");
        let root = nix::unistd::Uid::effective().is_root();
        let owner = root.then(|| "postgres".to_string());
        if root {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster folder to postgres");
        }
        let pw = dir.path().join("pw");
        std::fs::write(&pw, PASSWORD).expect("password file");
        if root {
            let _ = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&pw)
                .status();
        }
        let server = Self {
            bin: bin_dir(),
            owner,
            port: free_port(),
            dir,
        };
        let out = server
            .command("initdb")
            .arg("-D")
            .arg(server.data())
            .args(["-U", USER, "-A", "scram-sha-256", "--no-sync", "-E", "UTF8"])
            .args(["--locale", "C.UTF-8"])
            .arg(format!("--pwfile={}", pw.display()))
            .output()
            .expect("initdb");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        server.up();
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        match &self.owner {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        }
    }

    /// Starts the server (again), waiting until it takes connections. `fsync=off` only
    /// matters if the machine itself crashes; `synchronous_commit` stays on, so a commit the
    /// server acknowledged survives the server crashing (`down("immediate")`), as on a real
    /// server (with it off, a crash loses the last commits and a claim can vanish).
    pub fn up(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c full_page_writes=off -c max_connections=300",
            self.port,
            self.dir.path().display()
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .output()
            .expect("pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            self.log()
        );
    }

    /// Stops the server: `fast` disconnects everyone cleanly, `immediate` is a crash.
    pub fn down(&self, mode: &str) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-m", mode, "stop"])
            .output();
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The address of database `db`, with no password (it comes from the keychain or
    /// `DATABASE_URL`).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// The whole address with the password, as `DATABASE_URL` would carry it.
    pub fn url_with_password(&self, db: &str) -> String {
        format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{db}", self.port)
    }

    /// A new, empty database.
    pub async fn database(&self, name: &str) -> String {
        let c = self.connect("postgres").await;
        c.batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create database");
        name.to_string()
    }

    /// A client on `db`, its connection driven in the background.
    pub async fn connect(&self, db: &str) -> tokio_postgres::Client {
        let start = Instant::now();
        loop {
            match tokio_postgres::connect(&self.url_with_password(db), tokio_postgres::NoTls).await
            {
                Ok((client, conn)) => {
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                    return client;
                }
                Err(e) if start.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("connect to the test PostgreSQL: {e}\n{}", self.log()),
            }
        }
    }

    pub fn folder(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.down("immediate");
    }
}

/// Engines as real `delegate run --watch` processes, each its own home and machine name.
pub struct Fleet {
    pub dir: tempfile::TempDir,
    pub records: PathBuf,
    pub homes: Vec<PathBuf>,
    pub children: Vec<Option<Child>>,
    pub url: String,
}

impl Fleet {
    pub fn new(
        server: &PgServer,
        db: &str,
        engines: usize,
        timeout_secs: u64,
        poll_secs: u64,
    ) -> Self {
        let dir = tempfile::tempdir().expect("fleet set-up");
        let records = dir.path().join("records");
        std::fs::create_dir_all(&records).expect("fleet set-up");
        let homes = (0..engines)
            .map(|i| {
                let home = dir.path().join(format!("engine-{i}"));
                let ws = home.join("workspace");
                std::fs::create_dir_all(&ws).expect("fleet set-up");
                std::fs::write(
                    home.join("config.toml"),
                    format!(
                        "[postgres]\nurl = \"{}\"\n\n[machine]\nclaim_grace_secs = 1\n\n\
                         [[employee]]\nname = \"Writer\"\nsource = \"postgres\"\n\
                         workspace = \"{}\"\ncommand = \"{}\"\npoll_secs = {poll_secs}\n\
                         timeout_secs = {timeout_secs}\nretry_backoff_secs = 0\n\
                         sandbox_write = [\"{}\"]\n",
                        server.url(db),
                        ws.display(),
                        crate::sibling_binary("fake-claude").display(),
                        records.display(),
                    ),
                )
                .expect("fleet set-up");
                home
            })
            .collect::<Vec<_>>();
        Self {
            children: homes.iter().map(|_| None).collect(),
            homes,
            records,
            url: server.url_with_password(db),
            dir,
        }
    }

    pub fn start(&mut self, i: usize, delay_ms: u64) {
        let home = &self.homes[i];
        let child = Command::new(crate::sibling_binary("delegate"))
            .arg("--home")
            .arg(home)
            .args(["run", "--watch"])
            .env("DATABASE_URL", &self.url)
            // The password alone in the engine's environment too: it reaches no agent.
            .env("PGPASSWORD", PASSWORD)
            .env("DELEGATE_MACHINE", format!("engine-{i}"))
            .env("FAKE_CLAUDE_RECORD", &self.records)
            .env("FAKE_CLAUDE_DELAY_MS", delay_ms.to_string())
            .env_remove("DELEGATE_HOME")
            .stdout(std::fs::File::create(home.join("stdout.txt")).expect("fleet set-up"))
            .stderr(std::fs::File::create(home.join("stderr.txt")).expect("fleet set-up"))
            .spawn()
            .expect("fleet set-up");
        self.children[i] = Some(child);
    }

    pub fn signal(&mut self, i: usize, sig: Signal) {
        if let Some(mut c) = self.children[i].take() {
            let _ = kill(Pid::from_raw(c.id() as i32), sig);
            let _ = c.wait();
        }
    }

    /// Stops engine `i` where it is (SIGSTOP), as a closed laptop lid does.
    pub fn pause(&self, i: usize) {
        if let Some(c) = &self.children[i] {
            let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGSTOP);
        }
    }

    /// Lets a paused engine go on (SIGCONT).
    pub fn resume(&self, i: usize) {
        if let Some(c) = &self.children[i] {
            let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGCONT);
        }
    }

    /// Agent starts per task title, and which engine (by workspace) started each.
    pub fn starts(&self) -> HashMap<String, Vec<String>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        let mut files: Vec<_> = std::fs::read_dir(&self.records)
            .expect("fleet set-up")
            .filter_map(Result::ok)
            .collect();
        // Named by the clock: in start order.
        files.sort_by_key(|f| f.file_name());
        for f in files {
            let Ok(text) = std::fs::read_to_string(f.path()) else {
                continue;
            };
            let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            let argv: Vec<String> =
                serde_json::from_value(doc["argv"].clone()).expect("fleet set-up");
            let title = argv
                .last()
                .expect("fleet set-up")
                .lines()
                .next()
                .expect("fleet set-up")
                .to_string();
            let cwd = doc["cwd"].as_str().unwrap_or("");
            let engine = self
                .homes
                .iter()
                .position(|h| cwd.starts_with(h.to_str().expect("fleet set-up")))
                .map(|i| format!("engine-{i}"))
                .unwrap_or_default();
            out.entry(title).or_default().push(engine);
        }
        out
    }

    pub fn logs(&self) -> String {
        self.homes
            .iter()
            .map(|h| std::fs::read_to_string(h.join("stderr.txt")).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n---\n")
    }

    /// Every agent's recorded argv, environment and folder, whole.
    pub fn all_records(&self) -> Vec<String> {
        std::fs::read_dir(&self.records)
            .expect("fleet set-up")
            .filter_map(Result::ok)
            .filter_map(|f| std::fs::read_to_string(f.path()).ok())
            .collect()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.signal(i, Signal::SIGKILL);
        }
        let _ = &self.dir;
    }
}

/// Inserts one pending row per title for the employee Writer.
pub async fn insert(sql: &tokio_postgres::Client, titles: &[String]) {
    sql.execute(
        "INSERT INTO delegate_tasks (employee, title) SELECT 'Writer', t FROM unnest($1::text[]) t",
        &[&titles],
    )
    .await
    .expect("fleet set-up");
}

/// Rows in `status`.
pub async fn count(sql: &tokio_postgres::Client, status: &str) -> i64 {
    sql.query_one(
        "SELECT count(*) FROM delegate_tasks WHERE status = $1",
        &[&status],
    )
    .await
    .expect("fleet set-up")
    .get(0)
}

/// Waits (on the table) until `n` rows are in review.
pub async fn until_reviewed(sql: &tokio_postgres::Client, n: i64, limit: Duration, fleet: &Fleet) {
    let start = Instant::now();
    while count(sql, "review").await < n {
        assert!(
            start.elapsed() < limit,
            "{} of {n} in review after {limit:?}\n{}",
            count(sql, "review").await,
            fleet.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `delegate postgres init` as a person runs it.
pub async fn init_with_cli(home: &Path, url: &str) {
    let out = Command::new(crate::sibling_binary("delegate"))
        .arg("--home")
        .arg(home)
        .args(["postgres", "init"])
        .env("DATABASE_URL", url)
        .output()
        .expect("fleet set-up");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
