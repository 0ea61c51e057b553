//! Click-to-call over AMI `Originate`, and an agent on the phone (as the PBX reports it)
//! getting no work on the channels a call blocks.

use super::ami::{entries, pbx_app, pbx_settings, wait_connected, SECRET};
use super::ami_server::{blocks, AmiServer};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use switchboard::bus::Event;
use tokio::sync::broadcast::Receiver;

const ORIGINATE: &str = "/api/v1/channels/voice/calls/originate";

async fn click_to_call_rings_the_agent_first_and_logs_the_call_on_the_customer(b: Backend) {
    let server = AmiServer::start(SECRET).await;
    let app = spawn_app_with(b, |s| {
        pbx_settings(s, &server, SECRET);
        s.voice.originate_caller_id = "02133445566".into();
    })
    .await;
    let (agent_id, token) = app
        .agent("ext201@example.com", "agent", json!({"extension": "201"}))
        .await;
    let (s, customer) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "Sara", "identities": [{"kind": "phone", "value": "09121234567"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{customer}");
    wait_connected(&app).await;
    let (s, body) = app
        .post(ORIGINATE, &token, json!({"customer_id": customer["id"]}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["response"], "Success", "{body}");
    assert_eq!(body["message"], "Originate successfully queued");
    assert_eq!(
        (body["extension"].as_str(), body["number"].as_str()),
        (Some("201"), Some("+989121234567"))
    );
    let sent = server.actions("Originate");
    assert_eq!(sent.len(), 1);
    let o = &sent[0];
    for (key, value) in [
        ("Channel", "PJSIP/201"),
        ("Exten", "09121234567"),
        ("Context", "from-internal"),
        ("Priority", "1"),
        ("Timeout", "30000"),
        ("Async", "true"),
        ("CallerID", "02133445566"),
    ] {
        assert_eq!(o.get(key), Some(value), "{key} in {o:?}");
    }
    assert!(o.get("ActionID").is_some_and(|id| !id.is_empty()), "{o:?}");
    // Over a connection of its own, logged in without events.
    let logins = server.actions("Login");
    assert!(
        logins.iter().any(|l| l.get("Events") == Some("off")),
        "{logins:?}"
    );
    // The PBX's events of that call: one outbound entry on the customer's history.
    server.send_all(&blocks("originate.ami"));
    let calls = entries(&app, "+989121234567", 1).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(call["conversation"]["customer_id"], customer["id"]);
    assert_eq!(call["meta"]["direction"], "outbound", "{call}");
    assert_eq!(call["meta"]["disposition"], "answered");
    assert_eq!(call["meta"]["billsec"], 95);
    assert_eq!(call["meta"]["agent_id"], agent_id.as_str());
    assert_eq!(call["body"], "Outbound call, answered, 1m35s");
}

async fn click_to_call_says_why_it_cannot_call(b: Backend) {
    let server = AmiServer::start(SECRET).await;
    let app = pbx_app(b, &server).await;
    let (_, no_ext) = app.agent("noext@example.com", "agent", json!({})).await;
    let (_, token) = app
        .agent("ext201@example.com", "agent", json!({"extension": "201"}))
        .await;
    wait_connected(&app).await;
    let (s, body) = app
        .post(ORIGINATE, &no_ext, json!({"number": "09121234567"}))
        .await;
    assert_error(s, &body, StatusCode::CONFLICT, "no_extension");
    let (s, body) = app
        .post(ORIGINATE, &token, json!({"number": "call me"}))
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_number");
    let (s, body) = app.post(ORIGINATE, &token, json!({})).await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "missing_number");
    let (s, body) = app
        .post(ORIGINATE, &token, json!({"customer_id": "nobody"}))
        .await;
    assert_error(
        s,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_customer",
    );
    let (s, body) = app
        .call(
            "POST",
            ORIGINATE,
            None,
            Some(json!({"number": "09121234567"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert!(server.actions("Originate").is_empty(), "nothing was sent");

    let plain = spawn_app(b).await;
    let (_, t) = plain
        .agent("ext201@example.com", "agent", json!({"extension": "201"}))
        .await;
    let (s, body) = plain
        .post(ORIGINATE, &t, json!({"number": "09121234567"}))
        .await;
    assert_error(s, &body, StatusCode::CONFLICT, "no_pbx");

    let refused = spawn_app_with(b, |s| pbx_settings(s, &server, "wrong")).await;
    let (_, t) = refused
        .agent("ext201@example.com", "agent", json!({"extension": "201"}))
        .await;
    server
        .wait("the refused login", |s| s.logins().1 >= 1)
        .await;
    let (s, body) = refused
        .post(ORIGINATE, &t, json!({"number": "09121234567"}))
        .await;
    assert_error(s, &body, StatusCode::CONFLICT, "pbx_not_connected");
}

async fn offers(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, body) = app.get("/api/v1/offers", token).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn an_agent_on_the_phone_gets_no_chats_until_the_call_ends(b: Backend) {
    let server = AmiServer::start(SECRET).await;
    let app = pbx_app(b, &server).await;
    let (s, q) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "Chat", "channels": ["chat"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    let (agent_id, token) = app
        .agent(
            "busy@example.com",
            "agent",
            json!({"extension": "201", "capacity": {"chat": 3}, "blocks": {"phone": ["chat"]}}),
        )
        .await;
    let (s, body) = app
        .call(
            "PUT",
            "/api/v1/agents/me/presence",
            Some(&token),
            Some(json!({"status": "available"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    server.wait_sessions(1).await;
    let mut rx = app.state.bus.subscribe();
    let state = |s: &str| {
        format!("Event: DeviceStateChange\r\nPrivilege: call,all\r\nDevice: PJSIP/201\r\nState: {s}\r\n\r\n")
    };
    server.send(&state("INUSE"));
    tokio::time::timeout(Duration::from_secs(10), async {
        while rx.recv().await.unwrap().kind != "agent.phone_changed" {}
    })
    .await
    .expect("the phone state reached the server");
    let chat = app
        .conversation(
            &app.admin_token,
            "visitor@example.com",
            "Chat",
            json!({"channel": "chat", "queue_id": q["id"]}),
        )
        .await;
    switchboard::routing::run_once(&app.state, switchboard::store::now_ms())
        .await
        .unwrap();
    assert!(
        offers(&app, &token).await.is_empty(),
        "no chat offered while on the phone"
    );
    let (s, body) = app
        .post(
            &format!(
                "/api/v1/conversations/{}/assign",
                chat["id"].as_str().unwrap()
            ),
            &app.admin_token,
            json!({"agent_id": agent_id}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "manual assignment obeys it too: {body}"
    );
    server.send(&state("NOT_INUSE"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let offered = offers(&app, &token).await;
        if let Some(o) = offered.first() {
            assert_eq!(o["conversation_id"], chat["id"]);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the chat was not offered after the call"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn next_phone(rx: &mut Receiver<Arc<Event>>) -> Arc<Event> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let ev = rx.recv().await.unwrap();
            if ev.kind == "agent.phone_changed" {
                return ev;
            }
        }
    })
    .await
    .expect("a phone state change")
}

async fn a_reconnect_refreshes_the_phones_states(b: Backend) {
    let server = AmiServer::start(SECRET).await;
    let app = pbx_app(b, &server).await;
    let (agent_id, _) = app
        .agent("busy@example.com", "agent", json!({"extension": "201"}))
        .await;
    server.wait_sessions(1).await;
    let mut rx = app.state.bus.subscribe();
    server.send("Event: DeviceStateChange\r\nDevice: PJSIP/201\r\nState: INUSE\r\n\r\n");
    let ev = next_phone(&mut rx).await;
    assert_eq!(
        (ev.agent_id.as_deref(), &ev.data["on_phone"]),
        (Some(agent_id.as_str()), &json!(true))
    );
    // The PBX restarts; the call ended meanwhile: on reconnecting the worker asks for the
    // phones' states and learns it.
    server.set_devices(&[("PJSIP/201", "NOT_INUSE"), ("PJSIP/202", "UNAVAILABLE")]);
    server.drop_sessions();
    let ev = next_phone(&mut rx).await;
    assert_eq!(ev.data["on_phone"], false, "{:?}", ev.data);
    assert_eq!(
        server.actions("DeviceStateList").len(),
        2,
        "asked on each login"
    );
}

crate::storage_tests!(
    a_reconnect_refreshes_the_phones_states,
    click_to_call_rings_the_agent_first_and_logs_the_call_on_the_customer,
    click_to_call_says_why_it_cannot_call,
    an_agent_on_the_phone_gets_no_chats_until_the_call_ends,
);
