//! The newcomer's path in headless Chromium (issue 16), on both backends: a fresh server with
//! only its first admin and a chat site allowing the server's own address;
//! `tests/browser/newcomer.test.mjs` drives the console and the served test page.
//!
//! Needs Chromium and `npm ci --prefix tests/browser` (see tests/browser/README.md); a missing
//! piece fails the test with that instruction.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const SETUP: &str = "see tests/browser/README.md: `apt-get install -y chromium nodejs npm && npm ci --prefix tests/browser`";

async fn a_newcomer_gets_a_chat_from_the_test_page_to_the_console_and_back(b: Backend) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: {SETUP}"
    );
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "tests/browser/node_modules is missing: {SETUP}"
    );
    let app = spawn_app(b).await;
    // The README's step 5: a site that allows the server's own address.
    let (s, site) = app
        .post(
            "/api/v1/channels/chat/sites",
            &app.admin_token,
            json!({"name": "My shop", "allowed_origins": [app.base]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{site}");
    let artifacts = dir.join("artifacts");
    let child = tokio::process::Command::new("node")
        .args(["--test", "--test-reporter=spec", "newcomer.test.mjs"])
        .current_dir(&dir)
        .env("APP_URL", &app.base)
        .env("SITE_KEY", site["site_key"].as_str().unwrap())
        .env("ADMIN_EMAIL", ADMIN_EMAIL)
        .env("ADMIN_PASSWORD", PASSWORD)
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
    // The chat went through the default queue.
    let (_, convs) = app
        .get("/api/v1/conversations?channel=chat", &app.admin_token)
        .await;
    assert_eq!(
        convs["items"][0]["queue_id"],
        switchboard::queues::DEFAULT_QUEUE_ID,
        "{convs}"
    );
}

crate::storage_tests!(a_newcomer_gets_a_chat_from_the_test_page_to_the_console_and_back);
