//! Time in each presence state, from the log of presence changes (`agent_presence_log`,
//! written wherever an agent's presence changes).

use crate::store::{new_id, StoreError, StoreResult};
use serde::Serialize;
use sqlx::AnyConnection;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Seconds an agent spent in each presence state during the period (up to now).
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq)]
pub struct PresenceSeconds {
    pub available: i64,
    pub away: i64,
    pub offline: i64,
}

/// Record that `agent` went `status` at `at` (inside the transaction changing it).
pub async fn log(conn: &mut AnyConnection, agent: &str, status: &str, at: i64) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO agent_presence_log (id, agent_id, status, started_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(new_id())
    .bind(agent)
    .bind(status)
    .bind(at)
    .execute(conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Per agent, the seconds in each state within `[from, to)` (an agent without a change
/// before the period was offline).
pub async fn seconds(
    pool: &sqlx::AnyPool,
    from: i64,
    to: i64,
) -> StoreResult<BTreeMap<String, PresenceSeconds>> {
    let before: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT p.agent_id, p.status, p.started_at FROM agent_presence_log p \
         WHERE p.started_at = (SELECT MAX(q.started_at) FROM agent_presence_log q \
           WHERE q.agent_id = p.agent_id AND q.started_at < $1)",
    )
    .bind(from)
    .fetch_all(pool)
    .await
    .map_err(StoreError::from_sqlx)?;
    let inside: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT agent_id, status, started_at FROM agent_presence_log \
         WHERE started_at >= $1 AND started_at < $2 ORDER BY agent_id, started_at, id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut changes: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for (agent, status, _) in before {
        changes.entry(agent).or_default().push((from, status));
    }
    for (agent, status, at) in inside {
        changes.entry(agent).or_default().push((at, status));
    }
    Ok(changes
        .into_iter()
        .map(|(agent, list)| (agent, tally(&list, from, to)))
        .collect())
}

fn tally(list: &[(i64, String)], from: i64, to: i64) -> PresenceSeconds {
    let mut out = PresenceSeconds::default();
    let mut cursor = from;
    let mut state = "offline".to_string();
    for (at, status) in list.iter().chain([(to, String::new())].iter()) {
        let ms = (at.min(&to) - cursor).max(0);
        match state.as_str() {
            "available" => out.available += ms,
            "away" => out.away += ms,
            _ => out.offline += ms,
        }
        cursor = cursor.max(*at.min(&to));
        state = status.clone();
    }
    out.available /= 1000;
    out.away /= 1000;
    out.offline /= 1000;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_last_until_the_next_change_and_are_cut_at_the_period() {
        let list = vec![
            (0, "available".to_string()),
            (60_000, "away".to_string()),
            (90_000, "available".to_string()),
        ];
        let s = tally(&list, 0, 120_000);
        assert_eq!((s.available, s.away, s.offline), (90, 30, 0));
        let s = tally(&[], 0, 10_000);
        assert_eq!(s.offline, 10);
    }
}
