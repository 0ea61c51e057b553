//! FreeSWITCH `mod_cdr_csv` parser for the `default` template:
//!
//! ```text
//! "${caller_id_name}","${caller_id_number}","${destination_number}","${context}",
//! "${start_stamp}","${answer_stamp}","${end_stamp}","${duration}","${billsec}",
//! "${hangup_cause}","${uuid}","${bleg_uuid}","${accountcode}","${read_codec}","${write_codec}"
//! ```
//!
//! Lines with at least 13 columns (the template without codecs) are
//! accepted; extra trailing columns are ignored.

use csv::StringRecord;
use time::UtcOffset;

use crate::datetime::{parse_iso_local, parse_iso_local_opt};
use crate::infer::infer;
use crate::lines::{field, non_empty, parse_secs, truncate, FieldSplitter, LineResult};
use crate::record::{CallRecord, ContactKind, Disposition, ParseOptions, Source};

/// Fewest columns accepted (through `accountcode`).
const MIN_COLUMNS: usize = 13;
/// Most columns accepted (custom templates append variables).
const MAX_COLUMNS: usize = 40;

/// Parses one `Master.csv` line of the default template.
pub(crate) fn parse_line(
    line: &[u8],
    splitter: &mut FieldSplitter,
    opts: &ParseOptions,
) -> LineResult {
    let offset = crate::datetime::offset(opts.utc_offset_secs)?;
    let rec = splitter.split(line)?;
    build(&rec, offset, opts).map(Some)
}

fn build(rec: &StringRecord, offset: UtcOffset, opts: &ParseOptions) -> Result<CallRecord, String> {
    let n = rec.len();
    if !(MIN_COLUMNS..=MAX_COLUMNS).contains(&n) {
        return Err(format!(
            "expected {MIN_COLUMNS} to {MAX_COLUMNS} columns, found {n}"
        ));
    }
    let name = field(rec, 0).trim();
    let number = field(rec, 1);
    let dst = field(rec, 2);
    let started_at = parse_iso_local(field(rec, 4), offset, "start_stamp")?;
    let answered_at = parse_iso_local_opt(field(rec, 5), offset, "answer_stamp")?;
    let ended_at = parse_iso_local_opt(field(rec, 6), offset, "end_stamp")?;
    let duration_secs = parse_secs(field(rec, 7), "duration")?;
    let billable_secs = parse_secs(field(rec, 8), "billsec")?;
    let cause = field(rec, 9).trim();
    if cause.is_empty()
        || !cause
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(format!("invalid hangup_cause {:?}", truncate(cause)));
    }
    let external_id = non_empty(field(rec, 10)).ok_or_else(|| "missing uuid".to_string())?;
    let (direction, agent_extension) = infer(number, dst, "", "", opts.internal_extension_max_len);
    Ok(CallRecord {
        source: Source::FreeSwitch,
        kind: ContactKind::Call,
        external_id,
        direction,
        from: number.to_string(),
        to: dst.to_string(),
        caller_name: (!name.is_empty() && name != number.trim()).then(|| name.to_string()),
        started_at,
        answered_at,
        ended_at,
        duration_secs,
        billable_secs,
        disposition: disposition(cause, answered_at.is_some() || billable_secs > 0),
        agent_extension,
        recording_url: None,
        fax_pages: None,
        fax_status: None,
        raw_cause: Some(cause.to_string()),
    })
}

/// Maps a Q.850-style hangup cause. A call that was answered counts as
/// answered whatever the cause (e.g. `NORMAL_CLEARING`, `MEDIA_TIMEOUT`).
pub(crate) fn disposition(cause: &str, answered: bool) -> Disposition {
    if answered {
        return Disposition::Answered;
    }
    match cause {
        "USER_BUSY" | "CALL_REJECTED" => Disposition::Busy,
        "NO_ANSWER" | "NO_USER_RESPONSE" | "ORIGINATOR_CANCEL" | "NORMAL_CLEARING"
        | "ALLOTTED_TIMEOUT" | "LOSE_RACE" | "PICKED_OFF" | "SUBSCRIBER_ABSENT" => {
            Disposition::NoAnswer
        }
        _ => Disposition::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangup_causes_map_to_dispositions() {
        assert_eq!(disposition("NORMAL_CLEARING", true), Disposition::Answered);
        assert_eq!(disposition("NORMAL_CLEARING", false), Disposition::NoAnswer);
        assert_eq!(disposition("USER_BUSY", false), Disposition::Busy);
        assert_eq!(disposition("CALL_REJECTED", false), Disposition::Busy);
        assert_eq!(
            disposition("ORIGINATOR_CANCEL", false),
            Disposition::NoAnswer
        );
        assert_eq!(
            disposition("UNALLOCATED_NUMBER", false),
            Disposition::Failed
        );
    }
}
