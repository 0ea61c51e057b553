//! The client side of `chat_sockets`: widget sockets from many loopback source addresses, the
//! agent side, the steady-rate driver and the result rows.

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

pub type Ws = WebSocketStream<TcpStream>;
pub const ORIGIN: &str = "https://shop.example";
pub static BASE: LazyLock<Instant> = LazyLock::new(Instant::now);

pub fn micros() -> u64 {
    BASE.elapsed().as_micros() as u64
}

/// Latency samples and error counts of one measured target.
#[derive(Default)]
pub struct Stats {
    pub ack_first: Mutex<Vec<u64>>,
    pub ack_next: Mutex<Vec<u64>>,
    /// Send → the agent side received it (relay: every message; Switchboard: follow-ups).
    pub delivered: Mutex<Vec<u64>>,
    /// Switchboard: send → the console received a visitor's first message.
    pub delivered_first: Mutex<Vec<u64>>,
    pub errors: AtomicU64,
    pub first_error: Mutex<Option<String>>,
}

impl Stats {
    fn error(&self, e: String) {
        self.errors.fetch_add(1, Relaxed);
        self.first_error.lock().unwrap().get_or_insert(e);
    }
}

pub fn source_ip(i: usize) -> Ipv4Addr {
    let k = i / 19;
    Ipv4Addr::new(127, 10 + (k / 250) as u8, (k % 250) as u8 + 1, 1)
}

pub async fn connect(port: u16, path: &str, src: Option<Ipv4Addr>) -> anyhow::Result<Ws> {
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
pub async fn next_json(ws: &mut Ws) -> anyhow::Result<Value> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(&t)?),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => anyhow::bail!("socket ended: {other:?}"),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
pub enum Target {
    Relay,
    Switchboard,
}

/// Open visitor socket `i` (with `hello` → `welcome` for Switchboard; one frame for the relay).
pub async fn open_visitor(target: Target, port: u16, site: &str, i: usize) -> anyhow::Result<Ws> {
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
pub async fn open_all(target: Target, port: u16, site: &str, n: usize) -> (Vec<Ws>, usize, f64) {
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
pub async fn visitor_task(
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
                        "client_id": format!("c{idx}-{sent}-{t}"), "text": format!("bench {t} {sent}")}).to_string(),
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
pub async fn agent_task(target: Target, mut ws: Ws, stats: Arc<Stats>, stop: CancellationToken) {
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
        // (send time, whether it was the visitor's first message)
        let sent = match target {
            Target::Relay => text.parse::<u64>().ok().map(|t| (t, false)),
            Target::Switchboard => {
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                (v["kind"] == "message.created")
                    .then(|| v["data"]["message"]["body"].as_str())
                    .flatten()
                    .and_then(|b| b.strip_prefix("bench "))
                    .and_then(|b| b.split_once(' '))
                    .and_then(|(t, k)| Some((t.parse().ok()?, k == "0")))
            }
        };
        if let Some((t, first)) = sent {
            let list = if first {
                &stats.delivered_first
            } else {
                &stats.delivered
            };
            list.lock().unwrap().push(micros() - t);
        }
    }
}

/// Send `rate` messages/s for `secs` s, round-robin over the sockets, starting at `offset`.
pub async fn drive(cmds: &[mpsc::Sender<()>], rate: u64, secs: u64, offset: usize) -> (u64, u64) {
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
pub async fn drain(lists: &[&Mutex<Vec<u64>>], want: usize) {
    let until = Instant::now() + Duration::from_secs(30);
    let have = || lists.iter().map(|l| l.lock().unwrap().len()).sum::<usize>();
    while have() < want && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn row(label: &str, list: &Mutex<Vec<u64>>, sent: u64) {
    let v = list.lock().unwrap().clone();
    let n = v.len();
    let (p50, p99, max) = super::support::percentiles(v);
    let ms = |u: u64| u as f64 / 1000.0;
    println!(
        "| {label} | {sent} | {n} | {} | {:.2} | {:.2} | {:.2} |",
        sent.saturating_sub(n as u64),
        ms(p50),
        ms(p99),
        ms(max)
    );
}

pub fn mem_row(label: &str, n: usize, failed: usize, secs: f64, before: u64, after: u64) {
    let per = (after.saturating_sub(before)) as f64 / n.max(1) as f64;
    println!(
        "| {label} | {n} | {failed} | {secs:.1} | {:.1} | {:.1} | {per:.1} | {:.0} |",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        per * 10_000.0 / 1024.0 + before as f64 / 1024.0
    );
}
