//! Property tests: random operation sequences, invariants after every step.

mod common;

use common::*;
use proptest::prelude::*;
use switchboard_routing::{
    Agent, AgentId, Conversation, ConversationId, ConversationStatus, Engine, Presence, Queue,
    RoutingConfig,
};

const AGENTS: usize = 5;
const CHANNELS: [&str; 3] = ["chat", "phone", "email"];

#[derive(Debug, Clone)]
struct AgentShape {
    caps: [u32; 3],
    skilled: bool,
    german: bool,
    phone_blocks_chat: bool,
    presence: u8,
}

#[derive(Debug, Clone)]
enum Op {
    Arrive {
        queue: u8,
        channel: u8,
        priority: i8,
        sla: Option<u16>,
        sticky: Option<(u8, u16)>,
        age: u16,
    },
    Presence(u8, u8),
    Decide(u8),
    Accept(u16),
    Decline(u16),
    Advance(u16),
    Resolve(u16),
    Answer(u16),
    RemoveAgent(u8),
    AddAgent(u8),
    Cancel(u16),
    Manual(u16, u8),
    Restart,
}

fn agent_shape() -> impl Strategy<Value = AgentShape> {
    (
        [0u32..3, 0u32..2, 0u32..3],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0u8..4,
    )
        .prop_map(
            |(caps, skilled, german, phone_blocks_chat, presence)| AgentShape {
                caps,
                skilled,
                german,
                phone_blocks_chat,
                presence,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..4, 0u8..3, -3i8..4, proptest::option::of(0u16..3000),
              proptest::option::of((0u8..AGENTS as u8, 0u16..5000)), 0u16..2000)
            .prop_map(|(queue, channel, priority, sla, sticky, age)| Op::Arrive {
                queue, channel, priority, sla, sticky, age
            }),
        2 => (0u8..AGENTS as u8, 0u8..3).prop_map(|(a, p)| Op::Presence(a, p)),
        4 => prop_oneof![Just(0u8), 1u8..4].prop_map(Op::Decide),
        3 => any::<u16>().prop_map(Op::Accept),
        2 => any::<u16>().prop_map(Op::Decline),
        2 => (0u16..20_000).prop_map(Op::Advance),
        3 => any::<u16>().prop_map(Op::Resolve),
        1 => any::<u16>().prop_map(Op::Answer),
        1 => (0u8..AGENTS as u8).prop_map(Op::RemoveAgent),
        1 => (0u8..AGENTS as u8).prop_map(Op::AddAgent),
        1 => any::<u16>().prop_map(Op::Cancel),
        1 => (any::<u16>(), 0u8..AGENTS as u8).prop_map(|(c, a)| Op::Manual(c, a)),
        1 => Just(Op::Restart),
    ]
}

fn config() -> RoutingConfig {
    RoutingConfig {
        offer_timeout: 5_000,
        sla_warning: 1_000,
        sla_boost: 10,
        sticky_max_wait: 3_000,
        requeue_unanswered_on_offline: true,
    }
}

fn queues() -> Vec<Queue> {
    vec![
        Queue::new("q0"),
        Queue::new("q1").with_skill("billing").with_base_priority(2),
        Queue::new("q2").with_language("de"),
        Queue::new("q3")
            .with_auto_accept(true)
            .with_base_priority(-1),
    ]
}

fn presence(p: u8) -> Presence {
    match p {
        0 => Presence::Away,
        1 => Presence::Offline,
        _ => Presence::Available,
    }
}

fn build_agent(i: usize, s: &AgentShape, now: i64) -> Agent {
    let mut ag = Agent::new(format!("a{i}"), now - i as i64).with_presence(presence(s.presence));
    for (ch, cap) in CHANNELS.iter().zip(s.caps) {
        ag = ag.with_capacity(*ch, cap);
    }
    if s.skilled {
        ag = ag.with_skill("billing");
    }
    if s.german {
        ag = ag.with_language("de");
    }
    if s.phone_blocks_chat {
        ag = ag.with_block("phone", "chat");
    }
    ag
}

/// Pick the `idx`-th (mod len) conversation whose status matches `want`.
fn pick(
    engine: &Engine,
    idx: u16,
    want: fn(&ConversationStatus) -> bool,
) -> Option<(ConversationId, ConversationStatus)> {
    let mut all: Vec<_> = engine
        .conversations()
        .filter(|(_, s)| want(s))
        .map(|(c, s)| (c.id.clone(), s))
        .collect();
    if all.is_empty() {
        return None;
    }
    all.sort_by(|x, y| x.0.cmp(&y.0));
    Some(all.swap_remove(idx as usize % all.len()))
}

/// Rebuild a fresh engine from what the server would persist.
fn restart(old: &Engine, now: i64) -> Engine {
    let mut e = Engine::new(old.config().clone());
    for q in old.queues() {
        e.upsert_queue(q.clone(), now);
    }
    for ag in old.agents() {
        e.upsert_agent(ag.clone(), now);
    }
    let mut convs: Vec<_> = old.conversations().map(|(c, s)| (c.clone(), s)).collect();
    convs.sort_by(|x, y| x.0.id.cmp(&y.0.id));
    for (conv, status) in convs {
        match status {
            ConversationStatus::Assigned { agent, answered } => {
                e.restore_assigned(conv, &agent, answered).unwrap()
            }
            _ => e.enqueue(conv, now).unwrap(),
        }
    }
    e
}

fn run(shapes: Vec<AgentShape>, ops: Vec<Op>) {
    let mut now: i64 = 1_000_000;
    let mut engine = Engine::new(config());
    for q in queues() {
        engine.upsert_queue(q, now);
    }
    for (i, s) in shapes.iter().enumerate() {
        engine.upsert_agent(build_agent(i, s, now), now);
    }
    let mut next_id = 0u32;
    let is_offer = |s: &ConversationStatus| matches!(s, ConversationStatus::Offered { .. });
    let is_assigned = |s: &ConversationStatus| matches!(s, ConversationStatus::Assigned { .. });
    let is_waiting = |s: &ConversationStatus| matches!(s, ConversationStatus::Waiting { .. });
    for op in ops {
        match op {
            Op::Arrive {
                queue,
                channel,
                priority,
                sla,
                sticky,
                age,
            } => {
                next_id += 1;
                let mut conv = Conversation::new(
                    format!("c{next_id:04}"),
                    format!("q{queue}"),
                    CHANNELS[channel as usize],
                    now - i64::from(age),
                )
                .with_priority(i32::from(priority));
                if let Some(s) = sla {
                    conv = conv.with_sla_due(now + i64::from(s));
                }
                if let Some((ag, until)) = sticky {
                    conv = conv.with_sticky(format!("a{ag}"), now + i64::from(until));
                }
                engine.enqueue(conv, now).unwrap();
            }
            Op::Presence(ag, p) => {
                let _ = engine.set_presence(&AgentId::from(format!("a{ag}")), presence(p), now);
            }
            Op::Decide(max) => {
                let max = if max == 0 {
                    usize::MAX
                } else {
                    usize::from(max)
                };
                let decisions = engine.next_decisions(now, max);
                assert!(decisions.len() <= max);
                assert_service_order(&engine, &decisions, now);
                if max == usize::MAX {
                    assert_no_starvation(&engine, now);
                }
            }
            Op::Accept(i) => {
                if let Some((id, ConversationStatus::Offered { agent, .. })) =
                    pick(&engine, i, is_offer)
                {
                    engine.accept(&id, &agent, now).unwrap();
                }
            }
            Op::Decline(i) => {
                if let Some((id, ConversationStatus::Offered { agent, .. })) =
                    pick(&engine, i, is_offer)
                {
                    engine.decline(&id, &agent, now).unwrap();
                    assert!(engine
                        .conversation(&id)
                        .unwrap()
                        .0
                        .declined
                        .contains(&agent));
                }
            }
            Op::Advance(dt) => {
                now += i64::from(dt);
                for exp in engine.expire_offers(now) {
                    assert!(is_waiting(
                        &engine.conversation(&exp.conversation).unwrap().1
                    ));
                }
            }
            Op::Resolve(i) => {
                if let Some((id, ConversationStatus::Assigned { agent, .. })) =
                    pick(&engine, i, is_assigned)
                {
                    assert_eq!(engine.release(&id, now), Ok(agent));
                }
            }
            Op::Answer(i) => {
                if let Some((id, _)) = pick(&engine, i, is_assigned) {
                    engine.mark_answered(&id).unwrap();
                }
            }
            Op::RemoveAgent(ag) => {
                let id = AgentId::from(format!("a{ag}"));
                if let Ok(back) = engine.remove_agent(&id, now) {
                    for r in back {
                        assert!(is_waiting(&engine.conversation(&r.conversation).unwrap().1));
                    }
                }
            }
            Op::AddAgent(ag) => {
                let i = usize::from(ag);
                if engine.agent(&AgentId::from(format!("a{i}"))).is_none() {
                    engine.upsert_agent(build_agent(i, &shapes[i], now), now);
                }
            }
            Op::Cancel(i) => {
                if let Some((id, _)) = pick(&engine, i, |_| true) {
                    engine.remove_conversation(&id, now).unwrap();
                    assert!(engine.conversation(&id).is_none());
                }
            }
            Op::Manual(i, ag) => {
                if let Some((id, _)) = pick(&engine, i, is_waiting) {
                    let _ = engine.assign_manual(&id, &AgentId::from(format!("a{ag}")), false, now);
                }
            }
            Op::Restart => engine = restart(&engine, now),
        }
        assert_holdings(&engine, &[]);
    }
    // Final drain: nothing starves.
    let decisions = engine.next_decisions(now, usize::MAX);
    assert_service_order(&engine, &decisions, now);
    assert_no_starvation(&engine, now);
    assert_holdings(&engine, &[]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_over_random_operation_sequences(
        shapes in proptest::collection::vec(agent_shape(), AGENTS),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        run(shapes, ops);
    }
}

#[test]
fn restart_preserves_waiting_order_and_loads() {
    let shapes = vec![
        AgentShape {
            caps: [1, 0, 0],
            skilled: false,
            german: false,
            phone_blocks_chat: false,
            presence: 3
        };
        AGENTS
    ];
    let ops = vec![
        Op::Arrive {
            queue: 0,
            channel: 0,
            priority: 0,
            sla: None,
            sticky: None,
            age: 10,
        },
        Op::Arrive {
            queue: 0,
            channel: 0,
            priority: 0,
            sla: None,
            sticky: None,
            age: 5,
        },
        Op::Decide(1),
        Op::Accept(0),
        Op::Restart,
        Op::Decide(0),
    ];
    run(shapes, ops);
}
