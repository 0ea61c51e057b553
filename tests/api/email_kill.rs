//! Kill -9 of the real server process in the middle of an IMAP batch of 1,000 messages, then a
//! restart: exactly 1,000 messages end up stored, and every one is flagged `\Seen`.

use super::dovecot::{self, Dovecot};
use crate::helpers::*;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOTAL: usize = 1000;

fn message(i: usize) -> Vec<u8> {
    format!(
        "From: Customer {s} <customer{s}@example.com>\r\nTo: support@switchboard.example\r\n\
         Subject: Order {i}\r\nMessage-ID: <kill-test-{i}@example.com>\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         سلام، سفارش {i} کجاست؟\r\n",
        s = i % 200
    )
    .into_bytes()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(db: &str, data: &std::path::Path, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .env("SWITCHBOARD_DATABASE_URL", db)
        .env("SWITCHBOARD_DATA_DIR", data)
        .env("SWITCHBOARD_BIND", format!("127.0.0.1:{port}"))
        .env("SWITCHBOARD__EMAIL__IMAP_POLL_SECS", "1")
        .env("SWITCHBOARD__EMAIL__IMAP_LEASE_SECS", "5")
        .env("SWITCHBOARD__EMAIL__ALLOW_PRIVATE_HOSTS", "true")
        .env("SWITCHBOARD__LOGGING__LEVEL", "warn")
        .env_remove("SWITCHBOARD_REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server binary starts");
    Server(child)
}

async fn wait_listening(port: u16) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server did not listen on {port}");
}

async fn stored(store: &switchboard::store::Store) -> (i64, i64) {
    sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT external_id) FROM messages WHERE channel = 'email'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap()
}

async fn a_server_killed_mid_batch_stores_exactly_every_message_after_restart(b: Backend) {
    let imap = Dovecot::start().await;
    let mail: Vec<Vec<u8>> = (0..TOTAL).map(message).collect();
    imap.deliver(&mail).await;
    let data = tempfile::tempdir().unwrap();
    let db = fresh_database(b, data.path()).await;
    let store = switchboard::store::Store::connect(&db, 2, "normal")
        .await
        .unwrap();
    store.migrate().await.unwrap();
    switchboard::agents::create_from_cli(
        &store,
        ADMIN_EMAIL,
        "Admin",
        switchboard::auth::Role::Admin,
        PASSWORD,
    )
    .await
    .unwrap();
    let port = free_port();
    let server = start(&db, data.path(), port);
    wait_listening(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let resp = client
        .post(format!("{base}/api/v1/channels/email/mailboxes"))
        .bearer_auth(token)
        .json(
            &json!({"name": "Support", "address": "support@switchboard.example",
                      "imap_host": "127.0.0.1", "imap_port": imap.port, "imap_tls": "none",
                      "imap_user": dovecot::USER, "imap_password": dovecot::PASSWORD}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
    // Kill -9 once part of the mail is in, before the mailbox is done.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (n, _) = stored(&store).await;
        if n >= 150 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ingest did not start (stored {n})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(server); // SIGKILL
    let (at_kill, _) = stored(&store).await;
    assert!(
        at_kill < TOTAL as i64,
        "killed too late to prove anything ({at_kill} stored)"
    );
    let _server = start(&db, data.path(), port);
    wait_listening(port).await;
    loop {
        let (n, distinct) = stored(&store).await;
        assert_eq!(n, distinct, "a message was stored twice");
        let unread = imap.flags().await.iter().filter(|(_, seen)| !seen).count();
        if n == TOTAL as i64 && unread == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{n} of {TOTAL} stored and {unread} still unread after the restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Another poll after everything is in stores nothing more.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(stored(&store).await, (TOTAL as i64, TOTAL as i64));
    let flags = imap.flags().await;
    assert_eq!(flags.len(), TOTAL);
    assert!(flags.iter().all(|(_, seen)| *seen));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

crate::storage_tests!(a_server_killed_mid_batch_stores_exactly_every_message_after_restart);
