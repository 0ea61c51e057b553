//! Outgoing webhooks: signed, persisted, retried, with visible status.
use crate::helpers::*;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A real HTTP receiver on a free port that fails the first `fail_first` requests with 503.
pub(crate) async fn receiver(fail_first: usize) -> (String, Seen) {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let handler = move |headers: HeaderMap, body: Bytes| {
        let seen = s2.clone();
        async move {
            let mut v = seen.lock().unwrap();
            v.push((headers, body));
            if v.len() <= fail_first {
                AxStatus::SERVICE_UNAVAILABLE
            } else {
                AxStatus::OK
            }
        }
    };
    let router = axum::Router::new().route("/hook", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}/hook"), seen)
}

pub(crate) async fn wait_until<F: Fn() -> bool>(what: &str, f: F) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn matching_events_are_delivered_signed_and_failures_are_retried(b: Backend) {
    let app = spawn_app(b).await;
    let (url, seen) = receiver(1).await;
    let (s, hook) = app
        .post(
            "/api/v1/webhooks",
            &app.admin_token,
            json!({"url": url, "events": ["conversation.*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_string();
    let id = hook["id"].as_str().unwrap().to_string();
    // Not matching the filter: customer events.
    app.post(
        "/api/v1/customers",
        &app.admin_token,
        json!({"name": "No hook"}),
    )
    .await;
    let conv = app
        .conversation(&app.admin_token, "sara@example.com", "Hook me", json!({}))
        .await;
    // First attempt fails (503), the retry succeeds.
    // One failure, then the retry succeeds.
    wait_until("retry delivery", || {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|(h, _)| h["x-switchboard-event"] == "conversation.created")
            .count()
            >= 2
    })
    .await;
    let (headers, body) = seen
        .lock()
        .unwrap()
        .iter()
        .rfind(|(h, _)| h["x-switchboard-event"] == "conversation.created")
        .unwrap()
        .clone();
    let ts: i64 = headers["x-switchboard-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let expected = switchboard::webhooks::signature(&secret, ts, &body);
    assert_eq!(
        headers["x-switchboard-signature"].to_str().unwrap(),
        expected
    );
    assert_ne!(
        switchboard::webhooks::signature("other secret", ts, &body),
        expected
    );
    let payload: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload["conversation_id"], conv["id"]);
    let all = seen.lock().unwrap().clone();
    assert!(all.iter().all(|(h, _)| h["x-switchboard-event"]
        .to_str()
        .unwrap()
        .starts_with("conversation.")));
    // The status is visible through the API.
    let mut delivered = false;
    for _ in 0..100 {
        let (_, deliveries) = app
            .get(
                &format!("/api/v1/webhooks/{id}/deliveries"),
                &app.admin_token,
            )
            .await;
        let d = deliveries["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["event_kind"] == "conversation.created")
            .cloned();
        if let Some(d) = d.filter(|d| d["status"] == "delivered") {
            assert_eq!(d["attempts"], 2);
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(delivered);
    let (_, h) = app
        .get(&format!("/api/v1/webhooks/{id}"), &app.admin_token)
        .await;
    assert_eq!(h["last_status"], "delivered");
    assert!(h.get("secret").is_none(), "secret shown only once");
}

async fn deliveries_give_up_after_the_attempt_limit_and_say_so(b: Backend) {
    let app = spawn_app_with(b, |s| s.webhooks.max_attempts = 2).await;
    let (url, seen) = receiver(usize::MAX).await;
    let (_, hook) = app
        .post(
            "/api/v1/webhooks",
            &app.admin_token,
            json!({"url": url, "events": ["customer.created"]}),
        )
        .await;
    let id = hook["id"].as_str().unwrap().to_string();
    app.post("/api/v1/customers", &app.admin_token, json!({"name": "x"}))
        .await;
    wait_until("two attempts", || seen.lock().unwrap().len() >= 2).await;
    let mut failed = false;
    for _ in 0..100 {
        let (_, deliveries) = app
            .get(
                &format!("/api/v1/webhooks/{id}/deliveries"),
                &app.admin_token,
            )
            .await;
        if deliveries["items"][0]["status"] == "failed" {
            assert_eq!(deliveries["items"][0]["last_status_code"], 503);
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(failed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(seen.lock().unwrap().len(), 2, "no attempts after giving up");
    let (s, body) = app
        .post(
            "/api/v1/webhooks",
            &app.admin_token,
            json!({"url": "ftp://example.com"}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_url");
}

async fn webhooks_only_reach_public_addresses_unless_allowed(b: Backend) {
    let app = spawn_app_with(b, |s| s.webhooks.allow_private_targets = false).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/hook",
        "https://localhost/hook",
    ] {
        let (s, body) = app
            .post("/api/v1/webhooks", &app.admin_token, json!({"url": url}))
            .await;
        assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "private_url");
    }
    let (s, body) = app
        .post(
            "/api/v1/webhooks",
            &app.admin_token,
            json!({"url": "https://hooks.example.com/x", "active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let (s, body) = app
        .patch(
            &format!("/api/v1/webhooks/{id}"),
            &app.admin_token,
            json!({"url": "http://192.168.1.10/x"}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "private_url");

    // A loopback URL saved earlier (e.g. while the setting was on) is refused at delivery.
    let (url, seen) = receiver(0).await;
    let pool = app.state.store.pool();
    sqlx::query(
        "INSERT INTO webhooks (id, url, secret, events, active, created_at, updated_at) \
         VALUES ('old-hook', $1, 's3cret', '[\"*\"]', 1, 0, 0)",
    )
    .bind(&url)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO webhook_event_filters (webhook_id, event) VALUES ('old-hook', '*')")
        .execute(pool)
        .await
        .unwrap();
    app.state.store.webhooks_changed();
    app.post("/api/v1/customers", &app.admin_token, json!({"name": "x"}))
        .await;
    let mut refused = false;
    for _ in 0..100 {
        let (_, deliveries) = app
            .get("/api/v1/webhooks/old-hook/deliveries", &app.admin_token)
            .await;
        if deliveries["items"][0]["last_error"] == "refused: private address" {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the delivery is refused with a reason");
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing reached the receiver"
    );
}

crate::storage_tests!(
    webhooks_only_reach_public_addresses_unless_allowed,
    matching_events_are_delivered_signed_and_failures_are_retried,
    deliveries_give_up_after_the_attempt_limit_and_say_so,
);
