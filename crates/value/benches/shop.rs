//! The simulated shop both value benches draw from (`crates/value/benches/fit.rs` for the
//! numerics, `benches/value_scale.rs` end to end): who buys when, and for how much.

/// A small fast deterministic mix (splitmix64).
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Customer `i` buys between two points of the span (0–1): from a start in the first 90 %
/// for a lifetime of 5–85 % of the span, so that customers stop buying, as the models
/// expect. The buyer of an order at `f` is drawn (a fifth of the customers twice as often)
/// until one is active then (at most eight draws).
pub fn buyer(r: u64, f: f64, customers: u64) -> u64 {
    let mut who = 0;
    for attempt in 0..8u64 {
        let r = mix(r ^ attempt);
        who = if r % 2 == 0 {
            (r >> 8) % customers.div_ceil(5)
        } else {
            (r >> 8) % customers
        };
        let start = (mix(who) % 1000) as f64 / 1000.0 * 0.9;
        let life = 0.05 + (mix(who ^ 0xABCD) % 1000) as f64 / 1000.0 * 0.8;
        if f >= start && f <= start + life {
            break;
        }
    }
    who
}

/// A standard normal deviate from a hash (Box-Muller).
pub fn normal(h: u64) -> f64 {
    let u1 = ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let u2 = (mix(h) >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The amount in cents of an order (hash `r`) by customer `who`: each customer's mean spend
/// drawn from their number, log-normal across customers (median 60.00, σ = 0.8 in logs: a
/// tenth spend under 21.50, a tenth over 167.00), and each order log-normal around it
/// (σ = 0.4: most orders within 0.5–2 × the customer's mean); at least 1.00. (Amounts drawn
/// alike for every customer leave no spread of mean spend between customers, a data set
/// whose Gamma-Gamma likelihood has no finite maximum.)
pub fn spread_cents(r: u64, who: u64) -> u64 {
    let mean = 60.0 * (0.8 * normal(mix(who ^ 0x5EED))).exp();
    let cents = mean * (0.4 * normal(r ^ 0xA30)).exp() * 100.0;
    (cents.round() as u64).max(100)
}
