//! What followed calls do to the contact center, each event's effects in one transaction: the
//! ringing pop-up (`call.ringing`, as from CTI), `call.answered`, and at the end the call's entry
//! on the customer's history (source `ami`, external id `ami:<pbx>:<linkedid>`) through the same
//! path as every call record — so a PBX call record (CDR) of the same call later completes this
//! entry instead of adding one, and storing it twice is a duplicate. The tracker's view of each
//! call in progress is kept in `voice_ami_calls`, so that a node taking the PBX over goes on
//! where the previous one stopped without popping or storing anything twice.

use super::track::{Call, Effect, Tracker};
use crate::bus::Event;
use crate::channels::voice::anonymous::{anonymous_customer, party, Party};
use crate::channels::voice::contact::{normalise_number, Contact};
use crate::channels::voice::ingest::{agent_by_extension, store_in, Outcome};
use crate::channels::voice::live::{call_event, to_time};
use crate::channels::voice::summary::disposition_name;
use crate::customers;
use crate::events;
use crate::state::AppState;
use crate::store::{now_ms, StoreError, StoreResult, Tx};
use serde_json::json;
use switchboard_ami::Message;
use switchboard_voice::{CallRecord, ContactKind, Direction, Source};

/// The calls of `pbx` in progress, as the last node following it left them.
pub async fn load(state: &AppState, pbx: &str) -> StoreResult<Tracker> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT state FROM voice_ami_calls WHERE pbx = $1")
        .bind(pbx)
        .fetch_all(state.store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
    let mut tracker = Tracker::default();
    for (json,) in rows {
        if let Ok(call) = serde_json::from_str::<Call>(&json) {
            tracker.calls.insert(call.linkedid.clone(), call);
        }
    }
    Ok(tracker)
}

/// Feed one call event of `pbx` to `tracker` and apply what it means.
pub async fn handle(
    state: &AppState,
    pbx: &str,
    tracker: &mut Tracker,
    ev: &Message,
) -> StoreResult<()> {
    let Some((linked, effects)) = tracker.apply(ev, now_ms()) else {
        return Ok(());
    };
    let Some(call) = tracker.calls.get(&linked).cloned() else {
        return Ok(());
    };
    let ended = effects.contains(&Effect::End);
    // A lost race (the caller's customer created concurrently) is retried once.
    let events = match apply(state, pbx, &call, &effects).await {
        Err(StoreError::Conflict(_)) => apply(state, pbx, &call, &effects).await?,
        other => other?,
    };
    if ended {
        tracker.calls.remove(&linked);
    }
    for ev in events {
        state.bus.publish(ev).await;
    }
    Ok(())
}

/// Close the calls of `pbx` silent for longer than `voice.stale_ringing_secs` (unanswered)
/// or `voice.stale_answered_secs` (answered): their hangup was lost (a disconnect). Returns
/// how many were closed.
pub async fn close_stale(
    state: &AppState,
    pbx: &str,
    tracker: &mut Tracker,
    now: i64,
) -> StoreResult<usize> {
    let v = &state.settings.voice;
    let stale: Vec<Call> = tracker
        .calls
        .values()
        .filter(|c| {
            let limit = if c.answered_ms.is_some() {
                v.stale_answered_ms()
            } else {
                v.stale_ringing_ms()
            };
            now - c.updated_ms > limit
        })
        .cloned()
        .collect();
    let closed = stale.len();
    for mut call in stale {
        tracker.calls.remove(&call.linkedid);
        // When it really ended is unknown: its talk time counts as none.
        call.ended_ms = Some(call.answered_ms.unwrap_or(call.started_ms));
        call.dial_status
            .get_or_insert_with(|| "no hangup seen".into());
        let events = apply(state, pbx, &call, &[Effect::End]).await?;
        for ev in events {
            state.bus.publish(ev).await;
        }
    }
    Ok(closed)
}

async fn apply(
    state: &AppState,
    pbx: &str,
    call: &Call,
    effects: &[Effect],
) -> StoreResult<Vec<Event>> {
    let key = format!("{pbx}:{}", call.linkedid);
    let mut tx = state.store.begin().await?;
    let mut events = Vec::new();
    for effect in effects {
        match effect {
            Effect::Ring(ext) => events.extend(ring(state, &mut tx, &key, call, ext).await?),
            Effect::Answer(ext) => events.extend(answered(&mut tx, &key, ext).await?),
            Effect::End => events.extend(end(state, &mut tx, &key, call).await?),
        }
    }
    if effects.contains(&Effect::End) {
        sqlx::query("DELETE FROM voice_ami_calls WHERE call_key = $1")
            .bind(&key)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    } else {
        save(&mut tx, pbx, &key, call).await?;
    }
    tx.commit().await?;
    Ok(events)
}

async fn save(tx: &mut Tx, pbx: &str, key: &str, call: &Call) -> StoreResult<()> {
    let state = serde_json::to_string(call).unwrap_or_default();
    sqlx::query(
        "INSERT INTO voice_ami_calls (call_key, pbx, state, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (call_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(pbx)
    .bind(state)
    .bind(now_ms())
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// The customer on the call, found or created by their number (the shared anonymous profile
/// for a withheld one).
async fn customer_of(
    state: &AppState,
    tx: &mut Tx,
    call: &Call,
) -> StoreResult<(Option<String>, bool)> {
    let region = state.settings.text.default_region.as_str();
    let outbound = call.direction() == Direction::Outbound;
    let (from, to) = call.parties();
    let raw = if outbound { &to } else { &from };
    Ok(match party(raw, outbound, region) {
        Ok(Party::Number(n)) => {
            let name = call.caller_name.as_deref().filter(|_| !outbound);
            (
                Some(
                    customers::find_or_create(tx, "phone", &n, raw, name)
                        .await?
                        .0,
                ),
                false,
            )
        }
        Ok(Party::Anonymous) => (Some(anonymous_customer(tx).await?), true),
        Err(_) => (None, false),
    })
}

/// The pop-up on the console of the agent whose extension rings.
async fn ring(
    state: &AppState,
    tx: &mut Tx,
    key: &str,
    call: &Call,
    ext: &str,
) -> StoreResult<Option<Event>> {
    let Some(agent_id) = agent_by_extension(tx.conn(), ext).await? else {
        return Ok(None);
    };
    let (customer_id, anonymous) = customer_of(state, tx, call).await?;
    let region = state.settings.text.default_region.as_str();
    let (from, to) = call.parties();
    let shown = |n: &str| normalise_number(n, region).unwrap_or_else(|| n.to_string());
    let ev = call_event(
        "call.ringing",
        customer_id,
        None,
        json!({
            "call_id": format!("ami:{key}"), "source": "ami",
            "direction": if call.direction() == Direction::Outbound { "outbound" } else { "inbound" },
            "from": shown(&from), "to": shown(&to), "queue": call.queue, "users": [],
            "extension": ext, "anonymous": anonymous, "agent_ids": [agent_id],
        }),
    );
    events::record(tx, &ev).await?;
    Ok(Some(ev))
}

async fn answered(tx: &mut Tx, key: &str, ext: &str) -> StoreResult<Option<Event>> {
    let Some(agent_id) = agent_by_extension(tx.conn(), ext).await? else {
        return Ok(None);
    };
    let ev = call_event(
        "call.answered",
        None,
        Some(agent_id),
        json!({ "call_id": format!("ami:{key}"), "answering_number": ext, "source": "ami" }),
    );
    events::record(tx, &ev).await?;
    Ok(Some(ev))
}

/// The ended call as a call record, as a CDR would describe it.
pub fn record_of(key: &str, call: &Call) -> CallRecord {
    let ended = call.ended_ms.unwrap_or(call.started_ms);
    let secs = |from: i64| ((ended - from).max(0) / 1000) as u32;
    let (from, to) = call.parties();
    CallRecord {
        source: Source::Cti,
        kind: ContactKind::Call,
        external_id: key.to_string(),
        direction: call.direction(),
        from,
        to,
        caller_name: call
            .caller_name
            .clone()
            .filter(|_| call.direction() == Direction::Inbound),
        started_at: to_time(call.started_ms),
        answered_at: call.answered_ms.map(to_time),
        ended_at: Some(to_time(ended)),
        duration_secs: secs(call.started_ms),
        billable_secs: call.answered_ms.map(secs).unwrap_or(0),
        disposition: call.disposition(),
        agent_extension: call.answered_by.clone().or_else(|| call.origin_extension()),
        recording_url: None,
        fax_pages: None,
        fax_status: None,
        raw_cause: call.cause(),
    }
}

/// Store the ended call's entry (a duplicate when another node stored it already).
async fn end(state: &AppState, tx: &mut Tx, key: &str, call: &Call) -> StoreResult<Vec<Event>> {
    let contact = Contact {
        source: "ami",
        record: record_of(key, call),
        customer_id: None,
        notes: None,
        logged_by: None,
        agent_id: None,
    };
    let mut events = Vec::new();
    let outcome = store_in(state, tx, &contact, &mut events).await?;
    let customer_id = match &outcome {
        Outcome::Stored { customer_id, .. } | Outcome::Merged { customer_id, .. } => {
            customer_id.clone()
        }
        _ => return Ok(events),
    };
    let agent = match &contact.record.agent_extension {
        Some(ext) => agent_by_extension(tx.conn(), ext).await?,
        None => None,
    };
    let ev = call_event(
        "call.ended",
        Some(customer_id),
        agent,
        json!({ "call_id": format!("ami:{key}"), "source": "ami",
                "disposition": disposition_name(contact.record.disposition) }),
    );
    events::record(tx, &ev).await?;
    events.push(ev);
    Ok(events)
}
