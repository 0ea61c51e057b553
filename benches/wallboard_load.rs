//! What a supervisor's live wallboard costs the server. The real `switchboard` binary (SQLite in
//! a temporary directory, or `SB_BENCH_PG=1` for a fresh PostgreSQL database) with a few agents
//! whose consoles are connected; a driver makes `SB_BENCH_RATE` changes a second (default 50:
//! a chat opened in the queue, a chat assigned to an agent, a chat resolved, in turn) for
//! `SB_BENCH_SECS` (default 20) per phase. Phases, repeated `SB_BENCH_ROUNDS` times (default 2):
//!
//! - `agents only`: no supervisor;
//! - `+ supervisor socket`: a supervisor's console socket receives every event, nothing more;
//! - `+ wallboard`: the same socket, and after a relevant event the figures are re-read as the
//!   console's wallboard does (`GET /stats/queues` and `/stats/agents`, at most once a second).
//!
//! The server's CPU time (user + system, `/proc/PID/stat`, every thread) per phase, as a share
//! of one core; the wallboard's cost is the difference between the phases.
//!
//! `cargo bench --bench wallboard_load`.

mod support;

use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

const AGENTS: usize = 4;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// User + system CPU time of every thread of `pid`, in seconds (`/proc/PID/stat` fields 14 and
/// 15, in clock ticks of 1/100 s).
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

struct Api {
    base: String,
    client: reqwest::Client,
    token: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .client
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

async fn login(base: &str, email: &str) -> String {
    let resp: Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": "a long password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    resp["token"].as_str().expect("login").to_string()
}

/// A console socket that counts the events it receives until `stop`; with `wallboard`, marks
/// the figures stale after a relevant event (the console's `WB_EVENTS`).
fn console(
    base: &str,
    token: &str,
    events: Arc<AtomicU64>,
    stale: Option<Arc<AtomicBool>>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let url = format!(
        "{}/ws/console?token={token}",
        base.replacen("http", "ws", 1)
    );
    tokio::spawn(async move {
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("console socket");
        while !stop.load(Relaxed) {
            let Ok(Some(Ok(msg))) =
                tokio::time::timeout(Duration::from_millis(200), ws.next()).await
            else {
                continue;
            };
            let Ok(text) = msg.into_text() else { continue };
            let Ok(ev) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let kind = ev["kind"].as_str().unwrap_or_default();
            if kind.is_empty() {
                continue;
            }
            events.fetch_add(1, Relaxed);
            let relevant = kind != "conversation.viewing"
                && (["conversation.", "offer.", "agent.", "call.", "queue."]
                    .iter()
                    .any(|p| kind.starts_with(p))
                    || kind == "message.created");
            if let (true, Some(s)) = (relevant, &stale) {
                s.store(true, Relaxed);
            }
        }
    })
}

/// The wallboard's reads: after a relevant event, both figures at most once a second.
fn wallboard(
    api: Arc<Api>,
    stale: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    reads: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = Instant::now() - Duration::from_secs(1);
        while !stop.load(Relaxed) {
            if !stale.swap(false, Relaxed) {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            let wait = Duration::from_secs(1).saturating_sub(last.elapsed());
            tokio::time::sleep(wait).await;
            last = Instant::now();
            let q = api.call(reqwest::Method::GET, "/stats/queues", None);
            let a = api.call(reqwest::Method::GET, "/stats/agents", None);
            tokio::join!(q, a);
            reads.fetch_add(1, Relaxed);
        }
    })
}

/// The changes: open a chat, assign the oldest unassigned one, resolve the oldest assigned one.
struct Driver {
    api: Arc<Api>,
    queue: String,
    agents: Vec<String>,
    unassigned: VecDeque<String>,
    assigned: VecDeque<String>,
    n: usize,
}

impl Driver {
    async fn step(&mut self) {
        self.n += 1;
        match self.n % 3 {
            0 => {
                let c = self
                    .api
                    .post(
                        "/conversations",
                        json!({"customer": {"email": format!("c{}@example.com", self.n % 500)},
                               "subject": "Load", "body": "سلام", "channel": "chat", "queue_id": self.queue}),
                    )
                    .await;
                self.unassigned
                    .push_back(c["id"].as_str().unwrap().to_string());
            }
            1 => {
                if let Some(id) = self.unassigned.pop_front() {
                    let agent = &self.agents[self.n % self.agents.len()];
                    self.api
                        .post(
                            &format!("/conversations/{id}/assign"),
                            json!({"agent_id": agent, "override_capacity": true}),
                        )
                        .await;
                    self.assigned.push_back(id);
                }
            }
            _ => {
                if let Some(id) = self.assigned.pop_front() {
                    self.api
                        .call(
                            reqwest::Method::PATCH,
                            &format!("/conversations/{id}"),
                            Some(json!({"status": "resolved"})),
                        )
                        .await;
                }
            }
        }
    }

    async fn run(&mut self, rate: u64, secs: u64) -> u64 {
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let end = Instant::now() + Duration::from_secs(secs);
        let mut steps = 0;
        while Instant::now() < end {
            tick.tick().await;
            self.step().await;
            steps += 1;
        }
        steps
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Agents,
    Socket,
    Wallboard,
}

impl Phase {
    fn label(self) -> &'static str {
        match self {
            Phase::Agents => "agents only",
            Phase::Socket => "+ supervisor socket",
            Phase::Wallboard => "+ wallboard",
        }
    }
}

#[tokio::main]
async fn main() {
    let rate = env_num("SB_BENCH_RATE", 50);
    let secs = env_num("SB_BENCH_SECS", 20);
    let rounds = env_num("SB_BENCH_ROUNDS", 2);
    let pg = if std::env::var("SB_BENCH_PG").is_ok() {
        Some(support::fresh_pg().await)
    } else {
        None
    };
    let port = support::free_port();
    let (server, _dir) = support::start_switchboard(port, pg.as_deref());
    let pid = server.0.id();
    support::wait_for_port(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let api = Arc::new(Api {
        base: base.clone(),
        client: reqwest::Client::new(),
        token: support::admin_token(&base).await,
    });
    let queue = api
        .post("/queues", json!({"name": "Load", "channels": ["chat"]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let stop_all = Arc::new(AtomicBool::new(false));
    let agent_events = Arc::new(AtomicU64::new(0));
    let mut agents = Vec::new();
    let mut sockets = Vec::new();
    for i in 0..AGENTS {
        let email = format!("agent{i}@example.com");
        let a = api
            .post(
                "/agents",
                json!({"email": email, "name": format!("Agent {i}"), "role": "agent", "password": "a long password"}),
            )
            .await;
        let token = login(&base, &email).await;
        let agent = Api {
            base: base.clone(),
            client: reqwest::Client::new(),
            token: token.clone(),
        };
        agent
            .call(
                reqwest::Method::PUT,
                "/agents/me/presence",
                Some(json!({"status": "available"})),
            )
            .await;
        sockets.push(console(
            &base,
            &token,
            agent_events.clone(),
            None,
            stop_all.clone(),
        ));
        agents.push(a["id"].as_str().unwrap().to_string());
    }
    let mut driver = Driver {
        api: api.clone(),
        queue,
        agents,
        unassigned: VecDeque::new(),
        assigned: VecDeque::new(),
        n: 0,
    };
    // Warm up: the first conversations, customers and the report worker's first passes.
    driver.run(rate, 5).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\nwallboard load: {rate} changes/s, {secs} s per phase, {rounds} rounds, {}; load average {}",
        if pg.is_some() { "PostgreSQL" } else { "SQLite" },
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    println!("| phase | changes/s | supervisor events/s | wallboard reads/s | server CPU, % of one core |");
    println!("|---|---:|---:|---:|---:|");
    let mut totals = [(0.0f64, 0u32); 3];
    for _ in 0..rounds {
        for phase in [Phase::Agents, Phase::Socket, Phase::Wallboard] {
            let stop = Arc::new(AtomicBool::new(false));
            let (events, reads, stale) = (
                Arc::new(AtomicU64::new(0)),
                Arc::new(AtomicU64::new(0)),
                Arc::new(AtomicBool::new(false)),
            );
            let mut tasks = Vec::new();
            if phase != Phase::Agents {
                let s = (phase == Phase::Wallboard).then(|| stale.clone());
                tasks.push(console(&base, &api.token, events.clone(), s, stop.clone()));
            }
            if phase == Phase::Wallboard {
                tasks.push(wallboard(
                    api.clone(),
                    stale.clone(),
                    stop.clone(),
                    reads.clone(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            let (cpu0, t0) = (cpu_secs(pid), Instant::now());
            let steps = driver.run(rate, secs).await;
            let (cpu1, took) = (cpu_secs(pid), t0.elapsed().as_secs_f64());
            stop.store(true, Relaxed);
            for t in tasks {
                let _ = t.await;
            }
            let share = (cpu1 - cpu0) / took * 100.0;
            let k = phase as usize;
            totals[k] = (totals[k].0 + share, totals[k].1 + 1);
            println!(
                "| {} | {:.1} | {:.1} | {:.2} | {share:.1} |",
                phase.label(),
                steps as f64 / took,
                events.load(Relaxed) as f64 / took,
                reads.load(Relaxed) as f64 / took,
            );
        }
    }
    // Without changes: the server idle, then the wallboard's reads forced once a second (what
    // it reads at any event rate of one a second or more) — the reads' own cost, free of the
    // changes' noise.
    let mut quiet = [0.0f64; 2];
    for (k, reading) in [false, true].into_iter().enumerate() {
        let stop = Arc::new(AtomicBool::new(false));
        let (stale, reads) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let mut tasks = Vec::new();
        if reading {
            tasks.push(wallboard(
                api.clone(),
                stale.clone(),
                stop.clone(),
                reads.clone(),
            ));
            let (stale, stop) = (stale.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Relaxed) {
                    stale.store(true, Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (cpu0, t0) = (cpu_secs(pid), Instant::now());
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let (cpu1, took) = (cpu_secs(pid), t0.elapsed().as_secs_f64());
        stop.store(true, Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        quiet[k] = (cpu1 - cpu0) / took * 100.0;
        println!(
            "| no changes, {} | 0 | 0 | {:.2} | {:.2} |",
            if reading { "wallboard reads" } else { "idle" },
            reads.load(Relaxed) as f64 / took,
            quiet[k]
        );
    }
    println!(
        "\nthe wallboard's reads alone (1/s, no changes): {:+.2} points of one core",
        quiet[1] - quiet[0]
    );
    let mean = |k: usize| totals[k].0 / f64::from(totals[k].1.max(1));
    println!(
        "\nmean CPU: agents only {:.1} %, + supervisor socket {:.1} %, + wallboard {:.1} %; \
         the socket costs {:+.1} points, the wallboard's reads {:+.1} points of one core",
        mean(0),
        mean(1),
        mean(2),
        mean(1) - mean(0),
        mean(2) - mean(1)
    );
    stop_all.store(true, Relaxed);
    for s in sockets {
        let _ = s.await;
    }
    println!(
        "agent sockets received {} events",
        agent_events.load(Relaxed)
    );
}
