//! Channel-neutral output types shared by every parser.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Which system produced a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Asterisk `cdr_csv` (`Master.csv`).
    Asterisk,
    /// FreeSWITCH `mod_cdr_csv`, default template.
    FreeSwitch,
    /// HylaFAX `xferfaxlog`.
    HylaFax,
    /// A pushed CTI event (Zammad-style generic CTI or our fax event).
    Cti,
}

/// Direction of a contact as seen from the contact center.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// A customer reached us.
    Inbound,
    /// We reached a customer.
    Outbound,
    /// Extension to extension.
    Internal,
    /// Could not be inferred.
    Unknown,
}

/// How the contact ended, reduced to four outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// The far end answered (for faxes: a session took place).
    Answered,
    /// Nobody answered, or the caller gave up first.
    NoAnswer,
    /// The far end was busy or declined.
    Busy,
    /// Anything else: network failure, congestion, bad number...
    Failed,
}

/// Kind of contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// A voice call.
    Call,
    /// A facsimile transmission or reception.
    Fax,
}

/// One call or fax, independent of the system that logged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Producing system.
    pub source: Source,
    /// Call or fax.
    pub kind: ContactKind,
    /// Identifier unique within `source`: Asterisk `uniqueid`, FreeSWITCH
    /// `uuid`, HylaFAX `commid`, CTI `faxId`.
    pub external_id: String,
    /// Inferred or reported direction.
    pub direction: Direction,
    /// Calling number exactly as logged (may contain Persian or
    /// Arabic-Indic digits, `+`, spaces; normalisation is the caller's job).
    pub from: String,
    /// Called number exactly as logged.
    pub to: String,
    /// Caller display name, when the log carries one distinct from the number.
    pub caller_name: Option<String>,
    /// Start of the call, in UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When the call was answered, in UTC, if it was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    /// End of the call, in UTC, when known.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Total duration in seconds (start to end).
    pub duration_secs: u32,
    /// Talk time in seconds (answer to end; for faxes the connect time).
    pub billable_secs: u32,
    /// Reduced outcome.
    pub disposition: Disposition,
    /// Internal extension of the agent involved, digits normalised to ASCII.
    pub agent_extension: Option<String>,
    /// Link to a call recording, when the source provides one.
    pub recording_url: Option<String>,
    /// Pages transferred (faxes only).
    pub fax_pages: Option<u32>,
    /// `"ok"` or `"failed"` (faxes only).
    pub fax_status: Option<String>,
    /// The source's own outcome text (disposition, hangup cause, fax reason).
    pub raw_cause: Option<String>,
}

/// A line that could not be turned into a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    /// 1-based physical line number in the input (offset by `first_line`
    /// when parsing chunks).
    pub line: usize,
    /// Human-readable reason.
    pub reason: String,
}

/// Result of parsing a log: good records plus per-line errors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseReport {
    /// Records parsed successfully, in input order.
    pub records: Vec<CallRecord>,
    /// Lines skipped because they were malformed, in input order.
    pub errors: Vec<LineError>,
}

/// Settings shared by the log parsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseOptions {
    /// Offset of the PBX's local time from UTC, in seconds (Tehran: 12600).
    /// Log timestamps are interpreted in this offset and converted to UTC.
    /// Must lie within ±25:59:59, otherwise every dated line is rejected.
    pub utc_offset_secs: i32,
    /// Numbers with at most this many digits (ASCII, Persian or
    /// Arabic-Indic) count as internal extensions when inferring direction.
    /// `0` disables extension detection.
    pub internal_extension_max_len: usize,
}

impl Default for ParseOptions {
    /// UTC timestamps, extensions up to 5 digits.
    fn default() -> Self {
        Self {
            utc_offset_secs: 0,
            internal_extension_max_len: 5,
        }
    }
}
