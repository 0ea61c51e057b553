//! How an event's data is kept in the event log (`super::event_log`).
//!
//! A `message.created` event carries the whole message — body, and for a call its CDR meta —
//! which its own `messages` row, written in the same transaction, holds already. Logged as
//! is, the event log was the largest table a voice ingest wrote (6,684 pages against the
//! messages' 3,976 for 20,000 call records). So its log row keeps only a reference,
//! `{"message_ref": "<message id>"}`, and reading the log ([`restore`]) puts the message back
//! from its row, as [`message_value`] builds it — the shape `conversations::Message` gives
//! (a test there holds the two together). A message deleted since (a customer erased) has
//! nothing left to show: its event is left out of what is read. Every other event, and
//! rows logged before this form, are read as written.

use super::{ms_to_rfc3339, StoreError, StoreResult};
use crate::bus::Event;
use serde_json::{Map, Value};
use sqlx::AnyPool;
use std::collections::HashMap;

/// The key of a logged `message.created` event's reference to its message.
const REF: &str = "message_ref";

/// The text the log keeps for `ev`'s data.
pub(super) fn logged_text(ev: &Event) -> String {
    match message_id(ev) {
        Some(id) => serde_json::json!({ REF: id }).to_string(),
        None => serde_json::to_string(&ev.data).unwrap_or_else(|_| "null".into()),
    }
}

/// The id of the message a `message.created` event carries, when that is all its data holds.
fn message_id(ev: &Event) -> Option<&str> {
    if ev.kind != "message.created" {
        return None;
    }
    let data = ev.data.as_object().filter(|d| d.len() == 1)?;
    data.get("message")?.get("id")?.as_str()
}

/// The message a logged `message.created` event refers to ([`logged_text`]).
fn reference(ev: &Event) -> Option<&str> {
    if ev.kind != "message.created" {
        return None;
    }
    ev.data.get(REF)?.as_str()
}

/// A `messages` row as read (also the conversation module's `MessageRow`).
#[derive(sqlx::FromRow)]
pub struct MessageRow {
    pub id: String,
    pub conversation_id: String,
    pub seq: i64,
    pub author_kind: String,
    pub author_id: Option<String>,
    pub body: String,
    pub internal: i64,
    pub channel: String,
    pub external_id: Option<String>,
    pub meta: String,
    pub created_at: i64,
}

/// The message of `row` as a `message.created` event's `message`.
pub fn message_value(row: MessageRow) -> Value {
    let meta = serde_json::from_str(&row.meta).unwrap_or_else(|_| serde_json::json!({}));
    let mut m = Map::new();
    m.insert("id".into(), Value::String(row.id));
    m.insert("conversation_id".into(), Value::String(row.conversation_id));
    m.insert("seq".into(), row.seq.into());
    m.insert("author_kind".into(), Value::String(row.author_kind));
    m.insert("author_id".into(), row.author_id.into());
    m.insert("body".into(), Value::String(row.body));
    m.insert("internal".into(), Value::Bool(row.internal == 1));
    m.insert("channel".into(), Value::String(row.channel));
    m.insert("external_id".into(), row.external_id.into());
    m.insert("meta".into(), meta);
    m.insert(
        "created_at".into(),
        Value::String(ms_to_rfc3339(row.created_at)),
    );
    Value::Object(m)
}

/// Put back the messages of the logged `message.created` events among `events` (read from
/// the log); leave out those whose message is gone.
pub(super) async fn restore(pool: &AnyPool, events: Vec<Event>) -> StoreResult<Vec<Event>> {
    let refs: Vec<String> = events
        .iter()
        .filter_map(|ev| reference(ev).map(str::to_string))
        .collect();
    if refs.is_empty() {
        return Ok(events);
    }
    let mut messages = HashMap::new();
    for chunk in refs.chunks(200) {
        let marks: Vec<String> = (1..=chunk.len()).map(|k| format!("${k}")).collect();
        let sql = format!(
            "SELECT id, conversation_id, seq, author_kind, author_id, body, internal, channel, \
               external_id, meta, created_at FROM messages WHERE id IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query_as::<_, MessageRow>(&sql).persistent(false);
        for id in chunk {
            q = q.bind(id);
        }
        for row in q.fetch_all(pool).await.map_err(StoreError::from_sqlx)? {
            messages.insert(row.id.clone(), message_value(row));
        }
    }
    Ok(events
        .into_iter()
        .filter_map(|mut ev| {
            let Some(id) = reference(&ev) else {
                return Some(ev);
            };
            let message = messages.remove(id)?;
            ev.data = serde_json::json!({ "message": message });
            Some(ev)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, data: Value) -> Event {
        crate::events::new_event(kind, data)
    }

    #[test]
    fn only_a_message_created_event_holding_just_its_message_is_kept_by_reference() {
        let message = serde_json::json!({ "message": { "id": "m1", "body": "سلام" } });
        let ev = event("message.created", message.clone());
        assert_eq!(logged_text(&ev), r#"{"message_ref":"m1"}"#);
        for ev in [
            event("message.updated", message.clone()),
            event(
                "message.created",
                serde_json::json!({ "message": { "id": "m1" }, "extra": 1 }),
            ),
            event(
                "message.created",
                serde_json::json!({ "message": { "id": 7 } }),
            ),
        ] {
            let text = logged_text(&ev);
            assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), ev.data);
        }
    }
}
