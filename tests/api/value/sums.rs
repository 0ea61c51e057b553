//! The refit sums every customer's orders in the database (one row per customer), while a
//! profile folds the customer's orders one by one: both must agree, whatever the orders
//! look like (several purchases on one day, a refund on the first day, free orders,
//! cancelled ones, other currencies, the edge of the RFM window, days before 1970).
use super::*;
use crate::storage_tests;
use serde_json::json;

const DAY_MS: i64 = 86_400_000;

fn days_ago(days: i64) -> String {
    switchboard::store::ms_to_rfc3339(switchboard::store::now_ms() - days * DAY_MS)
}

/// (customer, days ago, amount, currency, status)
const ORDERS: &[(&str, i64, &str, &str, &str)] = &[
    // Three purchases on the first day, two on a later one.
    ("p", 100, "10", "USD", "completed"),
    ("p", 100, "20", "USD", "completed"),
    ("p", 100, "30", "USD", "completed"),
    ("p", 60, "40", "USD", "completed"),
    ("p", 60, "45", "USD", "completed"),
    ("p", 10, "5", "USD", "completed"),
    // A refund on the first day, and a refund-only day later.
    ("q", 80, "100", "USD", "completed"),
    ("q", 80, "-30", "USD", "completed"),
    ("q", 50, "-10", "USD", "completed"),
    ("q", 40, "50", "USD", "completed"),
    // A free order first.
    ("r", 200, "0", "USD", "completed"),
    ("r", 100, "25", "USD", "completed"),
    ("r", 90, "35", "USD", "completed"),
    // A cancelled order in between, and another currency.
    ("s", 300, "70", "USD", "completed"),
    ("s", 150, "900", "USD", "cancelled"),
    ("s", 120, "500", "EUR", "completed"),
    ("s", 30, "80", "USD", "completed"),
    // The RFM window's first day and the day before it (window 365 days).
    ("t", 365, "60", "USD", "completed"),
    ("t", 364, "15", "USD", "completed"),
    ("t", 20, "15", "USD", "completed"),
    // Only a refund: no purchase, no scores.
    ("u", 30, "-20", "USD", "completed"),
    // Plain repeat buyers, so the models have something to fit.
    ("v", 250, "12", "USD", "completed"),
    ("v", 180, "14", "USD", "completed"),
    ("v", 90, "13", "USD", "completed"),
    ("v", 2, "11", "USD", "completed"),
    ("w", 330, "300", "USD", "completed"),
    ("w", 320, "280", "USD", "completed"),
    ("x", 40, "8", "USD", "completed"),
    ("y", 270, "55", "USD", "completed"),
    ("y", 30, "65", "USD", "completed"),
];

async fn the_refits_sums_equal_each_profiles_orders_folded_one_by_one(b: Backend) {
    let app = value_app(b).await;
    for (n, (who, ago, amount, currency, status)) in ORDERS.iter().enumerate() {
        let body = json!({"identity": {"kind": "email", "value": format!("{who}@example.com")},
            "external_id": format!("sum{n}"), "amount": amount, "currency": currency,
            "status": status, "placed_at": days_ago(*ago)});
        let (s, o) = app.post("/api/v1/orders", &app.admin_token, body).await;
        assert_eq!(s, StatusCode::CREATED, "{o}");
    }
    // Days before 1970 are counted as the profile counts them (rounded down, not to zero):
    // three purchase days, not two.
    let old = [
        ("1969-12-31T20:00:00Z".to_string(), "10"),
        ("1970-01-01T10:00:00Z".into(), "20"),
    ];
    for (n, (at, amount)) in old.into_iter().chain([(days_ago(5), "30")]).enumerate() {
        let body = json!({"identity": {"kind": "email", "value": "z@example.com"},
            "external_id": format!("old{n}"), "amount": amount, "currency": "USD",
            "placed_at": at});
        let (s, o) = app.post("/api/v1/orders", &app.admin_token, body).await;
        assert_eq!(s, StatusCode::CREATED, "{o}");
    }
    // Sixty more buyers with varied habits, so that both models have data to fit.
    let mut csv = String::from("customer,external_id,amount,placed_at,currency\n");
    for k in 0..60i64 {
        let (first, gap, count) = (40 + (k * 53) % 600, 5 + (k * 17) % 90, 1 + k % 6);
        for j in 0..count {
            let amount = 10 + (k * 37 + j * 11) % 90 + k % 7 * 20;
            let ago = (first - j * gap).max(0);
            csv.push_str(&format!(
                "g{k}@example.com,gen{k}-{j},{amount},{},USD\n",
                days_ago(ago)
            ));
        }
    }
    let (s, imported) = import(&app, &app.admin_token, csv).await;
    assert_eq!(s, StatusCode::OK, "{imported}");
    let model = app.refit().await;
    assert!(model["bg_nbd"].is_object(), "{model}");
    assert!(model["gamma_gamma"].is_object(), "{model}");
    assert!(model["fit_error"].is_null(), "{model}");
    let (s, report) = app
        .get(
            "/api/v1/insights/key-customers?limit=1000",
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{report}");
    let items = report["items"].as_array().unwrap();
    let mut scored = 0;
    let mut purchases = 0;
    for item in items {
        let id = item["customer_id"].as_str().unwrap();
        let (_, profile) = app
            .get(&format!("/api/v1/customers/{id}"), &app.admin_token)
            .await;
        let value = &profile["value"];
        purchases += value["orders"].as_u64().unwrap();
        let who = &item["email"];
        if value["rfm"].is_null() {
            assert!(item["segment"].is_null(), "{who}: {item} vs {value}");
            continue;
        }
        scored += 1;
        assert_eq!(item["segment"], value["rfm"]["segment"], "{who}: {value}");
        let live_p = value["clv"]["p_alive"].as_f64().unwrap();
        let stored_p = item["p_alive"].as_f64().unwrap();
        assert!(
            (live_p - stored_p).abs() < 1e-6,
            "{who}: {live_p} vs {stored_p}"
        );
        let live_v = value["clv"]["expected_value"].as_f64().unwrap();
        let stored_v = item["clv"].as_f64().unwrap();
        assert!(
            (live_v - stored_v).abs() < 1e-4,
            "{who}: {live_v} vs {stored_v}"
        );
    }
    // p, q, r, s, t, v, w, x, y, z and the sixty have purchases in dollars; u only a refund.
    assert_eq!(scored, 70, "{report}");
    assert_eq!(model["customers"], 70, "{model}");
    assert_eq!(model["orders"].as_u64(), Some(purchases), "{model}");
}

/// Orders as CSV lines: (customer, days ago, amount).
fn csv_of(orders: &[(&str, i64, &str)]) -> String {
    let mut csv = String::from("customer,external_id,amount,placed_at\n");
    for (n, (who, days, amount)) in orders.iter().enumerate() {
        csv.push_str(&format!(
            "{who}@example.com,{who}-{n},{amount},{}\n",
            days_ago(*days)
        ));
    }
    csv
}

/// `value.rfm_window_days` bounds what frequency and monetary scores count: a customer who
/// bought often long ago and little lately scores below a recent steady buyer in a 30-day
/// window, and above them over ten years.
async fn frequency_and_monetary_scores_count_the_rfm_window_only(b: Backend) {
    let orders = [
        ("old", 200, "100"),
        ("old", 201, "100"),
        ("old", 202, "100"),
        ("old", 203, "100"),
        ("old", 5, "10"),
        ("steady", 3, "50"),
        ("steady", 4, "50"),
    ];
    for (window, old_leads) in [(30, false), (3650, true)] {
        let app = value_app_with(b, |s| {
            s.value.rfm_window_days = window;
        })
        .await;
        let (s, report) = import(&app, &app.admin_token, csv_of(&orders)).await;
        assert_eq!(s, StatusCode::OK, "{report}");
        super::refit(&app).await;
        let mut scores = Vec::new();
        for who in ["old", "steady"] {
            let id = customer_id(&app, &format!("{who}@example.com")).await;
            let (_, c) = app
                .get(&format!("/api/v1/customers/{id}"), &app.admin_token)
                .await;
            let rfm = &c["value"]["rfm"];
            scores.push((rfm["f"].as_u64().unwrap(), rfm["m"].as_u64().unwrap()));
        }
        let (old, steady) = (scores[0], scores[1]);
        assert_eq!(
            old.0 > steady.0 && old.1 > steady.1,
            old_leads,
            "window {window} days: old {old:?}, steady {steady:?}"
        );
        assert_eq!(
            steady.0 > old.0 && steady.1 > old.1,
            !old_leads,
            "window {window} days: old {old:?}, steady {steady:?}"
        );
    }
}

/// With `value.refit_interval_secs` set, refits come on their own: orders arriving (whose own
/// refit waits an hour here) are in the model within a few intervals.
async fn refits_run_on_their_schedule(b: Backend) {
    let app = value_app_with(b, |s| {
        s.value.refit_interval_secs = 1;
    })
    .await;
    for (n, orders) in [
        (2, &[("a", 10, "5"), ("b", 20, "7")][..]),
        (3, &[("c", 1, "9")][..]),
    ] {
        let (s, report) = import(&app, &app.admin_token, csv_of(orders)).await;
        assert_eq!(s, StatusCode::OK, "{report}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let (s, model) = app
                .get("/api/v1/insights/customer-value", &app.admin_token)
                .await;
            // A stored model: without one the answer is fitted for the request.
            if s == StatusCode::OK && model["stored"] == true && model["customers"] == n {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no scheduled refit counted {n} customers: {model}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

storage_tests!(
    the_refits_sums_equal_each_profiles_orders_folded_one_by_one,
    frequency_and_monetary_scores_count_the_rfm_window_only,
    refits_run_on_their_schedule,
);
