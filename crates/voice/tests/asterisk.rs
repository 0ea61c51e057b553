//! Asterisk `Master.csv` parsing against a realistic fixture.

use switchboard_voice::{
    parse_asterisk, ContactKind, Direction, Disposition, ParseOptions, Source,
};
use time::macros::datetime;

const FIXTURE: &[u8] = include_bytes!("fixtures/asterisk_master.csv");

fn tehran() -> ParseOptions {
    ParseOptions {
        utc_offset_secs: 3 * 3600 + 1800,
        internal_extension_max_len: 5,
    }
}

#[test]
fn good_lines_become_records_and_bad_lines_are_reported_with_their_line_numbers() {
    let report = parse_asterisk(FIXTURE, &tehran());
    assert_eq!(report.records.len(), 8, "{:#?}", report.errors);
    let lines: Vec<usize> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![7, 8, 10]);
    assert!(report.errors[0].reason.contains("start"));
    assert!(report.errors[1].reason.contains("unterminated"));
    assert!(report.errors[2].reason.contains("columns"));
}

#[test]
fn an_answered_inbound_call_is_fully_mapped_and_converted_to_utc() {
    let report = parse_asterisk(FIXTURE, &tehran());
    let r = &report.records[0];
    assert_eq!(r.source, Source::Asterisk);
    assert_eq!(r.kind, ContactKind::Call);
    assert_eq!(r.external_id, "1740806400.1");
    assert_eq!(r.direction, Direction::Inbound);
    assert_eq!(r.from, "09121234567");
    assert_eq!(r.to, "101");
    assert_eq!(r.caller_name.as_deref(), Some("Sara Ahmadi"));
    assert_eq!(r.started_at, datetime!(2025-03-01 05:30:00 UTC));
    assert_eq!(r.answered_at, Some(datetime!(2025-03-01 05:30:06 UTC)));
    assert_eq!(r.ended_at, Some(datetime!(2025-03-01 05:33:06 UTC)));
    assert_eq!((r.duration_secs, r.billable_secs), (186, 180));
    assert_eq!(r.disposition, Disposition::Answered);
    assert_eq!(r.agent_extension.as_deref(), Some("101"));
    assert_eq!(r.raw_cause.as_deref(), Some("ANSWERED"));
}

#[test]
fn an_extension_dialling_out_is_outbound_with_the_extension_as_agent() {
    let r = &parse_asterisk(FIXTURE, &tehran()).records[1];
    assert_eq!(r.direction, Direction::Outbound);
    assert_eq!(r.agent_extension.as_deref(), Some("102"));
    assert_eq!(r.caller_name.as_deref(), Some("Reza"));
}

#[test]
fn persian_digits_in_src_are_kept_raw_but_count_for_direction() {
    let r = &parse_asterisk(FIXTURE, &tehran()).records[2];
    assert_eq!(r.from, "۰۹۳۵۱۱۱۲۲۳۳");
    assert_eq!(r.direction, Direction::Inbound);
    assert_eq!(r.disposition, Disposition::NoAnswer);
    assert_eq!(r.answered_at, None);
    assert_eq!(r.caller_name, None, "a name equal to the number is dropped");
}

#[test]
fn busy_internal_and_congested_calls_get_their_dispositions() {
    let recs = parse_asterisk(FIXTURE, &tehran()).records;
    assert_eq!(recs[3].disposition, Disposition::Busy);
    assert_eq!(recs[3].direction, Direction::Outbound);
    assert_eq!(recs[4].direction, Direction::Internal);
    assert_eq!(recs[4].agent_extension.as_deref(), Some("101"));
    assert_eq!(recs[6].from, "٠٩١٢٣٣٣٤٤٥٥");
    assert_eq!(recs[6].disposition, Disposition::Failed);
    assert_eq!(recs[6].raw_cause.as_deref(), Some("CONGESTION"));
}

#[test]
fn extra_columns_are_accepted_and_the_agent_comes_from_dstchannel_for_a_did() {
    let r = &parse_asterisk(FIXTURE, &tehran()).records[5];
    assert_eq!(r.external_id, "1740809400.11");
    assert_eq!(r.to, "02133445566");
    assert_eq!(r.direction, Direction::Inbound);
    assert_eq!(r.agent_extension.as_deref(), Some("105"));
}

#[test]
fn an_old_build_line_without_uniqueid_gets_a_synthetic_id() {
    let r = &parse_asterisk(FIXTURE, &tehran()).records[7];
    assert_eq!(r.external_id, "2025-03-01 10:20:00|Zap/1-1|02155556666|107");
    assert_eq!(r.agent_extension.as_deref(), Some("107"));
}

#[test]
fn invalid_utf8_and_binary_garbage_are_errors_that_do_not_stop_parsing() {
    let good = FIXTURE.split(|&b| b == b'\n').next().unwrap();
    let mut input = Vec::new();
    input.extend_from_slice(b"\"\",\"\xff\xfe\",\"101\"\n");
    input.extend_from_slice(b"\x00\x01\x02garbage\n");
    input.extend_from_slice(good);
    let report = parse_asterisk(&input, &tehran());
    assert_eq!(report.records.len(), 1);
    assert_eq!(report.errors.len(), 2);
    assert!(report.errors[0].reason.contains("UTF-8"));
    assert!(report.errors[1].reason.contains("binary"));
}

#[test]
fn crlf_line_endings_and_blank_lines_are_handled() {
    let good = FIXTURE.split(|&b| b == b'\n').next().unwrap();
    let mut input = b"\r\n  \n".to_vec();
    input.extend_from_slice(good);
    input.extend_from_slice(b"\r\n");
    let report = parse_asterisk(&input, &tehran());
    assert_eq!(report.records.len(), 1);
    assert!(report.errors.is_empty());
}

#[test]
fn an_invalid_utc_offset_is_reported_per_line_instead_of_panicking() {
    let opts = ParseOptions {
        utc_offset_secs: i32::MAX,
        internal_extension_max_len: 5,
    };
    let report = parse_asterisk(FIXTURE, &opts);
    assert!(report.records.is_empty());
    assert!(report
        .errors
        .iter()
        .all(|e| e.reason.contains("utc_offset")));
}

#[test]
fn timestamps_at_the_edge_of_the_calendar_are_errors_not_panics() {
    let line = |start: &str| {
        format!(
            "\"\",\"101\",\"102\",\"c\",\"\",\"SIP/101-1\",\"\",\"Dial\",\"\",\"{start}\",\"\",\"\",0,0,\"NO ANSWER\",\"DOCUMENTATION\",\"1.1\",\"\"\n"
        )
    };
    let west = ParseOptions {
        utc_offset_secs: -(25 * 3600),
        internal_extension_max_len: 5,
    };
    let report = parse_asterisk(line("9999-12-31 23:59:59").as_bytes(), &west);
    assert_eq!(report.errors.len(), 1, "{report:?}");
    assert!(report.errors[0].reason.contains("range"));
    let report = parse_asterisk(line("2025-02-30 10:00:00").as_bytes(), &tehran());
    assert_eq!(report.errors.len(), 1);
}
