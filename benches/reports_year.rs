//! A year of a large contact center: `SB_BENCH_CONVERSATIONS` conversations (default
//! 1,000,000) over 365 days in 10 queues, chat and email, answered by 50 agents, each with 10
//! history entries (10,000,000) — written with the ledger's row shapes — then
//! `switchboard reports rebuild` (facts and daily rollups from scratch), then the year's
//! `GET /api/v1/reports/summary` grouped by queue, by day and by agent, over HTTP.
//!
//! SQLite in a temporary directory, or PostgreSQL when `SWITCHBOARD_BENCH_POSTGRES` names an
//! empty database. `cargo bench --bench reports_year` (release), or `--profile dev`.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use switchboard::auth::Role;
use switchboard::conversations::ledger::{batch, sql};
use switchboard::store::bulk::V;
use switchboard::{Application, Settings};

const QUEUES: usize = 10;
const AGENTS: usize = 50;
const PER_TX: usize = 10_000;
/// 2025-03-21T00:00:00+03:30 (Nowruz 1404), the year's first day in Tehran.
const YEAR_START: i64 = 1_742_502_600_000;

struct Fixture {
    customer: String,
    queues: Vec<String>,
    agents: Vec<String>,
}

fn conversation(f: &Fixture, i: usize, n: usize) -> (Vec<V>, Vec<Vec<V>>) {
    let day = (i * 365 / n) as i64;
    let t0 = YEAR_START + day * 86_400_000 + 8 * 3_600_000 + ((i * 7_919) % 36_000) as i64 * 1000;
    let id = format!("{:08}-bench-{i:012}", i / 1000);
    let queue = f.queues[i % QUEUES].clone();
    let agent = f.agents[i % AGENTS].clone();
    let channel = if i % 3 == 0 { "email" } else { "chat" };
    let abandoned = channel == "chat" && i % 10 == 1;
    let wait = ((i * 31) % 90) as i64 * 1000;
    let resolved = t0 + wait + ((i * 17) % 1_800) as i64 * 1000 + 60_000;
    let conv = vec![
        V::S(id.clone()),
        V::I(1000 + i as i64),
        V::S(f.customer.clone()),
        V::S(channel.into()),
        V::S("resolved".into()),
        V::S("Bench".into()),
        V::S("bench".into()),
        V::I(t0),
        V::I(resolved),
        V::I(resolved),
        V::I(2),
        V::J(Some(resolved)),
        V::N(Some(queue.clone())),
        V::J(Some(t0)),
    ];
    let row = |k: usize, kind: &str, actor: Option<&str>, data: Value, at: i64| {
        vec![
            V::S(format!("{id}-{k}")),
            V::S(id.clone()),
            V::S(kind.into()),
            V::S(if actor.is_some() { "agent" } else { "system" }.into()),
            V::N(actor.map(str::to_string)),
            V::S(data.to_string()),
            V::I(at),
        ]
    };
    let mut h = vec![
        row(
            0,
            "created",
            None,
            json!({"channel": channel, "queue_id": queue, "status": "open"}),
            t0,
        ),
        row(
            1,
            "offered",
            None,
            json!({"agent_id": agent, "queue_id": queue}),
            t0 + 1000,
        ),
    ];
    if !abandoned {
        h.push(row(
            2,
            "assigned",
            Some(&agent),
            json!({"from": null, "to": agent, "via": "offer"}),
            t0 + wait,
        ));
    }
    while h.len() < 9 {
        let k = h.len();
        h.push(row(
            k,
            "tags_changed",
            Some(&agent),
            json!({"tags": ["bench"]}),
            t0 + wait + k as i64,
        ));
    }
    h.push(row(
        9,
        "status_changed",
        Some(&agent),
        json!({"from": "open", "to": "resolved"}),
        resolved,
    ));
    (conv, h)
}

async fn fill(state: &switchboard::state::AppState, f: &Fixture, n: usize) {
    let store = &state.store;
    for start in (0..n).step_by(PER_TX) {
        let (mut convs, mut history) = (Vec::new(), Vec::new());
        for i in start..(start + PER_TX).min(n) {
            let (c, h) = conversation(f, i, n);
            convs.push(c);
            history.extend(h);
        }
        let mut tx = store.begin().await.expect("begin");
        batch::insert(&mut tx, sql::CONVERSATION_ROWS, convs)
            .await
            .expect("conversations");
        batch::insert(&mut tx, sql::HISTORY_ROWS, history)
            .await
            .expect("history");
        tx.commit().await.expect("commit");
    }
    // Email counts as answered at the first reply.
    sqlx::query(
        "UPDATE conversations SET first_response_at = created_at + 300000 WHERE channel = 'email'",
    )
    .execute(store.pool())
    .await
    .expect("replies");
}

async fn timed(client: &reqwest::Client, url: &str, token: &str) -> (Duration, Value) {
    let started = Instant::now();
    let resp = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("report");
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    let body: Value = resp.json().await.expect("json");
    (started.elapsed(), body)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("SB_BENCH_CONVERSATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings::defaults();
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.data_dir = dir.path().to_path_buf();
    settings.logging.level = "warn".into();
    settings.reports.interval_ms = 3_600_000;
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
    let post = |path: &str, body: Value| {
        let (client, token, url) = (client.clone(), token.clone(), format!("{base}{path}"));
        async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("post");
            assert!(resp.status().is_success(), "{}", resp.status());
            resp.json::<Value>().await.expect("json")["id"]
                .as_str()
                .expect("id")
                .to_string()
        }
    };
    let mut queues = Vec::new();
    for q in 0..QUEUES {
        queues.push(post("/api/v1/queues", json!({"name": format!("Queue {q}")})).await);
    }
    let mut agents = Vec::new();
    for a in 0..AGENTS {
        let body = json!({"email": format!("a{a}@bench.test"), "name": format!("Agent {a}"),
            "role": "agent", "password": password});
        agents.push(post("/api/v1/agents", body).await);
    }
    let customer = post("/api/v1/customers", json!({"name": "Bench"})).await;
    let f = Fixture {
        customer,
        queues,
        agents,
    };
    let started = Instant::now();
    fill(&state, &f, n).await;
    println!(
        "filled {n} conversations, {} history entries in {:.1} s",
        n * 10,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let facts = switchboard::reports::rebuild(&state.store, &state.settings)
        .await
        .expect("rebuild");
    println!(
        "reports rebuild: {facts} conversations in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (rollups,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM report_daily")
        .fetch_one(state.store.pool())
        .await
        .expect("count");
    println!("daily rollup rows: {rollups}");
    for group in ["queue", "day", "agent"] {
        let url =
            format!("{base}/api/v1/reports/summary?from=2025-03-21&to=2026-03-20&group_by={group}");
        let mut times = Vec::new();
        let mut offered = 0;
        for _ in 0..5 {
            let (t, body) = timed(&client, &url, &token).await;
            offered = body["total"]["offered"].as_i64().unwrap_or(0);
            times.push(t);
        }
        times.sort();
        println!(
            "year grouped by {group}: median {:.0} ms, best {:.0} ms (offered {offered})",
            times[2].as_secs_f64() * 1000.0,
            times[0].as_secs_f64() * 1000.0
        );
    }
}
