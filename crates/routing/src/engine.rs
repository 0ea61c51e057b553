//! The engine: state, setup (agents, queues, conversations, restore) and
//! read-only queries.

use std::collections::BTreeSet;

use crate::agents::{AgentState, Agents};
use crate::error::RouteError;
use crate::hash::{HashMap, HashSet};
use crate::ids::{AgentId, Channel, ConversationId, QueueId};
use crate::model::{
    Agent, Conversation, ConversationStatus, Queue, Requeued, RoutingConfig, Timestamp, Usage,
};
use crate::waiting::{BucketId, ServiceKey, WaitingIndex};

/// Internal status of a conversation.
#[derive(Debug, Clone)]
pub(crate) enum Status {
    /// Transient: not indexed anywhere (only inside an operation).
    Detached,
    Waiting {
        bucket: BucketId,
        key: ServiceKey,
        sla_timer: Option<Timestamp>,
        reserve_timer: Option<Timestamp>,
    },
    Offered {
        agent: AgentId,
        expires_at: Timestamp,
    },
    Assigned {
        agent: AgentId,
        answered: bool,
    },
}

#[derive(Debug)]
pub(crate) struct ConvState {
    pub(crate) spec: Conversation,
    pub(crate) boosted: bool,
    pub(crate) status: Status,
}

#[derive(Debug)]
pub(crate) struct QueueState {
    pub(crate) spec: Queue,
    /// Every conversation (any status) that belongs to the queue.
    pub(crate) convs: HashSet<ConversationId>,
}

/// The routing decision engine. See the crate documentation for the rules.
#[derive(Debug, Default)]
pub struct Engine {
    pub(crate) config: RoutingConfig,
    pub(crate) agents: Agents,
    pub(crate) queues: HashMap<QueueId, QueueState>,
    pub(crate) convs: HashMap<ConversationId, ConvState>,
    pub(crate) waiting: WaitingIndex,
    /// (expires_at, conversation) for outstanding offers.
    pub(crate) offer_timers: BTreeSet<(Timestamp, ConversationId)>,
}

impl Engine {
    /// An empty engine with the given configuration.
    pub fn new(config: RoutingConfig) -> Self {
        Engine {
            config,
            ..Engine::default()
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &RoutingConfig {
        &self.config
    }

    /// Adds or updates an agent. For an existing agent, load, offers and
    /// assignments are kept, `idle_since` becomes the later of the two, and a
    /// presence change behaves like [`Engine::set_presence`].
    pub fn upsert_agent(&mut self, agent: Agent, now: Timestamp) -> Vec<Requeued> {
        let id = agent.id.clone();
        let qualified: HashSet<QueueId> = self
            .queues
            .values()
            .filter(|q| agent.qualifies_for(&q.spec))
            .map(|q| q.spec.id.clone())
            .collect();
        let presence = agent.presence;
        match self.agents.map.get_mut(&id) {
            None => {
                let mut state = AgentState::new(agent);
                state.qualified = qualified;
                self.agents.map.insert(id.clone(), state);
                self.refresh_agent(&id, None);
                Vec::new()
            }
            Some(state) => {
                let old_presence = state.spec.presence;
                let idle = state.spec.idle_since.max(agent.idle_since);
                state.spec = agent;
                state.spec.idle_since = idle;
                state.spec.presence = old_presence;
                state.qualified = qualified;
                self.refresh_agent(&id, None);
                self.set_presence(&id, presence, now).unwrap_or_default()
            }
        }
    }

    /// Adds or updates a queue. Changing the base priority re-orders its
    /// waiting conversations; changing requirements re-qualifies agents.
    pub fn upsert_queue(&mut self, queue: Queue, now: Timestamp) {
        let id = queue.id.clone();
        let priority_changed = match self.queues.get_mut(&id) {
            Some(state) => {
                let changed = state.spec.base_priority != queue.base_priority;
                state.spec = queue;
                changed
            }
            None => {
                self.queues.insert(
                    id.clone(),
                    QueueState {
                        spec: queue,
                        convs: HashSet::default(),
                    },
                );
                false
            }
        };
        let spec = self.queues[&id].spec.clone();
        let ids: Vec<AgentId> = self.agents.map.keys().cloned().collect();
        for agent in ids {
            let state = self.agents.map.get_mut(&agent).expect("agent exists");
            let qualifies = state.spec.qualifies_for(&spec);
            if qualifies != state.qualified.contains(&id) {
                if qualifies {
                    state.qualified.insert(id.clone());
                } else {
                    state.qualified.remove(&id);
                }
                self.refresh_agent(&agent, None);
            }
        }
        if priority_changed {
            let waiting: Vec<ConversationId> = self.queues[&id]
                .convs
                .iter()
                .filter(|c| matches!(self.convs[*c].status, Status::Waiting { .. }))
                .cloned()
                .collect();
            for conv in waiting {
                self.unplace(&conv);
                self.place(&conv, now);
            }
        }
    }

    /// Removes a queue that has no conversations left.
    pub fn remove_queue(&mut self, id: &QueueId) -> Result<Queue, RouteError> {
        let state = self
            .queues
            .get(id)
            .ok_or_else(|| RouteError::UnknownQueue(id.clone()))?;
        if !state.convs.is_empty() {
            return Err(RouteError::QueueInUse(id.clone()));
        }
        let ids: Vec<AgentId> = self
            .agents
            .map
            .values()
            .filter(|a| a.qualified.contains(id))
            .map(|a| a.spec.id.clone())
            .collect();
        for agent in ids {
            if let Some(a) = self.agents.map.get_mut(&agent) {
                a.qualified.remove(id);
            }
            self.refresh_agent(&agent, None);
        }
        self.agents.pools.remove(id);
        Ok(self.queues.remove(id).expect("checked").spec)
    }

    /// Adds a waiting conversation (new arrival, or restored from storage
    /// with its original `enqueued_at`).
    pub fn enqueue(&mut self, conv: Conversation, now: Timestamp) -> Result<(), RouteError> {
        let id = self.insert_conv(conv, Status::Detached)?;
        self.place(&id, now);
        Ok(())
    }

    /// Restores an assigned conversation (e.g. after a restart). Capacity is
    /// not checked: storage is the source of truth. `idle_since` is untouched.
    pub fn restore_assigned(
        &mut self,
        conv: Conversation,
        agent: &AgentId,
        answered: bool,
    ) -> Result<(), RouteError> {
        if !self.agents.map.contains_key(agent) {
            return Err(RouteError::UnknownAgent(agent.clone()));
        }
        let channel = conv.channel.clone();
        let status = Status::Assigned {
            agent: agent.clone(),
            answered,
        };
        let id = self.insert_conv(conv, status)?;
        let state = self.agents.map.get_mut(agent).expect("checked");
        AgentState::add(&mut state.load, &channel);
        state.held.insert(id);
        self.refresh_agent(agent, Some(&channel));
        Ok(())
    }

    /// Restores an outstanding offer (optional after a restart: offers may
    /// instead simply be restored as waiting). Capacity is not checked.
    pub fn restore_offer(
        &mut self,
        conv: Conversation,
        agent: &AgentId,
        expires_at: Timestamp,
    ) -> Result<(), RouteError> {
        if !self.agents.map.contains_key(agent) {
            return Err(RouteError::UnknownAgent(agent.clone()));
        }
        let channel = conv.channel.clone();
        let status = Status::Offered {
            agent: agent.clone(),
            expires_at,
        };
        let id = self.insert_conv(conv, status)?;
        self.offer_timers.insert((expires_at, id.clone()));
        let state = self.agents.map.get_mut(agent).expect("checked");
        AgentState::add(&mut state.pending, &channel);
        state.held.insert(id);
        self.refresh_agent(agent, Some(&channel));
        Ok(())
    }

    fn insert_conv(
        &mut self,
        conv: Conversation,
        status: Status,
    ) -> Result<ConversationId, RouteError> {
        if self.convs.contains_key(&conv.id) {
            return Err(RouteError::DuplicateConversation(conv.id));
        }
        let queue = self
            .queues
            .get_mut(&conv.queue)
            .ok_or_else(|| RouteError::UnknownQueue(conv.queue.clone()))?;
        let id = conv.id.clone();
        queue.convs.insert(id.clone());
        self.convs.insert(
            id.clone(),
            ConvState {
                spec: conv,
                boosted: false,
                status,
            },
        );
        Ok(id)
    }

    /// The agent, if known.
    pub fn agent(&self, id: &AgentId) -> Option<&Agent> {
        self.agents.map.get(id).map(|a| &a.spec)
    }

    /// All agents, in no particular order.
    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.map.values().map(|a| &a.spec)
    }

    /// The agent's usage of a channel, if the agent is known.
    pub fn usage(&self, agent: &AgentId, channel: &Channel) -> Option<Usage> {
        self.agents.map.get(agent).map(|a| a.usage(channel))
    }

    /// Conversations offered or assigned to the agent, ordered by id.
    pub fn held_by(&self, agent: &AgentId) -> impl Iterator<Item = &ConversationId> {
        self.agents.map.get(agent).into_iter().flat_map(|a| &a.held)
    }

    /// Whether the agent is eligible for a conversation of `queue` on
    /// `channel` right now (presence, skills, language, capacity, blocking).
    pub fn is_eligible(&self, agent: &AgentId, queue: &QueueId, channel: &Channel) -> bool {
        self.agents.eligible(agent, queue, channel)
    }

    /// The queue, if known.
    pub fn queue(&self, id: &QueueId) -> Option<&Queue> {
        self.queues.get(id).map(|q| &q.spec)
    }

    /// All queues, in no particular order.
    pub fn queues(&self) -> impl Iterator<Item = &Queue> {
        self.queues.values().map(|q| &q.spec)
    }

    /// A conversation and its status, if known.
    pub fn conversation(&self, id: &ConversationId) -> Option<(&Conversation, ConversationStatus)> {
        self.convs.get(id).map(|c| (&c.spec, public_status(c)))
    }

    /// All conversations with their status, in no particular order.
    pub fn conversations(&self) -> impl Iterator<Item = (&Conversation, ConversationStatus)> {
        self.convs.values().map(|c| (&c.spec, public_status(c)))
    }

    /// Number of waiting conversations.
    pub fn waiting_len(&self) -> usize {
        self.waiting.len
    }
}

fn public_status(c: &ConvState) -> ConversationStatus {
    match &c.status {
        Status::Detached => ConversationStatus::Waiting { reserved_for: None },
        Status::Waiting { bucket, .. } => ConversationStatus::Waiting {
            reserved_for: match bucket {
                BucketId::Reserved(agent, _, _) => Some(agent.clone()),
                BucketId::Pool(..) => None,
            },
        },
        Status::Offered { agent, expires_at } => ConversationStatus::Offered {
            agent: agent.clone(),
            expires_at: *expires_at,
        },
        Status::Assigned { agent, answered } => ConversationStatus::Assigned {
            agent: agent.clone(),
            answered: *answered,
        },
    }
}
