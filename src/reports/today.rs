//! Today's figures for the live stats (`/stats/queues`, `/stats/agents`) and the SLA watch of
//! contacts still waiting.

use super::collect;
use super::figures::Figures;
use super::query::{GroupBy, Query};
use crate::business_hours::sla::BUSINESS_TIME_QUEUES;
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
    let now = now_ms();
    let mut out = counted(state, &rules, now).await?;
    // Queues on a calendar count business time: their contacts are weighed one by one.
    let rows: Vec<(String, String, i64)> = sqlx::query_as(&format!(
        "SELECT queue_id, channel, COALESCE(enqueued_at, created_at) FROM conversations \
         WHERE status = 'open' AND queue_id IN ({BUSINESS_TIME_QUEUES}) \
           AND first_response_at IS NULL {WAITING}"
    ))
    .fetch_all(state.store.pool())
    .await?;
    for (queue, channel, since) in rows {
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

/// A chat an agent has taken is answered as far as the watch goes.
const WAITING: &str = "AND NOT (channel = 'chat' AND assignee_id IS NOT NULL)";

/// [`sla_watch`] of the queues that count wall-clock time, counted by the database against
/// each queue's cutoffs (waiting since before `now − target`: breached; since at most
/// `now − ⌈0.8 × target⌉`: at risk). Returning every waiting contact instead cost ~5 µs a
/// row on SQLite: 60 ms of the queue stats with a year's 12,000 open conversations.
async fn counted(
    state: &AppState,
    rules: &super::facts::Rules,
    now: i64,
) -> ApiResult<HashMap<String, (i64, i64)>> {
    const LIVE: &str = "channel IN ('phone', 'chat', 'fax')";
    // Per queue (and for queues without targets of their own, the last value), the four
    // cutoffs: breached and at risk, live channels and the others.
    let cutoffs = |queue: &str| {
        let of = |channel: &str| {
            let target = rules.target_ms(queue, channel);
            (now - target, now - (target * 4 + 4) / 5)
        };
        let ((bl, rl), (bo, ro)) = (of("chat"), of("email"));
        [bl, rl, bo, ro]
    };
    // Each queue's id and cutoffs are bound, in the order of their placeholders.
    let queues: Vec<(&String, [i64; 4])> = rules.queues.keys().map(|q| (q, cutoffs(q))).collect();
    let default = cutoffs("");
    let mut binds: Vec<(Option<&String>, i64)> = Vec::new();
    let mut used = 0;
    let mut case = |k: usize| {
        let mut sql = String::from("CASE queue_id");
        for (q, c) in &queues {
            sql.push_str(&format!(" WHEN ${} THEN ${}", used + 1, used + 2));
            used += 2;
            binds.push((Some(*q), c[k]));
        }
        used += 1;
        sql.push_str(&format!(" ELSE ${used} END"));
        binds.push((None, default[k]));
        sql
    };
    let (bl, rl, bo, ro) = (case(0), case(1), case(2), case(3));
    let breach = format!("CASE WHEN {LIVE} THEN {bl} ELSE {bo} END");
    let risk = format!("CASE WHEN {LIVE} THEN {rl} ELSE {ro} END");
    let sql = format!(
        "SELECT queue_id, \
           SUM(CASE WHEN since >= {breach} AND since <= {risk} THEN 1 ELSE 0 END), \
           SUM(CASE WHEN since < {breach} THEN 1 ELSE 0 END) \
         FROM (SELECT queue_id, channel, COALESCE(enqueued_at, created_at) AS since \
               FROM conversations WHERE status = 'open' AND queue_id IS NOT NULL \
                 AND queue_id NOT IN ({BUSINESS_TIME_QUEUES}) \
                 AND first_response_at IS NULL {WAITING}) AS waiting \
         GROUP BY queue_id"
    );
    let mut q = sqlx::query_as::<_, (String, i64, i64)>(&sql);
    for (queue, cutoff) in binds {
        if let Some(queue) = queue {
            q = q.bind(queue);
        }
        q = q.bind(cutoff);
    }
    let rows = q.fetch_all(state.store.pool()).await?;
    Ok(rows
        .into_iter()
        .map(|(queue, risk, breached)| (queue, (risk, breached)))
        .collect())
}
