//! Log ingest: uploaded or tailed Asterisk, FreeSWITCH and HylaFAX logs, line by line.

use super::ingest::IngestReport;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::state::AppState;
use crate::store::StoreResult;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use switchboard_voice::{parse_chunk, CallRecord, ParseOptions, Source};
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

/// One parsed line: its number and the record or the reason it was skipped.
pub type ParsedLine = (usize, Result<CallRecord, String>);

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

/// Upload a call or fax log; each line is stored as a contact on the caller's history.
/// Malformed lines are reported with their line number and skipped; re-uploads store nothing
/// new. Needs an admin, or an API token with the `voice:ingest` scope.
#[utoipa::path(post, path = "/channels/voice/records", tag = "voice", params(UploadParams),
    request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = IngestReport), (status = 413, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn upload_records(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<UploadParams>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<IngestReport>> {
    caller.require(Role::Admin, "voice:ingest")?;
    let format = parse_format(&p.format).ok_or_else(|| {
        ApiError::invalid(
            "invalid_format",
            "format must be asterisk, freeswitch or hylafax",
        )
    })?;
    let body = body.map_err(body_rejection)?;
    let opts = options(
        p.utc_offset_secs
            .unwrap_or(state.settings.voice.pbx_utc_offset_secs),
    );
    let (lines, _) = parse_lines(format, &body, 1, true, &opts);
    let report = store_lines(&state, format, lines).await?;
    metrics::counter!("switchboard_voice_records_stored_total").increment(report.stored as u64);
    Ok(Json(report))
}
