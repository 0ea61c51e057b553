//! Concurrent widget sockets held on one node, and visitor → agent delivery latency at a steady
//! message rate, each beside a bare axum/tokio-tungstenite relay measured in the same run.
//!
//! The bare relay is this same binary re-executed with `SB_BENCH_ROLE=relay` (a separate process,
//! so its resident memory is its own); Switchboard is the real `switchboard` binary on SQLite.
//! For Switchboard two latencies are reported, each for a visitor's first message (which opens
//! a conversation) and for follow-ups: send → `ack` (sent only after the message committed)
//! and visitor → agent delivery, send → an admin's console socket receiving `message.created`.
//! Every client socket binds its own loopback source address (127.10.x.y), at most 19 sockets per
//! address, because Switchboard allows 20 widget sockets per client IP.
//!
//! `cargo bench --bench chat_sockets` — env: `SB_BENCH_SOCKETS` (10000), `SB_BENCH_RATE` (2000
//! messages/s), `SB_BENCH_SECS` (5 per latency phase), `SB_BENCH_DEFAULT_SOCKETS` (sockets for
//! the default-buffer relay, 10000), `SB_BENCH_PG=1` (Switchboard on PostgreSQL).

#[path = "support/chat_client.rs"]
mod client;
#[path = "support/chat_relay.rs"]
mod relay;
mod support;

use client::*;
use serde_json::{json, Value};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Children to kill if the watchdog fires.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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
    agent: String,
    n: usize,
    rate: u64,
    secs: u64,
) {
    let stats = Arc::new(Stats::default());
    let stop = CancellationToken::new();
    let agent_handle = spawn_agent(target, port, agent, stats.clone(), stop.clone()).await;
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
                drain(
                    &[&stats.delivered_first, &stats.delivered],
                    total_sent as usize,
                )
                .await;
            }
        }
        let took = t0.elapsed().as_secs_f64();
        println!("  phase {phase}: {sent} sent in {secs} s, all answered after {took:.1} s = {:.0} messages/s sustained", sent as f64 / took);
    }
    if target == Target::Switchboard {
        let (first, next) = (
            total_sent.min(n as u64),
            total_sent.saturating_sub(n as u64),
        );
        row(
            "send → ack, first message (opens conversation)",
            &stats.ack_first,
            first,
        );
        row("send → ack, follow-up message", &stats.ack_next, next);
        row(
            "visitor → agent console, first message",
            &stats.delivered_first,
            first,
        );
        row(
            "visitor → agent console, follow-up message",
            &stats.delivered,
            next,
        );
        println!(
            "RSS after latency phases: {:.1} MiB",
            support::rss_kib(pid) as f64 / 1024.0
        );
        print_batches(port).await;
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
    let _ = tokio::task::spawn_blocking(move || agent_handle.join()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// The agent side (the relay's agent socket, Switchboard's console) on a thread of its own with
/// its own runtime, so the 10,000 visitor tasks of the client never delay its reads: its
/// latency is the server's, as for an agent on another machine. Returns once it is connected.
async fn spawn_agent(
    target: Target,
    port: u16,
    path: String,
    stats: Arc<Stats>,
    stop: CancellationToken,
) -> std::thread::JoinHandle<()> {
    let (ready, connected) = tokio::sync::oneshot::channel();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut ws = connect(port, &path, None).await.expect("agent socket");
            if target == Target::Switchboard {
                let hello = next_json(&mut ws).await.expect("console hello");
                assert_eq!(hello["type"], "hello", "{hello}");
            }
            let _ = ready.send(());
            agent_task(target, ws, stats, stop).await;
        });
    });
    connected.await.expect("agent side connected");
    handle
}

/// Group commits of the run, from Switchboard's `/metrics` (count, mean size, mean time).
async fn print_batches(port: u16) {
    let Ok(resp) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await else {
        return;
    };
    let text = resp.text().await.unwrap_or_default();
    // Summed over the metric's labels.
    let metric = |name: &str| {
        text.lines()
            .filter_map(|l| {
                let rest = l.strip_prefix(name)?;
                let value = match rest.strip_prefix('{') {
                    Some(labelled) => labelled.split_once('}')?.1,
                    None => rest,
                };
                value.trim().parse::<f64>().ok()
            })
            .sum::<f64>()
    };
    let n = metric("switchboard_chat_batch_size_count");
    let size = metric("switchboard_chat_batch_size_sum");
    let secs = metric("switchboard_chat_batch_seconds_sum");
    if n > 0.0 {
        println!(
            "group commits: {n:.0}, mean {:.1} messages and {:.2} ms each",
            size / n,
            secs * 1000.0 / n
        );
    }
    let passes = metric("switchboard_routing_pass_seconds_count");
    if passes > 0.0 {
        println!(
            "routing passes: {passes:.0}, mean {:.2} ms each",
            metric("switchboard_routing_pass_seconds_sum") * 1000.0 / passes
        );
    }
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
        measure(
            label,
            Target::Relay,
            guard.0.id(),
            port,
            "",
            "/agent".to_string(),
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
        format!("/ws/console?token={token}"),
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
        rt.block_on(relay::relay_main(
            env_num("SB_BENCH_PORT", 0) as u16,
            env_num("SB_BENCH_BUF", 0) as usize,
        ));
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
