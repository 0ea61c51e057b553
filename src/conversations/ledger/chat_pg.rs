//! The chat group commit's statements on PostgreSQL (planned by `channels::chat::batch`): a batch is five round trips — `BEGIN`, one
//! read ([`lookup`]), the sequence reservation of open conversations or the conversations
//! opened for new visitors ([`open`], whose conversation step is
//! [`super::sql::pg_open_conversations`]), one write of the messages, their history rows and
//! the batch's events in the event log (`store::event_log::insert_together_logged`), `COMMIT` — instead of seven for follow-ups and about sixteen for
//! a batch that opens conversations (a visitor's `updated_at` is refreshed at most once a
//! minute, then with a statement more: [`touch`]). Several writers run in parallel, so unlike
//! SQLite ([`super::batch_lite`]) nothing may be decided from a read alone: rows are claimed with
//! `ON CONFLICT DO NOTHING`, locked by the statements that change them, and the conversation
//! numbers come from the sequence. Data-modifying `WITH` parts run in one statement and see
//! one snapshot; foreign keys between them are checked at the statement's end.

use super::chat_lite::TOUCH_MS;
use super::sql::pg_open_conversations;
use crate::store::bulk::json_param;
use crate::store::{StoreError, StoreResult, Tx};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::LazyLock;

/// What the batch's one read found.
#[derive(Default)]
pub struct Lookup {
    /// external id → (conversation, seq) of messages already stored.
    pub stored: HashMap<String, (String, i64)>,
    /// visitor → its conversation (visitors without a row are absent).
    pub known: HashMap<String, Option<String>>,
    /// Visitors whose `updated_at` is older than [`TOUCH_MS`].
    pub stale: Vec<String>,
}

/// Resent messages among `keys` and the visitor rows of `visitors`, in one statement.
///
/// Keys are looked up one by one (`LATERAL … LIMIT 1`, which the planner cannot flatten into
/// a join), so every lookup is an index probe whatever the statistics say: with
/// `col = ANY(…)` the plan PostgreSQL cached while the tables were near-empty (statistics
/// come with autovacuum, a minute or more later) probed `messages_external` by `channel`
/// alone and scanned every visitor row — 5–10 ms per batch within a minute of a fresh start,
/// measured.
pub async fn lookup(
    tx: &mut Tx,
    now: i64,
    channel: &str,
    keys: &[&str],
    visitors: &[&str],
) -> StoreResult<Lookup> {
    let rows: Vec<(i64, String, Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT 0::bigint, k.key, m.conversation_id, m.seq \
         FROM json_array_elements_text($1::json) AS k(key) \
         CROSS JOIN LATERAL (SELECT conversation_id, seq FROM messages \
           WHERE channel = $2 AND external_id = k.key LIMIT 1) m \
         UNION ALL SELECT 1::bigint, k.id, v.conversation_id, v.updated_at \
         FROM json_array_elements_text($3::json) AS k(id) \
         CROSS JOIN LATERAL (SELECT conversation_id, updated_at FROM chat_visitors \
           WHERE id = k.id LIMIT 1) v",
    )
    .bind(json_param(keys)?)
    .bind(channel)
    .bind(json_param(visitors)?)
    .fetch_all(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut out = Lookup::default();
    for (kind, key, conv, n) in rows {
        match (kind, conv, n) {
            (0, Some(c), Some(seq)) => {
                out.stored.insert(key, (c, seq));
            }
            (1, conv, Some(updated)) => {
                if updated < now - TOUCH_MS {
                    out.stale.push(key.clone());
                }
                out.known.insert(key, conv);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Refresh `updated_at` (the visitor's `last_seen_at`) of `stale` visitors: at most once a
/// minute per chatting visitor, so rarely a statement of its own. Planned for the table as it
/// is now (an unnamed statement), not from a cached plan.
pub async fn touch(tx: &mut Tx, now: i64, stale: &[String]) -> StoreResult<()> {
    if stale.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE chat_visitors SET updated_at = $1 \
         WHERE id = ANY(ARRAY(SELECT json_array_elements_text($2::json)))",
    )
    .persistent(false)
    .bind(now)
    .bind(json_param(stale)?)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// One new visitor, as [`OPEN`] reads it (`json_to_recordset`).
#[derive(Serialize)]
pub struct Input<'a> {
    /// Visitor id.
    pub vid: &'a str,
    pub site: &'a str,
    /// Id of the conversation to open.
    pub conv: &'a str,
    /// Id of the customer to create unless one holds the visitor identity.
    pub cust: &'a str,
    /// Id of that customer's identity row.
    pub ident: String,
    pub queue: Option<&'a str>,
    pub subject: &'a str,
    pub subject_search: String,
    /// The visitor's messages in the batch (the conversation's `last_seq`).
    pub n: i64,
    /// Position (conversations are numbered in this order).
    pub ord: i64,
    /// 1 when the site is open now.
    pub in_hours: i64,
}

/// Claims the visitor rows (a row another transaction created first is skipped: that visitor
/// takes the one-message path), gives each claimed visitor the customer already holding its
/// `visitor` identity or a new customer with that identity, opens a numbered conversation
/// per visitor, tags it `offline` when nobody is available or the site is closed, and
/// returns per visitor: conversation, number, customer, offline, and whether the identity is
/// settled (0 when a concurrent writer took the identity first: the batch then fails and its
/// messages are stored one by one).
static OPEN: LazyLock<String> = LazyLock::new(|| {
    let head = "WITH input AS ( \
       SELECT * FROM json_to_recordset($1::json) AS x(vid text, site text, conv text, \
         cust text, ident text, queue text, subject text, subject_search text, n bigint, \
         ord bigint, in_hours bigint)), \
     owner AS ( \
       SELECT x.vid, i.customer_id FROM input x \
       CROSS JOIN LATERAL (SELECT customer_id FROM identities \
         WHERE kind = 'visitor' AND value = x.vid LIMIT 1) i), \
     online AS ( \
       SELECT EXISTS (SELECT 1 FROM agents WHERE active = 1 AND presence = 'available') \
         AS anyone), \
     vis AS ( \
       INSERT INTO chat_visitors (id, site_id, customer_id, conversation_id, created_at, \
         updated_at) \
       SELECT x.vid, x.site, COALESCE(o.customer_id, x.cust), x.conv, $2::bigint, $2::bigint \
       FROM input x LEFT JOIN owner o ON o.vid = x.vid ORDER BY x.vid \
       ON CONFLICT (id) DO NOTHING \
       RETURNING id, customer_id), \
     cust AS ( \
       INSERT INTO customers (id, name_search, created_at, updated_at) \
       SELECT x.cust, '', $2::bigint, $2::bigint FROM vis v JOIN input x ON x.vid = v.id \
       WHERE v.customer_id = x.cust), \
     ident AS ( \
       INSERT INTO identities (id, customer_id, kind, value, raw, created_at) \
       SELECT x.ident, x.cust, 'visitor', x.vid, x.vid, $2::bigint \
       FROM vis v JOIN input x ON x.vid = v.id WHERE v.customer_id = x.cust \
       ON CONFLICT (kind, value) DO NOTHING \
       RETURNING value),";
    let tail = "shut AS ( \
       SELECT c.id, c.number, c.customer_id, x.vid, x.cust, \
         CASE WHEN online.anyone AND x.in_hours = 1 THEN 0 ELSE 1 END AS offline \
       FROM conv c JOIN input x ON x.conv = c.id CROSS JOIN online), \
     tag AS ( \
       INSERT INTO conversation_tags (conversation_id, tag) \
       SELECT id, $3 FROM shut WHERE offline = 1) \
     SELECT s.vid, s.number, s.customer_id, s.offline::bigint, \
       CASE WHEN s.customer_id <> s.cust OR EXISTS (SELECT 1 FROM ident WHERE ident.value = s.vid) \
         THEN 1 ELSE 0 END::bigint \
     FROM shut s";
    format!("{head} {}, {tail}", pg_open_conversations())
});

/// What [`open`] did for one visitor.
pub struct Opened {
    pub number: i64,
    pub customer: String,
    /// Tagged `tag`: nobody was available or the site was closed.
    pub offline: bool,
}

/// Open a conversation for each visitor of `input` (new visitors without a verified identity)
/// in one statement ([`OPEN`]), tagging offline ones with `tag`; returns them by visitor id.
/// Visitors whose row another writer created meanwhile are left out; they take the
/// one-message path.
pub async fn open(
    tx: &mut Tx,
    now: i64,
    input: &[Input<'_>],
    tag: &str,
) -> StoreResult<HashMap<String, Opened>> {
    if input.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64, String, i64, i64)> = sqlx::query_as(OPEN.as_str())
        .bind(json_param(input)?)
        .bind(now)
        .bind(tag)
        .fetch_all(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    let mut opened = HashMap::new();
    for (vid, number, customer, offline, settled) in rows {
        if settled == 0 {
            return Err(StoreError::Conflict(format!(
                "the identity of visitor {vid} was created by another writer"
            )));
        }
        let offline = offline == 1;
        opened.insert(
            vid,
            Opened {
                number,
                customer,
                offline,
            },
        );
    }
    Ok(opened)
}
