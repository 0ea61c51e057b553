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
    let name = if name.is_empty() {
        row.cnam.trim()
    } else {
        name
    };
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
        (
            Disposition::NoAnswer,
            Some(r.disposition.trim().to_string()),
        )
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

fn direction_of(row: &CdrRow) -> (Direction, Option<String>) {
    infer_direction(
        caller(row),
        &row.dst,
        &row.channel,
        &row.dstchannel,
        EXTENSION_MAX_DIGITS,
    )
}

/// The call's direction, the extension that dialled or was dialled, and the row naming its
/// numbers: the first row that shows a direction.
fn lead<'a>(rows: &[&'a CdrRow]) -> (Direction, Option<String>, &'a CdrRow) {
    rows.iter()
        .map(|r| (direction_of(r), *r))
        .find(|((d, _), _)| *d != Direction::Unknown)
        .map(|((d, ext), r)| (d, ext, r))
        .unwrap_or((Direction::Unknown, None, rows[0]))
}

/// How the call ended: disposition, cause, agent, and the rows whose talk time counts.
struct Outcome<'a> {
    disposition: Disposition,
    cause: Option<String>,
    agent: Option<String>,
    counted: Vec<&'a CdrRow>,
}

fn outcome<'a>(rows: &[&'a CdrRow], outbound: bool, dialler: Option<String>) -> Outcome<'a> {
    let talk_rows: Vec<&CdrRow> = rows
        .iter()
        .copied()
        .filter(|r| answered(r))
        .filter(|r| outbound || channel_extension(&r.dstchannel, EXTENSION_MAX_DIGITS).is_some())
        .collect();
    if let Some(r) = talk_rows.first() {
        let agent = match outbound {
            true => channel_extension(&r.channel, EXTENSION_MAX_DIGITS).or(dialler),
            false => channel_extension(&r.dstchannel, EXTENSION_MAX_DIGITS),
        };
        return Outcome {
            disposition: Disposition::Answered,
            cause: Some("ANSWERED".to_string()),
            agent,
            counted: talk_rows,
        };
    }
    let (disposition, cause) = unanswered(rows);
    match (outbound, disposition) {
        // Nobody picked up the outbound call (its own channel was answered, if anything).
        (true, Disposition::Answered) => Outcome {
            disposition: Disposition::NoAnswer,
            cause,
            agent: dialler,
            counted: Vec::new(),
        },
        (true, _) => Outcome {
            disposition,
            cause,
            agent: dialler,
            counted: Vec::new(),
        },
        // An inbound call that only reached the IVR counts the system's answered time.
        (false, Disposition::Answered) => Outcome {
            disposition,
            cause,
            agent: None,
            counted: rows.iter().copied().filter(|r| answered(r)).collect(),
        },
        (false, _) => Outcome {
            disposition,
            cause,
            agent: None,
            counted: Vec::new(),
        },
    }
}

/// Fold the rows of one call; `utc_offset_secs` is the PBX's offset from UTC.
pub fn fold(rows: &[CdrRow], utc_offset_secs: i32, template: &str) -> Result<CallRecord, String> {
    let mut rows: Vec<&CdrRow> = rows.iter().collect();
    rows.sort_by(|a, b| {
        (&a.calldate, a.sequence, &a.uniqueid).cmp(&(&b.calldate, b.sequence, &b.uniqueid))
    });
    let first = *rows.first().ok_or("a call without records")?;
    let offset = UtcOffset::from_whole_seconds(utc_offset_secs)
        .map_err(|_| format!("invalid UTC offset {utc_offset_secs}"))?;
    let start = local_time(&first.calldate)
        .ok_or_else(|| format!("unreadable calldate {:?}", first.calldate))?;
    let end = rows.iter().filter_map(|r| end_of(r)).max().unwrap_or(start);
    let (direction, dialler, lead) = lead(&rows);
    let outbound = direction == Direction::Outbound || direction == Direction::Internal;
    let Outcome {
        disposition,
        cause,
        agent,
        counted,
    } = outcome(&rows, outbound, dialler);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        calldate: &str,
        dst: &str,
        dstchannel: &str,
        app: &str,
        secs: (i64, i64),
        disp: &str,
    ) -> CdrRow {
        CdrRow {
            calldate: calldate.into(),
            src: "09121234567".into(),
            dst: dst.into(),
            channel: "PJSIP/tci-trunk-00000001".into(),
            dstchannel: dstchannel.into(),
            lastapp: app.into(),
            duration: secs.0,
            billsec: secs.1,
            disposition: disp.into(),
            uniqueid: "1.1".into(),
            linkedid: "1.1".into(),
            ..CdrRow::default()
        }
    }

    #[test]
    fn a_caller_who_hangs_up_in_the_queue_is_missed_though_the_queue_answered() {
        // FreePBX logs the queue answering the caller's channel (music on hold) as ANSWERED.
        let rows = [row(
            "2026-03-01 10:00:00",
            "400",
            "",
            "Queue",
            (48, 48),
            "ANSWERED",
        )];
        let call = fold(&rows, 0, "").unwrap();
        assert_eq!(call.disposition, Disposition::NoAnswer);
        assert_eq!((call.duration_secs, call.billable_secs), (48, 0));
        assert_eq!(call.agent_extension, None);
    }

    #[test]
    fn a_call_that_only_reached_the_ivr_was_answered_by_the_system() {
        let rows = [row(
            "2026-03-01 10:00:00",
            "s",
            "",
            "BackGround",
            (30, 30),
            "ANSWERED",
        )];
        let call = fold(&rows, 12600, "").unwrap();
        assert_eq!(call.disposition, Disposition::Answered);
        assert_eq!(call.billable_secs, 30);
        assert_eq!(call.started_at.hour(), 6, "Tehran 10:00 is 06:30 UTC");
    }

    #[test]
    fn a_busy_agent_makes_a_busy_call() {
        let rows = [row(
            "2026-03-01 10:00:00",
            "201",
            "PJSIP/201-1",
            "Dial",
            (2, 0),
            "BUSY",
        )];
        let call = fold(&rows, 0, "").unwrap();
        assert_eq!(call.disposition, Disposition::Busy);
        assert_eq!(call.raw_cause.as_deref(), Some("BUSY"));
    }
}
