//! The first ten minutes (issue 16): a fresh install routes work through its default queue,
//! phone numbers are found as people type them, responses are compressed, a site's chat can
//! be tried on a page the server serves, and the command line speaks plainly.
use crate::chat::client::{site, Visitor};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use switchboard::queues::DEFAULT_QUEUE_ID;

async fn default_queue(app: &TestApp) -> Value {
    let (s, q) = app
        .get(
            &format!("/api/v1/queues/{DEFAULT_QUEUE_ID}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "the default queue exists: {q}");
    q
}

async fn conversation(app: &TestApp, id: &Value) -> Value {
    let (s, c) = app
        .get(
            &format!("/api/v1/conversations/{}", id.as_str().unwrap()),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    c
}

/// Wait until `path` (a list) holds an item for which `pick` answers.
async fn poll_list(app: &TestApp, token: &str, path: &str, pick: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let (s, page) = app.get(path, token).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        if let Some(v) = page["items"].as_array().unwrap().iter().find(|v| pick(v)) {
            return v.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing matched in {path}");
}

async fn new_work_of_every_channel_lands_in_the_default_queue_and_is_offered(b: Backend) {
    let app = spawn_app(b).await;
    let q = default_queue(&app).await;
    assert_eq!(q["name"], "General — عمومی");
    assert_eq!(
        q["channels"],
        json!(["email", "chat", "phone", "fax", "api"])
    );

    // API: no queue given.
    let api = app
        .conversation(&app.admin_token, "sara@example.com", "order", json!({}))
        .await;
    assert_eq!(api["queue_id"], DEFAULT_QUEUE_ID, "{api}");
    // An available agent is offered it: routed out of the box.
    let (agent, token) = app.agent("first@example.com", "agent", json!({})).await;
    let (s, body) = app
        .put(
            &format!("/api/v1/agents/{agent}/presence"),
            &token,
            json!({"status": "available"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let offer = poll_list(&app, &token, "/api/v1/offers", |_| true).await;
    assert_eq!(offer["conversation_id"], api["id"], "{offer}");

    // Email pushed without a mailbox.
    let raw = "From: Reza <reza@example.com>\r\nTo: support@example.com\r\nSubject: Invoice\r\n\
               Message-ID: <first-run-1@example.com>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nHello\r\n";
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
    let out: Value = resp.json().await.unwrap();
    let email = conversation(&app, &out["conversation_id"]).await;
    assert_eq!(email["queue_id"], DEFAULT_QUEUE_ID, "{email}");

    // A missed call: its callback conversation, with `voice.callback_queue` unset.
    let line = "\"\",\"09121234567\",\"101\",\"from-trunk\",\"\"\"X\"\" <09121234567>\",\
                \"PJSIP/trunk-1\",\"PJSIP/101-1\",\"Dial\",\"PJSIP/101,30\",\"2026-12-01 10:00:00\",\
                \"\",\"2026-12-01 10:00:20\",20,0,\"NO ANSWER\",\"DOCUMENTATION\",\"fr-1\",\"\"\n";
    app.upload_asterisk(&app.admin_token, line, 1).await;
    let callback = poll_list(
        &app,
        &app.admin_token,
        "/api/v1/conversations?tag=callback",
        |_| true,
    )
    .await;
    assert_eq!(callback["queue_id"], DEFAULT_QUEUE_ID, "{callback}");

    // A chat on a site without a queue.
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut v, _) = Visitor::join(&app, &key, None, None).await;
    v.message("c1", "سلام").await;
    let ack = v.next_of("ack").await;
    let chat = conversation(&app, &ack["conversation_id"]).await;
    assert_eq!(chat["queue_id"], DEFAULT_QUEUE_ID, "{ack} {chat}");
}

async fn a_channel_taken_out_of_the_default_queue_leaves_its_new_work_unqueued(b: Backend) {
    let app = spawn_app(b).await;
    let (s, q) = app
        .patch(
            &format!("/api/v1/queues/{DEFAULT_QUEUE_ID}"),
            &app.admin_token,
            json!({"channels": ["email", "chat", "phone", "fax"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    let api = app
        .conversation(&app.admin_token, "sara@example.com", "x", json!({}))
        .await;
    assert_eq!(api["queue_id"], Value::Null, "{api}");
    // A queue chosen explicitly still wins.
    let (_, other) = app
        .post("/api/v1/queues", &app.admin_token, json!({"name": "Sales"}))
        .await;
    let chosen = app
        .conversation(
            &app.admin_token,
            "ali@example.com",
            "y",
            json!({"queue_id": other["id"]}),
        )
        .await;
    assert_eq!(chosen["queue_id"], other["id"]);
    // Restarting on the same database (migrations again) creates no second default queue.
    let again = spawn_on(&app.database_url, app._dir.clone(), |_| {}).await;
    let (_, list) = again
        .get("/api/v1/queues?limit=100", &again.admin_token)
        .await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["General — عمومی", "Sales"], "{list}");
}

async fn a_phone_number_is_found_by_its_start_as_people_type_it(b: Backend) {
    let app = spawn_app(b).await;
    let (s, c) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "Maryam", "identities": [{"kind": "phone", "value": "+989123456789"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (s, other) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "Other", "identities": [{"kind": "phone", "value": "+989351112233"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{other}");
    for q in [
        "۰۹۱۲۳۴۵",
        "0912345",
        "۰۹۱۲",
        "0912 345",
        "+98912",
        "00989123",
        "912345",
        "09123456789",
    ] {
        let path = format!("/api/v1/customers?q={}", urlencode(q));
        let (s, page) = app.get(&path, &app.admin_token).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let ids: Vec<&Value> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["id"])
            .collect();
        assert_eq!(ids, [&c["id"]], "`{q}` finds exactly Maryam: {page}");
    }
    let (_, page) = app
        .get(
            &format!("/api/v1/customers?q={}", urlencode("۰۹۱۳")),
            &app.admin_token,
        )
        .await;
    assert_eq!(page["items"], json!([]), "a different start finds nobody");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

crate::storage_tests!(
    new_work_of_every_channel_lands_in_the_default_queue_and_is_offered,
    a_channel_taken_out_of_the_default_queue_leaves_its_new_work_unqueued,
    a_phone_number_is_found_by_its_start_as_people_type_it,
);

async fn get_gzip(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(&app.admin_token)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_pages_and_json_are_compressed_for_clients_that_accept_gzip() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in [
        "/widget.js",
        "/console/console.js",
        "/console/",
        "/api/v1/openapi.json",
    ] {
        let plain = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(plain.headers().get("content-encoding"), None, "{path}");
        let plain_len = plain.bytes().await.unwrap().len();
        let resp = get_gzip(&app, path).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_eq!(resp.headers()["content-encoding"], "gzip", "{path}");
        assert!(
            resp.headers()["vary"]
                .to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "{path}"
        );
        let body = resp.bytes().await.unwrap();
        assert_eq!(&body[..2], &[0x1f, 0x8b], "{path}: a gzip stream");
        assert!(
            body.len() < plain_len,
            "{path}: {} of {plain_len} bytes",
            body.len()
        );
    }
    // A JSON list: compressed too.
    let resp = get_gzip(&app, "/api/v1/queues").await;
    assert_eq!(resp.headers()["content-encoding"], "gzip");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_asked_for_by_its_version_may_be_cached_for_a_year() {
    let app = spawn_app(Backend::Sqlite).await;
    let resp = app.client.get(app.url("/widget.js")).send().await.unwrap();
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(resp.headers()["cache-control"], "public, max-age=86400");
    let version = etag.trim_matches('"');
    let resp = app
        .client
        .get(app.url(&format!("/widget.js?v={version}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    // An old version is not pinned: it gets the current script with the short lifetime.
    let resp = app
        .client
        .get(app.url("/widget.js?v=0ld"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["cache-control"], "public, max-age=86400");
    assert_eq!(resp.headers()["etag"].to_str().unwrap(), etag);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_serves_a_test_page_embedding_the_widget_for_a_site() {
    let app = spawn_app(Backend::Sqlite).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = app
        .client
        .get(app.url(&format!("/widget/test?site={key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    let html = resp.text().await.unwrap();
    assert!(html.contains(&format!("data-site=\"{key}\"")), "{html}");
    assert!(html.contains("src=\"/widget.js?v="), "{html}");
    assert!(!html.contains("data-site=\"demo\""));
    let (s, body) = app.call("GET", "/widget/test?site=nope", None, None).await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
    let (s, body) = app
        .call("GET", "/widget/test?site=%3Cscript%3E", None, None)
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_site");
}

fn binary(dir: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.env("SWITCHBOARD_DATA_DIR", dir)
        .env("SWITCHBOARD_BIND", "127.0.0.1:0")
        .env_remove("SWITCHBOARD_DATABASE_URL")
        .env_remove("SWITCHBOARD_REDIS_URL")
        .env_remove("SWITCHBOARD_CONFIG")
        .env_remove("RUST_LOG");
    cmd
}

/// The first line `switchboard serve` prints, and what its process's environment holds then.
fn environment_when_started(dir: &std::path::Path, arenas: Option<&str>) -> String {
    use std::io::BufRead;
    let mut cmd = binary(dir);
    match arenas {
        Some(v) => cmd.env("MALLOC_ARENA_MAX", v),
        None => cmd.env_remove("MALLOC_ARENA_MAX"),
    };
    let mut child = cmd
        .arg("serve")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap_or_default();
    child.kill().ok();
    child.wait().ok();
    assert!(!first.is_empty(), "the server printed nothing");
    String::from_utf8_lossy(&environ).replace('\0', "\n")
}

/// glibc's malloc keeps freed memory in one arena per busy thread (BENCHMARKS.md, session 17):
/// the server runs with two, in the same process, unless the operator chose a number.
#[test]
fn the_server_runs_with_two_malloc_arenas_unless_the_operator_chose() {
    let dir = tempfile::tempdir().unwrap();
    let env = environment_when_started(dir.path(), None);
    assert!(env.lines().any(|l| l == "MALLOC_ARENA_MAX=2"), "{env}");
    let env = environment_when_started(dir.path(), Some("4"));
    assert!(env.lines().any(|l| l == "MALLOC_ARENA_MAX=4"), "{env}");
    assert!(!env.lines().any(|l| l == "MALLOC_ARENA_MAX=2"), "{env}");
}

/// Start `switchboard serve` and collect its log until the chat-site hint (the last one).
fn start_up_log(dir: &std::path::Path) -> String {
    use std::io::BufRead;
    let mut child = binary(dir)
        .arg("serve")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
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
    let mut log = String::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        log.push_str(&line);
        log.push('\n');
        if line.contains("no chat site yet") {
            break;
        }
    }
    child.kill().ok();
    child.wait().ok();
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_up_log_shows_the_console_and_how_to_create_the_first_admin_in_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let log = tokio::task::spawn_blocking({
        let d = dir.path().to_path_buf();
        move || start_up_log(&d)
    })
    .await
    .unwrap();
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes when not a terminal:\n{log}"
    );
    assert!(
        log.contains("console: http://127.0.0.1:") && log.contains("/console/"),
        "{log}"
    );
    let exe = env!("CARGO_BIN_EXE_switchboard");
    assert!(
        log.contains(&format!(
            "| {exe} agents create --role admin --email admin@example.com --name Admin --password-stdin"
        )),
        "the exact command:\n{log}"
    );
    assert!(log.contains("no agent is available"), "{log}");

    // A mistake on the command line: one line, no backtrace even when one is asked for.
    let out = binary(dir.path())
        .args([
            "agents",
            "create",
            "--email",
            "a@example.com",
            "--name",
            "A",
        ])
        .args(["--role", "admin", "--password-stdin"])
        .env("RUST_BACKTRACE", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line:\n{err}");
    assert!(
        err.starts_with("error: ") && err.contains("8 characters"),
        "{err}"
    );
    assert!(!err.to_lowercase().contains("backtrace"), "{err}");

    // A wrong argument: one line too.
    let out = binary(dir.path())
        .args(["agents", "create", "--email", "a@example.com", "--bogus"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line:\n{err}");
    assert!(
        err.starts_with("error: ") && err.contains("--bogus"),
        "{err}"
    );

    // With an admin, the log no longer asks for one.
    let mut child = binary(dir.path())
        .args([
            "agents",
            "create",
            "--email",
            "a@example.com",
            "--name",
            "A",
        ])
        .args(["--role", "admin", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(PASSWORD.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let log = tokio::task::spawn_blocking({
        let d = dir.path().to_path_buf();
        move || start_up_log(&d)
    })
    .await
    .unwrap();
    assert!(log.contains("console: http://127.0.0.1:"), "{log}");
    assert!(!log.contains("no admin exists"), "{log}");
}
