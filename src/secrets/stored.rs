//! The secret columns of the database: sealing what earlier versions stored in clear, and
//! checking at start-up that this node's key opens what is stored.

use super::SecretBox;
use crate::store::{Store, StoreError};
use anyhow::Context;

/// A column holding secrets: its table, the row key column, the value column, and an optional
/// filter on the key (the `server_secrets` rows that are this module's).
struct Column {
    table: &'static str,
    key: &'static str,
    value: &'static str,
    only: Option<&'static str>,
    what: &'static str,
}

/// Name of the row in `server_secrets` holding the chat signing key.
pub const CHAT_SIGNING_KEY: &str = "chat_signing_key";

const COLUMNS: &[Column] = &[
    Column {
        table: "server_secrets",
        key: "name",
        value: "value",
        only: Some(CHAT_SIGNING_KEY),
        what: "the chat signing key",
    },
    Column {
        table: "webhooks",
        key: "id",
        value: "secret",
        only: None,
        what: "the secret of a webhook",
    },
    Column {
        table: "chat_sites",
        key: "id",
        value: "identity_secret",
        only: None,
        what: "the identity-verification secret of a chat site",
    },
    Column {
        table: "email_mailboxes",
        key: "id",
        value: "imap_password",
        only: None,
        what: "the IMAP password of a mailbox",
    },
    Column {
        table: "email_mailboxes",
        key: "id",
        value: "smtp_password",
        only: None,
        what: "the SMTP password of a mailbox",
    },
];

/// What [`seal_stored`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sealed {
    /// Values found in clear and sealed now.
    pub sealed: usize,
    /// Values already sealed, checked to open with this key.
    pub checked: usize,
}

/// Seal every secret stored in clear (by an earlier version) in place, and check that every
/// sealed one opens with this node's key. Safe with several nodes starting at once: a value is
/// replaced only if it is still the clear one read. A value this key cannot open fails the
/// start with a message saying which key to give the node — a new chat signing key is never
/// made instead (that would log out every visitor).
pub async fn seal_stored(store: &Store, secrets: &SecretBox) -> anyhow::Result<Sealed> {
    let mut done = Sealed::default();
    for c in COLUMNS {
        let filter = c
            .only
            .map_or(String::new(), |_| format!(" AND {} = $1", c.key));
        let sql = format!(
            "SELECT {key}, {value} FROM {table} WHERE {value} IS NOT NULL{filter}",
            key = c.key,
            value = c.value,
            table = c.table,
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        if let Some(only) = c.only {
            q = q.bind(only);
        }
        let rows = q
            .fetch_all(store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        for (id, value) in rows {
            if SecretBox::is_sealed(&value) {
                secrets.open(&value).with_context(|| {
                    format!("{} ({}.{} = {id}) cannot be read", c.what, c.table, c.key)
                })?;
                done.checked += 1;
                continue;
            }
            let update = format!(
                "UPDATE {table} SET {value} = $1 WHERE {key} = $2 AND {value} = $3",
                key = c.key,
                value = c.value,
                table = c.table,
            );
            sqlx::query(&update)
                .bind(secrets.seal(&value)?)
                .bind(&id)
                .bind(&value)
                .execute(store.pool())
                .await
                .map_err(StoreError::from_sqlx)?;
            done.sealed += 1;
        }
    }
    if done.sealed > 0 {
        tracing::info!(
            sealed = done.sealed,
            "secrets stored in clear by an earlier version are now encrypted"
        );
    }
    Ok(done)
}
