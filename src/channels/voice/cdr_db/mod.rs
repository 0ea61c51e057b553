//! Call records read straight from the PBX's CDR database (Issabel/FreePBX keep them in
//! MySQL/MariaDB, `asteriskcdrdb.cdr`), set with `voice.cdr_database_url`
//! (`SWITCHBOARD__VOICE__CDR_DATABASE_URL`) and `voice.cdr_table`.
//!
//! One node at a time reads a table (a lease in `voice_pbx_positions`, taken for one pass).
//! A pass folds the rows of each complete call (same `linkedid`, see [`fold`]) into one call
//! record and stores it through the same batched path as `Master.csv` lines
//! ([`super::batch::store_batched`], source `asterisk`, external id the call's `linkedid` —
//! the caller channel's `uniqueid`), so a call already logged from live events (CTI) is
//! completed rather than stored twice, and one already stored is a duplicate.
//!
//! **Position.** Rows are written when a leg ends, so they arrive in end order, not in
//! `calldate` order, and a site's `cdr.conf` batch mode delays them further. A pass reads
//! 1. the rows after the persisted keyset position in (`calldate`, `uniqueid`, `sequence`)
//!    order, at most [`BATCH_ROWS`] (an index range on `calldate`; history is caught up
//!    this way too), and
//! 2. the rows starting before the position (within [`MAX_CALL`]) that *ended* since the last
//!    pass's clock reading minus `voice.cdr_settle_secs` and `voice.cdr_lookback_secs`: the
//!    long calls' rows written late, and the rows of calls still settling.
//!
//! A call is complete when its last row ended `voice.cdr_settle_secs` ago by the CDR
//! database's own clock (`NOW()`, the clock `calldate` is written by — no skew with this
//! server); then all its rows are read by `linkedid` and it is stored. The calls stored are
//! kept in `voice_cdr_calls` with the number of rows folded: a row re-read in the look-back
//! window is skipped without touching the entries, and a row of a call written after the
//! call was stored (a leg that outlived the settle time) re-folds the call and updates its
//! entry. The position and the clock reading are persisted after the pass stored its calls,
//! so a restart re-reads nothing stored, and a crash mid-pass re-reads rows that storing then
//! skips as duplicates. Rows written more than `voice.cdr_lookback_secs` after their leg
//! ended, or legs longer than [`MAX_CALL`], are not seen.

pub mod entry;
pub mod fold;
pub mod position;
pub mod recording;
pub mod rows;

use super::ingest::IngestReport;
use super::records::ParsedLine;
use crate::settings::VoiceSettings;
use crate::state::AppState;
use crate::store::bulk::fetch_in;
use anyhow::Context;
use fold::{end_of, local_text, local_time};
use rows::{CdrRow, CdrTable};
use secrecy::ExposeSecret;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Most rows read after the position in one pass.
pub const BATCH_ROWS: i64 = 5000;
/// Longest leg looked for before the position.
pub const MAX_CALL: time::Duration = time::Duration::days(1);

/// A PBX's CDR table to read.
#[derive(Clone)]
pub struct CdrSource {
    pool: MySqlPool,
    /// `cdr:<host>:<port>/<database>.<table>`: the key of its position and lease.
    pub name: String,
    /// `<host>:<port>/<database>`.
    addr: String,
    table: String,
}

impl CdrSource {
    /// The table `table` of the database at `url` (`mysql://USER:PASS@HOST:3306/DB`);
    /// connects on first use.
    pub fn new(url: &str, table: &str) -> anyhow::Result<CdrSource> {
        anyhow::ensure!(
            rows::valid_table(table),
            "voice.cdr_table `{table}` is not a table name"
        );
        let opts: MySqlConnectOptions = url
            .parse()
            .context("voice.cdr_database_url is not a mysql:// URL")?;
        let pool = MySqlPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(opts);
        let addr = address(url);
        Ok(CdrSource {
            pool,
            name: format!("cdr:{addr}.{table}"),
            addr,
            table: table.to_string(),
        })
    }

    /// The source set in `voice.cdr_database_url`, if any.
    pub fn from_settings(v: &VoiceSettings) -> Option<anyhow::Result<CdrSource>> {
        let url = v.cdr_database_url.expose_secret().trim();
        (!url.is_empty()).then(|| CdrSource::new(url, v.cdr_table.trim()))
    }
}

/// The database's address without credentials: `<host>:<port>/<database>`.
fn address(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = rest.split('?').next().unwrap_or(rest);
    rest.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._:/-[]".contains(*c))
        .collect()
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CdrPass {
    /// False when another node held the lease.
    pub ran: bool,
    /// Rows read.
    pub rows: usize,
    /// Calls handed to storage, as counted there (stored, merged into CTI entries,
    /// duplicates, internal, rejected).
    pub report: IngestReport,
    /// Stored entries completed by rows written after their call was stored.
    pub updated: usize,
    /// Calls still waiting for `voice.cdr_settle_secs`.
    pub pending: usize,
    /// Queue events read from `voice.queue_log_table`.
    pub queue_events: usize,
}

/// One pass over `source` (unless another node is reading it).
pub async fn run_once(state: &AppState, source: &CdrSource) -> anyhow::Result<CdrPass> {
    let ttl = (state.settings.voice.cdr_poll_secs as i64 * 6_000).max(120_000);
    if !position::take(state, &source.name, ttl).await? {
        return Ok(CdrPass::default());
    }
    let result = pass(state, source).await;
    if let Err(e) = position::release(state, &source.name).await {
        tracing::warn!(error = %e, "cannot release the CDR database lease");
    }
    result
}

async fn pass(state: &AppState, source: &CdrSource) -> anyhow::Result<CdrPass> {
    let v = &state.settings.voice;
    let pool = &source.pool;
    let table = CdrTable::inspect(pool, &source.table).await?;
    let now_text = rows::db_now(pool).await?;
    let now = local_time(&now_text).context("reading the CDR database's clock")?;
    let settle = time::Duration::seconds(i64::from(v.cdr_settle_secs));
    let lookback = time::Duration::seconds(i64::from(v.cdr_lookback_secs));
    let mut pos = position::load(state, &source.name).await?;
    let mut read = Vec::new();
    let before = local_time(&pos.key.0);
    if let (Some(p), Some(checked)) = (before, pos.checked_at.as_deref().and_then(local_time)) {
        let since = local_text(checked - settle - lookback);
        let from = local_text(p - MAX_CALL);
        read.extend(table.ended_since(pool, &from, &pos.key.0, &since).await?);
    }
    let forward = table.after(pool, &pos.key, BATCH_ROWS).await?;
    let last = forward.last().map(CdrRow::key);
    read.extend(forward);
    let mut report = CdrPass {
        ran: true,
        rows: read.len(),
        ..CdrPass::default()
    };
    let settled = now - settle;
    let calls = group(read);
    let (complete, waiting): (Vec<_>, Vec<_>) = calls
        .into_iter()
        .partition(|(_, rows)| last_end(rows).is_some_and(|e| e <= settled));
    report.pending = waiting.len();
    if !complete.is_empty() {
        let keys: Vec<String> = complete.iter().map(|(k, _)| k.clone()).collect();
        let earliest = complete
            .iter()
            .flat_map(|(_, rows)| rows.iter().filter_map(|r| local_time(&r.calldate)))
            .min()
            .unwrap_or(now);
        let full = group(
            table
                .of_calls(pool, &keys, &local_text(earliest - MAX_CALL))
                .await?,
        );
        // A row found by linkedid may have ended since: such a call waits too.
        let (complete, late): (Vec<_>, Vec<_>) = full
            .into_iter()
            .partition(|(_, rows)| last_end(rows).is_some_and(|e| e <= settled));
        report.pending += late.len();
        store(state, source, complete, &mut report).await?;
    }
    if let Some(key) = last {
        pos.key = key;
    }
    pos.checked_at = Some(now_text);
    position::save(state, &source.name, &pos).await?;
    let queue_table = v.queue_log_table.trim();
    if !queue_table.is_empty() {
        report.queue_events =
            super::queue_log::table::run_once(state, pool, &source.addr, queue_table).await?;
    }
    super::queue_log::link(state).await?;
    Ok(report)
}

/// Rows by call (linkedid), each row once.
fn group(rows: Vec<CdrRow>) -> Vec<(String, Vec<CdrRow>)> {
    let mut seen = HashSet::new();
    let mut calls: BTreeMap<String, Vec<CdrRow>> = BTreeMap::new();
    for row in rows {
        if seen.insert((row.calldate.clone(), row.uniqueid.clone(), row.sequence)) {
            calls
                .entry(row.call_key().to_string())
                .or_default()
                .push(row);
        }
    }
    calls.into_iter().filter(|(k, _)| !k.is_empty()).collect()
}

fn last_end(rows: &[CdrRow]) -> Option<time::PrimitiveDateTime> {
    rows.iter().filter_map(end_of).max()
}

/// Store the complete `calls`: new ones through the batch path, grown ones by updating
/// their entries; then remember them.
async fn store(
    state: &AppState,
    source: &CdrSource,
    calls: Vec<(String, Vec<CdrRow>)>,
    report: &mut CdrPass,
) -> anyhow::Result<()> {
    let v = &state.settings.voice;
    let keys: Vec<String> = calls.iter().map(|(k, _)| k.clone()).collect();
    let stored = position::stored(state, &source.name, &keys).await?;
    let mut lines: Vec<ParsedLine> = Vec::new();
    let mut fresh = Vec::new();
    let mut marks = Vec::new();
    for (key, rows) in &calls {
        let count = rows.len() as i64;
        let folded = fold::fold(rows, v.pbx_utc_offset_secs, &v.recording_url_template);
        match stored.get(key) {
            Some((n, _)) if *n >= count => {}
            Some((_, Some(message_id))) => {
                if let Ok(rec) = folded {
                    update(state, message_id, &rec).await?;
                    report.updated += 1;
                }
                marks.push((key.clone(), count, Some(message_id.clone())));
            }
            _ => {
                lines.push((lines.len() + 1, folded));
                fresh.push((key.clone(), count));
            }
        }
    }
    if !lines.is_empty() {
        report.report = super::batch::store_batched(state, "asterisk", lines).await?;
        let ids = entries_of(state, fresh.iter().map(|f| f.0.as_str())).await?;
        marks.extend(
            fresh
                .into_iter()
                .map(|(key, n)| (key.clone(), n, ids.get(&key).cloned())),
        );
    }
    position::mark(state, &source.name, &marks).await?;
    Ok(())
}

/// The entries calls `keys` were stored as or folded into.
async fn entries_of(
    state: &AppState,
    keys: impl Iterator<Item = &str>,
) -> anyhow::Result<HashMap<String, String>> {
    let ids: Vec<String> = keys.map(|k| format!("asterisk:{k}")).collect();
    let mut tx = state.store.begin().await?;
    let mut rows: Vec<(String, String)> = fetch_in(
        &mut tx,
        "SELECT external_id, id FROM messages WHERE channel = 'phone' AND external_id IN",
        &ids,
    )
    .await?;
    rows.extend(
        fetch_in::<(String, String)>(
            &mut tx,
            "SELECT source_id, message_id FROM voice_source_ids WHERE source_id IN",
            &ids,
        )
        .await?,
    );
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|(ext, id)| (ext.trim_start_matches("asterisk:").to_string(), id))
        .collect())
}

/// Rewrite a stored call's entry from its re-folded record.
async fn update(
    state: &AppState,
    message_id: &str,
    rec: &switchboard_voice::CallRecord,
) -> anyhow::Result<()> {
    let region = state.settings.text.default_region.as_str();
    let mut tx = state.store.begin().await?;
    let agent_id = match &rec.agent_extension {
        Some(ext) => super::ingest::agent_by_extension(tx.conn(), ext).await?,
        None => None,
    };
    let contact = super::contact::Contact {
        source: "asterisk",
        record: rec.clone(),
        customer_id: None,
        notes: None,
        logged_by: None,
        agent_id: None,
    };
    let meta = super::summary::meta(&contact, region, agent_id.as_deref());
    let patch = meta.as_object().cloned().unwrap_or_default();
    let body = super::summary::body(rec, None);
    let ev = entry::patch_entry(&mut tx, message_id, &patch, Some(&body)).await;
    let ev = tx.finish(ev).await?;
    state.bus.publish(ev).await;
    Ok(())
}

/// Read the CDR database every `voice.cdr_poll_secs` until `stop`.
pub fn spawn_worker(
    state: &AppState,
    source: CdrSource,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let every = Duration::from_secs(state.settings.voice.cdr_poll_secs.max(1));
        tracing::info!(source = %source.name, "reading call records from the PBX database");
        loop {
            match run_once(&state, &source).await {
                Ok(pass) => {
                    for r in &pass.report.rejected {
                        tracing::warn!(reason = %r.reason, "PBX call record skipped");
                    }
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "reading the PBX CDR database failed")
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    })
}
