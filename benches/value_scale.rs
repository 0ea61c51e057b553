//! Customer value at scale: `SB_BENCH_CUSTOMERS` customers (default 1,000,000) with
//! `SB_BENCH_ORDERS` orders (default ten per customer) over three years, imported through
//! `POST /api/v1/orders/import` (CSV, `SB_BENCH_REQUEST_LINES` lines per request, default
//! 1,000,000), then the full refit (RFM + BG/NBD + Gamma-Gamma over everything, stored) through
//! `POST /api/v1/insights/customer-value/refit`, with the process's peak resident memory during
//! it, then `GET /api/v1/customers/{id}` (whose `value` is read from the customer's orders and
//! the stored model) for 500 customers. `SB_BENCH_IMPORT_BATCH` overrides
//! `value.import_batch` (orders per transaction); `SB_BENCH_REFITS=2` refits twice.
//!
//! The server is the real `switchboard` binary in its own process (`SB_BENCH_SERVER` runs
//! another build), so the memory figures are the server's alone, with its own allocator
//! settings. SQLite in a temporary directory, or PostgreSQL when `SWITCHBOARD_BENCH_POSTGRES`
//! names an empty database. `cargo bench --bench value_scale` (release).

#[path = "../crates/value/benches/shop.rs"]
mod shop;
mod support;

use shop::{buyer, mix};

use serde_json::Value;
use std::time::{Duration, Instant};

/// 2023-01-01T00:00:00Z: the first order; the last is three years later.
const START_MS: i64 = 1_672_531_200_000;
const SPAN_MS: i64 = 3 * 365 * 86_400_000;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Orders `from..to` of `n` as CSV lines, in time order (as a shop's export is): order k is
/// placed at k/n of the three years by a customer active then ([`buyer`]), for an amount
/// around that customer's own mean spend ([`shop::spread_cents`]).
fn csv_lines(from: usize, to: usize, n: usize, customers: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity((to - from) * 56 + 64);
    out.extend_from_slice(b"customer,external_id,amount,placed_at\n");
    let c = customers as u64;
    for k in from..to {
        let r = mix(k as u64);
        let at = START_MS + (k as i64 * SPAN_MS) / n as i64;
        let who = buyer(r, k as f64 / n as f64, c);
        let cents = shop::spread_cents(r, who);
        let secs = at / 1000;
        let day = secs / 86_400;
        let (y, m, d) = civil(day);
        let sod = secs % 86_400;
        let line = format!(
            "c{who}@bench.test,o{k},{}.{:02},{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z\n",
            cents / 100,
            cents % 100,
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

/// The civil date of a day number since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Start measuring the server's peak resident memory afresh (Linux: `clear_refs` 5).
fn reset_peak(pid: u32) {
    if std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_err() {
        eprintln!("cannot reset the peak RSS; it covers the whole run");
    }
}

/// The server under test: the real binary in its own process (as deployed: its memory is
/// its own, not the load generator's, and it runs with its own allocator settings).
struct Server {
    child: support::ChildGuard,
    base: String,
    token: String,
    /// The database, for picking customers to read.
    db_url: String,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    let port = support::free_port();
    let pg = std::env::var("SWITCHBOARD_BENCH_POSTGRES").ok();
    let mut env = vec![
        ("SWITCHBOARD__VALUE__DEFAULT_CURRENCY", "USD".to_string()),
        // Only the measured refit runs.
        ("SWITCHBOARD__VALUE__REFIT_INTERVAL_SECS", "0".into()),
        (
            "SWITCHBOARD__VALUE__REFIT_AFTER_ORDERS_SECS",
            "1000000".into(),
        ),
        ("SWITCHBOARD__VALUE__REFIT_LEASE_SECS", "600".into()),
    ];
    if let Ok(batch) = std::env::var("SB_BENCH_IMPORT_BATCH") {
        env.push(("SWITCHBOARD__VALUE__IMPORT_BATCH", batch.replace('_', "")));
    }
    let (child, dir) = support::start_switchboard_with(port, pg.as_deref(), &env);
    support::wait_for_port(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let token = support::admin_token(&base).await;
    let db_url = pg.unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=ro",
            dir.path().join("switchboard.db").display()
        )
    });
    Server {
        child,
        base,
        token,
        db_url,
        _dir: dir,
    }
}

async fn import(client: &reqwest::Client, srv: &Server, n: usize, customers: usize) {
    let per_request = env_usize("SB_BENCH_REQUEST_LINES", 1_000_000).max(1);
    let pid = srv.child.0.id();
    let mut spent = Duration::ZERO;
    let mut imported = 0;
    for from in (0..n).step_by(per_request) {
        let body = csv_lines(from, (from + per_request).min(n), n, customers);
        let started = Instant::now();
        let resp = client
            .post(format!("{}/api/v1/orders/import", srv.base))
            .bearer_auth(&srv.token)
            .header("content-type", "text/csv")
            .body(body)
            .send()
            .await
            .expect("import");
        assert!(resp.status().is_success(), "import: {}", resp.status());
        let report: Value = resp.json().await.expect("report");
        let took = started.elapsed();
        spent += took;
        imported += report["imported"].as_u64().unwrap_or(0) as usize;
        assert_eq!(report["rejected_total"], 0, "{report}");
        eprintln!(
            "  {imported} orders, this request {:.1} s, {:.0} orders/s so far; server RSS {} MiB",
            took.as_secs_f64(),
            imported as f64 / spent.as_secs_f64(),
            support::status_kib(pid, "VmRSS:") / 1024
        );
    }
    assert_eq!(imported, n);
    println!(
        "import: {n} orders in {:.1} s = {:.0} orders/s; server RSS peak {} MiB, now {} MiB \
         ({} MiB anonymous)",
        spent.as_secs_f64(),
        n as f64 / spent.as_secs_f64(),
        support::status_kib(pid, "VmHWM:") / 1024,
        support::status_kib(pid, "VmRSS:") / 1024,
        support::status_kib(pid, "RssAnon:") / 1024
    );
}

async fn refit(client: &reqwest::Client, srv: &Server) {
    let pid = srv.child.0.id();
    let before = support::status_kib(pid, "VmRSS:");
    reset_peak(pid);
    let started = Instant::now();
    let resp = client
        .post(format!("{}/api/v1/insights/customer-value/refit", srv.base))
        .bearer_auth(&srv.token)
        .send()
        .await
        .expect("refit");
    assert!(resp.status().is_success(), "refit: {}", resp.status());
    let model: Value = resp.json().await.expect("model");
    let took = started.elapsed();
    let peak = support::status_kib(pid, "VmHWM:");
    println!(
        "refit: {} customers, {} orders in {:.1} s; server RSS {} MiB before, peak {} MiB \
         during (+{} MiB), {} MiB after; bg_nbd {} gamma_gamma {} {}",
        model["customers"],
        model["orders"],
        took.as_secs_f64(),
        before / 1024,
        peak / 1024,
        peak.saturating_sub(before) / 1024,
        support::status_kib(pid, "VmRSS:") / 1024,
        model["bg_nbd"],
        model["gamma_gamma"],
        model["fit_error"]
    );
    // Where the time went: the refit's steps (load, fit, store) as the server counts them,
    // summed over every refit of the run.
    let metrics = client
        .get(format!("{}/metrics", srv.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    for line in metrics.lines() {
        if line.starts_with("switchboard_value_refit_seconds_sum") {
            println!("  {line}");
        }
    }
}

/// 500 customers with orders, picked from the database.
async fn sample(db_url: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(db_url).await.expect("database");
    let ids: Vec<(String,)> = sqlx::query_as(
        "SELECT customer_id FROM customer_values WHERE orders > 0 ORDER BY customer_id",
    )
    .fetch_all(&pool)
    .await
    .expect("customers");
    pool.close().await;
    (0..500)
        .map(|i| ids[(mix(i) % ids.len() as u64) as usize].0.clone())
        .collect()
}

async fn profiles(client: &reqwest::Client, srv: &Server) {
    let mut took = Vec::new();
    for id in sample(&srv.db_url).await {
        let started = Instant::now();
        let resp = client
            .get(format!("{}/api/v1/customers/{id}", srv.base))
            .bearer_auth(&srv.token)
            .send()
            .await
            .expect("profile");
        let body: Value = resp.json().await.expect("json");
        took.push(started.elapsed().as_micros() as u64);
        assert!(body["value"]["rfm"]["segment"].is_string(), "{body}");
    }
    let (p50, p99, max) = support::percentiles(took);
    println!(
        "GET /customers/{{id}} (its `value` included): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms \
         (500 customers)",
        p50 as f64 / 1000.0,
        p99 as f64 / 1000.0,
        max as f64 / 1000.0
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let customers = env_usize("SB_BENCH_CUSTOMERS", 1_000_000).max(1);
    let n = env_usize("SB_BENCH_ORDERS", customers * 10);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("value_scale: {customers} customers, {n} orders; load average {load}");
    let srv = start().await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3600))
        .build()
        .expect("client");
    import(&client, &srv, n, customers).await;
    // `SB_BENCH_REFITS=2`: a second refit straight after the first, as a scheduled refit with
    // no new orders runs (the step sums printed are over the refits so far).
    for _ in 0..env_usize("SB_BENCH_REFITS", 1).max(1) {
        refit(&client, &srv).await;
    }
    profiles(&client, &srv).await;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at the end {load}");
}
