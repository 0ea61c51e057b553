//! `/conversations` routes.

use super::access::{actor, visible};
use super::assign::{self, AssignError};
use super::outbound::Outbound;
use super::service::{self, NewConversation, NewMessage};
use super::{Conversation, ConversationRow, HistoryEntry, Message, COLS, STATUSES};
use crate::auth::{Caller, Role};
use crate::customers;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::pagination::{decode_cursor, finish, page_size, Page};
use crate::state::AppState;
use crate::store::StoreError;
use crate::teams::Scope;
use crate::validate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The conversation routes; replies leave the way `outbound` says for their channel.
pub fn router(outbound: Arc<Outbound>) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations, create_conversation))
        .routes(routes!(get_conversation, update_conversation))
        .routes(routes!(
            super::messages::list_messages,
            super::messages::post_message
        ))
        .routes(routes!(assign_conversation))
        .routes(routes!(super::viewing::post_viewing))
        .layer(Extension(outbound))
}

/// A WHERE clause built from optional filters, with numbered placeholders.
struct Filter {
    sql: String,
    binds: Vec<String>,
}

impl Filter {
    fn add(&mut self, clause: &str, value: String) {
        self.binds.push(value);
        self.sql
            .push_str(&clause.replace('?', &format!("${}", self.binds.len())));
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub status: Option<String>,
    pub queue: Option<String>,
    /// An agent id, `me`, or `none` for unassigned.
    pub assignee: Option<String>,
    pub channel: Option<String>,
    pub customer: Option<String>,
    pub tag: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// List conversations, newest first, with filters.
#[utoipa::path(get, path = "/conversations", tag = "conversations", params(ListParams), responses((status = 200, body = Page<Conversation>)))]
async fn list_conversations(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Conversation>>> {
    caller.require(Role::Agent, "conversations")?;
    let limit = page_size(p.limit, state.settings.limits.max_page_size);
    let (mut f, key) = list_source(p.tag.as_deref());
    if let Some(c) = &p.cursor {
        f.add(&format!(" AND {key} < ?"), decode_cursor(c)?);
    }
    if let Some(s) = &p.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ApiError::invalid(
                "invalid_status",
                "status must be open, pending, resolved or closed",
            ));
        }
        f.add(" AND status = ?", s.clone());
    }
    if let Some(q) = &p.queue {
        f.add(" AND queue_id = ?", q.clone());
    }
    match p.assignee.as_deref() {
        None => {}
        Some("none") => f.sql.push_str(" AND assignee_id IS NULL"),
        Some("me") => {
            let me = caller.require_role(Role::Agent)?.id.clone();
            f.add(" AND assignee_id = ?", me);
        }
        Some(a) => f.add(" AND assignee_id = ?", a.to_string()),
    }
    if let Some(c) = &p.channel {
        f.add(" AND channel = ?", validate::channel(c)?);
    }
    if let Some(c) = &p.customer {
        f.add(" AND customer_id = ?", c.clone());
    }
    Scope::of(&state.store, &caller).await?.restrict(
        state.store.backend(),
        "",
        &mut f.sql,
        &mut f.binds,
    );
    f.sql
        .push_str(&format!(" ORDER BY {key} DESC LIMIT {}", limit + 1));
    let mut q = sqlx::query_as::<_, ConversationRow>(&f.sql);
    for b in &f.binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(state.store.pool()).await?;
    // One query for the whole page's tags, not one per row.
    let mut conn = state.store.pool().acquire().await?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut tags = super::tags_of(&mut conn, state.store.backend(), &ids).await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let t = tags.remove(&r.id).unwrap_or_default();
            r.into_model(t)
        })
        .collect();
    Ok(Json(finish(items, limit, |c: &Conversation| c.id.clone())))
}

/// Where a list of conversations reads from, and the column it pages by (newest first). A
/// tagged list walks the tag's conversations from the newest (index `(tag, conversation_id)`,
/// migration 0033) and stops at the page's end: as a filter on the conversations, PostgreSQL
/// walked every open conversation until it met the tagged ones (96 ms with a year of history).
/// The `CROSS JOIN` keeps SQLite's order (tags outside), which otherwise read every open
/// conversation and sorted them; PostgreSQL plans it as any join.
fn list_source(tag: Option<&str>) -> (Filter, &'static str) {
    let Some(tag) = tag else {
        let sql = format!("SELECT {COLS} FROM conversations WHERE 1 = 1");
        return (
            Filter {
                sql,
                binds: Vec::new(),
            },
            "id",
        );
    };
    let mut f = Filter {
        sql: format!(
            "SELECT {COLS} FROM conversation_tags tg CROSS JOIN conversations \
             WHERE conversations.id = tg.conversation_id"
        ),
        binds: Vec::new(),
    };
    f.add(" AND tg.tag = ?", tag.trim().to_lowercase());
    (f, "tg.conversation_id")
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerRef {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversation {
    /// An existing customer, or `customer` to match/create one by email or phone.
    pub customer_id: Option<String>,
    pub customer: Option<CustomerRef>,
    pub subject: String,
    /// First message from the customer, if any.
    pub body: Option<String>,
    pub queue_id: Option<String>,
    #[serde(default)]
    pub priority: i64,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Defaults to `api`.
    pub channel: Option<String>,
    /// Idempotency key for the first message.
    pub external_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub messages: Vec<Message>,
    pub history: Vec<HistoryEntry>,
}

async fn detail(state: &AppState, out: &Outbound, id: &str) -> ApiResult<ConversationDetail> {
    let mut conn = state.store.pool().acquire().await?;
    let conversation = service::get(&mut conn, id)
        .await
        .map_err(ApiError::missing("conversation"))?;
    let mut messages = service::messages(&mut conn, id, 0, 1000).await?;
    out.annotate(&mut conn, id, &mut messages).await?;
    let history = service::history(&mut conn, id).await?;
    Ok(ConversationDetail {
        conversation,
        messages,
        history,
    })
}

/// Open a conversation through the API (integrations use the `api` channel).
#[utoipa::path(post, path = "/conversations", tag = "conversations", request_body = CreateConversation, responses((status = 201, body = ConversationDetail)))]
async fn create_conversation(
    State(state): State<AppState>,
    caller: Caller,
    Extension(outbound): Extension<Arc<Outbound>>,
    ApiJson(req): ApiJson<CreateConversation>,
) -> ApiResult<(StatusCode, Json<ConversationDetail>)> {
    caller.require(Role::Agent, "conversations")?;
    let limits = &state.settings.limits;
    let subject = validate::name("subject", &req.subject, 998)?;
    let channel = validate::channel(req.channel.as_deref().unwrap_or("api"))?;
    let tags = validate::labels("tags", &req.tags)?;
    if !(-1000..=1000).contains(&req.priority) {
        return Err(ApiError::invalid(
            "invalid_priority",
            "priority must be -1000–1000",
        ));
    }
    if let Some(b) = &req.body {
        if b.chars().count() > limits.max_message_chars {
            return Err(ApiError::invalid("too_long", "body too long"));
        }
    }
    let region = &state.settings.text.default_region;
    let ident = match (&req.customer_id, &req.customer) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "invalid_field",
                "give customer_id or customer, not both",
            ))
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "invalid_field",
                "customer_id or customer is required",
            ))
        }
        (Some(_), None) => None,
        (None, Some(c)) => {
            let name = c
                .name
                .as_deref()
                .map(|n| validate::name("name", n, limits.max_name_chars))
                .transpose()?;
            let (kind, raw) = match (&c.email, &c.phone) {
                (Some(e), _) => ("email", e.clone()),
                (None, Some(p)) => ("phone", p.clone()),
                _ => {
                    return Err(ApiError::invalid(
                        "invalid_field",
                        "customer needs an email or phone",
                    ))
                }
            };
            Some((
                kind,
                customers::normalise_identity(kind, &raw, region)?,
                raw,
                name,
            ))
        }
    };
    let act = actor(&caller);
    let mut tx = state.store.begin().await?;
    let customer_id = match (&req.customer_id, ident) {
        (Some(id), _) => {
            let c = customers::get_with(tx.conn(), id)
                .await
                .map_err(|_| ApiError::NotFound("customer"))?;
            c.merged_into.unwrap_or(c.id)
        }
        (None, Some((kind, value, raw, name))) => {
            customers::find_or_create(&mut tx, kind, &value, raw.trim(), name.as_deref())
                .await?
                .0
        }
        (None, None) => unreachable!("checked above"),
    };
    if let Some(q) = &req.queue_id {
        crate::queues::get(&state.store, q)
            .await
            .map_err(|_| ApiError::NotFound("queue"))?;
    }
    let new = NewConversation {
        customer_id,
        channel: channel.clone(),
        subject,
        queue_id: crate::queues::or_default(tx.conn(), &channel, req.queue_id.clone()).await?,
        priority: req.priority,
        tags,
    };
    let (conv, ev) = service::create(&mut tx, state.store.backend(), new, &act).await?;
    let mut evs = vec![ev];
    if let Some(body) = req.body {
        let msg = NewMessage {
            author_kind: "customer",
            author_id: Some(conv.customer_id.clone()),
            body,
            internal: false,
            channel,
            external_id: req.external_id,
            meta: serde_json::json!({}),
            at: None,
        };
        let (_, ev) = service::append_message(&mut tx, &conv.id, msg, &act)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    ApiError::Conflict("a message with this external_id already exists".into())
                }
                o => o.into(),
            })?;
        evs.extend(ev);
    }
    tx.commit().await?;
    for ev in evs {
        state.bus.publish(ev).await;
    }
    Ok((
        StatusCode::CREATED,
        Json(detail(&state, &outbound, &conv.id).await?),
    ))
}

/// One conversation with its messages and history.
#[utoipa::path(get, path = "/conversations/{id}", tag = "conversations", responses((status = 200, body = ConversationDetail), (status = 404, body = crate::error::ErrorBody)))]
async fn get_conversation(
    State(state): State<AppState>,
    caller: Caller,
    Extension(outbound): Extension<Arc<Outbound>>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ConversationDetail>> {
    caller.require(Role::Agent, "conversations")?;
    let scope = Scope::of(&state.store, &caller).await?;
    let mut conn = state.store.pool().acquire().await?;
    visible(&scope, &mut conn, &id).await?;
    drop(conn);
    Ok(Json(detail(&state, &outbound, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConversation {
    pub status: Option<String>,
    pub priority: Option<i64>,
    /// Replaces the tag set.
    pub tags: Option<Vec<String>>,
    pub subject: Option<String>,
}

/// Change status, priority, tags or subject; each change is recorded in the history.
#[utoipa::path(patch, path = "/conversations/{id}", tag = "conversations", request_body = UpdateConversation, responses((status = 200, body = ConversationDetail)))]
async fn update_conversation(
    State(state): State<AppState>,
    caller: Caller,
    Extension(outbound): Extension<Arc<Outbound>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateConversation>,
) -> ApiResult<Json<ConversationDetail>> {
    caller.require(Role::Agent, "conversations")?;
    if let Some(s) = &req.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ApiError::invalid(
                "invalid_status",
                "status must be open, pending, resolved or closed",
            ));
        }
    }
    if let Some(p) = req.priority {
        if !(-1000..=1000).contains(&p) {
            return Err(ApiError::invalid(
                "invalid_priority",
                "priority must be -1000–1000",
            ));
        }
    }
    let tags = req
        .tags
        .as_ref()
        .map(|t| validate::labels("tags", t))
        .transpose()?;
    let subject = req
        .subject
        .as_ref()
        .map(|s| validate::name("subject", s, 998))
        .transpose()?;
    let act = actor(&caller);
    let scope = Scope::of(&state.store, &caller).await?;
    let mut tx = state.store.begin().await?;
    let conv = visible(&scope, tx.conn(), &id).await?;
    let mut evs = Vec::new();
    if let Some(s) = &req.status {
        evs.extend(service::set_status(&mut tx, &conv, s, &act).await?);
    }
    let now = crate::store::now_ms();
    if let Some(p) = req.priority.filter(|p| *p != conv.priority) {
        sqlx::query("UPDATE conversations SET priority = $1, updated_at = $2 WHERE id = $3")
            .bind(p)
            .bind(now)
            .bind(&id)
            .execute(tx.conn())
            .await?;
        evs.push(
            service::record(
                &mut tx,
                &conv,
                "priority_changed",
                &act,
                serde_json::json!({ "from": conv.priority, "to": p }),
            )
            .await?,
        );
    }
    if let Some(t) = tags.filter(|t| {
        let mut a = t.clone();
        a.sort();
        a != conv.tags
    }) {
        service::set_tags(&mut tx, &id, &t).await?;
        evs.push(
            service::record(
                &mut tx,
                &conv,
                "tags_changed",
                &act,
                serde_json::json!({ "from": conv.tags, "to": t }),
            )
            .await?,
        );
    }
    if let Some(s) = subject.filter(|s| *s != conv.subject) {
        sqlx::query("UPDATE conversations SET subject = $1, subject_search = $2, updated_at = $3 WHERE id = $4")
            .bind(&s)
            .bind(switchboard_text::search_fold(&s))
            .bind(now)
            .bind(&id)
            .execute(tx.conn())
            .await?;
        evs.push(
            service::record(
                &mut tx,
                &conv,
                "subject_changed",
                &act,
                serde_json::json!({ "from": conv.subject, "to": s }),
            )
            .await?,
        );
    }
    tx.commit().await?;
    for ev in evs {
        state.bus.publish(ev).await;
    }
    Ok(Json(detail(&state, &outbound, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub agent_id: Option<String>,
    pub queue_id: Option<String>,
    /// Supervisors and admins may exceed the agent's capacity on purpose.
    #[serde(default)]
    pub override_capacity: bool,
}

/// Assign to an agent or transfer to a queue.
#[utoipa::path(post, path = "/conversations/{id}/assign", tag = "conversations", request_body = AssignRequest, responses((status = 200, body = ConversationDetail), (status = 409, body = crate::error::ErrorBody)))]
async fn assign_conversation(
    State(state): State<AppState>,
    caller: Caller,
    Extension(outbound): Extension<Arc<Outbound>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> ApiResult<Json<ConversationDetail>> {
    caller.require(Role::Agent, "conversations")?;
    if req.override_capacity {
        caller.require_role(Role::Supervisor)?;
    }
    let act = actor(&caller);
    let scope = Scope::of(&state.store, &caller).await?;
    let mut tx = state.store.begin().await?;
    let conv = visible(&scope, tx.conn(), &id).await?;
    let result = match (&req.agent_id, &req.queue_id) {
        (Some(a), None) => assign::to_agent(&mut tx, &conv, a, req.override_capacity, &act).await,
        (None, Some(q)) => assign::to_queue(&mut tx, &conv, q, &act).await.map(Some),
        _ => {
            return Err(ApiError::invalid(
                "invalid_field",
                "give exactly one of agent_id or queue_id",
            ))
        }
    };
    let ev = result.map_err(|e| match e {
        AssignError::NoSuchAgent => ApiError::NotFound("agent"),
        AssignError::NoSuchQueue => ApiError::NotFound("queue"),
        AssignError::AtCapacity { .. } | AssignError::Blocked { .. } => {
            ApiError::Conflict(e.to_string())
        }
        AssignError::Unavailable { .. } => ApiError::ConflictCode {
            code: "agent_unavailable",
            message: e.to_string(),
        },
        AssignError::Store(s) => s.into(),
    })?;
    tx.commit().await?;
    if let Some(ev) = ev {
        state.bus.publish(ev).await;
    }
    Ok(Json(detail(&state, &outbound, &id).await?))
}
