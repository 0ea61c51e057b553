//! Click-to-call: `POST /api/v1/channels/voice/calls/originate` with `{number}` or
//! `{customer_id}`. The server sends AMI `Originate` to the PBX over a short connection of its
//! own (any node can, whichever node follows the PBX's events): the calling agent's phone rings
//! first (`voice.originate_channel`, `PJSIP/{extension}`), and once they pick up the PBX dials
//! the number in `voice.originate_context` with `voice.originate_caller_id`. The call itself
//! reaches the customer's history through the PBX's events like any other call.

use super::ami::{self, conn::Connection, conn::LinkError, status};
use crate::auth::{Caller, Role};
use crate::customers;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;
use crate::store::StoreError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use switchboard_ami::Action;
use utoipa::ToSchema;

/// Whom to call: a number, or a customer (their phone identity).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OriginateRequest {
    pub number: Option<String>,
    pub customer_id: Option<String>,
    /// The PBX to call through (`default` for `voice.ami_url`, else a `[[voice.pbx]]` name);
    /// defaults to the first configured.
    pub pbx: Option<String>,
}

/// The PBX's answer to the `Originate` action.
#[derive(Debug, Serialize, ToSchema)]
pub struct OriginateResult {
    pub pbx: String,
    /// The agent's extension, rung first.
    pub extension: String,
    /// The number dialled once the agent picks up.
    pub number: String,
    pub customer_id: Option<String>,
    /// The AMI response (`Success`) and its message (`Originate successfully queued`).
    pub response: String,
    pub message: Option<String>,
}

fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::ConflictCode {
        code,
        message: message.into(),
    }
}

/// The digits to dial for an E.164 number: national form for the home region (`0912…` in
/// Iran), else the international `00` prefix.
pub fn dial_digits(e164: &str, region: &str) -> String {
    let home = region
        .trim()
        .to_ascii_uppercase()
        .parse::<phonenumber::country::Id>()
        .ok();
    if let Ok(n) = phonenumber::parse(None, e164) {
        if home.is_some() && n.country().id() == home {
            let national = n.format().mode(phonenumber::Mode::National).to_string();
            return national.chars().filter(char::is_ascii_digit).collect();
        }
    }
    match e164.strip_prefix('+') {
        Some(rest) => format!("00{rest}"),
        None => e164.to_string(),
    }
}

/// The number to call and the customer it belongs to, if given by id.
async fn target(state: &AppState, req: &OriginateRequest) -> ApiResult<(String, Option<String>)> {
    let region = &state.settings.text.default_region;
    if let Some(raw) = req.number.as_deref().filter(|n| !n.trim().is_empty()) {
        let number = switchboard_text::PhoneNumber::parse(raw, region)
            .map_err(|e| ApiError::invalid("invalid_number", format!("not a phone number: {e}")))?;
        return Ok((number.into_string(), req.customer_id.clone()));
    }
    let Some(id) = req.customer_id.as_deref() else {
        return Err(ApiError::invalid(
            "missing_number",
            "give number or customer_id",
        ));
    };
    let customer = customers::get(&state.store, id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::invalid("unknown_customer", "no such customer"),
            other => other.into(),
        })?;
    let phone = customer
        .identities
        .iter()
        .find(|i| i.kind == "phone" && i.value.starts_with('+'))
        .ok_or_else(|| ApiError::invalid("no_phone", "the customer has no phone number"))?;
    Ok((phone.value.clone(), Some(customer.id)))
}

async fn extension_of(state: &AppState, agent_id: &str) -> ApiResult<String> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT extension FROM agents WHERE id = $1")
            .bind(agent_id)
            .fetch_optional(state.store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
    row.and_then(|r| r.0)
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| {
            conflict(
                "no_extension",
                "you have no phone extension: an admin sets it on your agent profile",
            )
        })
}

/// Ring the calling agent's phone, then the number: answers 202 once the PBX queued the call.
#[utoipa::path(post, path = "/channels/voice/calls/originate", tag = "voice",
    request_body = OriginateRequest,
    responses((status = 202, body = OriginateResult), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn originate(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<OriginateRequest>,
) -> ApiResult<(StatusCode, Json<OriginateResult>)> {
    let agent = caller.require_role(Role::Agent)?.clone();
    let (number, customer_id) = target(&state, &req).await?;
    let extension = extension_of(&state, &agent.id).await?;
    let pbxes = ami::configured(&state.settings.voice);
    let pbx = match req.pbx.as_deref() {
        Some(name) => pbxes
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ApiError::invalid("unknown_pbx", "no PBX of that name"))?,
        None => pbxes
            .first()
            .ok_or_else(|| conflict("no_pbx", "no PBX is configured (voice.ami_url)"))?,
    };
    if !status::connected(&state, &pbx.name).await? {
        return Err(conflict(
            "pbx_not_connected",
            format!("the PBX {} is not connected", pbx.name),
        ));
    }
    let v = &state.settings.voice;
    let dial = dial_digits(&number, &state.settings.text.default_region);
    let channel = v.originate_channel.replace("{extension}", &extension);
    let mut action = Action::new("Originate")
        .field("Channel", &channel)
        .and_then(|a| a.field("Context", &v.originate_context))
        .and_then(|a| a.field("Exten", &dial))
        .and_then(|a| a.field("Priority", "1"))
        .and_then(|a| {
            a.field(
                "Timeout",
                &(u64::from(v.originate_timeout_seconds) * 1000).to_string(),
            )
        })
        .and_then(|a| a.field("Async", "true"))
        .and_then(|a| a.field("Variable", &format!("SWITCHBOARD_AGENT={}", agent.id)))
        .map_err(|e| ApiError::invalid("invalid_number", e.to_string()))?;
    if !v.originate_caller_id.trim().is_empty() {
        action = action
            .field("CallerID", v.originate_caller_id.trim())
            .map_err(|e| ApiError::invalid("invalid_caller_id", e.to_string()))?;
    }
    let roots = crate::channels::email::tls::extra_roots(&state.settings.email).unwrap_or_default();
    let answer = async {
        let mut conn = Connection::open(&pbx.url, &roots, false).await?;
        let answer = conn.request(&action).await?;
        conn.logoff().await;
        Ok::<_, LinkError>(answer)
    }
    .await
    .map_err(|e| {
        tracing::warn!(pbx = %pbx.name, error = %e, "click-to-call: cannot reach the PBX");
        conflict(
            "pbx_not_connected",
            format!("cannot reach the PBX {}: {e}", pbx.name),
        )
    })?;
    let message = answer.get("Message").map(str::to_string);
    if !answer.is_success() {
        return Err(conflict(
            "originate_refused",
            format!("the PBX refused the call: {}", message.unwrap_or_default()),
        ));
    }
    tracing::info!(pbx = %pbx.name, agent = %agent.id, extension = %extension, "click-to-call queued");
    Ok((
        StatusCode::ACCEPTED,
        Json(OriginateResult {
            pbx: pbx.name.clone(),
            extension,
            number,
            customer_id,
            response: answer.response().unwrap_or("Success").to_string(),
            message,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::dial_digits;

    #[test]
    fn home_numbers_are_dialled_nationally_others_internationally() {
        assert_eq!(dial_digits("+989121234567", "IR"), "09121234567");
        assert_eq!(dial_digits("+442071838750", "IR"), "00442071838750");
    }
}
