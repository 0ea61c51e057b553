//! The correctness bar: on the CDNOW sample with calibration up to 1997-09-30 the fits
//! reproduce the published estimates within 1 %.
//!
//! Data preparation (as in the papers): purchases on one day are one transaction; x counts
//! the days with a purchase after the first one, t_x and T are days since the first purchase
//! (to the last one and to 1997-09-30); the Gamma-Gamma fit uses the 946 customers with at
//! least one repeat transaction in the calibration period and the mean dollar value of those
//! repeat transactions (the first purchase left out).

use std::collections::BTreeMap;
use switchboard_value::{BgNbd, GammaGamma, History, Summary};

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn day(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn calibration() -> Vec<Summary> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/value/CDNOW_sample.txt"
    );
    let text = std::fs::read_to_string(path).expect("fixture");
    let end = day(1997, 9, 30);
    let mut customers: BTreeMap<u32, History> = BTreeMap::new();
    let mut lines = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let date: i64 = f[2].parse().unwrap();
        let d = day(date / 10_000, date / 100 % 100, date % 100);
        lines += 1;
        let history = customers.entry(f[1].parse().unwrap()).or_default();
        if d <= end {
            history.push(d, f[4].parse().unwrap());
        }
    }
    assert_eq!((lines, customers.len()), (6919, 2357));
    customers
        .values()
        .map(|h| h.summary(end).expect("all first bought in Q1 1997"))
        .collect()
}

fn within_one_percent(name: &str, got: f64, published: f64) {
    let off = (got - published).abs() / published;
    assert!(
        off < 0.01,
        "{name} = {got}, published {published} ({:.2} % off)",
        off * 100.0
    );
}

#[test]
fn bg_nbd_on_cdnow_reproduces_the_published_estimates() {
    let data = calibration();
    let m = BgNbd::fit(&data).unwrap();
    eprintln!("BG/NBD on CDNOW: {m:?}");
    within_one_percent("r", m.r, 0.243);
    within_one_percent("alpha (weeks)", m.alpha / 7.0, 4.414);
    within_one_percent("alpha (days)", m.alpha, 30.9);
    within_one_percent("a", m.a, 0.793);
    within_one_percent("b", m.b, 2.426);
}

#[test]
fn gamma_gamma_on_cdnow_reproduces_the_published_estimates() {
    let data = calibration();
    assert_eq!(data.iter().filter(|s| s.x > 0).count(), 946);
    let m = GammaGamma::fit(&data).unwrap();
    eprintln!("Gamma-Gamma on CDNOW: {m:?}");
    within_one_percent("p", m.p, 6.25);
    within_one_percent("q", m.q, 3.74);
    within_one_percent("v", m.v, 15.44);
}

#[test]
fn the_first_cdnow_customer_is_summarised_as_in_the_papers() {
    // Customer 1 bought on 1997-01-01, 01-18 and 08-02: x = 2, t_x = 30.43 weeks,
    // T = 38.86 weeks, mean repeat spend (29.73 + 14.96) / 2.
    let s = calibration()[0];
    assert_eq!((s.x, s.t_x, s.t), (2, 213, 272));
    assert!((s.repeat_mean - 22.345).abs() < 1e-9);
}
