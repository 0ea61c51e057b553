//! The deployment's event log (`event_log`): every recorded event of a committed change, with
//! a `seq` that increases in commit order, so readers that remember the last `seq` they saw
//! never miss an event that commits later (see `crate::event_log` for its readers).
//!
//! The rows are written by [`super::Tx::commit`], just before `COMMIT`:
//!
//! - SQLite has one writer at a time, so the `AUTOINCREMENT` key is handed out in commit
//!   order (and never reused, even after the oldest rows are pruned).
//! - On PostgreSQL an identity value is taken when the row is inserted, not when its
//!   transaction commits: two writers could commit seq 8 after seq 9, and a reader that saw 9
//!   would skip 8 for good. So the insert first takes a transaction-scoped advisory lock
//!   ([`LOCK_KEY`]), held until `COMMIT` has finished: while a transaction holds a seq it has
//!   not committed no other one can take a seq, and the lock is released only after the
//!   commit is visible. Only the insert and the commit run under the lock (everything else a
//!   transaction does runs in parallel as before); a rolled-back insert leaves a gap that is
//!   never filled.

use super::bulk::{statements, V};
use super::{StoreError, StoreResult, Tx};
use crate::bus::Event;
use sqlx::{AnyPool, Row};

/// The advisory lock serialising the numbering of PostgreSQL's event log (any constant
/// unique to this use: "sbevlog" in ASCII).
const LOCK_KEY: i64 = 0x0073_6265_766c_6f67;

const INSERT: &str = "INSERT INTO event_log (id, kind, conversation_id, customer_id, agent_id, \
    data, at, logged_at)";

const COLS: &str = "seq, id, kind, conversation_id, customer_id, agent_id, data, at";

/// Write `events` and put each one's `seq` in its slot.
pub(super) async fn append(tx: &mut Tx, events: &[Event]) -> StoreResult<()> {
    if !tx.is_sqlite() {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOCK_KEY)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    let now = super::now_ms();
    let rows = events.iter().map(|ev| {
        vec![
            V::S(ev.id.clone()),
            V::S(ev.kind.clone()),
            V::N(ev.conversation_id.clone()),
            V::N(ev.customer_id.clone()),
            V::N(ev.agent_id.clone()),
            V::S(ev.data.to_string()),
            V::S(ev.at.clone()),
            V::I(now),
        ]
    });
    let mut seqs = std::collections::HashMap::new();
    for (sql, values) in statements(tx, INSERT, rows.collect(), "", "RETURNING seq, id") {
        let mut q = sqlx::query(&sql).persistent(false);
        for v in values {
            q = v.bind(q);
        }
        for row in q
            .fetch_all(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?
        {
            let seq: i64 = row.try_get(0).map_err(StoreError::from_sqlx)?;
            let id: String = row.try_get(1).map_err(StoreError::from_sqlx)?;
            seqs.insert(id, seq);
        }
    }
    for ev in events {
        if let Some(seq) = seqs.get(&ev.id) {
            ev.slot.set(*seq);
        }
    }
    Ok(())
}

/// The highest `seq` written so far (0 when the log is empty).
pub async fn head(pool: &AnyPool) -> StoreResult<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM event_log")
        .fetch_one(pool)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(n)
}

/// The lowest `seq` still kept (`None` when the log is empty).
pub async fn first(pool: &AnyPool) -> StoreResult<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT seq FROM event_log ORDER BY seq LIMIT 1")
        .fetch_optional(pool)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(row.map(|r| r.0))
}

/// Up to `limit` `seq`s after `after`, in order (read from the key alone).
pub async fn seqs_after(pool: &AnyPool, after: i64, limit: i64) -> StoreResult<Vec<i64>> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT seq FROM event_log WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Up to `limit` events after `after`, in `seq` order.
pub async fn after(pool: &AnyPool, after: i64, limit: i64) -> StoreResult<Vec<Event>> {
    let sql = format!("SELECT {COLS} FROM event_log WHERE seq > $1 ORDER BY seq LIMIT $2");
    let rows: Vec<LogRow> = sqlx::query_as(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(rows.into_iter().map(LogRow::into_event).collect())
}

/// The events with these `seq`s, in `seq` order.
pub async fn by_seq(pool: &AnyPool, seqs: &[i64]) -> StoreResult<Vec<Event>> {
    let mut out = Vec::new();
    for chunk in seqs.chunks(200) {
        let marks: Vec<String> = (1..=chunk.len()).map(|k| format!("${k}")).collect();
        let sql = format!(
            "SELECT {COLS} FROM event_log WHERE seq IN ({}) ORDER BY seq",
            marks.join(", ")
        );
        let mut q = sqlx::query_as::<_, LogRow>(&sql).persistent(false);
        for s in chunk {
            q = q.bind(*s);
        }
        let rows = q.fetch_all(pool).await.map_err(StoreError::from_sqlx)?;
        out.extend(rows.into_iter().map(LogRow::into_event));
    }
    Ok(out)
}

/// Delete the events logged before `before` (Unix ms), oldest first, in chunks so no
/// statement holds the log for long. Returns how many were deleted.
pub async fn prune(pool: &AnyPool, before: i64) -> StoreResult<u64> {
    let mut total = 0;
    loop {
        let done = sqlx::query(
            "DELETE FROM event_log WHERE logged_at < $1 AND seq IN \
               (SELECT seq FROM event_log ORDER BY seq LIMIT 5000)",
        )
        .bind(before)
        .execute(pool)
        .await
        .map_err(StoreError::from_sqlx)?
        .rows_affected();
        total += done;
        if done == 0 {
            return Ok(total);
        }
    }
}

#[derive(sqlx::FromRow)]
struct LogRow {
    seq: i64,
    id: String,
    kind: String,
    conversation_id: Option<String>,
    customer_id: Option<String>,
    agent_id: Option<String>,
    data: String,
    at: String,
}

impl LogRow {
    fn into_event(self) -> Event {
        let mut ev = crate::events::new_event(&self.kind, Default::default());
        ev.id = self.id;
        ev.at = self.at;
        ev.conversation_id = self.conversation_id;
        ev.customer_id = self.customer_id;
        ev.agent_id = self.agent_id;
        ev.data = serde_json::from_str(&self.data).unwrap_or_default();
        ev.seq = Some(self.seq);
        ev
    }
}
