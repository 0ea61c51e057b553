//! HylaFAX `xferfaxlog` parser.
//!
//! Tab-separated, one record per line; some fields are double-quoted.
//! Per `xferfaxlog(5)` the two record kinds turned into records are:
//!
//! ```text
//! date SEND commid modem jobid jobtag sender "dest-number" "CSI" params #pages jobtime conntime "reason" ...
//! date RECV commid modem qfile <null> fax "local-number" "TSI" params #pages jobtime conntime "reason" "CallID1" "CallID2" ...
//! ```
//!
//! `date` is `MM/DD/YY HH:MM` local time (session start), `jobtime` and
//! `conntime` are `HH:MM:SS`, and an empty `reason` means success.
//! Other kinds (`CALL`, `POLL`, `PAGE`, `UNSENT`, `SUBMIT`, `PROCESS`, ...,
//! any upper-case word) are skipped without error.

use csv::StringRecord;
use time::UtcOffset;

use crate::datetime::{parse_hylafax_local, plus_secs};
use crate::infer::{count_digits, digit_value};
use crate::lines::{field, non_empty, truncate, FieldSplitter, LineResult};
use crate::record::{CallRecord, ContactKind, Direction, Disposition, ParseOptions, Source};

/// Columns up to and including `reason`.
const MIN_COLUMNS: usize = 14;
/// Most columns accepted.
const MAX_COLUMNS: usize = 40;

/// Parses one `xferfaxlog` line; `Ok(None)` for kinds that are not faxes.
pub(crate) fn parse_line(
    line: &[u8],
    splitter: &mut FieldSplitter,
    opts: &ParseOptions,
) -> LineResult {
    let offset = crate::datetime::offset(opts.utc_offset_secs)?;
    let rec = splitter.split(line)?;
    build(&rec, offset)
}

fn build(rec: &StringRecord, offset: UtcOffset) -> LineResult {
    if rec.len() < 2 {
        return Err(format!(
            "expected tab-separated fields, found {}",
            rec.len()
        ));
    }
    let started_at = parse_hylafax_local(field(rec, 0), offset)?;
    let kind = field(rec, 1).trim();
    let direction = match kind {
        "SEND" => Direction::Outbound,
        "RECV" => Direction::Inbound,
        k if !k.is_empty() && k.bytes().all(|b| b.is_ascii_uppercase()) => return Ok(None),
        k => return Err(format!("unknown record kind {:?}", truncate(k))),
    };
    let n = rec.len();
    if !(MIN_COLUMNS..=MAX_COLUMNS).contains(&n) {
        return Err(format!(
            "{kind} record needs {MIN_COLUMNS} to {MAX_COLUMNS} columns, found {n}"
        ));
    }
    let external_id = non_empty(field(rec, 2)).ok_or_else(|| "missing commid".to_string())?;
    let pages = field(rec, 10)
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("invalid #pages {:?}", truncate(field(rec, 10))))?;
    let jobtime = parse_hms(field(rec, 11), "jobtime")?;
    let conntime = parse_hms(field(rec, 12), "conntime")?;
    let reason = non_empty(field(rec, 13));
    let disposition = match &reason {
        None => Disposition::Answered,
        Some(r) => failure_disposition(r),
    };
    let ended_at = plus_secs(started_at, jobtime);
    // The log has no answer time; estimate it as the end minus connect time.
    let answered_at = match disposition {
        Disposition::Answered => ended_at
            .and_then(|e| e.checked_sub(time::Duration::seconds(i64::from(conntime))))
            .map(|a| a.max(started_at)),
        _ => None,
    };
    let (from, to, caller_name) = if direction == Direction::Outbound {
        // sender is the submitting user's address; dest-number was dialled.
        (
            field(rec, 6).trim().to_string(),
            field(rec, 7).to_string(),
            None,
        )
    } else {
        let (number, name) = caller_id(rec);
        let from = number.unwrap_or_else(|| field(rec, 8).trim().to_string());
        (from, field(rec, 7).to_string(), name)
    };
    Ok(Some(CallRecord {
        source: Source::HylaFax,
        kind: ContactKind::Fax,
        external_id,
        direction,
        from,
        to,
        caller_name,
        started_at,
        answered_at,
        ended_at,
        duration_secs: jobtime,
        billable_secs: conntime,
        disposition,
        agent_extension: None,
        recording_url: None,
        fax_pages: Some(pages),
        fax_status: Some(if reason.is_none() { "ok" } else { "failed" }.to_string()),
        raw_cause: reason,
    }))
}

/// Caller id of a RECV record: older releases log `CIDName`, `CIDNumber`;
/// newer ones `CallID1`, `CallID2`, ... whose meaning is site-configured.
/// The first of columns 14/15 that looks like a number is the number, the
/// other one the name.
fn caller_id(rec: &StringRecord) -> (Option<String>, Option<String>) {
    let a = field(rec, 14).trim();
    let b = field(rec, 15).trim();
    let numeric = |s: &str| {
        count_digits(s) > 0
            && s.chars()
                .all(|c| digit_value(c).is_some() || "+-() ".contains(c))
    };
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    if numeric(b) {
        (opt(b), opt(a))
    } else if numeric(a) {
        (opt(a), opt(b))
    } else {
        (None, opt(a))
    }
}

/// Classifies a HylaFAX failure reason by keyword.
fn failure_disposition(reason: &str) -> Disposition {
    let r = reason.to_ascii_lowercase();
    if r.contains("busy") {
        Disposition::Busy
    } else if r.contains("no answer") || r.contains("no carrier") || r.contains("ring") {
        Disposition::NoAnswer
    } else {
        Disposition::Failed
    }
}

/// Parses `H:MM:SS`, `MM:SS` or plain seconds.
fn parse_hms(s: &str, what: &str) -> Result<u32, String> {
    let t = s.trim();
    let bad = || format!("invalid {what} {:?}", truncate(t));
    let mut total: u32 = 0;
    let mut parts = 0;
    for part in t.split(':') {
        parts += 1;
        if parts > 3
            || part.is_empty()
            || part.len() > 6
            || !part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let v: u32 = part.parse().map_err(|_| bad())?;
        total = total
            .checked_mul(60)
            .and_then(|x| x.checked_add(v))
            .ok_or_else(bad)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_times_accept_hours_minutes_and_seconds() {
        assert_eq!(parse_hms("0:01:05", "t"), Ok(65));
        assert_eq!(parse_hms("02:30", "t"), Ok(150));
        assert_eq!(parse_hms("7", "t"), Ok(7));
        assert!(parse_hms("1::2", "t").is_err());
        assert!(parse_hms("", "t").is_err());
    }

    #[test]
    fn failure_reasons_are_classified_by_keyword() {
        assert_eq!(
            failure_disposition("Busy signal detected"),
            Disposition::Busy
        );
        assert_eq!(
            failure_disposition("No answer from remote"),
            Disposition::NoAnswer
        );
        assert_eq!(
            failure_disposition("No carrier detected"),
            Disposition::NoAnswer
        );
        assert_eq!(
            failure_disposition("Document conversion failed"),
            Disposition::Failed
        );
    }
}
