//! Tailing PBX and fax logs on this machine, with the read offset persisted per file.
//!
//! Each pass reads every complete line appended since the last pass, stores its records and
//! only then persists the new offset, so a crash re-reads (and skips as duplicates) rather than
//! loses lines. A partial last line waits for its newline. Rotation is detected when the file's
//! identity (device and inode) changes or it becomes shorter than the offset; the new file is
//! then read from its start. Lines appended to the old file after the last pass and before
//! rotation are not seen (point the tail at a log that rotates by rename, and rotate rarely).
//! [`Follow`] is the reading half, shared with the queue log ([`super::queue_log`]).

use super::ingest::{IngestReport, Rejection};
use super::records::{options, parse_format, parse_lines, store_lines};
use super::MAX_TAIL_READ_BYTES;
use crate::state::AppState;
use crate::store::now_ms;
use anyhow::Context;
use std::path::{Path, PathBuf};
use switchboard_voice::Source;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// One log file to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailSource {
    pub path: PathBuf,
    /// `Source::Asterisk`, `Source::FreeSwitch` or `Source::HylaFax`.
    pub format: Source,
}

/// Parse the `voice.tail` setting: comma-separated `format:path` pairs, e.g.
/// `asterisk:/var/log/asterisk/cdr-csv/Master.csv,hylafax:/var/spool/hylafax/etc/xferfaxlog`.
pub fn parse_tail_spec(spec: &str) -> Result<Vec<TailSource>, String> {
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (format, path) = item
                .split_once(':')
                .ok_or_else(|| format!("`{item}` is not format:path"))?;
            let format = parse_format(format).ok_or_else(|| {
                format!("unknown format `{format}` (asterisk, freeswitch, hylafax)")
            })?;
            if path.trim().is_empty() {
                return Err(format!("`{item}` has no path"));
            }
            Ok(TailSource {
                path: PathBuf::from(path.trim()),
                format,
            })
        })
        .collect()
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!("{}:{}", meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> String {
    String::new()
}

/// Read and store what was appended to every source since the last pass.
pub async fn tail_once(state: &AppState, sources: &[TailSource]) -> anyhow::Result<IngestReport> {
    let mut report = IngestReport::default();
    for source in sources {
        report.merge(tail_file(state, source).await?);
    }
    Ok(report)
}

async fn tail_file(state: &AppState, source: &TailSource) -> anyhow::Result<IngestReport> {
    let mut report = IngestReport::default();
    let Some(mut file) = Follow::open(state, &source.path).await? else {
        return Ok(report);
    };
    let opts = options(state.settings.voice.pbx_utc_offset_secs);
    loop {
        let chunk = file.read().await?;
        if chunk.is_empty() {
            break;
        }
        let (lines, mut consumed) = parse_lines(source.format, &chunk, file.line(), false, &opts);
        let full = chunk.len() >= MAX_TAIL_READ_BYTES;
        if consumed == 0 && full {
            // One line longer than a whole read: skip it rather than stall forever.
            report.rejected.push(Rejection {
                line: file.line(),
                reason: format!("line longer than {MAX_TAIL_READ_BYTES} bytes"),
            });
            consumed = chunk.len();
        }
        report.merge(store_lines(state, source.format, lines).await?);
        file.advance(state, &chunk[..consumed]).await?;
        if !full || consumed == 0 {
            break;
        }
    }
    Ok(report)
}

/// A followed log file, positioned at its persisted offset (in `voice_tail_offsets`, keyed by
/// path): the reading half of the tail, shared by the CDR logs and the queue log.
pub struct Follow {
    path_key: String,
    ident: String,
    file: tokio::fs::File,
    offset: u64,
    line: usize,
}

impl Follow {
    /// Open `path` at its persisted offset, or at its start when it is new, rotated or
    /// truncated; `None` while it does not exist (e.g. between a rotation's rename and the
    /// new file's creation).
    pub async fn open(state: &AppState, path: &Path) -> anyhow::Result<Option<Follow>> {
        let path_key = path.to_string_lossy().to_string();
        let meta = match tokio::fs::metadata(path).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {path_key}")),
        };
        let ident = identity(&meta);
        let saved: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT identity, byte_offset, line_no FROM voice_tail_offsets WHERE path = $1",
        )
        .bind(&path_key)
        .fetch_optional(state.store.pool())
        .await?;
        let len = meta.len();
        let (offset, line) = match saved {
            Some((id, off, line)) if id == ident && off as u64 <= len => {
                (off as u64, line as usize)
            }
            Some(_) => {
                tracing::info!(path = %path_key, "log file rotated or truncated, reading from its start");
                (0, 1)
            }
            None => (0, 1),
        };
        let file = tokio::fs::File::open(path)
            .await
            .with_context(|| format!("opening {path_key}"))?;
        Ok(Some(Follow {
            path_key,
            ident,
            file,
            offset,
            line,
        }))
    }

    /// 1-based number of the line at the offset.
    pub fn line(&self) -> usize {
        self.line
    }

    /// At most [`MAX_TAIL_READ_BYTES`] from the offset; empty at the end of the file.
    pub async fn read(&mut self) -> anyhow::Result<Vec<u8>> {
        read_from(&mut self.file, self.offset).await
    }

    /// Move past `consumed` (the complete lines handled, already stored) and persist the new
    /// offset.
    pub async fn advance(&mut self, state: &AppState, consumed: &[u8]) -> anyhow::Result<()> {
        self.line += consumed.iter().filter(|&&b| b == b'\n').count();
        self.offset += consumed.len() as u64;
        save_offset(state, &self.path_key, &self.ident, self.offset, self.line).await
    }
}

async fn read_from(file: &mut tokio::fs::File, offset: u64) -> anyhow::Result<Vec<u8>> {
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut buf = Vec::new();
    file.take(MAX_TAIL_READ_BYTES as u64)
        .read_to_end(&mut buf)
        .await?;
    Ok(buf)
}

async fn save_offset(
    state: &AppState,
    path: &str,
    ident: &str,
    offset: u64,
    line: usize,
) -> anyhow::Result<()> {
    let mut tx = state.store.begin().await?;
    sqlx::query(
        "INSERT INTO voice_tail_offsets (path, identity, byte_offset, line_no, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (path) DO UPDATE SET identity = $2, \
           byte_offset = $3, line_no = $4, updated_at = $5",
    )
    .bind(path)
    .bind(ident)
    .bind(offset as i64)
    .bind(line as i64)
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}
