//! Line splitting and per-line CSV field extraction.
//!
//! All supported logs are one record per physical line and never contain
//! embedded newlines in practice. We therefore split the input on `\n`
//! ourselves and hand each line separately to the `csv` crate. This keeps a
//! quote left open on one line from swallowing the following lines (which a
//! single streaming CSV reader would do), and gives exact 1-based physical
//! line numbers for errors.

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

use csv::{ByteRecord, ReaderBuilder, StringRecord};

use crate::record::{CallRecord, LineError, ParseReport};

/// Outcome of parsing one line: a record, nothing (a line kind we ignore),
/// or a reason it is malformed.
pub(crate) type LineResult = Result<Option<CallRecord>, String>;

/// Splits `input` into lines and feeds each non-blank line to `per_line`.
///
/// With `include_partial` the last line is parsed even without a trailing
/// newline; without it, that line is left unconsumed. Returns the report and
/// the number of bytes consumed.
pub(crate) fn drive<F>(
    input: &[u8],
    first_line: usize,
    include_partial: bool,
    mut per_line: F,
) -> (ParseReport, usize)
where
    F: FnMut(&[u8]) -> LineResult,
{
    let mut report = ParseReport::default();
    let mut pos = 0usize;
    let mut consumed = 0usize;
    let mut line_no = first_line;
    while pos < input.len() {
        let rest = &input[pos..];
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], pos + i + 1),
            None if include_partial => (rest, input.len()),
            None => break,
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(u8::is_ascii_whitespace) {
            match per_line(line) {
                Ok(Some(record)) => report.records.push(record),
                Ok(None) => {}
                Err(reason) => report.errors.push(LineError {
                    line: line_no,
                    reason,
                }),
            }
        }
        pos = next;
        consumed = next;
        line_no = line_no.saturating_add(1);
    }
    (report, consumed)
}

/// Bytes of the current line, handed to the shared CSV reader on demand.
#[derive(Default)]
struct FeedState {
    data: Vec<u8>,
    pos: usize,
    /// Set when the reader asked for more input than the current line:
    /// the line did not end where a record should (e.g. an open quote).
    starved: bool,
}

/// `io::Read` adapter over [`FeedState`], shared with [`FieldSplitter`].
struct Feed(Rc<RefCell<FeedState>>);

impl Read for Feed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut st = self.0.borrow_mut();
        let rest = st.data.get(st.pos..).unwrap_or_default();
        if rest.is_empty() {
            st.starved = true;
            return Ok(0);
        }
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        st.pos += n;
        Ok(n)
    }
}

/// Splits single physical lines into fields with the `csv` crate.
///
/// Building a `csv::Reader` is costly compared with parsing one line, so a
/// single reader is reused: each line is fed to it followed by `\n`, and the
/// reader is rebuilt only after a line that did not end cleanly.
pub(crate) struct FieldSplitter {
    delimiter: u8,
    feed: Rc<RefCell<FeedState>>,
    reader: csv::Reader<Feed>,
    record: ByteRecord,
}

impl FieldSplitter {
    /// A splitter for fields separated by `delimiter`.
    pub(crate) fn new(delimiter: u8) -> Self {
        let feed = Rc::new(RefCell::new(FeedState::default()));
        let reader = Self::build(delimiter, &feed);
        Self {
            delimiter,
            feed,
            reader,
            record: ByteRecord::new(),
        }
    }

    fn build(delimiter: u8, feed: &Rc<RefCell<FeedState>>) -> csv::Reader<Feed> {
        ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(Feed(Rc::clone(feed)))
    }

    /// Splits one line (without its newline) into fields.
    ///
    /// Rejects control characters other than tab (binary garbage), a quoted
    /// field left open (an odd number of double quotes, or a record that
    /// does not end at the end of the line), and invalid UTF-8.
    pub(crate) fn split(&mut self, line: &[u8]) -> Result<StringRecord, String> {
        if let Some(b) = line
            .iter()
            .find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return Err(format!("binary data: control byte 0x{b:02x}"));
        }
        if line.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
            return Err(UNTERMINATED.to_string());
        }
        {
            let mut st = self.feed.borrow_mut();
            st.data.clear();
            st.data.extend_from_slice(line);
            st.data.push(b'\n');
            st.pos = 0;
            st.starved = false;
        }
        let result = self.reader.read_byte_record(&mut self.record);
        let (starved, leftover) = {
            let st = self.feed.borrow();
            (st.starved, st.pos < st.data.len())
        };
        match result {
            Ok(true) if !starved && !leftover => {}
            outcome => {
                // The reader may hold state from this line: start afresh.
                self.reader = Self::build(self.delimiter, &self.feed);
                return Err(match outcome {
                    Err(e) => format!("CSV error: {e}"),
                    _ => UNTERMINATED.to_string(),
                });
            }
        }
        StringRecord::from_byte_record(self.record.clone()).map_err(|e| {
            format!(
                "invalid UTF-8 in column {}",
                e.utf8_error().field().saturating_add(1)
            )
        })
    }
}

const UNTERMINATED: &str = "unterminated quoted field";

/// Field `i` of `rec`, or `""` when absent.
pub(crate) fn field(rec: &StringRecord, i: usize) -> &str {
    rec.get(i).unwrap_or("")
}

/// Parses a non-negative whole number of seconds, allowing surrounding blanks.
pub(crate) fn parse_secs(s: &str, what: &str) -> Result<u32, String> {
    let t = s.trim();
    t.parse::<u32>()
        .map_err(|_| format!("invalid {what}: {:?}", truncate(t)))
}

/// Returns `None` for an empty (after trimming) string, else the trimmed text.
pub(crate) fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Shortens a value for use in an error message.
pub(crate) fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Writes `fields` as one CSV line with the `csv` crate (no newline).
    fn write_line(fields: &[String], delimiter: u8) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .quote_style(csv::QuoteStyle::Always)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        w.write_record(fields).unwrap();
        let mut out = w.into_inner().unwrap();
        out.pop();
        out
    }

    #[test]
    fn an_open_quote_is_an_error_and_the_next_line_still_parses() {
        let mut s = FieldSplitter::new(b',');
        assert!(s.split(b"\"a,b").is_err());
        assert!(s.split(b"a\"b,\"c").is_err());
        let rec = s.split(b"\"x\",\"y\"\"z\"").unwrap();
        assert_eq!(rec.iter().collect::<Vec<_>>(), vec!["x", "y\"z"]);
    }

    proptest! {
        #[test]
        fn a_reused_splitter_round_trips_good_lines_between_garbage(
            rows in proptest::collection::vec(
                (
                    proptest::collection::vec("[^\\x00-\\x1f\\x7f]{0,12}", 1..6),
                    proptest::collection::vec(any::<u8>(), 0..40),
                ),
                1..20,
            ),
            tab in any::<bool>(),
        ) {
            let delimiter = if tab { b'\t' } else { b',' };
            let mut splitter = FieldSplitter::new(delimiter);
            for (fields, garbage) in rows {
                let garbage: Vec<u8> = garbage.into_iter().filter(|&b| b != b'\n').collect();
                let _ = splitter.split(&garbage);
                let line = write_line(&fields, delimiter);
                let rec = splitter.split(&line);
                prop_assert!(rec.is_ok(), "{:?} -> {:?}", String::from_utf8_lossy(&line), rec);
                let got: Vec<String> = rec.unwrap().iter().map(str::to_string).collect();
                prop_assert_eq!(got, fields);
            }
        }
    }
}
