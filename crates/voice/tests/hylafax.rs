//! HylaFAX `xferfaxlog` parsing.

use switchboard_voice::{parse_hylafax, ContactKind, Direction, Disposition, ParseOptions, Source};
use time::macros::datetime;

const FIXTURE: &[u8] = include_bytes!("fixtures/hylafax_xferfaxlog");

fn opts() -> ParseOptions {
    ParseOptions {
        utc_offset_secs: 12600,
        internal_extension_max_len: 5,
    }
}

#[test]
fn send_and_recv_become_fax_records_other_kinds_are_skipped_and_bad_dates_reported() {
    let report = parse_hylafax(FIXTURE, &opts());
    let ids: Vec<&str> = report
        .records
        .iter()
        .map(|r| r.external_id.as_str())
        .collect();
    assert_eq!(
        ids,
        vec!["00000123", "00000124", "00000125", "00000126", "00000128"]
    );
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].line, 8);
    assert!(report.records.iter().all(|r| r.kind == ContactKind::Fax));
    assert!(report.records.iter().all(|r| r.source == Source::HylaFax));
}

#[test]
fn a_successful_send_is_outbound_with_pages_times_and_ok_status() {
    let r = &parse_hylafax(FIXTURE, &opts()).records[0];
    assert_eq!(r.direction, Direction::Outbound);
    assert_eq!(r.from, "ali@example.ir");
    assert_eq!(r.to, "02188776655");
    assert_eq!(r.started_at, datetime!(2025-03-01 05:30:00 UTC));
    assert_eq!(r.ended_at, Some(datetime!(2025-03-01 05:31:12 UTC)));
    assert_eq!(r.answered_at, Some(datetime!(2025-03-01 05:30:14 UTC)));
    assert_eq!((r.duration_secs, r.billable_secs), (72, 58));
    assert_eq!(r.fax_pages, Some(3));
    assert_eq!(r.fax_status.as_deref(), Some("ok"));
    assert_eq!(r.disposition, Disposition::Answered);
    assert_eq!(r.raw_cause, None);
}

#[test]
fn a_receive_is_inbound_with_the_caller_id_number_and_name() {
    let r = &parse_hylafax(FIXTURE, &opts()).records[1];
    assert_eq!(r.direction, Direction::Inbound);
    assert_eq!(r.from, "۰۹۱۲۱۲۳۴۵۶۷");
    assert_eq!(r.to, "02133445566");
    assert_eq!(r.caller_name.as_deref(), Some("ACME"));
    assert_eq!(r.fax_pages, Some(4));
}

#[test]
fn failed_sends_carry_the_reason_and_a_matching_disposition() {
    let recs = parse_hylafax(FIXTURE, &opts()).records;
    assert_eq!(recs[2].disposition, Disposition::Busy);
    assert_eq!(recs[2].fax_status.as_deref(), Some("failed"));
    assert_eq!(recs[2].raw_cause.as_deref(), Some("Busy signal detected"));
    assert_eq!(recs[2].answered_at, None);
    assert_eq!(recs[3].disposition, Disposition::Failed);
    assert_eq!(
        recs[3].raw_cause.as_deref(),
        Some("No response to EOP repeated 3 times")
    );
}

#[test]
fn a_receive_without_caller_id_falls_back_to_the_trimmed_tsi() {
    let r = &parse_hylafax(FIXTURE, &opts()).records[4];
    assert_eq!(r.from, "SHOP 22");
    assert_eq!(r.caller_name, None);
}

#[test]
fn unknown_record_kinds_and_short_send_lines_are_errors() {
    let input = b"03/01/25 09:00\tsend?\t1\n03/01/25 09:00\tSEND\t1\tttyS0\n";
    let report = parse_hylafax(input, &opts());
    assert!(report.records.is_empty());
    assert_eq!(report.errors.len(), 2);
    assert!(report.errors[0].reason.contains("kind"));
    assert!(report.errors[1].reason.contains("columns"));
}
