//! Pure parsers turning telephony and fax logs into channel-neutral
//! [`CallRecord`]s for Switchboard.
//!
//! Supported inputs:
//!
//! * Asterisk `cdr_csv` `Master.csv` — [`parse_asterisk`];
//! * FreeSWITCH `mod_cdr_csv`, default template — [`parse_freeswitch`];
//! * HylaFAX `xferfaxlog` — [`parse_hylafax`];
//! * Zammad-style generic CTI events and our fax event — [`parse_cti_json`],
//!   [`parse_cti_form`].
//!
//! Log parsers never fail as a whole and never panic: each malformed line
//! (wrong column count, bad date, invalid UTF-8, binary garbage, a quote
//! left open) becomes a [`LineError`] carrying its 1-based physical line
//! number, and parsing continues with the next line. Lines are split on
//! `\n` before CSV decoding (none of these formats embeds newlines in
//! practice), so a broken line can never swallow the lines after it.
//!
//! Numbers are kept exactly as logged (they may contain Persian `۰-۹` or
//! Arabic-Indic `٠-٩` digits); direction inference counts those as digits.
//!
//! ```
//! use switchboard_voice::{parse_asterisk, Direction, ParseOptions};
//!
//! let line = r#""","۰۹۱۲۱۲۳۴۵۶۷","101","from-trunk","""Sara"" <۰۹۱۲۱۲۳۴۵۶۷>","PJSIP/tci-00000001","PJSIP/101-00000002","Dial","PJSIP/101,30","2025-03-01 10:00:00","2025-03-01 10:00:05","2025-03-01 10:02:05",125,120,"ANSWERED","DOCUMENTATION","1740812400.1","""#;
//! let opts = ParseOptions { utc_offset_secs: 12600, internal_extension_max_len: 5 };
//! let report = parse_asterisk(line.as_bytes(), &opts);
//! assert!(report.errors.is_empty());
//! let call = &report.records[0];
//! assert_eq!(call.direction, Direction::Inbound);
//! assert_eq!(call.agent_extension.as_deref(), Some("101"));
//! assert_eq!(call.caller_name.as_deref(), Some("Sara"));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod asterisk;
mod cti;
mod datetime;
mod freeswitch;
mod hylafax;
mod infer;
mod lines;
mod record;

pub use cti::{parse_cti_form, parse_cti_json, CtiError, CtiEvent, FaxStatus, HangupCause};
pub use infer::{
    ascii_digits, channel_extension, count_digits, digit_value, infer as infer_direction,
};
pub use record::{
    CallRecord, ContactKind, Direction, Disposition, LineError, ParseOptions, ParseReport, Source,
};

/// Parses a whole Asterisk `Master.csv` (the last line may lack a newline).
pub fn parse_asterisk(input: &[u8], opts: &ParseOptions) -> ParseReport {
    parse_all(Source::Asterisk, input, opts)
}

/// Parses a whole FreeSWITCH `cdr-csv` file written with the default template.
pub fn parse_freeswitch(input: &[u8], opts: &ParseOptions) -> ParseReport {
    parse_all(Source::FreeSwitch, input, opts)
}

/// Parses a whole HylaFAX `xferfaxlog`; `SEND` and `RECV` lines become
/// records, other record kinds are skipped silently.
pub fn parse_hylafax(input: &[u8], opts: &ParseOptions) -> ParseReport {
    parse_all(Source::HylaFax, input, opts)
}

fn parse_all(format: Source, input: &[u8], opts: &ParseOptions) -> ParseReport {
    run(format, input, 1, true, opts).0
}

/// Parses the complete lines of a chunk read from a growing log file.
///
/// Only lines terminated by `\n` are parsed; a trailing partial line is left
/// for the next call. Returns the report and the number of bytes consumed:
/// the caller keeps `input[consumed..]`, appends the next read to it, and
/// passes `first_line` advanced by the number of newlines consumed (error
/// line numbers count from `first_line`, which is normally 1 for the start
/// of the file). Blank lines are counted but ignored.
///
/// [`Source::Cti`] is not a log format: every line is rejected.
pub fn parse_chunk(
    format: Source,
    input: &[u8],
    first_line: usize,
    opts: &ParseOptions,
) -> (ParseReport, usize) {
    run(format, input, first_line, false, opts)
}

fn run(
    format: Source,
    input: &[u8],
    first_line: usize,
    include_partial: bool,
    opts: &ParseOptions,
) -> (ParseReport, usize) {
    let delimiter = if format == Source::HylaFax {
        b'\t'
    } else {
        b','
    };
    let mut splitter = lines::FieldSplitter::new(delimiter);
    lines::drive(input, first_line, include_partial, |line| {
        // NUL bytes mean nothing in a log line, and databases cannot store them in text.
        let cleaned: Vec<u8>;
        let line = if line.contains(&0) {
            cleaned = line.iter().copied().filter(|b| *b != 0).collect();
            &cleaned[..]
        } else {
            line
        };
        match format {
            Source::Asterisk => asterisk::parse_line(line, &mut splitter, opts),
            Source::FreeSwitch => freeswitch::parse_line(line, &mut splitter, opts),
            Source::HylaFax => hylafax::parse_line(line, &mut splitter, opts),
            Source::Cti => Err("CTI events are not a line-based log format".to_string()),
        }
    })
}
