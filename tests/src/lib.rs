//! The shared harness of the end-to-end tests.
//!
//! `scripts/test` starts the servers and builds the binary and plugins, then
//! passes them in through the environment:
//! * `SLUICE_TEST_SOURCE`: binlog-enabled MariaDB (ROW, FULL, FULL);
//! * `SLUICE_TEST_TARGET`: a MariaDB for targets;
//! * `SLUICE_TEST_PLAIN`: a MariaDB whose binlog is not in ROW format;
//! * `SLUICE_TEST_PLUGINS`: the compiled plugin components;
//! * `SLUICE_BIN`: the `sluice` binary;
//! * PostgreSQL clusters: see [`pg`].
//!
//! Each test works in its own databases (named after the test) and uses its
//! own replica server id and metrics port, so tests run in parallel against
//! the same servers.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};

pub mod pg;
pub use pg::*;

/// Connection URLs and paths for a test.
#[derive(Clone)]
pub struct Env {
    pub source: String,
    pub target: String,
    pub plain: String,
    pub plugins: PathBuf,
    pub bin: PathBuf,
}

/// An environment variable `scripts/test` sets.
pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the end-to-end tests through scripts/test")
    })
}

/// The environment `scripts/test` prepared.
pub fn env() -> Env {
    Env {
        source: var("SLUICE_TEST_SOURCE"),
        target: var("SLUICE_TEST_TARGET"),
        plain: var("SLUICE_TEST_PLAIN"),
        plugins: PathBuf::from(var("SLUICE_TEST_PLUGINS")),
        bin: PathBuf::from(var("SLUICE_BIN")),
    }
}

/// A connection to `url`, optionally in `db`.
pub async fn connect(url: &str) -> Conn {
    sluice::install_crypto();
    let opts = Opts::from_url(url).expect("test URL");
    Conn::new(opts)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

/// Run statements separated by `;\n` lines.
pub async fn exec(conn: &mut Conn, sql: &str) {
    for stmt in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        conn.query_drop(stmt)
            .await
            .unwrap_or_else(|e| panic!("{stmt}: {e}"));
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A scratch folder for one test under target/e2e.
pub fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/e2e")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copy the named plugins into `dir/plugins.d`.
pub fn plugin_dir(env: &Env, dir: &Path, names: &[&str]) -> PathBuf {
    let out = dir.join("plugins.d");
    std::fs::create_dir_all(&out).unwrap();
    for n in names {
        let from = env.plugins.join(format!("{n}.wasm"));
        std::fs::copy(&from, out.join(format!("{n}.wasm")))
            .unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
    out
}

/// A running `sluice run` process.
pub struct Sluice {
    child: Option<Child>,
    pub log: PathBuf,
    pub metrics_port: u16,
}

impl Sluice {
    /// Start `sluice run --config <dir>/sluice.toml`; stderr goes to a log
    /// file in `dir` (appended, so restarts keep one log).
    pub fn start(env: &Env, dir: &Path, metrics_port: u16) -> Sluice {
        Sluice::start_with(env, dir, metrics_port, &[])
    }

    /// Like [`Sluice::start`], with extra command-line arguments.
    pub fn start_with(env: &Env, dir: &Path, metrics_port: u16, args: &[&str]) -> Sluice {
        Sluice::start_env(env, dir, metrics_port, args, &[])
    }

    /// Like [`Sluice::start_with`], with extra environment variables.
    pub fn start_env(
        env: &Env,
        dir: &Path,
        metrics_port: u16,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> Sluice {
        let log = dir.join("sluice.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(&env.bin)
            .args(args)
            .args(["run", "--config"])
            .arg(dir.join("sluice.toml"))
            .env("SLUICE_LOG", "info")
            // Each test's state folder (the plugin cache) is its own.
            .env("XDG_STATE_HOME", dir.join("state"))
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", env.bin.display()));
        Sluice {
            child: Some(child),
            log,
            metrics_port,
        }
    }

    /// The process id, for /proc measurements.
    pub fn child_id(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().expect("running").id() as i32
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait for the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let pid = self.pid();
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        self.wait(Duration::from_secs(10))
            .expect("sluice exits within 10 s of SIGTERM")
    }

    /// Wait for the process to exit on its own.
    pub fn wait(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                self.child = None;
                return Some(st);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the process logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET /metrics` as text.
    pub fn metrics(&self) -> String {
        self.get("/metrics").1
    }

    /// `GET path` on the HTTP listener: the status code and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, None)
    }

    /// `POST path`, with a bearer token if given.
    pub fn post(&self, path: &str, token: Option<&str>) -> (u16, String) {
        self.request("POST", path, token)
    }

    fn request(&self, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
        use std::io::{Read, Write};
        // Not listening (yet, or any more) reads as status 0.
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.metrics_port)) else {
            return (0, String::new());
        };
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        s.write_all(
            format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
                .as_bytes(),
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let code = out
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = out
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (code, body)
    }
}

impl Drop for Sluice {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Poll `check` until it returns true or `timeout` passes.
pub async fn wait_for<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// The value of a metric line that starts with `prefix` (name plus labels).
pub fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Rows of a query as strings, for exact comparisons.
pub async fn rows(conn: &mut Conn, sql: &str) -> Vec<Vec<Option<String>>> {
    try_rows(conn, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// [`rows`], or the error (for a table or column that may not exist yet).
pub async fn try_rows(
    conn: &mut Conn,
    sql: &str,
) -> Result<Vec<Vec<Option<String>>>, mysql_async::Error> {
    let rows: Vec<mysql_async::Row> = conn.query(sql).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (0..r.len())
                .map(|i| match r.as_ref(i).unwrap() {
                    mysql_async::Value::NULL => None,
                    mysql_async::Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
                    v => Some(v.as_sql(true)),
                })
                .collect()
        })
        .collect())
}

/// The current binlog position of the source, as `file:pos`.
pub async fn source_position(conn: &mut Conn) -> String {
    let row: (String, u64) = conn
        .query_first("SHOW MASTER STATUS")
        .await
        .unwrap()
        .map(|r: mysql_async::Row| (r.get(0).unwrap(), r.get(1).unwrap()))
        .unwrap();
    format!("{}:{}", row.0, row.1)
}

/// The `[source]` and `[metrics]` sections of a test config.
pub fn config_head(source: &str, server_id: u32, start: &str, metrics_port: u16) -> String {
    format!(
        "[source]\nurl = \"{source}\"\nserver_id = {server_id}\nstart = \"{start}\"\n\n[metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n"
    )
}

/// A `[targets.NAME]` section for a database on the test target server.
pub fn mysql_target(env: &Env, name: &str, db: &str) -> String {
    format!(
        "\n[targets.{name}]\nkind = \"mysql\"\nurl = \"{}/{db}\"\n",
        env.target
    )
}

/// Write `dir/sluice.toml`.
pub fn write_config(dir: &Path, text: &str) {
    std::fs::write(dir.join("sluice.toml"), text).unwrap();
}

/// Drop and create database `db`, then run `ddl` in it (statements
/// separated by `;` and a newline, `{db}` standing for the database).
pub async fn recreate(conn: &mut Conn, db: &str, ddl: &str) {
    exec(
        conn,
        &format!(
            "DROP DATABASE IF EXISTS {db};\nCREATE DATABASE {db};\n{}",
            ddl.replace("{db}", db)
        ),
    )
    .await;
}

/// DDL that logs every row write to `{db}.table` into `{db}.applied (k)`:
/// a change applied twice shows up as a second log row. (Triggers fire on
/// every upsert, even one that changes nothing.)
pub fn applied_log(table: &str) -> String {
    format!(
        "CREATE TABLE {{db}}.applied (seq BIGINT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL);
        CREATE TRIGGER {{db}}.{table}_ai AFTER INSERT ON {{db}}.{table} FOR EACH ROW INSERT INTO {{db}}.applied (k) VALUES (NEW.id);
        CREATE TRIGGER {{db}}.{table}_au AFTER UPDATE ON {{db}}.{table} FOR EACH ROW INSERT INTO {{db}}.applied (k) VALUES (NEW.id)"
    )
}

/// A throwaway server started by `scripts/lib.sh`, which a test may stop,
/// start again or freeze.
pub struct Server {
    dir: PathBuf,
}

impl Server {
    /// The server whose folder is in the environment variable `var`.
    pub fn from_env(var: &str) -> Server {
        Server {
            dir: PathBuf::from(
                std::env::var(var).unwrap_or_else(|_| panic!("{var}: run through scripts/test")),
            ),
        }
    }

    pub fn pid(&self) -> String {
        std::fs::read_to_string(self.dir.join("mysqld.pid"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Send a signal (`TERM`, `STOP`, `CONT`) to the server process.
    pub fn signal(&self, sig: &str) {
        Command::new("kill")
            .args([&format!("-{sig}"), &self.pid()])
            .status()
            .unwrap();
    }

    /// SIGTERM, and wait until the process is gone.
    pub fn stop(&self) {
        let pid = self.pid();
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Command::new("kill")
            .args(["-0", &pid])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
        {
            assert!(
                Instant::now() < deadline,
                "server {} did not stop",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Start it again with the settings it first had.
    pub fn start(&self) {
        Command::new("bash")
            .arg("-c")
            .arg(format!("{}/start.sh >/dev/null 2>&1 &", self.dir.display()))
            .status()
            .unwrap();
    }
}

/// Run `sluice plugin test` on the compiled plugin `plugin` with `input`
/// (JSON lines) and `--config` entries. Returns success, the changes out
/// (one JSON value per stdout line) and stderr.
pub fn plugin_test(
    plugin: &str,
    input: &str,
    config: &[&str],
) -> (bool, Vec<serde_json::Value>, String) {
    let env = env();
    let dir = scratch(&format!("plugin_test_{plugin}_{}", std::process::id()));
    let file = dir.join("in.jsonl");
    std::fs::write(&file, input).unwrap();
    let mut cmd = std::process::Command::new(std::env::var("SLUICE_BIN").expect("SLUICE_BIN"));
    cmd.args(["plugin", "test"])
        .arg(env.plugins.join(format!("{plugin}.wasm")))
        .arg("--input")
        .arg(&file);
    for c in config {
        cmd.args(["--config", c]);
    }
    let out = cmd.output().unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.success(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Resident memory of a process, in KiB (0 when it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// `sluice verify --config dir/sluice.toml --chunk-rows 2000 extra...`:
/// the exit code and everything it printed.
pub fn run_verify(env: &Env, dir: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(&env.bin)
        .args(["verify", "--config"])
        .arg(dir.join("sluice.toml"))
        .args(["--chunk-rows", "2000"])
        .args(extra)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}
