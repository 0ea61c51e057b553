//! Conversation search and canned responses in the console, as an agent sees them in Chromium
//! (`tests/browser/console_search.test.mjs`): Persian text written with Arabic letter forms and
//! Persian digits is found by `447812`, and `/` + a shortcut in the composer fills in a shared
//! canned response rendered for the open conversation.

use super::node::run_script;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const AGENT_EMAIL: &str = "search.agent@example.com";
/// Typed by a customer: it must reach the screen as text, never as markup.
const MARKUP: &str = "گارانتی <b>ویژه</b> & \"مهم\" 'تمدید'";

async fn ok(res: (StatusCode, Value)) -> Value {
    assert!(res.0.is_success(), "{}", res.1);
    res.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversation_search_and_canned_responses_in_a_real_browser() {
    super::node::browser_dir();
    let app = spawn_app(Backend::Sqlite).await;
    app.agent(AGENT_EMAIL, "agent", json!({"name": "Nima"}))
        .await;
    let (_, sup) = app
        .agent("search.sup@example.com", "supervisor", json!({}))
        .await;
    let customer = ok(app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "علی کریمی", "identities": [{"kind": "email", "value": "ali@example.com"}]}),
        )
        .await)
    .await;
    // Arabic letter forms (ك, ي) and Persian digits.
    let found = ok(app
        .post(
            "/api/v1/conversations",
            &app.admin_token,
            json!({"customer_id": customer["id"], "subject": "سفارش",
                   "body": "سلام، كد رهگيري من ۴۴۷۸۱۲ است"}),
        )
        .await)
    .await;
    // Another conversation of the same customer that must not match.
    ok(app
        .post(
            "/api/v1/conversations",
            &app.admin_token,
            json!({"customer_id": customer["id"], "subject": "فاکتور",
                   "body": "كد رهگيري ۹۹۹۱۲۳ را ندارم"}),
        )
        .await)
    .await;
    // A second page of hits: 21 conversations about a warranty, one with markup in its text.
    for i in 0..20 {
        app.conversation(
            &app.admin_token,
            &format!("w{i}@example.com"),
            "گارانتی",
            json!({"body": format!("گارانتی دستگاه {i}")}),
        )
        .await;
    }
    app.conversation(
        &app.admin_token,
        "markup@example.com",
        "درخواست",
        json!({"body": MARKUP}),
    )
    .await;
    ok(app
        .post(
            "/api/v1/canned-responses",
            &sup,
            json!({"title": "پیگیری سفارش", "body": "{{customer.first_name}} عزیز، سفارش شما ارسال شد.",
                   "shortcut": "track", "shared": true}),
        )
        .await)
    .await;
    ok(app
        .post(
            "/api/v1/canned-responses",
            &sup,
            json!({"title": "Thanks", "body": "Thank you!", "shortcut": "thanks", "shared": true}),
        )
        .await)
    .await;

    run_script(
        "console_search.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("AGENT_EMAIL", AGENT_EMAIL.into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("CONVERSATION_ID", found["id"].as_str().unwrap().into()),
            ("CUSTOMER_ID", customer["id"].as_str().unwrap().into()),
            ("SUBJECT", "سفارش".into()),
            ("FILLED", "علی عزیز، سفارش شما ارسال شد.".into()),
            ("MARKUP", MARKUP.into()),
        ],
        120,
    )
    .await;
}
