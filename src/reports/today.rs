//! Today's figures for the live stats (`/stats/queues`, `/stats/agents`) and the SLA watch of
//! contacts still waiting.

use super::collect;
use super::figures::Figures;
use super::query::{GroupBy, Query};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::now_ms;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// A queue's figures since local midnight (`reports.time_zone`).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct TodayFigures {
    pub offered: i64,
    pub answered: i64,
    pub abandoned: i64,
    pub short_abandoned: i64,
    pub answered_within_target: i64,
    /// `answered_within_target ÷ offered` (0–1), `null` when nothing was offered.
    pub service_level: Option<f64>,
    pub avg_speed_of_answer_seconds: Option<f64>,
    pub avg_handle_seconds: Option<f64>,
}

impl From<&Figures> for TodayFigures {
    fn from(f: &Figures) -> Self {
        TodayFigures {
            offered: f.offered,
            answered: f.answered,
            abandoned: f.abandoned,
            short_abandoned: f.short_abandoned,
            answered_within_target: f.answered_within_target,
            service_level: f.service_level,
            avg_speed_of_answer_seconds: f.avg_speed_of_answer_seconds,
            avg_handle_seconds: f.avg_handle_seconds,
        }
    }
}

/// Today's figures per key of `group_by` (queue or agent), after a catch-up pass.
pub async fn today(state: &AppState, group_by: GroupBy) -> ApiResult<HashMap<String, Figures>> {
    collect::run_once(state).await?;
    let rules = collect::rules(&state.store, &state.settings).await?;
    let now = now_ms();
    let day = rules.zone.day_of(now);
    let q = Query {
        from: rules.zone.start_of(day),
        to: rules.zone.start_of(day.tomorrow().unwrap_or(day)),
        zone: rules.zone,
        queue: None,
        channel: None,
        agent: None,
        group_by: Some(group_by),
        hidden_queues: Vec::new(),
    };
    let sums = q.sums(state).await?;
    Ok(sums
        .groups
        .iter()
        .map(|(k, t)| (k.clone(), t.figures()))
        .collect())
}

/// Per queue, contacts still waiting for an answer (chat: unassigned; email and API: no reply
/// yet) that are past 80 % of the queue's service-level target (`at risk`) or past it
/// (`breached`).
pub async fn sla_watch(state: &AppState) -> ApiResult<HashMap<String, (i64, i64)>> {
    let rules = collect::rules(&state.store, &state.settings).await?;
    let rows: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT queue_id, channel, COALESCE(enqueued_at, created_at), assignee_id FROM conversations \
         WHERE status = 'open' AND queue_id IS NOT NULL AND first_response_at IS NULL",
    )
    .fetch_all(state.store.pool())
    .await?;
    let now = now_ms();
    let mut out: HashMap<String, (i64, i64)> = HashMap::new();
    for (queue, channel, since, assignee) in rows {
        if channel == "chat" && assignee.is_some() {
            continue;
        }
        let target = rules.target_ms(&queue, &channel);
        let waited = rules.elapsed(&queue, since, now);
        let e = out.entry(queue).or_default();
        if waited > target {
            e.1 += 1;
        } else if waited * 5 >= target * 4 {
            e.0 += 1;
        }
    }
    Ok(out)
}
