//! Planner statistics on a PostgreSQL whose autovacuum is off.
//!
//! PostgreSQL plans from statistics that only `ANALYZE` gathers, and autovacuum is what runs
//! it. With autovacuum off nothing ever does: a table keeps the size it had when its plans
//! were first made, and plans cached on a pooled connection stay as they were. Measured on
//! such a server (BENCHMARKS.md, session 21): the foreign-key check of every new message
//! (`SELECT 1 FROM conversations WHERE id = $1`, planned by PostgreSQL once per connection
//! while the table was a few pages) scanned every conversation, and the `Message-ID` lookup
//! of pushed mail filtered every email message; both grow with the tables, so mail pushed
//! over HTTP got slower the more was stored.
//!
//! So when the server finds autovacuum off it warns once and analyses its own tables as
//! autovacuum would: a table is due when more rows changed since its last analysis than
//! `autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × rows` (the server's own
//! settings, 50 + 10 % by default). `ANALYZE` also makes PostgreSQL plan the cached
//! statements that read the table again. Nodes sharing the database take turns by a lease.
//! Dead rows are not vacuumed: that stays the operator's autovacuum's (or their own) job.
//! SQLite plans without statistics (see [`super::dialect::index_hint`]): nothing to do there.

use super::{lease, Backend, Store, StoreError, StoreResult};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The tables of this database whose changes since their last analysis exceed what makes
/// autovacuum analyse a table, most changed first (none on SQLite).
pub async fn due(store: &Store) -> StoreResult<Vec<String>> {
    if store.backend() != Backend::Postgres {
        return Ok(Vec::new());
    }
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT format('%I.%I', s.schemaname, s.relname) FROM pg_stat_user_tables s \
         JOIN pg_class c ON c.oid = s.relid \
         WHERE s.n_mod_since_analyze > \
           current_setting('autovacuum_analyze_threshold')::float8 \
           + current_setting('autovacuum_analyze_scale_factor')::float8 \
             * GREATEST(c.reltuples, 0) \
         ORDER BY s.n_mod_since_analyze DESC",
    )
    .fetch_all(store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Analyse every table [`due`] now; returns the tables analysed.
pub async fn analyse_due(store: &Store) -> StoreResult<Vec<String>> {
    let tables = due(store).await?;
    for t in &tables {
        sqlx::query(&format!("ANALYZE {t}"))
            .execute(store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(tables)
}

/// Whether PostgreSQL's autovacuum runs (always true on SQLite, which needs none).
pub async fn autovacuum_on(store: &Store) -> StoreResult<bool> {
    if store.backend() != Backend::Postgres {
        return Ok(true);
    }
    let on: String = sqlx::query_scalar("SHOW autovacuum")
        .fetch_one(store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(on == "on")
}

/// Lease of the node analysing for all (see [`lease`]).
const LEASE: &str = "statistics";

/// On a PostgreSQL without autovacuum: warn, then every `every` analyse the tables due
/// (on one node at a time). Returns at once otherwise; ends when `stop` is cancelled.
pub async fn keep(store: Store, every: Duration, stop: CancellationToken) {
    match autovacuum_on(&store).await {
        Ok(true) => return,
        Ok(false) => tracing::warn!(
            "PostgreSQL's autovacuum is off: the server analyses its own tables as autovacuum \
             would, but dead rows are not vacuumed; turn autovacuum on"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "reading PostgreSQL's autovacuum setting failed");
            return;
        }
    }
    let holder = super::new_id();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let now = super::now_ms();
        let until = now + 3 * every.as_millis() as i64;
        match lease::take(&store, LEASE, &holder, now, until).await {
            Ok(true) => match analyse_due(&store).await {
                Ok(t) if !t.is_empty() => tracing::debug!(tables = ?t, "analysed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "analysing tables failed"),
            },
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "taking the statistics lease failed"),
        }
    }
}
