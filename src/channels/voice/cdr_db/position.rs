//! What Switchboard keeps about a PBX source: the lease (one node reads it at a time), the
//! read position, and the calls already stored (`voice_pbx_positions`, `voice_cdr_calls`).

use crate::state::AppState;
use crate::store::bulk::fetch_in;
use crate::store::{now_ms, StoreResult};
use std::collections::HashMap;

/// Where the last pass over a CDR table stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    /// (calldate, uniqueid, sequence) of the last record read in that order; empty at first.
    pub key: (String, String, i64),
    /// The CDR database's clock when the last pass started.
    pub checked_at: Option<String>,
}

/// Take the lease on `name` for `ttl_ms` unless another node holds it; true when taken.
/// The lease lasts one pass ([`release`] ends it), or `ttl_ms` if the node dies meanwhile.
pub async fn take(state: &AppState, name: &str, ttl_ms: i64) -> StoreResult<bool> {
    let now = now_ms();
    let mut tx = state.store.begin().await?;
    sqlx::query(
        "INSERT INTO voice_pbx_positions (name, updated_at) VALUES ($1, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(now)
    .execute(tx.conn())
    .await?;
    let taken = sqlx::query(
        "UPDATE voice_pbx_positions SET holder = $1, locked_until = $2 \
         WHERE name = $3 AND (locked_until < $4 OR holder = $1)",
    )
    .bind(state.bus.node())
    .bind(now + ttl_ms)
    .bind(name)
    .bind(now)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(taken.rows_affected() == 1)
}

/// End this node's lease on `name`.
pub async fn release(state: &AppState, name: &str) -> StoreResult<()> {
    let mut tx = state.store.begin().await?;
    sqlx::query("UPDATE voice_pbx_positions SET locked_until = 0 WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(state.bus.node())
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

/// The persisted position of `name`.
pub async fn load(state: &AppState, name: &str) -> StoreResult<Position> {
    let row: Option<(String, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT calldate, uniqueid, sequence, checked_at FROM voice_pbx_positions WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(state.store.pool())
    .await?;
    Ok(row
        .map(|(c, u, s, checked_at)| Position {
            key: (c, u, s),
            checked_at,
        })
        .unwrap_or_default())
}

/// Persist the position of `name` (after what it covers was stored).
pub async fn save(state: &AppState, name: &str, pos: &Position) -> StoreResult<()> {
    let mut tx = state.store.begin().await?;
    sqlx::query(
        "UPDATE voice_pbx_positions SET calldate = $1, uniqueid = $2, sequence = $3, \
           checked_at = $4, updated_at = $5 WHERE name = $6",
    )
    .bind(&pos.key.0)
    .bind(&pos.key.1)
    .bind(pos.key.2)
    .bind(&pos.checked_at)
    .bind(now_ms())
    .bind(name)
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// A call already stored from `source`: how many records it was folded from, and its entry.
pub type Stored = (i64, Option<String>);

/// The calls among `keys` already stored from `source`.
pub async fn stored(
    state: &AppState,
    source: &str,
    keys: &[String],
) -> StoreResult<HashMap<String, Stored>> {
    let mut tx = state.store.begin().await?;
    let head = format!(
        "SELECT linkedid, row_count, message_id FROM voice_cdr_calls WHERE source = '{}' \
         AND linkedid IN",
        source.replace('\'', "")
    );
    let rows: Vec<(String, i64, Option<String>)> = fetch_in(&mut tx, &head, keys).await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(|(k, n, m)| (k, (n, m))).collect())
}

/// Remember calls of `source` as stored: (linkedid, records folded, entry).
pub async fn mark(
    state: &AppState,
    source: &str,
    calls: &[(String, i64, Option<String>)],
) -> StoreResult<()> {
    let now = now_ms();
    let mut tx = state.store.begin().await?;
    for (key, rows, message_id) in calls {
        sqlx::query(
            "INSERT INTO voice_cdr_calls (source, linkedid, row_count, message_id, stored_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source, linkedid) DO UPDATE \
             SET row_count = $3, message_id = COALESCE($4, voice_cdr_calls.message_id), \
               stored_at = $5",
        )
        .bind(source)
        .bind(key)
        .bind(rows)
        .bind(message_id)
        .bind(now)
        .execute(tx.conn())
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
