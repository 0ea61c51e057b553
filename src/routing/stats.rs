//! `/stats/queues` and `/stats/agents`: live routing figures for supervisors.

use crate::auth::{Caller, Role};
use crate::error::ApiResult;
use crate::reports::query::GroupBy;
use crate::reports::today::{sla_watch, today, TodayFigures};
use crate::state::AppState;
use crate::store::{ms_to_rfc3339, now_ms};
use crate::teams::routing::TeamRouting;
use crate::teams::Scope;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Stats routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(queue_stats))
        .routes(routes!(agent_stats))
}

/// Figures for one queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueStats {
    pub queue_id: String,
    pub name: String,
    /// Conversations waiting (not offered, not assigned).
    pub waiting: i64,
    /// Seconds the oldest waiting conversation has waited (0 when none).
    pub oldest_wait_seconds: i64,
    /// Conversations with an outstanding offer.
    pub offered: i64,
    /// Open or pending conversations of the queue assigned to an agent.
    pub assigned: i64,
    /// Available active agents with the queue's skills and language.
    pub available_agents: i64,
    /// Figures since local midnight (`reports.time_zone`), as `GET /reports/summary` defines
    /// them.
    pub today: TodayFigures,
    /// Contacts waiting for an answer past 80 % of the queue's service-level target.
    pub sla_at_risk: i64,
    /// Contacts waiting for an answer past the target.
    pub sla_breached: i64,
}

/// Figures for one agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentStats {
    pub agent_id: String,
    pub name: String,
    pub presence: String,
    /// Assigned open or pending conversations per channel.
    pub load: BTreeMap<String, i64>,
    /// Outstanding offers per channel.
    pub offered: BTreeMap<String, i64>,
    pub capacity: BTreeMap<String, i64>,
    /// When the agent's presence last changed (RFC 3339).
    pub presence_since: String,
    /// Contacts the agent answered today (local day of `reports.time_zone`).
    pub handled_today: i64,
}

/// Figures for every queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueStatsList {
    pub items: Vec<QueueStats>,
}

/// Figures for every active agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentStatsList {
    pub items: Vec<AgentStats>,
}

async fn counts(state: &AppState, sql: &str) -> ApiResult<HashMap<String, (i64, i64)>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(sql).fetch_all(state.store.pool()).await?;
    Ok(rows.into_iter().map(|(k, a, b)| (k, (a, b))).collect())
}

type AgentRow = (String, String, String, String, String, String, i64);

async fn active_agents(state: &AppState) -> ApiResult<Vec<AgentRow>> {
    Ok(sqlx::query_as(
        "SELECT id, name, presence, skills, languages, capacity, presence_at FROM agents \
         WHERE active = 1 ORDER BY name, id",
    )
    .fetch_all(state.store.pool())
    .await?)
}

/// Per-queue waiting, offered and assigned counts, oldest wait and available agents.
#[utoipa::path(get, path = "/stats/queues", tag = "routing", responses((status = 200, body = QueueStatsList)))]
async fn queue_stats(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<QueueStatsList>> {
    caller.require(Role::Supervisor, "stats")?;
    let now = now_ms();
    let waiting = counts(
        &state,
        "SELECT c.queue_id, COUNT(*), MIN(COALESCE(c.enqueued_at, c.created_at)) FROM conversations c \
         WHERE c.status = 'open' AND c.assignee_id IS NULL AND c.queue_id IS NOT NULL \
           AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.conversation_id = c.id AND o.status = 'offered') \
         GROUP BY c.queue_id",
    )
    .await?;
    let offered = counts(
        &state,
        "SELECT c.queue_id, COUNT(*), CAST(0 AS BIGINT) FROM offers o JOIN conversations c ON c.id = o.conversation_id \
         WHERE o.status = 'offered' AND c.queue_id IS NOT NULL GROUP BY c.queue_id",
    )
    .await?;
    let assigned = counts(
        &state,
        "SELECT queue_id, COUNT(*), CAST(0 AS BIGINT) FROM conversations WHERE assignee_id IS NOT NULL \
         AND status IN ('open', 'pending') AND queue_id IS NOT NULL GROUP BY queue_id",
    )
    .await?;
    let agents: Vec<(String, BTreeSet<String>, BTreeSet<String>)> = active_agents(&state)
        .await?
        .into_iter()
        .filter(|a| a.2 == "available")
        .map(|a| {
            (
                a.0,
                serde_json::from_str(&a.3).unwrap_or_default(),
                serde_json::from_str(&a.4).unwrap_or_default(),
            )
        })
        .collect();
    // Access by team: a supervisor sees their teams' queues (and those no team claims); a
    // claimed queue's available agents are its teams' members.
    let scope = Scope::of(&state.store, &caller).await?;
    let teams = TeamRouting::load(&state.store).await?;
    let figures = today(&state, GroupBy::Queue).await?;
    let watch = sla_watch(&state).await?;
    let queues: Vec<(String, String, String, Option<String>)> =
        sqlx::query_as("SELECT id, name, skills, language FROM queues ORDER BY name")
            .fetch_all(state.store.pool())
            .await?;
    let items = queues
        .into_iter()
        .filter(|q| scope.sees_queue(Some(q.0.as_str())))
        .map(|(id, name, skills, language)| {
            let skills: BTreeSet<String> = serde_json::from_str(&skills).unwrap_or_default();
            let language = language.filter(|l| !l.is_empty());
            let available = agents
                .iter()
                .filter(|(agent, s, l)| {
                    skills.is_subset(s)
                        && language.as_ref().is_none_or(|x| l.contains(x))
                        && teams.as_ref().is_none_or(|t| t.eligible(agent, &id))
                })
                .count() as i64;
            let (w, oldest) = waiting.get(&id).copied().unwrap_or((0, now));
            let (sla_at_risk, sla_breached) = watch.get(&id).copied().unwrap_or_default();
            QueueStats {
                today: figures.get(&id).map(TodayFigures::from).unwrap_or_default(),
                sla_at_risk,
                sla_breached,
                waiting: w,
                oldest_wait_seconds: if w > 0 {
                    (now - oldest).max(0) / 1000
                } else {
                    0
                },
                offered: offered.get(&id).map_or(0, |c| c.0),
                assigned: assigned.get(&id).map_or(0, |c| c.0),
                available_agents: available,
                queue_id: id,
                name,
            }
        })
        .collect();
    Ok(Json(QueueStatsList { items }))
}

/// Per-agent presence, load and outstanding offers per channel, and capacity.
#[utoipa::path(get, path = "/stats/agents", tag = "routing", responses((status = 200, body = AgentStatsList)))]
async fn agent_stats(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<AgentStatsList>> {
    caller.require(Role::Supervisor, "stats")?;
    let load: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT assignee_id, channel, COUNT(*) FROM conversations WHERE assignee_id IS NOT NULL \
         AND status IN ('open', 'pending') GROUP BY assignee_id, channel",
    )
    .fetch_all(state.store.pool())
    .await?;
    let offered: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT agent_id, channel, COUNT(*) FROM offers WHERE status = 'offered' \
         GROUP BY agent_id, channel",
    )
    .fetch_all(state.store.pool())
    .await?;
    let by_agent = |rows: &[(String, String, i64)], id: &str| -> BTreeMap<String, i64> {
        rows.iter()
            .filter(|r| r.0 == id)
            .map(|r| (r.1.clone(), r.2))
            .collect()
    };
    let handled = today(&state, GroupBy::Agent).await?;
    let shown = Scope::of(&state.store, &caller)
        .await?
        .agents(&state.store)
        .await?;
    let items = active_agents(&state)
        .await?
        .into_iter()
        .filter(|a| shown.as_ref().is_none_or(|s| s.contains(&a.0)))
        .map(|(id, name, presence, _, _, capacity, since)| AgentStats {
            handled_today: handled.get(&id).map_or(0, |f| f.answered),
            presence_since: ms_to_rfc3339(since),
            load: by_agent(&load, &id),
            offered: by_agent(&offered, &id),
            capacity: serde_json::from_str(&capacity).unwrap_or_default(),
            agent_id: id,
            name,
            presence,
        })
        .collect();
    Ok(Json(AgentStatsList { items }))
}
