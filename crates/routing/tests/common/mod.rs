//! Helpers and independent oracles shared by the integration tests.
#![allow(dead_code)]

use std::cmp::Reverse;

use switchboard_routing::{
    Agent, AgentId, Channel, Conversation, ConversationStatus, Decision, Engine, Presence, Queue,
    RoutingConfig, Timestamp,
};

pub fn a(s: &str) -> AgentId {
    AgentId::from(s)
}

pub fn c(s: &str) -> switchboard_routing::ConversationId {
    s.into()
}

pub fn chat() -> Channel {
    "chat".into()
}

/// Order-of-service key computed independently of the engine's index.
pub fn service_key(
    engine: &Engine,
    conv: &Conversation,
    now: Timestamp,
) -> (Reverse<i64>, i64, String) {
    let cfg = engine.config();
    let base = engine.queue(&conv.queue).map_or(0, |q| q.base_priority);
    let boost = conv
        .sla_due
        .is_some_and(|d| now >= d.saturating_sub(cfg.sla_warning));
    let eff = i64::from(base)
        + i64::from(conv.priority)
        + if boost { i64::from(cfg.sla_boost) } else { 0 };
    (Reverse(eff), conv.enqueued_at, conv.id.to_string())
}

/// Eligibility computed from public data only.
pub fn oracle_eligible(engine: &Engine, agent: &Agent, queue: &Queue, channel: &Channel) -> bool {
    if agent.presence != Presence::Available {
        return false;
    }
    if !queue
        .required_skills
        .iter()
        .all(|s| agent.skills.contains(s))
    {
        return false;
    }
    if let Some(lang) = &queue.language {
        if !agent.languages.contains(lang) {
            return false;
        }
    }
    let u = engine.usage(&agent.id, channel).unwrap();
    if u.load + u.pending >= u.capacity {
        return false;
    }
    !agent.blocks.iter().any(|(busy, blocked)| {
        let b = engine.usage(&agent.id, busy).unwrap();
        blocked.contains(channel) && b.load + b.pending > 0
    })
}

/// After `next_decisions(now, usize::MAX)`: no waiting conversation has an
/// agent allowed to take it.
pub fn assert_no_starvation(engine: &Engine, now: Timestamp) {
    let cfg = engine.config().clone();
    for (conv, status) in engine.conversations() {
        let ConversationStatus::Waiting { reserved_for } = status else {
            continue;
        };
        let queue = engine.queue(&conv.queue).unwrap();
        match reserved_for {
            Some(agent) => {
                let sticky = conv.sticky.as_ref().expect("reserved implies sticky");
                assert_eq!(sticky.agent, agent);
                let lapse = sticky.until.min(conv.enqueued_at + cfg.sticky_max_wait);
                assert!(now < lapse, "{:?} reserved past its lapse", conv.id);
                let ag = engine.agent(&agent).unwrap();
                assert!(
                    !oracle_eligible(engine, ag, queue, &conv.channel),
                    "{:?} waits although its sticky agent {agent:?} is eligible",
                    conv.id
                );
            }
            None => {
                for ag in engine.agents() {
                    assert!(
                        !oracle_eligible(engine, ag, queue, &conv.channel),
                        "{:?} waits although {:?} is eligible",
                        conv.id,
                        ag.id
                    );
                }
            }
        }
    }
}

/// Decisions of one batch are in strict order of service.
pub fn assert_service_order(engine: &Engine, decisions: &[Decision], now: Timestamp) {
    let keys: Vec<_> = decisions
        .iter()
        .map(|d| service_key(engine, engine.conversation(&d.conversation).unwrap().0, now))
        .collect();
    for w in keys.windows(2) {
        assert!(
            w[0] < w[1],
            "decisions out of order: {:?} then {:?}",
            w[0],
            w[1]
        );
    }
}

/// No conversation held by two agents; holders agree with statuses; no
/// agent over capacity unless it is in `overridden`.
pub fn assert_holdings(engine: &Engine, overridden: &[AgentId]) {
    let mut seen = std::collections::HashSet::new();
    for agent in engine.agents() {
        for conv in engine.held_by(&agent.id) {
            assert!(seen.insert(conv.clone()), "{conv:?} held twice");
            let (_, status) = engine.conversation(conv).unwrap();
            match status {
                ConversationStatus::Offered { agent: h, .. }
                | ConversationStatus::Assigned { agent: h, .. } => assert_eq!(h, agent.id),
                other => panic!("{conv:?} held by {:?} but {other:?}", agent.id),
            }
        }
        if !overridden.contains(&agent.id) {
            for ch in agent.capacity.keys() {
                let u = engine.usage(&agent.id, ch).unwrap();
                assert!(
                    u.load + u.pending <= u.capacity,
                    "{:?} over capacity on {ch:?}",
                    agent.id
                );
            }
        }
    }
    for (conv, status) in engine.conversations() {
        if !matches!(status, ConversationStatus::Waiting { .. }) {
            assert!(
                seen.contains(&conv.id),
                "{:?} not held by its agent",
                conv.id
            );
        }
    }
    engine.validate().unwrap();
}

// ---- fixtures for the rule tests ----

pub const T0: i64 = 1_000_000;

pub fn engine_with(queues: &[Queue], agents: &[Agent]) -> Engine {
    let mut e = Engine::new(RoutingConfig::default());
    for q in queues {
        e.upsert_queue(q.clone(), T0);
    }
    for ag in agents {
        e.upsert_agent(ag.clone(), T0);
    }
    e
}

pub fn chat_agent(id: &str, cap: u32) -> Agent {
    Agent::new(id, 0).with_capacity("chat", cap)
}

pub fn conv(id: &str, at: i64) -> Conversation {
    Conversation::new(id, "q", "chat", at)
}

pub fn simple(agents: &[Agent]) -> Engine {
    engine_with(&[Queue::new("q")], agents)
}

pub fn served(e: &mut Engine, now: i64) -> Vec<(String, String)> {
    e.next_decisions(now, usize::MAX)
        .into_iter()
        .map(|d| (d.conversation.to_string(), d.agent.to_string()))
        .collect()
}
