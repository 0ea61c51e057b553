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
    let on_phone = crate::agents::phone::agents_on_call(&mut conn).await?;
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
    let convs: Vec<ConvRow> = sqlx::query_as(&format!(
        "{CONV_SELECT} WHERE (c.assignee_id IS NOT NULL AND c.status IN ('open', 'pending')) \
            OR (c.assignee_id IS NULL AND c.status = 'open' AND c.queue_id IS NOT NULL)"
    ))
    .fetch_all(pool)
    .await
    .map_err(StoreError::from_sqlx)?;
    let ctx = Context::read(store, s, now, None).await?;
    for row in convs {
        ctx.place(&mut engine, row, &known_queues, &known_agents, now);
    }
    Ok(engine)
}

const CONV_SELECT: &str = "SELECT c.id, c.queue_id, c.channel, c.priority, \
       COALESCE(c.enqueued_at, c.created_at), c.first_response_due, c.assignee_id, \
       c.customer_id, cu.tier \
     FROM conversations c JOIN customers cu ON cu.id = c.customer_id";

/// Add conversations that arrived after `engine` was loaded, by id, as [`load`] would have
/// placed them (waiting ones with their sticky agent, offered or assigned ones counting
/// against their agent), reading only those rows: the router keeps its engine between the
/// passes that new conversations call for. False when one needs what the engine does not
/// hold (a queue or agent it does not know): the caller loads a fresh engine.
pub(crate) async fn add_arrivals(
    store: &Store,
    s: &RoutingSettings,
    engine: &mut Engine,
    ids: &[String],
    now: i64,
) -> StoreResult<bool> {
    let fresh: Vec<&String> = ids
        .iter()
        .filter(|id| engine.conversation(&id.as_str().into()).is_none())
        .collect();
    if fresh.is_empty() {
        return Ok(true);
    }
    let list = crate::store::bulk::json_param(&fresh)?;
    let values = crate::store::dialect::json_values_on(store.backend());
    let convs: Vec<ConvRow> = sqlx::query_as(&format!(
        "{CONV_SELECT} WHERE c.id IN (SELECT value FROM {values}) \
           AND ((c.assignee_id IS NOT NULL AND c.status IN ('open', 'pending')) \
             OR (c.assignee_id IS NULL AND c.status = 'open' AND c.queue_id IS NOT NULL))"
    ))
    .bind(&list)
    .fetch_all(store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    let queues: HashSet<String> = engine.queues().map(|q| q.id.to_string()).collect();
    let agents: HashSet<String> = engine.agents().map(|a| a.id.to_string()).collect();
    let known = |r: &ConvRow| {
        r.1.as_ref().is_none_or(|q| queues.contains(q))
            && r.6.as_ref().is_none_or(|a| agents.contains(a))
    };
    if !convs.iter().all(known) {
        return Ok(false);
    }
    let customers: Vec<&str> = convs.iter().map(|r| r.7.as_str()).collect();
    let ctx = Context::read(store, s, now, Some(&customers)).await?;
    for row in convs {
        ctx.place(engine, row, &queues, &agents, now);
    }
    Ok(true)
}

/// What placing a conversation in the engine needs besides its row.
struct Context<'a> {
    s: &'a RoutingSettings,
    offers: HashMap<String, (String, i64)>,
    declined: HashMap<String, Vec<String>>,
    sticky: HashMap<String, (String, i64)>,
    /// Priority points of waiting conversations in queues that serve by value.
    by_value: HashMap<String, i32>,
}

impl<'a> Context<'a> {
    /// Outstanding offers, declines and sticky agents (of `customers`, else of every waiting
    /// customer). Read after the conversations: a conversation declined or arrived in between
    /// must not lose them (it would be offered to the wrong agent).
    async fn read(
        store: &Store,
        s: &'a RoutingSettings,
        now: i64,
        customers: Option<&[&str]>,
    ) -> StoreResult<Context<'a>> {
        let pool = store.pool();
        let offers: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT conversation_id, agent_id, expires_at FROM offers WHERE status = 'offered'",
        )
        .fetch_all(pool)
        .await
        .map_err(StoreError::from_sqlx)?;
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
        let window = s.sticky_window_days * 24 * 3_600_000;
        Ok(Context {
            s,
            offers: offers.into_iter().map(|(c, a, e)| (c, (a, e))).collect(),
            declined,
            sticky: sticky_agents(store, now - window, customers).await?,
            by_value: crate::value::routing::waiting_boosts(store, s).await?,
        })
    }

    /// Put one conversation row in `engine`. Engine errors only mean the row refers to
    /// something it does not route (an inactive agent): such a conversation is left out.
    fn place(
        &self,
        engine: &mut Engine,
        row: ConvRow,
        known_queues: &HashSet<String>,
        known_agents: &HashSet<String>,
        now: i64,
    ) {
        let (id, queue, channel, priority, enqueued, due, assignee, customer, tier) = row;
        let queue = queue.filter(|q| known_queues.contains(q));
        let boost = if tier == "vip" {
            self.s.vip_priority_boost
        } else {
            0
        }
        .saturating_add(self.by_value.get(&id).copied().unwrap_or(0));
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
        if let Some(agent) = assignee {
            if known_agents.contains(&agent) {
                let _ = engine.restore_assigned(conv, &agent.as_str().into(), true);
            }
            return;
        }
        if queue.is_none() {
            return;
        }
        if let Some((agent, expires)) = self.offers.get(&id) {
            if known_agents.contains(agent) {
                let _ = engine.restore_offer(conv, &agent.as_str().into(), *expires);
            }
            return;
        }
        for a in self.declined.get(&id).into_iter().flatten() {
            conv.declined.insert(a.as_str().into());
        }
        if let Some((agent, at)) = self.sticky.get(&customer) {
            let window = self.s.sticky_window_days * 24 * 3_600_000;
            conv = conv.with_sticky(agent.as_str(), at + window);
        }
        let _ = engine.enqueue(conv, now);
    }
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

/// Customer → (last agent, when) for `customers` (else every customer waiting in a queue)
/// whose agent served them since `since` (the sticky window). Each customer costs two probes
/// of the `(customer_id, updated_at)` index (migration 0028), newest first, however long their
/// history: reading every past conversation of the waiting customers made every routing pass
/// slower as the history grew.
async fn sticky_agents(
    store: &Store,
    since: i64,
    customers: Option<&[&str]>,
) -> StoreResult<HashMap<String, (String, i64)>> {
    const LAST: &str = "FROM conversations c WHERE c.customer_id = w.customer_id \
         AND c.assignee_id IS NOT NULL AND c.updated_at >= $1 \
         ORDER BY c.updated_at DESC LIMIT 1";
    let who = match customers {
        Some(_) => format!(
            "SELECT DISTINCT value AS customer_id FROM {}",
            crate::store::dialect::json_values_on(store.backend()).replace("$1", "$2")
        ),
        None => "SELECT DISTINCT customer_id FROM conversations \
                 WHERE status = 'open' AND assignee_id IS NULL AND queue_id IS NOT NULL"
            .to_string(),
    };
    let sql = format!(
        "SELECT w.customer_id, (SELECT c.assignee_id {LAST}), (SELECT c.updated_at {LAST}) \
         FROM ({who}) w"
    );
    let mut q = sqlx::query_as::<_, (String, Option<String>, Option<i64>)>(&sql).bind(since);
    if let Some(c) = customers {
        q = q.bind(crate::store::bulk::json_param(c)?);
    }
    let rows = q
        .fetch_all(store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(rows
        .into_iter()
        .filter_map(|(customer, agent, at)| Some((customer, (agent?, at?))))
        .collect())
}
