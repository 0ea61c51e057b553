//! The demo shop's past customers: a year and a half of orders from people who buy at
//! different rates, spend differently, and some of whom stopped buying. A value model needs
//! that spread to be fitted at all (the three talking customers alone leave both models at the
//! edge of their search, with a warning on the demo's first run), and the key-customer and
//! at-risk views need it to show anything.
//!
//! Generated from a fixed seed, so every demo holds the same shop.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write;

/// How many past customers the shop has.
pub const SHOPPERS: usize = 120;
/// Most orders of one shopper: with the largest mean spend below, no shopper outspends the
/// demo's VIP (the biggest spender on purpose).
const MOST_ORDERS: usize = 20;

/// Names of the shop's customers, mostly Persian: (first names, last names).
const PERSIAN: ([&str; 10], [&str; 12]) = (
    [
        "سارا",
        "محمد",
        "زهرا",
        "حسین",
        "فاطمه",
        "امیر",
        "نرگس",
        "مهدی",
        "لیلا",
        "کامران",
    ],
    [
        "محمدی",
        "رحیمی",
        "جعفری",
        "موسوی",
        "نوری",
        "صادقی",
        "قاسمی",
        "هاشمی",
        "اکبری",
        "کاظمی",
        "عباسی",
        "یزدانی",
    ],
);
const ENGLISH: ([&str; 4], [&str; 5]) = (
    ["Anna", "James", "Laura", "Omid"],
    ["Miller", "Parker", "Hughes", "Brown", "Evans"],
);

/// A past customer: name, email and orders (days ago, amount in rials), oldest first.
pub struct Shopper {
    pub name: String,
    pub email: String,
    pub orders: Vec<(i64, i64)>,
}

/// The shop's customers.
pub fn shoppers() -> Vec<Shopper> {
    let mut rng = StdRng::seed_from_u64(1403);
    (0..SHOPPERS)
        .map(|n| {
            // Every sixth an English name; first and last names paired without repeats.
            let name = if n % 6 == 5 {
                format!("{} {}", ENGLISH.0[n / 6 % 4], ENGLISH.1[n / 24])
            } else {
                format!("{} {}", PERSIAN.0[n % 10], PERSIAN.1[n / 10])
            };
            Shopper {
                name,
                email: format!("shopper{}@example.ir", n + 1),
                orders: history(&mut rng),
            }
        })
        .collect()
}

/// One shopper's orders: a first order 0–540 days ago, then orders at the shopper's own mean
/// gap (15–235 days, exponential) until today or until they stop (after each repeat order,
/// with the shopper's own chance, 0–90 % and mostly small: a few leave soon, most stay, as
/// the BG/NBD model supposes); amounts around the shopper's own mean spend.
fn history(rng: &mut StdRng) -> Vec<(i64, i64)> {
    let mut day = rng.gen_range(0.0..540.0_f64);
    let gap = 15.0 + 220.0 * rng.gen::<f64>().powi(2);
    let stop = 0.9 * rng.gen::<f64>().powi(3);
    let spend = 1_200_000.0 * (1.0 + 3.0 * rng.gen::<f64>().powi(2));
    let mut orders = Vec::new();
    loop {
        let amount = spend * rng.gen_range(0.5..1.5);
        orders.push((
            day.round() as i64,
            (amount / 10_000.0).round() as i64 * 10_000,
        ));
        if orders.len() == MOST_ORDERS || (orders.len() > 1 && rng.gen::<f64>() < stop) {
            return orders;
        }
        day -= gap * -(1.0 - rng.gen::<f64>()).ln();
        if day < 0.0 {
            return orders;
        }
    }
}

/// `shoppers`' orders as an order import (`POST /orders/import`) reads them, dated from
/// `today`.
pub fn orders_csv(shoppers: &[Shopper], today: time::Date) -> String {
    let mut csv = String::from("customer,external_id,amount,placed_at\n");
    for (n, s) in shoppers.iter().enumerate() {
        for (k, (days_ago, amount)) in s.orders.iter().enumerate() {
            let placed = today - time::Duration::days(*days_ago);
            let _ = writeln!(csv, "{},shop-{n}-{k},{amount},{placed}", s.email);
        }
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shop_is_varied_and_nobody_outspends_the_vip() {
        let shoppers = shoppers();
        let totals: Vec<i64> = shoppers
            .iter()
            .map(|s| s.orders.iter().map(|o| o.1).sum())
            .collect();
        let vip: i64 = super::super::ORDERS[0].iter().map(|o| o.1).sum();
        assert!(totals.iter().all(|t| *t < vip), "{totals:?} against {vip}");
        let once = shoppers.iter().filter(|s| s.orders.len() == 1).count();
        let often = shoppers.iter().filter(|s| s.orders.len() >= 5).count();
        assert!(
            once >= 10 && often >= 10,
            "{once} once, {often} five times or more"
        );
        let mut names: Vec<&str> = shoppers.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SHOPPERS, "every name once");
        let days = |s: &Shopper| s.orders.iter().map(|o| o.0).collect::<Vec<_>>();
        assert!(shoppers
            .iter()
            .all(|s| days(s).windows(2).all(|w| w[0] >= w[1]) && days(s)[0] <= 540));
        let csv = orders_csv(&shoppers[..1], time::macros::date!(2026 - 12 - 07));
        assert!(
            csv.starts_with("customer,external_id,amount,placed_at\nshopper1@example.ir,shop-0-0,")
        );
    }
}

#[cfg(test)]
mod fit {
    use super::*;
    use switchboard_value::{BgNbd, History, Summary};

    /// The demo's customers (the three talking ones and the shop's) as the refit sees them.
    fn summaries() -> Vec<Summary> {
        let talking = super::super::ORDERS.iter().map(|o| o.to_vec());
        let shop = shoppers().into_iter().map(|s| s.orders);
        talking
            .chain(shop)
            .filter_map(|orders| {
                let mut h = History::new();
                let mut orders = orders;
                orders.sort_by_key(|o| -o.0);
                for (days_ago, amount) in orders {
                    h.push(1000 - days_ago, amount as f64);
                }
                h.summary(1000)
            })
            .collect()
    }

    #[test]
    fn the_demo_pins_down_both_value_models() {
        let data = summaries();
        let (m, r) = BgNbd::fit_report(&data).unwrap();
        assert!(!r.at_bound, "BG/NBD {m:?}");
        let (g, r) = switchboard_value::GammaGamma::fit_report(&data).unwrap();
        assert!(!r.at_bound, "Gamma-Gamma {g:?}");
    }
}
