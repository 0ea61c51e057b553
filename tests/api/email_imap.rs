//! IMAP ingestion against a real Dovecot: new mail becomes conversations, is flagged `\Seen`
//! only after it is stored, and a restart (another node, or a lost position) stores nothing twice.

use super::dovecot::{self, Dovecot};
use super::support::*;
use crate::helpers::*;
use serde_json::json;
use switchboard::channels::email::ImapWorker;

async fn imap_mailbox(app: &TestApp, server: &Dovecot) -> String {
    mailbox(
        app,
        json!({"imap_host": "127.0.0.1", "imap_port": server.port, "imap_tls": "none",
               "imap_user": dovecot::USER, "imap_password": dovecot::PASSWORD}),
    )
    .await
}

/// A server without its own IMAP worker: these tests run passes by hand.
async fn manual_app(b: Backend) -> TestApp {
    spawn_app_with(b, |s| s.email.imap_poll_secs = 0).await
}

async fn email_conversations(app: &TestApp) -> Vec<serde_json::Value> {
    let (_, list) = app
        .get(
            "/api/v1/conversations?channel=email&limit=100",
            &app.admin_token,
        )
        .await;
    list["items"].as_array().unwrap().clone()
}

async fn imap_worker_stores_new_mail_marks_it_seen_and_never_stores_twice(b: Backend) {
    let app = manual_app(b).await;
    let server = Dovecot::start().await;
    let mb = imap_mailbox(&app, &server).await;
    server
        .deliver(&[
            corpus("windows1256_body.eml"),
            corpus("reply_outlook.eml"),
            corpus("binary_garbage.eml"),
        ])
        .await;
    assert!(server.flags().await.iter().all(|(_, seen)| !seen));
    let worker = ImapWorker::new(app.state.clone());
    let report = worker.run_once(&mb).await.unwrap();
    assert!(report.ran);
    assert_eq!(
        (report.fetched, report.stored, report.quarantined),
        (3, 2, 1),
        "{report:?}"
    );
    let convs = email_conversations(&app).await;
    assert_eq!(convs.len(), 2, "{convs:?}");
    let subjects: Vec<&str> = convs
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    assert!(subjects.contains(&"پيگيري سفارش شماره 98"), "{subjects:?}");
    let flags = server.flags().await;
    assert_eq!(flags.len(), 3);
    assert!(
        flags.iter().all(|(_, seen)| *seen),
        "all flagged after storing: {flags:?}"
    );
    let (_, q) = app
        .get("/api/v1/channels/email/quarantine", &app.admin_token)
        .await;
    assert_eq!(q["items"][0]["mailbox_id"], mb.as_str());
    // A second pass finds nothing new.
    let again = worker.run_once(&mb).await.unwrap();
    assert_eq!((again.fetched, again.stored), (0, 0), "{again:?}");
    // New mail later is picked up, and only it.
    server.deliver(&[corpus("persian_utf8_plain.eml")]).await;
    let third = worker.run_once(&mb).await.unwrap();
    assert_eq!((third.fetched, third.stored), (1, 1), "{third:?}");
    assert_eq!(email_conversations(&app).await.len(), 3);
    // A new UIDVALIDITY (folder recreated) restarts from the first UID; nothing is stored twice.
    sqlx::query("UPDATE email_imap_state SET uidvalidity = 1 WHERE mailbox_id = $1")
        .bind(&mb)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    let rescan = worker.run_once(&mb).await.unwrap();
    assert_eq!(
        (
            rescan.fetched,
            rescan.stored,
            rescan.duplicates,
            rescan.quarantined
        ),
        (4, 0, 3, 1),
        "{rescan:?}"
    );
    assert_eq!(email_conversations(&app).await.len(), 3);
}

async fn a_restart_mid_batch_loses_nothing_and_duplicates_nothing(b: Backend) {
    let app = manual_app(b).await;
    let server = Dovecot::start().await;
    let mb = imap_mailbox(&app, &server).await;
    server
        .deliver(&[
            corpus("duplicate_id_a.eml"),
            corpus("persian_utf8_plain.eml"),
            corpus("reply_outlook.eml"),
            corpus("no_from.eml"),
        ])
        .await;
    // The first node stops after two messages.
    let partial = ImapWorker::new(app.state.clone())
        .with_batch(2)
        .run_once(&mb)
        .await
        .unwrap();
    assert_eq!(partial.stored, 2, "{partial:?}");
    let flags = server.flags().await;
    assert_eq!(flags.iter().filter(|(_, s)| *s).count(), 2, "{flags:?}");
    // Simulate a crash after storing but before the position was saved: forget it.
    sqlx::query("UPDATE email_imap_state SET last_uid = 1 WHERE mailbox_id = $1")
        .bind(&mb)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    app.stop.cancel();
    // Another node on the same database carries on.
    let node2 = spawn_on(&app.database_url, app._dir.clone(), |s| {
        s.email.imap_poll_secs = 0
    })
    .await;
    let rest = ImapWorker::new(node2.state.clone())
        .run_once(&mb)
        .await
        .unwrap();
    assert_eq!(
        (rest.fetched, rest.stored, rest.duplicates),
        (3, 2, 1),
        "{rest:?}"
    );
    assert_eq!(email_conversations(&node2).await.len(), 4);
    assert!(server.flags().await.iter().all(|(_, s)| *s));
    let nothing = ImapWorker::new(node2.state.clone())
        .run_once(&mb)
        .await
        .unwrap();
    assert_eq!(nothing.fetched, 0);
}

async fn mail_stored_by_a_node_stopped_before_flagging_it_is_flagged_by_the_next_pass(b: Backend) {
    let app = manual_app(b).await;
    let server = Dovecot::start().await;
    let mb = imap_mailbox(&app, &server).await;
    server
        .deliver(&[
            corpus("persian_utf8_plain.eml"),
            corpus("reply_outlook.eml"),
            corpus("duplicate_id_a.eml"),
        ])
        .await;
    let worker = ImapWorker::new(app.state.clone());
    let first = worker.with_batch(2).run_once(&mb).await.unwrap();
    assert_eq!(first.stored, 2, "{first:?}");
    // The node stopped after the commit that moved the position, before flagging: the
    // messages are stored and still unread on the server.
    server.mark_unread("1:2").await;
    sqlx::query("UPDATE email_imap_state SET seen_uid = 0 WHERE mailbox_id = $1")
        .bind(&mb)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    let next = ImapWorker::new(app.state.clone())
        .run_once(&mb)
        .await
        .unwrap();
    assert_eq!((next.fetched, next.stored), (1, 1), "{next:?}");
    assert_eq!(
        server.flags().await,
        vec![(1, true), (2, true), (3, true)],
        "every stored message flagged"
    );
    assert_eq!(email_conversations(&app).await.len(), 3);
    // A message a person marks unread afterwards stays unread.
    server.mark_unread("2").await;
    let later = ImapWorker::new(app.state.clone())
        .run_once(&mb)
        .await
        .unwrap();
    assert_eq!(later.fetched, 0, "{later:?}");
    assert_eq!(server.flags().await, vec![(1, true), (2, false), (3, true)]);
}

async fn two_nodes_polling_one_mailbox_at_once_store_each_message_once(b: Backend) {
    let app = manual_app(b).await;
    let node2 = spawn_on(&app.database_url, app._dir.clone(), |s| {
        s.email.imap_poll_secs = 0
    })
    .await;
    let server = Dovecot::start().await;
    let mb = imap_mailbox(&app, &server).await;
    server
        .deliver(&[
            corpus("duplicate_id_a.eml"),
            corpus("persian_utf8_plain.eml"),
            corpus("reply_outlook.eml"),
        ])
        .await;
    let w1 = ImapWorker::new(app.state.clone());
    let w2 = ImapWorker::new(node2.state.clone());
    let (r1, r2) = tokio::join!(w1.run_once(&mb), w2.run_once(&mb));
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert!(r1.ran || r2.ran);
    assert_eq!(r1.stored + r2.stored, 3, "{r1:?} {r2:?}");
    assert_eq!(
        r1.duplicates + r2.duplicates,
        0,
        "the lease kept the nodes apart: {r1:?} {r2:?}"
    );
    assert_eq!(email_conversations(&app).await.len(), 3);
}

async fn imap_failures_are_reported_and_change_nothing(b: Backend) {
    let app = manual_app(b).await;
    let server = Dovecot::start().await;
    let mb = mailbox(
        &app,
        json!({"imap_host": "127.0.0.1", "imap_port": server.port, "imap_tls": "none",
               "imap_user": dovecot::USER, "imap_password": "wrong"}),
    )
    .await;
    server.deliver(&[corpus("persian_utf8_plain.eml")]).await;
    let err = ImapWorker::new(app.state.clone())
        .run_once(&mb)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("login failed"), "{err:#}");
    let (last_error,): (Option<String>,) =
        sqlx::query_as("SELECT last_error FROM email_imap_state WHERE mailbox_id = $1")
            .bind(&mb)
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    assert!(last_error.unwrap().contains("login failed"));
    // TLS is really attempted: implicit TLS against a plain-text port fails the handshake,
    // STARTTLS against a server without TLS is refused; neither hangs nor stores anything.
    for (mode, expected) in [("tls", "TLS handshake"), ("starttls", "STARTTLS")] {
        let (s, m) = app
            .patch(
                &format!("/api/v1/channels/email/mailboxes/{mb}"),
                &app.admin_token,
                json!({"imap_tls": mode, "imap_password": dovecot::PASSWORD}),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::OK, "{m}");
        let err = ImapWorker::new(app.state.clone())
            .run_once(&mb)
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains(expected), "{mode}: {err:#}");
    }
    assert!(email_conversations(&app).await.is_empty());
    assert!(server.flags().await.iter().all(|(_, s)| !s));
}

async fn new_mail_is_picked_up_at_once_through_imap_idle(b: Backend) {
    // Polling every five minutes: only IDLE can explain a pickup within seconds.
    let app = spawn_app_with(b, |s| s.email.imap_poll_secs = 300).await;
    let server = Dovecot::start().await;
    let mb = imap_mailbox(&app, &server).await;
    // Wait for the worker's first pass over the new mailbox; it then goes idle.
    let started = std::time::Instant::now();
    loop {
        let ran: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT last_run_at FROM email_imap_state WHERE mailbox_id = $1")
                .bind(&mb)
                .fetch_optional(app.state.store.pool())
                .await
                .unwrap();
        if matches!(ran, Some((Some(_),))) {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "the worker never looked at the mailbox"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    server.deliver(&[corpus("windows1256_body.eml")]).await;
    let delivered = std::time::Instant::now();
    loop {
        if email_conversations(&app).await.len() == 1 {
            break;
        }
        assert!(
            delivered.elapsed().as_secs() < 20,
            "new mail was not picked up through IDLE"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(server.flags().await.iter().all(|(_, seen)| *seen));
}

crate::storage_tests!(
    new_mail_is_picked_up_at_once_through_imap_idle,
    imap_worker_stores_new_mail_marks_it_seen_and_never_stores_twice,
    a_restart_mid_batch_loses_nothing_and_duplicates_nothing,
    mail_stored_by_a_node_stopped_before_flagging_it_is_flagged_by_the_next_pass,
    imap_failures_are_reported_and_change_nothing,
    two_nodes_polling_one_mailbox_at_once_store_each_message_once,
);
