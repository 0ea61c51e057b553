//! Customer value at scale: `SB_BENCH_CUSTOMERS` customers (default 1,000,000) with
//! `SB_BENCH_ORDERS` orders (default ten per customer) over three years, imported through
//! `POST /api/v1/orders/import` (CSV, `SB_BENCH_REQUEST_LINES` lines per request, default
//! 1,000,000), then the full refit (RFM + BG/NBD + Gamma-Gamma over everything, stored) through
//! `POST /api/v1/insights/customer-value/refit`, with the process's peak resident memory during
//! it, then `GET /api/v1/customers/{id}` (whose `value` is read from the customer's orders and
//! the stored model) for 500 customers, and the `value` computation alone.
//! `SB_BENCH_IMPORT_BATCH` overrides `value.import_batch` (orders per transaction).
//!
//! SQLite in a temporary directory, or PostgreSQL when `SWITCHBOARD_BENCH_POSTGRES` names an
//! empty database. `cargo bench --bench value_scale` (release).

#[path = "../crates/value/benches/shop.rs"]
mod shop;
mod support;

use shop::{buyer, mix};

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use switchboard::auth::Role;
use switchboard::{Application, Settings};

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

/// Peak resident memory of this process in KiB since the last [`reset_peak`].
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Start measuring the peak resident memory afresh (Linux: `clear_refs` 5).
fn reset_peak() {
    if std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("cannot reset the peak RSS; it covers the whole run");
    }
}

async fn start() -> (
    switchboard::state::AppState,
    String,
    String,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings::defaults();
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.data_dir = dir.path().to_path_buf();
    settings.logging.level = "warn".into();
    settings.value.default_currency = "USD".into();
    // Only the measured refit runs.
    settings.value.refit_interval_secs = 0;
    settings.value.refit_after_orders_secs = 1_000_000;
    settings.value.refit_lease_secs = 600;
    settings.value.import_batch = env_usize("SB_BENCH_IMPORT_BATCH", settings.value.import_batch);
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
    let login: Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "admin@bench.test", "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["token"].as_str().expect("token").to_string();
    (state, base, token, dir)
}

async fn import(client: &reqwest::Client, base: &str, token: &str, n: usize, customers: usize) {
    let per_request = env_usize("SB_BENCH_REQUEST_LINES", 1_000_000).max(1);
    let mut spent = Duration::ZERO;
    let mut imported = 0;
    for from in (0..n).step_by(per_request) {
        let body = csv_lines(from, (from + per_request).min(n), n, customers);
        let started = Instant::now();
        let resp = client
            .post(format!("{base}/api/v1/orders/import"))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(body)
            .send()
            .await
            .expect("import");
        assert!(resp.status().is_success(), "import: {}", resp.status());
        let report: Value = resp.json().await.expect("report");
        spent += started.elapsed();
        imported += report["imported"].as_u64().unwrap_or(0) as usize;
        assert_eq!(report["rejected_total"], 0, "{report}");
        eprintln!(
            "  {imported} orders, {:.0} orders/s so far",
            imported as f64 / spent.as_secs_f64()
        );
    }
    assert_eq!(imported, n);
    println!(
        "import: {n} orders in {:.1} s = {:.0} orders/s",
        spent.as_secs_f64(),
        n as f64 / spent.as_secs_f64()
    );
}

async fn refit(client: &reqwest::Client, base: &str, token: &str) {
    let before = support::rss_kib(std::process::id());
    reset_peak();
    let started = Instant::now();
    let resp = client
        .post(format!("{base}/api/v1/insights/customer-value/refit"))
        .bearer_auth(token)
        .send()
        .await
        .expect("refit");
    assert!(resp.status().is_success(), "refit: {}", resp.status());
    let model: Value = resp.json().await.expect("model");
    let took = started.elapsed();
    println!(
        "refit: {} customers, {} orders in {:.1} s; RSS {} MiB before, peak {} MiB during \
         (+{} MiB); bg_nbd {} gamma_gamma {} {}",
        model["customers"],
        model["orders"],
        took.as_secs_f64(),
        before / 1024,
        peak_kib() / 1024,
        peak_kib().saturating_sub(before) / 1024,
        model["bg_nbd"],
        model["gamma_gamma"],
        model["fit_error"]
    );
    // Where the time went: the refit's steps (load, fit, store) as the server counts them.
    let metrics = client
        .get(format!("{base}/metrics"))
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

async fn profiles(
    state: &switchboard::state::AppState,
    client: &reqwest::Client,
    base: &str,
    token: &str,
) {
    let ids: Vec<(String,)> = sqlx::query_as(
        "SELECT customer_id FROM customer_values WHERE orders > 0 ORDER BY customer_id",
    )
    .fetch_all(state.store.pool())
    .await
    .expect("customers");
    let sample: Vec<&str> = (0..500)
        .map(|i| ids[(mix(i) % ids.len() as u64) as usize].0.as_str())
        .collect();
    let mut http = Vec::new();
    let mut value = Vec::new();
    for id in &sample {
        let started = Instant::now();
        let resp = client
            .get(format!("{base}/api/v1/customers/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("profile");
        let body: Value = resp.json().await.expect("json");
        http.push(started.elapsed().as_micros() as u64);
        assert!(body["value"]["rfm"]["segment"].is_string(), "{body}");
        let started = Instant::now();
        switchboard::value::profile::customer_value(state, id)
            .await
            .expect("value");
        value.push(started.elapsed().as_micros() as u64);
    }
    for (what, v) in [("GET /customers/{id}", http), ("its `value` alone", value)] {
        let (p50, p99, max) = support::percentiles(v);
        println!(
            "{what}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (500 customers)",
            p50 as f64 / 1000.0,
            p99 as f64 / 1000.0,
            max as f64 / 1000.0
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let customers = env_usize("SB_BENCH_CUSTOMERS", 1_000_000).max(1);
    let n = env_usize("SB_BENCH_ORDERS", customers * 10);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("value_scale: {customers} customers, {n} orders; load average {load}");
    let (state, base, token, _dir) = start().await;
    let client = reqwest::Client::new();
    import(&client, &base, &token, n, customers).await;
    refit(&client, &base, &token).await;
    profiles(&state, &client, &base, &token).await;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at the end {load}");
}
