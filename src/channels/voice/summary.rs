//! Human summaries and structured metadata of a call or fax entry.

use super::contact::{normalise_number, Contact};
use serde_json::{json, Value};
use switchboard_voice::{CallRecord, ContactKind, Direction, Disposition};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `3m12s`, `45s`, `1h02m03s`.
pub fn duration_text(secs: u32) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s:02}s"),
        _ => format!("{h}h{m:02}m{s:02}s"),
    }
}

fn direction_word(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "Inbound",
        Direction::Outbound => "Outbound",
        Direction::Internal => "Internal",
        Direction::Unknown => "Inbound",
    }
}

/// Lower-case name of a disposition (`answered`, `no_answer`, `busy`, `failed`).
pub fn disposition_name(d: Disposition) -> &'static str {
    match d {
        Disposition::Answered => "answered",
        Disposition::NoAnswer => "no_answer",
        Disposition::Busy => "busy",
        Disposition::Failed => "failed",
    }
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
        Direction::Internal => "internal",
        Direction::Unknown => "unknown",
    }
}

/// Subject of a conversation opened for this record (not for missed calls).
pub fn subject(rec: &CallRecord, number: &str) -> String {
    let what = match rec.kind {
        ContactKind::Call => "call",
        ContactKind::Fax => "fax",
    };
    match rec.direction {
        Direction::Outbound => format!("Outbound {what} to {number}"),
        _ => format!("Inbound {what} from {number}"),
    }
}

/// One-line summary such as `Inbound call, answered, 3m12s`, then any notes.
pub fn body(rec: &CallRecord, notes: Option<&str>) -> String {
    let dir = direction_word(rec.direction);
    let mut text = match rec.kind {
        ContactKind::Call => match rec.disposition {
            Disposition::Answered => {
                format!("{dir} call, answered, {}", duration_text(rec.billable_secs))
            }
            Disposition::NoAnswer => format!(
                "{dir} call, not answered (rang {})",
                duration_text(rec.duration_secs)
            ),
            Disposition::Busy => format!("{dir} call, busy"),
            Disposition::Failed => format!("{dir} call, failed"),
        },
        ContactKind::Fax => {
            let pages = rec.fax_pages.unwrap_or(0);
            let plural = if pages == 1 { "" } else { "s" };
            let status = rec.fax_status.as_deref().unwrap_or("unknown");
            format!("{dir} fax, {pages} page{plural}, {status}")
        }
    };
    if let Some(cause) = rec.raw_cause.as_deref().filter(|c| !c.trim().is_empty()) {
        if rec.kind == ContactKind::Fax || rec.disposition != Disposition::Answered {
            text.push_str(&format!(" ({})", cause.trim()));
        }
    }
    if let Some(notes) = notes.map(str::trim).filter(|n| !n.is_empty()) {
        text.push_str("\n\n");
        text.push_str(notes);
    }
    text
}

fn rfc3339(t: Option<OffsetDateTime>) -> Value {
    t.and_then(|t| t.format(&Rfc3339).ok())
        .map(Value::String)
        .unwrap_or(Value::Null)
}

/// The `meta` JSON of the stored message.
pub fn meta(contact: &Contact, region: &str, agent_id: Option<&str>) -> Value {
    let rec = &contact.record;
    let number = |raw: &str| normalise_number(raw, region).unwrap_or_else(|| raw.to_string());
    json!({
        "kind": match rec.kind { ContactKind::Call => "call", ContactKind::Fax => "fax" },
        "source": contact.source,
        "source_id": rec.external_id,
        "direction": direction_name(rec.direction),
        "from": number(&rec.from),
        "to": number(&rec.to),
        "from_raw": rec.from,
        "to_raw": rec.to,
        "caller_name": rec.caller_name,
        "started_at": rfc3339(Some(rec.started_at)),
        "answered_at": rfc3339(rec.answered_at),
        "ended_at": rfc3339(rec.ended_at),
        "duration_secs": rec.duration_secs,
        "billsec": rec.billable_secs,
        "disposition": disposition_name(rec.disposition),
        "cause": rec.raw_cause,
        "agent_id": agent_id,
        "agent_extension": rec.agent_extension,
        "recording_url": rec.recording_url,
        "fax_pages": rec.fax_pages,
        "fax_status": rec.fax_status,
    })
}

#[cfg(test)]
mod tests {
    use super::duration_text;

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(duration_text(0), "0s");
        assert_eq!(duration_text(45), "45s");
        assert_eq!(duration_text(192), "3m12s");
        assert_eq!(duration_text(3723), "1h02m03s");
    }
}
