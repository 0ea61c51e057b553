//! Writing conversations in bulk, inside the caller's transaction: numbers for many new
//! conversations at once, sequence numbers reserved on many open ones with one statement,
//! and the conversation, message and history rows as multi-row inserts of a [`Shape`].

use super::sql::{self, Shape};
use crate::bus::Event;
use crate::events;
use crate::store::bulk::{insert_rows, max_numbered_params, V};
use crate::store::event_log::Logged;
use crate::store::{dialect, now_ms, StoreError, StoreResult, Tx};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// Insert `rows` of `shape`.
pub async fn insert(tx: &mut Tx, shape: Shape, rows: Vec<Vec<V>>) -> StoreResult<()> {
    insert_rows(tx, shape.head, rows, shape.extra, "").await
}

/// Most values [`insert_written`] sends in one SQLite statement (SQLite takes 32,766).
const SQLITE_VALUES: usize = 32_000;

/// Insert `parts` — rows of [`sql`] shapes, e.g. a batch's conversations, messages and
/// history, in that order — together with the events recorded in `tx` so far, in one round
/// trip where the store allows: on SQLite one multi-statement write ending with the event
/// log's insert, on PostgreSQL one statement
/// ([`crate::store::event_log::insert_together_logged`]). More values than one SQLite
/// statement takes: one insert per part, the events at commit.
///
/// `last`: whether the caller writes nothing more before committing. When it does (e.g. rows
/// referring to these), PostgreSQL leaves the events for the commit's own insert: the event
/// log's lock is taken there, not held through the caller's further statements.
pub async fn insert_written(
    tx: &mut Tx,
    parts: Vec<(Shape, Vec<Vec<V>>)>,
    last: bool,
) -> StoreResult<()> {
    if !tx.is_sqlite() {
        let parts = parts
            .into_iter()
            .map(|(s, r)| (s.head, r, s.extra))
            .collect();
        if !last {
            return crate::store::bulk::insert_together(tx, parts).await;
        }
        return crate::store::event_log::insert_together_logged(tx, parts).await;
    }
    let values: usize = parts.iter().flat_map(|(_, r)| r).map(Vec::len).sum();
    if values > SQLITE_VALUES {
        for (shape, rows) in parts {
            insert(tx, shape, rows).await?;
        }
        return Ok(());
    }
    let (mut text, mut args) = (String::new(), Vec::new());
    for (shape, rows) in parts {
        super::chat_lite::insert(&mut text, &mut args, shape, rows);
    }
    let mut log = tx.take_log_insert();
    if let Some(l) = log
        .as_mut()
        .filter(|l| l.values.len() + args.len() <= SQLITE_VALUES)
    {
        text.push_str(&l.sql);
        args.append(&mut l.values);
    }
    let rows = run_text(tx, &text, args).await?;
    if let Some(mut l) = log {
        // Too many events to share the statement: their insert on its own.
        if !l.values.is_empty() {
            let rows = run_text(tx, &l.sql, std::mem::take(&mut l.values)).await?;
            return l.slots.number(&rows);
        }
        l.slots.number(&rows)?;
    }
    Ok(())
}

/// Run the (multi-statement) `text` with `args`; the rows it returned.
async fn run_text(tx: &mut Tx, text: &str, args: Vec<V>) -> StoreResult<Vec<sqlx::any::AnyRow>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = sqlx::query(text).persistent(false);
    for v in args {
        q = v.bind(q);
    }
    Ok(super::chat_lite::run(tx, q).await?.1)
}

/// Insert a chat batch's visitor messages and their history rows ([`sql::CHAT_MESSAGES`],
/// [`sql::CHAT_HISTORY`]) with one statement where the store can.
pub async fn insert_chat(
    tx: &mut Tx,
    messages: Vec<Vec<V>>,
    history: Vec<Vec<V>>,
) -> StoreResult<()> {
    let (m, h) = (sql::CHAT_MESSAGES, sql::CHAT_HISTORY);
    // With the events recorded so far (on PostgreSQL in the same statement).
    crate::store::event_log::insert_together_logged(
        tx,
        vec![(m.head, messages, m.extra), (h.head, history, h.extra)],
    )
    .await
}

/// `count` new conversation numbers (see [`dialect::next_conversation_numbers`]): insert the
/// conversations before asking again.
pub async fn next_numbers(tx: &mut Tx, count: usize) -> StoreResult<Vec<i64>> {
    let backend = tx.backend();
    dialect::next_conversation_numbers(backend, tx, count).await
}

/// Log a batch's `events` (written in the event log at commit) and queue their webhook
/// deliveries (none to write while no webhook is active).
pub async fn deliver<'a>(
    tx: &mut Tx,
    events: impl Iterator<Item = &'a Event> + Clone,
) -> StoreResult<()> {
    for ev in events.clone() {
        tx.log_event(ev);
    }
    queue_webhooks(tx, events).await
}

/// [`deliver`] of `events` whose log rows were built already (`rows`: [`Logged::of`] of each,
/// in order), e.g. on the thread that built the events.
pub async fn deliver_built(tx: &mut Tx, events: &[Event], rows: Vec<Logged>) -> StoreResult<()> {
    tx.log_built(rows);
    queue_webhooks(tx, events.iter()).await
}

async fn queue_webhooks<'a>(
    tx: &mut Tx,
    events: impl Iterator<Item = &'a Event> + Clone,
) -> StoreResult<()> {
    if events.clone().next().is_some() && tx.webhooks_active().await? {
        for ev in events {
            events::deliver_webhooks(tx, ev).await?;
        }
    }
    Ok(())
}

/// Reserve sequence numbers on existing conversations (`id → (messages, last message time,
/// _)`), which also serialises concurrent appends on PostgreSQL; returns per conversation the
/// last sequence number before the batch and the assignee. Fails with `NotFound` unless every
/// conversation was found.
pub async fn reserve_seqs(
    tx: &mut Tx,
    existing: &BTreeMap<String, (i64, i64, i64)>,
) -> StoreResult<HashMap<String, (i64, Option<String>)>> {
    let mut base = HashMap::new();
    let all: Vec<_> = existing.iter().collect();
    // SQLite has one writer at a time: no lock order to keep, so one joined UPDATE per batch
    // with anonymous parameters (a CASE over many ids compares each row with every id).
    // PostgreSQL keeps `WHERE id IN (…)`, which locks rows in id order.
    let sqlite = tx.is_sqlite();
    let per = if sqlite {
        10_000
    } else {
        (max_numbered_params(tx) / 3).max(1)
    };
    for chunk in all.chunks(per) {
        let sql = if sqlite {
            let rows = vec!["(?, ?, ?)"; chunk.len()].join(", ");
            format!(
                "UPDATE conversations SET last_seq = last_seq + v.n, updated_at = ?, \
                   last_message_at = v.at \
                 FROM (SELECT column1 AS id, column2 AS n, column3 AS at FROM (VALUES {rows})) AS v \
                 WHERE conversations.id = v.id \
                 RETURNING conversations.id, conversations.last_seq, conversations.assignee_id"
            )
        } else {
            let (mut seqs, mut ats, mut ids) = (String::new(), String::new(), String::new());
            for k in 0..chunk.len() {
                let p = k * 3 + 2;
                let _ = write!(seqs, " WHEN ${p} THEN ${}", p + 1);
                let _ = write!(ats, " WHEN ${p} THEN ${}", p + 2);
                let _ = write!(ids, "{}${p}", if k > 0 { ", " } else { "" });
            }
            format!(
                "UPDATE conversations SET last_seq = last_seq + CASE id{seqs} END, updated_at = $1, \
                   last_message_at = CASE id{ats} END WHERE id IN ({ids}) \
                 RETURNING id, last_seq, assignee_id"
            )
        };
        // Both bind `now`, then (id, count, last time) per conversation, in order.
        let mut q = sqlx::query_as::<_, (String, i64, Option<String>)>(&sql)
            .persistent(false)
            .bind(now_ms());
        for (id, (count, last_at, _)) in chunk {
            q = q.bind(*id).bind(*count).bind(*last_at);
        }
        let rows = q
            .fetch_all(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
        for (id, seq, assignee) in rows {
            let count = existing[&id].0;
            base.insert(id, (seq - count, assignee));
        }
    }
    if base.len() != existing.len() {
        return Err(StoreError::NotFound);
    }
    Ok(base)
}

/// Add `count` to `last_seq` of each open conversation, locking their rows (on stores with
/// parallel writers; [`super::group_lite`] reserves inside its one write instead); returns
/// per conversation the new `last_seq`, the customer and the assignee. Resolved or closed
/// ones are left out.
pub async fn reserve_open(
    tx: &mut Tx,
    now: i64,
    open: &[(&str, i64)],
) -> StoreResult<HashMap<String, (i64, String, Option<String>)>> {
    let mut out = HashMap::new();
    let per = ((max_numbered_params(tx) - 1) / 2).max(1);
    for chunk in open.chunks(per) {
        let (mut case, mut ids) = (String::new(), String::new());
        for k in 0..chunk.len() {
            let p = 2 + 2 * k;
            let _ = write!(case, " WHEN ${p} THEN ${}", p + 1);
            let _ = write!(ids, "{}${p}", if k > 0 { ", " } else { "" });
        }
        let sql = format!(
            "UPDATE conversations SET last_seq = last_seq + CASE id{case} END, updated_at = $1, \
               last_message_at = $1 \
             WHERE id IN ({ids}) AND status NOT IN ('resolved', 'closed') \
             RETURNING id, last_seq, customer_id, assignee_id"
        );
        let mut q = sqlx::query_as::<_, (String, i64, String, Option<String>)>(&sql)
            .persistent(false)
            .bind(now);
        for (id, n) in chunk {
            q = q.bind(id.to_string()).bind(*n);
        }
        for (id, last, customer, assignee) in q
            .fetch_all(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?
        {
            out.insert(id, (last, customer, assignee));
        }
    }
    Ok(out)
}
