//! Typing and read signals between a chat visitor and the agent's console, in Chromium
//! (`tests/browser/console_signals.test.mjs`).

use super::node::run_script;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_and_read_signals_both_ways_in_a_real_browser() {
    super::node::browser_dir();
    let app = spawn_app(Backend::Sqlite).await;
    app.agent("chat.agent@example.com", "agent", json!({"name": "مریم"}))
        .await;
    // The visitor's page is served by the server itself: its origin is allowed.
    let (s, site) = app
        .post(
            "/api/v1/channels/chat/sites",
            &app.admin_token,
            json!({"name": "فروشگاه", "allowed_origins": [app.base]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{site}");
    run_script(
        "console_signals.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("AGENT_EMAIL", "chat.agent@example.com".into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("AGENT_NAME", "مریم".into()),
            ("SITE_KEY", site["site_key"].as_str().unwrap().into()),
        ],
        90,
    )
    .await;
}
