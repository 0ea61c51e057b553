//! A customer's history across every channel, newest first.

use super::routes::not_found;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use crate::pagination::{decode_cursor, finish, page_size, Page};
use crate::state::AppState;
use crate::store::ms_to_rfc3339;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
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

type Row = (
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
);

/// Every conversation and message of the customer across all channels, newest first.
#[utoipa::path(get, path = "/customers/{id}/timeline", tag = "customers", params(TimelineParams), responses((status = 200, body = Page<TimelineItem>)))]
pub async fn customer_timeline(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<TimelineParams>,
) -> ApiResult<Json<Page<TimelineItem>>> {
    caller.require(Role::Agent, "customers")?;
    super::get(&state.store, &id).await.map_err(not_found)?;
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
    let (hidden, values) = scope
        .clause(state.store.backend(), "c.", 5)
        .unwrap_or_default();
    let sql = format!(
        "SELECT kind, item_id, conversation_id, number, channel, subject, status, author_kind, body, internal, at FROM ( \
           SELECT 'conversation' AS kind, c.id AS item_id, c.id AS conversation_id, c.number AS number, \
                  c.channel AS channel, c.subject AS subject, c.status AS status, \
                  CAST(NULL AS TEXT) AS author_kind, CAST(NULL AS TEXT) AS body, 0 AS internal, c.created_at AS at \
           FROM conversations c WHERE c.customer_id = $1{hidden} \
           UNION ALL \
           SELECT 'message', m.id, c.id, c.number, m.channel, c.subject, c.status, m.author_kind, m.body, m.internal, m.created_at \
           FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.customer_id = $1{hidden} \
         ) t WHERE (at < $2 OR (at = $2 AND ($3 = '' OR item_id < $3))) \
         ORDER BY at DESC, item_id DESC LIMIT $4"
    );
    let mut query = sqlx::query_as::<_, Row>(&sql)
        .bind(&id)
        .bind(before_at)
        .bind(&before_id)
        .bind((limit + 1) as i64);
    for v in values {
        query = query.bind(v);
    }
    let rows: Vec<Row> = query.fetch_all(state.store.pool()).await?;
    let items = rows
        .into_iter()
        .map(
            |(
                kind,
                id,
                conversation_id,
                number,
                channel,
                subject,
                status,
                author_kind,
                body,
                internal,
                at,
            )| TimelineItem {
                kind,
                id,
                conversation_id,
                conversation_number: number,
                channel,
                subject,
                status,
                author_kind,
                body,
                internal: internal == 1,
                at: ms_to_rfc3339(at),
                at_ms: at,
            },
        )
        .collect();
    Ok(Json(finish(items, limit, |i: &TimelineItem| {
        format!("{}/{}", i.at_ms, i.id)
    })))
}
