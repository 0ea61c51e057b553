//! SLA due times in business time: for a queue with `business_time_only`, a conversation's
//! first response is due when the target's worth of the calendar's business hours has passed
//! since it entered the queue, and its resolution likewise from its creation.

use super::{queue_calendars, Calendar};
use crate::settings::RoutingSettings;
use crate::store::{StoreError, StoreResult, Tx};

/// SQL condition true for queues whose SLA clocks count business time (the routing's plain
/// due-time stamping leaves their conversations to [`stamp`]).
pub const BUSINESS_TIME_QUEUES: &str =
    "SELECT id FROM queues WHERE business_time_only = 1 AND business_hours_id IS NOT NULL";

/// One conversation's targets (milliseconds of business time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub first_response_ms: i64,
    pub resolution_ms: i64,
}

impl Targets {
    /// The targets that apply: VIP customers get the `[routing]` VIP ones, others the
    /// queue's own or else the `[routing]` defaults.
    pub fn of(
        s: &RoutingSettings,
        vip: bool,
        queue_first_response_minutes: Option<i64>,
        queue_resolution_hours: Option<i64>,
    ) -> Targets {
        if vip {
            return Targets {
                first_response_ms: s.vip_first_response_minutes * 60_000,
                resolution_ms: s.vip_resolution_hours * 3_600_000,
            };
        }
        Targets {
            first_response_ms: queue_first_response_minutes.unwrap_or(s.first_response_minutes)
                * 60_000,
            resolution_ms: queue_resolution_hours.unwrap_or(s.resolution_hours) * 3_600_000,
        }
    }
}

/// Due time of a target counted in `calendar`'s business time from `start_ms`.
pub fn due(calendar: &Calendar, start_ms: i64, target_ms: i64) -> i64 {
    calendar.add_business_ms(start_ms, target_ms)
}

#[derive(sqlx::FromRow)]
struct Pending {
    id: String,
    queue_id: String,
    status: String,
    start: i64,
    created_at: i64,
    first_response_due: Option<i64>,
    first_response_at: Option<i64>,
    resolution_due: Option<i64>,
    tier: Option<String>,
    first_response_minutes: Option<i64>,
    resolution_hours: Option<i64>,
}

/// Stamp the missing due times of open and pending conversations in business-time queues.
pub async fn stamp(tx: &mut Tx, s: &RoutingSettings) -> StoreResult<usize> {
    let rows: Vec<Pending> = sqlx::query_as(&format!(
        "SELECT c.id, c.queue_id, c.status, COALESCE(c.enqueued_at, c.created_at) AS start, \
           c.created_at, c.first_response_due, c.first_response_at, c.resolution_due, \
           (SELECT tier FROM customers WHERE id = c.customer_id) AS tier, \
           q.first_response_minutes, q.resolution_hours \
         FROM conversations c JOIN queues q ON q.id = c.queue_id \
         WHERE c.queue_id IN ({BUSINESS_TIME_QUEUES}) AND c.status IN ('open', 'pending') \
           AND (c.resolution_due IS NULL OR (c.status = 'open' \
             AND c.first_response_due IS NULL AND c.first_response_at IS NULL)){}",
        crate::store::dialect::skip_locked(tx.backend(), "c")
    ))
    .fetch_all(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let calendars = queue_calendars(tx.conn()).await?;
    let mut n = 0;
    for r in rows {
        // A calendar that no longer loads (logged) leaves wall-clock time, not no due time.
        let cal = calendars.get(&r.queue_id).map(|c| &c.calendar);
        let due_at = |start: i64, target: i64| match cal {
            Some(c) => due(c, start, target),
            None => start + target,
        };
        let vip = r.tier.as_deref() == Some("vip");
        let t = Targets::of(s, vip, r.first_response_minutes, r.resolution_hours);
        let first =
            (r.status == "open" && r.first_response_due.is_none() && r.first_response_at.is_none())
                .then(|| due_at(r.start, t.first_response_ms));
        let resolution = r
            .resolution_due
            .is_none()
            .then(|| due_at(r.created_at, t.resolution_ms));
        // Only if the times it was computed from still hold (a conversation re-queued or
        // changed meanwhile is stamped by the next pass).
        sqlx::query(
            "UPDATE conversations SET first_response_due = COALESCE($1, first_response_due), \
               resolution_due = COALESCE($2, resolution_due) \
             WHERE id = $3 AND created_at = $4 AND COALESCE(enqueued_at, created_at) = $5",
        )
        .bind(first)
        .bind(resolution)
        .bind(&r.id)
        .bind(r.created_at)
        .bind(r.start)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing() -> RoutingSettings {
        let mut s = crate::Settings::defaults().routing;
        s.first_response_minutes = 15;
        s.vip_first_response_minutes = 5;
        s.resolution_hours = 24;
        s.vip_resolution_hours = 8;
        s
    }

    #[test]
    fn vip_targets_win_then_the_queue_then_the_settings() {
        let s = routing();
        let t = |vip, fr, res| Targets::of(&s, vip, fr, res);
        assert_eq!(
            t(false, Some(120), Some(48)),
            Targets {
                first_response_ms: 7_200_000,
                resolution_ms: 172_800_000
            }
        );
        assert_eq!(
            t(false, None, None),
            Targets {
                first_response_ms: 900_000,
                resolution_ms: 86_400_000
            }
        );
        assert_eq!(
            t(true, Some(120), Some(48)),
            Targets {
                first_response_ms: 300_000,
                resolution_ms: 28_800_000
            }
        );
    }
}
