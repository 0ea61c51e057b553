//! Helpers for the routing tests: queues, available agents, waiting for offers, invariants.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Create a queue and return its id.
pub async fn queue(app: &TestApp, body: Value) -> String {
    let (s, q) = app.post("/api/v1/queues", &app.admin_token, body).await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    q["id"].as_str().unwrap().to_string()
}

/// Create an agent (role agent) and set its presence; returns (id, token).
pub async fn agent_with(
    app: &TestApp,
    email: &str,
    extra: Value,
    presence: &str,
) -> (String, String) {
    let (id, token) = app.agent(email, "agent", extra).await;
    set_presence(app, &token, presence).await;
    (id, token)
}

/// Set the caller's own presence.
pub async fn set_presence(app: &TestApp, token: &str, presence: &str) {
    let (s, body) = app
        .put(
            "/api/v1/agents/me/presence",
            token,
            json!({"status": presence}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// Open a conversation in `queue` for the customer `email`; returns its id.
pub async fn queued(app: &TestApp, email: &str, queue: &str) -> String {
    let c = app
        .conversation(&app.admin_token, email, "Help", json!({"queue_id": queue}))
        .await;
    c["id"].as_str().unwrap().to_string()
}

/// The agent's outstanding offers.
pub async fn offers(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, body) = app.get("/api/v1/offers", token).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// Wait (up to 15 s) until the agent has at least `n` outstanding offers.
pub async fn wait_offers(app: &TestApp, token: &str, n: usize) -> Vec<Value> {
    for _ in 0..150 {
        let o = offers(app, token).await;
        if o.len() >= n {
            return o;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("agent never got {n} offers");
}

/// Wait until the conversation satisfies `pred`, returning it.
pub async fn wait_conversation(app: &TestApp, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..150 {
        let (s, c) = app
            .get(&format!("/api/v1/conversations/{id}"), &app.admin_token)
            .await;
        assert_eq!(s, StatusCode::OK, "{c}");
        if pred(&c) {
            return c;
        }
        last = c;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("conversation never reached the expected state: {last}");
}

/// History kinds of a conversation, oldest first.
pub async fn history(app: &TestApp, id: &str) -> Vec<String> {
    let (_, c) = app
        .get(&format!("/api/v1/conversations/{id}"), &app.admin_token)
        .await;
    c["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap().to_string())
        .collect()
}

/// Check in the database: at most one outstanding offer per conversation, and no agent holds
/// more conversations plus offers on a channel than its capacity.
pub async fn assert_invariants(app: &TestApp) {
    let pool = app.state.store.pool();
    let doubles: Vec<(String, i64)> = sqlx::query_as(
        "SELECT conversation_id, COUNT(*) FROM offers WHERE status = 'offered' \
         GROUP BY conversation_id HAVING COUNT(*) > 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        doubles.is_empty(),
        "conversations offered twice: {doubles:?}"
    );
    let offered_and_assigned: Vec<(String,)> = sqlx::query_as(
        "SELECT o.conversation_id FROM offers o JOIN conversations c ON c.id = o.conversation_id \
         WHERE o.status = 'offered' AND c.assignee_id IS NOT NULL",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        offered_and_assigned.is_empty(),
        "assigned yet offered: {offered_and_assigned:?}"
    );
    let agents: Vec<(String, String)> = sqlx::query_as("SELECT id, capacity FROM agents")
        .fetch_all(pool)
        .await
        .unwrap();
    for (id, cap) in agents {
        let caps: BTreeMap<String, i64> = serde_json::from_str(&cap).unwrap();
        for (channel, capacity) in caps {
            let (held,): (i64,) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM conversations WHERE assignee_id = $1 AND channel = $2 \
                   AND status IN ('open', 'pending')) + \
                 (SELECT COUNT(*) FROM offers WHERE agent_id = $1 AND channel = $2 AND status = 'offered')",
            )
            .bind(&id)
            .bind(&channel)
            .fetch_one(pool)
            .await
            .unwrap();
            assert!(
                held <= capacity,
                "agent {id} holds {held} on {channel}, capacity {capacity}"
            );
        }
    }
}

/// Conversations assigned more than once (counting `assigned` history entries).
pub async fn assigned_twice(app: &TestApp) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT conversation_id, COUNT(*) FROM conversation_events WHERE kind = 'assigned' \
         GROUP BY conversation_id HAVING COUNT(*) > 1",
    )
    .fetch_all(app.state.store.pool())
    .await
    .unwrap()
}

/// The conversation's place in its queue (`enqueued_at`, Unix ms).
pub async fn enqueued_at(app: &TestApp, id: &str) -> Option<i64> {
    let (at,): (Option<i64>,) =
        sqlx::query_as("SELECT enqueued_at FROM conversations WHERE id = $1")
            .bind(id)
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    at
}

/// Assign a conversation to an agent as the admin; returns status and body.
pub async fn assign(app: &TestApp, conv: &str, agent_id: &str) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/conversations/{conv}/assign"),
        &app.admin_token,
        json!({"agent_id": agent_id}),
    )
    .await
}
