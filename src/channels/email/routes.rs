//! `/channels/email` routes: the inbound push endpoint, quarantine and attachment downloads.

use super::inbound::{self, Outcome};
use super::push::Pushes;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use crate::state::AppState;
use crate::store::ms_to_rfc3339;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Inbound, quarantine, attachment and outbox routes (pushed mail is group-committed through
/// one [`Pushes`] queue per router).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_inbound))
        .layer(DefaultBodyLimit::max(super::MAX_MESSAGE_BYTES))
        .layer(Extension(Arc::new(Pushes::default())))
        .routes(routes!(list_quarantine))
        .routes(routes!(get_quarantined_raw))
        .routes(routes!(get_attachment))
        .routes(routes!(list_outbox))
        .routes(routes!(super::reply::reply_with_files))
}

/// Query of the inbound endpoint.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboundParams {
    /// The mailbox the message arrived at (its queue and acknowledgement settings apply).
    pub mailbox: Option<String>,
}

/// Push one raw message (`message/rfc822`). Needs the `email:inbound` scope or an admin.
/// 201 stored, 200 duplicate (same `Message-ID`), 202 quarantined (unparseable, kept for
/// an admin).
#[utoipa::path(post, path = "/channels/email/inbound", tag = "email", params(InboundParams),
    request_body(content = String, content_type = "message/rfc822"),
    responses((status = 201, body = Outcome), (status = 200, body = Outcome), (status = 202, body = Outcome)))]
async fn post_inbound(
    State(state): State<AppState>,
    Extension(pushes): Extension<Arc<Pushes>>,
    caller: Caller,
    ApiQuery(p): ApiQuery<InboundParams>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Outcome>)> {
    caller.require(Role::Admin, "email:inbound")?;
    let raw = body.map_err(|_| ApiError::TooLarge)?;
    let mailbox = match &p.mailbox {
        Some(id) => Some(
            inbound::mailbox(&state, id)
                .await
                .map_err(|_| ApiError::NotFound("mailbox"))?,
        ),
        None => None,
    };
    let outcome = pushes.store(&state, mailbox, raw).await?;
    let status = match &outcome {
        Outcome::Stored { .. } => StatusCode::CREATED,
        Outcome::Duplicate { .. } => StatusCode::OK,
        Outcome::Quarantined { .. } => StatusCode::ACCEPTED,
    };
    Ok((status, Json(outcome)))
}

/// A quarantined message (without its bytes).
#[derive(Serialize, ToSchema)]
pub struct Quarantined {
    pub id: String,
    pub mailbox_id: Option<String>,
    pub reason: String,
    pub size: i64,
    pub received_at: String,
}

/// Paging of the quarantine list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuarantineParams {
    /// `next_cursor` of the previous page (newest first).
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// Messages that could not be parsed, newest first (admin).
#[utoipa::path(get, path = "/channels/email/quarantine", tag = "email", params(QuarantineParams), responses((status = 200, body = crate::pagination::Page<Quarantined>)))]
async fn list_quarantine(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<QuarantineParams>,
) -> ApiResult<Json<crate::pagination::Page<Quarantined>>> {
    caller.require_role(Role::Admin)?;
    let limit = p.limit.unwrap_or(50).clamp(1, 200);
    let rows: Vec<(String, Option<String>, String, i64, i64)> = sqlx::query_as(
        "SELECT id, mailbox_id, reason, size, received_at FROM email_quarantine \
         WHERE ($1 = '' OR id < $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(p.cursor.unwrap_or_default())
    .bind(limit as i64 + 1)
    .fetch_all(state.store.pool())
    .await?;
    let mut items: Vec<Quarantined> = rows
        .into_iter()
        .map(|(id, mailbox_id, reason, size, at)| Quarantined {
            id,
            mailbox_id,
            reason,
            size,
            received_at: ms_to_rfc3339(at),
        })
        .collect();
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|q| q.id.clone())
    } else {
        None
    };
    Ok(Json(crate::pagination::Page { items, next_cursor }))
}

/// The raw bytes of a quarantined message (admin).
#[utoipa::path(get, path = "/channels/email/quarantine/{id}/raw", tag = "email", responses((status = 200, content_type = "message/rfc822", body = Vec<u8>)))]
async fn get_quarantined_raw(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    caller.require_role(Role::Admin)?;
    let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT raw FROM email_quarantine WHERE id = $1")
        .bind(&id)
        .fetch_optional(state.store.pool())
        .await?;
    let (raw,) = row.ok_or(ApiError::NotFound("quarantined message"))?;
    Ok(([(header::CONTENT_TYPE, "message/rfc822")], raw).into_response())
}

/// Download an attachment of an email message (agents).
#[utoipa::path(get, path = "/channels/email/attachments/{id}", tag = "email", responses((status = 200, body = Vec<u8>)))]
async fn get_attachment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    caller.require(Role::Agent, "conversations")?;
    let row: Option<(String, String, Vec<u8>, String)> = sqlx::query_as(
        "SELECT filename, content_type, data, conversation_id FROM email_attachments WHERE id = $1",
    )
    .bind(&id)
    .fetch_optional(state.store.pool())
    .await?;
    let (filename, content_type, data, conv) = row.ok_or(ApiError::NotFound("attachment"))?;
    crate::teams::Scope::of(&state.store, &caller)
        .await?
        .check_id(&state.store, &conv)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::NotFound("attachment"),
            o => o,
        })?;
    let safe: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{safe}\"; filename*=UTF-8''{encoded}");
    let content_type = if content_type.parse::<axum::http::HeaderValue>().is_ok() {
        content_type
    } else {
        "application/octet-stream".into()
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
        ],
        data,
    )
        .into_response())
}

/// Query of the outbox list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxParams {
    /// The conversation whose outgoing mail to list.
    pub conversation_id: String,
}

/// One outgoing email and how its delivery went.
#[derive(Serialize, ToSchema, sqlx::FromRow)]
pub struct OutboxEntry {
    pub id: String,
    /// The agent's message it carries (`null` for acknowledgements).
    pub message_id: Option<String>,
    /// `reply` or `ack`.
    pub kind: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub to_address: String,
    /// The `Message-ID` it is (or will be) sent with.
    pub rfc_message_id: String,
    pub last_error: Option<String>,
    #[serde(skip)]
    pub created_ms: i64,
    #[serde(skip)]
    pub sent_ms: Option<i64>,
    #[sqlx(skip)]
    pub created_at: String,
    #[sqlx(skip)]
    pub sent_at: Option<String>,
}

/// Outgoing mail of a conversation with its delivery status, oldest first (agents).
#[utoipa::path(get, path = "/channels/email/outbox", tag = "email", params(OutboxParams), responses((status = 200, body = Vec<OutboxEntry>)))]
async fn list_outbox(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<OutboxParams>,
) -> ApiResult<Json<Vec<OutboxEntry>>> {
    caller.require(Role::Agent, "conversations")?;
    crate::teams::Scope::of(&state.store, &caller)
        .await?
        .check_id(&state.store, &p.conversation_id)
        .await?;
    let mut rows: Vec<OutboxEntry> = sqlx::query_as(
        "SELECT id, message_id, kind, status, attempts, to_address, rfc_message_id, last_error, \
           created_at AS created_ms, sent_at AS sent_ms FROM email_outbox \
         WHERE conversation_id = $1 ORDER BY created_at, id LIMIT 500",
    )
    .bind(&p.conversation_id)
    .fetch_all(state.store.pool())
    .await?;
    for r in &mut rows {
        r.created_at = ms_to_rfc3339(r.created_ms);
        r.sent_at = r.sent_ms.map(ms_to_rfc3339);
    }
    Ok(Json(rows))
}
