//! Access by team on what moves: the console socket (live and resumed with `?since=`) and
//! the router's offers.

use super::{switch, team, World};
use crate::console::socket::{connect, next_matching, Socket};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

async fn note(app: &TestApp, conv: &str, body: &str) {
    let (s, m) = app
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            &app.admin_token,
            json!({"body": body, "internal": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
}

async fn viewing(app: &TestApp, conv: &str) {
    let (s, body) = app
        .post(
            &format!("/api/v1/conversations/{conv}/viewing"),
            &app.admin_token,
            json!({"on": true}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
}

/// The frames up to the first matching `pred`: what the socket was sent before it.
async fn frames_until(socket: &mut Socket, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let v = next_matching(socket, |_| true).await;
        let done = pred(&v);
        seen.push(v);
        if done {
            return seen;
        }
    }
}

fn about(frames: &[Value], conv: &str) -> bool {
    frames.iter().any(|v| v["conversation_id"] == conv)
}

async fn the_console_socket_holds_back_other_teams_events(b: Backend) {
    let w = World::new(b, true).await;
    let app = &w.app;
    let mut a = connect(&app.base, &w.a.1).await;
    let mut b_ws = connect(&app.base, &w.b.1).await;
    let mut sup = connect(&app.base, &w.s.1).await;
    let mut admin = connect(&app.base, &app.admin_token).await;
    // Who is viewing what goes to every agent — of the conversation's teams.
    viewing(app, &w.in_support).await;
    viewing(app, &w.in_sales).await;
    let to_a = frames_until(&mut a, |v| {
        v["kind"] == "conversation.viewing" && v["conversation_id"] == w.in_sales.as_str()
    })
    .await;
    assert!(!about(&to_a, &w.in_support), "{to_a:?}");
    let to_b = next_matching(&mut b_ws, |v| v["kind"] == "conversation.viewing").await;
    assert_eq!(to_b["conversation_id"], w.in_support.as_str());
    // A supervisor sees their teams' events, an admin everything.
    note(app, &w.in_support, "support note").await;
    note(app, &w.in_sales, "sales note").await;
    let to_sup = frames_until(&mut sup, |v| {
        v["kind"] == "message.created" && v["conversation_id"] == w.in_sales.as_str()
    })
    .await;
    assert!(!about(&to_sup, &w.in_support), "{to_sup:?}");
    let to_admin = frames_until(&mut admin, |v| {
        v["kind"] == "message.created" && v["conversation_id"] == w.in_sales.as_str()
    })
    .await;
    assert!(about(&to_admin, &w.in_support), "{to_admin:?}");
    // Joining Support shows its events at once, on the open socket.
    let (s, body) = app
        .patch(
            &format!("/api/v1/teams/{}", w.sales_team),
            &app.admin_token,
            json!({"queue_ids": [w.sales, w.support]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    note(app, &w.in_support, "support again").await;
    let ev = next_matching(&mut sup, |v| v["kind"] == "message.created").await;
    assert_eq!(ev["conversation_id"], w.in_support.as_str());
}

async fn a_resuming_console_is_replayed_only_its_teams_events(b: Backend) {
    let w = World::new(b, true).await;
    let app = &w.app;
    // The console last saw the log's head, then dropped.
    let head = switchboard::store::event_log::head(app.state.store.pool())
        .await
        .unwrap();
    note(app, &w.in_support, "support note").await;
    note(app, &w.in_sales, "sales note").await;
    note(app, &w.in_billing, "billing note").await;
    let url = format!(
        "{}/ws/console?token={}&since={head}",
        app.base.replacen("http", "ws", 1),
        w.s.1
    );
    let (mut resumed, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let replayed = frames_until(&mut resumed, |v| {
        v["kind"] == "message.created" && v["conversation_id"] == w.in_billing.as_str()
    })
    .await;
    assert!(about(&replayed, &w.in_sales), "{replayed:?}");
    assert!(!about(&replayed, &w.in_support), "{replayed:?}");
    // The admin resuming from the same place gets all three.
    let url = format!(
        "{}/ws/console?token={}&since={head}",
        app.base.replacen("http", "ws", 1),
        app.admin_token
    );
    let (mut admin, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let replayed = frames_until(&mut admin, |v| {
        v["kind"] == "message.created" && v["conversation_id"] == w.in_billing.as_str()
    })
    .await;
    assert!(about(&replayed, &w.in_support), "{replayed:?}");
}

async fn available(app: &TestApp, token: &str) {
    let (s, body) = app
        .put(
            "/api/v1/agents/me/presence",
            token,
            json!({"status": "available"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

async fn offers(app: &TestApp, token: &str) -> Vec<String> {
    let (s, body) = app.get("/api/v1/offers", token).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["conversation_id"].as_str().unwrap().to_string())
        .collect()
}

/// Wait (up to 15 s) for `token` to be offered `conv`.
async fn offered(app: &TestApp, token: &str, conv: &str) {
    for _ in 0..150 {
        if offers(app, token).await.iter().any(|c| c == conv) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{conv} was never offered");
}

async fn a_claimed_queue_is_offered_only_to_its_teams_members(b: Backend) {
    let app = spawn_app(b).await;
    let sales = super::queue(&app, "Sales").await;
    let support = super::queue(&app, "Support").await;
    let (a_id, a) = app.agent("a@example.com", "agent", json!({})).await;
    let (b_id, b_tok) = app.agent("b@example.com", "agent", json!({})).await;
    team(&app, "Sales", &[&sales], &[&a_id]).await;
    let support_team = team(&app, "Support", &[&support], &[&b_id]).await;
    switch(&app, true).await;
    available(&app, &a).await;
    available(&app, &b_tok).await;
    let first = app
        .conversation(
            &app.admin_token,
            "c1@example.com",
            "Broken",
            json!({"queue_id": support}),
        )
        .await;
    let first = first["id"].as_str().unwrap();
    offered(&app, &b_tok, first).await;
    assert!(offers(&app, &a).await.is_empty(), "A is not in Support");
    // A new member is offered Support's work without a restart (and B, removed, is not).
    let (s, body) = app
        .patch(
            &format!("/api/v1/teams/{support_team}"),
            &app.admin_token,
            json!({"agent_ids": [a_id]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let second = app
        .conversation(
            &app.admin_token,
            "c2@example.com",
            "Broken too",
            json!({"queue_id": support}),
        )
        .await;
    let second = second["id"].as_str().unwrap();
    offered(&app, &a, second).await;
    assert!(!offers(&app, &b_tok).await.iter().any(|c| c == second));
}

crate::storage_tests!(
    the_console_socket_holds_back_other_teams_events,
    a_resuming_console_is_replayed_only_its_teams_events,
    a_claimed_queue_is_offered_only_to_its_teams_members,
);
