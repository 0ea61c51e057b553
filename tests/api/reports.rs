//! Contact-center reports: every figure against hand-computed expectations from known timings
//! (PBX records with known ring and talk times, chats with known accept and reply times), on
//! both backends; live figures in `/stats`; CSV; agents refused.
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

mod calls;
mod chats;
mod cti;
mod live;
mod passes;

/// `GET /api/v1/reports/summary?{query}` as `token`, expecting 200.
async fn report(app: &TestApp, token: &str, query: &str) -> Value {
    let (s, body) = app
        .get(&format!("/api/v1/reports/summary?{query}"), token)
        .await;
    assert_eq!(s, StatusCode::OK, "{query}: {body}");
    body
}

/// The item of `key` in a report.
fn item(report: &Value, key: &str) -> Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("no item {key} in {report}"))
        .clone()
}

/// Keys of a report's items, in order.
fn keys(report: &Value) -> Vec<String> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_string())
        .collect()
}
