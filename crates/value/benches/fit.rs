//! The refit's numerics at scale: BG/NBD and Gamma-Gamma fits, RFM quintiles and every
//! customer's CLV over `SB_BENCH_CUSTOMERS` customers (default 1,000,000).
//!
//! Customers are the CDNOW sample's calibration histories (tests/fixtures/value) repeated,
//! each copy observed 0–364 days longer and spending 0–60 % more, so the data has the
//! papers' shape with far more distinct (x, t_x, T) and spend values than the sample.
//!
//! `SB_BENCH_SHAPE` picks other data instead, simulated as `benches/value_scale.rs` does:
//! `SB_BENCH_ORDERS` orders (default ten per customer) at even steps over three years
//! (2023–2025), each by a customer active then (customers buy from a start in the first
//! 90 % of the span for 5–85 % of it), observed up to today:
//!
//! - `uniform`: every order 5.00–504.99 drawn alike for every customer (value_scale's data
//!   before it gave customers their own mean spend): no spread of mean spend between
//!   customers, so the Gamma-Gamma likelihood has no finite maximum;
//! - `spread`: each customer has their own mean spend (log-normal across customers) and
//!   orders vary around it (value_scale's data now).
//!
//! `cargo bench -p switchboard-value --bench fit`
//! `SB_BENCH_SHAPE=uniform SB_BENCH_ORDERS=2000000 cargo bench -p switchboard-value --bench fit`

mod shop;

use shop::{buyer, mix};
use std::collections::BTreeMap;
use std::time::Instant;
use switchboard_value::{BgNbd, FitReport, GammaGamma, History, Quintiles, Summary};

fn day(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

fn cdnow() -> Vec<Summary> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/value/CDNOW_sample.txt"
    );
    let text = std::fs::read_to_string(path).expect("fixture");
    let end = day(1997, 9, 30);
    let mut customers: BTreeMap<u32, History> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let date: i64 = f[2].parse().unwrap();
        let d = day(date / 10_000, date / 100 % 100, date % 100);
        let h = customers.entry(f[1].parse().unwrap()).or_default();
        if d <= end {
            h.push(d, f[4].parse().unwrap());
        }
    }
    customers.values().filter_map(|h| h.summary(end)).collect()
}

/// value_scale's amount in cents of order `k` (hash `r`) by customer `who`.
fn amount_cents(spread: bool, r: u64, who: u64) -> u64 {
    if !spread {
        return (5 + (r >> 40) % 500) * 100 + (r >> 20) % 100;
    }
    shop::spread_cents(r, who)
}

/// Summaries of value_scale-like customers (see the module's comment).
fn simulated(customers: usize, orders: usize, spread: bool) -> Vec<Summary> {
    const START_DAY: i64 = 19_358; // 2023-01-01
    const SPAN_DAYS: i64 = 3 * 365;
    let mut histories = vec![History::new(); customers];
    for k in 0..orders {
        let r = mix(k as u64);
        let f = k as f64 / orders as f64;
        let who = buyer(r, f, customers as u64);
        let day = START_DAY + (k as i64 * SPAN_DAYS) / orders as i64;
        histories[who as usize].push(day, amount_cents(spread, r, who) as f64 / 100.0);
    }
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs() / 86_400) as i64)
        .unwrap_or(0)
        .max(START_DAY + SPAN_DAYS);
    histories.iter().filter_map(|h| h.summary(today)).collect()
}

fn report(r: &FitReport) {
    println!(
        "  {} Nelder-Mead runs, {} iterations, {} evaluations{}",
        r.runs,
        r.iterations,
        r.evaluations,
        if r.at_bound { ", ended on a bound" } else { "" }
    );
}

/// CPU time of this process (all threads), in seconds (Linux; 0 elsewhere).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `f`, printing its wall-clock and CPU time (the machine may be shared).
fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let cpu = cpu_secs();
    let out = f();
    println!(
        "{what}: {:.2} s (CPU {:.2} s)",
        start.elapsed().as_secs_f64(),
        cpu_secs() - cpu
    );
    out
}

fn main() {
    let n: usize = std::env::var("SB_BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let shape = std::env::var("SB_BENCH_SHAPE").unwrap_or_else(|_| "cdnow".into());
    let orders: usize = std::env::var("SB_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(n * 10);
    let data = match shape.as_str() {
        "cdnow" => cdnow_like(n),
        "uniform" => simulated(n, orders, false),
        "spread" => simulated(n, orders, true),
        other => panic!("SB_BENCH_SHAPE: cdnow, uniform or spread, not {other}"),
    };
    let n = data.len();
    println!("shape {shape}: {n} customers with a purchase");
    run(&data);
}

/// `n` customers: the CDNOW sample's, repeated (see the module's comment).
fn cdnow_like(n: usize) -> Vec<Summary> {
    let base = cdnow();
    (0..n)
        .map(|i| {
            let s = base[i % base.len()];
            let copy = (i / base.len()) as u32;
            Summary {
                t: s.t + copy % 365,
                repeat_mean: s.repeat_mean * (1.0 + f64::from(copy % 7) / 10.0),
                ..s
            }
        })
        .collect()
}

fn run(data: &[Summary]) {
    let n = data.len();
    println!(
        "{n} customers, {} with repeat purchases",
        data.iter().filter(|s| s.x > 0).count()
    );
    let total = Instant::now();
    let (bg, r) = timed("BG/NBD fit", || BgNbd::fit_report(data).unwrap());
    report(&r);
    println!(
        "  r {:.4} alpha {:.3}/day a {:.4} b {:.4}",
        bg.r, bg.alpha, bg.a, bg.b
    );
    let (gg, r) = timed("Gamma-Gamma fit", || GammaGamma::fit_report(data).unwrap());
    report(&r);
    println!("  p {:.3} q {:.3} v {:.3}", gg.p, gg.q, gg.v);
    timed("RFM quintiles (3 × sort)", || {
        let q = |f: &dyn Fn(&Summary) -> f64| Quintiles::of(data.iter().map(f).collect());
        (
            q(&|s| f64::from(s.t_x)),
            q(&|s| f64::from(s.x)),
            q(&|s| s.repeat_mean),
        )
    });
    let clv: f64 = timed("CLV of every customer (365 days)", || {
        data.iter()
            .map(|s| {
                let e = bg.expected_purchases(s.x, f64::from(s.t_x), f64::from(s.t), 365.0);
                e * gg.expected_spend(s.x, s.repeat_mean).unwrap_or(0.0)
            })
            .sum()
    });
    println!("  total expected value {clv:.0}");
    println!("all: {:.2} s", total.elapsed().as_secs_f64());
}
