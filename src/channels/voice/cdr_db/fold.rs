//! Folding the CDR rows of one call (one `linkedid`) into one call record.
//!
//! FreePBX writes one row per leg: a queue call that rang two agents has a row per agent
//! rung (plus `Local/…;2` rows of the queue's local channels), an attended transfer a row
//! for the caller with the first agent and one with the second, a missed call a row per
//! ring-group or queue attempt. The folded call:
//! * starts at the earliest row's `calldate` and ends at the latest row's end
//!   (`calldate + duration`); its direction and numbers are those of its first row that
//!   shows one (the caller is `src`, else `cnum`; an inbound call's called number is the
//!   `did` when FreePBX logged one);
//! * an inbound call is answered when an agent's extension answered (a row `ANSWERED` with a
//!   talk time whose `dstchannel` is an extension: `PJSIP/201-…`, `Local/201@from-queue-…`);
//!   the queue or IVR answering the caller's channel is not an answer. Without an agent it
//!   is missed (no answer, or busy when a row says so), unless it only ever reached the IVR
//!   (no `Queue`, `Dial` or `VoiceMail` row), which counts as answered by the system;
//! * its talk time is the union of the answered rows' talk intervals, so consecutive legs
//!   (transfers) add up and parallel ones (`Local` channel pairs) count once;
//! * its agent is the first agent who answered (outbound: the extension that dialled);
//! * its recording is the first answered row's `recordingfile` (else any row's).

use super::recording::recording_url;
use super::rows::CdrRow;
use switchboard_voice::{
    channel_extension, infer_direction, CallRecord, ContactKind, Direction, Disposition, Source,
};
use time::macros::format_description;
use time::{Duration, PrimitiveDateTime, UtcOffset};

/// Digits at most this long are an extension (as the log parsers' default).
const EXTENSION_MAX_DIGITS: usize = 5;

/// A `calldate` as a date-time (PBX local time).
pub fn local_time(calldate: &str) -> Option<PrimitiveDateTime> {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(calldate.trim(), format).ok()
}

/// A local date-time as the CDR database writes it.
pub fn local_text(t: PrimitiveDateTime) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.format(format).unwrap_or_default()
}

/// When the row's leg ended (PBX local time).
pub fn end_of(row: &CdrRow) -> Option<PrimitiveDateTime> {
    local_time(&row.calldate).map(|t| t + Duration::seconds(row.duration.max(0)))
}

fn answered(row: &CdrRow) -> bool {
    row.disposition.trim().eq_ignore_ascii_case("ANSWERED") && row.billsec > 0
}

fn caller(row: &CdrRow) -> &str {
    match row.src.trim() {
        "" => row.cnum.trim(),
        src => src,
    }
}

/// The talk interval (answer, end) of an answered row.
fn talk(row: &CdrRow) -> Option<(PrimitiveDateTime, PrimitiveDateTime)> {
    let end = end_of(row)?;
    Some((end - Duration::seconds(row.billsec.max(0)), end))
}

/// Total length of the union of `spans`, in seconds.
fn union_secs(mut spans: Vec<(PrimitiveDateTime, PrimitiveDateTime)>) -> i64 {
    spans.sort();
    let mut total = 0;
    let mut current: Option<(PrimitiveDateTime, PrimitiveDateTime)> = None;
    for (from, to) in spans {
        current = match current {
            Some((a, b)) if from <= b => Some((a, b.max(to))),
            Some((a, b)) => {
                total += (b - a).whole_seconds();
                Some((from, to))
            }
            None => Some((from, to)),
        };
    }
    if let Some((a, b)) = current {
        total += (b - a).whole_seconds();
    }
    total
}

/// The display name in a clid such as `"Sara" <09121234567>`, unless it repeats the number.
fn caller_name(row: &CdrRow) -> Option<String> {
    let clid = row.clid.trim();
    let name = clid.split_once('<').map_or(clid, |(n, _)| n);
    let name = name.trim().trim_matches('"').trim();
    let name = if name.is_empty() { row.cnam.trim() } else { name };
    (!name.is_empty() && name != caller(row)).then(|| name.to_string())
}

/// Disposition of a call no agent answered, from its rows.
fn unanswered(rows: &[&CdrRow]) -> (Disposition, Option<String>) {
    let has = |d: &str| {
        rows.iter()
            .find(|r| r.disposition.trim().eq_ignore_ascii_case(d))
    };
    let reached_people = rows.iter().any(|r| {
        let app = r.lastapp.trim().to_ascii_lowercase();
        matches!(app.as_str(), "queue" | "dial" | "voicemail")
    });
    if let Some(r) = has("BUSY") {
        (Disposition::Busy, Some(r.disposition.trim().to_string()))
    } else if let Some(r) = has("NO ANSWER") {
        (Disposition::NoAnswer, Some(r.disposition.trim().to_string()))
    } else if has("ANSWERED").is_some() {
        match reached_people {
            true => (Disposition::NoAnswer, None),
            false => (Disposition::Answered, Some("ANSWERED".into())),
        }
    } else {
        let cause = rows.last().map(|r| r.disposition.trim().to_string());
        (Disposition::Failed, cause.filter(|c| !c.is_empty()))
    }
}

/// Fold the rows of one call; `utc_offset_secs` is the PBX's offset from UTC.
pub fn fold(rows: &[CdrRow], utc_offset_secs: i32, template: &str) -> Result<CallRecord, String> {
    let mut rows: Vec<&CdrRow> = rows.iter().collect();
    rows.sort_by(|a, b| (&a.calldate, a.sequence, &a.uniqueid).cmp(&(&b.calldate, b.sequence, &b.uniqueid)));
    let first = *rows.first().ok_or("a call without records")?;
    let offset = UtcOffset::from_whole_seconds(utc_offset_secs)
        .map_err(|_| format!("invalid UTC offset {utc_offset_secs}"))?;
    let start = local_time(&first.calldate)
        .ok_or_else(|| format!("unreadable calldate {:?}", first.calldate))?;
    let end = rows.iter().filter_map(|r| end_of(r)).max().unwrap_or(start);
    let (direction, dialler) = rows
        .iter()
        .map(|r| infer_direction(caller(r), &r.dst, &r.channel, &r.dstchannel, EXTENSION_MAX_DIGITS))
        .find(|(d, _)| *d != Direction::Unknown)
        .unwrap_or((Direction::Unknown, None));
    let lead = rows
        .iter()
        .copied()
        .find(|r| {
            infer_direction(caller(r), &r.dst, &r.channel, &r.dstchannel, EXTENSION_MAX_DIGITS).0
                == direction
        })
        .unwrap_or(first);
    let outbound = direction == Direction::Outbound || direction == Direction::Internal;
    let talk_rows: Vec<&CdrRow> = rows
        .iter()
        .copied()
        .filter(|r| answered(r))
        .filter(|r| outbound || channel_extension(&r.dstchannel, EXTENSION_MAX_DIGITS).is_some())
        .collect();
    let (disposition, cause, agent) = if let Some(r) = talk_rows.first() {
        let agent = match outbound {
            true => channel_extension(&r.channel, EXTENSION_MAX_DIGITS).or(dialler.clone()),
            false => channel_extension(&r.dstchannel, EXTENSION_MAX_DIGITS),
        };
        (Disposition::Answered, Some("ANSWERED".to_string()), agent)
    } else if outbound {
        let (d, cause) = unanswered(&rows);
        let d = if d == Disposition::Answered { Disposition::NoAnswer } else { d };
        (d, cause, dialler.clone())
    } else {
        let (d, cause) = unanswered(&rows);
        (d, cause, None)
    };
    // The IVR-only call counts the system's answered time.
    let counted: Vec<&CdrRow> = match (disposition, talk_rows.is_empty()) {
        (Disposition::Answered, true) => rows.iter().copied().filter(|r| answered(r)).collect(),
        _ => talk_rows.clone(),
    };
    let spans: Vec<_> = counted.iter().filter_map(|r| talk(r)).collect();
    let answered_at = spans.iter().map(|s| s.0).min();
    let billable = union_secs(spans);
    let recording = counted
        .iter()
        .chain(rows.iter())
        .find(|r| !r.recordingfile.trim().is_empty())
        .and_then(|r| recording_url(template, r));
    let to = match (outbound, lead.did.trim()) {
        (false, did) if !did.is_empty() => did.to_string(),
        _ => lead.dst.trim().to_string(),
    };
    let utc = |t: PrimitiveDateTime| t.assume_offset(offset).to_offset(UtcOffset::UTC);
    Ok(CallRecord {
        source: Source::Asterisk,
        kind: ContactKind::Call,
        external_id: first.call_key().to_string(),
        direction,
        from: caller(lead).to_string(),
        to,
        caller_name: caller_name(lead),
        started_at: utc(start),
        answered_at: answered_at.map(utc),
        ended_at: Some(utc(end)),
        duration_secs: (end - start).whole_seconds().max(0) as u32,
        billable_secs: billable.max(0) as u32,
        disposition,
        agent_extension: agent,
        recording_url: recording,
        fax_pages: None,
        fax_status: None,
        raw_cause: cause,
    })
}
