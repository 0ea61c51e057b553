//! `/webhooks` routes (admin only).

use crate::auth::{new_token, Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::pagination::Page;
use crate::state::AppState;
use crate::store::{ms_to_rfc3339, new_id, now_ms, Tx};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
}

#[derive(Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    /// Event kinds delivered: exact (`message.created`), a family (`conversation.*`) or `*`.
    pub events: Vec<String>,
    pub active: bool,
    /// Shared secret for the `X-Switchboard-Signature` HMAC; shown only when created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub last_status: Option<String>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub last_delivery_at: Option<String>,
    pub created_at: String,
}

type Row = (
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    i64,
);
const COLS: &str = "id, url, events, active, last_status, last_status_code, last_error, last_delivery_at, created_at";

fn from_row(r: Row) -> Webhook {
    Webhook {
        id: r.0,
        url: r.1,
        events: serde_json::from_str(&r.2).unwrap_or_default(),
        active: r.3 == 1,
        secret: None,
        last_status: r.4,
        last_status_code: r.5,
        last_error: r.6,
        last_delivery_at: r.7.map(ms_to_rfc3339),
        created_at: ms_to_rfc3339(r.8),
    }
}

async fn load(state: &AppState, id: &str) -> ApiResult<Webhook> {
    let row: Option<Row> = sqlx::query_as(&format!("SELECT {COLS} FROM webhooks WHERE id = $1"))
        .bind(id)
        .fetch_optional(state.store.pool())
        .await?;
    row.map(from_row).ok_or(ApiError::NotFound("webhook"))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub active: Option<bool>,
}

fn check_url(state: &AppState, u: &str) -> ApiResult<String> {
    let u = u.trim();
    let parsed = reqwest::Url::parse(u)
        .map_err(|_| ApiError::invalid("invalid_url", "url must be an absolute http(s) URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || u.len() > 2000 {
        return Err(ApiError::invalid(
            "invalid_url",
            "url must be an absolute http(s) URL",
        ));
    }
    if !state.settings.webhooks.allow_private_targets {
        if let Some(why) = super::targets::refuse(&parsed) {
            return Err(ApiError::invalid(
                "private_url",
                format!("url names {why}; webhooks only reach public addresses"),
            ));
        }
    }
    Ok(u.to_string())
}

fn check_events(e: &[String]) -> ApiResult<Vec<String>> {
    if e.is_empty() || e.len() > 50 {
        return Err(ApiError::invalid(
            "invalid_events",
            "events must list 1–50 event kinds",
        ));
    }
    for k in e {
        if k.is_empty()
            || k.len() > 100
            || !k
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_' || c == '*')
        {
            return Err(ApiError::invalid(
                "invalid_events",
                format!("bad event kind `{k}`"),
            ));
        }
    }
    Ok(e.to_vec())
}

async fn write_filters(tx: &mut Tx, id: &str, events: &[String]) -> ApiResult<()> {
    sqlx::query("DELETE FROM webhook_event_filters WHERE webhook_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    for e in events {
        sqlx::query("INSERT INTO webhook_event_filters (webhook_id, event) VALUES ($1, $2)")
            .bind(id)
            .bind(e)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// Register a webhook (admin). The response carries the signing secret once.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = WebhookInput, responses((status = 201, body = Webhook)))]
async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<WebhookInput>,
) -> ApiResult<(StatusCode, Json<Webhook>)> {
    caller.require_role(Role::Admin)?;
    let url = check_url(
        &state,
        req.url
            .as_deref()
            .ok_or_else(|| ApiError::invalid("invalid_url", "`url` is required"))?,
    )?;
    let events = check_events(&req.events.unwrap_or_else(|| vec!["*".into()]))?;
    let id = new_id();
    let secret = new_token();
    let sealed = state.secrets.seal(&secret).map_err(ApiError::Internal)?;
    let now = now_ms();
    let mut tx = state.store.begin().await?;
    sqlx::query("INSERT INTO webhooks (id, url, secret, events, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)")
        .bind(&id)
        .bind(&url)
        .bind(&sealed)
        .bind(serde_json::to_string(&events)?)
        .bind(req.active.unwrap_or(true) as i64)
        .bind(now)
        .execute(tx.conn())
        .await?;
    write_filters(&mut tx, &id, &events).await?;
    tx.commit().await?;
    state.store.webhooks_changed();
    let mut hook = load(&state, &id).await?;
    hook.secret = Some(secret);
    Ok((StatusCode::CREATED, Json(hook)))
}

/// List webhooks with their last delivery status (admin).
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", responses((status = 200, body = Page<Webhook>)))]
async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Page<Webhook>>> {
    caller.require_role(Role::Admin)?;
    let rows: Vec<Row> = sqlx::query_as(&format!("SELECT {COLS} FROM webhooks ORDER BY id"))
        .fetch_all(state.store.pool())
        .await?;
    Ok(Json(Page {
        items: rows.into_iter().map(from_row).collect(),
        next_cursor: None,
    }))
}

/// One webhook (admin).
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", responses((status = 200, body = Webhook)))]
async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Webhook>> {
    caller.require_role(Role::Admin)?;
    Ok(Json(load(&state, &id).await?))
}

/// Change a webhook's URL, events or active flag (admin).
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks", request_body = WebhookInput, responses((status = 200, body = Webhook)))]
async fn update_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<WebhookInput>,
) -> ApiResult<Json<Webhook>> {
    caller.require_role(Role::Admin)?;
    let cur = load(&state, &id).await?;
    let url = match &req.url {
        Some(u) => check_url(&state, u)?,
        None => cur.url,
    };
    let events = match &req.events {
        Some(e) => check_events(e)?,
        None => cur.events,
    };
    let active = req.active.unwrap_or(cur.active);
    let mut tx = state.store.begin().await?;
    sqlx::query(
        "UPDATE webhooks SET url = $1, events = $2, active = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(&url)
    .bind(serde_json::to_string(&events)?)
    .bind(active as i64)
    .bind(now_ms())
    .bind(&id)
    .execute(tx.conn())
    .await?;
    write_filters(&mut tx, &id, &events).await?;
    tx.commit().await?;
    state.store.webhooks_changed();
    Ok(Json(load(&state, &id).await?))
}

/// Delete a webhook and its pending deliveries (admin).
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", responses((status = 204)))]
async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require_role(Role::Admin)?;
    load(&state, &id).await?;
    let mut tx = state.store.begin().await?;
    for sql in [
        "DELETE FROM webhook_deliveries WHERE webhook_id = $1",
        "DELETE FROM webhook_event_filters WHERE webhook_id = $1",
        "DELETE FROM webhooks WHERE id = $1",
    ] {
        sqlx::query(sql).bind(&id).execute(tx.conn()).await?;
    }
    tx.commit().await?;
    state.store.webhooks_changed();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Delivery {
    pub id: String,
    pub event_kind: String,
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
    pub next_attempt_at: String,
}

/// Recent deliveries of a webhook, newest first (admin).
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks", responses((status = 200, body = Page<Delivery>)))]
async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Page<Delivery>>> {
    caller.require_role(Role::Admin)?;
    load(&state, &id).await?;
    type D = (
        String,
        String,
        String,
        i64,
        Option<i64>,
        Option<String>,
        i64,
        Option<i64>,
        i64,
    );
    let rows: Vec<D> = sqlx::query_as(
        "SELECT id, event_kind, status, attempts, last_status_code, last_error, created_at, delivered_at, next_attempt_at \
         FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100",
    )
    .bind(&id)
    .fetch_all(state.store.pool())
    .await?;
    let items = rows
        .into_iter()
        .map(|r| Delivery {
            id: r.0,
            event_kind: r.1,
            status: r.2,
            attempts: r.3,
            last_status_code: r.4,
            last_error: r.5,
            created_at: ms_to_rfc3339(r.6),
            delivered_at: r.7.map(ms_to_rfc3339),
            next_attempt_at: ms_to_rfc3339(r.8),
        })
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}
