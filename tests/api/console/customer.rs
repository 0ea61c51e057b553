//! Editing a customer and merging a duplicate in the console
//! (`tests/browser/console_customer.test.mjs`); afterwards the API must hold the result.

use super::node::run_script;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_and_merging_a_customer_in_a_real_browser() {
    super::node::browser_dir();
    let app = spawn_app(Backend::Sqlite).await;
    app.agent("agent@example.com", "agent", json!({"name": "Nima"}))
        .await;
    let conv = app
        .conversation(&app.admin_token, "ali@example.com", "Refund", json!({}))
        .await;
    let ali = conv["customer_id"].as_str().unwrap().to_string();
    let (s, _) = app
        .call(
            "PATCH",
            &format!("/api/v1/customers/{ali}"),
            Some(&app.admin_token),
            Some(json!({"name": "Ali", "attributes": {"plan": "gold", "city": "Shiraz"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, dup) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "Ali Duplicate", "tier": "vip",
                   "identities": [{"kind": "email", "value": "dup@example.com"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{dup}");
    app.conversation(
        &app.admin_token,
        "unused@example.com",
        "Old order",
        json!({"customer": null, "customer_id": dup["id"]}),
    )
    .await;
    run_script(
        "console_customer.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("AGENT_EMAIL", "agent@example.com".into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("CONVERSATION_ID", conv["id"].as_str().unwrap().into()),
            ("DUPLICATE_NAME", "Ali Duplicate".into()),
        ],
        90,
    )
    .await;
    let (_, c) = app
        .get(&format!("/api/v1/customers/{ali}"), &app.admin_token)
        .await;
    assert_eq!(c["attributes"], json!({"plan": "platinum", "شهر": "تهران"}));
    assert_eq!(c["tier"], "vip");
    assert_eq!(c["conversation_count"], 2);
    let mut kinds: Vec<&str> = c["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec!["+989123456789", "ali@example.com", "dup@example.com"]
    );
}
