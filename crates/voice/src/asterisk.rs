//! Asterisk `cdr_csv` (`Master.csv`) parser.
//!
//! Default column order, every field double-quoted:
//!
//! | # | field | # | field |
//! |---|-------|---|-------|
//! | 0 | accountcode | 9 | start |
//! | 1 | src | 10 | answer (may be empty) |
//! | 2 | dst | 11 | end |
//! | 3 | dcontext | 12 | duration |
//! | 4 | clid | 13 | billsec |
//! | 5 | channel | 14 | disposition |
//! | 6 | dstchannel | 15 | amaflags |
//! | 7 | lastapp | 16 | uniqueid (`loguniqueid`) |
//! | 8 | lastdata | 17 | userfield (`loguserfield`) |
//!
//! Builds with `newcdrcolumns` append peeraccount, linkedid and sequence;
//! any columns after `userfield` are accepted and ignored. Lines with 16
//! columns (neither uniqueid nor userfield) and 17 columns (uniqueid only)
//! are accepted too; without a uniqueid a synthetic external id is built.

use csv::StringRecord;
use time::UtcOffset;

use crate::datetime::{parse_iso_local, parse_iso_local_opt};
use crate::infer::infer;
use crate::lines::{field, non_empty, parse_secs, FieldSplitter, LineResult};
use crate::record::{CallRecord, ContactKind, Disposition, ParseOptions, Source};

/// Fewest columns accepted (no uniqueid, no userfield).
const MIN_COLUMNS: usize = 16;
/// Most columns accepted (18 defaults plus room for build-specific extras).
const MAX_COLUMNS: usize = 40;

/// Parses one `Master.csv` line.
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
    let src = field(rec, 1);
    let dst = field(rec, 2);
    let channel = field(rec, 5);
    let dstchannel = field(rec, 6);
    let start = field(rec, 9);
    let started_at = parse_iso_local(start, offset, "start")?;
    let answered_at = parse_iso_local_opt(field(rec, 10), offset, "answer")?;
    let ended_at = parse_iso_local_opt(field(rec, 11), offset, "end")?;
    let duration_secs = parse_secs(field(rec, 12), "duration")?;
    let billable_secs = parse_secs(field(rec, 13), "billsec")?;
    let raw_disposition = field(rec, 14).trim();
    let disposition = disposition(raw_disposition)?;
    let external_id = match rec.get(16).and_then(non_empty) {
        Some(id) => id,
        None => format!("{}|{}|{}|{}", start.trim(), channel.trim(), src, dst),
    };
    let (direction, agent_extension) = infer(
        src,
        dst,
        channel,
        dstchannel,
        opts.internal_extension_max_len,
    );
    Ok(CallRecord {
        source: Source::Asterisk,
        kind: ContactKind::Call,
        external_id,
        direction,
        from: src.to_string(),
        to: dst.to_string(),
        caller_name: caller_name(field(rec, 4), src),
        started_at,
        answered_at,
        ended_at,
        duration_secs,
        billable_secs,
        disposition,
        agent_extension,
        recording_url: None,
        fax_pages: None,
        fax_status: None,
        raw_cause: non_empty(raw_disposition),
    })
}

/// Maps Asterisk's disposition text. Numeric forms (`CDR(disposition,u)`)
/// are accepted as well.
fn disposition(raw: &str) -> Result<Disposition, String> {
    Ok(match raw.to_ascii_uppercase().as_str() {
        "ANSWERED" | "4" => Disposition::Answered,
        "NO ANSWER" | "1" => Disposition::NoAnswer,
        "BUSY" | "2" => Disposition::Busy,
        "FAILED" | "CONGESTION" | "3" => Disposition::Failed,
        _ => {
            return Err(format!(
                "unknown disposition {:?}",
                crate::lines::truncate(raw)
            ))
        }
    })
}

/// Extracts the display name from a clid like `"Sara" <09121234567>`.
/// Returns `None` when there is no name or it merely repeats the number.
fn caller_name(clid: &str, src: &str) -> Option<String> {
    let name = match clid.split_once('<') {
        Some((name, _)) => name,
        None => clid,
    };
    let name = name.trim().trim_matches('"').trim();
    if name.is_empty() || name == src.trim() {
        None
    } else {
        Some(name.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_name_is_taken_from_a_quoted_clid() {
        assert_eq!(caller_name("\"Sara\" <0912>", "0912"), Some("Sara".into()));
        assert_eq!(caller_name("\"0912\" <0912>", "0912"), None);
        assert_eq!(caller_name("", "0912"), None);
        assert_eq!(caller_name("Reza", "0912"), Some("Reza".into()));
    }

    #[test]
    fn unknown_dispositions_are_rejected() {
        assert!(disposition("HELLO").is_err());
        assert_eq!(disposition("CONGESTION"), Ok(Disposition::Failed));
    }
}
