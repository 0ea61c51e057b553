//! Named leases in `routing_leases` (the router, the value refit): one holder at a time across
//! the nodes sharing a database, lost when not renewed before it expires.

use super::{Store, StoreError, StoreResult};

/// Take or renew lease `name` for `holder` until `until` (ms), when it is free, expired or
/// already `holder`'s; true when `holder` holds it afterwards.
pub async fn take(
    store: &Store,
    name: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> StoreResult<bool> {
    let mut tx = store.begin().await?;
    let created = sqlx::query(
        "INSERT INTO routing_leases (name, holder, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(holder)
    .bind(until)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let renewed = sqlx::query(
        "UPDATE routing_leases SET holder = $1, expires_at = $2 \
         WHERE name = $3 AND (holder = $1 OR expires_at < $4)",
    )
    .bind(holder)
    .bind(until)
    .bind(name)
    .bind(now)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    tx.commit().await?;
    Ok(created.rows_affected() + renewed.rows_affected() > 0)
}
