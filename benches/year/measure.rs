//! Measuring the real server on the loaded database over HTTP.

use super::fill::{self, PASSWORD};
use super::support::{self, percentiles, rss_kib, ChildGuard};
use super::{Api, Target};
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn samples() -> usize {
    std::env::var("SB_BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

fn start(t: &Target, port: u16) -> ChildGuard {
    // `SB_BENCH_SERVER_BIN`: another build of the server (a "before" binary kept aside).
    let bin = std::env::var("SB_BENCH_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_switchboard").to_string());
    let mut cmd = Command::new(bin);
    cmd.env("SWITCHBOARD_DATA_DIR", &t.data_dir)
        .env("SWITCHBOARD_BIND", format!("127.0.0.1:{port}"))
        .env("SWITCHBOARD__LOGGING__LEVEL", "warn")
        // The offers measured stay open while the bench runs.
        .env("SWITCHBOARD__ROUTING__OFFER_TIMEOUT_SECS", "3600")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(u) = &t.db_url {
        cmd.env("SWITCHBOARD_DATABASE_URL", u);
    }
    ChildGuard(cmd.spawn().expect("server starts"))
}

/// CPU time (user + system, clock ticks) of a process.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

/// Wait (at most 2 minutes) until the process used under 10 % of a core for 5 s; returns
/// how long that took and the share of a core it last used.
async fn wait_idle(pid: u32) -> (Duration, f64) {
    let started = Instant::now();
    let mut share = 1.0;
    while started.elapsed() < Duration::from_secs(120) {
        let before = cpu_ticks(pid);
        tokio::time::sleep(Duration::from_secs(5)).await;
        share = (cpu_ticks(pid) - before) as f64 / 500.0;
        if share < 0.1 {
            break;
        }
    }
    (started.elapsed(), share)
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn line(label: &str, v: Vec<u64>) -> (u64, u64, u64) {
    let n = v.len();
    let (p50, p99, max) = percentiles(v);
    println!(
        "| {label} | {n} | {:.1} | {:.1} | {:.1} |",
        ms(p50),
        ms(p99),
        ms(max)
    );
    (p50, p99, max)
}

async fn timed_get(api: &Api, path: &str) -> u64 {
    let started = Instant::now();
    let resp = api
        .client
        .get(format!("{}{path}", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("get");
    let status = resp.status();
    let _ = resp.bytes().await.expect("body");
    assert!(status.is_success(), "{path}: {status}");
    started.elapsed().as_micros() as u64
}

/// `count` requests, one at a time, cycling through `paths`.
async fn sequential(api: &Api, paths: &[String], count: usize) -> Vec<u64> {
    for p in paths.iter().take(3) {
        timed_get(api, p).await;
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        out.push(timed_get(api, &paths[i % paths.len()]).await);
    }
    out
}

/// `count` requests by `clients` clients at once, cycling through `paths`.
async fn concurrent(api: &Arc<Api>, paths: &[String], clients: usize, count: usize) -> Vec<u64> {
    let paths = Arc::new(paths.to_vec());
    let tasks = (0..clients).map(|c| {
        let (api, paths) = (api.clone(), paths.clone());
        tokio::spawn(async move {
            let mut out = Vec::new();
            for i in 0..count / clients {
                out.push(timed_get(&api, &paths[(c + i * clients) % paths.len()]).await);
            }
            out
        })
    });
    futures::future::join_all(tasks)
        .await
        .into_iter()
        .flat_map(|r| r.expect("client"))
        .collect()
}

/// Percent-encode a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The requests measured, by figure.
async fn figures(admin: &Api, agent_id: &str) -> Vec<(&'static str, Vec<String>, bool)> {
    let queues = admin.get("/api/v1/queues").await;
    let queue_of = |name: &str| {
        let list = queues
            .as_array()
            .or(queues["items"].as_array())
            .expect("queues");
        list.iter()
            .find(|q| q["name"] == name)
            .and_then(|q| q["id"].as_str())
            .expect("queue")
            .to_string()
    };
    let (email_q, sales_q) = (queue_of("Email"), queue_of("Sales"));
    let first = admin
        .get("/api/v1/conversations?status=open&limit=25")
        .await;
    let cursor = first["next_cursor"]
        .as_str()
        .expect("second page")
        .to_string();
    let mut chats = admin
        .get("/api/v1/conversations?channel=chat&limit=100")
        .await;
    if chats["items"].as_array().is_none_or(|a| a.is_empty()) {
        chats = admin.get("/api/v1/conversations?limit=100").await;
    }
    let convs: Vec<String> = chats["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    let heavy: Vec<String> = {
        let mut out = Vec::new();
        for k in 0..10u64 {
            let found = admin
                .get(&format!("/api/v1/customers?q={}", fill::phone(k)))
                .await;
            out.push(
                found["items"][0]["id"]
                    .as_str()
                    .expect("heavy customer")
                    .to_string(),
            );
        }
        out
    };
    let page1 = admin
        .get(&format!("/api/v1/customers/{}/timeline?limit=20", heavy[0]))
        .await;
    let tl_cursor = page1["next_cursor"]
        .as_str()
        .expect("timeline page 2")
        .to_string();
    let list = |q: &str| vec![format!("/api/v1/conversations?{q}&limit=25")];
    let many = |f: &dyn Fn(u64) -> String| (0..20u64).map(f).collect::<Vec<_>>();
    vec![
        ("inbox: status=open", list("status=open"), false),
        (
            "inbox: Email queue, open",
            list(&format!("queue={email_q}&status=open")),
            false,
        ),
        (
            "inbox: Sales queue, open",
            list(&format!("queue={sales_q}&status=open")),
            false,
        ),
        ("inbox: mine, open", list("assignee=me&status=open"), true),
        (
            "inbox: unassigned, open",
            list("assignee=none&status=open"),
            false,
        ),
        (
            "inbox: tag=callback, open",
            list("tag=callback&status=open"),
            false,
        ),
        (
            "inbox: second page (cursor)",
            list(&format!("status=open&cursor={}", enc(&cursor))),
            false,
        ),
        (
            "conversation with its messages",
            convs
                .iter()
                .map(|c| format!("/api/v1/conversations/{c}"))
                .collect(),
            false,
        ),
        (
            "timeline: heavy customer, page 1",
            heavy
                .iter()
                .map(|c| format!("/api/v1/customers/{c}/timeline?limit=20"))
                .collect(),
            false,
        ),
        (
            "timeline: heavy customer, page 2",
            vec![format!(
                "/api/v1/customers/{}/timeline?limit=20&cursor={}",
                heavy[0],
                enc(&tl_cursor)
            )],
            false,
        ),
        (
            "customer search: phone",
            many(&|k| format!("/api/v1/customers?q={}", fill::phone(k * 7_919 % 150_000))),
            false,
        ),
        (
            "customer search: email",
            many(&|k| {
                format!(
                    "/api/v1/customers?q=c{}%40mail.bench.test",
                    k * 1_777 % 40_000
                )
            }),
            false,
        ),
        (
            "customer search: name",
            vec![
                format!("/api/v1/customers?q={}", enc("Reza Karimi")),
                format!("/api/v1/customers?q={}", enc("زهرا موسوی")),
            ],
            false,
        ),
        (
            "message search: rare word",
            vec![format!("/api/v1/search?q={}", fill::RARE)],
            false,
        ),
        (
            "message search: common word",
            vec!["/api/v1/search?q=order".to_string()],
            false,
        ),
        (
            "message search: Persian, Arabic letter forms",
            vec![format!("/api/v1/search?q={}", enc("كيف"))],
            false,
        ),
        (
            "stats: queues",
            vec!["/api/v1/stats/queues".to_string()],
            false,
        ),
        (
            "stats: agents",
            vec!["/api/v1/stats/agents".to_string()],
            false,
        ),
    ]
    .into_iter()
    .map(|(l, p, mine)| (l, p, mine && !agent_id.is_empty()))
    .collect()
}

/// New conversations in a queue of their own, timed from the create request to the offer
/// frame on the console socket of the one agent who takes `api` work.
async fn offers(admin: &Api, count: usize) -> Vec<u64> {
    let run = support::free_port();
    let queue = admin
        .post("/api/v1/queues", json!({ "name": format!("Offers {run}") }))
        .await;
    let queue = queue["id"].as_str().expect("queue").to_string();
    let email = format!("offers{run}@bench.test");
    admin
        .post(
            "/api/v1/agents",
            json!({"email": email, "name": "Offers", "role": "agent", "password": PASSWORD,
               "capacity": {"api": 1000, "chat": 0, "email": 0, "phone": 0, "fax": 0}}),
        )
        .await;
    let agent = Api::login(&admin.base, &email, PASSWORD).await;
    let ws_url = format!(
        "{}/ws/console?token={}",
        admin.base.replacen("http", "ws", 1),
        agent.token
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("console socket");
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let reader = {
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                let Ok(text) = msg.into_text() else { continue };
                let Ok(ev) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if ev["kind"] == "conversation.offered" {
                    let id = ev["conversation_id"].as_str().unwrap_or_default();
                    seen.lock().unwrap().insert(id.to_string(), Instant::now());
                }
            }
        })
    };
    let resp = agent
        .client
        .put(format!("{}/api/v1/agents/me/presence", agent.base))
        .bearer_auth(&agent.token)
        .json(&json!({"status": "available"}))
        .send()
        .await
        .expect("presence");
    assert!(resp.status().is_success(), "presence: {}", resp.status());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut out = Vec::with_capacity(count);
    for i in 0..count + 3 {
        let t0 = Instant::now();
        let conv = admin
            .post(
                "/api/v1/conversations",
                json!({"customer": {"email": format!("offer{i}-{}@bench.test", t0.elapsed().as_nanos())},
                   "subject": "Offer", "queue_id": queue}),
            )
            .await;
        let id = conv["id"].as_str().expect("id").to_string();
        let deadline = t0 + Duration::from_secs(10);
        let at = loop {
            if let Some(at) = seen.lock().unwrap().get(&id) {
                break Some(*at);
            }
            if Instant::now() > deadline {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let Some(at) = at else {
            println!("offer {i}: not offered within 10 s");
            continue;
        };
        if i >= 3 {
            out.push(at.duration_since(t0).as_micros() as u64);
        }
    }
    reader.abort();
    out
}

pub async fn run(t: &Target) {
    let port = support::free_port();
    let server = start(t, port);
    let pid = server.0.id();
    let booted = Instant::now();
    support::wait_for_port(port).await;
    println!(
        "server listening after {:.1} s",
        booted.elapsed().as_secs_f64()
    );
    let (settled, share) = wait_idle(pid).await;
    println!(
        "quiet after {:.0} s more ({:.0} % of a core); RSS idle after start: {} MiB",
        settled.as_secs_f64(),
        share * 100.0,
        rss_kib(pid) / 1024
    );
    let base = format!("http://127.0.0.1:{port}");
    let admin = Arc::new(Api::login(&base, "admin@bench.test", PASSWORD).await);
    let agent = Api::login(&base, "a0@bench.test", PASSWORD).await;
    let me = agent.get("/api/v1/auth/me").await;
    let me = me["id"]
        .as_str()
        .or(me["agent"]["id"].as_str())
        .unwrap_or("");
    let n = samples();
    println!("\n| request | n | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|");
    let figures = figures(&admin, me).await;
    let mut worst = 0;
    for (label, paths, mine) in &figures {
        let api = if *mine { &agent } else { &*admin };
        let (_, _, max) = line(label, sequential(api, paths, n).await);
        worst = worst.max(max);
    }
    let searches: Vec<String> = figures
        .iter()
        .filter(|f| f.0.contains("search"))
        .flat_map(|f| f.1.clone())
        .collect();
    let (_, _, max) = line(
        "8 clients at once: every search above",
        concurrent(&admin, &searches, 8, n * 2).await,
    );
    worst = worst.max(max);
    let lists: Vec<String> = figures
        .iter()
        .filter(|f| f.0.starts_with("inbox") && !f.2 || f.0.starts_with("timeline"))
        .flat_map(|f| f.1.clone())
        .collect();
    let (_, _, max) = line(
        "8 clients at once: inboxes and timelines",
        concurrent(&admin, &lists, 8, n * 2).await,
    );
    worst = worst.max(max);
    line(
        "new conversation → offer on the agent's console",
        offers(&admin, n / 2).await,
    );
    println!("\nslowest request anywhere: {:.0} ms", ms(worst));
    let (_, share) = wait_idle(pid).await;
    println!(
        "RSS idle after the measurements: {} MiB ({:.0} % of a core)",
        rss_kib(pid) / 1024,
        share * 100.0
    );
    // What a server left alone gives back within a minute.
    tokio::time::sleep(std::time::Duration::from_secs(45)).await;
    println!(
        "RSS a minute after the measurements: {} MiB",
        rss_kib(pid) / 1024
    );
}
