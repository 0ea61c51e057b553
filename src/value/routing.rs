//! Serving by value: in a queue with `serve_by_value`, a waiting conversation's priority is
//! raised by its customer's value as of the last refit — the points of their RFM segment
//! (`routing.value_segment_priority`) plus one point per `routing.value_clv_step` of lifetime
//! value, at most `routing.value_clv_max` — on top of the VIP boost every queue gives.

use crate::settings::RoutingSettings;
use crate::store::{Store, StoreError, StoreResult};
use std::collections::HashMap;

/// The priority a customer's stored value adds in a queue that serves by value.
pub fn boost(s: &RoutingSettings, segment: Option<&str>, clv_e4: Option<i64>) -> i32 {
    let by_segment = segment
        .and_then(|seg| s.value_segment_priority.iter().find(|(n, _)| n == seg))
        .map_or(0, |(_, p)| *p);
    let by_clv = match clv_e4 {
        Some(clv) if s.value_clv_step > 0.0 && clv > 0 => {
            let points = (clv as f64 / 1e4 / s.value_clv_step).floor();
            points.min(f64::from(s.value_clv_max.max(0))) as i32
        }
        _ => 0,
    };
    by_segment.saturating_add(by_clv)
}

/// Conversation id → priority added by value, for the conversations waiting in queues that
/// serve by value (read with the routing snapshot).
pub async fn waiting_boosts(
    store: &Store,
    s: &RoutingSettings,
) -> StoreResult<HashMap<String, i32>> {
    let rows: Vec<(String, Option<String>, Option<i64>)> = sqlx::query_as(
        // From the serving queues' entries of the `(queue_id, status, id)` index: joining
        // queues to every open conversation read all of them on every routing pass.
        "SELECT c.id, v.segment, v.clv_e4 FROM conversations c \
           JOIN customer_values v ON v.customer_id = c.customer_id \
         WHERE c.queue_id IN (SELECT id FROM queues WHERE serve_by_value = 1) \
           AND c.status = 'open' AND c.assignee_id IS NULL",
    )
    .fetch_all(store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(rows
        .into_iter()
        .map(|(id, seg, clv)| (id, boost(s, seg.as_deref(), clv)))
        .filter(|(_, b)| *b != 0)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boost_adds_segment_points_and_capped_clv_points() {
        let mut s = crate::settings::Settings::defaults().routing;
        s.value_segment_priority =
            crate::settings::parse_segment_points("Champions=100,Loyal=60").unwrap();
        s.value_clv_step = 50.0;
        s.value_clv_max = 30;
        assert_eq!(boost(&s, Some("Champions"), None), 100);
        assert_eq!(boost(&s, Some("Lost"), None), 0);
        // 120 of CLV at 50 a point: 2 points.
        assert_eq!(boost(&s, Some("Loyal"), Some(120 * 10_000)), 62);
        // Capped at 30 points.
        assert_eq!(boost(&s, None, Some(1_000_000 * 10_000)), 30);
        s.value_clv_step = 0.0;
        assert_eq!(boost(&s, None, Some(1_000_000 * 10_000)), 0);
    }
}
