//! Secrets at rest: mailbox passwords, the chat signing key and webhook secrets are stored
//! encrypted with the deployment's key; nodes given the same key share them, a node given
//! another key refuses to start, and values stored in clear by earlier versions are sealed.

use crate::chat::client::{site, visitor_of, Visitor};
use crate::email::support::mailbox;
use crate::helpers::*;
use crate::webhooks::{receiver, wait_until, Seen};
use base64::Engine;
use serde_json::json;
use std::sync::Arc;
use switchboard::secrets::SecretBox;

fn new_key() -> String {
    let bytes: Vec<u8> = (0..2)
        .flat_map(|_| uuid::Uuid::new_v4().into_bytes())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn with_key(key: &str) -> impl FnOnce(&mut switchboard::Settings) {
    let key = key.to_string();
    move |s| s.security.secret_key = key.into()
}

/// Another node on `app`'s database with its own (empty) data directory.
async fn other_node(app: &TestApp, key: &str) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    spawn_on(&app.database_url, dir, with_key(key)).await
}

async fn stored(app: &TestApp, sql: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(sql)
        .fetch_all(app.state.store.pool())
        .await
        .unwrap()
}

async fn chat_key_row(app: &TestApp) -> String {
    stored(
        app,
        "SELECT value FROM server_secrets WHERE name = 'chat_signing_key'",
    )
    .await
    .remove(0)
}

async fn mailbox_passwords(app: &TestApp) -> Vec<String> {
    let mut v = stored(app, "SELECT imap_password FROM email_mailboxes").await;
    v.extend(stored(app, "SELECT smtp_password FROM email_mailboxes").await);
    v
}

/// A webhook on every `conversation.created`, its secret as shown once, and its receiver.
async fn hook(app: &TestApp) -> (String, Seen) {
    let (url, seen) = receiver(0).await;
    let (s, h) = app
        .post(
            "/api/v1/webhooks",
            &app.admin_token,
            json!({"url": url, "events": ["conversation.created"]}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{h}");
    (h["secret"].as_str().unwrap().to_string(), seen)
}

/// Open a conversation through `app` and check the delivery it causes is signed with `secret`.
async fn delivery_is_signed_with(app: &TestApp, seen: &Seen, secret: &str, subject: &str) {
    let conv = app
        .conversation(&app.admin_token, "sara@example.com", subject, json!({}))
        .await;
    let matches = |b: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(b)
            .is_ok_and(|p| p["conversation_id"] == conv["id"])
    };
    wait_until("the delivery", || {
        seen.lock().unwrap().iter().any(|(_, b)| matches(b))
    })
    .await;
    let (headers, body) = seen
        .lock()
        .unwrap()
        .iter()
        .find(|(_, b)| matches(b))
        .cloned()
        .unwrap();
    let ts: i64 = headers["x-switchboard-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        headers["x-switchboard-signature"].to_str().unwrap(),
        switchboard::webhooks::signature(secret, ts, &body)
    );
}

async fn stored_secrets_are_encrypted_and_shared_by_nodes_with_the_same_key(b: Backend) {
    let key = new_key();
    let a = spawn_app_with(b, with_key(&key)).await;
    let (secret, seen) = hook(&a).await;
    mailbox(
        &a,
        json!({"imap_host": "127.0.0.1", "imap_user": "u", "imap_password": "imap-clear-pw",
               "smtp_host": "127.0.0.1", "smtp_password": "smtp-clear-pw"}),
    )
    .await;
    let identity = "identity-clear-0123456789";
    let site_key = site(&a, json!({"identity_secret": identity})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (_v, welcome) = Visitor::join(&a, &site_key, None, None).await;
    let token = welcome["visitor_token"].as_str().unwrap().to_string();
    let sites = stored(&a, "SELECT identity_secret FROM chat_sites").await;
    assert_eq!(sites.len(), 1);
    assert!(SecretBox::is_sealed(&sites[0]) && !sites[0].contains(identity));
    assert_eq!(a.state.secrets.open(&sites[0]).unwrap(), identity);

    // The rows hold no secret in clear.
    let chat_key = chat_key_row(&a).await;
    assert!(SecretBox::is_sealed(&chat_key), "{chat_key}");
    let plain_key = a.state.secrets.open(&chat_key).unwrap();
    assert!(!chat_key.contains(&plain_key));
    let hooks = stored(&a, "SELECT secret FROM webhooks").await;
    assert_eq!(hooks.len(), 1);
    assert!(SecretBox::is_sealed(&hooks[0]) && !hooks[0].contains(&secret));
    let passwords = mailbox_passwords(&a).await;
    assert_eq!(passwords.len(), 2);
    for p in &passwords {
        assert!(SecretBox::is_sealed(p) && !p.contains("clear-pw"), "{p}");
    }

    // A second node with the same key (and a data directory of its own) reads them all.
    let b2 = other_node(&a, &key).await;
    let (_v2, again) = Visitor::join(&b2, &site_key, Some(&token), None).await;
    assert_eq!(
        visitor_of(&again),
        visitor_of(&welcome),
        "node b accepts node a's visitor token"
    );
    let renewed = again["visitor_token"].as_str().unwrap().to_string();
    let (_v3, back) = Visitor::join(&a, &site_key, Some(&renewed), None).await;
    assert_eq!(
        visitor_of(&back),
        visitor_of(&welcome),
        "and node a node b's"
    );
    assert_eq!(chat_key_row(&b2).await, chat_key, "one signing key, kept");
    // Only node b delivers now: its signature uses the secret node a created.
    a.stop.cancel();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    delivery_is_signed_with(&b2, &seen, &secret, "signed by node b").await;
}

async fn a_node_with_another_key_refuses_to_start(b: Backend) {
    let a = spawn_app_with(b, with_key(&new_key())).await;
    hook(&a).await;
    let chat_key = chat_key_row(&a).await;
    for tweak in [Some(new_key()), None] {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = test_settings(&a.database_url, dir.path());
        if let Some(k) = tweak {
            settings.security.secret_key = k.into();
        }
        let err = match switchboard::Application::build(settings).await {
            Ok(_) => panic!("a node with another key started"),
            Err(e) => format!("{e:#}"),
        };
        assert!(
            err.contains("the chat signing key") && err.contains("security.secret_key"),
            "{err}"
        );
    }
    assert_eq!(
        chat_key_row(&a).await,
        chat_key,
        "the signing key was not replaced"
    );
}

async fn secrets_stored_in_clear_by_earlier_versions_are_sealed_and_keep_working(b: Backend) {
    let key = new_key();
    let a = spawn_app_with(b, with_key(&key)).await;
    let (secret, seen) = hook(&a).await;
    mailbox(
        &a,
        json!({"imap_host": "127.0.0.1", "imap_user": "u", "imap_password": "x",
               "smtp_host": "127.0.0.1", "smtp_password": "y"}),
    )
    .await;
    let site_key = site(&a, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (_v, welcome) = Visitor::join(&a, &site_key, None, None).await;
    let token = welcome["visitor_token"].as_str().unwrap().to_string();
    let plain_chat_key = a.state.secrets.open(&chat_key_row(&a).await).unwrap();
    a.stop.cancel();

    // What an earlier version stored: everything in clear.
    let write_clear = |app: &TestApp| {
        let pool = app.state.store.pool().clone();
        let (chat, secret) = (plain_chat_key.clone(), secret.clone());
        async move {
            for (sql, value) in [
                (
                    "UPDATE server_secrets SET value = $1 WHERE name = 'chat_signing_key'",
                    chat,
                ),
                ("UPDATE webhooks SET secret = $1", secret),
                (
                    "UPDATE email_mailboxes SET imap_password = $1",
                    "legacy-imap".into(),
                ),
                (
                    "UPDATE email_mailboxes SET smtp_password = $1",
                    "legacy-smtp".into(),
                ),
            ] {
                sqlx::query(sql).bind(value).execute(&pool).await.unwrap();
            }
        }
    };
    write_clear(&a).await;

    let c = other_node(&a, &key).await;
    let chat_key = chat_key_row(&c).await;
    assert!(SecretBox::is_sealed(&chat_key));
    assert_eq!(c.state.secrets.open(&chat_key).unwrap(), plain_chat_key);
    let hooks = stored(&c, "SELECT secret FROM webhooks").await;
    assert!(SecretBox::is_sealed(&hooks[0]));
    assert_eq!(c.state.secrets.open(&hooks[0]).unwrap(), secret);
    let passwords = mailbox_passwords(&c).await;
    assert!(passwords.iter().all(|p| SecretBox::is_sealed(p)));
    let opened: Vec<String> = passwords
        .iter()
        .map(|p| c.state.secrets.open(p).unwrap())
        .collect();
    assert_eq!(opened, ["legacy-imap", "legacy-smtp"]);
    // Visitors keep their tokens and receivers their secret.
    let (_v, again) = Visitor::join(&c, &site_key, Some(&token), None).await;
    assert_eq!(visitor_of(&again), visitor_of(&welcome));
    delivery_is_signed_with(&c, &seen, &secret, "after the upgrade").await;

    // Several nodes sealing at once agree; a second pass has nothing left to seal.
    write_clear(&c).await;
    let (s1, s2) = tokio::join!(
        switchboard::secrets::stored::seal_stored(&c.state.store, &c.state.secrets),
        switchboard::secrets::stored::seal_stored(&c.state.store, &c.state.secrets),
    );
    let (s1, s2) = (s1.unwrap(), s2.unwrap());
    assert!(s1.sealed + s2.sealed >= 4, "{s1:?} {s2:?}");
    let again = switchboard::secrets::stored::seal_stored(&c.state.store, &c.state.secrets)
        .await
        .unwrap();
    assert_eq!((again.sealed, again.checked), (0, 4));
    assert_eq!(
        c.state.secrets.open(&chat_key_row(&c).await).unwrap(),
        plain_chat_key
    );
}

crate::storage_tests!(
    stored_secrets_are_encrypted_and_shared_by_nodes_with_the_same_key,
    a_node_with_another_key_refuses_to_start,
    secrets_stored_in_clear_by_earlier_versions_are_sealed_and_keep_working,
);
