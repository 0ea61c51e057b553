//! Conversations: every contact on every channel, with messages, internal notes, tags,
//! priority, status, assignment and a full history of changes.

mod access;
pub mod assign;
pub mod ledger;
pub mod mentions;
mod messages;
pub mod outbound;
pub mod routes;
pub mod service;
pub mod viewing;

use crate::store::ms_to_rfc3339;
use serde::Serialize;
use utoipa::ToSchema;

pub use routes::router;
pub use service::*;

/// The tag of the callback conversation a missed call opens (the voice adapter tags it;
/// routing offers it as live work).
pub const CALLBACK_TAG: &str = "callback";

/// Ticket statuses.
pub const STATUSES: &[&str] = &["open", "pending", "resolved", "closed"];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Conversation {
    pub id: String,
    /// Human-facing number (`#1042`), also used as the email subject token.
    pub number: i64,
    pub customer_id: String,
    pub channel: String,
    pub status: String,
    pub priority: i64,
    pub queue_id: Option<String>,
    pub assignee_id: Option<String>,
    pub subject: String,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub last_message_at: Option<String>,
    pub first_response_at: Option<String>,
    pub resolved_at: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConversationRow {
    pub id: String,
    pub number: i64,
    pub customer_id: String,
    pub channel: String,
    pub status: String,
    pub priority: i64,
    pub queue_id: Option<String>,
    pub assignee_id: Option<String>,
    pub subject: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_message_at: Option<i64>,
    pub first_response_at: Option<i64>,
    pub resolved_at: Option<i64>,
}

pub(crate) const COLS: &str =
    "id, number, customer_id, channel, status, priority, queue_id, assignee_id, subject, \
     created_at, updated_at, last_message_at, first_response_at, resolved_at";

impl ConversationRow {
    pub fn into_model(self, tags: Vec<String>) -> Conversation {
        Conversation {
            id: self.id,
            number: self.number,
            customer_id: self.customer_id,
            channel: self.channel,
            status: self.status,
            priority: self.priority,
            queue_id: self.queue_id,
            assignee_id: self.assignee_id,
            subject: self.subject,
            tags,
            created_at: ms_to_rfc3339(self.created_at),
            updated_at: ms_to_rfc3339(self.updated_at),
            last_message_at: self.last_message_at.map(ms_to_rfc3339),
            first_response_at: self.first_response_at.map(ms_to_rfc3339),
            resolved_at: self.resolved_at.map(ms_to_rfc3339),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    /// Position in the conversation, 1, 2, 3, … without gaps.
    pub seq: i64,
    /// `customer`, `agent` or `system`.
    pub author_kind: String,
    pub author_id: Option<String>,
    pub body: String,
    /// Internal notes are never shown to the customer.
    pub internal: bool,
    pub channel: String,
    pub external_id: Option<String>,
    #[schema(value_type = Object)]
    pub meta: serde_json::Value,
    pub created_at: String,
}

impl Message {
    /// `{"message": …}`, the data of a `message.created` event, moving the fields. (Not
    /// `json!({"message": m.into_value()})`: `json!` serialises a `Value` argument into a new
    /// one — a deep copy, measured at a tenth of a bulk call-log import's CPU.)
    pub fn into_event_data(self) -> serde_json::Value {
        let mut data = serde_json::Map::new();
        data.insert("message".into(), self.into_value());
        serde_json::Value::Object(data)
    }

    /// The message as JSON, moving its fields (what `serde_json::to_value` gives, without
    /// copying the body and meta once more).
    pub fn into_value(self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        m.insert("id".into(), Value::String(self.id));
        m.insert(
            "conversation_id".into(),
            Value::String(self.conversation_id),
        );
        m.insert("seq".into(), self.seq.into());
        m.insert("author_kind".into(), Value::String(self.author_kind));
        m.insert("author_id".into(), self.author_id.into());
        m.insert("body".into(), Value::String(self.body));
        m.insert("internal".into(), Value::Bool(self.internal));
        m.insert("channel".into(), Value::String(self.channel));
        m.insert("external_id".into(), self.external_id.into());
        m.insert("meta".into(), self.meta);
        m.insert("created_at".into(), Value::String(self.created_at));
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::Message;

    #[test]
    fn into_value_is_what_serde_gives() {
        for (author_id, external_id) in [(None, None), (Some("c1".into()), Some("x@y".into()))] {
            let msg = Message {
                id: "m1".into(),
                conversation_id: "c".into(),
                seq: 7,
                author_kind: "customer".into(),
                author_id,
                body: "سلام".into(),
                internal: true,
                channel: "phone".into(),
                external_id,
                meta: serde_json::json!({"a": [1, {"b": null}]}),
                created_at: "2026-01-01T00:00:00.000Z".into(),
            };
            assert_eq!(
                serde_json::to_value(&msg).unwrap(),
                msg.clone().into_value()
            );
        }
    }

    /// The event log keeps a new message by reference and rebuilds it from its row
    /// (`store::event_data`): what it rebuilds is what was published.
    #[test]
    fn a_logged_message_is_rebuilt_from_its_row_as_published() {
        for (author_id, external_id, internal) in [(None, None, 0), (Some("c1"), Some("x@y"), 1)] {
            let row = || super::MessageRow {
                id: "m1".into(),
                conversation_id: "c".into(),
                seq: 7,
                author_kind: "customer".into(),
                author_id: author_id.map(Into::into),
                body: "سلام".into(),
                internal,
                channel: "phone".into(),
                external_id: external_id.map(Into::into),
                meta: r#"{"a":[1,{"b":null}],"f":0.1}"#.into(),
                created_at: 1_767_225_600_123,
            };
            let published = Message::from(row()).into_value();
            assert_eq!(crate::store::event_data::message_value(row()), published);
        }
    }
}

/// A message's row (the event log rebuilds logged messages from it, in [`Message`]'s shape).
pub(crate) use crate::store::event_data::MessageRow;

pub(crate) const MSG_COLS: &str =
    "id, conversation_id, seq, author_kind, author_id, body, internal, channel, external_id, meta, created_at";

impl From<MessageRow> for Message {
    fn from(r: MessageRow) -> Self {
        Message {
            id: r.id,
            conversation_id: r.conversation_id,
            seq: r.seq,
            author_kind: r.author_kind,
            author_id: r.author_id,
            body: r.body,
            internal: r.internal == 1,
            channel: r.channel,
            external_id: r.external_id,
            meta: serde_json::from_str(&r.meta).unwrap_or_else(|_| serde_json::json!({})),
            created_at: ms_to_rfc3339(r.created_at),
        }
    }
}

/// One recorded change: who did what, when.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub id: String,
    pub kind: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub at: String,
}

/// The tags of several conversations in one query, by conversation id (sorted per id).
pub async fn tags_of(
    conn: &mut sqlx::AnyConnection,
    backend: crate::store::Backend,
    ids: &[String],
) -> crate::store::StoreResult<std::collections::HashMap<String, Vec<String>>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(String, String)> = sqlx::query_as(&format!(
        "SELECT conversation_id, tag FROM conversation_tags \
         WHERE conversation_id IN (SELECT value FROM {}) ORDER BY conversation_id, tag",
        crate::store::dialect::json_values_on(backend)
    ))
    .bind(crate::store::bulk::json_param(ids)?)
    .fetch_all(&mut *conn)
    .await
    .map_err(crate::store::StoreError::from_sqlx)?;
    for (id, tag) in rows {
        out.entry(id).or_default().push(tag);
    }
    Ok(out)
}
