//! Completing a stored call entry with what the PBX's records add later (a CDR row written
//! after its call was stored, the call's queue from the queue log): its meta grows, its
//! summary may be rewritten, and the change is announced as `message.updated`.

use crate::bus::Event;
use crate::channels::voice::summary::duration_text;
use crate::conversations;
use crate::store::{StoreError, StoreResult, Tx};
use serde_json::{Map, Value};

/// Where the queue part of a call's summary line starts.
const QUEUE_MARK: &str = " · queue ";

/// The queue part of a call's summary line (` · queue 400, waited 35s, agent 202`), from its
/// meta, when the call went through a PBX queue.
pub fn queue_part(meta: &Value) -> Option<String> {
    let queue = meta["queue"].as_str()?;
    let mut part = format!("{QUEUE_MARK}{queue}");
    if let Some(wait) = meta["wait_seconds"].as_i64() {
        part.push_str(&format!(", waited {}", duration_text(wait.max(0) as u32)));
    }
    if let Some(agent) = meta["queue_agent"].as_str() {
        part.push_str(&format!(", agent {agent}"));
    }
    Some(part)
}

/// Meta keys naming the entry itself, which a later record never changes.
const KEPT: &[&str] = &["kind", "source", "source_id", "direction", "anonymous"];

/// Set the non-null values of `patch` in entry `message_id`'s meta (and its summary line to
/// `body`, when given) inside `tx`; returns the `message.updated` event to publish after
/// commit (webhook deliveries already queued).
pub async fn patch_entry(
    tx: &mut Tx,
    message_id: &str,
    patch: &Map<String, Value>,
    body: Option<&str>,
) -> StoreResult<Event> {
    let message = conversations::message(tx.conn(), message_id).await?;
    let mut meta = message.meta.clone();
    if let Some(out) = meta.as_object_mut() {
        for (k, v) in patch {
            if !v.is_null() && !KEPT.contains(&k.as_str()) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    let (line, notes) = match message.body.split_once("\n\n") {
        Some((line, notes)) => (line, Some(notes)),
        None => (message.body.as_str(), None),
    };
    let line = body.unwrap_or(line);
    let line = line.split(QUEUE_MARK).next().unwrap_or(line);
    let mut body = format!("{line}{}", queue_part(&meta).unwrap_or_default());
    if let Some(notes) = notes {
        body = format!("{body}\n\n{notes}");
    }
    sqlx::query("UPDATE messages SET meta = $1, body = $2, body_search = $3 WHERE id = $4")
        .bind(meta.to_string())
        .bind(&body)
        .bind(switchboard_text::search_fold(&body))
        .bind(message_id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(conversations::ledger::amended(tx, message_id).await?.0)
}
