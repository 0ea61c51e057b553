//! A year of history (issue 21): a deployment holding `SB_BENCH_CONVERSATIONS` conversations
//! (default 1,000,000; with the default mix ~3.45 messages each) loaded through the product's
//! own ingest paths, then the real server booted on it and measured over HTTP: the inbox
//! (open, by queue, mine, unassigned, tagged, second page), a conversation, a heavy customer's
//! timeline, customer and message search (also with 8 clients at once), the supervisor stats,
//! the latency of a new conversation's offer to an available agent's console, and the idle
//! memory of the server process.
//!
//! `SB_BENCH_BACKEND=sqlite|postgres` (default `sqlite`). `SB_BENCH_DB` keeps the loaded
//! database for later runs: a data directory (SQLite) or a database URL (PostgreSQL, created
//! when missing; its secrets key kept in `$TMPDIR/switchboard-bench-<name>`); a database already filled by this bench is measured without filling it
//! again. Without it a temporary one is filled and dropped. `SB_BENCH_FILL_ONLY=1` stops after
//! the fill; `SB_BENCH_SAMPLES` (default 200) requests per figure; `SB_BENCH_SERVER_BIN` runs
//! another build of the server on a database loaded before (to compare before and after a
//! change; nothing is filled then).
//!
//! `cargo bench --bench year_history`

#[path = "year/fill.rs"]
mod fill;
#[path = "year/measure.rs"]
mod measure;
mod support;

use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Instant;
use switchboard::auth::Role;
use switchboard::{Application, Settings};

/// An admin's client of a running server.
pub struct Api {
    pub base: String,
    pub token: String,
    pub client: reqwest::Client,
}

impl Api {
    pub async fn login(base: &str, email: &str, password: &str) -> Api {
        let client = reqwest::Client::new();
        let login: Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login body");
        let token = login["token"].as_str().expect("token").to_string();
        Api {
            base: base.to_string(),
            token,
            client,
        }
    }

    pub fn post(&self, path: &str, body: Value) -> impl std::future::Future<Output = Value> {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body);
        let path = path.to_string();
        async move {
            let resp = req.send().await.expect("post");
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            resp.json::<Value>().await.expect("json")
        }
    }

    pub async fn get(&self, path: &str) -> Value {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("get");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.expect("json")
    }
}

/// Where the loaded database lives.
pub struct Target {
    pub postgres: bool,
    pub data_dir: PathBuf,
    pub db_url: Option<String>,
    _temp: Option<tempfile::TempDir>,
}

async fn target() -> Target {
    let postgres = std::env::var("SB_BENCH_BACKEND").is_ok_and(|b| b == "postgres");
    let kept = std::env::var("SB_BENCH_DB").ok();
    let temp = tempfile::tempdir().expect("temp dir");
    let (data_dir, db_url) = match (postgres, kept) {
        (false, Some(dir)) => {
            std::fs::create_dir_all(&dir).expect("data dir");
            (PathBuf::from(dir), None)
        }
        (false, None) => (temp.path().to_path_buf(), None),
        (true, Some(url)) => {
            ensure_pg(&url).await;
            // The key sealing the database's secrets is kept with the database's name, so a
            // later run (another process) can open what the fill stored.
            let name = url.rsplit('/').next().unwrap_or("db");
            let dir = std::env::temp_dir().join(format!("switchboard-bench-{name}"));
            std::fs::create_dir_all(&dir).expect("data dir");
            (dir, Some(url))
        }
        (true, None) => (temp.path().to_path_buf(), Some(support::fresh_pg().await)),
    };
    Target {
        postgres,
        data_dir,
        db_url,
        _temp: Some(temp),
    }
}

/// Create the database of `url` when it does not exist.
async fn ensure_pg(url: &str) {
    use sqlx::Connection;
    let (server, name) = url.rsplit_once('/').expect("database url");
    let mut conn = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("PostgreSQL reachable");
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await
        .expect("pg_database");
    if exists.is_none() {
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
    }
}

/// Fill the target unless a previous run did (its marker agent exists).
async fn fill_if_needed(t: &Target, n: usize) {
    let mut settings = Settings::defaults();
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.data_dir = t.data_dir.clone();
    settings.logging.level = "warn".into();
    settings.reports.interval_ms = 3_600_000;
    if let Some(url) = &t.db_url {
        settings.database.url = url.clone().into();
    }
    let app = Application::build(settings).await.expect("server builds");
    let state = app.state().clone();
    let filled: Option<(String,)> =
        sqlx::query_as("SELECT id FROM agents WHERE email = 'filled@bench.test'")
            .fetch_optional(state.store.pool())
            .await
            .expect("marker");
    if filled.is_some() {
        println!("reusing the loaded database");
        return;
    }
    let base = format!("http://{}", app.local_addr());
    let stop = tokio::spawn(app.run_until_stopped());
    switchboard::agents::create_from_cli(
        &state.store,
        "admin@bench.test",
        "Admin",
        Role::Admin,
        fill::PASSWORD,
    )
    .await
    .expect("admin");
    let api = Api::login(&base, "admin@bench.test", fill::PASSWORD).await;
    let ids = fill::setup(&api).await;
    let (calls, threads, visitors) = fill::split(n);
    println!("filling: {calls} calls, {threads} mail threads, {visitors} chats");
    let started = Instant::now();
    fill::voice(&state, calls).await;
    fill::mail_threads(&state, threads).await;
    fill::chats(&state, &ids.site, visitors).await;
    fill::settle(&state, &ids.agents).await;
    // The reports are current in a running deployment: their worker does not start the
    // measured server with a year to catch up on.
    let rebuilt = Instant::now();
    switchboard::reports::rebuild(&state.store, &state.settings)
        .await
        .expect("reports rebuild");
    println!(
        "  reports rebuilt in {:.0} s",
        rebuilt.elapsed().as_secs_f64()
    );
    switchboard::agents::create_from_cli(
        &state.store,
        "filled@bench.test",
        "Fill marker",
        Role::Agent,
        fill::PASSWORD,
    )
    .await
    .expect("marker");
    println!("filled in {:.0} s", started.elapsed().as_secs_f64());
    stop.abort();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("SB_BENCH_CONVERSATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let t = target().await;
    // Another build of the server measures a database loaded before (this build's migrations
    // must not touch it first).
    if std::env::var("SB_BENCH_SERVER_BIN").is_err() {
        fill_if_needed(&t, n).await;
    }
    if std::env::var("SB_BENCH_FILL_ONLY").is_ok() {
        return;
    }
    measure::run(&t).await;
}
