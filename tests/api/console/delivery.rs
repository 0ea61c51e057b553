//! Delivery state of outgoing email in the API and, live, in Chromium
//! (`tests/browser/console_delivery.test.mjs`), and the phone composer.

use super::node::run_script;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

const REPLY: &str = "Your invoice is attached.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_delivery_state_and_the_phone_composer_in_a_real_browser() {
    super::node::browser_dir();
    let app = spawn_app(Backend::Sqlite).await;
    app.agent("mail.agent@example.com", "agent", json!({"name": "Nima"}))
        .await;
    // An email from a customer, with no mailbox configured to answer from.
    let raw = "From: Jane <jane@example.com>\r\nTo: support@example.com\r\nSubject: Invoice\r\n\
               Message-ID: <delivery-1@example.com>\r\n\r\nWhere is my invoice?\r\n";
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
    let stored: serde_json::Value = resp.json().await.unwrap();
    let email = stored["conversation_id"].as_str().unwrap().to_string();
    let phone = app
        .conversation(
            &app.admin_token,
            "caller@example.com",
            "Call",
            json!({"channel": "phone"}),
        )
        .await;
    run_script(
        "console_delivery.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("AGENT_EMAIL", "mail.agent@example.com".into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("EMAIL_CONVERSATION_ID", email.clone()),
            (
                "PHONE_CONVERSATION_ID",
                phone["id"].as_str().unwrap().into(),
            ),
            ("REPLY", REPLY.into()),
        ],
        90,
    )
    .await;
    // The follow-ups: an email conversation and a callback task for the caller.
    let customer = phone["customer_id"].as_str().unwrap();
    let (_, list) = app
        .get(
            &format!("/api/v1/conversations?customer={customer}&limit=10"),
            &app.admin_token,
        )
        .await;
    let mut kinds: Vec<(String, bool)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let tagged = c["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "callback");
            (c["channel"].as_str().unwrap().to_string(), tagged)
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ("email".into(), false),
            ("phone".into(), false),
            ("phone".into(), true)
        ],
        "{list}"
    );
    // The API carries the same state on the message.
    let (s, page) = app
        .get(
            &format!("/api/v1/conversations/{email}/messages"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let reply = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["body"] == REPLY)
        .unwrap_or_else(|| panic!("no reply: {page}"))
        .clone();
    let d = &reply["meta"]["delivery"];
    assert_eq!(d["status"], "failed", "{reply}");
    assert_eq!(d["attempts"], 1, "{reply}");
    assert_eq!(d["to"], "jane@example.com", "{reply}");
    assert!(d["error"].as_str().unwrap().contains("mailbox"), "{reply}");
}
