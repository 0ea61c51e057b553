//! Customers found by identity ahead of the transaction that uses them: an orders import
//! reads the next batch's customers on another connection while the previous batch is being
//! written (on SQLite the lookups then run beside the one writer instead of inside it).
//!
//! Such owners may be overtaken: an identity can leave its customer (a merge moves it, a
//! person removes it) after it was read. Every such change moves the identity epoch
//! (`identity_epoch`, by the database's own triggers on `identities`, migration 0037), and
//! owners read ahead are used only if the epoch inside the writing transaction is still the
//! one read with them.

use super::identities_of;
use crate::store::{Store, StoreError, StoreResult, Tx};
use sqlx::AnyConnection;
use std::collections::{BTreeSet, HashMap};

/// Most values looked up per statement (as [`super::find_or_create_many`]).
const CHUNK: usize = 1000;

/// The owners of some identities as committed at one moment, and the epoch of that moment.
pub struct Owners {
    epoch: i64,
    /// Customer id by (kind, normalised value); identities not stored are absent.
    pub found: HashMap<(String, String), String>,
}

impl Owners {
    /// The owners of `wanted` ((kind, normalised value) pairs), read in one snapshot outside
    /// any write transaction (the epoch first).
    pub async fn read(store: &Store, wanted: &[(&str, &str)]) -> StoreResult<Owners> {
        let mut by_kind: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        for (kind, value) in wanted {
            by_kind.entry(kind).or_default().insert(value);
        }
        let mut tx = store.begin_read().await?;
        let epoch = epoch(tx.conn()).await?;
        let mut found = HashMap::with_capacity(wanted.len());
        for (kind, values) in by_kind {
            let values: Vec<&str> = values.into_iter().collect();
            for chunk in values.chunks(CHUNK) {
                for (value, customer) in identities_of(&mut tx, kind, chunk).await? {
                    found.insert((kind.to_string(), value), customer);
                }
            }
        }
        tx.rollback().await;
        Ok(Owners { epoch, found })
    }

    /// Whether these owners still hold inside `tx`: no identity has left its customer since
    /// they were read. (Holds for the rest of `tx` on a store with one writer at a time.)
    pub async fn current(&self, tx: &mut Tx) -> StoreResult<bool> {
        Ok(epoch(tx.conn()).await? == self.epoch)
    }
}

async fn epoch(conn: &mut AnyConnection) -> StoreResult<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT n FROM identity_epoch WHERE id = 1")
        .fetch_one(conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(n)
}
