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
//!   ([`LOCK_KEY`]; in the same statement, before any row is numbered), held until `COMMIT`
//!   has finished: while a transaction holds a seq it has
//!   not committed no other one can take a seq, and the lock is released only after the
//!   commit is visible. Only the insert and the commit run under the lock (everything else a
//!   transaction does runs in parallel as before); a rolled-back insert leaves a gap that is
//!   never filled.

use super::bulk::{self, statements, V};
use super::{StoreError, StoreResult, Tx};
use crate::bus::Event;
use sqlx::{AnyPool, Row};

/// The advisory lock serialising the numbering of PostgreSQL's event log (any constant
/// unique to this use: "sbevlog" in ASCII).
const LOCK_KEY: i64 = 0x0073_6265_766c_6f67;

const INSERT: &str = "INSERT INTO event_log (id, kind, conversation_id, customer_id, agent_id, \
    data, at, logged_at)";

const COLS: &str = "seq, id, kind, conversation_id, customer_id, agent_id, data, at";

/// An event recorded in a transaction, as the row it becomes at commit: built when it is
/// recorded (its data serialised once, no copy of the event's JSON tree kept meanwhile; a new
/// message by reference to its row, see [`super::event_data`]).
/// A batch may build its rows where its other CPU work runs ([`Tx::log_built`]).
pub struct Logged {
    id: String,
    row: Vec<V>,
    slot: crate::bus::SeqSlot,
}

impl Logged {
    pub fn of(ev: &Event) -> Self {
        let row = vec![
            V::S(ev.id.clone()),
            V::S(ev.kind.clone()),
            V::N(ev.conversation_id.clone()),
            V::N(ev.customer_id.clone()),
            V::N(ev.agent_id.clone()),
            V::S(super::event_data::logged_text(ev)),
            V::S(ev.at.clone()),
        ];
        Logged {
            id: ev.id.clone(),
            row,
            slot: ev.slot.clone(),
        }
    }
}

/// Most rows of one SQLite insert (8 values each, under the 30,000 bound values `bulk` uses).
const SQLITE_ROWS: usize = 3_750;

/// Where the `seq`s of an insert go: the recorded events' slots, in the order their rows
/// were sent.
pub struct Slots {
    slots: Vec<(String, crate::bus::SeqSlot)>,
    at: usize,
}

impl Slots {
    /// Put each returned row's `seq` in the slot of its event (PostgreSQL: `RETURNING seq,
    /// id`).
    fn assign(&mut self, rows: &[sqlx::any::AnyRow]) -> StoreResult<()> {
        for row in rows {
            let seq: i64 = row.try_get(0).map_err(StoreError::from_sqlx)?;
            let id: String = row.try_get(1).map_err(StoreError::from_sqlx)?;
            // Rows come back in the order sent; look further only if they do not.
            let k = match self.slots.get(self.at) {
                Some((first, _)) if *first == id => Some(self.at),
                _ => self.slots.iter().position(|(i, _)| *i == id),
            };
            if let Some(k) = k {
                self.slots[k].1.set(seq);
                self.at = k + 1;
            }
        }
        Ok(())
    }

    /// SQLite: the rows took consecutive `seq`s in the order sent (one writer;
    /// `AUTOINCREMENT` gives each row one more than the last), the last of which the insert's
    /// closing `SELECT last_insert_rowid()` returned — the last row of `rows` — so one value
    /// is read back instead of a row per event.
    pub fn number(&mut self, rows: &[sqlx::any::AnyRow]) -> StoreResult<()> {
        let last_row = rows.last().ok_or(StoreError::NotFound)?;
        let last: i64 = last_row.try_get(0).map_err(StoreError::from_sqlx)?;
        let first = last + 1 - self.slots.len() as i64;
        for (k, (_, slot)) in self.slots.iter().enumerate() {
            slot.set(first + k as i64);
        }
        Ok(())
    }
}

/// The rows of `events`, logged now, and their slots.
fn rows_of(events: Vec<Logged>) -> (Vec<Vec<V>>, Slots) {
    let now = super::now_ms();
    let mut slots = Vec::with_capacity(events.len());
    let mut rows = Vec::with_capacity(events.len());
    for mut ev in events {
        ev.row.push(V::I(now));
        rows.push(ev.row);
        slots.push((ev.id, ev.slot));
    }
    (rows, Slots { slots, at: 0 })
}

/// A SQLite event-log insert and its closing `SELECT last_insert_rowid()`, with its values,
/// for a caller to send as the last statements of its own write (see
/// [`Tx::take_log_insert`]); give the rows it returns to [`Slots::number`].
pub struct LogInsert {
    pub sql: String,
    pub values: Vec<V>,
    pub slots: Slots,
    /// Rows it inserts.
    pub rows: usize,
}

impl LogInsert {
    /// At most [`SQLITE_ROWS`] events.
    pub(super) fn sqlite(events: Vec<Logged>) -> Self {
        let (rows, slots) = rows_of(events);
        let n = rows.len();
        let mut sql = String::with_capacity(INSERT.len() + 40 + n * 26);
        sql.push_str(INSERT);
        sql.push_str(" VALUES ");
        for k in 0..n {
            sql.push_str(if k > 0 { ", " } else { "" });
            sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?)");
        }
        sql.push_str(";\nSELECT last_insert_rowid();");
        LogInsert {
            sql,
            values: rows.into_iter().flatten().collect(),
            slots,
            rows: n,
        }
    }

    /// Whether its statement text is worth keeping prepared (few shapes).
    pub fn cacheable(&self) -> bool {
        self.rows <= bulk::PREPARED_ROWS
    }

    /// Whether `count` events fit one SQLite insert.
    pub(super) fn fits(count: usize) -> bool {
        count <= SQLITE_ROWS
    }
}

/// Write `events` and put each one's `seq` in its slot. On PostgreSQL the advisory lock is
/// taken by the insert statement itself (one round trip, not two).
pub(super) async fn append(tx: &mut Tx, mut events: Vec<Logged>) -> StoreResult<()> {
    if tx.is_sqlite() {
        while !events.is_empty() {
            let rest = events.split_off(events.len().min(SQLITE_ROWS));
            let mut ins = LogInsert::sqlite(std::mem::replace(&mut events, rest));
            let mut q = sqlx::query(&ins.sql).persistent(ins.cacheable());
            for v in std::mem::take(&mut ins.values) {
                q = v.bind(q);
            }
            let rows = q
                .fetch_all(tx.conn())
                .await
                .map_err(StoreError::from_sqlx)?;
            ins.slots.number(&rows)?;
        }
        return Ok(());
    }
    let (rows, slots) = rows_of(events);
    append_pg(tx, rows, slots).await
}

/// PostgreSQL: insert event rows, the lock taken by the statement itself.
async fn append_pg(tx: &mut Tx, rows: Vec<Vec<V>>, mut slots: Slots) -> StoreResult<()> {
    for (sql, values) in statements(tx, INSERT, rows, "", "RETURNING seq, id") {
        // The lock before any row takes a seq: a materialised step the insert's rows join.
        let sql =
            format!("WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock({LOCK_KEY})) {sql}")
                .replacen(" FROM json_to_recordset(", " FROM l, json_to_recordset(", 1);
        let mut q = sqlx::query(&sql);
        for v in values {
            q = v.bind(q);
        }
        let rows = q
            .fetch_all(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
        slots.assign(&rows)?;
    }
    Ok(())
}

/// [`bulk::insert_together`] of `parts`; on PostgreSQL the events recorded in `tx` so far go
/// into the log with the same statement (one round trip fewer at commit), the log's lock
/// taken only once the parts are in. On SQLite the events stay for the commit (or for the
/// caller's own write, [`Tx::take_log_insert`]).
pub async fn insert_together_logged(
    tx: &mut Tx,
    parts: Vec<(&str, Vec<Vec<V>>, &str)>,
) -> StoreResult<()> {
    if tx.is_sqlite() || tx.log.is_empty() {
        return bulk::insert_together(tx, parts).await;
    }
    let (rows, mut slots) = rows_of(std::mem::take(&mut tx.log));
    let last = bulk::Last {
        head: INSERT,
        rows,
        lock: LOCK_KEY,
        tail: "RETURNING seq, id",
    };
    match bulk::insert_together_then(tx, parts, Some(last)).await? {
        Ok(returned) => slots.assign(&returned),
        Err(Some(last)) => append_pg(tx, last.rows, slots).await,
        Err(None) => Ok(()),
    }
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
    let events = rows.into_iter().map(LogRow::into_event).collect();
    super::event_data::restore(pool, events).await
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
    super::event_data::restore(pool, out).await
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
