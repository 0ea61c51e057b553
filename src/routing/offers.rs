//! `/offers`: the calling agent's outstanding offers, and accepting or declining one.

use super::apply::{lock_agent, touch_idle};
use super::run::close_offer;
use crate::auth::{Caller, Role};
use crate::conversations::{self, Actor, Conversation};
use crate::error::{ApiError, ApiPath, ApiResult};
use crate::state::AppState;
use crate::store::{ms_to_rfc3339, now_ms, StoreError};
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Offer routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_offers))
        .routes(routes!(accept_offer))
        .routes(routes!(decline_offer))
}

/// A conversation offered to an agent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Offer {
    pub id: String,
    pub conversation_id: String,
    pub agent_id: String,
    pub channel: String,
    /// `offered`, `accepted`, `declined`, `expired` or `withdrawn`.
    pub status: String,
    pub created_at: String,
    pub expires_at: String,
    pub decided_at: Option<String>,
    /// Conversation number, subject and queue, for the agent's notification.
    pub number: i64,
    pub subject: String,
    pub queue_id: Option<String>,
}

/// A list of offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferList {
    pub items: Vec<Offer>,
}

type OfferRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    i64,
    String,
    Option<String>,
);

const OFFER_SQL: &str =
    "SELECT o.id, o.conversation_id, o.agent_id, o.channel, o.status, o.created_at, o.expires_at, \
       o.decided_at, c.number, c.subject, c.queue_id \
     FROM offers o JOIN conversations c ON c.id = o.conversation_id";

fn offer(r: OfferRow) -> Offer {
    let (
        id,
        conversation_id,
        agent_id,
        channel,
        status,
        created,
        expires,
        decided,
        number,
        subject,
        queue_id,
    ) = r;
    Offer {
        id,
        conversation_id,
        agent_id,
        channel,
        status,
        created_at: ms_to_rfc3339(created),
        expires_at: ms_to_rfc3339(expires),
        decided_at: decided.map(ms_to_rfc3339),
        number,
        subject,
        queue_id,
    }
}

/// Outstanding offers to the calling agent, oldest first.
#[utoipa::path(get, path = "/offers", tag = "routing", responses((status = 200, body = OfferList)))]
async fn list_offers(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<OfferList>> {
    let me = caller.require_role(Role::Agent)?;
    let rows: Vec<OfferRow> = sqlx::query_as(&format!(
        "{OFFER_SQL} WHERE o.agent_id = $1 AND o.status = 'offered' AND o.expires_at > $2 \
         ORDER BY o.created_at, o.id"
    ))
    .bind(&me.id)
    .bind(now_ms())
    .fetch_all(state.store.pool())
    .await?;
    Ok(Json(OfferList {
        items: rows.into_iter().map(offer).collect(),
    }))
}

async fn own_offer(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Offer> {
    let me = caller.require_role(Role::Agent)?;
    let row: Option<OfferRow> = sqlx::query_as(&format!("{OFFER_SQL} WHERE o.id = $1"))
        .bind(id)
        .fetch_optional(state.store.pool())
        .await?;
    match row.map(offer) {
        Some(o) if o.agent_id == me.id => Ok(o),
        _ => Err(ApiError::NotFound("offer")),
    }
}

fn not_open(status: &str) -> ApiError {
    ApiError::Conflict(format!("the offer is no longer open ({status})"))
}

/// Accept an offer: the conversation is assigned to the caller. 409 when the offer expired,
/// was withdrawn or already decided.
#[utoipa::path(post, path = "/offers/{id}/accept", tag = "routing", responses((status = 200, body = Conversation), (status = 409, body = crate::error::ErrorBody)))]
async fn accept_offer(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Conversation>> {
    let o = own_offer(&state, &caller, &id).await?;
    let now = now_ms();
    let mut tx = state.store.begin().await?;
    let (caps, _, _) = lock_agent(&mut tx, &o.agent_id, false)
        .await?
        .ok_or(ApiError::NotFound("agent"))?;
    let conv: Option<(String, Option<String>)> = sqlx::query_as(
        "UPDATE conversations SET updated_at = updated_at WHERE id = $1 RETURNING status, assignee_id",
    )
    .bind(&o.conversation_id)
    .fetch_optional(tx.conn())
    .await?;
    let res = sqlx::query(
        "UPDATE offers SET status = 'accepted', decided_at = $1 \
         WHERE id = $2 AND status = 'offered' AND expires_at > $1",
    )
    .bind(now)
    .bind(&id)
    .execute(tx.conn())
    .await?;
    if res.rows_affected() == 0 {
        let (status,): (String,) = sqlx::query_as("SELECT status FROM offers WHERE id = $1")
            .bind(&id)
            .fetch_one(tx.conn())
            .await?;
        let status = if status == "offered" {
            "expired".into()
        } else {
            status
        };
        return Err(not_open(&status));
    }
    if !matches!(&conv, Some((s, None)) if s == "open") {
        return Err(ApiError::Conflict(
            "the conversation is no longer waiting".into(),
        ));
    }
    let capacity = caps.get(&o.channel).copied().unwrap_or(0);
    let load = conversations::assign::load(&mut tx, &o.agent_id, &o.channel).await?;
    if load >= capacity {
        return Err(ApiError::Conflict(format!(
            "you are at capacity for {} ({load}/{capacity})",
            o.channel
        )));
    }
    sqlx::query("UPDATE conversations SET assignee_id = $1, updated_at = $2 WHERE id = $3")
        .bind(&o.agent_id)
        .bind(now)
        .bind(&o.conversation_id)
        .execute(tx.conn())
        .await?;
    touch_idle(&mut tx, &o.agent_id, now).await?;
    let conv = conversations::get(tx.conn(), &o.conversation_id).await?;
    let (kind, actor_id) = caller.actor();
    let actor = Actor { kind, id: actor_id };
    let data = json!({ "from": null, "to": o.agent_id, "via": "offer", "offer_id": id });
    let ev = conversations::record(&mut tx, &conv, "assigned", &actor, data).await?;
    tx.commit().await?;
    state.bus.publish(ev).await;
    Ok(Json(conv))
}

/// Decline an offer: the conversation waits again at its original place and is offered to
/// another agent first.
#[utoipa::path(post, path = "/offers/{id}/decline", tag = "routing", responses((status = 200, body = Offer), (status = 409, body = crate::error::ErrorBody)))]
async fn decline_offer(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Offer>> {
    own_offer(&state, &caller, &id).await?;
    let (kind, actor_id) = caller.actor();
    let actor = Actor { kind, id: actor_id };
    match close_offer(
        &state,
        &id,
        "declined",
        "offer_declined",
        true,
        &actor,
        now_ms(),
    )
    .await
    {
        Ok(Some(ev)) => state.bus.publish(ev).await,
        Ok(None) => {
            let current = own_offer(&state, &caller, &id).await?;
            return Err(not_open(&current.status));
        }
        Err(StoreError::NotFound) => return Err(ApiError::NotFound("offer")),
        Err(e) => return Err(e.into()),
    }
    Ok(Json(own_offer(&state, &caller, &id).await?))
}
