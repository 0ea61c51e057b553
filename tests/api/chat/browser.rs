//! The widget in headless Chromium: the server runs here, a host page is served from a second
//! origin, and `node --test tests/browser/widget.test.mjs` (playwright-core) drives the browser.
//!
//! Needs `apt-get install -y chromium` and `npm ci --prefix tests/browser`; a missing piece
//! fails the test with that instruction (never a silent skip).

use crate::helpers::*;
use axum::response::Html;
use reqwest::StatusCode;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const SETUP: &str = "see tests/browser/README.md: `apt-get install -y chromium nodejs npm && npm ci --prefix tests/browser`, then `cargo test --test api chat::browser`";

/// Serve `web-widget/test-page.html` on its own origin, embedding the widget from `app_url`.
async fn host_page(app_url: &str, site_key: &str) -> String {
    let html = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/web-widget/test-page.html"
    ))
    .expect("web-widget/test-page.html");
    let tag = r#"<script src="/widget.js" data-site="demo" async></script>"#;
    assert!(
        html.contains(tag),
        "test-page.html changed: the embed tag is not where the test expects it"
    );
    let html = html.replace(
        tag,
        &format!(r#"<script src="{app_url}/widget.js" data-site="{site_key}" async></script>"#),
    );
    let router =
        axum::Router::new().route("/", axum::routing::get(move || async move { Html(html) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_widget_round_trip() {
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
    // An available agent, so the widget is online and shows no offline pre-chat form.
    let (s, body) = app
        .put(
            "/api/v1/agents/me/presence",
            &app.admin_token,
            json!({"status": "available"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // The page origin is only known once its server is bound: create the site, then allow it.
    let (s, site) = app
        .post(
            "/api/v1/channels/chat/sites",
            &app.admin_token,
            json!({"name": "فروشگاه نمونه"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{site}");
    let page_url = host_page(&app.base, site["site_key"].as_str().unwrap()).await;
    let (s, body) = app
        .patch(
            &format!(
                "/api/v1/channels/chat/sites/{}",
                site["id"].as_str().unwrap()
            ),
            &app.admin_token,
            json!({"allowed_origins": [page_url]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let artifacts = dir.join("artifacts");
    let child = tokio::process::Command::new("node")
        .arg("--test")
        .arg("--test-reporter=spec")
        .arg("widget.test.mjs")
        .current_dir(&dir)
        .env("APP_URL", &app.base)
        .env("PAGE_URL", format!("{page_url}/"))
        .env("ADMIN_TOKEN", &app.admin_token)
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
    assert!(
        artifacts.join("widget-round-trip.png").is_file(),
        "no screenshot saved:\n{log}"
    );
}
