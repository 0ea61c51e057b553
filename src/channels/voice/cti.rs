//! The live call-event API, wire-compatible with Zammad's generic CTI API:
//! `POST /api/v1/channels/voice/cti/{token}` with `newCall`, `answer`, `hangup` (or our `fax`)
//! as JSON or form data. The token in the URL is an API token with the `voice:ingest` scope.
//!
//! A ringing call is remembered in `voice_live_calls` and published as `call.ringing` with the
//! caller's customer id (screen pop), addressed (`data.agent_ids`) to the agents it rings for
//! ([`super::ringing`]); the hangup turns it into a contact entry. Calls whose
//! hangup never arrives are closed by [`super::live::run_once`].

use super::anonymous::{anonymous_customer, party, Party};
use super::ingest::{agent_by_extension, normalise_number, store_contact};
use super::live::{
    call_event, close_call, contact, dir_name, record_of, to_time, LiveCall, LIVE_COLS,
};
use crate::auth::{resolve_token, Caller};
use crate::customers;
use crate::error::{ApiError, ApiPath, ApiResult};
use crate::events;
use crate::state::AppState;
use crate::store::{now_ms, StoreError, StoreResult};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use serde_json::{json, Value};
use sqlx::AnyConnection;
use switchboard_voice::{
    parse_cti_form, parse_cti_json, CtiEvent, Direction, Disposition, HangupCause,
};

/// The scope an API token needs to post call events and upload logs.
pub const INGEST_SCOPE: &str = "voice:ingest";

/// Receive one call event. Answers `{ "ok": true, … }`; a ringing call's answer carries the
/// matched `customer_id`.
#[utoipa::path(post, path = "/channels/voice/cti/{token}", tag = "voice",
    params(("token" = String, Path, description = "API token with the voice:ingest scope")),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn cti_event(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    match resolve_token(&state, &token).await? {
        Some(caller @ Caller::Integration { .. }) => {
            caller.require(crate::auth::Role::Admin, INGEST_SCOPE)?
        }
        _ => return Err(ApiError::Unauthorized),
    }
    let body = body.map_err(super::records::body_rejection)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_json = if content_type.starts_with("application/json") {
        true
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        false
    } else {
        body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
    };
    let parsed = if is_json {
        parse_cti_json(&body)
    } else {
        parse_cti_form(&body)
    };
    let event = parsed.map_err(|e| ApiError::invalid("invalid_cti_event", e.to_string()))?;
    let now = now_ms();
    let reply = match event {
        CtiEvent::NewCall { .. } => match new_call(&state, event.clone(), now).await {
            // Another request created the caller's customer first: now it is found.
            Err(ApiError::Conflict(_)) => new_call(&state, event, now).await?,
            other => other?,
        },
        CtiEvent::Answer { .. } => answer(&state, event, now).await?,
        CtiEvent::Hangup { .. } => hangup(&state, event, now).await?,
        CtiEvent::Fax { .. } => {
            let record = event
                .fax_record(to_time(now))
                .expect("fax events make records");
            let contact = contact(record, None);
            let outcome = store_contact(&state, &contact).await?;
            json!({ "ok": true, "duplicate": outcome == super::ingest::Outcome::Duplicate })
        }
    };
    Ok(Json(reply))
}

/// The cause as Zammad spells it.
fn cause_name(c: &HangupCause) -> String {
    match c {
        HangupCause::NormalClearing => "normalClearing",
        HangupCause::Busy => "busy",
        HangupCause::Cancel => "cancel",
        HangupCause::NoAnswer => "noAnswer",
        HangupCause::Congestion => "congestion",
        HangupCause::NotFound => "notFound",
        HangupCause::Forwarded => "forwarded",
        HangupCause::Other(other) => other,
    }
    .to_string()
}

async fn new_call(state: &AppState, event: CtiEvent, now: i64) -> ApiResult<Value> {
    let CtiEvent::NewCall {
        call_id,
        from,
        to,
        direction,
        users,
        queue,
    } = event
    else {
        unreachable!("checked by the caller")
    };
    let region = state.settings.text.default_region.as_str();
    let raw = if direction == Direction::Outbound {
        &to
    } else {
        &from
    };
    let mut tx = state.store.begin().await?;
    let party = party(raw, direction == Direction::Outbound, region);
    let anonymous = party == Ok(Party::Anonymous);
    let customer_id = match party {
        Ok(Party::Number(n)) => Some(
            customers::find_or_create(&mut tx, "phone", &n, raw, None)
                .await?
                .0,
        ),
        Ok(Party::Anonymous) => Some(anonymous_customer(&mut tx).await?),
        Err(_) => None,
    };
    let inserted = sqlx::query(
        "INSERT INTO voice_live_calls (call_id, direction, from_raw, to_raw, customer_id, queue, \
           started_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (call_id) DO NOTHING",
    )
    .bind(&call_id)
    .bind(dir_name(direction))
    .bind(&from)
    .bind(&to)
    .bind(&customer_id)
    .bind(&queue)
    .bind(now)
    .execute(tx.conn())
    .await?
    .rows_affected();
    // The agent side of the call: the called extension, or the caller's on an outbound call.
    let extension = if direction == Direction::Outbound {
        &from
    } else {
        &to
    };
    let agent_ids =
        super::ringing::ringing_agents(tx.conn(), Some(extension), &users, queue.as_deref())
            .await?;
    let ev = call_event(
        "call.ringing",
        customer_id.clone(),
        None,
        json!({
            "call_id": call_id, "direction": dir_name(direction),
            "from": normalise_number(&from, region).unwrap_or(from.clone()),
            "to": normalise_number(&to, region).unwrap_or(to.clone()),
            "queue": queue, "users": users, "anonymous": anonymous,
            "agent_ids": agent_ids,
        }),
    );
    if inserted > 0 {
        events::record(&mut tx, &ev).await?;
    }
    tx.commit().await?;
    if inserted > 0 {
        state.bus.publish(ev).await;
    }
    Ok(json!({ "ok": true, "customer_id": customer_id, "anonymous": anonymous }))
}

/// The agent behind an `answeringNumber`: an extension or an agent's email address.
async fn answering_agent(
    conn: &mut AnyConnection,
    who: Option<&str>,
) -> StoreResult<Option<String>> {
    let Some(who) = who.map(str::trim).filter(|w| !w.is_empty()) else {
        return Ok(None);
    };
    if let Some(id) = agent_by_extension(conn, &switchboard_voice::ascii_digits(who)).await? {
        return Ok(Some(id));
    }
    let row: Option<(String,)> =
        sqlx::query_as("SELECT id FROM agents WHERE LOWER(email) = LOWER($1)")
            .bind(who)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(row.map(|r| r.0))
}

async fn answer(state: &AppState, event: CtiEvent, now: i64) -> ApiResult<Value> {
    let CtiEvent::Answer {
        call_id,
        from,
        to,
        direction,
        answering_number,
        ..
    } = event
    else {
        unreachable!("checked by the caller")
    };
    let mut tx = state.store.begin().await?;
    let agent_id = answering_agent(tx.conn(), answering_number.as_deref()).await?;
    sqlx::query(
        "INSERT INTO voice_live_calls (call_id, direction, from_raw, to_raw, started_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (call_id) DO NOTHING",
    )
    .bind(&call_id)
    .bind(dir_name(direction))
    .bind(&from)
    .bind(&to)
    .bind(now)
    .execute(tx.conn())
    .await?;
    let (customer_id,): (Option<String>,) = sqlx::query_as(
        "UPDATE voice_live_calls SET answered_at = COALESCE(answered_at, $1), \
           agent_id = COALESCE($2, agent_id), updated_at = $1 WHERE call_id = $3 RETURNING customer_id",
    )
    .bind(now)
    .bind(&agent_id)
    .bind(&call_id)
    .fetch_one(tx.conn())
    .await?;
    let ev = call_event(
        "call.answered",
        customer_id,
        agent_id.clone(),
        json!({ "call_id": call_id, "answering_number": answering_number }),
    );
    events::record(&mut tx, &ev).await?;
    tx.commit().await?;
    state.bus.publish(ev).await;
    Ok(json!({ "ok": true, "agent_id": agent_id }))
}

async fn hangup(state: &AppState, event: CtiEvent, now: i64) -> ApiResult<Value> {
    let CtiEvent::Hangup {
        call_id,
        from,
        to,
        direction,
        cause,
        answering_number,
        recording_url,
    } = event
    else {
        unreachable!("checked by the caller")
    };
    let mut conn = state.store.pool().acquire().await?;
    let live: Option<LiveCall> = sqlx::query_as(&format!(
        "SELECT {LIVE_COLS} FROM voice_live_calls WHERE call_id = $1"
    ))
    .bind(&call_id)
    .fetch_optional(&mut *conn)
    .await?;
    let live = live.unwrap_or(LiveCall {
        call_id: call_id.clone(),
        direction: dir_name(direction).into(),
        from_raw: from,
        to_raw: to,
        agent_id: None,
        started_at: now,
        answered_at: None,
    });
    let disposition = match &cause {
        Some(c) => c.disposition(),
        None if live.answered_at.is_some() => Disposition::Answered,
        None => Disposition::NoAnswer,
    };
    let agent_id = match answering_agent(&mut conn, answering_number.as_deref()).await? {
        Some(id) => Some(id),
        None => live.agent_id.clone(),
    };
    let cause_text = cause.map(|c| cause_name(&c));
    let mut record = record_of(&live, now, disposition, cause_text);
    record.recording_url = recording_url;
    drop(conn);
    close_call(state, contact(record, agent_id)).await?;
    Ok(json!({ "ok": true }))
}
