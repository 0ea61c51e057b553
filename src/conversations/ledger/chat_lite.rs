//! The chat group commit's statements on SQLite (planned by `channels::chat::batch`), where a batch needs four round trips to the
//! database thread (`BEGIN`, one read, one write that also logs the batch's events, `COMMIT`) instead of seven, each statement
//! text prepared once per connection; a batch that opens conversations for new visitors reads
//! once more ([`fresh_lookup`]) and sends their customers, identities, conversations, visitor
//! rows and tags with the same write (five round trips instead of about sixteen).
//!
//! SQLite has one writer at a time (the store's writer lock), and a transaction that read a
//! snapshot and then writes fails (`SQLITE_BUSY_SNAPSHOT`) if anything else committed
//! meanwhile. So the batch reads everything it decides on in one statement — resent messages,
//! each visitor's conversation with its `last_seq` and status — numbers the messages itself,
//! and sends the sequence reservation, the rare visitor touch, the messages and their history
//! rows as one multi-statement write. The reservation re-checks each conversation's `last_seq`
//! and the whole write must change exactly the expected number of rows, or the batch fails
//! (and its messages are stored one by one), so a number can never be handed out twice.

use super::sql::{self, Shape};
use crate::store::bulk::{json_param, V};
use crate::store::dialect::SQLITE_NEXT_NUMBER;
use crate::store::{StoreError, StoreResult, Tx};
use std::collections::HashMap;
use std::sync::LazyLock;

/// A visitor's `last_seen_at` (`chat_visitors.updated_at`) is refreshed by a message only when
/// it is older than this: a page write fewer per message.
pub const TOUCH_MS: i64 = 60_000;

/// An open conversation as the batch read it.
pub struct Conv {
    pub last_seq: i64,
    pub status: String,
    pub customer: String,
    pub assignee: Option<String>,
}

/// What the batch's one read found.
#[derive(Default)]
pub struct Lookup {
    /// external id → (conversation, seq) of messages already stored.
    pub stored: HashMap<String, (String, i64)>,
    /// visitor → its conversation (visitors without a row are absent).
    pub known: HashMap<String, Option<String>>,
    /// conversation → its row.
    pub convs: HashMap<String, Conv>,
    /// Visitors whose `updated_at` is older than [`TOUCH_MS`].
    pub stale: Vec<String>,
}

type Row = (
    i64,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

/// Resent messages among `keys` and the visitor rows of `visitors`, in one statement.
pub async fn lookup(
    tx: &mut Tx,
    now: i64,
    channel: &str,
    keys: &[&str],
    visitors: &[&str],
) -> StoreResult<Lookup> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT 0, m.external_id, m.conversation_id, m.seq, NULL, NULL, NULL, 0 FROM messages m \
         WHERE m.channel = $3 AND m.external_id IN (SELECT value FROM json_each($1)) \
         UNION ALL \
         SELECT 1, v.id, v.conversation_id, c.last_seq, c.status, c.customer_id, c.assignee_id, \
           v.updated_at FROM chat_visitors v LEFT JOIN conversations c ON c.id = v.conversation_id \
         WHERE v.id IN (SELECT value FROM json_each($2))",
    )
    .bind(json_param(keys)?)
    .bind(json_param(visitors)?)
    .bind(channel)
    .fetch_all(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut out = Lookup::default();
    for (kind, key, conv, seq, status, customer, assignee, updated) in rows {
        if kind == 0 {
            if let (Some(c), Some(s)) = (conv, seq) {
                out.stored.insert(key, (c, s));
            }
            continue;
        }
        if updated < now - TOUCH_MS {
            out.stale.push(key.clone());
        }
        if let (Some(c), Some(last_seq), Some(status), Some(customer)) =
            (&conv, seq, status, customer)
        {
            out.convs.insert(
                c.clone(),
                Conv {
                    last_seq,
                    status,
                    customer,
                    assignee,
                },
            );
        }
        out.known.insert(key, conv);
    }
    Ok(out)
}

/// What opening conversations for new visitors needs to know, read in one statement.
pub struct FreshLookup {
    /// visitor id → the customer already owning its `visitor` identity (rare: a visitor row
    /// removed while its identity stayed).
    pub owners: HashMap<String, String>,
    /// The next free conversation number.
    pub next_number: i64,
    /// Agents available right now.
    pub available: i64,
}

/// The statement of [`fresh_lookup`].
static FRESH_LOOKUP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT 0, i.value, i.customer_id, 0 FROM identities i \
         WHERE i.kind = 'visitor' AND i.value IN (SELECT value FROM json_each($1)) \
         UNION ALL SELECT 1, NULL, NULL, {SQLITE_NEXT_NUMBER} \
         UNION ALL SELECT 2, NULL, NULL, COUNT(*) FROM agents \
           WHERE active = 1 AND presence = 'available'"
    )
});

/// Identity owners of `visitors`, the next conversation number and the available agents, in
/// one statement. Safe without the `ON CONFLICT` checks of the PostgreSQL path: the batch
/// holds SQLite's only write transaction, so nothing read here changes before its commit.
pub async fn fresh_lookup(tx: &mut Tx, visitors: &[&str]) -> StoreResult<FreshLookup> {
    let list = json_param(visitors)?;
    let rows: Vec<(i64, Option<String>, Option<String>, i64)> =
        sqlx::query_as(FRESH_LOOKUP.as_str())
            .bind(list)
            .fetch_all(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    let mut out = FreshLookup {
        owners: HashMap::new(),
        next_number: 1000,
        available: 0,
    };
    for (kind, value, customer, n) in rows {
        match (kind, value, customer) {
            (0, Some(v), Some(c)) => {
                out.owners.insert(v, c);
            }
            (1, _, _) => out.next_number = n,
            (2, _, _) => out.available = n,
            _ => {}
        }
    }
    Ok(out)
}

/// Rows a batch inserts for the conversations it opens, in foreign-key order.
#[derive(Default)]
pub struct FreshRows {
    /// `(id, created_at, updated_at)` of new customers.
    pub customers: Vec<Vec<V>>,
    /// `(id, customer_id, value, raw, created_at)` of their `visitor` identities.
    pub identities: Vec<Vec<V>>,
    /// The conversation rows ([`sql::CHAT_CONVERSATIONS`]).
    pub conversations: Vec<Vec<V>>,
    /// `(id, site_id, customer_id, conversation_id, created_at, updated_at)` of the visitor
    /// rows.
    pub visitors: Vec<Vec<V>>,
    /// `(conversation_id, tag)`.
    pub tags: Vec<Vec<V>>,
}

/// New customers: `(id, created_at, updated_at)`.
const CUSTOMERS: Shape = Shape {
    head: "INSERT INTO customers (id, created_at, updated_at, name_search)",
    extra: ", ''",
};
/// Their `visitor` identities: `(id, customer_id, value, raw, created_at)`.
const IDENTITIES: Shape = Shape {
    head: "INSERT INTO identities (id, customer_id, value, raw, created_at, kind)",
    extra: ", 'visitor'",
};
/// Visitor rows: `(id, site_id, customer_id, conversation_id, created_at, updated_at)`.
const VISITORS: Shape = Shape {
    head: "INSERT INTO chat_visitors (id, site_id, customer_id, conversation_id, created_at, \
        updated_at)",
    extra: "",
};
/// `(conversation_id, tag)`.
const TAGS: Shape = Shape {
    head: "INSERT INTO conversation_tags (conversation_id, tag)",
    extra: "",
};

/// The batch's writes as one round trip: the `fresh` rows first, then `reserve`
/// (conversation, messages added, `last_seq` as read) moves each conversation's `last_seq`
/// on, `stale` visitors are touched, then the message and history rows are inserted. Fails
/// unless every statement changed exactly the rows it should.
pub async fn write(
    tx: &mut Tx,
    now: i64,
    fresh: FreshRows,
    reserve: &[(String, i64, i64)],
    stale: &[String],
    messages: Vec<Vec<V>>,
    history: Vec<Vec<V>>,
) -> StoreResult<()> {
    let json = |v: &serde_json::Value| v.to_string();
    let mut text = String::new();
    let mut args: Vec<V> = Vec::new();
    let mut expected = 0u64;
    // Statement shapes vary with the number of new conversations: only cache the others.
    let cached = fresh.conversations.is_empty() && messages.len() <= 16 && history.len() <= 32;
    for (shape, rows) in [
        (CUSTOMERS, fresh.customers),
        (IDENTITIES, fresh.identities),
        (sql::CHAT_CONVERSATIONS, fresh.conversations),
        (VISITORS, fresh.visitors),
        (TAGS, fresh.tags),
    ] {
        expected += rows.len() as u64;
        insert(&mut text, &mut args, shape, rows);
    }
    if !reserve.is_empty() {
        text.push_str(
            "UPDATE conversations SET last_seq = last_seq + v.n, updated_at = ?, \
               last_message_at = ? \
             FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS n, \
               json_extract(value, '$[2]') AS seen FROM json_each(?)) AS v \
             WHERE conversations.id = v.id AND conversations.last_seq = v.seen;\n",
        );
        let list: Vec<_> = reserve
            .iter()
            .map(|(c, n, seen)| serde_json::json!([c, n, seen]))
            .collect();
        args.extend([V::I(now), V::I(now), V::S(json(&list.into()))]);
        expected += reserve.len() as u64;
    }
    if !stale.is_empty() {
        text.push_str(
            "UPDATE chat_visitors SET updated_at = ? WHERE id IN (SELECT value FROM json_each(?));\n",
        );
        args.extend([V::I(now), V::S(json(&stale.into()))]);
        expected += stale.len() as u64;
    }
    expected += (messages.len() + history.len()) as u64;
    insert(&mut text, &mut args, sql::CHAT_MESSAGES, messages);
    insert(&mut text, &mut args, sql::CHAT_HISTORY, history);
    // The batch's events go into the event log with the same write (last, with the closing
    // SELECT that numbers them), not in a round trip of their own at commit.
    let mut log = tx.take_log_insert();
    let cached = cached && log.as_ref().is_none_or(|l| l.cacheable());
    if let Some(l) = &mut log {
        text.push_str(&l.sql);
        args.append(&mut l.values);
        expected += l.rows as u64;
    }
    if text.is_empty() {
        return Ok(());
    }
    let mut q = sqlx::query(&text).persistent(cached);
    for v in args {
        q = v.bind(q);
    }
    let (changed, rows) = run(tx, q).await?;
    if changed != expected {
        return Err(StoreError::Conflict(format!(
            "chat batch changed {changed} rows, expected {expected}"
        )));
    }
    if let Some(mut l) = log {
        l.slots.number(&rows)?;
    }
    Ok(())
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Run a multi-statement write: the rows changed by its statements that return no rows (a
/// `SELECT` reports the changes of the write before it again), and the rows returned.
pub(super) async fn run(tx: &mut Tx, q: Query<'_>) -> StoreResult<(u64, Vec<sqlx::any::AnyRow>)> {
    use futures::TryStreamExt;
    use sqlx::{Either, Executor};
    let mut changed = 0;
    let mut rows = Vec::new();
    let mut returned = false;
    let mut steps = tx.conn().fetch_many(q);
    while let Some(step) = steps.try_next().await.map_err(StoreError::from_sqlx)? {
        match step {
            Either::Left(done) if !returned => changed += done.rows_affected(),
            Either::Left(_) => returned = false,
            Either::Right(row) => {
                rows.push(row);
                returned = true;
            }
        }
    }
    Ok((changed, rows))
}

/// Append `head VALUES (?, …, ?extra), …;` for `rows` to `sql` and their values to `args`.
pub(super) fn insert(sql: &mut String, args: &mut Vec<V>, shape: Shape, rows: Vec<Vec<V>>) {
    if rows.is_empty() {
        return;
    }
    let extra = shape.extra;
    sql.push_str(shape.head);
    sql.push_str(" VALUES ");
    for (r, row) in rows.into_iter().enumerate() {
        sql.push_str(if r > 0 { ", (" } else { "(" });
        for k in 0..row.len() {
            sql.push_str(if k > 0 { ", ?" } else { "?" });
        }
        sql.push_str(extra);
        sql.push(')');
        args.extend(row);
    }
    sql.push_str(";\n");
}
