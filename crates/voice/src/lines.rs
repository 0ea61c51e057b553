//! Line splitting and per-line CSV field extraction.
//!
//! All supported logs are one record per physical line and never contain
//! embedded newlines in practice. We therefore split the input on `\n`
//! ourselves and hand each line separately to the `csv` crate. This keeps a
//! quote left open on one line from swallowing the following lines (which a
//! single streaming CSV reader would do), and gives exact 1-based physical
//! line numbers for errors.

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

/// Splits one physical line into fields with the `csv` crate.
///
/// Rejects control characters other than tab (binary garbage), an odd number
/// of double quotes (a quoted field left open: in well-formed CSV every
/// quote is either an opening/closing pair or a doubled escape, so the count
/// is even), and invalid UTF-8.
pub(crate) fn split_fields(line: &[u8], delimiter: u8) -> Result<StringRecord, String> {
    if let Some(b) = line
        .iter()
        .find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(format!("binary data: control byte 0x{b:02x}"));
    }
    if line.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
        return Err("unterminated quoted field".to_string());
    }
    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(line.len().clamp(64, 64 * 1024))
        .from_reader(line);
    let mut record = ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(true) => {}
        Ok(false) => return Err("empty line".to_string()),
        Err(e) => return Err(format!("CSV error: {e}")),
    }
    StringRecord::from_byte_record(record).map_err(|e| {
        format!(
            "invalid UTF-8 in column {}",
            e.utf8_error().field().saturating_add(1)
        )
    })
}

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
