//! A customer's history across every channel, newest first.

use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use crate::pagination::{decode_cursor, finish, page_size, Page};
use crate::state::AppState;
use crate::store::{dialect, ms_to_rfc3339};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// One entry: a conversation being opened, or a message in one.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineItem {
    /// `conversation` or `message`.
    pub kind: String,
    pub id: String,
    pub conversation_id: String,
    pub conversation_number: i64,
    pub channel: String,
    pub subject: String,
    pub status: String,
    pub author_kind: Option<String>,
    pub body: Option<String>,
    pub internal: bool,
    pub at: String,
    #[serde(skip)]
    at_ms: i64,
}

/// A conversation of the customer: id, number, channel, subject, status, created_at, and the
/// latest time any of its messages can carry (`updated_at` moves with every message).
type ConvRow = (String, i64, String, String, String, i64, i64);
type MessageRow = (String, String, String, Option<String>, String, i64, i64);

/// Newest first: `at`, then id.
fn newer(a: &TimelineItem, b: &TimelineItem) -> std::cmp::Ordering {
    (b.at_ms, &b.id).cmp(&(a.at_ms, &a.id))
}

fn item(c: &ConvRow, kind: &str, id: String, at: i64) -> TimelineItem {
    TimelineItem {
        kind: kind.into(),
        id,
        conversation_id: c.0.clone(),
        conversation_number: c.1,
        channel: c.2.clone(),
        subject: c.3.clone(),
        status: c.4.clone(),
        author_kind: None,
        body: None,
        internal: false,
        at: ms_to_rfc3339(at),
        at_ms: at,
    }
}

/// The page's items before `(before_at, before_id)`, at most `want`: the customer's
/// conversations (one index range, however old), then the messages of only those
/// conversations active at or after the oldest conversation item the page can hold. The
/// page and the next one cost the same whatever the customer's history.
async fn page(
    state: &AppState,
    scope: &crate::teams::Scope,
    customer: &str,
    (before_at, before_id): (i64, &str),
    want: usize,
) -> ApiResult<Vec<TimelineItem>> {
    let before = |at: i64, id: &str| at < before_at || (at == before_at && id < before_id);
    let (hidden, values) = scope
        .clause(state.store.backend(), "c.", 2)
        .unwrap_or_default();
    let sql = format!(
        "SELECT c.id, c.number, c.channel, c.subject, c.status, c.created_at, \
                CASE WHEN COALESCE(c.last_message_at, 0) > c.updated_at \
                     THEN c.last_message_at ELSE c.updated_at END \
         FROM conversations c WHERE c.customer_id = $1{hidden}"
    );
    let mut query = sqlx::query_as::<_, ConvRow>(&sql).bind(customer);
    for v in values {
        query = query.bind(v);
    }
    let convs: Vec<ConvRow> = query.fetch_all(state.store.pool()).await?;
    let mut items: Vec<TimelineItem> = convs
        .iter()
        .filter(|c| before(c.5, &c.0))
        .map(|c| item(c, "conversation", c.0.clone(), c.5))
        .collect();
    items.sort_by(newer);
    items.truncate(want);
    // No message older than this can be on the page when `want` conversations are newer.
    let floor = if items.len() == want {
        items[want - 1].at_ms
    } else {
        i64::MIN
    };
    let active: HashMap<&str, &ConvRow> = convs
        .iter()
        .filter(|c| c.6.max(c.5) >= floor)
        .map(|c| (c.0.as_str(), c))
        .collect();
    if !active.is_empty() {
        let ids: Vec<&str> = active.keys().copied().collect();
        let rows: Vec<MessageRow> = sqlx::query_as(&format!(
            "SELECT m.id, m.conversation_id, m.channel, m.author_kind, m.body, m.internal, \
                    m.created_at FROM messages m \
             WHERE m.conversation_id IN (SELECT value FROM {}) AND m.created_at >= $2 \
               AND (m.created_at < $3 OR (m.created_at = $3 AND m.id < $4)) \
             ORDER BY m.created_at DESC, m.id DESC LIMIT $5",
            dialect::json_values_on(state.store.backend())
        ))
        .bind(serde_json::to_string(&ids).map_err(|e| ApiError::Internal(e.into()))?)
        .bind(floor)
        .bind(before_at)
        .bind(before_id)
        .bind(want as i64)
        .fetch_all(state.store.pool())
        .await?;
        for (id, conv, channel, author_kind, body, internal, at) in rows {
            let mut m = item(active[conv.as_str()], "message", id, at);
            m.channel = channel;
            m.author_kind = author_kind;
            m.body = Some(body);
            m.internal = internal == 1;
            items.push(m);
        }
    }
    items.sort_by(newer);
    items.truncate(want);
    Ok(items)
}

/// Every conversation and message of the customer across all channels, newest first.
#[utoipa::path(get, path = "/customers/{id}/timeline", tag = "customers", params(TimelineParams), responses((status = 200, body = Page<TimelineItem>)))]
pub async fn customer_timeline(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<TimelineParams>,
) -> ApiResult<Json<Page<TimelineItem>>> {
    caller.require(Role::Agent, "customers")?;
    super::get(&state.store, &id)
        .await
        .map_err(ApiError::missing("customer"))?;
    let limit = page_size(p.limit, state.settings.limits.max_page_size);
    let (before_at, before_id) = match &p.cursor {
        Some(c) => {
            let raw = decode_cursor(c)?;
            let (at, id) = raw
                .split_once('/')
                .ok_or_else(|| ApiError::BadRequest("invalid cursor".into()))?;
            (
                at.parse::<i64>()
                    .map_err(|_| ApiError::BadRequest("invalid cursor".into()))?,
                id.to_string(),
            )
        }
        None => (i64::MAX, String::new()),
    };
    // Conversations of queues hidden from the caller are left out (access by team).
    let scope = crate::teams::Scope::of(&state.store, &caller).await?;
    let items = page(&state, &scope, &id, (before_at, &before_id), limit + 1).await?;
    Ok(Json(finish(items, limit, |i: &TimelineItem| {
        format!("{}/{}", i.at_ms, i.id)
    })))
}
