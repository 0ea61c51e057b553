//! A conversation's messages: the list, and agents' replies and internal notes (each leaving
//! the way its channel registered in [`Outbound`]).

use super::access::{actor, visible};
use super::mentions;
use super::outbound::Outbound;
use super::service::{self, NewMessage};
use super::Message;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::pagination::{page_size, Page};
use crate::state::AppState;
use crate::teams::Scope;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageParams {
    /// Only messages after this sequence number.
    pub after_seq: Option<i64>,
    pub limit: Option<usize>,
}

/// Messages of a conversation, oldest first (page with `after_seq`).
#[utoipa::path(get, path = "/conversations/{id}/messages", tag = "conversations", params(MessageParams), responses((status = 200, body = Page<Message>)))]
pub(super) async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    Extension(outbound): Extension<Arc<Outbound>>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<MessageParams>,
) -> ApiResult<Json<Page<Message>>> {
    caller.require(Role::Agent, "conversations")?;
    let limit = page_size(p.limit, state.settings.limits.max_page_size);
    let scope = Scope::of(&state.store, &caller).await?;
    let mut conn = state.store.pool().acquire().await?;
    visible(&scope, &mut conn, &id).await?;
    let mut items = service::messages(&mut conn, &id, p.after_seq.unwrap_or(0), limit + 1).await?;
    outbound.annotate(&mut conn, &id, &mut items).await?;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|m| m.seq.to_string())
    } else {
        None
    };
    Ok(Json(Page { items, next_cursor }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    pub body: String,
    /// An internal note, never shown to the customer.
    #[serde(default)]
    pub internal: bool,
    /// Agents mentioned in an internal note (their ids); each is told by a
    /// `conversation.mentioned` event.
    #[serde(default)]
    pub mentions: Vec<String>,
}

/// Post an agent reply or an internal note.
#[utoipa::path(post, path = "/conversations/{id}/messages", tag = "conversations", request_body = PostMessage, responses((status = 201, body = Message), (status = 422, description = "empty or too long, or a public reply on a channel nobody can be reached on (`no_reply_channel`: phone, fax)", body = crate::error::ErrorBody)))]
pub(super) async fn post_message(
    State(state): State<AppState>,
    Extension(outbound): Extension<Arc<Outbound>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<PostMessage>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    caller.require(Role::Agent, "conversations")?;
    let body = req.body.trim();
    if body.is_empty() {
        return Err(ApiError::invalid(
            "invalid_field",
            "`body` must not be empty",
        ));
    }
    if body.chars().count() > state.settings.limits.max_message_chars {
        return Err(ApiError::invalid("too_long", "message body too long"));
    }
    let act = actor(&caller);
    let author_kind = if caller.agent().is_some() {
        "agent"
    } else {
        "system"
    };
    let scope = Scope::of(&state.store, &caller).await?;
    let mut tx = state.store.begin().await?;
    let conv = visible(&scope, tx.conn(), &id).await?;
    if !req.internal && !outbound.accepts_reply(&conv.channel) {
        return Err(ApiError::invalid(
            "no_reply_channel",
            "nobody can be reached on this conversation's channel: add an internal note, \
             or write to the customer on another channel",
        ));
    }
    let mentioned = mentions::resolve(&mut tx, &req.mentions, req.internal).await?;
    let msg = NewMessage {
        author_kind,
        author_id: act.id.clone(),
        body: body.to_string(),
        internal: req.internal,
        channel: conv.channel.clone(),
        external_id: None,
        meta: mentions::meta(&mentioned),
        at: None,
    };
    let (message, ev) = service::append_message(&mut tx, &id, msg, &act).await?;
    // Each channel's way out (e.g. the email outbox), in this same transaction.
    outbound.deliver(&mut tx, &conv, &message).await?;
    let told = mentions::announce(&mut tx, &conv, &message, &mentioned).await?;
    tx.commit().await?;
    for ev in ev.into_iter().chain(told) {
        state.bus.publish(ev).await;
    }
    Ok((StatusCode::CREATED, Json(message)))
}
