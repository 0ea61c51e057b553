//! Queues: where conversations wait for an agent, with channels, required skills, language
//! and priority.

use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::pagination::{decode_cursor, finish, page_size, Page};
use crate::state::AppState;
use crate::store::{ms_to_rfc3339, new_id, now_ms, Store, StoreError, StoreResult};
use crate::validate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Queue {
    pub id: String,
    pub name: String,
    pub channels: Vec<String>,
    pub skills: Vec<String>,
    pub language: Option<String>,
    pub priority: i64,
    /// Assign directly instead of offering (typical for email).
    pub auto_accept: bool,
    /// First-response target for this queue, in minutes (`null`: the `[routing]` setting).
    pub first_response_minutes: Option<i64>,
    /// Resolution target for this queue, in hours (`null`: the `[routing]` setting).
    pub resolution_hours: Option<i64>,
    /// When an agent goes offline, their unanswered email returns to this queue too (by
    /// default email stays assigned; chats and callbacks always return).
    pub requeue_email_when_offline: bool,
    /// Service-level target in seconds: answered within it counts toward service level
    /// (`null`: 20 s for phone and chat, the first-response target for email).
    pub service_level_seconds: Option<i64>,
    /// Business-hours calendar of this queue (`null`: none; see `/business-hours`).
    pub business_hours_id: Option<String>,
    /// SLA clocks count only the calendar's business hours.
    pub business_time_only: bool,
    /// Serve valuable customers first: waiting conversations gain priority by their
    /// customer's RFM segment and lifetime value (settings `routing.value_*`).
    pub serve_by_value: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(sqlx::FromRow)]
struct QueueRow {
    id: String,
    name: String,
    channels: String,
    skills: String,
    language: Option<String>,
    priority: i64,
    auto_accept: i64,
    first_response_minutes: Option<i64>,
    resolution_hours: Option<i64>,
    requeue_email_when_offline: i64,
    service_level_seconds: Option<i64>,
    business_hours_id: Option<String>,
    business_time_only: i64,
    serve_by_value: i64,
    created_at: i64,
    updated_at: i64,
}

const COLS: &str = "id, name, channels, skills, language, priority, auto_accept, \
     first_response_minutes, resolution_hours, requeue_email_when_offline, service_level_seconds, \
     created_at, updated_at, business_hours_id, business_time_only, serve_by_value";

impl From<QueueRow> for Queue {
    fn from(r: QueueRow) -> Self {
        Queue {
            id: r.id,
            name: r.name,
            channels: serde_json::from_str(&r.channels).unwrap_or_default(),
            skills: serde_json::from_str(&r.skills).unwrap_or_default(),
            language: r.language,
            priority: r.priority,
            auto_accept: r.auto_accept == 1,
            first_response_minutes: r.first_response_minutes,
            resolution_hours: r.resolution_hours,
            requeue_email_when_offline: r.requeue_email_when_offline == 1,
            service_level_seconds: r.service_level_seconds,
            business_hours_id: r.business_hours_id,
            business_time_only: r.business_time_only == 1,
            serve_by_value: r.serve_by_value == 1,
            created_at: ms_to_rfc3339(r.created_at),
            updated_at: ms_to_rfc3339(r.updated_at),
        }
    }
}

pub async fn get(store: &Store, id: &str) -> StoreResult<Queue> {
    let row: Option<QueueRow> = sqlx::query_as(&format!("SELECT {COLS} FROM queues WHERE id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
    row.map(Queue::from).ok_or(StoreError::NotFound)
}

/// The default queue ("General — عمومی", every channel), created by migration 0013 so that a
/// fresh install routes work before anyone configures queues.
pub const DEFAULT_QUEUE_ID: &str = "00000000-0000-7000-8000-000000000001";

/// The queue new work on `channel` lands in: `chosen` (a site's, a mailbox's, the request's),
/// or else the default queue while its `channels` list names `channel` (an admin takes a
/// channel out of it to leave that channel's unconfigured work unqueued).
pub async fn or_default<'c, E>(
    conn: E,
    channel: &str,
    chosen: Option<String>,
) -> StoreResult<Option<String>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    if chosen.is_some() {
        return Ok(chosen);
    }
    let row: Option<(String,)> = sqlx::query_as("SELECT channels FROM queues WHERE id = $1")
        .bind(DEFAULT_QUEUE_ID)
        .fetch_optional(conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    let takes = row.is_some_and(|(channels,)| {
        serde_json::from_str::<Vec<String>>(&channels).is_ok_and(|c| c.iter().any(|c| c == channel))
    });
    Ok(takes.then(|| DEFAULT_QUEUE_ID.to_string()))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_queues, create_queue))
        .routes(routes!(get_queue, update_queue))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// List queues.
#[utoipa::path(get, path = "/queues", tag = "queues", params(ListParams), responses((status = 200, body = Page<Queue>)))]
async fn list_queues(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Queue>>> {
    caller.require_role(Role::Agent)?;
    let limit = page_size(p.limit, state.settings.limits.max_page_size);
    let after = match &p.cursor {
        Some(c) => decode_cursor(c)?,
        None => String::new(),
    };
    let rows: Vec<QueueRow> = sqlx::query_as(&format!(
        "SELECT {COLS} FROM queues WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind((limit + 1) as i64)
    .fetch_all(state.store.pool())
    .await?;
    let rows = rows.into_iter().map(Queue::from).collect();
    Ok(Json(finish(rows, limit, |q: &Queue| q.id.clone())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueInput {
    pub name: Option<String>,
    pub channels: Option<Vec<String>>,
    pub skills: Option<Vec<String>>,
    /// Empty string clears it.
    pub language: Option<String>,
    pub priority: Option<i64>,
    pub auto_accept: Option<bool>,
    /// Minutes; 0 clears it (the `[routing]` setting applies again).
    pub first_response_minutes: Option<i64>,
    /// Hours; 0 clears it.
    pub resolution_hours: Option<i64>,
    pub requeue_email_when_offline: Option<bool>,
    /// Seconds; 0 clears it (the default applies again).
    pub service_level_seconds: Option<i64>,
    /// A business-hours calendar id; `null` or `""` clears it.
    #[serde(default, deserialize_with = "crate::business_hours::nullable")]
    #[schema(value_type = Option<String>)]
    pub business_hours_id: Option<Option<String>>,
    /// Count SLA clocks in the calendar's business time only (needs `business_hours_id`).
    pub business_time_only: Option<bool>,
    /// Raise waiting conversations' priority by their customer's value.
    pub serve_by_value: Option<bool>,
}

struct Checked {
    name: String,
    channels: Vec<String>,
    skills: Vec<String>,
    language: Option<String>,
    priority: i64,
    auto_accept: bool,
    first_response_minutes: Option<i64>,
    resolution_hours: Option<i64>,
    requeue_email_when_offline: bool,
    service_level_seconds: Option<i64>,
}

/// An SLA target: `Some(0)` clears, 1–100,000 sets, `None` keeps `cur`.
fn target(field: &'static str, v: Option<i64>, cur: Option<i64>) -> ApiResult<Option<i64>> {
    match v {
        None => Ok(cur),
        Some(0) => Ok(None),
        Some(n) if (1..=100_000).contains(&n) => Ok(Some(n)),
        Some(_) => Err(ApiError::invalid(
            "invalid_sla",
            format!("`{field}` must be 0–100000"),
        )),
    }
}

fn check(state: &AppState, req: QueueInput, cur: Option<&Queue>) -> ApiResult<Checked> {
    let name = match (&req.name, cur) {
        (Some(n), _) => validate::name("name", n, state.settings.limits.max_name_chars)?,
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(ApiError::invalid("invalid_field", "`name` is required")),
    };
    let channels = match &req.channels {
        Some(c) => {
            let c = validate::labels("channels", c)?;
            for ch in &c {
                validate::channel(ch)?;
            }
            c
        }
        None => cur.map(|c| c.channels.clone()).unwrap_or_default(),
    };
    let skills = match &req.skills {
        Some(s) => validate::labels("skills", s)?,
        None => cur.map(|c| c.skills.clone()).unwrap_or_default(),
    };
    let language = match req.language {
        Some(l) if l.trim().is_empty() => None,
        Some(l) => Some(validate::labels("language", &[l])?.remove(0)),
        None => cur.and_then(|c| c.language.clone()),
    };
    let priority = req.priority.or(cur.map(|c| c.priority)).unwrap_or(0);
    if !(-1000..=1000).contains(&priority) {
        return Err(ApiError::invalid(
            "invalid_priority",
            "priority must be -1000–1000",
        ));
    }
    let auto_accept = req
        .auto_accept
        .or(cur.map(|c| c.auto_accept))
        .unwrap_or(false);
    let first_response_minutes = target(
        "first_response_minutes",
        req.first_response_minutes,
        cur.and_then(|c| c.first_response_minutes),
    )?;
    let resolution_hours = target(
        "resolution_hours",
        req.resolution_hours,
        cur.and_then(|c| c.resolution_hours),
    )?;
    let requeue_email_when_offline = req
        .requeue_email_when_offline
        .or(cur.map(|c| c.requeue_email_when_offline))
        .unwrap_or(false);
    let service_level_seconds = target(
        "service_level_seconds",
        req.service_level_seconds,
        cur.and_then(|c| c.service_level_seconds),
    )?;
    Ok(Checked {
        requeue_email_when_offline,
        service_level_seconds,
        name,
        channels,
        skills,
        language,
        priority,
        auto_accept,
        first_response_minutes,
        resolution_hours,
    })
}

fn conflict(e: sqlx::Error) -> ApiError {
    match StoreError::from_sqlx(e) {
        StoreError::Conflict(_) => {
            ApiError::Conflict("a queue with this name already exists".into())
        }
        o => o.into(),
    }
}

/// Create a queue (admin).
#[utoipa::path(post, path = "/queues", tag = "queues", request_body = QueueInput, responses((status = 201, body = Queue)))]
async fn create_queue(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<QueueInput>,
) -> ApiResult<(StatusCode, Json<Queue>)> {
    caller.require_role(Role::Admin)?;
    let hours = queue_hours(&state, &req, None).await?;
    let by_value = req.serve_by_value.unwrap_or(false);
    let c = check(&state, req, None)?;
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO queues (id, name, channels, skills, language, priority, auto_accept, created_at, \
           updated_at, first_response_minutes, resolution_hours, requeue_email_when_offline, \
           service_level_seconds) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12)",
    )
    .bind(&id)
    .bind(&c.name)
    .bind(serde_json::to_string(&c.channels)?)
    .bind(serde_json::to_string(&c.skills)?)
    .bind(&c.language)
    .bind(c.priority)
    .bind(c.auto_accept as i64)
    .bind(now)
    .bind(c.first_response_minutes)
    .bind(c.resolution_hours)
    .bind(c.requeue_email_when_offline as i64)
    .bind(c.service_level_seconds)
    .execute(state.store.pool())
    .await
    .map_err(conflict)?;
    hours.save(&state.store, &id).await?;
    save_serve_by_value(&state.store, &id, by_value).await?;
    announce(&state, "queue.created", &id).await?;
    Ok((StatusCode::CREATED, Json(get(&state.store, &id).await?)))
}

/// One queue.
#[utoipa::path(get, path = "/queues/{id}", tag = "queues", responses((status = 200, body = Queue), (status = 404, body = crate::error::ErrorBody)))]
async fn get_queue(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Queue>> {
    caller.require_role(Role::Agent)?;
    get(&state.store, &id)
        .await
        .map(Json)
        .map_err(ApiError::missing("queue"))
}

/// Update a queue (admin).
#[utoipa::path(patch, path = "/queues/{id}", tag = "queues", request_body = QueueInput, responses((status = 200, body = Queue)))]
async fn update_queue(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<QueueInput>,
) -> ApiResult<Json<Queue>> {
    caller.require_role(Role::Admin)?;
    let cur = get(&state.store, &id)
        .await
        .map_err(ApiError::missing("queue"))?;
    let hours = queue_hours(&state, &req, Some(&cur)).await?;
    let by_value = req.serve_by_value.unwrap_or(cur.serve_by_value);
    let c = check(&state, req, Some(&cur))?;
    sqlx::query(
        "UPDATE queues SET name = $1, channels = $2, skills = $3, language = $4, priority = $5, \
           auto_accept = $6, updated_at = $7, first_response_minutes = $9, resolution_hours = $10, \
           requeue_email_when_offline = $11, service_level_seconds = $12 WHERE id = $8",
    )
    .bind(&c.name)
    .bind(serde_json::to_string(&c.channels)?)
    .bind(serde_json::to_string(&c.skills)?)
    .bind(&c.language)
    .bind(c.priority)
    .bind(c.auto_accept as i64)
    .bind(now_ms())
    .bind(&id)
    .bind(c.first_response_minutes)
    .bind(c.resolution_hours)
    .bind(c.requeue_email_when_offline as i64)
    .bind(c.service_level_seconds)
    .execute(state.store.pool())
    .await
    .map_err(conflict)?;
    hours.save(&state.store, &id).await?;
    save_serve_by_value(&state.store, &id, by_value).await?;
    announce(&state, "queue.updated", &id).await?;
    Ok(Json(get(&state.store, &id).await?))
}

/// Tell the routers (a queue's skills or channels decide who is offered what) and the
/// supervisors' consoles (the wallboard shows the queue's target) that a queue changed.
async fn announce(state: &AppState, kind: &str, id: &str) -> ApiResult<()> {
    let q = get(&state.store, id).await?;
    let ev = crate::events::new_event(
        kind,
        serde_json::json!({ "queue_id": id, "name": q.name, "service_level_seconds": q.service_level_seconds }),
    );
    let mut tx = state.store.begin().await?;
    crate::events::record(&mut tx, &ev).await?;
    tx.commit().await?;
    state.bus.publish(ev).await;
    Ok(())
}

/// The business-hours fields a create or change leaves (issue 18), checked before any write.
async fn queue_hours(
    state: &AppState,
    req: &QueueInput,
    cur: Option<&Queue>,
) -> ApiResult<crate::business_hours::QueueHours> {
    let cur = cur.map(|c| crate::business_hours::QueueHours {
        business_hours_id: c.business_hours_id.clone(),
        business_time_only: c.business_time_only,
    });
    crate::business_hours::QueueHours::check(
        &state.store,
        req.business_hours_id.clone(),
        req.business_time_only,
        cur,
    )
    .await
}

/// Store whether queue `id` serves by value.
async fn save_serve_by_value(store: &Store, id: &str, on: bool) -> StoreResult<()> {
    sqlx::query("UPDATE queues SET serve_by_value = $1 WHERE id = $2")
        .bind(i64::from(on))
        .bind(id)
        .execute(store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}
