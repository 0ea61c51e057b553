//! Tailing a growing log with `parse_chunk`.

use switchboard_voice::{parse_asterisk, parse_chunk, ParseOptions, Source};

const FIXTURE: &[u8] = include_bytes!("fixtures/asterisk_master.csv");

/// Feeds `input` in pieces of `step` bytes the way a file tailer would.
fn tail(input: &[u8], step: usize) -> (Vec<String>, Vec<usize>) {
    let opts = ParseOptions::default();
    let (mut ids, mut error_lines) = (Vec::new(), Vec::new());
    let mut pending: Vec<u8> = Vec::new();
    let mut next_line = 1;
    for piece in input.chunks(step) {
        pending.extend_from_slice(piece);
        let (report, consumed) = parse_chunk(Source::Asterisk, &pending, next_line, &opts);
        next_line += pending[..consumed].iter().filter(|&&b| b == b'\n').count();
        pending.drain(..consumed);
        ids.extend(report.records.into_iter().map(|r| r.external_id));
        error_lines.extend(report.errors.into_iter().map(|e| e.line));
    }
    (ids, error_lines)
}

#[test]
fn a_partial_last_line_is_left_unconsumed_until_its_newline_arrives() {
    let first_two: usize = FIXTURE
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .nth(1)
        .map(|(i, _)| i + 1)
        .unwrap();
    let input = &FIXTURE[..first_two + 20];
    let (report, consumed) = parse_chunk(Source::Asterisk, input, 1, &ParseOptions::default());
    assert_eq!(consumed, first_two);
    assert_eq!(report.records.len(), 2);
    assert!(
        report.errors.is_empty(),
        "the partial line must not be an error"
    );
}

#[test]
fn a_chunk_without_any_newline_consumes_nothing() {
    let (report, consumed) =
        parse_chunk(Source::Asterisk, b"\"\",\"101", 1, &ParseOptions::default());
    assert_eq!(consumed, 0);
    assert!(report.records.is_empty() && report.errors.is_empty());
}

#[test]
fn error_line_numbers_continue_from_first_line() {
    let (report, consumed) = parse_chunk(
        Source::FreeSwitch,
        b"\n\"bad\"\n",
        41,
        &ParseOptions::default(),
    );
    assert_eq!(consumed, 7);
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].line, 42);
}

#[test]
fn tailing_in_small_pieces_gives_the_same_result_as_parsing_the_whole_file() {
    let whole = parse_asterisk(FIXTURE, &ParseOptions::default());
    let ids: Vec<String> = whole
        .records
        .iter()
        .map(|r| r.external_id.clone())
        .collect();
    let lines: Vec<usize> = whole.errors.iter().map(|e| e.line).collect();
    for step in [1, 7, 64, 333, FIXTURE.len()] {
        assert_eq!(
            tail(FIXTURE, step),
            (ids.clone(), lines.clone()),
            "step {step}"
        );
    }
}

#[test]
fn cti_is_not_a_log_format_for_chunks() {
    let (report, consumed) = parse_chunk(Source::Cti, b"{}\n", 1, &ParseOptions::default());
    assert_eq!(consumed, 3);
    assert_eq!(report.errors.len(), 1);
}
