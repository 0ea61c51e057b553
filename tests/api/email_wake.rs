//! Mailbox changes wake the IMAP worker: while it idles on one mailbox with a ten-minute poll
//! interval, a mailbox added or fixed (on this node or, in scale mode, on another) is fetched
//! within seconds.

use super::dovecot::{self, Dovecot};
use super::support::*;
use crate::helpers::*;
use serde_json::json;
use std::time::{Duration, Instant};

const POLL_SECS: u64 = 600;
/// "Well before the poll interval".
const PROMPT: Duration = Duration::from_secs(20);

fn imap(server: &Dovecot, address: &str, password: &str) -> serde_json::Value {
    json!({"address": address, "imap_host": "127.0.0.1", "imap_port": server.port,
           "imap_tls": "none", "imap_user": dovecot::USER, "imap_password": password})
}

/// The mailbox's IMAP state row once `done` holds for it: (last_run_at, last_error).
async fn imap_state(
    app: &TestApp,
    mailbox_id: &str,
    what: &str,
    done: impl Fn(&(Option<i64>, Option<String>)) -> bool,
) -> (Option<i64>, Option<String>) {
    let started = Instant::now();
    loop {
        let row: Option<(Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT last_run_at, last_error FROM email_imap_state WHERE mailbox_id = $1",
        )
        .bind(mailbox_id)
        .fetch_optional(app.state.store.pool())
        .await
        .unwrap();
        if let Some(r) = row.filter(|r| done(r)) {
            return r;
        }
        assert!(started.elapsed() < PROMPT, "{what} within {PROMPT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stored_ids(app: &TestApp) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT external_id FROM messages WHERE channel = 'email' ORDER BY external_id",
    )
    .fetch_all(app.state.store.pool())
    .await
    .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

async fn wait_stored(app: &TestApp, n: usize, what: &str) -> Duration {
    let started = Instant::now();
    while stored_ids(app).await.len() < n {
        assert!(started.elapsed() < PROMPT, "{what} within {PROMPT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

/// `node`'s worker has been over `mailbox_id` and is now idling on it.
async fn idling_on(node: &TestApp, mailbox_id: &str) {
    imap_state(node, mailbox_id, "a first pass", |r| r.0.is_some()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

async fn mailbox_changes_wake_the_imap_worker_at_once(b: Backend) {
    let app = spawn_app_with(b, |s| s.email.imap_poll_secs = POLL_SECS).await;
    let mut events = app.state.bus.subscribe();
    let first = Dovecot::start().await;
    let second = Dovecot::start().await;
    let a = mailbox(
        &app,
        imap(&first, "support@switchboard.example", dovecot::PASSWORD),
    )
    .await;
    idling_on(&app, &a).await;
    // Mail waits on another server; IDLE on the first one will not report it.
    second.deliver(&[corpus("windows1256_body.eml")]).await;
    let b_id = mailbox(
        &app,
        imap(&second, "sales@switchboard.example", "wrong password"),
    )
    .await;
    // Created: the worker tries the new mailbox at once (and reports the bad password).
    let (_, error) = imap_state(&app, &b_id, "a pass over the new mailbox", |r| {
        r.1.is_some()
    })
    .await;
    assert!(error.unwrap().contains("login failed"));
    assert!(stored_ids(&app).await.is_empty());
    // Updated: the right password is used at once.
    let (s, m) = app
        .patch(
            &format!("/api/v1/channels/email/mailboxes/{b_id}"),
            &app.admin_token,
            json!({"imap_password": dovecot::PASSWORD}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{m}");
    wait_stored(&app, 1, "mail of the fixed mailbox").await;
    assert_eq!(stored_ids(&app).await, ["w1256-1@example.ir"]);
    // Deleted: announced like the other changes.
    let (s, _) = app
        .delete(
            &format!("/api/v1/channels/email/mailboxes/{b_id}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::NO_CONTENT);
    let mut changes = Vec::new();
    while let Ok(ev) = events.try_recv() {
        if ev.kind == "mailbox.changed" {
            changes.push((
                ev.data["mailbox_id"].as_str().unwrap().to_string(),
                ev.data["change"].as_str().unwrap().to_string(),
            ));
        }
    }
    let expected = [
        (a.clone(), "created"),
        (b_id.clone(), "created"),
        (b_id.clone(), "updated"),
        (b_id.clone(), "deleted"),
    ]
    .map(|(id, c)| (id, c.to_string()));
    assert_eq!(changes, expected);
    // The worker still serves the remaining mailbox through IDLE (once it is idling again).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    first.deliver(&[corpus("reply_outlook.eml")]).await;
    wait_stored(&app, 2, "mail of the remaining mailbox").await;
}

crate::storage_tests!(mailbox_changes_wake_the_imap_worker_at_once);

/// Scale mode: node A runs no IMAP worker; node B idles on a mailbox. A mailbox added through
/// node A reaches node B's worker over the Redis bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailbox_added_on_one_node_wakes_the_imap_worker_of_another() {
    let prefix = format!("sbtest-{}", uuid::Uuid::new_v4().simple());
    let (p1, r1) = (prefix.clone(), redis_url());
    let node_a = spawn_app_with(Backend::Postgres, move |s| {
        s.redis.url = r1.into();
        s.redis.channel_prefix = p1;
        s.email.imap_poll_secs = 0;
    })
    .await;
    let r2 = redis_url();
    let node_b = spawn_on(&node_a.database_url, node_a._dir.clone(), move |s| {
        s.redis.url = r2.into();
        s.redis.channel_prefix = prefix;
        s.email.imap_poll_secs = POLL_SECS;
    })
    .await;
    let first = Dovecot::start().await;
    let second = Dovecot::start().await;
    let a = mailbox(
        &node_a,
        imap(&first, "support@switchboard.example", dovecot::PASSWORD),
    )
    .await;
    idling_on(&node_b, &a).await;
    second.deliver(&[corpus("windows1256_body.eml")]).await;
    mailbox(
        &node_a,
        imap(&second, "sales@switchboard.example", dovecot::PASSWORD),
    )
    .await;
    wait_stored(&node_b, 1, "mail of a mailbox added on the other node").await;
}
