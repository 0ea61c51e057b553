//! FreeSWITCH `mod_cdr_csv` default-template parsing.

use switchboard_voice::{parse_freeswitch, Direction, Disposition, ParseOptions, Source};
use time::macros::datetime;

const FIXTURE: &[u8] = include_bytes!("fixtures/freeswitch_master.csv");

fn opts() -> ParseOptions {
    ParseOptions {
        utc_offset_secs: 12600,
        internal_extension_max_len: 4,
    }
}

#[test]
fn the_default_template_yields_records_and_a_bad_start_stamp_is_reported() {
    let report = parse_freeswitch(FIXTURE, &opts());
    assert_eq!(report.records.len(), 6, "{:#?}", report.errors);
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].line, 6);
    assert!(report.errors[0].reason.contains("start_stamp"));
}

#[test]
fn an_answered_call_keeps_uuid_cause_and_utc_times() {
    let r = &parse_freeswitch(FIXTURE, &opts()).records[0];
    assert_eq!(r.source, Source::FreeSwitch);
    assert_eq!(r.external_id, "a5c9f6c0-e752-11e3-8bfb-65b6c3cdac7d");
    assert_eq!(r.caller_name.as_deref(), Some("Sara Ahmadi"));
    assert_eq!(r.direction, Direction::Inbound);
    assert_eq!(r.agent_extension.as_deref(), Some("1001"));
    assert_eq!(r.started_at, datetime!(2025-03-01 05:30:00 UTC));
    assert_eq!(r.disposition, Disposition::Answered);
    assert_eq!(r.raw_cause.as_deref(), Some("NORMAL_CLEARING"));
    assert_eq!((r.duration_secs, r.billable_secs), (186, 180));
}

#[test]
fn hangup_causes_of_unanswered_calls_map_to_no_answer_busy_or_failed() {
    let recs = parse_freeswitch(FIXTURE, &opts()).records;
    let got: Vec<(Disposition, Direction)> =
        recs.iter().map(|r| (r.disposition, r.direction)).collect();
    assert_eq!(
        got,
        vec![
            (Disposition::Answered, Direction::Inbound),
            (Disposition::NoAnswer, Direction::Outbound),
            (Disposition::Busy, Direction::Inbound),
            (Disposition::NoAnswer, Direction::Internal),
            (Disposition::Busy, Direction::Inbound),
            (Disposition::Failed, Direction::Outbound),
        ]
    );
}

#[test]
fn persian_caller_numbers_are_kept_and_a_name_equal_to_the_number_is_dropped() {
    let r = &parse_freeswitch(FIXTURE, &opts()).records[2];
    assert_eq!(r.from, "۰۹۳۵۱۱۱۲۲۳۳");
    assert_eq!(r.caller_name, None);
}

#[test]
fn a_line_with_too_few_columns_is_rejected() {
    let report = parse_freeswitch(b"\"a\",\"b\",\"c\"\n", &opts());
    assert!(report.records.is_empty());
    assert_eq!(report.errors[0].line, 1);
    assert!(report.errors[0].reason.contains("columns"));
}
