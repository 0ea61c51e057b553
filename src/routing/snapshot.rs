//! Loading the routing state from the database into a fresh engine: queues, active agents,
//! assigned conversations, outstanding offers and waiting conversations (with their original
//! enqueue time, priority, SLA deadline, sticky agent and declines).

use crate::settings::RoutingSettings;
use crate::store::{Store, StoreError, StoreResult};
use std::collections::{BTreeMap, HashMap, HashSet};
use switchboard_routing::{Agent, Conversation, Engine, Presence, Queue, RoutingConfig};

/// Queue used for assigned conversations that belong to no queue (manual assignments): they
/// only count against their agent's capacity.
const NO_QUEUE: &str = "";

/// The engine configuration the server uses.
pub(crate) fn config(s: &RoutingSettings) -> RoutingConfig {
    RoutingConfig {
        offer_timeout: s.offer_timeout_secs * 1000,
        sticky_max_wait: s.sticky_max_wait_secs * 1000,
        ..RoutingConfig::default()
    }
}

fn presence(s: &str) -> Presence {
    match s {
        "available" => Presence::Available,
        "away" => Presence::Away,
        _ => Presence::Offline,
    }
}

fn json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

type AgentRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    String,
);
type QueueRow = (String, String, Option<String>, i64, i64);
type ConvRow = (
    String,
    Option<String>,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    String,
    String,
);

/// A fresh engine holding the current state of `store` as of `now`.
pub(crate) async fn load(store: &Store, s: &RoutingSettings, now: i64) -> StoreResult<Engine> {
    let pool = store.pool();
    let mut engine = Engine::new(config(s));
    let sticky_window = s.sticky_window_days * 24 * 3_600_000;
    let queues: Vec<QueueRow> =
        sqlx::query_as("SELECT id, skills, language, priority, auto_accept FROM queues")
            .fetch_all(pool)
            .await
            .map_err(StoreError::from_sqlx)?;
    let mut known_queues: HashSet<String> = HashSet::new();
    // Access by team: claimed queues require their teams' skill, members get it.
    let teams = crate::teams::routing::TeamRouting::load(store).await?;
    engine.upsert_queue(Queue::new(NO_QUEUE), now);
    for (id, skills, language, priority, auto) in queues {
        let mut q = Queue::new(id.as_str())
            .with_base_priority(priority.clamp(-1_000_000, 1_000_000) as i32)
            .with_auto_accept(auto == 1);
        for s in json_list(&skills) {
            q = q.with_skill(s);
        }
        if let Some(l) = language.filter(|l| !l.is_empty()) {
            q = q.with_language(l);
        }
        if let Some(t) = &teams {
            q = t.queue(q, &id);
        }
        engine.upsert_queue(q, now);
        known_queues.insert(id);
    }
    let agents: Vec<AgentRow> = sqlx::query_as(
        "SELECT a.id, a.presence, a.skills, a.languages, a.capacity, a.presence_at, r.idle_since, \
                a.blocks \
         FROM agents a LEFT JOIN agent_routing r ON r.agent_id = a.id WHERE a.active = 1",
    )
    .fetch_all(pool)
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut known_agents: HashSet<String> = HashSet::new();
    // Agents the PBX reports on a call: what their blocks of "phone" stop, they cannot take.
    let mut conn = pool.acquire().await.map_err(StoreError::from_sqlx)?;
    let on_phone = crate::channels::voice::ami::phone::agents_on_call(&mut conn).await?;
    drop(conn);
    for (id, pres, skills, languages, capacity, presence_at, idle, blocks) in agents {
        let mut a =
            Agent::new(id.as_str(), idle.unwrap_or(presence_at)).with_presence(presence(&pres));
        for s in json_list(&skills) {
            a = a.with_skill(s);
        }
        for l in json_list(&languages) {
            a = a.with_language(l);
        }
        let caps: BTreeMap<String, i64> = serde_json::from_str(&capacity).unwrap_or_default();
        for (channel, n) in caps {
            a = a.with_capacity(channel, n.clamp(0, u32::MAX as i64) as u32);
        }
        let blocks: BTreeMap<String, Vec<String>> =
            serde_json::from_str(&blocks).unwrap_or_default();
        for (busy, stopped) in blocks {
            for c in stopped {
                if busy == "phone" && on_phone.contains(&id) {
                    a = a.with_capacity(c.as_str(), 0);
                }
                a = a.with_block(busy.as_str(), c);
            }
        }
        if let Some(t) = &teams {
            a = t.agent(a, &id);
        }
        engine.upsert_agent(a, now);
        known_agents.insert(id);
    }
    let offers: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT conversation_id, agent_id, expires_at FROM offers WHERE status = 'offered'",
    )
    .fetch_all(pool)
    .await
    .map_err(StoreError::from_sqlx)?;
    let offers: HashMap<String, (String, i64)> =
        offers.into_iter().map(|(c, a, e)| (c, (a, e))).collect();
    let convs: Vec<ConvRow> = sqlx::query_as(
        "SELECT c.id, c.queue_id, c.channel, c.priority, COALESCE(c.enqueued_at, c.created_at), \
                c.first_response_due, c.assignee_id, c.customer_id, cu.tier \
         FROM conversations c JOIN customers cu ON cu.id = c.customer_id \
         WHERE (c.assignee_id IS NOT NULL AND c.status IN ('open', 'pending')) \
            OR (c.assignee_id IS NULL AND c.status = 'open' AND c.queue_id IS NOT NULL)",
    )
    .fetch_all(pool)
    .await
    .map_err(StoreError::from_sqlx)?;
    // Declines and sticky agents are read after the conversations: a conversation declined or
    // arrived in between must not lose them (it would be offered to the wrong agent).
    let declines: Vec<(String, String)> = sqlx::query_as(
        "SELECT d.conversation_id, d.agent_id FROM routing_declines d \
         JOIN conversations c ON c.id = d.conversation_id \
         WHERE c.status = 'open' AND c.assignee_id IS NULL",
    )
    .fetch_all(pool)
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut declined: HashMap<String, Vec<String>> = HashMap::new();
    for (c, a) in declines {
        declined.entry(c).or_default().push(a);
    }
    let sticky = sticky_agents(store, now - sticky_window).await?;
    let by_value = crate::value::routing::waiting_boosts(store, s).await?;
    for (id, queue, channel, priority, enqueued, due, assignee, customer, tier) in convs {
        let queue = queue.filter(|q| known_queues.contains(q));
        let boost = if tier == "vip" {
            s.vip_priority_boost
        } else {
            0
        }
        .saturating_add(by_value.get(&id).copied().unwrap_or(0));
        let mut conv = Conversation::new(
            id.as_str(),
            queue.as_deref().unwrap_or(NO_QUEUE),
            channel.as_str(),
            enqueued,
        )
        .with_priority((priority.clamp(-1_000_000, 1_000_000) as i32).saturating_add(boost));
        if let Some(due) = due {
            conv = conv.with_sla_due(due);
        }
        // Engine errors below only mean the row refers to something it does not route (an
        // inactive agent): such a conversation is simply left out of this pass.
        if let Some(agent) = assignee {
            if known_agents.contains(&agent) {
                let _ = engine.restore_assigned(conv, &agent.as_str().into(), true);
            }
            continue;
        }
        if queue.is_none() {
            continue;
        }
        if let Some((agent, expires)) = offers.get(&id) {
            if known_agents.contains(agent) {
                let _ = engine.restore_offer(conv, &agent.as_str().into(), *expires);
            }
            continue;
        }
        for a in declined.remove(&id).unwrap_or_default() {
            conv.declined.insert(a.into());
        }
        if let Some((agent, at)) = sticky.get(&customer) {
            conv = conv.with_sticky(agent.as_str(), at + sticky_window);
        }
        let _ = engine.enqueue(conv, now);
    }
    Ok(engine)
}

/// Whether any active agent is available (else no routing decision is possible).
pub(crate) async fn anyone_available(store: &Store) -> StoreResult<bool> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM agents WHERE active = 1 AND presence = 'available' LIMIT 1")
            .fetch_optional(store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(row.is_some())
}

/// Conversations waiting in a queue (the `switchboard_routing_waiting` gauge when no snapshot
/// was loaded).
pub(crate) async fn waiting_count(store: &Store) -> StoreResult<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM conversations \
         WHERE assignee_id IS NULL AND status = 'open' AND queue_id IS NOT NULL",
    )
    .fetch_one(store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(n)
}

/// Customer → (last agent, when) for customers waiting in a queue whose agent served them
/// since `since` (the sticky window).
async fn sticky_agents(store: &Store, since: i64) -> StoreResult<HashMap<String, (String, i64)>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT c.customer_id, c.assignee_id, c.updated_at FROM conversations c \
         WHERE c.assignee_id IS NOT NULL AND c.updated_at >= $1 AND c.customer_id IN \
           (SELECT w.customer_id FROM conversations w \
            WHERE w.status = 'open' AND w.assignee_id IS NULL AND w.queue_id IS NOT NULL)",
    )
    .bind(since)
    .fetch_all(store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut out: HashMap<String, (String, i64)> = HashMap::new();
    for (customer, agent, at) in rows {
        let e = out.entry(customer).or_insert((agent.clone(), at));
        if at > e.1 {
            *e = (agent, at);
        }
    }
    Ok(out)
}
