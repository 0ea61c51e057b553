//! Conversations: every contact on every channel, with messages, internal notes, tags,
//! priority, status, assignment and a full history of changes.

pub mod assign;
pub mod routes;
pub mod service;

use crate::store::ms_to_rfc3339;
use serde::Serialize;
use utoipa::ToSchema;

pub use routes::router;
pub use service::*;

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

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
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
