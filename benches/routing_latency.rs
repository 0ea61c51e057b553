//! End-to-end routing latency: a real server (SQLite in a temporary directory, or PostgreSQL
//! when `SWITCHBOARD_BENCH_POSTGRES` names an empty database) with available agents; each
//! conversation is created over HTTP and timed until its `conversation.offered` event appears
//! on the bus. Then a backlog is drained by one router pass and its throughput reported.
//!
//! `cargo bench --bench routing_latency` (release), or `--profile dev` for a quick run.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use switchboard::auth::Role;
use switchboard::store::now_ms;
use switchboard::{Application, Settings};

const AGENTS: usize = 20;
const SAMPLES: usize = 200;
const BACKLOG: usize = 1_000;

struct Server {
    base: String,
    token: String,
    client: reqwest::Client,
    state: switchboard::state::AppState,
}

impl Server {
    async fn post(&self, path: &str, body: Value) -> Value {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.expect("json body")
    }

    async fn sql(&self, sql: &str) {
        sqlx::query(sql)
            .execute(self.state.store.pool())
            .await
            .expect("sql");
    }
}

async fn start(dir: &std::path::Path) -> Server {
    let mut settings = Settings::defaults();
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.data_dir = dir.to_path_buf();
    if let Ok(url) = std::env::var("SWITCHBOARD_BENCH_POSTGRES") {
        settings.database.url = url.into();
    }
    let app = Application::build(settings).await.expect("server builds");
    let base = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    let password = "bench password 123";
    switchboard::agents::create_from_cli(
        &state.store,
        "admin@bench.test",
        "Admin",
        Role::Admin,
        password,
    )
    .await
    .expect("admin");
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "admin@bench.test", "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["token"].as_str().expect("token").to_string();
    Server {
        base,
        token,
        client,
        state,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path()).await;
    let queue = server
        .post("/api/v1/queues", json!({"name": "Bench"}))
        .await;
    let queue = queue["id"].as_str().expect("queue id").to_string();
    for i in 0..AGENTS {
        let body = json!({"email": format!("a{i}@bench.test"), "name": format!("Agent {i}"),
            "role": "agent", "password": "bench password 123", "capacity": {"api": 1000}});
        server.post("/api/v1/agents", body).await;
    }
    server
        .sql("UPDATE agents SET presence = 'available' WHERE role = 'agent'")
        .await;
    let mut events = server.state.bus.subscribe();
    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let started = Instant::now();
        let conv = server
            .post(
                "/api/v1/conversations",
                json!({"customer": {"email": format!("c{i}@bench.test")},
                "subject": "Bench", "queue_id": queue}),
            )
            .await;
        let id = conv["id"].as_str().expect("conversation id").to_string();
        loop {
            let ev = events.recv().await.expect("bus open");
            if ev.kind == "conversation.offered" && ev.conversation_id.as_deref() == Some(&id) {
                break;
            }
        }
        samples.push(started.elapsed());
    }
    samples.sort();
    println!(
        "create→offered over HTTP, {AGENTS} agents, {SAMPLES} conversations: p50 {:?}  p95 {:?}  p99 {:?}  max {:?}",
        percentile(&samples, 0.50),
        percentile(&samples, 0.95),
        percentile(&samples, 0.99),
        samples[samples.len() - 1],
    );
    // Backlog: agents away while conversations pile up, then one pass drains them.
    server
        .sql("UPDATE agents SET presence = 'away' WHERE role = 'agent'")
        .await;
    for i in 0..BACKLOG {
        server
            .post(
                "/api/v1/conversations",
                json!({"customer": {"email": format!("b{i}@bench.test")},
                "subject": "Backlog", "queue_id": queue}),
            )
            .await;
    }
    let (waiting,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM conversations c WHERE c.assignee_id IS NULL AND NOT EXISTS \
         (SELECT 1 FROM offers o WHERE o.conversation_id = c.id AND o.status = 'offered')",
    )
    .fetch_one(server.state.store.pool())
    .await
    .expect("count");
    server
        .sql("UPDATE agents SET presence = 'available' WHERE role = 'agent'")
        .await;
    let started = Instant::now();
    let report = switchboard::routing::run_once(&server.state, now_ms())
        .await
        .expect("routing pass");
    let took = started.elapsed();
    println!(
        "one pass over a backlog of {waiting} waiting: {} offers in {took:?} ({:.0} offers/s, {} dropped to concurrent passes)",
        report.applied.len(),
        report.applied.len() as f64 / took.as_secs_f64(),
        report.dropped,
    );
}
