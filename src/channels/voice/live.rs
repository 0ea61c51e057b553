//! Calls in progress from the live CTI API (`voice_live_calls`), how they end up as contact
//! entries, and the timeout closing calls whose hangup never arrives.

use super::contact::Contact;
use super::ingest::{store_in, Outcome};
use crate::bus::Event;
use crate::error::ApiResult;
use crate::events;
use crate::state::AppState;
use crate::store::{StoreError, StoreResult};
use serde_json::{json, Value};
use switchboard_voice::{CallRecord, ContactKind, Direction, Disposition, Source};
use time::OffsetDateTime;

pub(super) fn to_time(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(super) fn contact(record: CallRecord, agent_id: Option<String>) -> Contact {
    Contact {
        source: "cti",
        record,
        customer_id: None,
        notes: None,
        logged_by: None,
        agent_id,
    }
}

pub(super) fn dir_name(d: Direction) -> &'static str {
    if d == Direction::Outbound {
        "outbound"
    } else {
        "inbound"
    }
}

pub(super) fn call_event(
    kind: &str,
    customer_id: Option<String>,
    agent_id: Option<String>,
    data: Value,
) -> Event {
    let mut ev = events::new_event(kind, data);
    ev.customer_id = customer_id;
    ev.agent_id = agent_id;
    ev
}

/// A row of `voice_live_calls`.
#[derive(sqlx::FromRow)]
pub(super) struct LiveCall {
    pub(super) call_id: String,
    pub(super) direction: String,
    pub(super) from_raw: String,
    pub(super) to_raw: String,
    pub(super) agent_id: Option<String>,
    pub(super) started_at: i64,
    pub(super) answered_at: Option<i64>,
}

pub(super) const LIVE_COLS: &str =
    "call_id, direction, from_raw, to_raw, agent_id, started_at, answered_at";

pub(super) fn record_of(
    live: &LiveCall,
    ended: i64,
    disposition: Disposition,
    cause: Option<String>,
) -> CallRecord {
    let secs = |from: i64| ((ended - from).max(0) / 1000) as u32;
    CallRecord {
        source: Source::Cti,
        kind: ContactKind::Call,
        external_id: live.call_id.clone(),
        direction: if live.direction == "outbound" {
            Direction::Outbound
        } else {
            Direction::Inbound
        },
        from: live.from_raw.clone(),
        to: live.to_raw.clone(),
        caller_name: None,
        started_at: to_time(live.started_at),
        answered_at: live.answered_at.map(to_time),
        ended_at: Some(to_time(ended)),
        duration_secs: secs(live.started_at),
        billable_secs: live.answered_at.map(secs).unwrap_or(0),
        disposition,
        agent_extension: None,
        recording_url: None,
        fax_pages: None,
        fax_status: None,
        raw_cause: cause,
    }
}

/// Turn a live call into its contact entry and forget it, in one transaction, then publish.
/// Losing a race with a concurrent writer of the same call is retried once (and then finds
/// the call already stored).
pub(super) async fn close_call(state: &AppState, contact: Contact) -> ApiResult<()> {
    let events = match close_in_tx(state, &contact).await {
        Err(StoreError::Conflict(_)) => close_in_tx(state, &contact).await?,
        other => other?,
    };
    for ev in events {
        state.bus.publish(ev).await;
    }
    Ok(())
}

async fn close_in_tx(state: &AppState, contact: &Contact) -> StoreResult<Vec<Event>> {
    let mut tx = state.store.begin().await?;
    let mut events = Vec::new();
    let outcome = store_in(state, &mut tx, contact, &mut events).await?;
    sqlx::query("DELETE FROM voice_live_calls WHERE call_id = $1")
        .bind(&contact.record.external_id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    if outcome != Outcome::Duplicate {
        let customer_id = match &outcome {
            Outcome::Stored { customer_id, .. } | Outcome::Merged { customer_id, .. } => {
                Some(customer_id.clone())
            }
            _ => None,
        };
        let ev = call_event(
            "call.ended",
            customer_id,
            contact.agent_id.clone(),
            json!({ "call_id": contact.record.external_id,
                    "disposition": super::summary::disposition_name(contact.record.disposition) }),
        );
        events::record(&mut tx, &ev).await?;
        events.push(ev);
    }
    tx.commit().await?;
    Ok(events)
}

/// Close calls whose hangup never arrived: ringing longer than `voice.stale_ringing_secs`
/// (stored as missed, so a callback conversation opens) or answered and silent longer than
/// `voice.stale_answered_secs`. Returns how many calls were closed. The worker calls this
/// periodically; tests call it with a future `now`.
pub async fn run_once(state: &AppState, now: i64) -> ApiResult<usize> {
    let stale: Vec<LiveCall> = sqlx::query_as(&format!(
        "SELECT {LIVE_COLS} FROM voice_live_calls WHERE (answered_at IS NULL AND updated_at < $1) \
           OR (answered_at IS NOT NULL AND updated_at < $2) ORDER BY started_at"
    ))
    .bind(now - state.settings.voice.stale_ringing_ms())
    .bind(now - state.settings.voice.stale_answered_ms())
    .fetch_all(state.store.pool())
    .await?;
    let mut closed = 0;
    for live in stale {
        let disposition = if live.answered_at.is_some() {
            Disposition::Answered
        } else {
            Disposition::NoAnswer
        };
        let record = record_of(
            &live,
            now,
            disposition,
            Some("timeout: no hangup event".into()),
        );
        let agent_id = live.agent_id.clone();
        close_call(state, contact(record, agent_id)).await?;
        closed += 1;
    }
    Ok(closed)
}
