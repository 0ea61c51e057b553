//! The voice channel: PBX call records and fax logs become contact entries on the customer's
//! history (channel `phone` or `fax`).
//!
//! Intake paths, all ending in [`ingest::store_contact`] (one transaction per record) or, for
//! log files, [`batch::store_batched`] (one transaction per [`batch::BATCH_SIZE`] records):
//! * `POST /api/v1/channels/voice/records?format=asterisk|freeswitch|hylafax` — log upload
//!   (admin, or an API token with the `voice:ingest` scope); answers
//!   `{stored, duplicates, ignored, rejected: [{line, reason}]}`;
//! * `POST /api/v1/channels/voice/cti/{token}` — live call events, wire-compatible with
//!   Zammad's generic CTI API (JSON or form data);
//! * `POST /api/v1/channels/voice/calls` — an agent logging a call by hand;
//! * the AMI workers following the PBXes of `voice.ami_url` / `[[voice.pbx]]` over the
//!   Asterisk Manager Interface (see [`ami`]), and click-to-call (`POST
//!   /api/v1/channels/voice/calls/originate`, see [`originate`]);
//! * the tail worker following the files listed in the environment variable
//!   the `voice.tail` setting (`SWITCHBOARD__VOICE__TAIL`), e.g.
//!   `asterisk:/var/log/asterisk/cdr-csv/Master.csv,hylafax:/var/spool/hylafax/etc/xferfaxlog`,
//!   with the read offset of each file persisted in `voice_tail_offsets`;
//! * the PBX's own CDR database (`voice.cdr_database_url`, [`cdr_db`]): a call's rows folded
//!   into one record, stored like a tailed log's;
//! * Asterisk's queue log (`voice.queue_log`, [`queue_log`]): not calls but what happened to
//!   them in the PBX's queues, added to their entries.
//!
//! **CTI authentication.** The `{token}` in the CTI URL is an ordinary API token (created with
//! `POST /api/v1/api-tokens`) carrying the `voice:ingest` scope. Tokens are stored only as
//! hashes, can be revoked, and a `voice:ingest` token can do nothing but feed call data. Agent
//! session tokens are refused in the URL. Keep HTTP access logs of the CTI path private, as
//! for any URL-embedded secret.
//!
//! **Idempotency.** A message's `external_id` is `source:id` (`asterisk:<uniqueid>`,
//! `freeswitch:<uuid>`, `hylafax:<commid>`, `cti:<callId or faxId>`); storing a record twice
//! is counted as a duplicate and changes nothing. A call reported both by CTI events and by a
//! PBX log is one entry: the second record completes the first one's entry and its id is kept
//! in `voice_source_ids` (see [`pairing`]), so it too is a duplicate when stored again.
//!
//! **Where entries go.** The customer is matched by phone identity (inbound: caller, outbound:
//! called number, normalised to E.164 in `settings.text.default_region`) or created; a caller
//! whose number is withheld or unusable goes to the shared anonymous profile (see
//! [`anonymous`]), while an outbound call to an unusable number is rejected. Missed
//! inbound calls open a callback conversation (tag `callback`, status open) that repeated
//! misses within `voice.callback_window_mins` join; other calls and faxes join the customer's
//! open conversation on the same channel, or start a new one that is resolved at once. Live
//! calls whose hangup never arrives are closed after `voice.stale_ringing_secs` (ringing) or
//! `voice.stale_answered_secs` (answered).

pub mod ami;
pub mod anonymous;
pub mod batch;
pub mod cdr_db;
pub mod contact;
pub mod cti;
pub mod ingest;
pub mod live;
pub mod manual;
pub mod originate;
pub mod pairing;
pub mod queue_log;
pub mod records;
pub mod ringing;
pub mod summary;
pub mod tail;

pub use ingest::{IngestReport, Rejection};
pub use live::run_once;
pub use tail::{parse_tail_spec, tail_once, TailSource};

use crate::state::AppState;
use crate::store::now_ms;
use axum::Router;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How often the stale-call worker runs.
pub const STALE_CHECK_INTERVAL: Duration = Duration::from_secs(60);
/// How often the tail worker polls its files.
pub const TAIL_POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Most bytes the tail worker reads from one file in one go.
pub const MAX_TAIL_READ_BYTES: usize = 4 * 1024 * 1024;

/// The queue missed-call callbacks go to (`voice.callback_queue`, by name or id; when unset,
/// the default queue), if any.
pub async fn callback_queue(
    state: &AppState,
    tx: &mut crate::store::Tx,
) -> crate::store::StoreResult<Option<String>> {
    let wanted = state.settings.voice.callback_queue.trim();
    if wanted.is_empty() {
        return crate::queues::or_default(tx.conn(), "phone", None).await;
    }
    let found: Option<(String,)> =
        sqlx::query_as("SELECT id FROM queues WHERE id = $1 OR name = $1")
            .bind(wanted)
            .fetch_optional(tx.conn())
            .await
            .map_err(crate::store::StoreError::from_sqlx)?;
    if found.is_none() {
        tracing::warn!(
            queue = wanted,
            "voice.callback_queue names no queue; callbacks stay unqueued"
        );
    }
    Ok(found.map(|f| f.0))
}

/// Routes under `/api/v1` (described in the OpenAPI document).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(records::upload_records))
        .routes(routes!(cti::cti_event))
        .routes(routes!(manual::log_call))
        .routes(routes!(originate::originate))
        .routes(routes!(ami::status::list_links))
}

/// Routes outside `/api/v1` (sockets, scripts).
pub fn public_routes() -> Router<AppState> {
    Router::new()
}

/// Background workers: closing stale CTI calls, and tailing the files in the `voice.tail` setting (`SWITCHBOARD__VOICE__TAIL`).
pub fn spawn_workers(state: &AppState, stop: CancellationToken) -> Vec<JoinHandle<()>> {
    let mut workers = vec![tokio::spawn(stale_worker(state.clone(), stop.clone()))];
    workers.extend(ami::spawn_workers(state, stop.clone()));
    let spec = &state.settings.voice.tail;
    if !spec.trim().is_empty() {
        match parse_tail_spec(spec) {
            Ok(sources) => workers.push(spawn_tail_worker(state, sources, stop.clone())),
            Err(e) => tracing::error!(error = %e, "voice.tail is invalid; not tailing any log"),
        }
    }
    workers.extend(spawn_pbx_workers(state, stop));
    workers
}

/// The readers of the PBX's own records: its CDR database (`voice.cdr_database_url`) and its
/// queue log (`voice.queue_log`).
fn spawn_pbx_workers(state: &AppState, stop: CancellationToken) -> Vec<JoinHandle<()>> {
    let mut workers = Vec::new();
    match cdr_db::CdrSource::from_settings(&state.settings.voice) {
        Some(Ok(source)) => workers.push(cdr_db::spawn_worker(state, source, stop.clone())),
        Some(Err(e)) => {
            tracing::error!(error = %format!("{e:#}"), "not reading the PBX CDR database")
        }
        None => {}
    }
    let queue_log = state.settings.voice.queue_log.trim();
    if !queue_log.is_empty() {
        let path = std::path::PathBuf::from(queue_log);
        workers.push(queue_log::spawn_worker(state, path, stop));
    }
    workers
}

async fn stale_worker(state: AppState, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(STALE_CHECK_INTERVAL) => {}
        }
        if let Err(e) = run_once(&state, now_ms()).await {
            tracing::error!(error = %e, "closing stale calls failed");
        }
    }
}

/// Follow `sources` every [`TAIL_POLL_INTERVAL`] until `stop` (what the `voice.tail` setting (`SWITCHBOARD__VOICE__TAIL`)
/// starts).
pub fn spawn_tail_worker(
    state: &AppState,
    sources: Vec<TailSource>,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(tail_worker(state.clone(), sources, stop))
}

async fn tail_worker(state: AppState, sources: Vec<TailSource>, stop: CancellationToken) {
    tracing::info!(files = sources.len(), "tailing voice logs");
    loop {
        match tail_once(&state, &sources).await {
            Ok(report) => {
                for r in &report.rejected {
                    tracing::warn!(line = r.line, reason = %r.reason, "voice log line skipped");
                }
            }
            Err(e) => tracing::error!(error = ?e, "tailing voice logs failed"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(TAIL_POLL_INTERVAL) => {}
        }
    }
}

/// A logged call or fax has nobody to send a reply to: public replies are refused (a note,
/// a callback or an email to the customer instead).
pub fn register_outbound(o: &mut crate::conversations::outbound::Outbound) {
    o.nowhere("phone");
    o.nowhere("fax");
}
