//! Business-hours calendars (issue 18): stored in `business_hours`, assigned to queues (whose
//! SLA clocks may count business time only) and to chat sites (whose widget is offline
//! outside the calendar's hours). The arithmetic lives in the pure `switchboard-hours` crate.
//!
//! For reports: [`calendar_for_queue`] gives one queue's calendar, [`queue_calendars`] every
//! queue's in one read; `Calendar::business_ms(from, to)` then measures business time.

mod routes;
pub mod sla;

pub use routes::router;
pub use switchboard_hours::{Calendar, CalendarError, Spec, Weekly};

use crate::error::{ApiError, ApiResult};
use crate::store::{StoreError, StoreResult};
use serde::{Deserialize, Deserializer};
use std::collections::HashMap;

/// A queue's calendar and whether its SLA clocks count business time only.
#[derive(Debug, Clone)]
pub struct QueueCalendar {
    pub business_hours_id: String,
    pub calendar: Calendar,
    pub business_time_only: bool,
}

/// A calendar from its stored columns; `None` (logged) if they no longer make one, e.g. a
/// time zone a newer database renamed away.
pub fn from_columns(id: &str, time_zone: &str, weekly: &str, holidays: &str) -> Option<Calendar> {
    let spec = Spec {
        time_zone: time_zone.to_string(),
        weekly: serde_json::from_str(weekly).ok()?,
        holidays: serde_json::from_str(holidays).ok()?,
    };
    Calendar::new(&spec)
        .inspect_err(|e| tracing::warn!(business_hours = id, error = %e, "unusable calendar"))
        .ok()
}

/// The calendar `id`, if there is one.
pub async fn calendar<'c, E>(conn: E, id: &str) -> StoreResult<Option<Calendar>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT time_zone, weekly, holidays FROM business_hours WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(row.and_then(|(tz, w, h)| from_columns(id, &tz, &w, &h)))
}

const QUEUE_CALENDAR_SQL: &str =
    "SELECT q.id, b.id, b.time_zone, b.weekly, b.holidays, q.business_time_only \
     FROM queues q JOIN business_hours b ON b.id = q.business_hours_id";

type QueueCalendarRow = (String, String, String, String, String, i64);

fn queue_calendar(r: QueueCalendarRow) -> Option<(String, QueueCalendar)> {
    let (queue, id, tz, weekly, holidays, only) = r;
    let calendar = from_columns(&id, &tz, &weekly, &holidays)?;
    Some((
        queue,
        QueueCalendar {
            business_hours_id: id,
            calendar,
            business_time_only: only == 1,
        },
    ))
}

/// The calendar assigned to `queue_id` (`None`: the queue has none, or no such queue).
pub async fn calendar_for_queue<'c, E>(
    conn: E,
    queue_id: &str,
) -> StoreResult<Option<QueueCalendar>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let row: Option<QueueCalendarRow> =
        sqlx::query_as(&format!("{QUEUE_CALENDAR_SQL} WHERE q.id = $1"))
            .bind(queue_id)
            .fetch_optional(conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(row.and_then(queue_calendar).map(|(_, c)| c))
}

/// Every queue that has a calendar, by queue id (one read, for reports over many queues).
pub async fn queue_calendars<'c, E>(conn: E) -> StoreResult<HashMap<String, QueueCalendar>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let rows: Vec<QueueCalendarRow> = sqlx::query_as(QUEUE_CALENDAR_SQL)
        .fetch_all(conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(rows.into_iter().filter_map(queue_calendar).collect())
}

/// 422 unless `id` names a calendar (for queues and sites that refer to one).
pub async fn require<'c, E>(conn: E, id: &str) -> ApiResult<()>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let found: Option<(String,)> = sqlx::query_as("SELECT id FROM business_hours WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    match found {
        Some(_) => Ok(()),
        None => Err(ApiError::invalid(
            "unknown_business_hours",
            "business_hours_id: no such business-hours calendar",
        )),
    }
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent (serde helper for
/// `business_hours_id` in queue and site bodies).
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A queue's business-hours fields after a create or change, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueHours {
    pub business_hours_id: Option<String>,
    pub business_time_only: bool,
}

impl QueueHours {
    /// Merge a request's fields (`Some(None)` or `""` clears the calendar) over `cur`, check
    /// the calendar exists and that `business_time_only` has a calendar to count by.
    pub async fn check(
        store: &crate::store::Store,
        id: Option<Option<String>>,
        only: Option<bool>,
        cur: Option<QueueHours>,
    ) -> ApiResult<QueueHours> {
        let cur = cur.unwrap_or(QueueHours {
            business_hours_id: None,
            business_time_only: false,
        });
        let business_hours_id = match id {
            Some(v) => v.filter(|s| !s.trim().is_empty()),
            None => cur.business_hours_id,
        };
        let business_time_only = only.unwrap_or(cur.business_time_only);
        if let Some(b) = &business_hours_id {
            require(store.pool(), b).await?;
        } else if business_time_only {
            return Err(ApiError::invalid(
                "business_hours_required",
                "business_time_only needs a business_hours_id",
            ));
        }
        Ok(QueueHours {
            business_hours_id,
            business_time_only,
        })
    }

    /// Store them on queue `queue_id`.
    pub async fn save(&self, store: &crate::store::Store, queue_id: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE queues SET business_hours_id = $1, business_time_only = $2 WHERE id = $3",
        )
        .bind(&self.business_hours_id)
        .bind(self.business_time_only as i64)
        .bind(queue_id)
        .execute(store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(())
    }
}
