//! `/teams` (admins write, supervisors read, agents are refused) and `/access`, the
//! deployment's switch (admins write; anyone signed in reads it).

use super::{Team, TEAM_CHANGED};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::pagination::{decode_cursor, finish, page_size, Page};
use crate::state::AppState;
use crate::store::{new_id, now_ms, StoreError, Tx};
use crate::validate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_teams, create_team))
        .routes(routes!(get_team, update_team, delete_team))
        .routes(routes!(get_access, put_access))
}

/// Most queues or members one team lists.
const MAX_ENTRIES: usize = 1000;

/// Create or change a team (every field optional on PATCH; lists are replaced whole).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    pub name: Option<String>,
    /// Queues the team claims.
    pub queue_ids: Option<Vec<String>>,
    /// Member agents.
    pub agent_ids: Option<Vec<String>>,
}

/// The deployment's access switch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// When on, agents and supervisors see only their teams' queues (plus what is assigned
    /// to them, and queues no team claims); admins see everything.
    pub teams_enabled: bool,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

fn conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => {
            ApiError::Conflict("a team with this name already exists".into())
        }
        o => o.into(),
    }
}

/// Ids sorted and deduplicated, each of which must exist in `table` (`422 code` otherwise).
async fn existing(
    tx: &mut Tx,
    ids: Vec<String>,
    table: &str,
    code: &'static str,
) -> ApiResult<Vec<String>> {
    if ids.len() > MAX_ENTRIES {
        return Err(ApiError::invalid(
            "too_long",
            format!("a team lists at most {MAX_ENTRIES} {table}"),
        ));
    }
    let mut ids: Vec<String> = ids.into_iter().map(|i| i.trim().to_string()).collect();
    ids.sort();
    ids.dedup();
    for id in &ids {
        let found: Option<(String,)> =
            sqlx::query_as(&format!("SELECT id FROM {table} WHERE id = $1"))
                .bind(id)
                .fetch_optional(tx.conn())
                .await?;
        if found.is_none() {
            return Err(ApiError::invalid(
                code,
                format!("no such {}: {id}", &table[..table.len() - 1]),
            ));
        }
    }
    Ok(ids)
}

/// Write the team a request leaves (`cur` on PATCH) and return the event to publish.
async fn save(tx: &mut Tx, id: &str, req: TeamInput, cur: Option<&Team>) -> ApiResult<()> {
    let name = match (&req.name, cur) {
        (Some(n), _) => validate::name("name", n, 100)?,
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(ApiError::invalid("invalid_field", "`name` is required")),
    };
    let queues = req
        .queue_ids
        .or_else(|| cur.map(|c| c.queue_ids.clone()))
        .unwrap_or_default();
    let agents = req
        .agent_ids
        .or_else(|| cur.map(|c| c.agent_ids.clone()))
        .unwrap_or_default();
    let queues = existing(tx, queues, "queues", "unknown_queue").await?;
    let agents = existing(tx, agents, "agents", "unknown_agent").await?;
    let now = now_ms();
    let sql = if cur.is_some() {
        "UPDATE teams SET name = $2, updated_at = $3 WHERE id = $1"
    } else {
        "INSERT INTO teams (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)"
    };
    sqlx::query(sql)
        .bind(id)
        .bind(&name)
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(|e| conflict(StoreError::from_sqlx(e)))?;
    super::set_members(tx, id, &queues, &agents).await?;
    Ok(())
}

/// Commit a change of team `id` with its `team.changed` event, then publish it.
async fn commit_change(state: &AppState, mut tx: Tx, id: &str, deleted: bool) -> ApiResult<()> {
    let ev = super::changed(
        &mut tx,
        TEAM_CHANGED,
        json!({ "team_id": id, "deleted": deleted, "all_agents": true }),
    )
    .await?;
    tx.commit().await?;
    state.bus.publish(ev).await;
    Ok(())
}

async fn load(state: &AppState, id: &str) -> ApiResult<Team> {
    let mut conn = state.store.pool().acquire().await?;
    super::get(&mut conn, id)
        .await
        .map_err(ApiError::missing("team"))
}

/// List teams with their queues and members (supervisors and admins).
#[utoipa::path(get, path = "/teams", tag = "teams", params(ListParams),
    responses((status = 200, body = Page<Team>), (status = 403, body = crate::error::ErrorBody)))]
async fn list_teams(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Team>>> {
    caller.require_role(Role::Supervisor)?;
    let limit = page_size(p.limit, state.settings.limits.max_page_size);
    let after = p.cursor.as_deref().map(decode_cursor).transpose()?;
    let items = super::list(&state.store, &after.unwrap_or_default(), limit + 1).await?;
    Ok(Json(finish(items, limit, |t: &Team| t.id.clone())))
}

/// Create a team (admin): `422 unknown_queue` / `unknown_agent` for an id that does not exist.
#[utoipa::path(post, path = "/teams", tag = "teams", request_body = TeamInput,
    responses((status = 201, body = Team), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_team(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<TeamInput>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    caller.require_role(Role::Admin)?;
    let id = new_id();
    let mut tx = state.store.begin().await?;
    save(&mut tx, &id, req, None).await?;
    commit_change(&state, tx, &id, false).await?;
    Ok((StatusCode::CREATED, Json(load(&state, &id).await?)))
}

/// One team (supervisors and admins).
#[utoipa::path(get, path = "/teams/{id}", tag = "teams",
    params(("id" = String, Path, description = "team id")),
    responses((status = 200, body = Team), (status = 404, body = crate::error::ErrorBody)))]
async fn get_team(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Team>> {
    caller.require_role(Role::Supervisor)?;
    Ok(Json(load(&state, &id).await?))
}

/// Change a team (admin); who sees what follows at once, on every node.
#[utoipa::path(patch, path = "/teams/{id}", tag = "teams",
    params(("id" = String, Path, description = "team id")), request_body = TeamInput,
    responses((status = 200, body = Team), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_team(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<TeamInput>,
) -> ApiResult<Json<Team>> {
    caller.require_role(Role::Admin)?;
    let mut tx = state.store.begin().await?;
    let cur = super::get(tx.conn(), &id)
        .await
        .map_err(ApiError::missing("team"))?;
    save(&mut tx, &id, req, Some(&cur)).await?;
    commit_change(&state, tx, &id, false).await?;
    Ok(Json(load(&state, &id).await?))
}

/// Delete a team (admin); its queues become visible to all unless another team claims them.
#[utoipa::path(delete, path = "/teams/{id}", tag = "teams",
    params(("id" = String, Path, description = "team id")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_team(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require_role(Role::Admin)?;
    let mut tx = state.store.begin().await?;
    super::get(tx.conn(), &id)
        .await
        .map_err(ApiError::missing("team"))?;
    super::set_members(&mut tx, &id, &[], &[]).await?;
    sqlx::query("DELETE FROM teams WHERE id = $1")
        .bind(&id)
        .execute(tx.conn())
        .await?;
    commit_change(&state, tx, &id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether access by team is on (anyone signed in may read it).
#[utoipa::path(get, path = "/access", tag = "teams", responses((status = 200, body = Access)))]
async fn get_access(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Access>> {
    caller.require_role(Role::Agent)?;
    Ok(Json(Access {
        teams_enabled: super::enabled(&state.store).await?,
    }))
}

/// Turn access by team on or off for the whole deployment (admin); every node follows at once.
#[utoipa::path(put, path = "/access", tag = "teams", request_body = Access,
    responses((status = 200, body = Access), (status = 403, body = crate::error::ErrorBody)))]
async fn put_access(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<Access>,
) -> ApiResult<Json<Access>> {
    caller.require_role(Role::Admin)?;
    let mut tx = state.store.begin().await?;
    let ev = super::set_enabled(&mut tx, req.teams_enabled).await?;
    tx.commit().await?;
    state.bus.publish(ev).await;
    Ok(Json(req))
}
