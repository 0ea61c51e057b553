//! Log ingest: uploaded or tailed Asterisk, FreeSWITCH and HylaFAX logs, line by line.

pub use super::batch::ParsedLine;
use super::ingest::IngestReport;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::state::AppState;
use crate::store::StoreResult;
use axum::body::Body;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use futures::StreamExt;
use serde::Deserialize;
use switchboard_voice::{parse_chunk, ParseOptions, Source};
use utoipa::IntoParams;

/// Parse a log format name as used in the API and the `voice.tail` setting.
pub fn parse_format(name: &str) -> Option<Source> {
    match name.trim().to_ascii_lowercase().as_str() {
        "asterisk" => Some(Source::Asterisk),
        "freeswitch" => Some(Source::FreeSwitch),
        "hylafax" => Some(Source::HylaFax),
        _ => None,
    }
}

/// The name prefixed to external ids of records from `source`.
pub fn source_name(source: Source) -> &'static str {
    match source {
        Source::Asterisk => "asterisk",
        Source::FreeSwitch => "freeswitch",
        Source::HylaFax => "hylafax",
        Source::Cti => "cti",
    }
}

/// Parser options for logs written in the PBX's local time `utc_offset_secs`.
pub fn options(utc_offset_secs: i32) -> ParseOptions {
    ParseOptions {
        utc_offset_secs,
        ..ParseOptions::default()
    }
}

/// Parse `input` line by line. Only `\n`-terminated lines are read unless `include_partial`;
/// returns the lines and the number of bytes consumed. Line numbers start at `first_line`.
pub fn parse_lines(
    format: Source,
    input: &[u8],
    first_line: usize,
    include_partial: bool,
    opts: &ParseOptions,
) -> (Vec<ParsedLine>, usize) {
    let owned;
    let whole = if include_partial && input.last().is_some_and(|&b| b != b'\n') {
        owned = [input, b"\n"].concat();
        &owned[..]
    } else {
        input
    };
    // One parser run over the whole input; records carry no line numbers, so they are matched
    // to the non-blank lines without an error, which holds unless the parser skipped a line.
    let (report, consumed) = parse_chunk(format, whole, first_line, opts);
    let consumed = consumed.min(input.len());
    let errors: std::collections::HashMap<usize, String> = report
        .errors
        .into_iter()
        .map(|e| (e.line, e.reason))
        .collect();
    let mut out = Vec::with_capacity(report.records.len() + errors.len());
    let mut record_lines = Vec::with_capacity(report.records.len());
    let complete = whole[..consumed].split_inclusive(|&b| b == b'\n');
    for (line_no, line) in (first_line..).zip(complete) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(u8::is_ascii_whitespace) && !errors.contains_key(&line_no) {
            record_lines.push(line_no);
        }
    }
    if record_lines.len() != report.records.len() {
        return parse_each_line(format, input, first_line, include_partial, opts);
    }
    let mut records = record_lines.into_iter().zip(report.records).peekable();
    let mut errors: Vec<(usize, String)> = errors.into_iter().collect();
    errors.sort_by_key(|e| e.0);
    for (line, reason) in errors {
        while let Some((l, r)) = records.next_if(|(l, _)| *l < line) {
            out.push((l, Ok(r)));
        }
        out.push((line, Err(reason)));
    }
    out.extend(records.map(|(l, r)| (l, Ok(r))));
    (out, consumed)
}

/// [`parse_lines`] running the parser once per line (when records cannot be matched to
/// lines otherwise).
fn parse_each_line(
    format: Source,
    input: &[u8],
    first_line: usize,
    include_partial: bool,
    opts: &ParseOptions,
) -> (Vec<ParsedLine>, usize) {
    let mut out = Vec::new();
    let mut start = 0;
    let mut line_no = first_line;
    while start < input.len() {
        let (line, next) = match input[start..].iter().position(|&b| b == b'\n') {
            Some(i) => (input[start..=start + i].to_vec(), start + i + 1),
            None if include_partial => {
                let mut l = input[start..].to_vec();
                l.push(b'\n');
                (l, input.len())
            }
            None => break,
        };
        let (report, _) = parse_chunk(format, &line, line_no, opts);
        out.extend(report.records.into_iter().map(|r| (line_no, Ok(r))));
        out.extend(report.errors.into_iter().map(|e| (e.line, Err(e.reason))));
        start = next;
        line_no += 1;
    }
    (out, start)
}

/// Store parsed lines in batches (see [`super::batch`]). A storage failure stops the run with
/// an error; what was stored before it stays stored, and a retry skips it as duplicate.
pub async fn store_lines(
    state: &AppState,
    format: Source,
    lines: Vec<ParsedLine>,
) -> StoreResult<IngestReport> {
    super::batch::store_batched(state, source_name(format), lines).await
}

/// A raw body that could not be read: 413 when over the size limit, else 400.
pub fn body_rejection(r: BytesRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge
    } else {
        ApiError::BadRequest(r.body_text())
    }
}

/// Query of a log upload.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// `asterisk` (Master.csv), `freeswitch` (mod_cdr_csv) or `hylafax` (xferfaxlog).
    pub format: String,
    /// Offset of the PBX's local time from UTC in seconds (default `voice.pbx_utc_offset_secs`).
    pub utc_offset_secs: Option<i32>,
}

/// Bytes of an upload parsed and stored together (whole lines; a longer line waits for more).
const PIECE_BYTES: usize = 1 << 20;

/// Upload a call or fax log; each line is stored as a contact on the caller's history.
/// Malformed lines are reported with their line number and skipped; re-uploads store nothing
/// new. The body is read as a stream and stored a piece (about 1 MiB of whole lines) at a time,
/// up to `voice.max_upload_bytes`: a body announced larger is refused before anything is
/// stored; one that grows past it keeps what was stored (a retry skips it as duplicates).
/// Needs an admin, or an API token with the `voice:ingest` scope.
#[utoipa::path(post, path = "/channels/voice/records", tag = "voice", params(UploadParams),
    request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = IngestReport), (status = 413, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn upload_records(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<IngestReport>> {
    caller.require(Role::Admin, "voice:ingest")?;
    let format = parse_format(&p.format).ok_or_else(|| {
        ApiError::invalid(
            "invalid_format",
            "format must be asterisk, freeswitch or hylafax",
        )
    })?;
    let limit = state.settings.voice.max_upload_bytes;
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit) {
        return Err(ApiError::TooLarge);
    }
    let opts = options(
        p.utc_offset_secs
            .unwrap_or(state.settings.voice.pbx_utc_offset_secs),
    );
    let mut upload = Upload {
        state: &state,
        format,
        opts,
        buf: Vec::new(),
        line: 1,
        report: IngestReport::default(),
    };
    let mut stream = body.into_data_stream();
    let mut total: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(e.to_string()))?;
        total += chunk.len() as u64;
        if total > limit {
            return Err(ApiError::TooLarge);
        }
        upload.buf.extend_from_slice(&chunk);
        if upload.buf.len() >= PIECE_BYTES {
            upload.store(false).await?;
        }
    }
    upload.store(true).await?;
    let mut report = upload.report;
    report.rejected.sort_by_key(|r| r.line);
    Ok(Json(report))
}

/// An upload being stored piece by piece.
struct Upload<'a> {
    state: &'a AppState,
    format: Source,
    opts: ParseOptions,
    /// Bytes received and not yet stored (at most a partial line after [`Upload::store`]).
    buf: Vec<u8>,
    /// Number of the first line in `buf`.
    line: usize,
    report: IngestReport,
}

impl Upload<'_> {
    /// Store the whole lines received (and, at the `end`, a last line without its newline).
    async fn store(&mut self, end: bool) -> ApiResult<()> {
        let (lines, consumed) = parse_lines(self.format, &self.buf, self.line, end, &self.opts);
        self.line += self.buf[..consumed].iter().filter(|&&b| b == b'\n').count();
        self.buf.drain(..consumed);
        let report = store_lines(self.state, self.format, lines).await?;
        metrics::counter!("switchboard_voice_records_stored_total").increment(report.stored as u64);
        self.report.merge(report);
        Ok(())
    }
}
