//! Public data model: agents, queues, conversations, configuration and the
//! values the engine hands back.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{AgentId, Channel, ConversationId, QueueId};

/// A point in time, in milliseconds since the Unix epoch.
pub type Timestamp = i64;

/// A duration in milliseconds.
pub type Millis = i64;

/// Whether an agent can receive new work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Presence {
    /// Ready to receive offers and assignments.
    Available,
    /// Logged in but not taking new work; pending offers are withdrawn.
    Away,
    /// Logged out; pending offers (and, per configuration, unanswered
    /// assignments) return to waiting.
    Offline,
}

/// An agent as configured, plus its presence and last-activity time.
///
/// Loads are tracked by the engine; see [`Usage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Unique id.
    pub id: AgentId,
    /// Current presence.
    pub presence: Presence,
    /// Skills held by the agent.
    pub skills: BTreeSet<String>,
    /// Languages spoken by the agent.
    pub languages: BTreeSet<String>,
    /// Maximum concurrent conversations per channel; absent channel = 0.
    pub capacity: BTreeMap<Channel, u32>,
    /// `busy → [blocked…]`: while the agent has any load or outstanding offer
    /// on `busy`, it takes no new work on the blocked channels.
    pub blocks: BTreeMap<Channel, Vec<Channel>>,
    /// Time of the last assignment or completion ("longest idle" ordering).
    pub idle_since: Timestamp,
}

impl Agent {
    /// A new available agent with no skills, languages or capacity.
    pub fn new(id: impl Into<AgentId>, idle_since: Timestamp) -> Self {
        Agent {
            id: id.into(),
            presence: Presence::Available,
            skills: BTreeSet::new(),
            languages: BTreeSet::new(),
            capacity: BTreeMap::new(),
            blocks: BTreeMap::new(),
            idle_since,
        }
    }

    /// Sets the presence.
    pub fn with_presence(mut self, presence: Presence) -> Self {
        self.presence = presence;
        self
    }

    /// Adds a skill.
    pub fn with_skill(mut self, skill: impl Into<String>) -> Self {
        self.skills.insert(skill.into());
        self
    }

    /// Adds a language.
    pub fn with_language(mut self, language: impl Into<String>) -> Self {
        self.languages.insert(language.into());
        self
    }

    /// Sets the capacity on a channel.
    pub fn with_capacity(mut self, channel: impl Into<Channel>, capacity: u32) -> Self {
        self.capacity.insert(channel.into(), capacity);
        self
    }

    /// While `busy` has load, no new work is given on `blocked`.
    pub fn with_block(mut self, busy: impl Into<Channel>, blocked: impl Into<Channel>) -> Self {
        self.blocks
            .entry(busy.into())
            .or_default()
            .push(blocked.into());
        self
    }

    /// Whether the agent has every required skill and the language (if any).
    pub fn qualifies_for(&self, queue: &Queue) -> bool {
        queue.required_skills.is_subset(&self.skills)
            && queue
                .language
                .as_ref()
                .is_none_or(|l| self.languages.contains(l))
    }
}

/// A queue of conversations sharing routing requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// Unique id.
    pub id: QueueId,
    /// Skills an agent must all have.
    pub required_skills: BTreeSet<String>,
    /// Language an agent must speak, if any.
    pub language: Option<String>,
    /// Added to every conversation's priority.
    pub base_priority: i32,
    /// When true, decisions are direct [`DecisionKind::Assign`]s (e.g. email).
    pub auto_accept: bool,
}

impl Queue {
    /// A queue with no requirements, base priority 0, offers (not auto-accept).
    pub fn new(id: impl Into<QueueId>) -> Self {
        Queue {
            id: id.into(),
            required_skills: BTreeSet::new(),
            language: None,
            base_priority: 0,
            auto_accept: false,
        }
    }

    /// Adds a required skill.
    pub fn with_skill(mut self, skill: impl Into<String>) -> Self {
        self.required_skills.insert(skill.into());
        self
    }

    /// Sets the required language.
    pub fn with_language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// Sets the base priority.
    pub fn with_base_priority(mut self, priority: i32) -> Self {
        self.base_priority = priority;
        self
    }

    /// Sets auto-accept.
    pub fn with_auto_accept(mut self, auto_accept: bool) -> Self {
        self.auto_accept = auto_accept;
        self
    }
}

/// Preference for a particular agent (e.g. the one who served the customer
/// last time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sticky {
    /// The preferred agent.
    pub agent: AgentId,
    /// Stickiness is honoured while `now < until`.
    pub until: Timestamp,
}

/// A conversation as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// Unique id.
    pub id: ConversationId,
    /// Queue it waits in.
    pub queue: QueueId,
    /// Channel it uses.
    pub channel: Channel,
    /// Added to the queue's base priority (VIPs get more).
    pub priority: i32,
    /// Original enqueue time; preserved when re-queued so it keeps its place.
    pub enqueued_at: Timestamp,
    /// SLA deadline, if any.
    pub sla_due: Option<Timestamp>,
    /// Preferred agent, if any.
    pub sticky: Option<Sticky>,
    /// Agents who declined or let an offer expire; avoided while others are
    /// eligible.
    pub declined: BTreeSet<AgentId>,
}

impl Conversation {
    /// A conversation with priority 0, no SLA, no stickiness.
    pub fn new(
        id: impl Into<ConversationId>,
        queue: impl Into<QueueId>,
        channel: impl Into<Channel>,
        enqueued_at: Timestamp,
    ) -> Self {
        Conversation {
            id: id.into(),
            queue: queue.into(),
            channel: channel.into(),
            priority: 0,
            enqueued_at,
            sla_due: None,
            sticky: None,
            declined: BTreeSet::new(),
        }
    }

    /// Sets the priority.
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the SLA deadline.
    pub fn with_sla_due(mut self, due: Timestamp) -> Self {
        self.sla_due = Some(due);
        self
    }

    /// Sets the sticky agent and the end of its window.
    pub fn with_sticky(mut self, agent: impl Into<AgentId>, until: Timestamp) -> Self {
        self.sticky = Some(Sticky {
            agent: agent.into(),
            until,
        });
        self
    }
}

/// Engine tunables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingConfig {
    /// How long an offer stays outstanding.
    pub offer_timeout: Millis,
    /// The SLA boost applies once `now >= sla_due - sla_warning`.
    pub sla_warning: Millis,
    /// Priority added by the SLA boost.
    pub sla_boost: i32,
    /// A conversation waits for its (busy) sticky agent at most this long
    /// after `enqueued_at`; after that any eligible agent may take it.
    pub sticky_max_wait: Millis,
    /// When an agent goes offline, also return its assigned conversations that
    /// were never marked answered ([`Engine::mark_answered`]).
    pub requeue_unanswered_on_offline: bool,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            offer_timeout: 30_000,
            sla_warning: 60_000,
            sla_boost: 1_000,
            sticky_max_wait: 60_000,
            requeue_unanswered_on_offline: true,
        }
    }
}

/// What a decision asks the server to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionKind {
    /// Offer the conversation; it expires at `expires_at` unless accepted.
    Offer {
        /// When the offer expires.
        expires_at: Timestamp,
    },
    /// Assign directly (auto-accept queue); load is already counted.
    Assign,
}

/// A routing decision. The engine has already recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The conversation.
    pub conversation: ConversationId,
    /// The chosen agent.
    pub agent: AgentId,
    /// Offer or direct assignment.
    pub kind: DecisionKind,
}

/// An offer that expired and whose conversation is waiting again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredOffer {
    /// The conversation.
    pub conversation: ConversationId,
    /// The agent who let it expire (now in the conversation's declined set).
    pub agent: AgentId,
}

/// Why a conversation returned to waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequeueReason {
    /// The agent stopped being available while the offer was outstanding.
    OfferWithdrawn,
    /// The agent went offline before answering an assigned conversation.
    UnansweredAssignment,
    /// The agent was removed while the conversation was assigned to it.
    AgentRemoved,
}

/// A conversation taken away from an agent and put back to waiting at its
/// original place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requeued {
    /// The conversation.
    pub conversation: ConversationId,
    /// The agent it was taken from.
    pub agent: AgentId,
    /// Why.
    pub reason: RequeueReason,
}

/// Where a conversation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationStatus {
    /// Waiting; `reserved_for` names the sticky agent it is currently being
    /// held for (nobody else may take it until the reservation lapses).
    Waiting {
        /// Sticky agent holding the reservation, if any.
        reserved_for: Option<AgentId>,
    },
    /// Offered to an agent.
    Offered {
        /// The agent.
        agent: AgentId,
        /// When the offer expires.
        expires_at: Timestamp,
    },
    /// Assigned to an agent.
    Assigned {
        /// The agent.
        agent: AgentId,
        /// Whether [`Engine::mark_answered`] was called.
        answered: bool,
    },
}

/// An agent's usage of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Configured capacity.
    pub capacity: u32,
    /// Assigned conversations.
    pub load: u32,
    /// Outstanding offers (count against capacity).
    pub pending: u32,
}

impl Usage {
    /// Capacity minus load minus pending offers (never negative).
    pub fn free(&self) -> u32 {
        self.capacity
            .saturating_sub(self.load.saturating_add(self.pending))
    }
}
