//! Orders and customer value: orders one by one, CSV import, the WooCommerce webhook, each
//! customer's figures, RFM segments and lifetime value, lists by value, the model insights
//! (reproducing the published CDNOW estimates).
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

mod ahead;
mod answers;
mod cdnow;
mod figures;
mod lease;
mod orders;
mod pending;
mod rebuild;
mod risk;
mod routing;
mod shop;
mod sums;
mod totals;

/// A server whose figures are in US dollars and whose background refits stay out of the way.
async fn value_app(b: Backend) -> TestApp {
    value_app_with(b, |_| {}).await
}

/// [`value_app`] with `more` settings on top.
async fn value_app_with(
    b: Backend,
    more: impl FnOnce(&mut switchboard::settings::Settings),
) -> TestApp {
    spawn_app_with(b, |s| {
        s.value.default_currency = "USD".into();
        s.value.refit_interval_secs = 0;
        s.value.refit_after_orders_secs = 3600;
        more(s);
    })
    .await
}

/// Refit the models now (as admin), and wait for it.
async fn refit(app: &TestApp) {
    let (s, body) = app
        .post(
            "/api/v1/insights/customer-value/refit",
            &app.admin_token,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// Merge customer `from` into `into` (as admin).
async fn merge(app: &TestApp, into: &str, from: &str) {
    let (s, merged) = app
        .post(
            &format!("/api/v1/customers/{into}/merge"),
            &app.admin_token,
            serde_json::json!({"source_id": from}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{merged}");
}

/// Upload `csv` to the import; returns status and JSON answer.
async fn import(app: &TestApp, token: &str, csv: impl Into<String>) -> (StatusCode, Value) {
    app.post_raw("/api/v1/orders/import", token, "text/csv", csv)
        .await
}

/// The id of the customer with an identity, through the API's search.
async fn customer_id(app: &TestApp, q: &str) -> String {
    let (s, list) = app
        .get(
            &format!("/api/v1/customers?q={}", urlencode(q)),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one customer for {q}: {list}");
    items[0]["id"].as_str().unwrap().to_string()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
