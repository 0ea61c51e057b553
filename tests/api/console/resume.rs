//! A console whose socket dropped resumes from the event log in Chromium
//! (`tests/browser/console_resume.test.mjs`).

use super::node::run_script;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_console_socket_resumes_in_a_real_browser() {
    super::node::browser_dir();
    let app = spawn_app(Backend::Sqlite).await;
    let (agent_id, _) = app
        .agent("maryam@example.com", "agent", json!({"name": "Maryam"}))
        .await;
    let conv = app
        .conversation(&app.admin_token, "ali@example.com", "Order 12", json!({}))
        .await;
    let id = conv["id"].as_str().unwrap().to_string();
    let (s, body) = app
        .post(
            &format!("/api/v1/conversations/{id}/assign"),
            &app.admin_token,
            json!({"agent_id": agent_id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    run_script(
        "console_resume.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("AGENT_EMAIL", "maryam@example.com".into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("ADMIN_TOKEN", app.admin_token.clone()),
            ("CONVERSATION_ID", id),
        ],
        90,
    )
    .await;
}
