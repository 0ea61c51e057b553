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

/// What a child process writes to its standard error, collected (and passed on).
type Logged = std::sync::Arc<std::sync::Mutex<String>>;

/// Run `switchboard demo` on `dir` (and `db` for PostgreSQL) until its start-up hints; returns
/// the child (still serving), what it printed, and its log as it grows.
fn start_demo(dir: &Path, db: Option<&str>) -> (std::process::Child, String, Logged) {
    use std::io::BufRead;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
    match db {
        Some(url) => cmd.env("SWITCHBOARD_DATABASE_URL", url),
        None => cmd.env_remove("SWITCHBOARD_DATABASE_URL"),
    };
    let mut child = cmd
        .arg("demo")
        .env("SWITCHBOARD_DATA_DIR", dir)
        .env("SWITCHBOARD_BIND", "127.0.0.1:0")
        .env_remove("SWITCHBOARD_REDIS_URL")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let log = Logged::default();
    let (stderr, kept) = (child.stderr.take().unwrap(), log.clone());
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            eprintln!("{line}");
            let mut kept = kept.lock().unwrap();
            kept.push_str(&line);
            kept.push('\n');
        }
    });
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut out = String::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(90)) {
        out.push_str(&line);
        out.push('\n');
        if line.contains("console: ") {
            break;
        }
    }
    (child, out, log)
}

/// The printed password of `email`.
fn password_of<'a>(out: &'a str, email: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.split_once(email).map(|(_, pw)| pw.trim()))
        .unwrap_or_else(|| panic!("no password printed for {email}:\n{out}"))
}

async fn the_demo_fills_a_fresh_database_with_a_working_contact_center(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = match b {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_database(b, dir.path()).await),
    };
    let (d, url) = (dir.path().to_path_buf(), db.clone());
    let (mut child, out, log) = tokio::task::spawn_blocking(move || start_demo(&d, url.as_deref()))
        .await
        .unwrap();
    let console = out
        .lines()
        .find_map(|l| l.split_once("console: ").map(|(_, u)| u.trim().to_string()))
        .unwrap_or_else(|| panic!("no console line:\n{out}"));
    let base = console.trim_end_matches("/console/").to_string();
    let http = reqwest::Client::new();
    let login = |email: &'static str| {
        let (http, base, pw) = (
            http.clone(),
            base.clone(),
            password_of(&out, email).to_string(),
        );
        async move {
            let r = http
                .post(format!("{base}/api/v1/auth/login"))
                .json(&json!({"email": email, "password": pw}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                StatusCode::OK,
                "{email} logs in with the printed password"
            );
            let v: serde_json::Value = r.json().await.unwrap();
            v["token"].as_str().unwrap().to_string()
        }
    };
    let admin = login("admin@demo.example").await;
    login("reza@demo.example").await;
    let get = |path: String| {
        let (http, base, admin) = (http.clone(), base.clone(), admin.clone());
        async move {
            let r = http
                .get(format!("{base}{path}"))
                .bearer_auth(admin)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let queues = get("/api/v1/queues".into()).await;
    assert_eq!(queues["items"].as_array().unwrap().len(), 3, "{queues}");
    let convs = get("/api/v1/conversations?limit=100".into()).await;
    let mut channels: Vec<&str> = convs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["channel"].as_str().unwrap())
        .collect();
    channels.sort();
    channels.dedup();
    assert_eq!(
        channels,
        ["api", "chat", "email", "fax", "phone"],
        "{convs}"
    );
    let found = get("/api/v1/customers?q=%DB%B0%DB%B9%DB%B1%DB%B2".into()).await;
    assert_eq!(found["items"][0]["name"], "مریم حسینی", "{found}");
    // Her orders are on her profile, with a segment and lifetime value from the refit.
    let id = found["items"][0]["id"].as_str().unwrap();
    let maryam = get(format!("/api/v1/customers/{id}")).await;
    let value = &maryam["value"];
    assert_eq!(value["orders"], 8, "{maryam}");
    assert!(value["rfm"]["segment"].is_string(), "{maryam}");
    assert!(value["clv"]["p_alive"].as_f64().is_some(), "{maryam}");
    let best = get("/api/v1/customers?sort=-value".into()).await;
    assert_eq!(
        best["items"][0]["id"], id,
        "the biggest spender first: {best}"
    );
    // The shop's past customers give the value models something to fit: every customer
    // with orders has a lifetime value, some are at risk, and the fit raised no warning.
    let key = |by: &str| get(format!("/api/v1/insights/key-customers?by={by}&limit=1000"));
    let clv = key("clv").await;
    assert_eq!(clv["items"].as_array().unwrap().len(), 123, "{clv}");
    let at_risk = key("at_risk").await;
    assert!(
        !at_risk["items"].as_array().unwrap().is_empty(),
        "{at_risk}"
    );
    let warned: Vec<String> = log
        .lock()
        .unwrap()
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .filter(|l| !l.contains("autovacuum is off"))
        .map(String::from)
        .collect();
    assert!(warned.is_empty(), "the demo's first run warns: {warned:?}");
    let page = out
        .lines()
        .find_map(|l| {
            l.split_once("demo chat site: ")
                .map(|(_, u)| u.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no test page printed:\n{out}"));
    let r = http.get(&page).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{page}");
    child.kill().ok();
    child.wait().ok();

    // Not on a database that is in use: one line, nothing added.
    let (d, url) = (dir.path().to_path_buf(), db.clone());
    let again = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
        match url.as_deref() {
            Some(u) => cmd.env("SWITCHBOARD_DATABASE_URL", u),
            None => cmd.env_remove("SWITCHBOARD_DATABASE_URL"),
        };
        cmd.arg("demo")
            .env("SWITCHBOARD_DATA_DIR", d)
            .env("SWITCHBOARD_BIND", "127.0.0.1:0")
            .env_remove("SWITCHBOARD_REDIS_URL")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("fresh database"), "{err}");
}

crate::storage_tests!(
    a_newcomer_gets_a_chat_from_the_test_page_to_the_console_and_back,
    the_demo_fills_a_fresh_database_with_a_working_contact_center,
);
