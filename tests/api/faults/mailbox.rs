//! A mailbox's stored passwords go only to the servers they were entered for, and mailboxes
//! reach only public addresses unless allowed.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn create(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let mut full = json!({"name": "Support", "address": "support@switchboard.example"});
    for (k, v) in body.as_object().unwrap() {
        full[k] = v.clone();
    }
    app.post("/api/v1/channels/email/mailboxes", &app.admin_token, full)
        .await
}

async fn moving_a_mailbox_to_another_server_needs_its_password_again(b: Backend) {
    let app = spawn_app(b).await;
    let (s, m) = create(
        &app,
        json!({"imap_host": "127.0.0.1", "imap_port": 993, "imap_user": "support",
               "imap_password": "imap-pass", "smtp_host": "127.0.0.1", "smtp_port": 465,
               "smtp_tls": "tls", "smtp_password": "smtp-pass"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let path = format!(
        "/api/v1/channels/email/mailboxes/{}",
        m["id"].as_str().unwrap()
    );
    let t = &app.admin_token;
    for change in [
        json!({"imap_host": "127.0.0.2"}),
        json!({"imap_port": 143}),
        json!({"imap_tls": "none"}),
        json!({"smtp_host": "127.0.0.2"}),
        json!({"smtp_port": 25}),
        json!({"smtp_tls": "starttls"}),
        json!({"imap_host": "127.0.0.2", "smtp_password": "smtp-pass"}),
    ] {
        let (s, e) = app.patch(&path, t, change.clone()).await;
        assert_error(s, &e, StatusCode::UNPROCESSABLE_ENTITY, "password_required");
    }
    let (_, unchanged) = app.get(&path, t).await;
    assert_eq!(unchanged["imap_host"], "127.0.0.1");
    assert_eq!(unchanged["smtp_port"], 465);
    // With the password, or for anything but the server, it is fine.
    let (s, got) = app
        .patch(
            &path,
            t,
            json!({"imap_host": "127.0.0.2", "imap_password": "new-pass"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["imap_host"], "127.0.0.2");
    let (s, got) = app
        .patch(&path, t, json!({"name": "Renamed", "imap_user": "x"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
}

async fn mailboxes_refuse_private_hosts_unless_allowed(b: Backend) {
    let app = spawn_app_with(b, |s| s.email.allow_private_hosts = false).await;
    for body in [
        json!({"imap_host": "127.0.0.1"}),
        json!({"imap_host": "localhost"}),
        json!({"smtp_host": "10.1.2.3"}),
        json!({"smtp_host": "169.254.169.254"}),
        json!({"imap_host": "[::1]"}),
    ] {
        let (s, e) = create(&app, body.clone()).await;
        assert_error(s, &e, StatusCode::UNPROCESSABLE_ENTITY, "private_host");
    }
    let (s, m) = create(&app, json!({"imap_host": "9.9.9.9"})).await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let path = format!(
        "/api/v1/channels/email/mailboxes/{}",
        m["id"].as_str().unwrap()
    );
    let (s, e) = app
        .patch(&path, &app.admin_token, json!({"smtp_host": "192.168.1.1"}))
        .await;
    assert_error(s, &e, StatusCode::UNPROCESSABLE_ENTITY, "private_host");
}

crate::storage_tests!(
    moving_a_mailbox_to_another_server_needs_its_password_again,
    mailboxes_refuse_private_hosts_unless_allowed,
);
