//! The refit's numerics at scale: BG/NBD and Gamma-Gamma fits, RFM quintiles and every
//! customer's CLV over `SB_BENCH_CUSTOMERS` customers (default 1,000,000).
//!
//! Customers are the CDNOW sample's calibration histories (tests/fixtures/value) repeated,
//! each copy observed 0–364 days longer and spending 0–60 % more, so the data has the
//! papers' shape with far more distinct (x, t_x, T) and spend values than the sample.
//!
//! `cargo bench -p switchboard-value --bench fit`

use std::collections::BTreeMap;
use std::time::Instant;
use switchboard_value::{BgNbd, GammaGamma, History, Quintiles, Summary};

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

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    println!("{what}: {:.2} s", start.elapsed().as_secs_f64());
    out
}

fn main() {
    let n: usize = std::env::var("SB_BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let base = cdnow();
    let data: Vec<Summary> = (0..n)
        .map(|i| {
            let s = base[i % base.len()];
            let copy = (i / base.len()) as u32;
            Summary {
                t: s.t + copy % 365,
                repeat_mean: s.repeat_mean * (1.0 + f64::from(copy % 7) / 10.0),
                ..s
            }
        })
        .collect();
    println!(
        "{n} customers, {} with repeat purchases",
        data.iter().filter(|s| s.x > 0).count()
    );
    let total = Instant::now();
    let bg = timed("BG/NBD fit", || BgNbd::fit(&data).unwrap());
    println!(
        "  r {:.4} alpha {:.3}/day a {:.4} b {:.4}",
        bg.r, bg.alpha, bg.a, bg.b
    );
    let gg = timed("Gamma-Gamma fit", || GammaGamma::fit(&data).unwrap());
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
