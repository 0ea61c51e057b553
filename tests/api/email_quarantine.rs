//! Releasing quarantined mail: admins ingest a kept message again or discard it.
//!
//! The parser and its limits are fixed within one build, so a message quarantined by this
//! server fails again. What becomes parseable later is a message kept by an earlier version
//! with a stricter limit or an older parser: such entries are written here as that version
//! left them (a row with its reason), then released through the API.

use super::support::*;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use switchboard::store::{new_id, now_ms};

/// A quarantine entry as an older server left it; returns its id.
async fn old_entry(app: &TestApp, mailbox_id: Option<&str>, raw: &[u8], reason: &str) -> String {
    let id = new_id();
    sqlx::query(
        "INSERT INTO email_quarantine (id, mailbox_id, reason, size, raw, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(mailbox_id)
    .bind(reason)
    .bind(raw.len() as i64)
    .bind(raw.to_vec())
    .bind(now_ms())
    .execute(app.state.store.pool())
    .await
    .unwrap();
    id
}

async fn quarantine_list(app: &TestApp) -> Vec<Value> {
    let (s, body) = app
        .get("/api/v1/channels/email/quarantine", &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn reingest(app: &TestApp, token: &str, id: &str) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/channels/email/quarantine/{id}/reingest"),
        token,
        json!({}),
    )
    .await
}

const TOO_LARGE: &str = "message is 2310 bytes, over the limit of 1024";

async fn only_admins_release_or_discard_and_unknown_ids_are_not_found(b: Backend) {
    let app = spawn_app(b).await;
    let id = old_entry(&app, None, &corpus("reply_outlook.eml"), TOO_LARGE).await;
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (_, supervisor) = app
        .agent("supervisor@example.com", "supervisor", json!({}))
        .await;
    for token in [&agent, &supervisor] {
        let (s, e) = reingest(&app, token, &id).await;
        assert_error(s, &e, StatusCode::FORBIDDEN, "forbidden");
        let (s, e) = app
            .delete(&format!("/api/v1/channels/email/quarantine/{id}"), token)
            .await;
        assert_error(s, &e, StatusCode::FORBIDDEN, "forbidden");
    }
    let (s, e) = app
        .call(
            "DELETE",
            &format!("/api/v1/channels/email/quarantine/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");
    // Nothing happened to the entry.
    assert_eq!(quarantine_list(&app).await.len(), 1);
    assert!(
        messages_with_external_id(&app, "outlook-reply-1@corp.example")
            .await
            .is_empty()
    );
    let (s, e) = reingest(&app, &app.admin_token, "no-such-id").await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
    let (s, e) = app
        .delete(
            "/api/v1/channels/email/quarantine/no-such-id",
            &app.admin_token,
        )
        .await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
}

async fn messages_with_external_id(app: &TestApp, external_id: &str) -> Vec<(String,)> {
    sqlx::query_as("SELECT conversation_id FROM messages WHERE external_id = $1")
        .bind(external_id)
        .fetch_all(app.state.store.pool())
        .await
        .unwrap()
}

async fn a_message_that_parses_now_is_stored_for_its_mailbox_and_leaves_quarantine(b: Backend) {
    let app = spawn_app(b).await;
    let (s, queue) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "Billing"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{queue}");
    let queue_id = queue["id"].as_str().unwrap();
    // Addressed elsewhere: only the remembered mailbox can put it in the Billing queue.
    let mb = mailbox(
        &app,
        json!({"address": "billing@switchboard.example", "queue_id": queue_id}),
    )
    .await;
    let raw = corpus("windows1256_body.eml");
    let id = old_entry(&app, Some(&mb), &raw, TOO_LARGE).await;
    let (s, out) = reingest(&app, &app.admin_token, &id).await;
    assert_eq!(s, StatusCode::CREATED, "{out}");
    assert_eq!(out["status"], "stored");
    assert_eq!(out["new_conversation"], true);
    let conv_id = out["conversation_id"].as_str().unwrap();
    let conv = conversation(&app, conv_id).await;
    assert_eq!(conv["channel"], "email");
    assert_eq!(conv["queue_id"], queue_id, "{conv}");
    let msgs = messages(&app, conv_id).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["external_id"], "w1256-1@example.ir");
    assert_eq!(msgs[0]["meta"]["mailbox_id"], mb.as_str());
    // Released: gone from the list and from downloads, and cannot be released twice.
    assert!(quarantine_list(&app).await.is_empty());
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/channels/email/quarantine/{id}/raw")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let (s, e) = reingest(&app, &app.admin_token, &id).await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
    // A second copy of the same message, kept separately: already stored, so it is
    // reported as a duplicate, stores nothing more, and leaves quarantine too.
    let copy = old_entry(&app, Some(&mb), &raw, TOO_LARGE).await;
    let (s, out) = reingest(&app, &app.admin_token, &copy).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out["status"], "duplicate");
    assert_eq!(out["conversation_id"], conv_id);
    assert_eq!(
        messages_with_external_id(&app, "w1256-1@example.ir")
            .await
            .len(),
        1
    );
    assert!(quarantine_list(&app).await.is_empty());
}

async fn a_message_that_still_fails_keeps_its_one_entry_with_the_current_reason(b: Backend) {
    let app = spawn_app(b).await;
    let mb = mailbox(&app, json!({})).await;
    let (s, out) = inbound(
        &app,
        &app.admin_token,
        &corpus("binary_garbage.eml"),
        &format!("?mailbox={mb}"),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{out}");
    let id = out["quarantine_id"].as_str().unwrap().to_string();
    let current = out["reason"].as_str().unwrap().to_string();
    // As if an older parser had given another reason.
    sqlx::query("UPDATE email_quarantine SET reason = 'old parser: unknown' WHERE id = $1")
        .bind(&id)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    let (s, again) = reingest(&app, &app.admin_token, &id).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{again}");
    assert_eq!(again["status"], "quarantined");
    assert_eq!(again["quarantine_id"], id.as_str());
    assert_eq!(again["reason"], current.as_str());
    let list = quarantine_list(&app).await;
    assert_eq!(list.len(), 1, "no second entry: {list:?}");
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["reason"], current.as_str());
    assert_eq!(list[0]["mailbox_id"], mb.as_str());
    let (_, convs) = app
        .get("/api/v1/conversations?channel=email", &app.admin_token)
        .await;
    assert!(convs["items"].as_array().unwrap().is_empty());
}

async fn discarding_removes_the_entry_for_good(b: Backend) {
    let app = spawn_app(b).await;
    let (s, out) = inbound(&app, &app.admin_token, b"   \r\n", "").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{out}");
    let id = out["quarantine_id"].as_str().unwrap().to_string();
    let keep = old_entry(&app, None, &corpus("reply_outlook.eml"), TOO_LARGE).await;
    let path = format!("/api/v1/channels/email/quarantine/{id}");
    let (s, body) = app.delete(&path, &app.admin_token).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let list = quarantine_list(&app).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], keep.as_str(), "only the discarded one went");
    let (s, e) = app.delete(&path, &app.admin_token).await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
    let (s, e) = reingest(&app, &app.admin_token, &id).await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
    let (s, doc) = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["paths"]["/channels/email/quarantine/{id}"]
        .get("delete")
        .is_some());
    assert!(doc["paths"]["/channels/email/quarantine/{id}/reingest"]
        .get("post")
        .is_some());
}

crate::storage_tests!(
    only_admins_release_or_discard_and_unknown_ids_are_not_found,
    a_message_that_parses_now_is_stored_for_its_mailbox_and_leaves_quarantine,
    a_message_that_still_fails_keeps_its_one_entry_with_the_current_reason,
    discarding_removes_the_entry_for_good,
);
