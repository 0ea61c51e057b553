//! Throughput benchmark for the routing engine (plain `harness = false`).
//!
//! Run: `cargo bench -p switchboard-routing --bench engine`
//!
//! * drain: N agents, W waiting conversations spread over 10 queues and two
//!   channels, enough capacity for all; time `next_decisions(now, MAX)`.
//! * steady: 100 agents kept full; every cycle releases one conversation,
//!   enqueues a new one (queue length stays W) and asks for one decision.
//!   Reports the time of the decision call alone, for growing W.

use std::hint::black_box;
use std::time::{Duration, Instant};

use switchboard_routing::{Agent, Conversation, ConversationStatus, Engine, Queue, RoutingConfig};

const QUEUES: u64 = 10;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn setup(agents: u64, cap: u32, waiting: u64, rng: &mut Lcg) -> Engine {
    let now = 1_000_000_000;
    let mut e = Engine::new(RoutingConfig::default());
    for q in 0..QUEUES {
        let queue = Queue::new(format!("queue-{q}"))
            .with_skill(format!("s{}", q % 4))
            .with_base_priority((q % 3) as i32)
            .with_auto_accept(q == 9);
        e.upsert_queue(queue, now);
    }
    for a in 0..agents {
        let agent = Agent::new(format!("agent-{a:05}"), now - (rng.next() % 100_000) as i64)
            .with_skill(format!("s{}", a % 4))
            .with_skill(format!("s{}", (a + 1) % 4))
            .with_capacity("chat", cap)
            .with_capacity("email", cap)
            .with_capacity("phone", 1)
            .with_block("phone", "chat");
        e.upsert_agent(agent, now);
    }
    for i in 0..waiting {
        enqueue(&mut e, i, now, rng);
    }
    e
}

fn enqueue(e: &mut Engine, i: u64, now: i64, rng: &mut Lcg) {
    let q = rng.next() % QUEUES;
    let channel = if q == 9 { "email" } else { "chat" };
    let mut conv = Conversation::new(
        format!("conv-{i:08}"),
        format!("queue-{q}"),
        channel,
        now - (rng.next() % 3_600_000) as i64,
    )
    .with_priority((rng.next() % 5) as i32 - (if rng.next() % 20 == 0 { 0 } else { 10 }));
    if rng.next() % 4 == 0 {
        conv = conv.with_sla_due(now + (rng.next() % 600_000) as i64);
    }
    e.enqueue(conv, now).expect("enqueue");
}

fn drain(agents: u64, waiting: u64) {
    let mut rng = Lcg(42);
    let cap = (waiting / agents * 2) as u32 + 1;
    let mut e = setup(agents, cap, waiting, &mut rng);
    let now = 1_000_000_000;
    let start = Instant::now();
    let decisions = e.next_decisions(now, usize::MAX);
    let took = start.elapsed();
    black_box(&decisions);
    println!(
        "drain   agents={agents:>5} waiting={waiting:>7} decisions={:>7} time={:>9.3} ms  {:>10.0} decisions/s  {:>7.0} ns/decision",
        decisions.len(),
        took.as_secs_f64() * 1e3,
        decisions.len() as f64 / took.as_secs_f64(),
        took.as_nanos() as f64 / decisions.len() as f64
    );
}

fn steady(agents: u64, waiting: u64, cycles: u64) {
    let mut rng = Lcg(7);
    let mut e = setup(agents, 2, waiting, &mut rng);
    let mut now = 1_000_000_000;
    // Fill every agent, accept everything.
    for d in e.next_decisions(now, usize::MAX) {
        if !matches!(
            e.conversation(&d.conversation).map(|x| x.1),
            Some(ConversationStatus::Assigned { .. })
        ) {
            e.accept(&d.conversation, &d.agent, now).expect("accept");
        }
    }
    let mut held: Vec<_> = e
        .conversations()
        .filter(|(_, s)| matches!(s, ConversationStatus::Assigned { .. }))
        .map(|(c, _)| c.id.clone())
        .collect();
    held.sort();
    let mut in_decide = Duration::ZERO;
    let mut made = 0u64;
    let wall = Instant::now();
    for next_id in waiting..waiting + cycles {
        now += 1;
        let idx = (rng.next() as usize) % held.len();
        let done = held.swap_remove(idx);
        e.release(&done, now).expect("release");
        enqueue(&mut e, next_id, now, &mut rng);
        let t = Instant::now();
        let decisions = e.next_decisions(now, 1);
        in_decide += t.elapsed();
        for d in decisions {
            made += 1;
            if matches!(d.kind, switchboard_routing::DecisionKind::Offer { .. }) {
                e.accept(&d.conversation, &d.agent, now).expect("accept");
            }
            held.push(d.conversation);
        }
    }
    let wall = wall.elapsed();
    println!(
        "steady  agents={agents:>5} waiting={:>7} cycles={cycles} decisions={made:>6}  {:>6.0} ns/decision (next_decisions only)  {:>6.0} ns/cycle (release+enqueue+decide+accept)",
        e.waiting_len(),
        in_decide.as_nanos() as f64 / made.max(1) as f64,
        wall.as_nanos() as f64 / cycles as f64
    );
}

/// Many high-priority buckets nobody can serve (1,000 queues needing a skill
/// no agent has, plus 1,000 conversations reserved for busy sticky agents):
/// decisions must not walk over them.
fn unservable(cycles: u64) {
    let mut rng = Lcg(9);
    let mut e = setup(1_000, 2, 100_000, &mut rng);
    let now = 1_000_000_000;
    for d in e.next_decisions(now, usize::MAX) {
        if matches!(d.kind, switchboard_routing::DecisionKind::Offer { .. }) {
            e.accept(&d.conversation, &d.agent, now).expect("accept");
        }
    }
    for q in 0..1_000 {
        let queue = Queue::new(format!("orphan-{q}"))
            .with_skill("nobody")
            .with_base_priority(100);
        e.upsert_queue(queue, now);
        let conv = Conversation::new(
            format!("orphan-conv-{q}"),
            format!("orphan-{q}"),
            "chat",
            now,
        );
        e.enqueue(conv, now).expect("enqueue");
        let sticky = Conversation::new(format!("sticky-{q}"), "queue-0", "chat", now)
            .with_priority(100)
            .with_sticky(format!("agent-{:05}", q % 1_000), now + 10_000_000);
        e.enqueue(sticky, now).expect("enqueue");
    }
    let mut held: Vec<_> = e
        .conversations()
        .filter(|(_, s)| matches!(s, ConversationStatus::Assigned { .. }))
        .map(|(c, _)| c.id.clone())
        .collect();
    held.sort();
    let mut in_decide = Duration::ZERO;
    let mut made = 0u64;
    for next_id in 100_000..100_000 + cycles {
        let idx = (rng.next() as usize) % held.len();
        let done = held.swap_remove(idx);
        e.release(&done, now).expect("release");
        enqueue(&mut e, next_id, now, &mut rng);
        let t = Instant::now();
        let decisions = e.next_decisions(now, 1);
        in_decide += t.elapsed();
        for d in decisions {
            made += 1;
            if matches!(d.kind, switchboard_routing::DecisionKind::Offer { .. }) {
                e.accept(&d.conversation, &d.agent, now).expect("accept");
            }
            held.push(d.conversation);
        }
    }
    println!(
        "unservable agents= 1000 waiting={:>7} (+1000 orphan queues, sticky holds) decisions={made:>6}  {:>6.0} ns/decision (next_decisions only)",
        e.waiting_len(),
        in_decide.as_nanos() as f64 / made.max(1) as f64,
    );
}

fn main() {
    println!("switchboard-routing engine benchmark");
    for (agents, waiting) in [(10, 1_000), (100, 10_000), (1_000, 100_000)] {
        drain(agents, waiting);
    }
    for waiting in [1_000, 10_000, 100_000, 1_000_000] {
        steady(100, waiting, 50_000);
    }
    steady(1_000, 100_000, 50_000);
    unservable(50_000);
}
