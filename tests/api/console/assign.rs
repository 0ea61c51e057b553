//! Live work (chats, callbacks) is assigned only to an available agent unless a supervisor
//! overrides, and the chat visitor hears "… joined" only from an agent who really joined.

use crate::chat::client::{site, Visitor};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use switchboard::routing::run_once;
use switchboard::store::now_ms;

async fn assign(app: &TestApp, token: &str, conv: &str, body: Value) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/conversations/{conv}/assign"), token, body)
        .await
}

async fn assignee(app: &TestApp, conv: &str) -> Value {
    let (s, c) = app
        .get(&format!("/api/v1/conversations/{conv}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    c["assignee_id"].clone()
}

async fn chats_and_callbacks_go_only_to_available_agents_unless_overridden(b: Backend) {
    let app = spawn_app(b).await;
    let (s, q) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "chat", "channels": ["chat"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    let key = site(&app, json!({"queue_id": q["id"]})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (away_id, _) = app
        .agent("away@example.com", "agent", json!({"name": "Reza"}))
        .await;
    let (here_id, here) = app
        .agent("here@example.com", "agent", json!({"name": "Maryam"}))
        .await;
    let (s, body) = app
        .put(
            "/api/v1/agents/me/presence",
            &here,
            json!({"status": "available"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, sup) = app.agent("boss@example.com", "supervisor", json!({})).await;
    let (mut v, _) = Visitor::join(&app, &key, None, None).await;
    let conv = v.say("h", "سلام، کسی هست؟").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();

    // Never signed in: refused, nothing changed.
    let (s, body) = assign(&app, &app.admin_token, &conv, json!({"agent_id": away_id})).await;
    assert_error(s, &body, StatusCode::CONFLICT, "agent_unavailable");
    assert!(body["error"].as_str().unwrap().contains("Reza"), "{body}");
    assert_eq!(assignee(&app, &conv).await, Value::Null);
    // A supervisor may insist; the visitor is not told anyone joined.
    let (s, body) = assign(
        &app,
        &sup,
        &conv,
        json!({"agent_id": away_id, "override_capacity": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["assignee_id"], away_id.as_str());
    // Transferred to an available agent: that one joins, and is the first the visitor hears of.
    let (s, body) = assign(&app, &sup, &conv, json!({"agent_id": here_id})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let joined = v.next_of("agent_joined").await;
    assert_eq!(joined["agent"]["name"], "Maryam", "{joined}");

    // Overridden onto an agent who stays away, a chat returns to the queue after the grace.
    let (mut w, _) = Visitor::join(&app, &key, None, None).await;
    let second = w.say("w", "سلام").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, body) = assign(
        &app,
        &sup,
        &second,
        json!({"agent_id": away_id, "override_capacity": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let grace = app.state.settings.routing.console_grace_secs as i64 * 1000;
    run_once(&app.state, now_ms()).await.unwrap();
    assert_eq!(
        assignee(&app, &second).await,
        away_id.as_str(),
        "within the grace"
    );
    run_once(&app.state, now_ms() + grace + 1_000)
        .await
        .unwrap();
    assert_eq!(
        assignee(&app, &second).await,
        Value::Null,
        "back in the queue"
    );
    let (_, c) = app
        .get(&format!("/api/v1/conversations/{second}"), &app.admin_token)
        .await;
    assert!(
        c["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["kind"] == "requeued"),
        "{c}"
    );

    // A callback for a missed call is live work too.
    let (s, cb) = app
        .post(
            "/api/v1/conversations",
            &app.admin_token,
            json!({"customer": {"phone": "+989121234567"}, "channel": "phone",
                   "subject": "callback", "body": "missed call", "tags": ["callback"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cb}");
    let cb = cb["id"].as_str().unwrap();
    let (s, body) = assign(&app, &app.admin_token, cb, json!({"agent_id": away_id})).await;
    assert_error(s, &body, StatusCode::CONFLICT, "agent_unavailable");
    // Email waits happily for an offline agent.
    let mail = app
        .conversation(
            &app.admin_token,
            "m@example.com",
            "mail",
            json!({"channel": "email"}),
        )
        .await;
    let (s, body) = assign(
        &app,
        &app.admin_token,
        mail["id"].as_str().unwrap(),
        json!({"agent_id": away_id}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

crate::storage_tests!(chats_and_callbacks_go_only_to_available_agents_unless_overridden);
