//! Asterisk's queue log (`voice.queue_log`, e.g. `/var/log/asterisk/queue_log`), followed
//! like a tailed CDR file (the read offset in `voice_tail_offsets`: a partial last line waits
//! for its newline, rotation and truncation are noticed; see [`super::tail::Follow`]), by one
//! node at a time (a lease in `voice_pbx_positions`, `queue_log:<path>`).
//!
//! Each call's queue events ([`parse`]) fold into one row of `voice_queue_calls`, keyed by the
//! queue log's callid — the caller channel's Asterisk `uniqueid`: its queue, when it entered,
//! the wait before answer or abandon, the outcome, the agent (the member as logged and its
//! extension, mapped to a Switchboard agent by `agents.extension`), talk time and who ended
//! it. Agents' own events go to `voice_queue_member_events`.
//!
//! Once the call's entry is stored (by the CDR database, `Master.csv`, CTI or AMI: an entry
//! whose source id is `asterisk:`, `cti:` or `ami:` followed by the callid), the entry's meta
//! gets `queue`, `wait_seconds`, `queue_outcome` and `queue_agent` ([`link`], after every
//! pass of this worker and of the CDR database worker, for calls of the last two days).

pub mod parse;
pub mod table;

use super::cdr_db::entry::patch_entry;
use super::tail::Follow;
use super::MAX_TAIL_READ_BYTES;
use crate::state::AppState;
use crate::store::bulk::fetch_in;
use crate::store::{now_ms, StoreResult, Tx};
use parse::{apply, is_member_event, member_extension, parse_line, QueueCall, QueueLine};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often the queue log is read.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Queue calls not linked to their entry within this long are left alone.
const LINK_WINDOW_MS: i64 = 2 * 86_400_000;
/// Source prefixes of entries a queue call's callid can name.
const SOURCES: &[&str] = &["asterisk", "cti", "ami"];

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct QueueLogPass {
    /// False when another node held the lease.
    pub ran: bool,
    /// Queue events read (complete lines that were events).
    pub events: usize,
    /// Lines that are not queue events.
    pub skipped: usize,
    /// Call entries that got their queue data in this pass.
    pub linked: usize,
}

/// Read what was appended to the queue log at `path` and store it.
pub async fn run_once(state: &AppState, path: &Path) -> anyhow::Result<QueueLogPass> {
    let name = format!("queue_log:{}", path.display());
    if !super::cdr_db::position::take(state, &name, 120_000).await? {
        return Ok(QueueLogPass::default());
    }
    let result = pass(state, path).await;
    if let Err(e) = super::cdr_db::position::release(state, &name).await {
        tracing::warn!(error = %e, "cannot release the queue log lease");
    }
    result
}

async fn pass(state: &AppState, path: &Path) -> anyhow::Result<QueueLogPass> {
    let mut report = QueueLogPass {
        ran: true,
        ..QueueLogPass::default()
    };
    if let Some(mut file) = Follow::open(state, path).await? {
        loop {
            let chunk = file.read().await?;
            let complete = chunk.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let full = chunk.len() >= MAX_TAIL_READ_BYTES;
            // One line longer than a whole read is skipped rather than stalling.
            let consumed = if complete == 0 && full {
                chunk.len()
            } else {
                complete
            };
            if consumed == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&chunk[..complete]);
            let lines: Vec<QueueLine> = text.lines().filter_map(parse_line).collect();
            report.skipped += text.lines().filter(|l| !l.trim().is_empty()).count() - lines.len();
            report.events += lines.len();
            store(state, &lines).await?;
            file.advance(state, &chunk[..consumed]).await?;
            if !full {
                break;
            }
        }
    }
    report.linked = link(state).await?;
    Ok(report)
}

const CALL_COLS: &str = "call_id, queue, caller, entered_at, wait_secs, outcome, agent, \
    agent_extension, talk_secs, ended_by, rang, ended_at";

/// Apply `lines` to the stored queue calls, in one transaction.
pub(crate) async fn store(state: &AppState, lines: &[QueueLine]) -> StoreResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut tx = state.store.begin().await?;
    let mut ids: Vec<String> = lines
        .iter()
        .filter(|l| !is_member_event(&l.event))
        .map(|l| l.call_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    let head = format!("SELECT {CALL_COLS} FROM voice_queue_calls WHERE call_id IN");
    let known: Vec<QueueCall> = fetch_in(&mut tx, &head, &ids).await?;
    let mut calls: HashMap<String, QueueCall> =
        known.into_iter().map(|c| (c.call_id.clone(), c)).collect();
    let mut changed: Vec<String> = Vec::new();
    for line in lines {
        if is_member_event(&line.event) {
            member_event(&mut tx, line).await?;
            continue;
        }
        if let Some(c) = apply(calls.get(&line.call_id).cloned(), line) {
            calls.insert(line.call_id.clone(), c);
            changed.push(line.call_id.clone());
        }
    }
    changed.sort();
    changed.dedup();
    let now = now_ms();
    let mut agents: HashMap<String, Option<String>> = HashMap::new();
    for id in changed {
        let c = &calls[&id];
        let agent_id = match &c.agent_extension {
            Some(ext) => match agents.get(ext) {
                Some(a) => a.clone(),
                None => {
                    let a = super::ingest::agent_by_extension(tx.conn(), ext).await?;
                    agents.insert(ext.clone(), a.clone());
                    a
                }
            },
            None => None,
        };
        save_call(&mut tx, c, agent_id, now).await?;
    }
    tx.commit().await
}

async fn save_call(
    tx: &mut Tx,
    c: &QueueCall,
    agent_id: Option<String>,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO voice_queue_calls (call_id, queue, caller, entered_at, wait_secs, outcome, \
           agent, agent_extension, agent_id, talk_secs, ended_by, rang, ended_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (call_id) DO UPDATE SET queue = $2, caller = $3, entered_at = $4, \
           wait_secs = $5, outcome = $6, agent = $7, agent_extension = $8, agent_id = $9, \
           talk_secs = $10, ended_by = $11, rang = $12, ended_at = $13, updated_at = $14, \
           message_id = NULL",
    )
    .bind(&c.call_id)
    .bind(&c.queue)
    .bind(&c.caller)
    .bind(c.entered_at)
    .bind(c.wait_secs)
    .bind(&c.outcome)
    .bind(&c.agent)
    .bind(&c.agent_extension)
    .bind(agent_id)
    .bind(c.talk_secs)
    .bind(&c.ended_by)
    .bind(c.rang)
    .bind(c.ended_at)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

async fn member_event(tx: &mut Tx, line: &QueueLine) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO voice_queue_member_events (at, queue, agent, agent_extension, event, reason) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (at, queue, agent, event) DO NOTHING",
    )
    .bind(line.at)
    .bind(&line.queue)
    .bind(&line.agent)
    .bind(member_extension(&line.agent))
    .bind(&line.event)
    .bind(
        line.data
            .first()
            .filter(|r| !r.is_empty() && line.event.starts_with("PAUSE")),
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

type Unlinked = (String, String, Option<i64>, String, Option<String>);

/// Give stored call entries the queue data of their calls (those not linked yet, that left
/// the queue within the last two days, newest first); returns how many entries got it.
pub async fn link(state: &AppState) -> StoreResult<usize> {
    let pending: Vec<Unlinked> = sqlx::query_as(
        "SELECT call_id, queue, wait_secs, outcome, agent_extension FROM voice_queue_calls \
         WHERE message_id IS NULL AND outcome <> 'waiting' AND updated_at >= $1 \
         ORDER BY updated_at DESC LIMIT 200",
    )
    .bind(now_ms() - LINK_WINDOW_MS)
    .fetch_all(state.store.pool())
    .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let mut tx = state.store.begin().await?;
    let wanted: Vec<String> = pending
        .iter()
        .flat_map(|p| SOURCES.iter().map(move |s| format!("{s}:{}", p.0)))
        .collect();
    let mut found: Vec<(String, String)> = fetch_in(
        &mut tx,
        "SELECT external_id, id FROM messages WHERE channel = 'phone' AND external_id IN",
        &wanted,
    )
    .await?;
    found.extend(
        fetch_in::<(String, String)>(
            &mut tx,
            "SELECT source_id, message_id FROM voice_source_ids WHERE source_id IN",
            &wanted,
        )
        .await?,
    );
    let entry_of: HashMap<&str, &str> = found
        .iter()
        .filter_map(|(ext, id)| Some((ext.split_once(':')?.1, id.as_str())))
        .collect();
    let mut events = Vec::new();
    for (call_id, queue, wait, outcome, agent) in &pending {
        let Some(message_id) = entry_of.get(call_id.as_str()) else {
            continue;
        };
        let patch: Map<String, Value> = json!({
            "queue": queue,
            "wait_seconds": wait,
            "queue_outcome": outcome,
            "queue_agent": agent,
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        events.push(patch_entry(&mut tx, message_id, &patch, None).await?);
        sqlx::query("UPDATE voice_queue_calls SET message_id = $1 WHERE call_id = $2")
            .bind(*message_id)
            .bind(call_id)
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await?;
    let linked = events.len();
    for ev in events {
        state.bus.publish(ev).await;
    }
    Ok(linked)
}

/// Follow the queue log at `path` every [`POLL_INTERVAL`] until `stop`.
pub fn spawn_worker(state: &AppState, path: PathBuf, stop: CancellationToken) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        tracing::info!(path = %path.display(), "following the PBX queue log");
        loop {
            if let Err(e) = run_once(&state, &path).await {
                tracing::error!(error = %format!("{e:#}"), "reading the queue log failed");
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    })
}
