//! Taking a colleague's conversation, with both agents' consoles open in Chromium
//! (`tests/browser/console_take.test.mjs`); afterwards the API must show the new assignee.

use super::node::run_script;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_a_colleagues_conversation_in_two_real_browsers() {
    super::node::browser_dir();
    let app = spawn_app(Backend::Sqlite).await;
    let (owner_id, _) = app
        .agent("maryam@example.com", "agent", json!({"name": "مریم"}))
        .await;
    let (taker_id, _) = app
        .agent("reza@example.com", "agent", json!({"name": "Reza"}))
        .await;
    let conv = app
        .conversation(&app.admin_token, "ali@example.com", "سفارش ۱۲", json!({}))
        .await;
    let id = conv["id"].as_str().unwrap().to_string();
    let (s, body) = app
        .post(
            &format!("/api/v1/conversations/{id}/assign"),
            &app.admin_token,
            json!({"agent_id": owner_id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    run_script(
        "console_take.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("OWNER_EMAIL", "maryam@example.com".into()),
            ("TAKER_EMAIL", "reza@example.com".into()),
            ("TAKER_NAME", "Reza".into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("CONVERSATION_ID", id.clone()),
        ],
        90,
    )
    .await;
    let (s, c) = app
        .get(&format!("/api/v1/conversations/{id}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["assignee_id"], taker_id.as_str());
    let taken = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] == "assigned")
        .count();
    assert_eq!(taken, 2, "assigned to Maryam, then taken once by Reza: {c}");
}
