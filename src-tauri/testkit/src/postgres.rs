//! A real PostgreSQL server for tests: a private cluster in a temporary folder (Debian's
//! `postgresql` package, the newest version installed), started on a free loopback port with
//! password login, stopped (or crashed, or restarted) on demand and removed on drop. The
//! server refuses to run as root, so as root the cluster belongs to the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::Command;
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

    /// Starts the server (again), waiting until it takes connections.
    pub fn up(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
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
