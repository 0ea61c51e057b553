//! Agent-side chat routes: typing and read indicators for the visitor, and the visitor's rating.

use super::visitor::CHANNEL;
use crate::auth::{Caller, Role};
use crate::conversations;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::state::AppState;
use crate::store::ms_to_rfc3339;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

/// Agent typing indicator.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TypingRequest {
    pub on: bool,
}

/// Agent read receipt: the visitor's messages up to `seq` were read.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    pub seq: i64,
}

/// A visitor's satisfaction rating.
#[derive(Serialize, ToSchema)]
pub struct Rating {
    pub conversation_id: String,
    /// 1 (poor) to 5 (excellent).
    pub score: i64,
    pub comment: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

async fn chat_conversation(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> ApiResult<conversations::Conversation> {
    let scope = crate::teams::Scope::of(&state.store, caller).await?;
    let mut conn = state.store.pool().acquire().await?;
    let conv = conversations::get(&mut conn, id)
        .await
        .map_err(ApiError::missing("conversation"))?;
    scope.check(&conv)?;
    if conv.channel != CHANNEL {
        return Err(ApiError::invalid(
            "not_chat",
            "this is not a chat conversation",
        ));
    }
    Ok(conv)
}

async fn publish(
    state: &AppState,
    caller: &Caller,
    id: &str,
    kind: &str,
    mut data: serde_json::Value,
) {
    if let Some(a) = caller.agent() {
        data["author_name"] = json!(a.name);
    }
    data["author"] = json!("agent");
    let mut ev = crate::events::new_event(kind, data);
    ev.conversation_id = Some(id.to_string());
    ev.agent_id = caller.agent().map(|a| a.id.clone());
    state.bus.publish(ev).await;
}

/// Show or hide "… is typing" in the visitor's widget.
#[utoipa::path(post, path = "/channels/chat/conversations/{id}/typing", tag = "chat", request_body = TypingRequest, responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn agent_typing(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<TypingRequest>,
) -> ApiResult<StatusCode> {
    caller.require_role(Role::Agent)?;
    chat_conversation(&state, &caller, &id).await?;
    publish(&state, &caller, &id, "chat.typing", json!({"on": req.on})).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Tell the visitor their messages up to `seq` were read.
#[utoipa::path(post, path = "/channels/chat/conversations/{id}/read", tag = "chat", request_body = ReadRequest, responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn agent_read(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ReadRequest>,
) -> ApiResult<StatusCode> {
    caller.require_role(Role::Agent)?;
    chat_conversation(&state, &caller, &id).await?;
    publish(&state, &caller, &id, "chat.read", json!({"seq": req.seq})).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The web visitor behind a chat conversation, as agents see it.
#[derive(Serialize, ToSchema)]
pub struct VisitorInfo {
    pub visitor_id: String,
    pub site_id: String,
    /// From the pre-chat form.
    pub name: Option<String>,
    pub email: Option<String>,
    /// Whether `email` is an identity of this conversation's own customer. A typed pre-chat
    /// email is not: anyone can type any address.
    pub email_verified: bool,
    /// Another customer who owns `email`: maybe the same person, maybe an impostor. Merge only
    /// after checking.
    pub possible_match: Option<PossibleMatch>,
    /// The visitor has seen every message up to this seq (delivery state).
    pub read_seq: i64,
    pub first_seen_at: String,
    /// Last message or read mark; may lag by up to a minute (a visitor's messages refresh it
    /// at most once a minute).
    pub last_seen_at: String,
}

/// A customer whose identity the visitor claimed without proof.
#[derive(Serialize, ToSchema)]
pub struct PossibleMatch {
    pub customer_id: String,
    pub name: Option<String>,
    pub tier: Option<String>,
}

/// `(email_verified, possible_match)` of a claimed email for the conversation's customer.
async fn email_standing(
    state: &AppState,
    conv_customer: &str,
    email: Option<&str>,
) -> ApiResult<(bool, Option<PossibleMatch>)> {
    let Some(email) = email else {
        return Ok((false, None));
    };
    let mut conn = state.store.pool().acquire().await?;
    let Some(owner) = crate::customers::find_by_identity(&mut conn, "email", email).await? else {
        return Ok((false, None));
    };
    if owner == conv_customer {
        return Ok((true, None));
    }
    let row: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT name, tier FROM customers WHERE id = $1")
            .bind(&owner)
            .fetch_optional(&mut *conn)
            .await?;
    let (name, tier) = row.unwrap_or_default();
    Ok((
        false,
        Some(PossibleMatch {
            customer_id: owner,
            name,
            tier,
        }),
    ))
}

/// Who the chat visitor is and how far they have read.
#[utoipa::path(get, path = "/channels/chat/conversations/{id}/visitor", tag = "chat", responses((status = 200, body = VisitorInfo), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_visitor(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<VisitorInfo>> {
    caller.require(Role::Agent, "conversations")?;
    let conv = chat_conversation(&state, &caller, &id).await?;
    type Row = (
        String,
        String,
        Option<String>,
        Option<String>,
        i64,
        i64,
        i64,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, site_id, name, email, read_seq, created_at, updated_at FROM chat_visitors \
         WHERE conversation_id = $1",
    )
    .bind(&id)
    .fetch_optional(state.store.pool())
    .await?;
    let (visitor_id, site_id, name, email, read_seq, first, last) =
        row.ok_or(ApiError::NotFound("visitor"))?;
    let (email_verified, possible_match) =
        email_standing(&state, &conv.customer_id, email.as_deref()).await?;
    Ok(Json(VisitorInfo {
        visitor_id,
        site_id,
        name,
        email,
        email_verified,
        possible_match,
        read_seq,
        first_seen_at: ms_to_rfc3339(first),
        last_seen_at: ms_to_rfc3339(last),
    }))
}

/// The visitor's rating of a chat conversation.
#[utoipa::path(get, path = "/channels/chat/conversations/{id}/rating", tag = "chat", responses((status = 200, body = Rating), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_rating(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Rating>> {
    caller.require(Role::Agent, "conversations")?;
    chat_conversation(&state, &caller, &id).await?;
    let row: Option<(i64, Option<String>, i64, i64)> = sqlx::query_as(
        "SELECT score, comment, created_at, updated_at FROM chat_ratings WHERE conversation_id = $1",
    )
    .bind(&id)
    .fetch_optional(state.store.pool())
    .await?;
    let (score, comment, created, updated) = row.ok_or(ApiError::NotFound("rating"))?;
    Ok(Json(Rating {
        conversation_id: id,
        score,
        comment,
        created_at: ms_to_rfc3339(created),
        updated_at: ms_to_rfc3339(updated),
    }))
}

/// A chat file (a visitor's upload or an agent's), for agents: the console shows images and
/// links other files with it (session cookie, so `<img src>` works).
#[utoipa::path(get, path = "/channels/chat/attachments/{id}", tag = "chat", responses((status = 200, body = Vec<u8>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn agent_download(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::response::Response> {
    caller.require(Role::Agent, "conversations")?;
    super::attachments::serve_stored(&state, &id).await
}

/// A customer's chat ratings, newest first, with their average.
#[derive(Serialize, ToSchema)]
pub struct CustomerRatings {
    pub items: Vec<Rating>,
    pub count: usize,
    /// Mean score, `null` without ratings.
    pub average: Option<f64>,
}

/// The satisfaction ratings a customer gave in chats (shown on the profile).
#[utoipa::path(get, path = "/channels/chat/customers/{id}/ratings", tag = "chat", responses((status = 200, body = CustomerRatings)))]
pub async fn customer_ratings(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CustomerRatings>> {
    caller.require(Role::Agent, "customers")?;
    let rows: Vec<(String, i64, Option<String>, i64, i64)> = sqlx::query_as(
        "SELECT r.conversation_id, r.score, r.comment, r.created_at, r.updated_at \
         FROM chat_ratings r JOIN conversations c ON c.id = r.conversation_id \
         WHERE c.customer_id = $1 ORDER BY r.updated_at DESC LIMIT 50",
    )
    .bind(&id)
    .fetch_all(state.store.pool())
    .await?;
    let items: Vec<Rating> = rows
        .into_iter()
        .map(
            |(conversation_id, score, comment, created, updated)| Rating {
                conversation_id,
                score,
                comment,
                created_at: ms_to_rfc3339(created),
                updated_at: ms_to_rfc3339(updated),
            },
        )
        .collect();
    let count = items.len();
    let average =
        (count > 0).then(|| items.iter().map(|r| r.score as f64).sum::<f64>() / count as f64);
    Ok(Json(CustomerRatings {
        items,
        count,
        average,
    }))
}
