//! Anonymous-use quotas per client address (new visitors, conversations, upload volume) and
//! the removal of uploads no message used.

use super::client::{open, site, Visitor, ORIGIN};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

async fn quota_app(b: Backend) -> (TestApp, String) {
    let app = spawn_app_with(b, |s| {
        s.chat.new_visitors_per_ip_per_hour = 3;
        s.chat.conversations_per_ip_per_hour = 2;
        s.chat.upload_mib_per_ip_per_hour = 1;
    })
    .await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    (app, key)
}

async fn upload(app: &TestApp, token: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let boundary = "sbQuotaBoundary";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = app
        .client
        .post(app.url("/api/v1/widget/attachments"))
        .header("Origin", ORIGIN)
        .header("Authorization", format!("Visitor {token}"))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let s = res.status();
    (s, res.json().await.unwrap_or(Value::Null))
}

async fn conversations(app: &TestApp) -> i64 {
    sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM conversations")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap()
        .0
}

async fn one_address_gets_its_quota_of_visitors_and_conversations_then_a_clear_refusal(b: Backend) {
    let (app, key) = quota_app(b).await;
    let mut tokens = Vec::new();
    for i in 0..2 {
        let (mut v, welcome) = Visitor::join(&app, &key, None, None).await;
        v.say(&format!("c{i}"), "سلام").await;
        tokens.push(welcome["visitor_token"].as_str().unwrap().to_string());
    }
    // A third visitor is let in (3 per hour) but may not open a third conversation.
    let (mut third, _) = Visitor::join(&app, &key, None, None).await;
    third.message("c3", "hello?").await;
    let refused = third.next_of("error").await;
    assert_eq!(refused["code"], "quota_exceeded", "{refused}");
    assert_eq!(refused["client_id"], "c3");
    assert_eq!(
        conversations(&app).await,
        2,
        "nothing stored for the refused message"
    );
    // A fourth new browser is refused at hello, and the socket closes.
    let mut fourth = open(&app, &key, Some(ORIGIN)).await.unwrap();
    fourth
        .send(json!({"type": "hello", "site": key, "locale": "en"}))
        .await;
    let f = fourth.next().await;
    assert_eq!(
        (f["type"].as_str(), f["code"].as_str()),
        (Some("error"), Some("quota_exceeded")),
        "{f}"
    );
    // A returning visitor is no new visitor, and keeps talking in its conversation.
    let (mut back, welcome) = Visitor::join(&app, &key, Some(&tokens[0]), None).await;
    assert!(welcome["conversation_id"].is_string(), "{welcome}");
    back.say("c0-2", "still me").await;
    assert_eq!(conversations(&app).await, 2);
}

async fn uploads_stop_at_the_hourly_volume_and_unused_ones_are_removed(b: Backend) {
    let (app, key) = quota_app(b).await;
    let (mut v, welcome) = Visitor::join(&app, &key, None, None).await;
    let token = welcome["visitor_token"].as_str().unwrap().to_string();
    let mut big = PNG.to_vec();
    big.resize(600 * 1024, 0);
    let (s, sent) = upload(&app, &token, &big).await;
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    let (s, unused) = upload(&app, &token, PNG).await;
    assert_eq!(s, StatusCode::CREATED, "{unused}");
    let (s, e) = upload(&app, &token, &big).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("quota_exceeded")),
        "{e}"
    );
    // The first file is sent in a message; the small one never is.
    v.send(json!({"type": "message", "client_id": "f1", "text": "", "attachment_id": sent["id"]}))
        .await;
    assert_eq!(v.next_of("ack").await["client_id"], "f1");
    sqlx::query("UPDATE chat_attachments SET created_at = created_at - 90000000")
        .execute(app.state.store.pool())
        .await
        .unwrap();
    let store = &app.state.store;
    let n = switchboard::channels::chat::quotas::remove_unused_uploads(store, 24)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let left: Vec<(String, i64)> = sqlx::query_as("SELECT id, kept FROM chat_attachments")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(left, vec![(sent["id"].as_str().unwrap().to_string(), 1)]);
    // The kept one is not looked at again; nothing else goes.
    assert_eq!(
        switchboard::channels::chat::quotas::remove_unused_uploads(store, 24)
            .await
            .unwrap(),
        0
    );
}

async fn visitor_tokens_and_file_urls_expire(b: Backend) {
    // File URLs: the expiry is under the signature, so moving it breaks the signature.
    let (app, key) = quota_app(b).await;
    let (_, welcome) = Visitor::join(&app, &key, None, None).await;
    let token = welcome["visitor_token"].as_str().unwrap().to_string();
    let (s, file) = upload(&app, &token, PNG).await;
    assert_eq!(s, StatusCode::CREATED, "{file}");
    let url = file["url"].as_str().unwrap().to_string();
    assert_eq!(
        reqwest::get(app.url(&url)).await.unwrap().status(),
        StatusCode::OK
    );
    let exp = url.split("exp=").nth(1).unwrap().split('&').next().unwrap();
    let later = (exp.parse::<i64>().unwrap() + 86_400).to_string();
    let moved = url.replace(&format!("exp={exp}"), &format!("exp={later}"));
    assert_eq!(
        reqwest::get(app.url(&moved)).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // Tokens valid for 0 days: past their expiry the visitor is no longer known.
    let app = spawn_app_with(b, |s| s.chat.visitor_token_days = 0).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut v, welcome) = Visitor::join(&app, &key, None, None).await;
    let token = welcome["visitor_token"].as_str().unwrap().to_string();
    v.say("c1", "سلام").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, again) = Visitor::join(&app, &key, Some(&token), None).await;
    assert_eq!(again["conversation_id"], Value::Null, "{again}");
    assert_ne!(again["visitor_token"], welcome["visitor_token"]);
    let (s, _) = upload(&app, &token, PNG).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

crate::storage_tests!(
    visitor_tokens_and_file_urls_expire,
    one_address_gets_its_quota_of_visitors_and_conversations_then_a_clear_refusal,
    uploads_stop_at_the_hourly_volume_and_unused_ones_are_removed,
);
