//! Shared helpers for the end-to-end benchmarks: child processes, resident memory, percentiles.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Resident memory of a process in KiB (Linux `/proc`).
pub fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// A figure of a process's `/proc/<pid>/status` in KiB (`VmRSS:`, `VmHWM:`, `RssAnon:`).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until something accepts TCP connections on `port`.
pub async fn wait_for_port(port: u16) {
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listening on port {port}");
}

/// Kills the child when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start the real `switchboard` binary on `port` with a fresh SQLite data dir (or `db_url`),
/// after creating an admin. Returns the guard and the data dir. `SB_BENCH_SERVER` runs
/// another build of the server instead (an A/B comparison with the same load generator).
pub fn start_switchboard(port: u16, db_url: Option<&str>) -> (ChildGuard, tempfile::TempDir) {
    start_switchboard_with(port, db_url, &[])
}

/// [`start_switchboard`] with more settings for the server (`SWITCHBOARD__…` variables).
pub fn start_switchboard_with(
    port: u16,
    db_url: Option<&str>,
    env: &[(&str, String)],
) -> (ChildGuard, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let bin = std::env::var("SB_BENCH_SERVER")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_switchboard").to_string());
    let bin = bin.as_str();
    let mut create = Command::new(bin);
    create
        .args([
            "agents",
            "create",
            "--email",
            "admin@example.com",
            "--name",
            "Admin",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .env("SWITCHBOARD_DATA_DIR", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    if let Some(u) = db_url {
        create.env("SWITCHBOARD_DATABASE_URL", u);
    }
    let mut child = create.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long password")
        .unwrap();
    assert!(child.wait().unwrap().success(), "admin creation failed");
    let mut cmd = Command::new(bin);
    cmd.env("SWITCHBOARD_DATA_DIR", dir.path())
        .env("SWITCHBOARD_BIND", format!("127.0.0.1:{port}"))
        .env("SWITCHBOARD__LOGGING__LEVEL", "warn")
        // Every simulated visitor comes from loopback.
        .env(
            "SWITCHBOARD__CHAT__NEW_VISITORS_PER_IP_PER_HOUR",
            "100000000",
        )
        .env(
            "SWITCHBOARD__CHAT__CONVERSATIONS_PER_IP_PER_HOUR",
            "100000000",
        )
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(u) = db_url {
        cmd.env("SWITCHBOARD_DATABASE_URL", u);
    }
    // `SB_BENCH_SERVER_LOG=<level>`: the server's log at that level on this terminal.
    if let Ok(level) = std::env::var("SB_BENCH_SERVER_LOG") {
        cmd.env("SWITCHBOARD__LOGGING__LEVEL", level)
            .stdout(Stdio::inherit());
    }
    (ChildGuard(cmd.spawn().unwrap()), dir)
}

/// Log in as the benchmark admin and return a bearer token.
pub async fn admin_token(base: &str) -> String {
    let resp: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "admin@example.com", "password": "a long password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    resp["token"].as_str().expect("login").to_string()
}

/// A fresh PostgreSQL database URL.
pub async fn fresh_pg() -> String {
    use sqlx::Connection;
    let admin = std::env::var("SWITCHBOARD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL reachable");
    // Databases of earlier runs go first (autovacuum working through them disturbs the
    // measurement); one still in use by a concurrent run refuses and stays.
    let old: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'sb\\_bench\\_%'")
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
    for (db,) in old {
        let _ = sqlx::query(&format!("DROP DATABASE {db}"))
            .execute(&mut conn)
            .await;
    }
    let name = format!("sb_bench_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}

/// (p50, p99, max) of durations in microseconds.
pub fn percentiles(mut v: Vec<u64>) -> (u64, u64, u64) {
    if v.is_empty() {
        return (0, 0, 0);
    }
    v.sort_unstable();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (at(0.50), at(0.99), *v.last().unwrap())
}
