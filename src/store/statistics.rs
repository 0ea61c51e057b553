//! Planner statistics (and vacuuming) on a PostgreSQL whose autovacuum is off.
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
//! So when the server finds autovacuum off it warns once and does autovacuum's work on its
//! own tables, by autovacuum's own thresholds (the server's settings): `ANALYZE` a table when
//! more rows changed since its last analysis than `autovacuum_analyze_threshold +
//! autovacuum_analyze_scale_factor × rows` (50 + 10 % by default), `VACUUM (ANALYZE)` when its
//! dead rows or rows inserted since its last vacuum pass theirs. `ANALYZE` also makes
//! PostgreSQL plan the cached statements that read the table again. Nodes sharing the
//! database take turns by a lease. SQLite plans without statistics (see
//! [`super::dialect::index_hint`]): nothing to do there.

use super::{lease, Backend, Store, StoreError, StoreResult};
use sqlx::Executor;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Past autovacuum's threshold for analysing: more changes since the last analysis than
/// `autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × rows`.
const ANALYSE_DUE: &str = "s.n_mod_since_analyze > \
    current_setting('autovacuum_analyze_threshold')::float8 \
    + current_setting('autovacuum_analyze_scale_factor')::float8 * GREATEST(c.reltuples, 0)";

/// Past autovacuum's thresholds for vacuuming: dead rows, or rows inserted since the last
/// vacuum (which leaves their pages unmarked in the visibility map, so an index-only scan
/// still reads every row from the table: the value refit's read of every order, 1.76 →
/// 1.0–1.1 s at 600,000 orders after one `VACUUM`, BENCHMARKS.md session 21).
const VACUUM_DUE: &str = "(s.n_dead_tup > \
    current_setting('autovacuum_vacuum_threshold')::float8 \
    + current_setting('autovacuum_vacuum_scale_factor')::float8 * GREATEST(c.reltuples, 0) \
  OR (current_setting('autovacuum_vacuum_insert_threshold')::float8 >= 0 \
    AND s.n_ins_since_vacuum > \
    current_setting('autovacuum_vacuum_insert_threshold')::float8 \
    + current_setting('autovacuum_vacuum_insert_scale_factor')::float8 \
      * GREATEST(c.reltuples, 0)))";

/// What autovacuum would do now to this database's tables, most changed first, as the
/// statements that do it: `VACUUM (ANALYZE) t` where vacuuming is due, else `ANALYZE t`
/// where analysing is (none on SQLite).
pub async fn due(store: &Store) -> StoreResult<Vec<String>> {
    if store.backend() != Backend::Postgres {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT CASE WHEN {VACUUM_DUE} THEN 'VACUUM (ANALYZE) ' ELSE 'ANALYZE ' END \
           || format('%I.%I', s.schemaname, s.relname) \
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
         WHERE {ANALYSE_DUE} OR {VACUUM_DUE} \
         ORDER BY s.n_mod_since_analyze DESC"
    );
    let rows: Vec<(String,)> = sqlx::query_as(&sql)
        .fetch_all(store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Run every statement [`due`] now (outside a transaction, as `VACUUM` must); returns them.
pub async fn run_due(store: &Store) -> StoreResult<Vec<String>> {
    let statements = due(store).await?;
    for sql in &statements {
        store
            .pool()
            .execute(sql.as_str())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(statements)
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

/// Lease of the node doing this for all (see [`lease`]).
const LEASE: &str = "statistics";

/// On a PostgreSQL without autovacuum: warn, then every `every` vacuum or analyse what is due
/// (on one node at a time). Returns at once otherwise; ends when `stop` is cancelled.
pub async fn keep(store: Store, every: Duration, stop: CancellationToken) {
    match autovacuum_on(&store).await {
        Ok(true) => return,
        Ok(false) => tracing::warn!(
            "PostgreSQL's autovacuum is off: the server vacuums and analyses its own tables \
             as autovacuum would; turn autovacuum on"
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
            Ok(true) => match run_due(&store).await {
                Ok(t) if !t.is_empty() => tracing::debug!(statements = ?t, "vacuumed or analysed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "vacuuming or analysing tables failed"),
            },
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "taking the statistics lease failed"),
        }
    }
}
