//! Attachments on every channel and Persian HTML email, as an agent sees them in Chromium
//! (`tests/browser/console_files.test.mjs`); afterwards the API must hold the agent's file.

use super::node::run_script;
use crate::chat::client::{site, Visitor, ORIGIN};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const AGENT_EMAIL: &str = "files.agent@example.com";
const PDF_NAME: &str = "invoice-1403.pdf";
const QUOTED: &str = "متن نامهٔ قبلی";
const LINK_TEXT: &str = "پیگیری سفارش";

/// An 8×6 red PNG (a real image: the browser must decode it).
const PNG_8X6: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x08\x00\x00\x00\x06\x08\x02\x00\x00\x00\x71\x67\x48\xac\x00\x00\x00\x11\x49\x44\x41\x54\x78\x9c\x63\x38\x21\x27\x87\x15\x31\x0c\xa4\x04\x00\x69\x88\x30\xc1\x64\x85\xa2\xe2\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A Persian HTML email (`<body dir="rtl">`) with a link to `link`, a block as tall as the
/// window (`100vh`, as newsletters have), a quoted reply, an inline `cid:` logo and a PDF
/// attachment.
fn persian_email(link: &str) -> Vec<u8> {
    format!(
        "From: Sara <sara@example.com>\r\nTo: support@example.com\r\nSubject: =?UTF-8?B?{subject}?=\r\n\
         Message-ID: <files-1@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
         --outer\r\nContent-Type: multipart/related; boundary=\"rel\"\r\n\r\n\
         --rel\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{html}\r\n\
         --rel\r\nContent-Type: image/png\r\nContent-ID: <logo@shop.example>\r\n\
         Content-Disposition: inline; filename=\"logo.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}\r\n\
         --rel--\r\n\
         --outer\r\nContent-Type: application/pdf; name=\"{PDF_NAME}\"\r\n\
         Content-Disposition: attachment; filename=\"{PDF_NAME}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n\
         --outer--\r\n",
        subject = b64("فاکتور سفارش".as_bytes()),
        html = b64(format!(
            "<html><body dir=\"rtl\" lang=\"fa\"><p>سلام، فاکتور پیوست است.</p>\
             <p><a href=\"{link}\">{LINK_TEXT}</a></p><div style=\"height: 100vh\"></div>\
             <img src=\"cid:logo@shop.example\" alt=\"logo\"><blockquote>{QUOTED}</blockquote></body></html>"
        ).as_bytes()),
        png = b64(PNG_8X6),
        pdf = b64(b"%PDF-1.4\n%test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
    )
    .into_bytes()
}

async fn inbound(app: &TestApp, raw: Vec<u8>) -> Value {
    let resp = app
        .client
        .post(app.url("/api/v1/channels/email/inbound"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json().await.unwrap()
}

/// A visitor uploads the PNG and sends it, then a line with `link` in it; returns the chat
/// conversation id.
async fn visitor_sends_image(app: &TestApp, link: &str) -> String {
    let key = site(app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut v, welcome) = Visitor::join(app, &key, None, None).await;
    let token = welcome["visitor_token"].as_str().unwrap();
    let boundary = "consoleFilesBoundary";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"receipt.png\"\r\nContent-Type: image/png\r\n\r\n").into_bytes();
    body.extend_from_slice(PNG_8X6);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = app
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
    assert_eq!(resp.status(), StatusCode::CREATED);
    let att: Value = resp.json().await.unwrap();
    v.send(json!({"type": "message", "client_id": "img", "text": "", "attachment_id": att["id"]}))
        .await;
    let text = format!("سفارشم اینجاست: {link}. ممنون");
    v.send(json!({"type": "message", "client_id": "link", "text": text}))
        .await;
    let mut conversation = None;
    loop {
        let f = v.next().await;
        if f["type"] == "ack" && f["client_id"] == "img" {
            conversation = f["conversation_id"].as_str().map(str::to_string);
        }
        if f["type"] == "ack" && f["client_id"] == "link" {
            return conversation.expect("the image acknowledged first");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_and_persian_html_email_in_a_real_browser() {
    super::node::browser_dir();
    let app = spawn_app(Backend::Sqlite).await;
    app.agent(AGENT_EMAIL, "agent", json!({"name": "Nima"}))
        .await;
    let link = app.url("/healthz");
    let chat = visitor_sends_image(&app, &link).await;
    let email = inbound(&app, persian_email(&link)).await;
    let email_conv = email["conversation_id"].as_str().unwrap().to_string();
    // The agent route serves the visitor's file to agents only.
    let anon = app
        .client
        .get(app.url("/api/v1/channels/chat/attachments/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);

    run_script(
        "console_files.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("AGENT_EMAIL", AGENT_EMAIL.into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("CHAT_CONVERSATION_ID", chat.clone()),
            ("EMAIL_CONVERSATION_ID", email_conv.clone()),
            ("PDF_NAME", PDF_NAME.into()),
            ("QUOTED", QUOTED.into()),
            ("LINK_URL", link.clone()),
            ("LINK_TEXT", LINK_TEXT.into()),
            ("EMAIL_SUBJECT", "فاکتور سفارش".into()),
        ],
        120,
    )
    .await;

    // The agent's file is a stored agent message of the chat.
    let (s, page) = app
        .get(
            &format!("/api/v1/conversations/{chat}/messages"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let sent: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author_kind"] == "agent")
        .collect();
    assert_eq!(sent.len(), 1, "{page}");
    assert_eq!(sent[0]["meta"]["attachment"]["name"], "label.png");
    assert_eq!(sent[0]["meta"]["attachment"]["content_type"], "image/png");
    // The email reply holds one file (the other was removed before sending) and is queued.
    let (s, page) = app
        .get(
            &format!("/api/v1/conversations/{email_conv}/messages"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let reply = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["author_kind"] == "agent")
        .expect("the email reply");
    let files: Vec<&str> = reply["meta"]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(files, vec!["فاکتور.pdf"], "{reply}");
    let (queued,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM email_outbox WHERE message_id = $1")
            .bind(reply["id"].as_str().unwrap())
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    assert_eq!(queued, 1);
}
