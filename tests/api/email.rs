//! Email channel: inbound push, threading, quarantine, sanitising, attachments, mailboxes.
//! SMTP and IMAP tests (real aiosmtpd and Dovecot peers) live in the sub-modules.

#[path = "email_batch.rs"]
mod batch;
#[path = "email_concurrency.rs"]
mod concurrency;
#[path = "email_dovecot.rs"]
mod dovecot;
#[path = "email_imap.rs"]
mod imap;
#[path = "email_kill.rs"]
mod kill;
#[path = "email_mailboxes.rs"]
mod mailboxes;
#[path = "email_quarantine.rs"]
mod quarantine;
#[path = "email_reply_files.rs"]
mod reply_files;
#[path = "email_smtp.rs"]
mod smtp;
#[path = "email_support.rs"]
pub mod support;
#[path = "email_tls.rs"]
pub mod tls;
#[path = "email_wake.rs"]
mod wake;

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use support::*;

async fn persian_windows_1256_message_opens_an_email_conversation_with_readable_text(b: Backend) {
    let app = spawn_app(b).await;
    let out = stored(&app, &corpus("windows1256_body.eml"), "").await;
    assert_eq!(out["new_conversation"], true);
    let conv_id = out["conversation_id"].as_str().unwrap();
    let conv = conversation(&app, conv_id).await;
    assert_eq!(conv["channel"], "email");
    assert_eq!(conv["subject"], "پيگيري سفارش شماره 98");
    let msgs = messages(&app, conv_id).await;
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m["author_kind"], "customer");
    assert_eq!(m["external_id"], "w1256-1@example.ir");
    assert_eq!(
        m["body"],
        "سلام، سفارش من هنوز نرسيده است.\nلطفا پيگيري کنيد. گزارش چاپ ژاکت."
    );
    assert_eq!(m["meta"]["from"]["email"], "maryam@example.ir");
    assert_eq!(m["meta"]["auto"], serde_json::Value::Null);
    // The sender became a customer identified by the address.
    let (s, customer) = app
        .get(
            &format!(
                "/api/v1/customers/{}",
                conv["customer_id"].as_str().unwrap()
            ),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{customer}");
    assert_eq!(customer["identities"][0]["value"], "maryam@example.ir");
}

async fn replies_thread_by_headers_then_by_subject_token_and_reopen_resolved_conversations(
    b: Backend,
) {
    let app = spawn_app(b).await;
    let first = stored(
        &app,
        &eml(
            &[
                "From: Sara <sara@example.com>",
                "To: support@switchboard.example",
                "Subject: Broken kettle",
                "Message-ID: <k-1@example.com>",
            ],
            "My kettle is broken.",
        ),
        "",
    )
    .await;
    let conv_id = first["conversation_id"].as_str().unwrap().to_string();
    let number = conversation(&app, &conv_id).await["number"]
        .as_i64()
        .unwrap();
    let (s, body) = app
        .patch(
            &format!("/api/v1/conversations/{conv_id}"),
            &app.admin_token,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // In-Reply-To alone (another subject) joins the thread and reopens it.
    let second = stored(
        &app,
        &eml(
            &[
                "From: sara@example.com",
                "Subject: something else",
                "Message-ID: <k-2@example.com>",
                "In-Reply-To: <k-1@example.com>",
            ],
            "Still broken.\n\n> My kettle is broken.",
        ),
        "",
    )
    .await;
    assert_eq!(second["conversation_id"], conv_id.as_str());
    assert_eq!(second["new_conversation"], false);
    assert_eq!(conversation(&app, &conv_id).await["status"], "open");
    // References only, newest unknown id first: still found.
    let third = stored(
        &app,
        &eml(
            &[
                "From: sara@example.com",
                "Subject: x",
                "Message-ID: <k-3@example.com>",
                "References: <k-2@example.com> <lost@elsewhere>",
            ],
            "Third.",
        ),
        "",
    )
    .await;
    assert_eq!(third["conversation_id"], conv_id.as_str());
    // No headers, only the [#number] token in the subject.
    let subject = format!("Subject: Re: Broken kettle [#{number}]");
    let fourth = stored(
        &app,
        &eml(
            &[
                "From: sara@example.com",
                &subject,
                "Message-ID: <k-4@example.com>",
            ],
            "Token.",
        ),
        "",
    )
    .await;
    assert_eq!(fourth["conversation_id"], conv_id.as_str());
    // The same token from a stranger does not reach into Sara's conversation.
    let stranger = stored(
        &app,
        &eml(
            &[
                "From: mallory@example.net",
                &subject,
                "Message-ID: <m-1@example.net>",
            ],
            "Let me in.",
        ),
        "",
    )
    .await;
    assert_eq!(stranger["new_conversation"], true);
    let msgs = messages(&app, &conv_id).await;
    assert_eq!(msgs.len(), 4);
    assert_eq!(
        msgs[1]["body"], "Still broken.",
        "quoted history is folded away"
    );
    // Nothing matches: a new conversation with the reply prefix stripped.
    let other = stored(
        &app,
        &eml(
            &[
                "From: sara@example.com",
                "Subject: RE: Fwd: New topic",
                "Message-ID: <k-5@example.com>",
                "In-Reply-To: <unknown@x>",
            ],
            "New.",
        ),
        "",
    )
    .await;
    assert_ne!(other["conversation_id"], conv_id.as_str());
    let other = conversation(&app, other["conversation_id"].as_str().unwrap()).await;
    assert_eq!(other["subject"], "New topic");
}

async fn a_message_id_seen_before_is_stored_once(b: Backend) {
    let app = spawn_app(b).await;
    let first = stored(&app, &corpus("duplicate_id_a.eml"), "").await;
    let (s, dup) = inbound(&app, &app.admin_token, &corpus("duplicate_id_b.eml"), "").await;
    assert_eq!(s, StatusCode::OK, "{dup}");
    assert_eq!(dup["status"], "duplicate");
    assert_eq!(dup["conversation_id"], first["conversation_id"]);
    let (s, _) = inbound(&app, &app.admin_token, &corpus("duplicate_id_a.eml"), "").await;
    assert_eq!(s, StatusCode::OK);
    let msgs = messages(&app, first["conversation_id"].as_str().unwrap()).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["body"], "first copy");
}

async fn garbage_is_quarantined_with_its_reason_for_admins_only(b: Backend) {
    let app = spawn_app(b).await;
    let raw = corpus("binary_garbage.eml");
    let (s, out) = inbound(&app, &app.admin_token, &raw, "").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{out}");
    assert_eq!(out["status"], "quarantined");
    let reason = out["reason"].as_str().unwrap();
    assert!(reason.contains("not a MIME message"), "{reason}");
    let (s, list) = app
        .get("/api/v1/channels/email/quarantine", &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["reason"], reason);
    assert_eq!(list["items"][0]["size"], raw.len());
    let id = list["items"][0]["id"].as_str().unwrap();
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/channels/email/quarantine/{id}/raw")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.bytes().await.unwrap().to_vec(),
        raw,
        "bytes kept exactly"
    );
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (s, body) = app.get("/api/v1/channels/email/quarantine", &agent).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    // Empty bodies are quarantined too, never dropped.
    let (s, out) = inbound(&app, &app.admin_token, b"", "").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{out}");
    assert_eq!(out["reason"], "message is empty");
}

async fn hostile_html_is_sanitised_in_what_the_api_returns(b: Backend) {
    let app = spawn_app(b).await;
    let out = stored(&app, &corpus("html_hostile.eml"), "").await;
    let msgs = messages(&app, out["conversation_id"].as_str().unwrap()).await;
    let html = msgs[0]["meta"]["html_sanitized"]
        .as_str()
        .unwrap()
        .to_lowercase();
    for bad in [
        "<script",
        "onerror",
        "onload",
        "javascript:",
        "<iframe",
        "<form",
        "<object",
    ] {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }
    assert!(html.contains("https://shop.example/order"), "{html}");
    let body = msgs[0]["body"].as_str().unwrap();
    assert!(!body.contains("<script"), "{body}");
}

async fn auto_replies_are_marked_and_never_acknowledged(b: Backend) {
    let app = spawn_app(b).await;
    let mb = mailbox(&app, json!({"ack_enabled": true})).await;
    let q = format!("?mailbox={mb}");
    let auto = stored(&app, &corpus("auto_submitted.eml"), &q).await;
    let auto_conv = auto["conversation_id"].as_str().unwrap();
    assert_eq!(
        messages(&app, auto_conv).await[0]["meta"]["auto"],
        "auto_reply"
    );
    assert!(
        outbox(&app, auto_conv).await.is_empty(),
        "no ack for an auto-reply"
    );
    let bulk = stored(&app, &corpus("precedence_bulk.eml"), &q).await;
    let bulk_conv = bulk["conversation_id"].as_str().unwrap();
    assert_eq!(messages(&app, bulk_conv).await[0]["meta"]["auto"], "bulk");
    assert!(
        outbox(&app, bulk_conv).await.is_empty(),
        "no ack for bulk mail"
    );
    // A person's message on the same mailbox is acknowledged (the check above can fail).
    let human = stored(&app, &corpus("persian_utf8_plain.eml"), &q).await;
    let rows = outbox(&app, human["conversation_id"].as_str().unwrap()).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "ack");
}

async fn only_the_email_inbound_scope_or_admins_may_push_mail(b: Backend) {
    let app = spawn_app(b).await;
    let raw = corpus("persian_utf8_plain.eml");
    let wrong = app.api_token(&["conversations"]).await;
    let (s, body) = inbound(&app, &wrong, &raw, "").await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (s, body) = inbound(&app, &agent, &raw, "").await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let resp = app
        .client
        .post(app.url("/api/v1/channels/email/inbound"))
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (s, body) = inbound(&app, &app.admin_token, &raw, "?mailbox=nope").await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
    let right = app.api_token(&["email:inbound"]).await;
    let (s, body) = inbound(&app, &right, &raw, "").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
}

async fn large_messages_are_accepted_up_to_the_email_limit_and_refused_beyond(b: Backend) {
    let app = spawn_app(b).await;
    // 3 MiB: above the server's general JSON body limit, well within the email limit.
    let big = "x".repeat(76);
    let lines: Vec<&str> = std::iter::repeat_n(big.as_str(), 40_000).collect();
    let raw = eml(
        &[
            "From: big@example.com",
            "Subject: big",
            "Message-ID: <big-1@example.com>",
        ],
        &lines.join("\r\n"),
    );
    assert!(raw.len() > 3_000_000);
    stored(&app, &raw, "").await;
    let too_big = vec![b'a'; 25 * 1024 * 1024 + 1];
    let (s, body) = inbound(&app, &app.admin_token, &too_big, "").await;
    assert_error(s, &body, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
}

async fn attachments_are_stored_and_downloadable_by_agents(b: Backend) {
    let app = spawn_app(b).await;
    let raw =
        "From: Reza <reza@example.ir>\r\nSubject: invoice\r\nMessage-ID: <att-1@example.ir>\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n--B\r\n\
        Content-Type: application/pdf; name=\"=?utf-8?B?2YHYp9qp2KrZiNixLnBkZg==?=\"\r\n\
        Content-Disposition: attachment; filename=\"=?utf-8?B?2YHYp9qp2KrZiNixLnBkZg==?=\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOf\r\n--B--\r\n";
    let out = stored(&app, raw.as_bytes(), "").await;
    let msgs = messages(&app, out["conversation_id"].as_str().unwrap()).await;
    let att = &msgs[0]["meta"]["attachments"][0];
    assert_eq!(att["filename"], "فاکتور.pdf");
    assert_eq!(att["content_type"], "application/pdf");
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let url = app.url(&format!(
        "/api/v1/channels/email/attachments/{}",
        att["id"].as_str().unwrap()
    ));
    let resp = app
        .client
        .get(&url)
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(
        resp.bytes().await.unwrap().as_ref(),
        b"%PDF-1.4\n%\xc3\xa4\xc3\xbc\xc3\xb6\xc3\x9f"
    );
    assert_eq!(att["size"], 18);
    let resp = app.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

async fn mail_without_a_usable_sender_is_still_stored(b: Backend) {
    let app = spawn_app(b).await;
    let out = stored(&app, &corpus("no_from.eml"), "").await;
    let msgs = messages(&app, out["conversation_id"].as_str().unwrap()).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["meta"]["sender_unusable"], true);
    let out2 = stored(&app, &corpus("no_message_id.eml"), "").await;
    let (s, again) = inbound(&app, &app.admin_token, &corpus("no_message_id.eml"), "").await;
    assert_eq!(
        s,
        StatusCode::OK,
        "same bytes without Message-ID are a duplicate: {again}"
    );
    assert_eq!(again["conversation_id"], out2["conversation_id"]);
}

crate::storage_tests!(
    persian_windows_1256_message_opens_an_email_conversation_with_readable_text,
    replies_thread_by_headers_then_by_subject_token_and_reopen_resolved_conversations,
    a_message_id_seen_before_is_stored_once,
    garbage_is_quarantined_with_its_reason_for_admins_only,
    hostile_html_is_sanitised_in_what_the_api_returns,
    auto_replies_are_marked_and_never_acknowledged,
    only_the_email_inbound_scope_or_admins_may_push_mail,
    large_messages_are_accepted_up_to_the_email_limit_and_refused_beyond,
    attachments_are_stored_and_downloadable_by_agents,
    mail_without_a_usable_sender_is_still_stored,
);
