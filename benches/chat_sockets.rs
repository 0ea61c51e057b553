//! Concurrent widget sockets held on one node, and visitor → agent delivery latency at a steady
//! message rate, each beside a bare axum/tokio-tungstenite relay measured in the same run.
//!
//! The bare relay is this same binary re-executed with `SB_BENCH_ROLE=relay` (a separate process,
//! so its resident memory is its own); Switchboard is the real `switchboard` binary on SQLite.
//! Every client socket binds its own loopback source address (127.10.x.y), at most 19 sockets per
//! address, because Switchboard allows 20 widget sockets per client IP.
//!
//! `cargo bench --bench chat_sockets` — env: `SB_BENCH_SOCKETS` (10000), `SB_BENCH_RATE` (2000
//! messages/s), `SB_BENCH_SECS` (5 per latency phase), `SB_BENCH_DEFAULT_SOCKETS` (sockets for
//! the default-buffer relay, 10000), `SB_BENCH_PG=1` (Switchboard on PostgreSQL).

mod support;

use axum::extract::ws::{Message as AxMsg, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

type Ws = WebSocketStream<TcpStream>;
const ORIGIN: &str = "https://shop.example";
static BASE: LazyLock<Instant> = LazyLock::new(Instant::now);
/// Children to kill if the watchdog fires.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn micros() -> u64 {
    BASE.elapsed().as_micros() as u64
}

// ---------------------------------------------------------------- the bare relay (child process)

struct Relay {
    buf: usize,
    tx: mpsc::UnboundedSender<axum::extract::ws::Utf8Bytes>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<axum::extract::ws::Utf8Bytes>>>,
}

async fn relay_visitor(State(r): State<Arc<Relay>>, ws: WebSocketUpgrade) -> Response {
    let ws = if r.buf > 0 {
        ws.read_buffer_size(r.buf).write_buffer_size(r.buf)
    } else {
        ws
    };
    ws.on_upgrade(move |mut socket: WebSocket| async move {
        while let Some(Ok(m)) = socket.recv().await {
            if let AxMsg::Text(t) = m {
                let _ = r.tx.send(t);
            }
        }
    })
}

async fn relay_agent(State(r): State<Arc<Relay>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |mut socket: WebSocket| async move {
        let Some(mut rx) = r.rx.lock().unwrap().take() else {
            return;
        };
        while let Some(t) = rx.recv().await {
            if socket.send(AxMsg::Text(t)).await.is_err() {
                return;
            }
        }
    })
}

async fn relay_main() {
    let port = env_num("SB_BENCH_PORT", 0) as u16;
    let (tx, rx) = mpsc::unbounded_channel();
    let relay = Arc::new(Relay {
        buf: env_num("SB_BENCH_BUF", 0) as usize,
        tx,
        rx: Mutex::new(Some(rx)),
    });
    let app = axum::Router::new()
        .route("/visitor", axum::routing::get(relay_visitor))
        .route("/agent", axum::routing::get(relay_agent))
        .with_state(relay);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    // Bounded: the relay never outlives a stuck parent by more than ten minutes.
    let _ = tokio::time::timeout(Duration::from_secs(600), axum::serve(listener, app)).await;
}

// ---------------------------------------------------------------- client side

/// Latency samples and error counts of one measured target.
#[derive(Default)]
struct Stats {
    ack_first: Mutex<Vec<u64>>,
    ack_next: Mutex<Vec<u64>>,
    delivered: Mutex<Vec<u64>>,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Stats {
    fn error(&self, e: String) {
        self.errors.fetch_add(1, Relaxed);
        self.first_error.lock().unwrap().get_or_insert(e);
    }
}

fn source_ip(i: usize) -> Ipv4Addr {
    let k = i / 19;
    Ipv4Addr::new(127, 10 + (k / 250) as u8, (k % 250) as u8 + 1, 1)
}

async fn connect(port: u16, path: &str, src: Option<Ipv4Addr>) -> anyhow::Result<Ws> {
    let sock = TcpSocket::new_v4()?;
    if let Some(ip) = src {
        sock.bind(SocketAddr::from((ip, 0)))?;
    }
    let stream = sock
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await?;
    stream.set_nodelay(true)?;
    let mut req = format!("ws://127.0.0.1:{port}{path}").into_client_request()?;
    req.headers_mut().insert("Origin", ORIGIN.parse()?);
    let cfg = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    let (ws, _) = tokio_tungstenite::client_async_with_config(req, stream, Some(cfg)).await?;
    Ok(ws)
}

/// Next text frame as JSON (skipping pings), or an error.
async fn next_json(ws: &mut Ws) -> anyhow::Result<Value> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(&t)?),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => anyhow::bail!("socket ended: {other:?}"),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Target {
    Relay,
    Switchboard,
}

/// Open visitor socket `i` (with `hello` → `welcome` for Switchboard; one frame for the relay).
async fn open_visitor(target: Target, port: u16, site: &str, i: usize) -> anyhow::Result<Ws> {
    let path = match target {
        Target::Relay => "/visitor".to_string(),
        Target::Switchboard => format!("/ws/widget?site={site}"),
    };
    let mut ws = connect(port, &path, Some(source_ip(i))).await?;
    match target {
        Target::Relay => ws.send(Message::Text("hello".into())).await?,
        Target::Switchboard => {
            let hello = json!({"type": "hello", "site": site, "locale": "fa"});
            ws.send(Message::Text(hello.to_string().into())).await?;
            let v = next_json(&mut ws).await?;
            anyhow::ensure!(v["type"] == "welcome", "expected welcome, got {v}");
        }
    }
    Ok(ws)
}

/// Open `n` visitors (256 handshakes in flight); returns the sockets, failures and time taken.
async fn open_all(target: Target, port: u16, site: &str, n: usize) -> (Vec<Ws>, usize, f64) {
    let started = Instant::now();
    let results: Vec<_> = futures::stream::iter(0..n)
        .map(|i| async move {
            tokio::time::timeout(Duration::from_secs(30), open_visitor(target, port, site, i))
                .await
                .map_err(|_| anyhow::anyhow!("handshake timed out"))
                .and_then(|r| r)
        })
        .buffer_unordered(256)
        .collect()
        .await;
    let mut out = Vec::with_capacity(n);
    let mut failed = 0;
    for r in results {
        match r {
            Ok(ws) => out.push(ws),
            Err(e) => {
                if failed == 0 {
                    eprintln!("  first failed handshake: {e:#}");
                }
                failed += 1;
            }
        }
    }
    (out, failed, started.elapsed().as_secs_f64())
}

/// One visitor socket: sends a timestamped message per command, times the `ack`.
async fn visitor_task(
    target: Target,
    idx: usize,
    mut ws: Ws,
    mut cmds: mpsc::Receiver<()>,
    stats: Arc<Stats>,
    stop: CancellationToken,
) {
    let mut sent = 0u64;
    loop {
        tokio::select! {
            c = cmds.recv() => {
                if c.is_none() { return; }
                let t = micros();
                let frame = match target {
                    Target::Relay => t.to_string(),
                    Target::Switchboard => json!({"type": "message",
                        "client_id": format!("c{idx}-{sent}-{t}"), "text": format!("bench {t}")}).to_string(),
                };
                sent += 1;
                if let Err(e) = ws.send(Message::Text(frame.into())).await {
                    stats.error(format!("send: {e}"));
                    return;
                }
            }
            m = ws.next() => match m {
                Some(Ok(Message::Text(text))) => {
                    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    match v["type"].as_str() {
                        Some("ack") => {
                            let cid = v["client_id"].as_str().unwrap_or("");
                            let mut parts = cid.split('-');
                            let k: u64 = parts.nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
                            let t: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                            let list = if k == 0 { &stats.ack_first } else { &stats.ack_next };
                            list.lock().unwrap().push(micros() - t);
                        }
                        Some("error") => stats.error(v.to_string()),
                        _ => {}
                    }
                }
                Some(Ok(_)) => {}
                other => {
                    if !stop.is_cancelled() {
                        stats.error(format!("visitor socket ended: {other:?}"));
                    }
                    return;
                }
            },
            _ = stop.cancelled() => return,
        }
    }
}

/// The agent side: the relay's agent socket or Switchboard's console; times each delivery.
async fn agent_task(target: Target, mut ws: Ws, stats: Arc<Stats>, stop: CancellationToken) {
    loop {
        let m = tokio::select! {
            m = ws.next() => m,
            _ = stop.cancelled() => return,
        };
        let text = match m {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            other => {
                stats.error(format!("agent socket ended: {other:?}"));
                return;
            }
        };
        let sent = match target {
            Target::Relay => text.parse::<u64>().ok(),
            Target::Switchboard => {
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                (v["kind"] == "message.created")
                    .then(|| v["data"]["message"]["body"].as_str())
                    .flatten()
                    .and_then(|b| b.strip_prefix("bench "))
                    .and_then(|t| t.parse().ok())
            }
        };
        if let Some(t) = sent {
            stats.delivered.lock().unwrap().push(micros() - t);
        }
    }
}

/// Send `rate` messages/s for `secs` s, round-robin over the sockets, starting at `offset`.
async fn drive(cmds: &[mpsc::Sender<()>], rate: u64, secs: u64, offset: usize) -> (u64, u64) {
    let total = rate * secs;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let started = Instant::now();
    let (mut j, mut skipped) = (0u64, 0u64);
    while j < total {
        tick.tick().await;
        let due = ((started.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        while j < due {
            let c = &cmds[(offset + j as usize) % cmds.len()];
            if c.try_send(()).is_err() {
                skipped += 1;
            }
            j += 1;
        }
    }
    (total - skipped, skipped)
}

/// Wait until `want` samples arrived in `lists` together (or 30 s passed).
async fn drain(lists: &[&Mutex<Vec<u64>>], want: usize) {
    let until = Instant::now() + Duration::from_secs(30);
    let have = || lists.iter().map(|l| l.lock().unwrap().len()).sum::<usize>();
    while have() < want && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn row(label: &str, list: &Mutex<Vec<u64>>, sent: u64) {
    let v = list.lock().unwrap().clone();
    let n = v.len();
    let (p50, p99, max) = support::percentiles(v);
    let ms = |u: u64| u as f64 / 1000.0;
    println!(
        "| {label} | {sent} | {n} | {} | {:.2} | {:.2} | {:.2} |",
        sent.saturating_sub(n as u64),
        ms(p50),
        ms(p99),
        ms(max)
    );
}

fn mem_row(label: &str, n: usize, failed: usize, secs: f64, before: u64, after: u64) {
    let per = (after.saturating_sub(before)) as f64 / n.max(1) as f64;
    println!(
        "| {label} | {n} | {failed} | {secs:.1} | {:.1} | {:.1} | {per:.1} | {:.0} |",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        per * 10_000.0 / 1024.0 + before as f64 / 1024.0
    );
}

fn spawn_relay(port: u16, buf: usize) -> support::ChildGuard {
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .env("SB_BENCH_ROLE", "relay")
        .env("SB_BENCH_PORT", port.to_string())
        .env("SB_BENCH_BUF", buf.to_string())
        .spawn()
        .expect("relay process");
    CHILDREN.lock().unwrap().push(child.id());
    support::ChildGuard(child)
}

/// Memory (and, when `secs > 0`, latency) of one target; returns nothing, prints table rows.
#[allow(clippy::too_many_arguments)]
async fn measure(
    label: &str,
    target: Target,
    pid: u32,
    port: u16,
    site: &str,
    agent: Ws,
    n: usize,
    rate: u64,
    secs: u64,
) {
    let stats = Arc::new(Stats::default());
    let stop = CancellationToken::new();
    let agent_handle = tokio::spawn(agent_task(target, agent, stats.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = support::rss_kib(pid);
    let (socks, failed, took) = open_all(target, port, site, n).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = support::rss_kib(pid);
    println!("\nMEMORY | target | sockets open | failed | open time s | RSS before MiB | RSS after MiB | KiB/socket | est. MiB @10k |");
    mem_row(label, socks.len(), failed, took, before, after);
    if secs == 0 || socks.is_empty() {
        stop.cancel();
        return;
    }
    let mut cmds = Vec::with_capacity(socks.len());
    for (i, ws) in socks.into_iter().enumerate() {
        let (tx, rx) = mpsc::channel(8);
        cmds.push(tx);
        tokio::spawn(visitor_task(target, i, ws, rx, stats.clone(), stop.clone()));
    }
    println!("LATENCY | {label}: path | sent | received | missing | p50 ms | p99 ms | max ms |");
    let phases = if target == Target::Relay { 1 } else { 2 };
    let mut total_sent = 0;
    for phase in 0..phases {
        let t0 = Instant::now();
        let (sent, skipped) = drive(&cmds, rate, secs, phase * (rate * secs) as usize).await;
        total_sent += sent;
        if skipped > 0 {
            println!("  ({skipped} sends skipped: client queue full)");
        }
        match target {
            Target::Relay => {
                drain(&[&stats.delivered], total_sent as usize).await;
                row("visitor → agent socket", &stats.delivered, sent);
            }
            Target::Switchboard => {
                drain(&[&stats.ack_first, &stats.ack_next], total_sent as usize).await;
                drain(&[&stats.delivered], total_sent as usize).await;
            }
        }
        let took = t0.elapsed().as_secs_f64();
        println!("  phase {phase}: {sent} sent in {secs} s, all answered after {took:.1} s = {:.0} messages/s sustained", sent as f64 / took);
    }
    if target == Target::Switchboard {
        row(
            "send → ack, first message (opens conversation)",
            &stats.ack_first,
            total_sent.min(n as u64),
        );
        row(
            "send → ack, follow-up message",
            &stats.ack_next,
            total_sent - total_sent.min(n as u64),
        );
        row(
            "send → console message.created (all)",
            &stats.delivered,
            total_sent,
        );
        println!(
            "RSS after latency phases: {:.1} MiB",
            support::rss_kib(pid) as f64 / 1024.0
        );
    }
    println!(
        "errors: {}{}",
        stats.errors.load(Relaxed),
        stats
            .first_error
            .lock()
            .unwrap()
            .as_deref()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    stop.cancel();
    drop(cmds);
    let _ = agent_handle.await;
    tokio::time::sleep(Duration::from_millis(500)).await;
}

async fn bench() {
    let n = env_num("SB_BENCH_SOCKETS", 10_000) as usize;
    let n_default = env_num("SB_BENCH_DEFAULT_SOCKETS", 10_000) as usize;
    let rate = env_num("SB_BENCH_RATE", 2_000);
    let secs = env_num("SB_BENCH_SECS", 5);
    LazyLock::force(&BASE);
    println!("{n} sockets, {rate} messages/s for {secs} s per phase");
    for (label, buf, count, lat) in [
        ("bare relay, 4 KiB buffers", 4096usize, n, secs),
        ("bare relay, default 128 KiB buffers", 0, n_default, 0),
    ] {
        let port = support::free_port();
        let guard = spawn_relay(port, buf);
        support::wait_for_port(port).await;
        let agent = connect(port, "/agent", None).await.expect("agent socket");
        measure(
            label,
            Target::Relay,
            guard.0.id(),
            port,
            "",
            agent,
            count,
            rate,
            lat,
        )
        .await;
        drop(guard);
    }
    let port = support::free_port();
    // `SB_BENCH_PG=1`: Switchboard on a fresh PostgreSQL database instead of SQLite.
    let pg = match std::env::var("SB_BENCH_PG").as_deref() {
        Ok("1") => Some(support::fresh_pg().await),
        _ => None,
    };
    let (guard, _dir) = support::start_switchboard(port, pg.as_deref());
    CHILDREN.lock().unwrap().push(guard.0.id());
    support::wait_for_port(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let token = support::admin_token(&base).await;
    let site: Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/channels/chat/sites"))
        .bearer_auth(&token)
        .json(&json!({"name": "Bench shop", "allowed_origins": [ORIGIN]}))
        .send()
        .await
        .expect("create site")
        .json()
        .await
        .expect("site body");
    let key = site["site_key"].as_str().expect("site_key").to_string();
    let mut console = connect(port, &format!("/ws/console?token={token}"), None)
        .await
        .expect("console socket");
    let hello = next_json(&mut console).await.expect("console hello");
    assert_eq!(hello["type"], "hello", "{hello}");
    measure(
        if pg.is_some() {
            "switchboard (PostgreSQL)"
        } else {
            "switchboard (SQLite)"
        },
        Target::Switchboard,
        guard.0.id(),
        port,
        &key,
        console,
        n,
        rate,
        secs,
    )
    .await;
}

fn main() {
    if std::env::var("SB_BENCH_ROLE").as_deref() == Ok("relay") {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(relay_main());
        return;
    }
    // Watchdog: the whole bench stops by itself after eight minutes, children included.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(480));
        eprintln!("chat_sockets: watchdog fired after 8 minutes");
        for pid in CHILDREN.lock().unwrap().iter() {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
        std::process::exit(2);
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench());
}
