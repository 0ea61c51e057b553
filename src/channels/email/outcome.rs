//! What storing an inbound message did (shared by intake and the outbox, which stores
//! bounces of our replies).

use serde::Serialize;
use utoipa::ToSchema;

/// What happened to an inbound message.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Stored as a new message.
    Stored {
        conversation_id: String,
        message_id: String,
        new_conversation: bool,
    },
    /// Already stored earlier (same `Message-ID`); nothing changed.
    Duplicate { conversation_id: String },
    /// Not parseable; kept in quarantine for an admin.
    Quarantined {
        quarantine_id: String,
        reason: String,
    },
}
