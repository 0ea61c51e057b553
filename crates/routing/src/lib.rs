//! Pure routing decision engine for Switchboard.
//!
//! The engine holds an in-memory picture of agents, queues and conversations
//! and decides which waiting conversation goes to which agent. It performs no
//! I/O and never looks at a clock: every time-dependent operation takes `now`
//! (milliseconds since the Unix epoch, see [`Timestamp`]). Time is expected to
//! be non-decreasing across calls.
//!
//! The server loads state from its database, asks [`Engine::next_decisions`]
//! for decisions and applies each one in a transaction; the database stays the
//! arbiter, the engine is the brain.
//!
//! Rules in short:
//! * An agent is eligible for a conversation when it is
//!   [`Presence::Available`], has every skill the queue requires, speaks the
//!   queue language (if any), and has free capacity on the conversation's
//!   channel (load + outstanding offers < capacity, and no blocking channel
//!   busy).
//! * Conversations are served by effective priority (queue base priority +
//!   conversation priority + SLA boost once `now >= sla_due - sla_warning`),
//!   then oldest `enqueued_at`, then id.
//! * Among eligible agents: the sticky agent (within its window), otherwise
//!   most free capacity on the channel, then longest idle, then id. Agents who
//!   declined the conversation are used only when nobody else is eligible.
//!
//! Cost of one decision is logarithmic in the number of waiting conversations:
//! waiting conversations are indexed per (queue, channel) bucket and only
//! bucket heads are compared.
//!
//! ```
//! use switchboard_routing::{Agent, Conversation, DecisionKind, Engine, Queue, RoutingConfig};
//!
//! let now = 1_700_000_000_000;
//! let mut engine = Engine::new(RoutingConfig::default());
//! engine.upsert_queue(Queue::new("support").with_skill("billing"), now);
//! engine.upsert_agent(Agent::new("alice", now).with_skill("billing").with_capacity("chat", 2), now);
//! engine.enqueue(Conversation::new("c-1", "support", "chat", now), now).unwrap();
//!
//! let decisions = engine.next_decisions(now, usize::MAX);
//! assert_eq!(decisions[0].agent.as_str(), "alice");
//! assert!(matches!(decisions[0].kind, DecisionKind::Offer { .. }));
//! engine.accept(&decisions[0].conversation, &decisions[0].agent, now + 1_000).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod agents;
mod decide;
mod engine;
mod error;
mod hash;
mod ids;
mod lifecycle;
mod model;
mod validate;
mod waiting;

pub use engine::Engine;
pub use error::RouteError;
pub use ids::{AgentId, Channel, ConversationId, QueueId};
pub use model::{
    Agent, Conversation, ConversationStatus, Decision, DecisionKind, ExpiredOffer, Millis,
    Presence, Queue, RequeueReason, Requeued, RoutingConfig, Sticky, Timestamp, Usage,
};
