//! The database going away: requests answer `503 database_unavailable` with `Retry-After`
//! quickly, and work again once it is back. And text PostgreSQL cannot store (NUL) is refused.

use super::services::OwnPostgres;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgresql_is_down_requests_get_a_quick_503_with_retry_after_and_recover_after() {
    let pg = OwnPostgres::start().await;
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let app = spawn_on(&pg.admin_url(), dir, |s| {
        s.database.acquire_timeout_ms = 1000
    })
    .await;
    let (s, _) = app.get("/api/v1/conversations", &app.admin_token).await;
    assert_eq!(s, StatusCode::OK);

    pg.stop();
    for (method, path, body) in [
        ("GET", "/api/v1/conversations", None),
        ("POST", "/api/v1/customers", Some(json!({"name": "Down"}))),
    ] {
        let started = Instant::now();
        let mut req = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .bearer_auth(&app.admin_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let took = started.elapsed();
        assert_eq!(
            resp.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path}"
        );
        assert!(
            resp.headers().get("retry-after").is_some(),
            "{method} {path}: no Retry-After"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "database_unavailable", "{body}");
        assert!(
            took < Duration::from_secs(5),
            "{method} {path} took {took:?}"
        );
        eprintln!("{method} {path}: 503 in {took:?} while PostgreSQL was down");
    }
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    pg.start_again().await;
    let back = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, body) = app.get("/api/v1/conversations", &app.admin_token).await;
        if s == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {s} {body} after PostgreSQL returned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "requests succeed {:?} after PostgreSQL returned",
        back.elapsed()
    );
    // Writes recover too. Right after the restart every worker reconnects at once; a request
    // that finds the pool still busy may get one more quick 503 (with Retry-After, which a
    // client honours), never another error.
    loop {
        let (s, body) = app
            .post(
                "/api/v1/customers",
                &app.admin_token,
                json!({"name": "Back"}),
            )
            .await;
        if s == StatusCode::CREATED {
            break;
        }
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["code"], "database_unavailable", "{body}");
        eprintln!(
            "a write got 503 {:?} after PostgreSQL returned",
            back.elapsed()
        );
        assert!(
            Instant::now() < deadline,
            "writes still refused after PostgreSQL returned: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, found) = app.get("/api/v1/customers?q=Back", &app.admin_token).await;
    let n = found["items"].as_array().map(Vec::len);
    assert_eq!(n, Some(1), "the customer written once: {found}");
}

/// A NUL character anywhere in JSON text is refused with `422 invalid_text`, on every route
/// (PostgreSQL cannot store it), and nothing is stored.
async fn a_nul_character_in_json_text_is_refused_with_422_on_every_route(b: Backend) {
    let app = spawn_app(b).await;
    let t = &app.admin_token;
    let conv = app
        .conversation(t, "nul@example.com", "Nul", json!({}))
        .await;
    let id = conv["id"].as_str().unwrap();
    let customer = conv["customer_id"].as_str().unwrap();
    let cases = [
        (
            "POST",
            "/api/v1/customers".to_string(),
            json!({"name": "A\u{0}B"}),
        ),
        (
            "PATCH",
            format!("/api/v1/customers/{customer}"),
            json!({"name": "A\u{0}B"}),
        ),
        (
            "POST",
            format!("/api/v1/conversations/{id}/messages"),
            json!({"body": "hi\u{0}"}),
        ),
        (
            "PATCH",
            format!("/api/v1/conversations/{id}"),
            json!({"subject": "x\u{0}"}),
        ),
        (
            "POST",
            "/api/v1/conversations".to_string(),
            json!({"customer": {"email": "n2@example.com"}, "subject": "s", "body": "\u{0}"}),
        ),
        (
            "POST",
            "/api/v1/queues".to_string(),
            json!({"name": "q\u{0}", "channels": ["chat"]}),
        ),
    ];
    for (method, path, body) in cases {
        let (s, got) = app.call(method, &path, Some(t), Some(body)).await;
        assert_error(s, &got, StatusCode::UNPROCESSABLE_ENTITY, "invalid_text");
    }
    // An escaped backslash followed by `u0000` is ordinary text.
    let (s, got) = app
        .post("/api/v1/customers", t, json!({"name": "C:\\u0000"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{got}");
    assert_eq!(got["name"], "C:\\u0000");
    let (_, msgs) = app
        .get(&format!("/api/v1/conversations/{id}/messages"), t)
        .await;
    let n = msgs["items"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(n, 1, "only the first message was stored: {msgs}");
}

crate::storage_tests!(a_nul_character_in_json_text_is_refused_with_422_on_every_route);

/// A widget frame carrying a NUL character gets an `invalid_text` error frame, not `internal`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widget_frame_with_a_nul_character_gets_an_invalid_text_frame_on_postgresql() {
    use crate::chat::client::{site, Visitor};
    let app = spawn_app(Backend::Postgres).await;
    let site = site(&app, json!({})).await;
    let key = site["site_key"].as_str().unwrap();
    let (mut v, _) = Visitor::join(&app, key, None, None).await;
    v.message("c1", "hi\u{0}there").await;
    let answer = v.next().await;
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(answer["code"], "invalid_text", "{answer}");
    v.message("c2", "fine").await;
    let ack = v.next_of("ack").await;
    assert_eq!(ack["client_id"], "c2", "{ack}");
}

/// Machine-fed text (mail, PBX logs, CTI events) cannot be refused back to a person: NUL
/// characters are dropped where it is parsed, and the rest is stored on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_in_mail_call_records_and_cti_events_are_dropped_on_postgresql() {
    let app = spawn_app(Backend::Postgres).await;
    let token = app.api_token(&["*"]).await;
    let mail = "From: Nul <nul@example.com>\r\nTo: support@example.com\r\nSubject: a=\r\n \
                =?utf-8?q?b=00c?=\r\nMessage-ID: <nul-1@example.com>\r\nContent-Type: text/plain; \
                charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nhello=00world\r\n";
    let resp = app
        .client
        .post(app.url("/api/v1/channels/email/inbound"))
        .bearer_auth(&token)
        .header("content-type", "message/rfc822")
        .body(mail)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let line = "\"\",\"09121230000\",\"101\",\"from-trunk\",\"\"\"Nu\0l\"\" <09121230000>\",\
                \"PJSIP/t-1\",\"PJSIP/101-2\",\"Dial\",\"PJSIP/101\",\"2025-03-01 09:00:00\",\
                \"2025-03-01 09:00:06\",\"2025-03-01 09:03:18\",198,192,\"ANSWERED\",\
                \"DOCUMENTATION\",\"1740806400.9\",\"\"\n";
    app.upload_asterisk(&token, line, 1).await;
    let cti = json!({"event": "newCall", "callId": "nul\u{0}-1", "from": "0912\u{0}1239999",
                     "to": "02133445566", "direction": "in"});
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/channels/voice/cti/{token}")))
        .json(&cti)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM messages WHERE body LIKE '%helloworld%'")
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    assert_eq!(n, 1, "the mail's text is stored without the NUL");
}
