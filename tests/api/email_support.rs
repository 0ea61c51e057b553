//! Helpers for the email tests: corpus messages, the inbound endpoint, and real protocol peers
//! (an aiosmtpd SMTP sink and a throwaway Dovecot IMAP server).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A message from the mail crate's corpus of real-world shapes.
pub fn corpus(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/mail/tests/corpus")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A small message built from header lines and a body.
pub fn eml(headers: &[&str], body: &str) -> Vec<u8> {
    let mut s = headers.join("\r\n");
    s.push_str("\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
    s.push_str(body);
    s.push_str("\r\n");
    s.into_bytes()
}

/// Push raw bytes to the inbound endpoint; `query` is e.g. `?mailbox=ID` or empty.
pub async fn inbound(app: &TestApp, token: &str, raw: &[u8], query: &str) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/channels/email/inbound{query}")))
        .bearer_auth(token)
        .header("content-type", "message/rfc822")
        .body(raw.to_vec())
        .send()
        .await
        .expect("request sent");
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Push and expect the message to be stored; returns the outcome.
pub async fn stored(app: &TestApp, raw: &[u8], query: &str) -> Value {
    let (s, body) = inbound(app, &app.admin_token, raw, query).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "stored", "{body}");
    body
}

/// All messages of a conversation (as admin).
pub async fn messages(app: &TestApp, conv_id: &str) -> Vec<Value> {
    let (s, body) = app
        .get(
            &format!("/api/v1/conversations/{conv_id}/messages?limit=200"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// A conversation as admin.
pub async fn conversation(app: &TestApp, conv_id: &str) -> Value {
    let (s, body) = app
        .get(
            &format!("/api/v1/conversations/{conv_id}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body
}

/// Create a mailbox (as admin) with `extra` settings; returns its id.
pub async fn mailbox(app: &TestApp, extra: Value) -> String {
    let mut body = json!({"name": "Support", "address": "support@switchboard.example"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, m) = app
        .post("/api/v1/channels/email/mailboxes", &app.admin_token, body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    m["id"].as_str().unwrap().to_string()
}

/// Outbox rows of a conversation: (kind, status, attempts, rfc_message_id, last_error).
pub async fn outbox(
    app: &TestApp,
    conv_id: &str,
) -> Vec<(String, String, i64, String, Option<String>)> {
    sqlx::query_as(
        "SELECT kind, status, attempts, rfc_message_id, last_error FROM email_outbox \
         WHERE conversation_id = $1 ORDER BY created_at",
    )
    .bind(conv_id)
    .fetch_all(app.state.store.pool())
    .await
    .unwrap()
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A real SMTP server (Python aiosmtpd) writing each accepted message to a directory.
pub struct SmtpSink {
    _child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        SmtpSink::start_on(free_port()).await
    }

    /// Start on a given loopback port. A port that was free a moment ago may briefly be held
    /// by another test's connection: binding is tried again for a while.
    pub async fn start_on(port: u16) -> SmtpSink {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            match SmtpSink::try_start_on(port).await {
                Ok(sink) => return sink,
                Err(err)
                    if err.contains("address already in use")
                        && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(500)).await
                }
                Err(err) => panic!(
                    "the SMTP sink did not start (install aiosmtpd: `pip install aiosmtpd`): {err}"
                ),
            }
        }
    }

    async fn try_start_on(port: u16) -> Result<SmtpSink, String> {
        let dir = tempfile::tempdir().unwrap();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/email/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 must be installed to run the SMTP tests");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        if !matches!(&ready, Ok(Ok(Some(l))) if l == "READY") {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use tokio::io::AsyncReadExt;
                let _ =
                    tokio::time::timeout(Duration::from_secs(2), e.read_to_string(&mut err)).await;
            }
            return Err(format!("{ready:?} {err}"));
        }
        Ok(SmtpSink {
            _child: child,
            port,
            dir,
        })
    }

    /// Messages received so far, in order.
    pub fn received(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| {
                let p = e.ok()?.path();
                let n = p.file_stem()?.to_str()?.parse().ok()?;
                (p.extension()? == "eml").then_some((n, p))
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, p)| std::fs::read(p).unwrap())
            .collect()
    }

    /// Wait until `n` messages arrived (10 s at most).
    pub async fn wait_for(&self, n: usize) -> Vec<Vec<u8>> {
        for _ in 0..100 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "expected {n} messages at the SMTP sink, got {}",
            self.received().len()
        );
    }
}
