//! Replies through the outbox to a real SMTP server (aiosmtpd on loopback), threading of the
//! customer's answer, SMTP failures and bounces.

use super::support::*;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use switchboard::channels::email::OutboxWorker;

async fn smtp_mailbox(app: &TestApp, sink: &SmtpSink, extra: serde_json::Value) -> String {
    let mut body = json!({"smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_tls": "none"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    mailbox(app, body).await
}

async fn reply(app: &TestApp, token: &str, conv_id: &str, body: &str, internal: bool) {
    let (s, m) = app
        .post(
            &format!("/api/v1/conversations/{conv_id}/messages"),
            token,
            json!({"body": body, "internal": internal}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
}

/// One outbox pass, then wait until no send is in flight (the server's own worker may hold a
/// lease on a row at the same moment).
async fn send_due(app: &TestApp) {
    OutboxWorker::new(app.state.clone())
        .run_once()
        .await
        .unwrap();
    for _ in 0..100 {
        let (busy,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM email_outbox WHERE locked_until IS NOT NULL")
                .fetch_one(app.state.store.pool())
                .await
                .unwrap();
        if busy == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("an outbox send stayed in flight");
}

fn parse(raw: &[u8]) -> switchboard_mail::ParsedEmail {
    switchboard_mail::parse(raw, &switchboard_mail::Limits::default()).expect("sent mail parses")
}

async fn agent_reply_goes_out_over_smtp_threaded_and_the_customer_answer_joins(b: Backend) {
    let app = spawn_app(b).await;
    let sink = SmtpSink::start().await;
    let mb = smtp_mailbox(&app, &sink, json!({})).await;
    let out = stored(
        &app,
        &corpus("windows1256_body.eml"),
        &format!("?mailbox={mb}"),
    )
    .await;
    let conv_id = out["conversation_id"].as_str().unwrap().to_string();
    let number = conversation(&app, &conv_id).await["number"]
        .as_i64()
        .unwrap();
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    reply(&app, &agent, &conv_id, "یادداشت داخلی", true).await;
    let text = "سلام مریم،\nسفارش شما امروز ارسال شد.";
    reply(&app, &agent, &conv_id, text, false).await;
    let rows = outbox(&app, &conv_id).await;
    assert_eq!(rows.len(), 1, "internal notes are never mailed: {rows:?}");
    let rfc_id = rows[0].3.clone();
    assert!(rfc_id.ends_with("@switchboard.example"), "{rfc_id}");
    send_due(&app).await;
    let sent = sink.wait_for(1).await;
    let raw = String::from_utf8_lossy(&sent[0]).to_string();
    let mail = parse(&sent[0]);
    assert_eq!(mail.message_id, rfc_id);
    assert_eq!(mail.in_reply_to, vec!["w1256-1@example.ir".to_string()]);
    assert_eq!(mail.references, vec!["w1256-1@example.ir".to_string()]);
    assert_eq!(
        mail.subject,
        format!("Re: پيگيري سفارش شماره 98 [#{number}]")
    );
    assert_eq!(
        mail.from.email.as_deref(),
        Some("support@switchboard.example")
    );
    assert_eq!(mail.to[0].email.as_deref(), Some("maryam@example.ir"));
    assert_eq!(mail.text.trim(), text);
    assert!(raw.contains("multipart/alternative"), "{raw}");
    let html = mail.html_sanitized.expect("an HTML part");
    assert!(html.contains("dir=\"rtl\""), "{html}");
    assert!(
        !raw.contains("Auto-Submitted"),
        "a personal reply is not marked automatic"
    );
    assert_eq!(outbox(&app, &conv_id).await[0].1, "sent");
    let (s, listed) = app
        .get(
            &format!("/api/v1/channels/email/outbox?conversation_id={conv_id}"),
            &agent,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{listed}");
    assert_eq!(listed[0]["status"], "sent");
    assert_eq!(listed[0]["rfc_message_id"], rfc_id.as_str());
    assert!(listed[0]["sent_at"].is_string(), "{listed}");
    // The agent's message carries the Message-ID it was sent with.
    let msgs = messages(&app, &conv_id).await;
    assert_eq!(msgs.last().unwrap()["external_id"], rfc_id.as_str());
    // Nothing is sent twice.
    assert_eq!(
        OutboxWorker::new(app.state.clone())
            .run_once()
            .await
            .unwrap(),
        0
    );
    // The customer answers our message (no subject token): same conversation.
    let answer = eml(
        &[
            "From: maryam@example.ir",
            "Subject: Re: thanks",
            "Message-ID: <w1256-2@example.ir>",
            &format!("In-Reply-To: <{rfc_id}>"),
        ],
        "ممنون!",
    );
    let joined = stored(&app, &answer, &format!("?mailbox={mb}")).await;
    assert_eq!(joined["conversation_id"], conv_id.as_str());
    // A bounce for our reply lands in the conversation as a delivery failure.
    let dsn = String::from_utf8(corpus("dsn_bounce.eml"))
        .unwrap()
        .replace("reply-42-abc@switchboard.example", &rfc_id);
    let bounce = stored(&app, dsn.as_bytes(), &format!("?mailbox={mb}")).await;
    assert_eq!(bounce["conversation_id"], conv_id.as_str());
    let msgs = messages(&app, &conv_id).await;
    let note = msgs.last().unwrap();
    assert_eq!(note["author_kind"], "system");
    assert_eq!(note["internal"], true);
    assert_eq!(note["meta"]["kind"], "email_delivery_failed");
    assert!(
        note["body"]
            .as_str()
            .unwrap()
            .contains("nobody@customer.example"),
        "{note}"
    );
    let rows = outbox(&app, &conv_id).await;
    assert_eq!(rows[0].1, "failed");
    assert_eq!(sink.received().len(), 1, "nothing else was sent");
    let (_, history) = app
        .get(&format!("/api/v1/conversations/{conv_id}"), &agent)
        .await;
    let kinds: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"email_delivery_failed"), "{kinds:?}");
}

async fn smtp_rejections_fail_the_reply_visibly_and_temporary_errors_retry(b: Backend) {
    let app = spawn_app(b).await;
    let sink = SmtpSink::start().await;
    let mb = smtp_mailbox(&app, &sink, json!({})).await;
    let q = format!("?mailbox={mb}");
    let rejected = stored(
        &app,
        &eml(
            &[
                "From: reject@customer.example",
                "Subject: a",
                "Message-ID: <r-1@c>",
            ],
            "hi",
        ),
        &q,
    )
    .await;
    let later = stored(
        &app,
        &eml(
            &[
                "From: later@customer.example",
                "Subject: b",
                "Message-ID: <l-1@c>",
            ],
            "hi",
        ),
        &q,
    )
    .await;
    let rejected = rejected["conversation_id"].as_str().unwrap();
    let later = later["conversation_id"].as_str().unwrap();
    reply(&app, &app.admin_token, rejected, "answer", false).await;
    reply(&app, &app.admin_token, later, "answer", false).await;
    send_due(&app).await;
    let rows = outbox(&app, rejected).await;
    assert_eq!((rows[0].1.as_str(), rows[0].2), ("failed", 1), "{rows:?}");
    assert!(rows[0].4.as_deref().unwrap().contains("550"), "{rows:?}");
    let note = messages(&app, rejected).await.last().unwrap().clone();
    assert_eq!(note["author_kind"], "system");
    assert_eq!(note["meta"]["kind"], "email_delivery_failed");
    assert!(
        note["body"].as_str().unwrap().contains("could not be sent"),
        "{note}"
    );
    let rows = outbox(&app, later).await;
    assert_eq!((rows[0].1.as_str(), rows[0].2), ("pending", 1), "{rows:?}");
    assert!(rows[0].4.as_deref().unwrap().contains("451"), "{rows:?}");
    assert_eq!(
        messages(&app, later).await.len(),
        2,
        "no failure note for a retry"
    );
    // Not due yet (backoff): another pass does not retry it.
    assert_eq!(
        OutboxWorker::new(app.state.clone())
            .run_once()
            .await
            .unwrap(),
        0
    );
    assert!(sink.received().is_empty());
}

async fn new_conversations_get_an_automatic_acknowledgement_when_enabled(b: Backend) {
    let app = spawn_app(b).await;
    let sink = SmtpSink::start().await;
    let mb = smtp_mailbox(&app, &sink, json!({"ack_enabled": true})).await;
    let out = stored(
        &app,
        &corpus("persian_utf8_plain.eml"),
        &format!("?mailbox={mb}"),
    )
    .await;
    let number = conversation(&app, out["conversation_id"].as_str().unwrap()).await["number"]
        .as_i64()
        .unwrap();
    send_due(&app).await;
    let sent = sink.wait_for(1).await;
    let raw = String::from_utf8_lossy(&sent[0]).to_string();
    assert!(raw.contains("Auto-Submitted: auto-replied"), "{raw}");
    let mail = parse(&sent[0]);
    assert_eq!(mail.to[0].email.as_deref(), Some("ali.rezaei@example.ir"));
    assert_eq!(
        mail.in_reply_to,
        vec!["persian-plain-1@example.ir".to_string()]
    );
    assert!(
        mail.subject.ends_with(&format!("[#{number}]")),
        "{}",
        mail.subject
    );
    // A follow-up in the same thread gets no second acknowledgement.
    let follow = eml(
        &[
            "From: ali.rezaei@example.ir",
            "Subject: again",
            "Message-ID: <p-2@example.ir>",
            "In-Reply-To: <persian-plain-1@example.ir>",
        ],
        "again",
    );
    stored(&app, &follow, &format!("?mailbox={mb}")).await;
    assert_eq!(
        OutboxWorker::new(app.state.clone())
            .run_once()
            .await
            .unwrap(),
        0
    );
    // Pushed without `?mailbox=`: the mailbox is found by the address it was sent to.
    let other = stored(&app, &corpus("windows1256_body.eml"), "").await;
    let rows = outbox(&app, other["conversation_id"].as_str().unwrap()).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "ack");
    // Mail from our own address (a forwarding loop) is never acknowledged.
    let own = eml(
        &[
            "From: Support <support@switchboard.example>",
            "To: support@switchboard.example",
            "Subject: loop",
            "Message-ID: <own-1@switchboard.example>",
        ],
        "loop",
    );
    let own = stored(&app, &own, "").await;
    assert!(outbox(&app, own["conversation_id"].as_str().unwrap())
        .await
        .is_empty());
}

async fn a_reply_retried_after_the_server_was_down_keeps_its_message_id(b: Backend) {
    let app = spawn_app(b).await;
    let port = free_port();
    let mb = mailbox(
        &app,
        json!({"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_tls": "none"}),
    )
    .await;
    let out = stored(
        &app,
        &corpus("persian_utf8_plain.eml"),
        &format!("?mailbox={mb}"),
    )
    .await;
    let conv_id = out["conversation_id"].as_str().unwrap();
    reply(&app, &app.admin_token, conv_id, "پاسخ ما", false).await;
    send_due(&app).await;
    let rows = outbox(&app, conv_id).await;
    assert_eq!(
        (rows[0].1.as_str(), rows[0].2),
        ("pending", 1),
        "connection refused is temporary: {rows:?}"
    );
    let rfc_id = rows[0].3.clone();
    // The server comes up; the retry (made due now) goes out with the same Message-ID.
    let sink = SmtpSink::start_on(port).await;
    sqlx::query("UPDATE email_outbox SET next_attempt_at = 0")
        .execute(app.state.store.pool())
        .await
        .unwrap();
    send_due(&app).await;
    let sent = sink.wait_for(1).await;
    assert_eq!(parse(&sent[0]).message_id, rfc_id);
    let rows = outbox(&app, conv_id).await;
    assert_eq!((rows[0].1.as_str(), rows[0].2), ("sent", 2), "{rows:?}");
    // Giving up after the last attempt is a visible failure too.
    reply(&app, &app.admin_token, conv_id, "second", false).await;
    drop(sink);
    sqlx::query("UPDATE email_outbox SET attempts = $1 WHERE status = 'pending'")
        .bind(switchboard::channels::email::MAX_SEND_ATTEMPTS - 1)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    send_due(&app).await;
    let rows = outbox(&app, conv_id).await;
    assert_eq!(rows[1].1, "failed", "{rows:?}");
    let note = messages(&app, conv_id).await.last().unwrap().clone();
    assert_eq!(note["meta"]["kind"], "email_delivery_failed", "{note}");
}

async fn a_chat_left_while_nobody_was_available_gets_replies_by_email_too(b: Backend) {
    use crate::chat::client::{site, Visitor};
    let app = spawn_app(b).await;
    let sink = SmtpSink::start().await;
    smtp_mailbox(&app, &sink, json!({})).await;
    let key = site(&app, json!({"prechat_fields": ["email"]})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    // Nobody is available: the widget says so and still takes the message and an email.
    let (mut v, welcome) = Visitor::join(&app, &key, None, None).await;
    assert_eq!(welcome["site"]["online"], false);
    v.send(json!({"type": "prechat", "name": "Sara", "email": "sara@example.com"}))
        .await;
    let ack = v.say("c1", "سلام، کسی هست؟").await;
    let conv_id = ack["conversation_id"].as_str().unwrap().to_string();
    let conv = conversation(&app, &conv_id).await;
    assert!(
        conv["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "offline"),
        "{conv}"
    );
    // Internal notes never leave; the agent's reply goes to the chat and by email.
    reply(&app, &app.admin_token, &conv_id, "note", true).await;
    reply(
        &app,
        &app.admin_token,
        &conv_id,
        "سلام سارا، سفارش شما ارسال شد.",
        false,
    )
    .await;
    send_due(&app).await;
    let sent = sink.wait_for(1).await;
    assert_eq!(sent.len(), 1, "exactly the one reply was mailed");
    let mail = parse(&sent[0]);
    assert_eq!(mail.to[0].email.as_deref(), Some("sara@example.com"));
    assert!(mail.text.contains("سفارش شما ارسال شد"), "{}", mail.text);
    assert!(
        mail.subject.contains(&format!("[#{}]", conv["number"])),
        "{}",
        mail.subject
    );
    // Her email answer threads back into the same chat conversation.
    let answer = format!(
        "From: Sara <sara@example.com>\r\nTo: support@switchboard.example\r\nSubject: Re: {}\r\n\
         Message-ID: <answer-1@example.com>\r\nIn-Reply-To: <{}>\r\n\r\nممنون!\r\n",
        mail.subject, mail.message_id
    );
    let out = stored(&app, answer.as_bytes(), "").await;
    assert_eq!(out["conversation_id"], conv_id.as_str());
}

async fn online_chats_are_not_mailed(b: Backend) {
    use crate::chat::client::{site, Visitor};
    let app = spawn_app(b).await;
    let sink = SmtpSink::start().await;
    smtp_mailbox(&app, &sink, json!({})).await;
    app.put(
        "/api/v1/agents/me/presence",
        &app.admin_token,
        json!({"status": "available"}),
    )
    .await;
    let key = site(&app, json!({"prechat_fields": ["email"]})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut v, welcome) = Visitor::join(&app, &key, None, None).await;
    assert_eq!(welcome["site"]["online"], true);
    v.send(json!({"type": "prechat", "email": "sara@example.com"}))
        .await;
    let conv_id = v.say("c1", "hi").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    reply(&app, &app.admin_token, &conv_id, "hello", false).await;
    assert!(
        outbox(&app, &conv_id).await.is_empty(),
        "the visitor is on the page"
    );
}

crate::storage_tests!(
    a_chat_left_while_nobody_was_available_gets_replies_by_email_too,
    online_chats_are_not_mailed,
    agent_reply_goes_out_over_smtp_threaded_and_the_customer_answer_joins,
    smtp_rejections_fail_the_reply_visibly_and_temporary_errors_retry,
    new_conversations_get_an_automatic_acknowledgement_when_enabled,
    a_reply_retried_after_the_server_was_down_keeps_its_message_id,
);
