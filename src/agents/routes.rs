//! `/agents` and `/agents/{id}/presence`.

use super::{default_capacity, get, insert, Agent, AgentRow, NewAgent, AGENT_COLUMNS, PRESENCES};
use crate::auth::{hash_password_async, Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::events;
use crate::pagination::{decode_cursor, finish, page_size, Page};
use crate::state::AppState;
use crate::store::{now_ms, StoreError};
use crate::validate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_agents, create_agent))
        .routes(routes!(get_agent, update_agent))
        .routes(routes!(set_presence))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// List agents (any signed-in agent may see colleagues, e.g. to transfer).
#[utoipa::path(get, path = "/agents", tag = "agents", params(ListParams), responses((status = 200, body = Page<Agent>)))]
async fn list_agents(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Agent>>> {
    caller.require_role(Role::Agent)?;
    let limit = page_size(p.limit, state.settings.limits.max_page_size);
    let after = match &p.cursor {
        Some(c) => decode_cursor(c)?,
        None => String::new(),
    };
    let rows: Vec<AgentRow> = sqlx::query_as(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind((limit + 1) as i64)
    .fetch_all(state.store.pool())
    .await?;
    let rows: Vec<Agent> = rows.into_iter().map(Agent::from).collect();
    Ok(Json(finish(rows, limit, |a| a.id.clone())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    pub capacity: Option<BTreeMap<String, u32>>,
    /// e.g. `{"phone": ["chat"]}`: while on a call, no new chats.
    pub blocks: Option<BTreeMap<String, Vec<String>>>,
    pub extension: Option<String>,
}

fn check_capacity(c: &BTreeMap<String, u32>) -> ApiResult<()> {
    for (ch, n) in c {
        validate::channel(ch)?;
        if *n > 1000 {
            return Err(ApiError::invalid(
                "invalid_capacity",
                "capacity must be 0–1000",
            ));
        }
    }
    Ok(())
}

fn check_blocks(b: &BTreeMap<String, Vec<String>>) -> ApiResult<()> {
    for (busy, blocked) in b {
        validate::channel(busy)?;
        for c in blocked {
            validate::channel(c)?;
        }
    }
    Ok(())
}

fn check_extension(e: &Option<String>) -> ApiResult<Option<String>> {
    match e.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(x)
            if x.len() <= 32
                && x.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '#') =>
        {
            Ok(Some(x.to_string()))
        }
        Some(_) => Err(ApiError::invalid(
            "invalid_extension",
            "extension must be up to 32 digits",
        )),
    }
}

/// Create an agent (admin).
#[utoipa::path(post, path = "/agents", tag = "agents", request_body = CreateAgent, responses((status = 201, body = Agent), (status = 409, body = crate::error::ErrorBody)))]
async fn create_agent(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateAgent>,
) -> ApiResult<(StatusCode, Json<Agent>)> {
    caller.require_role(Role::Admin)?;
    let max = state.settings.limits.max_name_chars;
    let email = switchboard_text::EmailAddress::parse(&req.email)
        .map_err(|e| ApiError::invalid("invalid_email", e.to_string()))?
        .into_string();
    let name = validate::name("name", &req.name, max)?;
    validate::password(&req.password)?;
    let capacity = req.capacity.unwrap_or_else(default_capacity);
    check_capacity(&capacity)?;
    let new = NewAgent {
        email,
        name,
        role: req.role,
        password_hash: hash_password_async(req.password).await?,
        skills: validate::labels("skills", &req.skills)?,
        languages: validate::labels("languages", &req.languages)?,
        capacity,
        blocks: {
            let b = req.blocks.unwrap_or_default();
            check_blocks(&b)?;
            b
        },
        extension: check_extension(&req.extension)?,
    };
    let agent = insert(&state.store, new).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            ApiError::Conflict("an agent with this email or extension already exists".into())
        }
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(agent)))
}

fn resolve_id(caller: &Caller, id: &str) -> ApiResult<String> {
    if id == "me" {
        Ok(caller.require_role(Role::Agent)?.id.clone())
    } else {
        Ok(id.to_string())
    }
}

/// One agent (`me` allowed as id).
#[utoipa::path(get, path = "/agents/{id}", tag = "agents", responses((status = 200, body = Agent), (status = 404, body = crate::error::ErrorBody)))]
async fn get_agent(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Agent>> {
    caller.require_role(Role::Agent)?;
    let id = resolve_id(&caller, &id)?;
    get(&state.store, &id)
        .await
        .map(Json)
        .map_err(ApiError::missing("agent"))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    pub name: Option<String>,
    pub role: Option<Role>,
    /// `false` deactivates the agent: they can no longer log in and their sessions end.
    pub active: Option<bool>,
    pub skills: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    pub capacity: Option<BTreeMap<String, u32>>,
    pub blocks: Option<BTreeMap<String, Vec<String>>>,
    /// Empty string clears it.
    pub extension: Option<String>,
    pub password: Option<String>,
}

/// Update an agent (admin).
#[utoipa::path(patch, path = "/agents/{id}", tag = "agents", request_body = UpdateAgent, responses((status = 200, body = Agent), (status = 404, body = crate::error::ErrorBody)))]
async fn update_agent(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateAgent>,
) -> ApiResult<Json<Agent>> {
    caller.require_role(Role::Admin)?;
    let id = resolve_id(&caller, &id)?;
    let cur = get(&state.store, &id)
        .await
        .map_err(ApiError::missing("agent"))?;
    let max = state.settings.limits.max_name_chars;
    let name = match &req.name {
        Some(n) => validate::name("name", n, max)?,
        None => cur.name.clone(),
    };
    let skills = match &req.skills {
        Some(s) => validate::labels("skills", s)?,
        None => cur.skills.clone(),
    };
    let languages = match &req.languages {
        Some(s) => validate::labels("languages", s)?,
        None => cur.languages.clone(),
    };
    let capacity = match req.capacity {
        Some(c) => {
            check_capacity(&c)?;
            c
        }
        None => cur.capacity.clone(),
    };
    let extension = match &req.extension {
        Some(_) => check_extension(&req.extension)?,
        None => cur.extension.clone(),
    };
    let blocks = match req.blocks {
        Some(b) => {
            check_blocks(&b)?;
            b
        }
        None => cur.blocks.clone(),
    };
    let role = req.role.unwrap_or(cur.role);
    let active = req.active.unwrap_or(cur.active);
    let password_hash = match req.password {
        Some(p) => {
            validate::password(&p)?;
            Some(hash_password_async(p).await?)
        }
        None => None,
    };
    let now = now_ms();
    let mut tx = state.store.begin().await?;
    sqlx::query(
        "UPDATE agents SET name = $1, role = $2, active = $3, skills = $4, languages = $5, \
           capacity = $6, extension = $7, updated_at = $8, \
           password_hash = COALESCE($9, password_hash), \
           presence = CASE WHEN $3 = 1 THEN presence ELSE 'offline' END, blocks = $11 \
         WHERE id = $10",
    )
    .bind(&name)
    .bind(role.as_str())
    .bind(active as i64)
    .bind(serde_json::to_string(&skills)?)
    .bind(serde_json::to_string(&languages)?)
    .bind(serde_json::to_string(&capacity)?)
    .bind(&extension)
    .bind(now)
    .bind(password_hash)
    .bind(&id)
    .bind(serde_json::to_string(&blocks)?)
    .execute(tx.conn())
    .await
    .map_err(|e| match StoreError::from_sqlx(e) {
        StoreError::Conflict(_) => ApiError::Conflict("extension already in use".into()),
        o => o.into(),
    })?;
    if cur.role == Role::Admin && cur.active && (role != Role::Admin || !active) {
        keep_an_admin(&mut tx, &id).await?;
    }
    if !active {
        sqlx::query(
            "UPDATE auth_tokens SET revoked_at = $1 WHERE agent_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(&id)
        .execute(tx.conn())
        .await?;
        if cur.presence != "offline" {
            sqlx::query("UPDATE agents SET presence_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&id)
                .execute(tx.conn())
                .await?;
            crate::reports::presence::log(tx.conn(), &id, "offline", now).await?;
        }
    }
    let mut ev = events::new_event(
        "agent.updated",
        serde_json::json!({ "active": active, "role": role }),
    );
    ev.agent_id = Some(id.clone());
    events::record(&mut tx, &ev).await?;
    tx.commit().await?;
    // Its tokens' kept callers go now on this node, on others when the event arrives.
    state.tokens.forget_all();
    state.bus.publish(ev).await;
    Ok(Json(get(&state.store, &id).await?))
}

/// Refuse (409 `last_admin`) to demote or deactivate `id` when no other active admin remains.
/// Every active admin row is touched first, so two admins demoting each other at once on
/// PostgreSQL serialise on those row locks instead of both succeeding.
async fn keep_an_admin(tx: &mut crate::store::Tx, id: &str) -> ApiResult<()> {
    sqlx::query("UPDATE agents SET updated_at = updated_at WHERE role = 'admin' AND active = 1")
        .execute(tx.conn())
        .await?;
    let (others,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM agents WHERE role = 'admin' AND active = 1 AND id <> $1",
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    if others == 0 {
        return Err(ApiError::ConflictCode {
            code: "last_admin",
            message: "the last active admin cannot be demoted or deactivated".into(),
        });
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceRequest {
    /// `available`, `away` or `offline`.
    pub status: String,
}

/// Set an agent's presence (`me` for oneself; supervisors and admins may set anyone's).
#[utoipa::path(put, path = "/agents/{id}/presence", tag = "agents", request_body = PresenceRequest, responses((status = 200, body = Agent)))]
async fn set_presence(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<PresenceRequest>,
) -> ApiResult<Json<Agent>> {
    let me = caller.require_role(Role::Agent)?;
    let id = resolve_id(&caller, &id)?;
    if id != me.id && me.role < Role::Supervisor {
        return Err(ApiError::Forbidden(
            "only supervisors may set another agent's presence".into(),
        ));
    }
    if !PRESENCES.contains(&req.status.as_str()) {
        return Err(ApiError::invalid(
            "invalid_presence",
            "status must be available, away or offline",
        ));
    }
    let now = now_ms();
    let mut tx = state.store.begin().await?;
    let prev: Option<(String,)> =
        sqlx::query_as("SELECT presence FROM agents WHERE id = $1 AND active = 1")
            .bind(&id)
            .fetch_optional(tx.conn())
            .await?;
    let Some((prev,)) = prev else {
        return Err(ApiError::NotFound("agent"));
    };
    // `presence_at` (the API's `presence_since`) and the presence log move on a change only.
    if prev != req.status {
        sqlx::query("UPDATE agents SET presence = $1, presence_at = $2 WHERE id = $3")
            .bind(&req.status)
            .bind(now)
            .bind(&id)
            .execute(tx.conn())
            .await?;
        crate::reports::presence::log(tx.conn(), &id, &req.status, now).await?;
    }
    let mut ev = events::new_event(
        "agent.presence_changed",
        serde_json::json!({ "status": req.status }),
    );
    ev.agent_id = Some(id.clone());
    events::record(&mut tx, &ev).await?;
    tx.commit().await?;
    state.bus.publish(ev).await;
    Ok(Json(get(&state.store, &id).await?))
}
