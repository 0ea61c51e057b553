//! The voice channel's shared vocabulary: a call or fax to store, its channel, whether it was
//! missed, how numbers are normalised, and the callback tag.

use switchboard_voice::{CallRecord, ContactKind, Direction, Disposition};

pub use crate::conversations::CALLBACK_TAG;

/// A call or fax to store, with where it came from.
#[derive(Debug, Clone)]
pub struct Contact {
    /// `asterisk`, `freeswitch`, `hylafax`, `cti` or `manual`; prefixes the external id.
    pub source: &'static str,
    pub record: CallRecord,
    /// Customer chosen explicitly (manual logging); otherwise matched by phone number.
    pub customer_id: Option<String>,
    /// Free text from an agent logging the call by hand.
    pub notes: Option<String>,
    /// The agent who logged it by hand.
    pub logged_by: Option<String>,
    /// The agent involved, when known directly (CTI answer); else mapped from the extension.
    pub agent_id: Option<String>,
}

/// The message channel for a record.
pub fn channel_of(record: &CallRecord) -> &'static str {
    match record.kind {
        ContactKind::Call => "phone",
        ContactKind::Fax => "fax",
    }
}

/// True for an inbound call nobody answered (no answer, busy, abandoned, failed).
pub fn is_missed(record: &CallRecord) -> bool {
    record.kind == ContactKind::Call
        && matches!(record.direction, Direction::Inbound | Direction::Unknown)
        && record.disposition != Disposition::Answered
}

/// Normalise a logged number (E.164 where possible, digits otherwise).
pub fn normalise_number(raw: &str, region: &str) -> Option<String> {
    switchboard_text::PhoneNumber::parse_lenient(raw, region)
        .ok()
        .map(|p| p.into_string())
}
