//! End-to-end routing latency: a real server (SQLite in a temporary directory, or PostgreSQL
//! when `SWITCHBOARD_BENCH_POSTGRES` names an empty database) with available agents; each
//! conversation is created over HTTP and timed until its `conversation.offered` event appears
//! on the bus. Then a steady open-loop load (`SB_BENCH_RATE` arrivals per second, default 200,
//! for `SB_BENCH_SECS`, default 10) is timed from the create request to the offer arriving on
//! a console WebSocket (what an agent's browser receives). Last, a backlog is drained by one
//! router pass and its throughput reported.
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
    settings.logging.level = "warn".into();
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
    steady(&server, &queue).await;
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

/// Open-loop arrivals at a fixed rate; latency from sending the create request to the
/// `conversation.offered` frame on a supervisor's console socket.
async fn steady(server: &Server, queue: &str) {
    use futures::StreamExt;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    let rate: u64 = std::env::var("SB_BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let secs: u64 = std::env::var("SB_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let ws_url = format!(
        "{}/ws/console?token={}",
        server.base.replacen("http", "ws", 1),
        server.token
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("console socket");
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let total = (rate * secs) as usize;
    let received = {
        let sent = sent.clone();
        tokio::spawn(async move {
            let mut out = Vec::with_capacity(total);
            let deadline = Instant::now() + Duration::from_secs(secs + 30);
            while out.len() < total && Instant::now() < deadline {
                let Ok(Some(Ok(msg))) =
                    tokio::time::timeout(Duration::from_secs(1), ws.next()).await
                else {
                    continue;
                };
                let Ok(text) = msg.into_text() else { continue };
                let Ok(ev) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if ev["kind"] != "conversation.offered" {
                    continue;
                }
                let id = ev["conversation_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                // The create response may not be back yet: retry briefly.
                for _ in 0..200 {
                    if let Some(t) = sent.lock().unwrap().get(&id) {
                        out.push(t.elapsed());
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            out
        })
    };
    let interval = Duration::from_micros(1_000_000 / rate);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let due = start + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let client = server.client.clone();
        let url = format!("{}/api/v1/conversations", server.base);
        let token = server.token.clone();
        let queue = queue.to_string();
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"customer": {"email": format!("s{i}@bench.test")}, "subject": "Steady", "queue_id": queue}))
                .send()
                .await;
            if let Ok(r) = resp {
                if let Ok(v) = r.json::<Value>().await {
                    if let Some(id) = v["id"].as_str() {
                        sent.lock().unwrap().insert(id.to_string(), t0);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let offered_rate = total as f64 / start.elapsed().as_secs_f64();
    let mut samples = received.await.expect("receiver");
    samples.sort();
    if samples.is_empty() {
        println!("steady {rate}/s: no offers reached the console socket");
        return;
    }
    println!(
        "steady {rate} arrivals/s for {secs} s (achieved {offered_rate:.0}/s): create→offer on the console socket for {}/{total}: p50 {:?}  p99 {:?}  max {:?}",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        samples[samples.len() - 1],
    );
}
