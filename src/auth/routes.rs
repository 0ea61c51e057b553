//! `/auth/*` (login, logout, me) and `/api-tokens` (integration tokens, admin only).

use super::{new_token, token_hash, verify_password_with, AgentRef, Caller, Role, SESSION_COOKIE};
use crate::agents::{self, Agent};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::pagination::Page;
use crate::state::AppState;
use crate::store::{ms_to_rfc3339, new_id, now_ms};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_api_tokens, create_api_token))
        .routes(routes!(revoke_api_token))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub agent: Agent,
}

/// Log in with email and password: returns a bearer token and sets an HttpOnly session cookie.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let email = req.email.trim().to_lowercase();
    let ip = state.proxies.client_ip(peer, &headers);
    let guard = &state.login_guard;
    guard.admit(ip, &email)?;
    let found = agents::find_credentials(&state.store, &email).await?;
    let ok = {
        let _slot = guard.hashing_slot().await?;
        let _busy = HashingGauge::new();
        check_password(guard, found, req.password).await
    };
    let Some(agent) = ok else {
        metrics::counter!("switchboard_login_failures_total").increment(1);
        return Err(ApiError::Unauthorized);
    };
    guard.succeeded(ip, &email);
    let token = new_token();
    let ttl_ms = state.settings.auth.session_ttl_hours as i64 * 3_600_000;
    let now = now_ms();
    sqlx::query(
        "INSERT INTO auth_tokens (id, token_hash, kind, agent_id, scopes, created_at, expires_at) \
         VALUES ($1, $2, 'session', $3, '[]', $4, $5)",
    )
    .bind(new_id())
    .bind(token_hash(&token))
    .bind(&agent.id)
    .bind(now)
    .bind(now + ttl_ms)
    .execute(state.store.pool())
    .await?;
    let https = state.settings.server.public_url.starts_with("https://");
    let secure = if state.settings.auth.cookie_secure || https {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
        ttl_ms / 1000
    );
    let body = LoginResponse { token, agent };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// The agent whose password this is, or `None`. Unknown and inactive accounts cost the same
/// work as a real check (one argon2 verification), so timing reveals neither.
async fn check_password(
    guard: &super::guard::LoginGuard,
    found: Option<(Agent, String)>,
    password: String,
) -> Option<Agent> {
    let (agent, hash) = match found {
        Some((agent, hash)) => (agent.active.then_some(agent), Some(hash)),
        None => (None, None),
    };
    let valid = guard
        .hashers
        .run(move || {
            super::hash_pool::with_memory(|memory| {
                verify_password_with(
                    memory,
                    &password,
                    hash.as_deref().unwrap_or_else(|| dummy_hash()),
                )
            })
        })
        .await
        .unwrap_or(false);
    agent.filter(|_| valid)
}

/// An argon2 hash of a random password with the default parameters, made once.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| super::hash_password(&new_token()).expect("argon2 hashes"))
}

/// Counts logins hashing right now (`switchboard_login_hashing` gauge).
struct HashingGauge;

impl HashingGauge {
    fn new() -> Self {
        metrics::gauge!("switchboard_login_hashing").increment(1.0);
        HashingGauge
    }
}

impl Drop for HashingGauge {
    fn drop(&mut self) {
        metrics::gauge!("switchboard_login_hashing").decrement(1.0);
    }
}

/// Log out: revokes the token used for this request and clears the cookie.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204)))]
async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let token_id = match &caller {
        Caller::Agent { token_id, .. } | Caller::Integration { token_id, .. } => token_id,
    };
    if let Caller::Agent { agent, .. } = &caller {
        sqlx::query("UPDATE auth_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(token_id)
            .execute(state.store.pool())
            .await?;
        state.tokens.forget_all();
        // Open console sockets of this session (and kept callers), on every node, go.
        let data = serde_json::json!({ "token_id": token_id });
        let mut ev = crate::events::new_event(super::REVOKED, data);
        ev.agent_id = Some(agent.id.clone());
        state.bus.publish(ev).await;
    }
    let cookie = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// The signed-in agent.
#[utoipa::path(get, path = "/auth/me", tag = "auth", responses((status = 200, body = Agent), (status = 401, body = crate::error::ErrorBody)))]
async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Agent>> {
    let agent: &AgentRef = caller.require_role(Role::Agent)?;
    Ok(Json(agents::get(&state.store, &agent.id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiToken {
    pub name: String,
    /// e.g. `email:inbound`, `voice:ingest`, `conversations`, `customers`, or `*`.
    pub scopes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub revoked: bool,
    /// Only present in the response that created it; never retrievable again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

const KNOWN_SCOPES: &[&str] = &[
    "*",
    "conversations",
    "customers",
    "email:inbound",
    "orders",
    "stats",
    "voice:ingest",
];

/// Create an integration API token (admin). The token value is shown once.
#[utoipa::path(post, path = "/api-tokens", tag = "auth", request_body = CreateApiToken, responses((status = 201, body = ApiToken)))]
async fn create_api_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateApiToken>,
) -> ApiResult<(StatusCode, Json<ApiToken>)> {
    let admin = caller.require_role(Role::Admin)?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > state.settings.limits.max_name_chars {
        return Err(ApiError::invalid(
            "invalid_name",
            "name must be 1–200 characters",
        ));
    }
    if let Some(bad) = req
        .scopes
        .iter()
        .find(|s| !KNOWN_SCOPES.contains(&s.as_str()))
    {
        return Err(ApiError::invalid(
            "invalid_scope",
            format!("unknown scope `{bad}`"),
        ));
    }
    let token = format!("sbk_{}", new_token());
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO auth_tokens (id, token_hash, kind, name, scopes, created_by, created_at) \
         VALUES ($1, $2, 'api', $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(token_hash(&token))
    .bind(name)
    .bind(serde_json::to_string(&req.scopes)?)
    .bind(&admin.id)
    .bind(now)
    .execute(state.store.pool())
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiToken {
            id,
            name: name.to_string(),
            scopes: req.scopes,
            created_at: ms_to_rfc3339(now),
            revoked: false,
            token: Some(token),
        }),
    ))
}

/// List integration API tokens (admin; values are never shown).
#[utoipa::path(get, path = "/api-tokens", tag = "auth", responses((status = 200, body = Page<ApiToken>)))]
async fn list_api_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Page<ApiToken>>> {
    caller.require_role(Role::Admin)?;
    type TokenRow = (String, Option<String>, String, i64, Option<i64>);
    let rows: Vec<TokenRow> = sqlx::query_as(
        "SELECT id, name, scopes, created_at, revoked_at FROM auth_tokens WHERE kind = 'api' ORDER BY id DESC",
    )
    .fetch_all(state.store.pool())
    .await?;
    let items = rows
        .into_iter()
        .map(|(id, name, scopes, created_at, revoked_at)| ApiToken {
            id,
            name: name.unwrap_or_default(),
            scopes: serde_json::from_str(&scopes).unwrap_or_default(),
            created_at: ms_to_rfc3339(created_at),
            revoked: revoked_at.is_some(),
            token: None,
        })
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Revoke an integration API token (admin).
#[utoipa::path(delete, path = "/api-tokens/{id}", tag = "auth", responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn revoke_api_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require_role(Role::Admin)?;
    let res = sqlx::query("UPDATE auth_tokens SET revoked_at = $1 WHERE id = $2 AND kind = 'api' AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(&id)
        .execute(state.store.pool())
        .await?;
    if res.rows_affected() == 0 {
        return Err(ApiError::NotFound("API token"));
    }
    // Kept callers forgotten here at once, on other nodes when the event arrives.
    state.tokens.forget_all();
    let data = serde_json::json!({ "token_id": id });
    let ev = crate::events::new_event(super::REVOKED, data);
    state.bus.publish(ev).await;
    Ok(StatusCode::NO_CONTENT)
}
