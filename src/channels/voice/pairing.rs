//! One call reported twice — by live CTI events and by the PBX's call detail record (CDR,
//! Asterisk or FreeSWITCH log) — is stored as one entry.
//!
//! When a CDR call is stored and a CTI entry of the same call exists, the CDR completes that
//! entry instead of adding a second one: its fields (talk time, disposition, cause, agent,
//! recording, times, caller name) overwrite the entry's meta where the CDR has them, the
//! summary line is rewritten from the CDR, and the meta records `cdr_source`/`cdr_source_id`.
//! The reverse order (the CDR stored first, e.g. a tailed log read before the CTI hangup
//! arrives, or a call whose hangup was lost and is closed by the timeout) folds the CTI record
//! into the CDR's entry, only filling what the CDR lacks (`cti_call_id` is recorded). Either
//! way the folded record's source id goes to `voice_source_ids`, so storing it again is a
//! duplicate, and an entry that has an alias is never paired again.
//!
//! **Same call**: same customer, same direction (a CDR of unknown direction counts as
//! inbound), start times at most `voice.cti_match_secs` apart (`0` turns pairing off), and the
//! same other party (inbound: called number; outbound: calling number) when both are known
//! and comparable — an extension (at most five digits) is only compared with an extension and
//! a full number with a full number, since a CDR often names the extension a DID was routed
//! to. The closest start time wins.
//!
//! A completed entry is announced as `message.updated` (the whole message, as in
//! `message.created`). When the CDR shows that a call the CTI side had closed as missed was
//! answered after all (its hangup was lost and the stale-call timeout closed it, or the CTI
//! cause was wrong), the callback conversation it opened is settled: resolved by the system if
//! it is still open, unassigned, and holds no other missed call.

use super::anonymous::is_withheld;
use super::contact::{normalise_number, CALLBACK_TAG};
use crate::bus::Event;
use crate::conversations::{self, Actor};
use crate::store::{now_ms, StoreError, StoreResult, Tx};
use serde_json::Value;
use std::fmt::Write;
use switchboard_voice::{digit_value, CallRecord, ContactKind, Direction};

/// Which way a record pairs with stored entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    /// A CDR looking for the CTI entry of its call.
    CdrIntoCti,
    /// A CTI call looking for the CDR entry of its call.
    CtiIntoCdr,
}

/// Digits at most this long are an extension (as the parsers' default).
const EXTENSION_MAX_DIGITS: usize = 5;

/// Meta keys describing the entry itself, which pairing never changes.
const KEPT: &[&str] = &[
    "kind",
    "source",
    "source_id",
    "direction",
    "from",
    "to",
    "from_raw",
    "to_raw",
    "anonymous",
];

impl Pairing {
    /// How a call from `source` pairs, if it does (faxes and hand-logged calls never do).
    pub fn of(source: &str, rec: &CallRecord) -> Option<Pairing> {
        if rec.kind != ContactKind::Call {
            return None;
        }
        match source {
            "asterisk" | "freeswitch" => Some(Pairing::CdrIntoCti),
            "cti" | "ami" => Some(Pairing::CtiIntoCdr),
            _ => None,
        }
    }

    /// The partial index of the entries this record may complete (phone entries of the other
    /// source by start time).
    fn index(self) -> &'static str {
        match self {
            Pairing::CdrIntoCti => "messages_cti_at",
            Pairing::CtiIntoCdr => "messages_cdr_at",
        }
    }

    /// SQL condition on `m.external_id` selecting the entries this record may complete.
    fn target(self) -> &'static str {
        match self {
            Pairing::CdrIntoCti => "(m.external_id LIKE 'cti:%' OR m.external_id LIKE 'ami:%')",
            Pairing::CtiIntoCdr => {
                "(m.external_id LIKE 'asterisk:%' OR m.external_id LIKE 'freeswitch:%')"
            }
        }
    }
}

/// A stored, not yet paired phone entry that a record may complete.
#[derive(Debug, Clone)]
pub struct Entry {
    pub message_id: String,
    pub conversation_id: String,
    pub customer_id: String,
    pub at: i64,
    pub body: String,
    pub meta: Value,
}

/// Unpaired entries started within `[from, to]` (ms) that `pairing` may complete, of any
/// customer (the caller filters): one statement on the partial index of phone entries by
/// time, so the cost follows the calls in that span, not the customers' history (the shared
/// anonymous profile has a long one).
pub async fn entries(tx: &mut Tx, pairing: Pairing, from: i64, to: i64) -> StoreResult<Vec<Entry>> {
    type Row = (String, String, String, i64, String, String);
    // SQLite without statistics prefers the (channel, external_id) index, i.e. every phone
    // entry ever stored; it is told which index to use. PostgreSQL picks the partial one.
    let indexed = tx.index_hint(pairing.index());
    let sql = format!(
        "SELECT m.id, m.conversation_id, c.customer_id, m.created_at, m.body, m.meta \
         FROM messages m {indexed} JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.channel = 'phone' AND m.created_at >= $1 AND m.created_at <= $2 AND {} \
           AND NOT EXISTS (SELECT 1 FROM voice_source_ids a WHERE a.message_id = m.id) \
         ORDER BY m.created_at, m.id",
        pairing.target()
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(from)
        .bind(to)
        .fetch_all(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(rows
        .into_iter()
        .map(|r| Entry {
            message_id: r.0,
            conversation_id: r.1,
            customer_id: r.2,
            at: r.3,
            body: r.4,
            meta: serde_json::from_str(&r.5).unwrap_or(Value::Null),
        })
        .collect())
}

fn outbound(d: Direction) -> bool {
    d == Direction::Outbound
}

/// A number reduced for comparison: (is an extension, digits or normalised number); `None`
/// when unknown.
fn comparable(raw: &str, region: &str) -> Option<(bool, String)> {
    if is_withheld(raw) {
        return None;
    }
    let digits: String = raw
        .chars()
        .filter_map(digit_value)
        .filter_map(|d| char::from_digit(d, 10))
        .collect();
    if digits.len() <= EXTENSION_MAX_DIGITS {
        Some((true, digits))
    } else {
        Some((false, normalise_number(raw, region).unwrap_or(digits)))
    }
}

fn same_party(a: &str, b: &str, region: &str) -> bool {
    match (comparable(a, region), comparable(b, region)) {
        (Some((ext_a, a)), Some((ext_b, b))) if ext_a == ext_b => a == b,
        _ => true,
    }
}

/// Whether `entry` (of the record's customer) is the record's call, started at `at` (ms).
pub fn same_call(
    rec: &CallRecord,
    at: i64,
    entry: &Entry,
    tolerance_ms: i64,
    region: &str,
) -> bool {
    let text = |k: &str| entry.meta[k].as_str().unwrap_or("").to_string();
    let entry_out = text("direction") == "outbound";
    if (entry.at - at).abs() > tolerance_ms || entry_out != outbound(rec.direction) {
        return false;
    }
    let (mine, theirs) = if entry_out {
        (&rec.from, text("from_raw"))
    } else {
        (&rec.to, text("to_raw"))
    };
    same_party(mine, &theirs, region)
}

/// The entry among `candidates` that is the record's call, closest in start time.
pub fn best<'a>(
    rec: &CallRecord,
    at: i64,
    candidates: impl Iterator<Item = &'a Entry>,
    tolerance_ms: i64,
    region: &str,
) -> Option<&'a Entry> {
    candidates
        .filter(|e| same_call(rec, at, e, tolerance_ms, region))
        .min_by_key(|e| (e.at - at).abs())
}

/// How an entry changes when a record of the same call is folded into it.
#[derive(Debug, Clone)]
pub struct Fold {
    /// The folded record's prefixed source id (`asterisk:<uniqueid>`, `cti:<callId>`).
    pub source_id: String,
    pub message_id: String,
    pub meta: Value,
    pub body: String,
    /// The entry was a missed inbound call and the record says it was answered.
    pub answered_now: bool,
}

/// Whether entry meta describes a missed inbound call (as [`super::ingest::is_missed`]).
fn missed(meta: &Value) -> bool {
    meta["kind"] == "call" && meta["direction"] != "outbound" && meta["disposition"] != "answered"
}

/// Fold the record (`source`, its `meta` and summary `body`) into `entry`.
pub fn fold(
    pairing: Pairing,
    entry: &Entry,
    source: &str,
    rec: &CallRecord,
    meta: &Value,
    body: String,
) -> Fold {
    let mut merged = entry.meta.clone();
    if let (Some(out), Some(new)) = (merged.as_object_mut(), meta.as_object()) {
        for (k, v) in new {
            let replace = match pairing {
                Pairing::CdrIntoCti => !v.is_null(),
                Pairing::CtiIntoCdr => !v.is_null() && out.get(k).is_none_or(Value::is_null),
            };
            if replace && !KEPT.contains(&k.as_str()) {
                out.insert(k.clone(), v.clone());
            }
        }
        match pairing {
            Pairing::CdrIntoCti => {
                out.insert("cdr_source".into(), Value::from(source));
                out.insert("cdr_source_id".into(), Value::from(rec.external_id.clone()));
            }
            Pairing::CtiIntoCdr => {
                out.insert("cti_call_id".into(), Value::from(rec.external_id.clone()));
            }
        }
    }
    let answered_now = missed(&entry.meta) && merged["disposition"] == "answered";
    Fold {
        source_id: format!("{source}:{}", rec.external_id),
        message_id: entry.message_id.clone(),
        answered_now,
        meta: merged,
        body: match pairing {
            Pairing::CdrIntoCti => body,
            Pairing::CtiIntoCdr => entry.body.clone(),
        },
    }
}

/// Write `folds`: the aliases (a concurrent writer of the same record makes this a unique-key
/// `Conflict`) and the entries' new meta and summary, two statements per 50 folds; then settle
/// the callbacks of calls answered after all. Returns the events to publish after commit
/// (already queued for webhooks).
pub async fn write(tx: &mut Tx, folds: &[Fold]) -> StoreResult<Vec<Event>> {
    let now = now_ms();
    for chunk in folds.chunks(50) {
        let mut rows = String::new();
        let (mut metas, mut bodies, mut folded, mut ids) =
            (String::new(), String::new(), String::new(), String::new());
        for k in 0..chunk.len() {
            let sep = if k > 0 { ", " } else { "" };
            let _ = write!(rows, "{sep}(${}, ${}, $1)", k * 2 + 2, k * 2 + 3);
            let p = k * 4 + 1;
            let _ = write!(metas, " WHEN ${p} THEN ${}", p + 1);
            let _ = write!(bodies, " WHEN ${p} THEN ${}", p + 2);
            let _ = write!(folded, " WHEN ${p} THEN ${}", p + 3);
            let _ = write!(ids, "{sep}${p}");
        }
        let sql = format!(
            "INSERT INTO voice_source_ids (source_id, message_id, created_at) VALUES {rows}"
        );
        let mut q = sqlx::query(&sql).persistent(false).bind(now);
        for f in chunk {
            q = q.bind(&f.source_id).bind(&f.message_id);
        }
        q.execute(tx.conn()).await.map_err(StoreError::from_sqlx)?;
        let sql = format!(
            "UPDATE messages SET meta = CASE id{metas} END, body = CASE id{bodies} END, \
               body_search = CASE id{folded} END WHERE id IN ({ids})"
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for f in chunk {
            q = q
                .bind(&f.message_id)
                .bind(f.meta.to_string())
                .bind(&f.body)
                .bind(switchboard_text::search_fold(&f.body));
        }
        q.execute(tx.conn()).await.map_err(StoreError::from_sqlx)?;
    }
    let mut out = Vec::new();
    for f in folds {
        let (ev, conv) = conversations::ledger::amended(tx, &f.message_id).await?;
        out.push(ev);
        if f.answered_now {
            out.extend(settle_callback(tx, &conv, &f.message_id).await?);
        }
    }
    Ok(out)
}

/// Resolve `conv` if it is an open, unassigned callback whose only missed call was
/// `message_id` (now known to have been answered).
async fn settle_callback(
    tx: &mut Tx,
    conv: &conversations::Conversation,
    message_id: &str,
) -> StoreResult<Option<Event>> {
    let callback = conv.tags.iter().any(|t| t == CALLBACK_TAG);
    if !callback || conv.status != "open" || conv.assignee_id.is_some() {
        return Ok(None);
    }
    let others: Vec<(String,)> = sqlx::query_as(
        "SELECT meta FROM messages WHERE conversation_id = $1 AND channel = 'phone' AND id <> $2",
    )
    .bind(&conv.id)
    .bind(message_id)
    .fetch_all(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let still_missed = others
        .iter()
        .any(|(meta,)| missed(&serde_json::from_str(meta).unwrap_or(Value::Null)));
    if still_missed {
        return Ok(None);
    }
    conversations::set_status(tx, conv, "resolved", &Actor::system()).await
}
