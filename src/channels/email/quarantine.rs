//! Acting on quarantined messages (admin only): run the kept bytes through ingestion again
//! (after a parser upgrade or a raised limit), or discard them. Listing and downloading live
//! in [`super::routes`].

use super::inbound::{self, Outcome};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiPath, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Reingest and discard routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reingest))
        .routes(routes!(discard))
}

/// Ingest a quarantined message again, as if it had just arrived at its mailbox (or, when
/// that mailbox is gone, at the mailbox it is addressed to). Stored (201) or already stored
/// (200, same `Message-ID`): the quarantine entry is removed. Still unparseable (202): the
/// same entry stays, with the current reason (admin).
#[utoipa::path(post, path = "/channels/email/quarantine/{id}/reingest", tag = "email",
    responses((status = 201, body = Outcome), (status = 200, body = Outcome), (status = 202, body = Outcome)))]
async fn reingest(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<Outcome>)> {
    caller.require_role(Role::Admin)?;
    let row: Option<(Option<String>, Vec<u8>)> =
        sqlx::query_as("SELECT mailbox_id, raw FROM email_quarantine WHERE id = $1")
            .bind(&id)
            .fetch_optional(state.store.pool())
            .await?;
    let (mailbox_id, raw) = row.ok_or(ApiError::NotFound("quarantined message"))?;
    let mailbox = match mailbox_id {
        Some(mid) => inbound::mailbox(&state, &mid).await.ok(),
        None => None,
    };
    // Check first, so a message that still fails keeps its one entry instead of gaining a
    // second one from ingestion.
    if let Err(e) = switchboard_mail::parse(&raw, &super::limits()) {
        return still_quarantined(&state, &id, None, e.to_string()).await;
    }
    let outcome = inbound::ingest(&state, mailbox.as_ref(), &raw).await?;
    let status = match &outcome {
        Outcome::Stored { .. } => StatusCode::CREATED,
        Outcome::Duplicate { .. } => StatusCode::OK,
        Outcome::Quarantined {
            quarantine_id,
            reason,
        } => {
            // Only if ingestion judged differently from the check above: fold its new entry
            // into the original one.
            let (new_id, reason) = (quarantine_id.clone(), reason.clone());
            return still_quarantined(&state, &id, Some(&new_id), reason).await;
        }
    };
    sqlx::query("DELETE FROM email_quarantine WHERE id = $1")
        .bind(&id)
        .execute(state.store.pool())
        .await?;
    tracing::info!(quarantine_id = %id, "quarantined email ingested again");
    Ok((status, Json(outcome)))
}

/// Keep the original entry `id` with `reason` (and drop `duplicate`, an entry ingestion just
/// made for the same bytes).
async fn still_quarantined(
    state: &AppState,
    id: &str,
    duplicate: Option<&str>,
    reason: String,
) -> ApiResult<(StatusCode, Json<Outcome>)> {
    let mut tx = state.store.begin().await?;
    if let Some(dup) = duplicate {
        sqlx::query("DELETE FROM email_quarantine WHERE id = $1")
            .bind(dup)
            .execute(tx.conn())
            .await?;
    }
    sqlx::query("UPDATE email_quarantine SET reason = $1 WHERE id = $2")
        .bind(&reason)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Outcome::Quarantined {
            quarantine_id: id.to_string(),
            reason,
        }),
    ))
}

/// Discard a quarantined message for good (admin).
#[utoipa::path(delete, path = "/channels/email/quarantine/{id}", tag = "email", responses((status = 204)))]
async fn discard(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require_role(Role::Admin)?;
    let done = sqlx::query("DELETE FROM email_quarantine WHERE id = $1")
        .bind(&id)
        .execute(state.store.pool())
        .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::NotFound("quarantined message"));
    }
    tracing::info!(quarantine_id = %id, "quarantined email discarded");
    Ok(StatusCode::NO_CONTENT)
}
