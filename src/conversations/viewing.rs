//! Collision detection: `POST /conversations/{id}/viewing` tells every agent's console (on every
//! node, through the bus) who has the conversation open and whether they are typing, so two
//! agents do not answer the same customer at once. Nothing is stored: consoles repeat it while
//! the conversation stays open and forget it when it stops.

use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

/// Whether the calling agent has the conversation open, and is typing in it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Viewing {
    pub on: bool,
    #[serde(default)]
    pub typing: bool,
}

/// Announce that the calling agent is viewing (or left) a conversation; every console gets a
/// `conversation.viewing` event (`data.all_agents`).
#[utoipa::path(post, path = "/conversations/{id}/viewing", tag = "conversations", request_body = Viewing, responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn post_viewing(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<Viewing>,
) -> ApiResult<StatusCode> {
    let agent = caller.require_role(Role::Agent)?.clone();
    let scope = crate::teams::Scope::of(&state.store, &caller).await?;
    let mut conn = state.store.pool().acquire().await?;
    let conv = super::service::get(&mut conn, &id)
        .await
        .map_err(ApiError::missing("conversation"))?;
    drop(conn);
    scope.check(&conv)?;
    let mut ev = crate::events::new_event(
        "conversation.viewing",
        json!({ "viewer_id": agent.id, "viewer_name": agent.name, "on": req.on,
                "typing": req.on && req.typing, "all_agents": true }),
    );
    ev.conversation_id = Some(id);
    state.bus.publish(ev).await;
    Ok(StatusCode::NO_CONTENT)
}
