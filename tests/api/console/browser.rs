//! The agent console in headless Chromium: the server runs here with an agent and two customer
//! conversations, `node --test tests/browser/console.test.mjs` (playwright-core) signs in through
//! the form, replies, adds a note and resolves; then the API must show exactly that.
//!
//! Needs `apt-get install -y chromium` and `npm ci --prefix tests/browser`; a missing piece
//! fails the test with that instruction (never a silent skip).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const SETUP: &str = "see tests/browser/README.md: `apt-get install -y chromium nodejs npm && npm ci --prefix tests/browser`, then `cargo test --test api console::browser`";
const AGENT_EMAIL: &str = "maryam@example.com";
const CUSTOMER_NAME: &str = "علي كريمي";
const CUSTOMER_EMAIL: &str = "ali.karimi@example.com";
const FA_SUBJECT: &str = "پیگیری سفارش ۱۲۳۴";
const FA_BODY: &str = "سلام، سفارش ۱۲۳۴ کجاست؟";
const EN_BODY: &str = "Hello, where is my invoice?";
const REPLY: &str = "سفارش شما امروز ارسال شد";
const NOTE: &str = "یادداشت داخلی: با انبار هماهنگ شد";

/// Messages of a conversation, oldest first.
async fn messages(app: &TestApp, id: &str) -> Vec<Value> {
    let (s, page) = app
        .get(
            &format!("/api/v1/conversations/{id}/messages"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_round_trip_in_a_real_browser() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/browser");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: {SETUP}"
    );
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "tests/browser/node_modules is missing: {SETUP}"
    );
    let app = spawn_app(Backend::Sqlite).await;
    let (agent_id, _) = app
        .agent(
            AGENT_EMAIL,
            "agent",
            json!({"name": "مریم", "languages": ["fa"]}),
        )
        .await;
    let fa = app
        .conversation(
            &app.admin_token,
            CUSTOMER_EMAIL,
            FA_SUBJECT,
            json!({"customer": {"email": CUSTOMER_EMAIL, "name": CUSTOMER_NAME}, "body": FA_BODY}),
        )
        .await;
    let en = app
        .conversation(
            &app.admin_token,
            "jane@example.com",
            "Invoice question",
            json!({"customer": {"email": "jane@example.com", "name": "Jane Doe"}, "body": EN_BODY}),
        )
        .await;
    let fa_id = fa["id"].as_str().unwrap().to_string();
    let en_id = en["id"].as_str().unwrap().to_string();
    // The name as stored is what the panel must show.
    let (s, customer) = app
        .get(
            &format!("/api/v1/customers/{}", fa["customer_id"].as_str().unwrap()),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{customer}");
    let customer_name = customer["name"].as_str().unwrap().to_string();
    assert_eq!(
        switchboard_text::search_fold(&customer_name),
        switchboard_text::search_fold(CUSTOMER_NAME)
    );

    let artifacts = dir.join("artifacts");
    let shot = artifacts.join("console-conversation.png");
    std::fs::remove_file(&shot).ok();
    let child = tokio::process::Command::new("node")
        .arg("--test")
        .arg("--test-reporter=spec")
        .arg("console.test.mjs")
        .current_dir(&dir)
        .env("APP_URL", &app.base)
        .env("AGENT_EMAIL", AGENT_EMAIL)
        .env("AGENT_PASSWORD", PASSWORD)
        .env("AGENT_NAME", "مریم")
        .env("FA_CONVERSATION_ID", &fa_id)
        .env("FA_SUBJECT", FA_SUBJECT)
        .env("FA_BODY", FA_BODY)
        .env("CUSTOMER_NAME", &customer_name)
        .env("CUSTOMER_EMAIL", CUSTOMER_EMAIL)
        .env("EN_CONVERSATION_ID", &en_id)
        .env("EN_BODY", EN_BODY)
        .env("REPLY", REPLY)
        .env("NOTE", NOTE)
        .env("ARTIFACT_DIR", &artifacts)
        .env("CHROMIUM", CHROMIUM)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .expect("the browser test finishes within 120 s")
        .unwrap_or_else(|e| panic!("cannot run node: {e}; {SETUP}"));
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "browser test failed:\n{log}");
    assert!(shot.is_file(), "no screenshot saved:\n{log}");

    // What the browser did is stored: the reply by the agent, the note internal, resolved.
    let items = messages(&app, &fa_id).await;
    assert_eq!(items.len(), 3, "{items:#?}");
    assert_eq!(items[0]["author_kind"], "customer");
    assert_eq!(items[0]["body"], FA_BODY);
    let (reply, note) = (&items[1], &items[2]);
    assert_eq!(reply["body"], REPLY, "{reply}");
    assert_eq!(reply["author_kind"], "agent", "{reply}");
    assert_eq!(reply["author_id"], agent_id.as_str(), "{reply}");
    assert_eq!(reply["internal"], false, "{reply}");
    assert_eq!(note["body"], NOTE, "{note}");
    assert_eq!(note["author_kind"], "agent", "{note}");
    assert_eq!(note["author_id"], agent_id.as_str(), "{note}");
    assert_eq!(note["internal"], true, "{note}");
    let (s, conv) = app
        .get(&format!("/api/v1/conversations/{fa_id}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{conv}");
    assert_eq!(conv["status"], "resolved", "{conv}");
    let changed = conv["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "status_changed")
        .unwrap_or_else(|| panic!("no status_changed history: {conv}"));
    assert_eq!(changed["actor_id"], agent_id.as_str(), "{changed}");
    let (s, agent) = app
        .get(&format!("/api/v1/agents/{agent_id}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{agent}");
    assert_eq!(agent["presence"], "available", "{agent}");
    // The English conversation was only read.
    let (s, other) = app
        .get(&format!("/api/v1/conversations/{en_id}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{other}");
    assert_eq!(other["status"], "open", "{other}");
    assert_eq!(messages(&app, &en_id).await.len(), 1);
}
