//! Inbound email per second from raw MIME to a committed conversation (customer matched, thread
//! found, message and attachments stored and committed), on SQLite and on PostgreSQL — in
//! batches as the IMAP worker stores a fetch (one transaction per batch), one transaction per
//! message, and over HTTP — beside `mail-parser` alone and `switchboard_mail::parse` alone in
//! the same run.
//!
//! `cargo bench --bench email_ingest` — env: `SB_BENCH_MESSAGES` (5000), `SB_BENCH_BATCH` (50),
//! `SB_BENCH_HTTP_CLIENTS` (4 concurrent clients for the HTTP run), `SB_BENCH_ONLY` (run only
//! the paths whose label contains it, e.g. `HTTP` or `SQLite, HTTP`).

mod support;

use base64::Engine;
use serde_json::{json, Value};
use std::time::Instant;
use switchboard::channels::email::inbound::{self, Outcome};
use switchboard::settings::Settings;
use switchboard::Application;

const SENDERS: usize = 1_000;

/// "سلام، سفارش من کجاست؟" in windows-1256.
const FA_1256: &[u8] = &[
    0xD3, 0xE1, 0xC7, 0xE3, 0xA1, 0x20, 0xD3, 0xDD, 0xC7, 0xD1, 0xD4, 0x20, 0xE3, 0xE4, 0x20, 0x98,
    0xCC, 0xC7, 0xD3, 0xCA, 0xBF,
];

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Message `k`: sender `k % 1000`; the first 1,000 open threads, later ones mostly answer the
/// sender's previous message (`In-Reply-To`), every third opens a new thread; every tenth is
/// Persian in windows-1256, every fourth has an HTML alternative, every fiftieth a 3 KiB PDF.
fn message(k: usize) -> Vec<u8> {
    let s = k % SENDERS;
    let mut h = format!(
        "Return-Path: <s{s}@customer.example>\r\nReceived: from mx.customer.example by mx.shop.example; Sat, 1 Mar 2025 12:00:00 +0330\r\n\
         From: \"Customer {s}\" <s{s}@customer.example>\r\nTo: Support <support@shop.example>\r\n\
         Date: Sat, 1 Mar 2025 12:{:02}:{:02} +0330\r\nMessage-ID: <m{k}@customer.example>\r\nMIME-Version: 1.0\r\n",
        (k / 60) % 60,
        k % 60
    );
    let reply = k >= SENDERS && k % 3 != 0;
    if reply {
        let prev = k - SENDERS;
        h.push_str(&format!(
            "In-Reply-To: <m{prev}@customer.example>\r\nReferences: <m{prev}@customer.example>\r\n"
        ));
    }
    let persian = k % 10 == 0;
    if persian {
        let subj = format!("=?windows-1256?B?{}?=", b64(FA_1256));
        h.push_str(&format!(
            "Subject: {}{subj}\r\n",
            if reply { "Re: " } else { "" }
        ));
    } else {
        h.push_str(&format!(
            "Subject: {}Order {s} question\r\n",
            if reply { "Re: " } else { "" }
        ));
    }
    let (ctype, body): (&str, Vec<u8>) = if persian {
        let mut b = FA_1256.to_vec();
        b.extend_from_slice(b"\r\n\r\n");
        b.extend_from_slice(FA_1256);
        b.extend_from_slice(b"\r\n");
        (
            "text/plain; charset=windows-1256\r\nContent-Transfer-Encoding: 8bit",
            b,
        )
    } else {
        let quote = if reply {
            "\r\n\r\nOn Sat, 1 Mar 2025 Support wrote:\r\n> Thanks for writing, we are on it.\r\n> Regards\r\n"
        } else {
            ""
        };
        let text = format!(
            "Hello,\r\n\r\nI ordered item {k} last week and it has not arrived yet. Could you check\r\n\
             the tracking number for me? The order was paid by card.\r\n\r\nThanks,\r\nCustomer {s}{quote}"
        );
        ("text/plain; charset=utf-8", text.into_bytes())
    };
    let mut part = format!("Content-Type: {ctype}\r\n\r\n").into_bytes();
    part.extend_from_slice(&body);
    if k % 4 == 1 && !persian {
        let html = format!(
            "<html><body><p>Hello,</p><p>I ordered item <b>{k}</b> last week and it has not arrived \
             yet.</p><p>Thanks,<br>Customer {s}</p><script>alert(1)</script></body></html>"
        );
        let mut alt =
            b"Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\n".to_vec();
        alt.extend_from_slice(&part);
        alt.extend_from_slice(
            format!(
                "\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--alt--\r\n"
            )
            .as_bytes(),
        );
        part = alt;
    }
    let mut raw = h.into_bytes();
    if k % 50 == 7 {
        let pdf: Vec<u8> = (0..3072u32).map(|i| (i * 31 % 251) as u8).collect();
        let wrapped: String = b64(&pdf)
            .as_bytes()
            .chunks(76)
            .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
            .collect();
        raw.extend_from_slice(b"Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\n");
        raw.extend_from_slice(&part);
        raw.extend_from_slice(
            format!(
                "\r\n--mix\r\nContent-Type: application/pdf; name=\"invoice-{k}.pdf\"\r\n\
                 Content-Disposition: attachment; filename=\"invoice-{k}.pdf\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n{wrapped}--mix--\r\n"
            )
            .as_bytes(),
        );
    } else {
        raw.extend_from_slice(&part);
    }
    raw
}

/// Whether `SB_BENCH_ONLY` (if set) selects the path `label`.
fn wanted(label: &str) -> bool {
    std::env::var("SB_BENCH_ONLY").map_or(true, |only| label.contains(&only))
}

fn settings(dir: &std::path::Path, db_url: String) -> Settings {
    let mut s = Settings::defaults();
    s.server.bind = "127.0.0.1:0".into();
    s.server.data_dir = dir.to_path_buf();
    s.database.url = db_url.into();
    s.logging.level = "warn".into();
    s
}

/// Rows stored: (email messages, conversations, attachments).
async fn counts(state: &switchboard::state::AppState) -> (i64, i64, i64) {
    let pool = state.store.pool();
    let one = |sql: &'static str| async move {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.expect("count");
        n
    };
    (
        one("SELECT COUNT(*) FROM messages WHERE channel = 'email'").await,
        one("SELECT COUNT(*) FROM conversations WHERE channel = 'email'").await,
        one("SELECT COUNT(*) FROM email_attachments").await,
    )
}

fn report(label: &str, n: usize, secs: f64, c: (i64, i64, i64)) {
    println!(
        "| {label} | {n} | {secs:.2} | {:.0} | {} | {} | {} |",
        n as f64 / secs,
        c.0,
        c.1,
        c.2
    );
    assert_eq!(c.0 as usize, n, "{label}: every message stored once");
}

/// The ingest function directly, one message after another.
async fn direct(label: &str, db_url: String, msgs: &[Vec<u8>]) {
    if !wanted(label) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(settings(dir.path(), db_url))
        .await
        .expect("server builds");
    let state = app.state().clone();
    let started = Instant::now();
    let mut lat = Vec::with_capacity(msgs.len());
    for raw in msgs {
        let t = Instant::now();
        let out = inbound::ingest(&state, None, raw).await.expect("ingest");
        lat.push(t.elapsed().as_micros() as u64);
        assert!(matches!(out, Outcome::Stored { .. }), "{out:?}");
    }
    let secs = started.elapsed().as_secs_f64();
    report(label, msgs.len(), secs, counts(&state).await);
    let (p50, p99, max) = support::percentiles(lat);
    println!("|   per message: p50 {p50} µs, p99 {p99} µs, max {max} µs | | | | | | |");
}

/// `inbound::ingest_batch` over batches of `batch` messages, as the IMAP worker stores one
/// fetch: one transaction per batch (group commit), every message committed when it returns.
async fn batched(label: &str, db_url: String, msgs: &[Vec<u8>], batch: usize) {
    if !wanted(label) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(settings(dir.path(), db_url))
        .await
        .expect("server builds");
    let state = app.state().clone();
    let started = Instant::now();
    let mut lat = Vec::new();
    for chunk in msgs.chunks(batch) {
        let t = Instant::now();
        let out = inbound::ingest_batch(&state, None, chunk, None)
            .await
            .expect("ingest_batch");
        lat.push(t.elapsed().as_micros() as u64);
        for o in out {
            assert!(matches!(o, Outcome::Stored { .. }), "{o:?}");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    report(label, msgs.len(), secs, counts(&state).await);
    let (p50, p99, max) = support::percentiles(lat);
    println!("|   per batch of {batch}: p50 {p50} µs, p99 {p99} µs, max {max} µs | | | | | | |");
}

/// `POST /api/v1/channels/email/inbound` with `clients` concurrent HTTP clients.
async fn over_http(label: &str, db_url: String, msgs: &[Vec<u8>], clients: usize) {
    if !wanted(label) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(settings(dir.path(), db_url))
        .await
        .expect("server builds");
    let base = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    let pw = "bench password 123";
    switchboard::agents::create_from_cli(
        &state.store,
        "admin@bench.test",
        "Admin",
        switchboard::auth::Role::Admin,
        pw,
    )
    .await
    .expect("admin");
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "admin@bench.test", "password": pw}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["token"].as_str().expect("token").to_string();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        // Client c takes messages c, c + clients, …: replies still arrive long after their parent.
        let mine: Vec<Vec<u8>> = msgs.iter().skip(c).step_by(clients).cloned().collect();
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            for raw in mine {
                let resp = http
                    .post(format!("{base}/api/v1/channels/email/inbound"))
                    .bearer_auth(&token)
                    .header("Content-Type", "message/rfc822")
                    .body(raw)
                    .send()
                    .await
                    .expect("request");
                assert_eq!(resp.status().as_u16(), 201, "{:?}", resp.text().await);
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    let secs = started.elapsed().as_secs_f64();
    report(label, msgs.len(), secs, counts(&state).await);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("SB_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let clients: usize = std::env::var("SB_BENCH_HTTP_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let msgs: Vec<Vec<u8>> = (0..n).map(message).collect();
    let bytes: usize = msgs.iter().map(Vec::len).sum();
    println!(
        "{n} messages, {:.1} KiB average, {SENDERS} senders; {} replies, {} windows-1256, {} with a PDF",
        bytes as f64 / n as f64 / 1024.0,
        (0..n).filter(|k| *k >= SENDERS && k % 3 != 0).count(),
        (0..n).filter(|k| k % 10 == 0).count(),
        (0..n).filter(|k| k % 50 == 7).count(),
    );
    // The generated Persian really decodes (a broken charset would make the numbers meaningless).
    let p = switchboard_mail::parse(&msgs[0], &switchboard::channels::email::limits()).unwrap();
    assert!(
        p.text.contains("سفارش") && p.subject.contains("سفارش"),
        "{p:?}"
    );
    println!("\n| path | messages | seconds | messages/s | email messages stored | email conversations | attachments |");
    println!("|---|---|---|---|---|---|---|");
    let started = Instant::now();
    let mut parts = 0;
    for raw in &msgs {
        let m = mail_parser::MessageParser::default()
            .parse(raw.as_slice())
            .expect("mail-parser");
        parts += m.parts.len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "| mail-parser alone ({parts} MIME parts) | {n} | {secs:.3} | {:.0} | – | – | – |",
        n as f64 / secs
    );
    let limits = switchboard::channels::email::limits();
    let started = Instant::now();
    for raw in &msgs {
        switchboard_mail::parse(raw, &limits).expect("switchboard_mail::parse");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "| switchboard_mail::parse alone | {n} | {secs:.3} | {:.0} | – | – | – |",
        n as f64 / secs
    );
    let dir = tempfile::tempdir().unwrap();
    let sqlite = |name: &str| format!("sqlite://{}?mode=rwc", dir.path().join(name).display());
    let batch: usize = std::env::var("SB_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    batched(
        &format!("SQLite, inbound::ingest_batch, batches of {batch}"),
        sqlite("c.db"),
        &msgs,
        batch,
    )
    .await;
    direct("SQLite, inbound::ingest, sequential", sqlite("a.db"), &msgs).await;
    over_http(
        &format!("SQLite, HTTP POST, {clients} clients"),
        sqlite("b.db"),
        &msgs,
        clients,
    )
    .await;
    batched(
        &format!("PostgreSQL, inbound::ingest_batch, batches of {batch}"),
        support::fresh_pg().await,
        &msgs,
        batch,
    )
    .await;
    direct(
        "PostgreSQL, inbound::ingest, sequential",
        support::fresh_pg().await,
        &msgs,
    )
    .await;
    over_http(
        &format!("PostgreSQL, HTTP POST, {clients} clients"),
        support::fresh_pg().await,
        &msgs,
        clients,
    )
    .await;
}
