//! `/canned-responses` routes. Every agent reads the shared responses and their own; only
//! supervisors and admins create, change or delete shared ones; an agent's own responses are
//! theirs alone.

use crate::auth::{AgentRef, Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::pagination::{decode_cursor, finish, page_size, Page};
use crate::state::AppState;
use crate::store::{dialect::like_escape, ms_to_rfc3339, new_id, now_ms, StoreError};
use crate::validate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_canned, create_canned))
        .routes(routes!(update_canned, delete_canned))
        .routes(routes!(render_canned))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CannedResponse {
    pub id: String,
    pub title: String,
    /// Text with placeholders such as `{{customer.name}}`, `{{customer.first_name}}`,
    /// `{{agent.name}}`, `{{conversation.number}}`, `{{customer.attributes.KEY}}`.
    pub body: String,
    /// Typed after `/` in the composer to insert this response (may be empty).
    pub shortcut: String,
    /// Shared with every agent (else personal to `owner_id`).
    pub shared: bool,
    pub owner_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    owner_id: Option<String>,
    title: String,
    body: String,
    shortcut: String,
    created_at: i64,
    updated_at: i64,
}

const COLS: &str = "id, owner_id, title, body, shortcut, created_at, updated_at";

impl From<Row> for CannedResponse {
    fn from(r: Row) -> Self {
        CannedResponse {
            shared: r.owner_id.is_none(),
            id: r.id,
            owner_id: r.owner_id,
            title: r.title,
            body: r.body,
            shortcut: r.shortcut,
            created_at: ms_to_rfc3339(r.created_at),
            updated_at: ms_to_rfc3339(r.updated_at),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Filters by title, shortcut and text (Persian/Arabic letter forms folded).
    pub q: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// The shared canned responses and the caller's own, newest first.
#[utoipa::path(get, path = "/canned-responses", tag = "canned responses", params(ListParams),
    responses((status = 200, body = Page<CannedResponse>)))]
async fn list_canned(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<CannedResponse>>> {
    let me = caller.require_role(Role::Agent)?;
    let limit = page_size(p.limit, state.settings.limits.max_page_size);
    let before = p.cursor.as_deref().map(decode_cursor).transpose()?;
    let pattern = match p.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) if q.chars().count() > 200 => {
            return Err(ApiError::invalid("too_long", "query too long"))
        }
        Some(q) => format!("%{}%", like_escape(&switchboard_text::search_fold(q))),
        None => "%".into(),
    };
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLS} FROM canned_responses WHERE (owner_id IS NULL OR owner_id = $1) \
         AND ($2 = '' OR id < $2) AND search LIKE $3 ESCAPE '\\' ORDER BY id DESC LIMIT $4"
    ))
    .bind(&me.id)
    .bind(before.unwrap_or_default())
    .bind(&pattern)
    .bind((limit + 1) as i64)
    .fetch_all(state.store.pool())
    .await?;
    let items = rows.into_iter().map(CannedResponse::from).collect();
    Ok(Json(finish(items, limit, |c: &CannedResponse| {
        c.id.clone()
    })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedInput {
    pub title: Option<String>,
    pub body: Option<String>,
    pub shortcut: Option<String>,
    /// Shared with every agent (supervisors and admins only); personal by default.
    pub shared: Option<bool>,
}

/// Checked fields of a create or update.
struct Checked {
    title: String,
    body: String,
    shortcut: String,
}

fn check(title: &str, body: &str, shortcut: &str) -> ApiResult<Checked> {
    let title = validate::name("title", title, 200)?;
    let body = body.trim().to_string();
    if body.is_empty() || body.chars().count() > 20_000 {
        return Err(ApiError::invalid(
            "invalid_field",
            "`body` must be 1–20,000 characters",
        ));
    }
    let shortcut = shortcut.trim().trim_start_matches('/').to_lowercase();
    let ok = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    if shortcut.chars().count() > 50 || !shortcut.chars().all(ok) {
        return Err(ApiError::invalid(
            "invalid_shortcut",
            "`shortcut` is up to 50 letters, digits, `-` or `_`",
        ));
    }
    Ok(Checked {
        title,
        body,
        shortcut,
    })
}

fn search_text(c: &Checked) -> String {
    switchboard_text::search_fold(&format!("{} {} {}", c.shortcut, c.title, c.body))
}

/// Create a canned response (shared ones need the supervisor role).
#[utoipa::path(post, path = "/canned-responses", tag = "canned responses", request_body = CannedInput,
    responses((status = 201, body = CannedResponse), (status = 403, body = crate::error::ErrorBody)))]
async fn create_canned(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CannedInput>,
) -> ApiResult<(StatusCode, Json<CannedResponse>)> {
    let me = caller.require_role(Role::Agent)?;
    let shared = req.shared.unwrap_or(false);
    if shared {
        caller.require_role(Role::Supervisor)?;
    }
    let c = check(
        req.title.as_deref().unwrap_or(""),
        req.body.as_deref().unwrap_or(""),
        req.shortcut.as_deref().unwrap_or(""),
    )?;
    let (id, now) = (new_id(), now_ms());
    let owner = (!shared).then(|| me.id.clone());
    let mut tx = state.store.begin().await?;
    sqlx::query(
        "INSERT INTO canned_responses (id, owner_id, title, body, shortcut, search, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&id)
    .bind(&owner)
    .bind(&c.title)
    .bind(&c.body)
    .bind(&c.shortcut)
    .bind(search_text(&c))
    .bind(now)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    tx.commit().await?;
    let row = visible(&state, me, &id).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// The canned response `id` if `me` may read it.
async fn visible(state: &AppState, me: &AgentRef, id: &str) -> ApiResult<Row> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM canned_responses WHERE id = $1 AND (owner_id IS NULL OR owner_id = $2)"
    ))
    .bind(id)
    .bind(&me.id)
    .fetch_optional(state.store.pool())
    .await?
    .ok_or(ApiError::NotFound("canned response"))
}

/// The canned response `id` if the caller may change it: their own, or a shared one for
/// supervisors and admins.
async fn editable(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Row> {
    let me = caller.require_role(Role::Agent)?;
    let row = visible(state, me, id).await?;
    if row.owner_id.is_none() {
        caller.require_role(Role::Supervisor).map_err(|_| {
            ApiError::Forbidden("only supervisors and admins change shared responses".into())
        })?;
    }
    Ok(row)
}

/// Change a canned response (its title, text or shortcut; sharing does not change).
#[utoipa::path(patch, path = "/canned-responses/{id}", tag = "canned responses",
    params(("id" = String, Path, description = "canned response id")), request_body = CannedInput,
    responses((status = 200, body = CannedResponse), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn update_canned(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CannedInput>,
) -> ApiResult<Json<CannedResponse>> {
    let cur = editable(&state, &caller, &id).await?;
    if req.shared.is_some_and(|s| s != cur.owner_id.is_none()) {
        return Err(ApiError::invalid(
            "invalid_field",
            "`shared` cannot change; create a new response instead",
        ));
    }
    let c = check(
        req.title.as_deref().unwrap_or(&cur.title),
        req.body.as_deref().unwrap_or(&cur.body),
        req.shortcut.as_deref().unwrap_or(&cur.shortcut),
    )?;
    let mut tx = state.store.begin().await?;
    sqlx::query(
        "UPDATE canned_responses SET title = $1, body = $2, shortcut = $3, search = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(&c.title)
    .bind(&c.body)
    .bind(&c.shortcut)
    .bind(search_text(&c))
    .bind(now_ms())
    .bind(&id)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    tx.commit().await?;
    let me = caller.require_role(Role::Agent)?;
    Ok(Json(visible(&state, me, &id).await?.into()))
}

/// Delete a canned response.
#[utoipa::path(delete, path = "/canned-responses/{id}", tag = "canned responses",
    params(("id" = String, Path, description = "canned response id")),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_canned(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    editable(&state, &caller, &id).await?;
    let mut tx = state.store.begin().await?;
    sqlx::query("DELETE FROM canned_responses WHERE id = $1")
        .bind(&id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderInput {
    pub conversation_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct Rendered {
    pub body: String,
}

/// A canned response with its placeholders filled for one conversation and the caller.
#[utoipa::path(post, path = "/canned-responses/{id}/render", tag = "canned responses",
    params(("id" = String, Path, description = "canned response id")), request_body = RenderInput,
    responses((status = 200, body = Rendered), (status = 404, body = crate::error::ErrorBody)))]
async fn render_canned(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RenderInput>,
) -> ApiResult<Json<Rendered>> {
    let me = caller.require_role(Role::Agent)?;
    let row = visible(&state, me, &id).await?;
    crate::teams::Scope::of(&state.store, &caller)
        .await?
        .check_id(&state.store, &req.conversation_id)
        .await?;
    let (number, customer_id): (i64, String) =
        sqlx::query_as("SELECT number, customer_id FROM conversations WHERE id = $1")
            .bind(&req.conversation_id)
            .fetch_optional(state.store.pool())
            .await?
            .ok_or(ApiError::NotFound("conversation"))?;
    let customer = crate::customers::get(&state.store, &customer_id).await?;
    let values = super::Values {
        customer_name: customer.name.as_deref(),
        customer_attributes: &customer.attributes,
        agent_name: &me.name,
        conversation_number: number,
    };
    Ok(Json(Rendered {
        body: super::render(&row.body, &values),
    }))
}
