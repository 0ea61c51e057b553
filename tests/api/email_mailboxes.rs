//! Mailbox administration: validation, write-only passwords, admin-only access.

use super::support::*;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn admins_manage_mailboxes_and_passwords_are_never_returned(b: Backend) {
    let app = spawn_app(b).await;
    let id = mailbox(
        &app,
        json!({"imap_host": "127.0.0.1", "imap_port": 143, "imap_tls": "none", "imap_user": "support",
               "imap_password": "imap-pass", "smtp_host": "127.0.0.1", "smtp_password": "smtp-pass"}),
    )
    .await;
    let (s, m) = app
        .get(
            &format!("/api/v1/channels/email/mailboxes/{id}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["imap_has_password"], true);
    assert_eq!(m["smtp_has_password"], true);
    assert_eq!(
        m["ack_enabled"], false,
        "acknowledgements are off by default"
    );
    assert_eq!(m["imap_folder"], "INBOX");
    let text = m.to_string();
    assert!(
        !text.contains("imap-pass") && !text.contains("smtp-pass"),
        "{text}"
    );
    // At rest the passwords are encrypted, not merely hidden.
    let (imap_pw, smtp_pw): (String, String) =
        sqlx::query_as("SELECT imap_password, smtp_password FROM email_mailboxes WHERE id = $1")
            .bind(&id)
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    for stored in [&imap_pw, &smtp_pw] {
        assert!(
            stored.starts_with("enc:v1:") && !stored.contains("-pass"),
            "{stored}"
        );
    }
    let (s, list) = app
        .get("/api/v1/channels/email/mailboxes", &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!list.to_string().contains("-pass"), "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Clearing a password, switching acknowledgements on.
    let (s, m) = app
        .patch(
            &format!("/api/v1/channels/email/mailboxes/{id}"),
            &app.admin_token,
            json!({"smtp_password": "", "ack_enabled": true, "name": "پشتیبانی"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["smtp_has_password"], false);
    assert_eq!(m["imap_has_password"], true);
    assert_eq!(m["ack_enabled"], true);
    assert_eq!(m["name"], "پشتیبانی");
    // Bad input: clear errors, nothing changed.
    for (body, code) in [
        (json!({"imap_tls": "ssl"}), "invalid_field"),
        (json!({"smtp_port": 70000}), "invalid_field"),
        (json!({"address": "not an address"}), "invalid_email"),
        (json!({"bogus": 1}), "invalid_field"),
    ] {
        let (s, e) = app
            .patch(
                &format!("/api/v1/channels/email/mailboxes/{id}"),
                &app.admin_token,
                body,
            )
            .await;
        assert_error(s, &e, StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    let (s, e) = app
        .post(
            "/api/v1/channels/email/mailboxes",
            &app.admin_token,
            json!({"name": "Dup", "address": "Support@Switchboard.example"}),
        )
        .await;
    assert_error(s, &e, StatusCode::CONFLICT, "conflict");
    let (s, e) = app
        .post(
            "/api/v1/channels/email/mailboxes",
            &app.admin_token,
            json!({"name": "Q", "address": "q@x.example", "queue_id": "missing"}),
        )
        .await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
    // Agents and integrations may not touch mailboxes.
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (s, e) = app.get("/api/v1/channels/email/mailboxes", &agent).await;
    assert_error(s, &e, StatusCode::FORBIDDEN, "forbidden");
    let token = app.api_token(&["*"]).await;
    let (s, e) = app
        .get(&format!("/api/v1/channels/email/mailboxes/{id}"), &token)
        .await;
    assert_error(s, &e, StatusCode::FORBIDDEN, "forbidden");
    let (s, _) = app
        .delete(
            &format!("/api/v1/channels/email/mailboxes/{id}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, e) = app
        .get(
            &format!("/api/v1/channels/email/mailboxes/{id}"),
            &app.admin_token,
        )
        .await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
}

async fn email_routes_are_in_the_openapi_document(b: Backend) {
    let app = spawn_app(b).await;
    let (s, doc) = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    for p in [
        "/channels/email/inbound",
        "/channels/email/quarantine",
        "/channels/email/quarantine/{id}/raw",
        "/channels/email/attachments/{id}",
        "/channels/email/outbox",
        "/channels/email/mailboxes",
        "/channels/email/mailboxes/{id}",
    ] {
        assert!(
            doc["paths"].get(p).is_some(),
            "{p} missing from the OpenAPI document"
        );
    }
}

crate::storage_tests!(
    admins_manage_mailboxes_and_passwords_are_never_returned,
    email_routes_are_in_the_openapi_document,
);
