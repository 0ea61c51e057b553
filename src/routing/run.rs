//! One pass of the router: housekeeping (expired and withdrawn offers, conversations of offline
//! agents, SLA deadlines), then the engine's decisions applied one transaction each.

use super::apply::{self, record_for_agent, Applied};
use super::snapshot;
use crate::bus::Event;
use crate::conversations::{self, Actor};
use crate::state::AppState;
use crate::store::{dialect, ms_to_rfc3339, StoreError, StoreResult};
use serde_json::json;
use switchboard_routing::{Decision, Engine};

/// What one pass did.
#[derive(Debug, Default, Clone)]
pub struct RunReport {
    /// Agents set offline because the node holding their console died.
    pub gone_offline: usize,
    /// Offers that timed out (the agent joins the conversation's declined set).
    pub expired: usize,
    /// Offers withdrawn because the agent left `available` or the conversation stopped waiting.
    pub withdrawn: usize,
    /// Unanswered conversations taken back from offline agents.
    pub requeued: usize,
    /// SLA breaches published in this pass.
    pub breached: usize,
    /// Decisions applied.
    pub applied: Vec<Applied>,
    /// Decisions dropped because the database no longer allowed them.
    pub dropped: usize,
}

/// Run the router once as of `now` (Unix ms): housekeeping (consoles gone silent, expired
/// offers, SLA breaches) and then [`route_once`]. Runs every [`super::ROUTER_TICK`]
/// on the node holding the router lease. Safe to run concurrently on any number of nodes:
/// every change re-checks the database inside its own transaction.
pub async fn run_once(state: &AppState, now: i64) -> StoreResult<RunReport> {
    run_kept(state, now, &[], &mut Kept::default()).await
}

/// The engine of the router's last pass, kept for the passes that need no fresh one: those
/// that only add new conversations to it (reading the new rows, not the whole routing state)
/// and the periodic pass. Every event that may have changed anything else loads a fresh one,
/// and one older than [`super::ROUTER_RELOAD`] is not used.
/// It also keeps when the periodic pass last looked for offline agents' unanswered work.
#[derive(Default)]
pub(crate) struct Kept(Option<(Engine, std::time::Instant)>, Option<i64>);

impl Kept {
    /// Drop the kept engine (what it holds may have changed): the next pass loads afresh.
    pub(crate) fn forget(&mut self) {
        self.0 = None;
    }

    #[cfg(test)]
    pub(crate) fn keep(&mut self, engine: Engine) {
        self.0 = Some((engine, std::time::Instant::now()));
    }

    #[cfg(test)]
    pub(crate) fn holds_engine(&self) -> bool {
        self.0.is_some()
    }

    fn take_fresh(&mut self) -> Option<(Engine, std::time::Instant)> {
        self.0
            .take()
            .filter(|(_, at)| at.elapsed() < super::ROUTER_RELOAD)
    }

    /// Whether a periodic pass at `now` looks for offline agents' unanswered work: every
    /// event that may have made some (an agent left, a conversation was assigned) looks at
    /// once; the periodic pass only for what time alone brings (a hand-assigned chat's grace
    /// running out), every [`super::REQUEUE_EVERY`].
    fn requeue_due(&mut self, now: i64, pass: &Pass<'_>, gone_offline: usize) -> bool {
        let every = super::REQUEUE_EVERY.as_millis() as i64;
        let due = !matches!(pass, Pass::Tick(_))
            || gone_offline > 0
            || self.1.is_none_or(|at| now - at >= every || now < at);
        if due {
            self.1 = Some(now);
        }
        due
    }
}

/// [`run_once`] keeping its engine in `kept` for later event passes; `arrivals` are the new
/// conversations whose events this pass took from the bus, added to the kept engine.
pub(crate) async fn run_kept(
    state: &AppState,
    now: i64,
    arrivals: &[String],
    kept: &mut Kept,
) -> StoreResult<RunReport> {
    let started = std::time::Instant::now();
    let mut report = RunReport {
        gone_offline: timed(
            "sweep",
            super::console::sweep_stale(
                state,
                now,
                std::time::Duration::from_secs(state.settings.routing.console_grace_secs),
            ),
        )
        .await?,
        expired: timed("expire", expire_offers(state, now)).await?,
        breached: timed("breaches", breaches(state, now)).await?,
        ..RunReport::default()
    };
    route(state, now, &mut report, Pass::Tick(arrivals), kept).await?;
    metrics::histogram!("switchboard_routing_pass_seconds", "pass" => "tick")
        .record(started.elapsed().as_secs_f64());
    Ok(report)
}

/// The part of a pass that events call for (a conversation arrived, an agent came back or
/// left, capacity freed): with `settle`, offers withdrawn from agents who left and unanswered
/// work of offline agents re-queued; then the engine's decisions. What only time changes
/// (offer expiry, SLA deadlines, silent consoles) waits for the next [`run_once`]: at
/// thousands of new conversations a second, every event pass re-running it was most of the
/// router's work.
pub async fn route_once(state: &AppState, now: i64, settle: bool) -> StoreResult<RunReport> {
    let pass = if settle { Pass::Settle } else { Pass::Route };
    route_kept(state, now, pass, &mut Kept::default()).await
}

/// What an event pass was called for.
pub(crate) enum Pass<'a> {
    /// The periodic pass (after its housekeeping), with the conversations that just arrived.
    Tick(&'a [String]),
    /// Agents or conversations changed: withdraw and re-queue, then route.
    Settle,
    /// Route what waits.
    Route,
    /// Only these conversations arrived: add them to the kept engine, then route.
    Arrivals(&'a [String]),
}

/// [`route_once`] keeping its engine in `kept`.
pub(crate) async fn route_kept(
    state: &AppState,
    now: i64,
    pass: Pass<'_>,
    kept: &mut Kept,
) -> StoreResult<RunReport> {
    let started = std::time::Instant::now();
    let mut report = RunReport::default();
    route(state, now, &mut report, pass, kept).await?;
    metrics::histogram!("switchboard_routing_pass_seconds", "pass" => "event")
        .record(started.elapsed().as_secs_f64());
    Ok(report)
}

async fn route(
    state: &AppState,
    now: i64,
    report: &mut RunReport,
    pass: Pass<'_>,
    kept: &mut Kept,
) -> StoreResult<()> {
    let (settle, tick) = (
        matches!(pass, Pass::Settle | Pass::Tick(_)),
        matches!(pass, Pass::Tick(_)),
    );
    let reuse = kept.take_fresh();
    if settle {
        report.withdrawn = timed("withdraw", withdraw_offers(state, now)).await?;
        if kept.requeue_due(now, &pass, report.gone_offline) {
            report.requeued = timed("requeue", requeue_offline(state, now)).await?;
        }
    }
    // Nobody available: no decision is possible, so an event pass stops here (one read); the
    // periodic pass still stamps due times and keeps the gauge current.
    let anyone = timed("anyone", snapshot::anyone_available(&state.store)).await?;
    if !anyone && !tick {
        return Ok(());
    }
    // New arrivals get their SLA due times before the engine orders them (a read, served by
    // a partial index, when there is nothing to stamp).
    timed("stamp", stamp_if_needed(state)).await?;
    if !anyone {
        let waiting = timed("count", snapshot::waiting_count(&state.store)).await?;
        metrics::gauge!("switchboard_routing_waiting").set(waiting as f64);
        return Ok(());
    }
    let (mut engine, loaded) = timed("engine", engine(state, now, pass, reuse)).await?;
    metrics::gauge!("switchboard_routing_waiting").set(engine.waiting_len() as f64);
    timed("decide", async {
        for d in engine.next_decisions(now, usize::MAX) {
            match apply_decision(state, &d, now).await? {
                Some(applied) => report.applied.push(applied),
                None => report.dropped += 1,
            }
        }
        StoreResult::Ok(())
    })
    .await?;
    // A dropped decision means the engine believed something the database did not.
    if report.dropped == 0 {
        kept.0 = Some((engine, loaded));
    }
    metrics::counter!("switchboard_routing_decisions_total").increment(report.applied.len() as u64);
    metrics::counter!("switchboard_routing_dropped_total").increment(report.dropped as u64);
    Ok(())
}

/// The engine for a pass: the kept one (with the arrivals added), or a fresh one; with the
/// time its state was loaded.
async fn engine(
    state: &AppState,
    now: i64,
    pass: Pass<'_>,
    reuse: Option<(Engine, std::time::Instant)>,
) -> StoreResult<(Engine, std::time::Instant)> {
    let s = &state.settings.routing;
    if let Some((mut engine, loaded)) = reuse {
        let fits = match pass {
            Pass::Arrivals(ids) | Pass::Tick(ids) => {
                snapshot::add_arrivals(&state.store, s, &mut engine, ids, now).await?
            }
            Pass::Settle | Pass::Route => false,
        };
        if fits {
            return Ok((engine, loaded));
        }
    }
    let loaded = std::time::Instant::now();
    Ok((snapshot::load(&state.store, s, now).await?, loaded))
}

/// Apply one engine decision in its own transaction, re-checking it against the database,
/// and publish its event. `None` when the database no longer allows it (the conversation was
/// offered or assigned meanwhile, the agent left or is at capacity): the decision is dropped.
pub async fn apply_decision(
    state: &AppState,
    decision: &Decision,
    now: i64,
) -> StoreResult<Option<Applied>> {
    // Cheap unlocked pre-check: a conversation another pass already took is dropped without
    // queueing for the agent's row lock.
    let waiting: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM conversations c WHERE c.id = $1 AND c.status = 'open' \
         AND c.assignee_id IS NULL AND NOT EXISTS (SELECT 1 FROM offers o \
           WHERE o.conversation_id = c.id AND o.status = 'offered')",
    )
    .bind(decision.conversation.as_str())
    .fetch_optional(state.store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    if waiting.is_none() {
        return Ok(None);
    }
    let tx = state.store.begin().await?;
    match apply::apply(tx, decision, now).await {
        Ok(Some((applied, ev))) => {
            state.bus.publish(ev).await;
            Ok(Some(applied))
        }
        Ok(None) | Err(StoreError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Close one outstanding offer with `status`, recording `kind` in the history; `decline`
/// also adds the agent to the conversation's declined set. Returns the event when this call
/// closed it.
pub(crate) async fn close_offer(
    state: &AppState,
    offer_id: &str,
    status: &str,
    kind: &str,
    decline: bool,
    actor: &Actor,
    now: i64,
) -> StoreResult<Option<Event>> {
    let mut tx = state.store.begin().await?;
    let row: Option<(String, String)> = sqlx::query_as(
        "UPDATE offers SET status = $1, decided_at = $2 WHERE id = $3 AND status = 'offered' \
         RETURNING conversation_id, agent_id",
    )
    .bind(status)
    .bind(now)
    .bind(offer_id)
    .fetch_optional(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let Some((conv_id, agent)) = row else {
        return Ok(None);
    };
    if decline {
        sqlx::query(
            "INSERT INTO routing_declines (conversation_id, agent_id, created_at) \
             VALUES ($1, $2, $3) ON CONFLICT (conversation_id, agent_id) DO NOTHING",
        )
        .bind(&conv_id)
        .bind(&agent)
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    }
    let conv = conversations::get(tx.conn(), &conv_id).await?;
    let data = json!({ "offer_id": offer_id, "agent_id": agent });
    let ev = record_for_agent(&mut tx, &conv, kind, &agent, actor, data).await?;
    tx.commit().await?;
    metrics::counter!("switchboard_routing_offers_closed_total", "status" => status.to_string())
        .increment(1);
    Ok(Some(ev))
}

async fn close_all(
    state: &AppState,
    ids: Vec<(String,)>,
    status: &str,
    kind: &str,
    decline: bool,
    now: i64,
) -> StoreResult<usize> {
    let mut n = 0;
    for (id,) in ids {
        if let Some(ev) =
            close_offer(state, &id, status, kind, decline, &Actor::system(), now).await?
        {
            state.bus.publish(ev).await;
            n += 1;
        }
    }
    Ok(n)
}

async fn expire_offers(state: &AppState, now: i64) -> StoreResult<usize> {
    let ids: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM offers WHERE status = 'offered' AND expires_at <= $1")
            .bind(now)
            .fetch_all(state.store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
    close_all(state, ids, "expired", "offer_expired", true, now).await
}

async fn withdraw_offers(state: &AppState, now: i64) -> StoreResult<usize> {
    let ids: Vec<(String,)> = sqlx::query_as(
        "SELECT o.id FROM offers o JOIN agents a ON a.id = o.agent_id \
         JOIN conversations c ON c.id = o.conversation_id WHERE o.status = 'offered' \
         AND (a.active <> 1 OR a.presence <> 'available' OR c.status <> 'open' \
              OR c.assignee_id IS NOT NULL OR c.queue_id IS NULL)",
    )
    .fetch_all(state.store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    close_all(state, ids, "withdrawn", "offer_withdrawn", false, now).await
}

/// Routed conversations never answered by an agent that went offline (or was deactivated) go
/// back to their queue at their original place; so do chats and callbacks assigned by hand
/// (e.g. a supervisor's override) to an agent still offline `routing.console_grace_secs` later.
async fn requeue_offline(state: &AppState, now: i64) -> StoreResult<usize> {
    let grace_ms = state.settings.routing.console_grace_secs as i64 * 1000;
    // From the (few) offline agents to their open unanswered conversations, by the agents'
    // ids: one probe each of a partial index holding only those (migration 0032). As one
    // join, SQLite read every open conversation per pass unless forced into this order, and
    // PostgreSQL did (287 ms a pass with a year of history: every event pass runs this).
    let gone: Vec<String> =
        sqlx::query_scalar("SELECT id FROM agents WHERE presence = 'offline' OR active <> 1")
            .fetch_all(state.store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
    if gone.is_empty() {
        return Ok(0);
    }
    let backend = state.store.backend();
    // Without statistics SQLite looked for the accepted offer among every offer the agent
    // ever accepted (two equalities on `offers_agent`) rather than the conversation's few.
    let by_conversation = dialect::index_hint(backend, "offers_conversation");
    let rows: Vec<(String, String)> = sqlx::query_as(&format!(
        "SELECT c.id, c.assignee_id FROM conversations c JOIN queues q ON q.id = c.queue_id \
         WHERE c.assignee_id {agents} AND c.assignee_id IS NOT NULL \
           AND c.status = 'open' AND c.first_response_at IS NULL \
           AND (c.channel <> 'email' OR q.requeue_email_when_offline = 1) \
           AND (EXISTS (SELECT 1 FROM offers o {by_conversation} WHERE o.conversation_id = c.id \
                        AND o.agent_id = c.assignee_id AND o.status = 'accepted') \
             OR ((c.channel = 'chat' OR EXISTS (SELECT 1 FROM conversation_tags t \
                    WHERE t.conversation_id = c.id AND t.tag = 'callback')) \
                 AND (SELECT MAX(e.created_at) FROM conversation_events e \
                      WHERE e.conversation_id = c.id AND e.kind = 'assigned') <= $1))",
        agents = dialect::in_json_list(backend, 2, None),
    ))
    .bind(now - grace_ms)
    .bind(crate::store::bulk::json_param(&gone)?)
    .fetch_all(state.store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut n = 0;
    for (conv_id, agent) in rows {
        let mut tx = state.store.begin().await?;
        apply::lock_agent(&mut tx, &agent, false).await?;
        let res = sqlx::query(
            "UPDATE conversations SET assignee_id = NULL, updated_at = $1, \
               enqueued_at = COALESCE(enqueued_at, created_at) \
             WHERE id = $2 AND assignee_id = $3 AND status = 'open' AND first_response_at IS NULL",
        )
        .bind(now)
        .bind(&conv_id)
        .bind(&agent)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
        if res.rows_affected() == 0 {
            continue;
        }
        let conv = conversations::get(tx.conn(), &conv_id).await?;
        let data = json!({ "from": agent, "reason": "agent_offline" });
        let ev =
            record_for_agent(&mut tx, &conv, "requeued", &agent, &Actor::system(), data).await?;
        tx.commit().await?;
        state.bus.publish(ev).await;
        n += 1;
    }
    Ok(n)
}

/// Stamp SLA due times on queued conversations that have none (first response from entering
/// a queue, resolution from creation; VIP customers get the tighter targets).
async fn stamp_if_needed(state: &AppState) -> StoreResult<()> {
    // Most passes find nothing to stamp: look first with a read, which on SQLite neither takes
    // nor waits for the write lock that every message's commit needs. Two branches, each
    // served by its partial index (migration 0011).
    let unstamped: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM conversations WHERE queue_id IS NOT NULL AND status = 'open' \
           AND first_response_due IS NULL AND first_response_at IS NULL \
         UNION ALL SELECT id FROM conversations WHERE queue_id IS NOT NULL \
           AND status IN ('open', 'pending') AND resolution_due IS NULL LIMIT 1",
    )
    .fetch_optional(state.store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    if unstamped.is_some() {
        stamp_due_times(state, &state.settings.routing).await?;
    }
    Ok(())
}

/// Give queued conversations without them their first-response and resolution due times
/// (in business time for queues that say so, [`crate::business_hours::sla`]).
async fn stamp_due_times(
    state: &AppState,
    s: &crate::settings::RoutingSettings,
) -> StoreResult<()> {
    use crate::business_hours::sla::BUSINESS_TIME_QUEUES;
    // Rows a chat or voice batch holds are stamped at the next pass, never waited for. The
    // customer's tier is one primary-key probe per stamped row: `customer_id IN (SELECT id
    // FROM customers WHERE tier = 'vip')` read every customer (70 ms with 634,000 of them, on
    // every arrival, twice).
    let skip = crate::store::dialect::skip_locked(state.store.backend(), "conversations");
    let mut tx = state.store.begin().await?;
    sqlx::query(&format!(
        "UPDATE conversations SET first_response_due = COALESCE(enqueued_at, created_at) + \
           CASE WHEN (SELECT tier FROM customers WHERE id = conversations.customer_id) = 'vip' THEN $1 \
             ELSE COALESCE((SELECT q.first_response_minutes * 60000 FROM queues q \
               WHERE q.id = conversations.queue_id), $2) END \
         WHERE id IN (SELECT id FROM conversations WHERE status = 'open' \
           AND queue_id IS NOT NULL AND first_response_due IS NULL \
           AND first_response_at IS NULL AND queue_id NOT IN ({BUSINESS_TIME_QUEUES}){skip})"
    ))
    .bind(s.vip_first_response_minutes * 60_000)
    .bind(s.first_response_minutes * 60_000)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    sqlx::query(&format!(
        "UPDATE conversations SET resolution_due = created_at + \
           CASE WHEN (SELECT tier FROM customers WHERE id = conversations.customer_id) = 'vip' THEN $1 \
             ELSE COALESCE((SELECT q.resolution_hours * 3600000 FROM queues q \
               WHERE q.id = conversations.queue_id), $2) END \
         WHERE id IN (SELECT id FROM conversations WHERE status IN ('open', 'pending') \
           AND queue_id IS NOT NULL AND resolution_due IS NULL \
           AND queue_id NOT IN ({BUSINESS_TIME_QUEUES}){skip})"
    ))
    .bind(s.vip_resolution_hours * 3_600_000)
    .bind(s.resolution_hours * 3_600_000)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    // Queues counting business time only: due = the target's worth of the calendar's hours.
    crate::business_hours::sla::stamp(&mut tx, s).await?;
    tx.commit().await
}

/// Record the SLA breaches due by `now`, each once (the `sla_breaches` primary key makes
/// "once" hold across nodes); returns how many were recorded. A recorded breach also marks its
/// conversation, which takes it out of the partial index this walks (migration 0030): the check
/// reads the deadlines that can still be breached, not every overdue conversation of the year.
async fn breaches(state: &AppState, now: i64) -> StoreResult<usize> {
    // SQLite (no statistics) would rather read every open conversation by status: it is told
    // to use the partial indexes on the due times (migration 0011); PostgreSQL picks them.
    let first = state.store.index_hint("conversations_first_response_due");
    let resolution = state.store.index_hint("conversations_resolution_due");
    let sql = format!(
        "SELECT c.id, 'first_response', c.first_response_due FROM conversations c {first} \
         WHERE c.status = 'open' AND c.first_response_at IS NULL \
           AND c.first_response_due IS NOT NULL AND c.first_response_breached = 0 \
           AND c.first_response_due <= $1 \
         UNION ALL \
         SELECT c.id, 'resolution', c.resolution_due FROM conversations c {resolution} \
         WHERE c.status IN ('open', 'pending') \
           AND c.resolution_due IS NOT NULL AND c.resolution_breached = 0 \
           AND c.resolution_due <= $1"
    );
    let due: Vec<(String, String, i64)> = sqlx::query_as(&sql)
        .bind(now)
        .fetch_all(state.store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
    let mut n = 0;
    for (conv_id, kind, due_at) in due {
        let mut tx = state.store.begin().await?;
        let res = sqlx::query(
            "INSERT INTO sla_breaches (conversation_id, kind, due, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (conversation_id, kind) DO NOTHING",
        )
        .bind(&conv_id)
        .bind(&kind)
        .bind(due_at)
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
        mark_breached(&mut tx, &conv_id, &kind).await?;
        if res.rows_affected() == 0 {
            tx.commit().await?;
            continue;
        }
        let conv = conversations::get(tx.conn(), &conv_id).await?;
        let data = json!({ "kind": kind, "due": ms_to_rfc3339(due_at) });
        let ev =
            conversations::record(&mut tx, &conv, "sla_breached", &Actor::system(), data).await?;
        tx.commit().await?;
        metrics::counter!("switchboard_sla_breaches_total", "kind" => kind).increment(1);
        state.bus.publish(ev).await;
        n += 1;
    }
    Ok(n)
}

/// Mark `conv_id`'s deadline of `kind` as breached (also when another node recorded the
/// breach first: the mark then only repeats theirs).
async fn mark_breached(tx: &mut crate::store::Tx, conv_id: &str, kind: &str) -> StoreResult<()> {
    let column = if kind == "first_response" {
        "first_response_breached"
    } else {
        "resolution_breached"
    };
    sqlx::query(&format!(
        "UPDATE conversations SET {column} = 1 WHERE id = $1"
    ))
    .bind(conv_id)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// `step` of a pass, its time recorded in `switchboard_routing_step_seconds` (where a slow
/// pass spends it).
async fn timed<T>(step: &'static str, f: impl std::future::Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let out = f.await;
    metrics::histogram!("switchboard_routing_step_seconds", "step" => step)
        .record(started.elapsed().as_secs_f64());
    out
}

#[cfg(test)]
mod tests {
    use super::{Kept, Pass};

    #[test]
    fn the_periodic_pass_looks_for_offline_agents_work_every_few_seconds() {
        let every = super::super::REQUEUE_EVERY.as_millis() as i64;
        let mut kept = Kept::default();
        assert!(
            kept.requeue_due(1_000, &Pass::Tick(&[]), 0),
            "the first pass looks"
        );
        assert!(!kept.requeue_due(2_000, &Pass::Tick(&[]), 0));
        assert!(
            kept.requeue_due(2_000, &Pass::Tick(&[]), 1),
            "an agent just went offline"
        );
        assert!(
            kept.requeue_due(2_500, &Pass::Settle, 0),
            "an event may have made some"
        );
        assert!(!kept.requeue_due(2_500 + every - 1, &Pass::Tick(&[]), 0));
        assert!(kept.requeue_due(2_500 + every, &Pass::Tick(&[]), 0));
        assert!(
            kept.requeue_due(0, &Pass::Tick(&[]), 0),
            "a clock set back looks again"
        );
    }
}
