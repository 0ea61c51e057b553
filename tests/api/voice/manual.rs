//! Calls logged by hand by agents.
use super::{customer_by_phone, detail};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn agents_log_calls_by_hand(b: Backend) {
    let app = spawn_app(b).await;
    let (agent_id, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (s, logged) = app
        .post("/api/v1/channels/voice/calls", &agent,
              json!({"phone": "۰۹۱۲۱۲۳۴۵۶۷", "direction": "out", "duration_secs": 95, "notes": "Promised a refund"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{logged}");
    let d = detail(&app, &logged["conversation_id"]).await;
    let msg = &d["messages"][0];
    assert_eq!(
        msg["body"],
        "Outbound call, answered, 1m35s\n\nPromised a refund"
    );
    assert_eq!(msg["author_kind"], "agent");
    assert_eq!(msg["author_id"], agent_id.as_str());
    assert_eq!(
        logged["customer_id"],
        customer_by_phone(&app, "+989121234567").await["id"]
    );

    let conv = app
        .conversation(&app.admin_token, "mina@example.com", "Order", json!({}))
        .await;
    let customer_id = conv["customer_id"].clone();
    let (s, logged) = app
        .post("/api/v1/channels/voice/calls", &agent,
              json!({"customer_id": customer_id, "direction": "in", "duration_secs": 30, "started_at": "2025-03-01T10:00:00Z"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{logged}");
    assert_eq!(logged["customer_id"], customer_id);
    let (_, timeline) = app
        .get(
            &format!(
                "/api/v1/customers/{}/timeline",
                customer_id.as_str().unwrap()
            ),
            &agent,
        )
        .await;
    assert!(
        timeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["channel"] == "phone" && i["at"] == "2025-03-01T10:00:00.000Z"),
        "{timeline}"
    );

    let token = app.api_token(&["voice:ingest"]).await;
    let call = json!({"phone": "09121234567", "direction": "in", "duration_secs": 5});
    let (s, e) = app.post("/api/v1/channels/voice/calls", &token, call).await;
    assert_error(s, &e, StatusCode::FORBIDDEN, "forbidden");
    let (s, e) = app
        .post(
            "/api/v1/channels/voice/calls",
            &agent,
            json!({"phone": "0912", "direction": "sideways", "duration_secs": 5}),
        )
        .await;
    assert_error(s, &e, StatusCode::UNPROCESSABLE_ENTITY, "invalid_direction");
    let (s, e) = app
        .post(
            "/api/v1/channels/voice/calls",
            &agent,
            json!({"direction": "in", "duration_secs": 5}),
        )
        .await;
    assert_error(s, &e, StatusCode::UNPROCESSABLE_ENTITY, "missing_customer");
    let (s, e) = app
        .post(
            "/api/v1/channels/voice/calls",
            &agent,
            json!({"customer_id": "nope", "direction": "in", "duration_secs": 5}),
        )
        .await;
    assert_error(s, &e, StatusCode::UNPROCESSABLE_ENTITY, "unknown_customer");
    let (s, e) = app
        .post(
            "/api/v1/channels/voice/calls",
            &agent,
            json!({"phone": "call me maybe", "direction": "in", "duration_secs": 5}),
        )
        .await;
    assert_error(s, &e, StatusCode::UNPROCESSABLE_ENTITY, "invalid_phone");
}

crate::storage_tests!(agents_log_calls_by_hand);
