//! An agent's email reply with files: stored with the message, listed in the thread, sent as
//! real MIME attachments to a real SMTP server (aiosmtpd), refused clearly when wrong.

use super::support::*;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use switchboard::channels::email::OutboxWorker;

const BOUNDARY: &str = "sbReplyBoundary9x8y7z";
const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

/// A multipart form: `body` (when given) then each `(name, type, bytes)` as a `file` field.
fn form(body: Option<&str>, files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(text) = body {
        out.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n{text}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, ct, bytes) in files {
        out.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {ct}\r\n\r\n").as_bytes());
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

async fn send(app: &TestApp, token: &str, conv_id: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let res = app
        .client
        .post(app.url(&format!(
            "/api/v1/channels/email/conversations/{conv_id}/reply"
        )))
        .bearer_auth(token)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // Refused before its end, the upload's connection cannot be reused: the client is told
        // (reusing it, the next request here met a broken pipe).
        let connection = res.headers().get("connection").map(|v| v.to_str().unwrap());
        assert_eq!(
            connection,
            Some("close"),
            "a refused upload closes its connection"
        );
    }
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn email_conversation(app: &TestApp, sink: &SmtpSink) -> String {
    let mb = mailbox(
        app,
        json!({"smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_tls": "none"}),
    )
    .await;
    let out = stored(
        app,
        &corpus("windows1256_body.eml"),
        &format!("?mailbox={mb}"),
    )
    .await;
    out["conversation_id"].as_str().unwrap().to_string()
}

async fn a_reply_with_files_is_listed_and_mailed_as_real_attachments(b: Backend) {
    let app = spawn_app(b).await;
    let sink = SmtpSink::start().await;
    let conv_id = email_conversation(&app, &sink).await;
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let text = "فاکتور و رسید پیوست است.";
    let csv = "کد,مبلغ\n۱,۲۵۰۰۰\n".as_bytes();
    let (s, msg) = send(
        &app,
        &agent,
        &conv_id,
        form(
            Some(text),
            &[
                ("فاکتور.pdf", "application/pdf", PDF),
                ("receipt.csv", "text/csv", csv),
            ],
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{msg}");
    assert_eq!(msg["body"], text);
    let listed = msg["meta"]["attachments"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{msg}");
    assert_eq!(listed[0]["filename"], "فاکتور.pdf");
    assert_eq!(listed[0]["size"], PDF.len());
    // The agent downloads what was sent, byte for byte.
    let id = listed[0]["id"].as_str().unwrap();
    let got = app
        .client
        .get(app.url(&format!("/api/v1/channels/email/attachments/{id}")))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().as_ref(), PDF);
    OutboxWorker::new(app.state.clone())
        .run_once()
        .await
        .unwrap();
    let sent = sink.wait_for(1).await;
    let mail = switchboard_mail::parse(&sent[0], &switchboard_mail::Limits::default()).unwrap();
    assert_eq!(mail.text.trim(), text);
    assert_eq!(mail.to[0].email.as_deref(), Some("maryam@example.ir"));
    let files: Vec<(&str, &str, &[u8])> = mail
        .attachments
        .iter()
        .map(|a| {
            (
                a.filename.as_str(),
                a.content_type.as_str(),
                a.data.as_slice(),
            )
        })
        .collect();
    assert_eq!(
        files,
        vec![
            ("فاکتور.pdf", "application/pdf", PDF),
            ("receipt.csv", "text/csv", csv)
        ]
    );
}

async fn bad_replies_with_files_are_refused_and_store_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let sink = SmtpSink::start().await;
    let conv_id = email_conversation(&app, &sink).await;
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let pdf = ("a.pdf", "application/pdf", PDF);
    let eleven = vec![pdf; 11];
    let cases = [
        (
            form(None, &[pdf]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            form(Some("a\0b"), &[pdf]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_text",
        ),
        (
            form(Some("many"), &eleven),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_files",
        ),
    ];
    for (body, status, code) in cases {
        let (s, e) = send(&app, &agent, &conv_id, body).await;
        assert_eq!((s, e["code"].as_str()), (status, Some(code)), "{e}");
    }
    let big = vec![b'x'; 26 * 1024 * 1024];
    let (s, _) = send(
        &app,
        &agent,
        &conv_id,
        form(
            Some("big"),
            &[("big.bin", "application/octet-stream", &big)],
        ),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let (s, e) = send(
        &app,
        &agent,
        "no-such-conversation",
        form(Some("x"), &[pdf]),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    assert!(outbox(&app, &conv_id).await.is_empty(), "nothing queued");
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND author_kind = 'agent'",
    )
    .bind(&conv_id)
    .fetch_one(app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(n, 0, "no message stored");
    // A conversation opened through the API is not an email one.
    let (s, conv) = app
        .post(
            "/api/v1/conversations",
            &agent,
            json!({"customer": {"email": "sara@example.com"}, "subject": "hi"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{conv}");
    let api_id = conv["id"].as_str().unwrap();
    let (s, e) = send(&app, &agent, api_id, form(Some("x"), &[pdf])).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("not_email")),
        "{e}"
    );
}

crate::storage_tests!(
    a_reply_with_files_is_listed_and_mailed_as_real_attachments,
    bad_replies_with_files_are_refused_and_store_nothing,
);
