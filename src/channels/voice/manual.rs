//! Agents logging a call by hand: `POST /api/v1/channels/voice/calls`.

use super::contact::Contact;
use super::ingest::{store_contact, Outcome};
use crate::auth::{Caller, Role};
use crate::customers::{self, normalise_identity};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;
use crate::store::{new_id, StoreError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use switchboard_voice::{CallRecord, ContactKind, Direction, Disposition, Source};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Longest call that can be logged by hand, in seconds (one day).
pub const MAX_MANUAL_DURATION_SECS: u32 = 86_400;

/// A call an agent logs by hand. Give `customer_id` or `phone` (or both: the phone is then
/// only recorded, the customer is the one given).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualCall {
    pub customer_id: Option<String>,
    pub phone: Option<String>,
    /// `in`/`inbound` or `out`/`outbound`.
    pub direction: String,
    /// RFC 3339; defaults to now minus the duration.
    pub started_at: Option<String>,
    pub duration_secs: u32,
    /// Whether the call was answered (default true); an unanswered inbound call opens a
    /// callback conversation like any missed call.
    pub answered: Option<bool>,
    pub notes: Option<String>,
}

/// Where the logged call was stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedCall {
    pub conversation_id: String,
    pub message_id: String,
    pub customer_id: String,
}

/// Log a call by hand on the customer's history.
#[utoipa::path(post, path = "/channels/voice/calls", tag = "voice", request_body = ManualCall,
    responses((status = 201, body = LoggedCall), (status = 422, body = crate::error::ErrorBody)))]
pub async fn log_call(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<ManualCall>,
) -> ApiResult<(StatusCode, Json<LoggedCall>)> {
    let agent = caller.require_role(Role::Agent)?.clone();
    let direction = match input.direction.as_str() {
        "in" | "inbound" => Direction::Inbound,
        "out" | "outbound" => Direction::Outbound,
        _ => {
            return Err(ApiError::invalid(
                "invalid_direction",
                "direction must be in or out",
            ))
        }
    };
    if input.duration_secs > MAX_MANUAL_DURATION_SECS {
        return Err(ApiError::invalid(
            "invalid_duration",
            "duration_secs must be at most 86400",
        ));
    }
    let notes = input.notes.unwrap_or_default();
    if notes.chars().count() > state.settings.limits.max_message_chars {
        return Err(ApiError::invalid("too_long", "notes are too long"));
    }
    let region = &state.settings.text.default_region;
    let phone = match input.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        Some(p) => Some(normalise_identity("phone", p, region)?),
        None => None,
    };
    if let Some(id) = &input.customer_id {
        customers::get(&state.store, id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ApiError::invalid("unknown_customer", "no such customer"),
                other => other.into(),
            })?;
    } else if phone.is_none() {
        return Err(ApiError::invalid(
            "missing_customer",
            "give customer_id or phone",
        ));
    }
    let duration = input.duration_secs;
    let started_at = match &input.started_at {
        Some(s) => OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|_| ApiError::invalid("invalid_started_at", "started_at must be RFC 3339"))?,
        None => OffsetDateTime::now_utc() - time::Duration::seconds(duration.into()),
    };
    let answered = input.answered.unwrap_or(true);
    let number = phone.unwrap_or_default();
    let (from, to) = match direction {
        Direction::Outbound => (String::new(), number),
        _ => (number, String::new()),
    };
    let record = CallRecord {
        source: Source::Cti,
        kind: ContactKind::Call,
        external_id: new_id(),
        direction,
        from,
        to,
        caller_name: None,
        started_at,
        answered_at: answered.then_some(started_at),
        ended_at: Some(started_at + time::Duration::seconds(duration.into())),
        duration_secs: duration,
        billable_secs: if answered { duration } else { 0 },
        disposition: if answered {
            Disposition::Answered
        } else {
            Disposition::NoAnswer
        },
        agent_extension: None,
        recording_url: None,
        fax_pages: None,
        fax_status: None,
        raw_cause: None,
    };
    let contact = Contact {
        source: "manual",
        record,
        customer_id: input.customer_id,
        notes: Some(notes),
        logged_by: Some(agent.id),
        agent_id: None,
    };
    match store_contact(&state, &contact).await? {
        Outcome::Stored {
            conversation_id,
            message_id,
            customer_id,
        } => Ok((
            StatusCode::CREATED,
            Json(LoggedCall {
                conversation_id,
                message_id,
                customer_id,
            }),
        )),
        Outcome::Rejected(reason) => Err(ApiError::invalid("invalid_call", reason)),
        other => Err(ApiError::Internal(anyhow::anyhow!(
            "manual call not stored: {other:?}"
        ))),
    }
}
