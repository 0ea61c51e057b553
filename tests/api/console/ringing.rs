//! A ringing call reaches the consoles of the agents it rings for — the called extension, the
//! CTI `user[]`, the agents of the call's queue — and not other agents.

use super::socket::{connect, next_event};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn ring(app: &TestApp, token: &str, call_id: &str, extra: Value) {
    let mut body = json!({"event": "newCall", "callId": call_id, "from": "09121234567",
        "to": "02133445566", "direction": "in"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, answer) = app
        .call(
            "POST",
            &format!("/api/v1/channels/voice/cti/{token}"),
            None,
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{answer}");
}

async fn a_ringing_call_reaches_the_called_extension_the_named_user_and_the_queue(b: Backend) {
    let app = spawn_app(b).await;
    let cti = app.api_token(&["voice:ingest"]).await;
    let (s, q) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "billing", "channels": ["phone"], "skills": ["invoices"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    let (ext_id, ext) = app
        .agent("ext.201@example.com", "agent", json!({"extension": "201"}))
        .await;
    let (sara_id, sara) = app
        .agent("sara@example.com", "agent", json!({"name": "Sara"}))
        .await;
    let (billing_id, billing) = app
        .agent("bill@example.com", "agent", json!({"skills": ["invoices"]}))
        .await;
    let (_, other) = app
        .agent("other@example.com", "agent", json!({"extension": "209"}))
        .await;
    let mut ws = Vec::new();
    for t in [&ext, &sara, &billing, &other] {
        ws.push(connect(&app.base, t).await);
    }

    ring(
        &app,
        &cti,
        "call-1",
        json!({"to": "201", "user": ["Sara"], "queue": "billing"}),
    )
    .await;
    for (i, id) in [&ext_id, &sara_id, &billing_id].into_iter().enumerate() {
        let ev = next_event(&mut ws[i], "call.ringing").await;
        assert_eq!(ev["data"]["call_id"], "call-1", "{ev}");
        let ids = ev["data"]["agent_ids"].as_array().unwrap();
        assert!(ids.iter().any(|x| x == id.as_str()), "{ev}");
        assert_eq!(ids.len(), 3, "{ev}");
        assert!(ev["customer_id"].is_string(), "{ev}");
    }
    // The other agent's first ringing call is the one for their own extension.
    ring(&app, &cti, "call-2", json!({"to": "209"})).await;
    let ev = next_event(&mut ws[3], "call.ringing").await;
    assert_eq!(ev["data"]["call_id"], "call-2", "{ev}");
    // A call for nobody in particular is addressed to nobody: the next call the extension's
    // agent sees is the one after it, for them.
    ring(&app, &cti, "call-3", json!({"queue": "no such queue"})).await;
    ring(&app, &cti, "call-4", json!({"user": ["201"]})).await;
    let ev = next_event(&mut ws[0], "call.ringing").await;
    assert_eq!(ev["data"]["call_id"], "call-4", "{ev}");
    assert_eq!(ev["data"]["agent_ids"], json!([ext_id]), "{ev}");
}

crate::storage_tests!(a_ringing_call_reaches_the_called_extension_the_named_user_and_the_queue);
