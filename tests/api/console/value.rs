//! Customer value in the console, in a real browser (`tests/browser/console_value.test.mjs`):
//! a customer with three orders in toman, made Champions by a refit, shows their total, orders
//! and segment, her at-risk flag in the profile and a segment badge in the conversation list, in
//! English and in Persian (Persian digits, «تومان»).

use super::node::run_script;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const AGENT_EMAIL: &str = "value.agent@example.com";
const CUSTOMER_EMAIL: &str = "sara.value@example.com";
const DAY_MS: i64 = 86_400_000;

fn days_ago(days: i64) -> String {
    switchboard::store::ms_to_rfc3339(switchboard::store::now_ms() - days * DAY_MS)
}

/// An order key wider than the customer panel (the console cuts it short).
const LONG_ORDER_ID: &str = "WC-1001-subscription-renewal-annual-premium-plan-customer";

async fn order(app: &TestApp, email: &str, external_id: &str, amount: i64, days: i64) {
    let (s, o) = app
        .post(
            "/api/v1/orders",
            &app.admin_token,
            json!({"identity": {"kind": "email", "value": email}, "external_id": external_id,
                   "amount": amount, "currency": "IRT", "placed_at": days_ago(days)}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_value_in_the_profile_and_the_list_in_a_real_browser() {
    super::node::browser_dir();
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.value.default_currency = "IRT".into();
        s.value.refit_interval_secs = 0;
        s.value.refit_after_orders_secs = 3600;
        // One message on one conversation flags the customer (repeated contacts).
        s.value.at_risk_repeat_contacts = 1;
    })
    .await;
    app.agent(AGENT_EMAIL, "agent", json!({"name": "Nima"}))
        .await;
    // Sara writes in: her conversation is in the list.
    let raw = format!(
        "From: Sara Value <{CUSTOMER_EMAIL}>\r\nTo: support@example.com\r\nSubject: Order question\r\n\
         Message-ID: <value-1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nWhere is my order?\r\n"
    );
    let resp = app
        .client
        .post(app.url("/api/v1/channels/email/inbound"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let email: Value = resp.json().await.unwrap();
    let conv = email["conversation_id"].as_str().unwrap().to_string();
    let (s, c) = app
        .get(&format!("/api/v1/conversations/{conv}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let customer = c["customer_id"].as_str().unwrap().to_string();

    // Her three orders (1,250,000 toman), and four smaller, older customers. The oldest has a
    // shop's long order key, wider than the panel.
    order(&app, CUSTOMER_EMAIL, LONG_ORDER_ID, 400_000, 300).await;
    order(&app, CUSTOMER_EMAIL, "WC-1002", 500_000, 100).await;
    order(&app, CUSTOMER_EMAIL, "WC-1003", 350_000, 5).await;
    for (i, days) in [200, 150, 120, 60].into_iter().enumerate() {
        let who = format!("other{i}@example.com");
        order(
            &app,
            &who,
            &format!("WC-20{i}"),
            10_000 * (i as i64 + 1),
            days,
        )
        .await;
    }
    app.refit().await;
    let (s, profile) = app
        .get(&format!("/api/v1/customers/{customer}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{profile}");
    assert_eq!(profile["value"]["rfm"]["segment"], "Champions", "{profile}");
    assert_eq!(profile["value"]["orders"], 3, "{profile}");
    assert_eq!(
        profile["value"]["at_risk_reasons"],
        json!(["repeated_contacts"]),
        "{profile}"
    );

    run_script(
        "console_value.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("AGENT_EMAIL", AGENT_EMAIL.into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("CONVERSATION_ID", conv),
        ],
        120,
    )
    .await;
}

/// `tests/browser/console_value_live.test.mjs`: Sara (one small, old order) among four other
/// customers, no model fitted yet; the script refits (she is Lost: the oldest and smallest)
/// and then orders twice for her (Champions), watching the badges change without a reload;
/// then a supervisor reads the key-customers report (Sara first; at risk alone, for her one
/// conversation), its CSV, the Champions alone, and opens her.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_segment_badge_follows_refits_and_orders_live() {
    super::node::browser_dir();
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.value.default_currency = "IRT".into();
        s.value.refit_interval_secs = 0;
        s.value.refit_after_orders_secs = 3600;
        // One message on one conversation puts a customer at risk (repeated contacts).
        s.value.at_risk_repeat_contacts = 1;
    })
    .await;
    app.agent(AGENT_EMAIL, "agent", json!({"name": "Nima"}))
        .await;
    app.agent(
        "value.lead@example.com",
        "supervisor",
        json!({"name": "Leila"}),
    )
    .await;
    let c = app
        .conversation(
            &app.admin_token,
            CUSTOMER_EMAIL,
            "Order question",
            json!({}),
        )
        .await;
    let conv = c["id"].as_str().unwrap().to_string();
    order(&app, CUSTOMER_EMAIL, "OLD-1", 5_000, 250).await;
    // And one in dollars: shown apart, never in her toman figures.
    let (s, o) = app
        .post(
            "/api/v1/orders",
            &app.admin_token,
            json!({"identity": {"kind": "email", "value": CUSTOMER_EMAIL}, "external_id": "US-1",
                   "amount": "25", "currency": "USD", "placed_at": days_ago(300)}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    for (i, days) in [200, 150, 120, 60].into_iter().enumerate() {
        let who = format!("other{i}@example.com");
        order(
            &app,
            &who,
            &format!("OLD-2{i}"),
            10_000 * (i as i64 + 1),
            days,
        )
        .await;
    }
    run_script(
        "console_value_live.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("AGENT_EMAIL", AGENT_EMAIL.into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("ADMIN_TOKEN", app.admin_token.clone()),
            ("CONVERSATION_ID", conv),
            ("CUSTOMER_EMAIL", CUSTOMER_EMAIL.into()),
            ("SUPERVISOR_EMAIL", "value.lead@example.com".into()),
            ("SUPERVISOR_PASSWORD", PASSWORD.into()),
        ],
        120,
    )
    .await;
}
