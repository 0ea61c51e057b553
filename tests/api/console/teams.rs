//! Access by team in Chromium (`tests/browser/console_teams.test.mjs`): agent A of Sales does
//! not see nor is offered the Support queue's conversation, agent B of Support does; an admin
//! creates a team on the console's Teams page.

use super::node::run_script;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_by_team_in_a_real_browser() {
    super::node::browser_dir();
    let app = spawn_app(Backend::Sqlite).await;
    let sales = crate::teams::queue(&app, "Sales").await;
    let support = crate::teams::queue(&app, "Support").await;
    let billing = crate::teams::queue(&app, "Billing").await;
    let (a_id, a) = app.agent("a@example.com", "agent", json!({})).await;
    let (b_id, b) = app.agent("b@example.com", "agent", json!({})).await;
    crate::teams::team(&app, "Sales", &[&sales], &[&a_id]).await;
    crate::teams::team(&app, "Support", &[&support], &[&b_id]).await;
    crate::teams::switch(&app, true).await;
    for token in [&a, &b] {
        let (s, body) = app
            .put(
                "/api/v1/agents/me/presence",
                token,
                json!({"status": "available"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let support_conv = in_queue(&app, "p@example.com", "Broken kettle", &support).await;
    let sales_conv = in_queue(&app, "s@example.com", "Quote please", &sales).await;
    // The router offers both before the browser looks: B the Support one, A the Sales one,
    // which A accepts, so that A's console has no offer left (a declined one would come back:
    // nobody else may take it).
    let to_b = offered(&app, &b).await;
    assert_eq!(to_b["conversation_id"], support_conv.as_str(), "{to_b}");
    let to_a = offered(&app, &a).await;
    assert_eq!(to_a["conversation_id"], sales_conv.as_str(), "{to_a}");
    let path = format!("/api/v1/offers/{}/accept", to_a["id"].as_str().unwrap());
    let (s, body) = app.post(&path, &a, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    run_script(
        "console_teams.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("A_EMAIL", "a@example.com".into()),
            ("B_EMAIL", "b@example.com".into()),
            ("ADMIN_EMAIL", ADMIN_EMAIL.into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("SALES_CONV", sales_conv),
            ("SUPPORT_CONV", support_conv),
            ("TEAM_NAME", "Billing team".into()),
        ],
        120,
    )
    .await;
    let (s, page) = app.get("/api/v1/teams", &app.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let made = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Billing team")
        .unwrap_or_else(|| panic!("the team made in the console is stored: {page}"));
    assert_eq!(made["queue_ids"], json!([billing]));
    assert_eq!(made["agent_ids"], json!([a_id]));
}

async fn in_queue(app: &TestApp, email: &str, subject: &str, queue: &str) -> String {
    let c = app
        .conversation(&app.admin_token, email, subject, json!({"queue_id": queue}))
        .await;
    c["id"].as_str().unwrap().to_string()
}

/// The agent's one offer, once the router made it (within 15 s).
async fn offered(app: &TestApp, token: &str) -> serde_json::Value {
    for _ in 0..150 {
        let (s, page) = app.get("/api/v1/offers", token).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        if let Some(o) = page["items"].as_array().unwrap().first() {
            return o.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no offer within 15 s");
}
