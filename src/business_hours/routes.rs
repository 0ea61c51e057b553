//! `/business-hours` routes: supervisors and admins read calendars, admins write them; a
//! calendar still assigned to a queue or a chat site cannot be deleted.

use super::{Calendar, CalendarError, Spec, Weekly};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::pagination::{decode_cursor, finish, page_size, Page};
use crate::state::AppState;
use crate::store::{ms_to_rfc3339, new_id, now_ms, StoreError};
use crate::validate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_calendars, create_calendar))
        .routes(routes!(get_calendar, update_calendar, delete_calendar))
}

/// Most holidays one calendar keeps (years of public holidays).
const MAX_HOLIDAYS: usize = 2000;
/// Most ranges on one day.
const MAX_RANGES: usize = 24;

/// A business-hours calendar.
#[derive(Debug, Serialize, ToSchema)]
pub struct BusinessHours {
    pub id: String,
    pub name: String,
    /// IANA time zone name, e.g. `Asia/Tehran`.
    pub time_zone: String,
    /// Local `[open, close)` ranges `"HH:MM"` per weekday, Saturday first (close may be
    /// `"24:00"`); an empty day is closed.
    pub weekly: Weekly,
    /// Closed dates (Gregorian `YYYY-MM-DD`, local to the time zone), sorted.
    pub holidays: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    time_zone: String,
    weekly: String,
    holidays: String,
    created_at: i64,
    updated_at: i64,
}

const COLS: &str = "id, name, time_zone, weekly, holidays, created_at, updated_at";

impl From<Row> for BusinessHours {
    fn from(r: Row) -> Self {
        BusinessHours {
            id: r.id,
            name: r.name,
            time_zone: r.time_zone,
            weekly: serde_json::from_str(&r.weekly).unwrap_or_default(),
            holidays: serde_json::from_str(&r.holidays).unwrap_or_default(),
            created_at: ms_to_rfc3339(r.created_at),
            updated_at: ms_to_rfc3339(r.updated_at),
        }
    }
}

/// Create or change a calendar (every field optional on PATCH; `weekly` and `holidays` are
/// replaced whole).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursInput {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub weekly: Option<Weekly>,
    pub holidays: Option<Vec<String>>,
}

fn invalid(e: CalendarError) -> ApiError {
    ApiError::invalid(e.code(), e.to_string())
}

/// The calendar a request leaves, checked and in normal form (sorted ranges and holidays).
fn checked(req: BusinessHoursInput, cur: Option<&BusinessHours>) -> ApiResult<(String, Spec)> {
    let name = match (req.name, cur) {
        (Some(n), _) => validate::name("name", &n, 100)?,
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(ApiError::invalid("invalid_field", "`name` is required")),
    };
    let required = |f: &str| ApiError::invalid("invalid_field", format!("`{f}` is required"));
    let time_zone = req
        .time_zone
        .or(cur.map(|c| c.time_zone.clone()))
        .ok_or_else(|| required("time_zone"))?;
    let weekly = req
        .weekly
        .or(cur.map(|c| c.weekly.clone()))
        .ok_or_else(|| required("weekly"))?;
    let holidays = req
        .holidays
        .or(cur.map(|c| c.holidays.clone()))
        .unwrap_or_default();
    if holidays.len() > MAX_HOLIDAYS {
        return Err(ApiError::invalid(
            "too_many_holidays",
            format!("at most {MAX_HOLIDAYS} holidays"),
        ));
    }
    if weekly.days().iter().any(|(_, r)| r.len() > MAX_RANGES) {
        return Err(ApiError::invalid(
            "invalid_range",
            format!("at most {MAX_RANGES} ranges a day"),
        ));
    }
    let spec = Spec {
        time_zone: time_zone.trim().to_string(),
        weekly,
        holidays,
    };
    Ok((name, Calendar::new(&spec).map_err(invalid)?.spec()))
}

fn conflict(e: sqlx::Error) -> ApiError {
    match StoreError::from_sqlx(e) {
        StoreError::Conflict(_) => {
            ApiError::Conflict("a business-hours calendar with this name already exists".into())
        }
        o => o.into(),
    }
}

async fn load(state: &AppState, id: &str) -> ApiResult<BusinessHours> {
    let row: Option<Row> =
        sqlx::query_as(&format!("SELECT {COLS} FROM business_hours WHERE id = $1"))
            .bind(id)
            .fetch_optional(state.store.pool())
            .await?;
    row.map(BusinessHours::from)
        .ok_or(ApiError::NotFound("business-hours calendar"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// List business-hours calendars (supervisors and admins).
#[utoipa::path(get, path = "/business-hours", tag = "business hours", params(ListParams),
    responses((status = 200, body = Page<BusinessHours>), (status = 403, body = crate::error::ErrorBody)))]
async fn list_calendars(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<BusinessHours>>> {
    caller.require_role(Role::Supervisor)?;
    let limit = page_size(p.limit, state.settings.limits.max_page_size);
    let after = p.cursor.as_deref().map(decode_cursor).transpose()?;
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLS} FROM business_hours WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after.unwrap_or_default())
    .bind((limit + 1) as i64)
    .fetch_all(state.store.pool())
    .await?;
    let items = rows.into_iter().map(BusinessHours::from).collect();
    Ok(Json(finish(items, limit, |b: &BusinessHours| b.id.clone())))
}

/// Create a business-hours calendar (admin).
#[utoipa::path(post, path = "/business-hours", tag = "business hours", request_body = BusinessHoursInput,
    responses((status = 201, body = BusinessHours), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_calendar(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<BusinessHoursInput>,
) -> ApiResult<(StatusCode, Json<BusinessHours>)> {
    caller.require_role(Role::Admin)?;
    let (name, spec) = checked(req, None)?;
    let id = new_id();
    sqlx::query(
        "INSERT INTO business_hours (id, name, time_zone, weekly, holidays, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&id)
    .bind(&name)
    .bind(&spec.time_zone)
    .bind(serde_json::to_string(&spec.weekly)?)
    .bind(serde_json::to_string(&spec.holidays)?)
    .bind(now_ms())
    .execute(state.store.pool())
    .await
    .map_err(conflict)?;
    Ok((StatusCode::CREATED, Json(load(&state, &id).await?)))
}

/// One business-hours calendar (supervisors and admins).
#[utoipa::path(get, path = "/business-hours/{id}", tag = "business hours",
    params(("id" = String, Path, description = "calendar id")),
    responses((status = 200, body = BusinessHours), (status = 404, body = crate::error::ErrorBody)))]
async fn get_calendar(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<BusinessHours>> {
    caller.require_role(Role::Supervisor)?;
    Ok(Json(load(&state, &id).await?))
}

/// Change a business-hours calendar (admin); queues and sites using it follow at once.
#[utoipa::path(patch, path = "/business-hours/{id}", tag = "business hours",
    params(("id" = String, Path, description = "calendar id")), request_body = BusinessHoursInput,
    responses((status = 200, body = BusinessHours), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn update_calendar(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<BusinessHoursInput>,
) -> ApiResult<Json<BusinessHours>> {
    caller.require_role(Role::Admin)?;
    let cur = load(&state, &id).await?;
    let (name, spec) = checked(req, Some(&cur))?;
    sqlx::query(
        "UPDATE business_hours SET name = $1, time_zone = $2, weekly = $3, holidays = $4, \
           updated_at = $5 WHERE id = $6",
    )
    .bind(&name)
    .bind(&spec.time_zone)
    .bind(serde_json::to_string(&spec.weekly)?)
    .bind(serde_json::to_string(&spec.holidays)?)
    .bind(now_ms())
    .bind(&id)
    .execute(state.store.pool())
    .await
    .map_err(conflict)?;
    Ok(Json(load(&state, &id).await?))
}

/// Delete a business-hours calendar (admin); 409 `business_hours_in_use` while a queue or a
/// chat site uses it.
#[utoipa::path(delete, path = "/business-hours/{id}", tag = "business hours",
    params(("id" = String, Path, description = "calendar id")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn delete_calendar(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require_role(Role::Admin)?;
    load(&state, &id).await?;
    // Whether it is in use is checked by the deleting statement itself.
    let res = sqlx::query(
        "DELETE FROM business_hours WHERE id = $1 \
           AND NOT EXISTS (SELECT 1 FROM queues WHERE business_hours_id = $1) \
           AND NOT EXISTS (SELECT 1 FROM chat_sites WHERE business_hours_id = $1)",
    )
    .bind(&id)
    .execute(state.store.pool())
    .await?;
    if res.rows_affected() == 0 {
        return Err(ApiError::ConflictCode {
            code: "business_hours_in_use",
            message: "a queue or a chat site still uses this calendar".into(),
        });
    }
    Ok(StatusCode::NO_CONTENT)
}
