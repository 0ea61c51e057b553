//! Agent runtime state and the per-(queue, channel) index of agents that can
//! take work right now.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use crate::hash::{HashMap, HashSet};

use crate::ids::{AgentId, Channel, ConversationId, QueueId};
use crate::model::{Agent, Presence, Timestamp, Usage};

/// Order of preference among eligible agents: most free capacity, longest
/// idle, then id.
pub(crate) type AgentKey = (Reverse<u32>, Timestamp, AgentId);

/// Runtime state of one agent.
#[derive(Debug)]
pub(crate) struct AgentState {
    pub(crate) spec: Agent,
    pub(crate) load: HashMap<Channel, u32>,
    pub(crate) pending: HashMap<Channel, u32>,
    /// Queues whose skill/language requirements the agent meets.
    pub(crate) qualified: HashSet<QueueId>,
    /// Entries currently present in [`Agents::pools`], per channel.
    pub(crate) entries: HashMap<Channel, Vec<(QueueId, AgentKey)>>,
    /// Conversations offered or assigned to this agent.
    pub(crate) held: BTreeSet<ConversationId>,
    /// Waiting conversations reserved for this agent (sticky).
    pub(crate) reserved: BTreeSet<ConversationId>,
}

impl AgentState {
    pub(crate) fn new(spec: Agent) -> Self {
        AgentState {
            spec,
            load: HashMap::default(),
            pending: HashMap::default(),
            qualified: HashSet::default(),
            entries: HashMap::default(),
            held: BTreeSet::new(),
            reserved: BTreeSet::new(),
        }
    }

    pub(crate) fn usage(&self, channel: &Channel) -> Usage {
        Usage {
            capacity: self.spec.capacity.get(channel).copied().unwrap_or(0),
            load: self.load.get(channel).copied().unwrap_or(0),
            pending: self.pending.get(channel).copied().unwrap_or(0),
        }
    }

    fn busy(&self, channel: &Channel) -> bool {
        let u = self.usage(channel);
        u.load > 0 || u.pending > 0
    }

    /// Whether some busy channel blocks `channel`.
    pub(crate) fn blocked(&self, channel: &Channel) -> bool {
        self.spec
            .blocks
            .iter()
            .any(|(busy, list)| list.contains(channel) && self.busy(busy))
    }

    /// Available, free capacity on `channel` and not blocked.
    pub(crate) fn can_take(&self, channel: &Channel) -> bool {
        self.spec.presence == Presence::Available
            && self.usage(channel).free() > 0
            && !self.blocked(channel)
    }

    /// Eligible for a conversation of `queue` on `channel`.
    pub(crate) fn eligible(&self, queue: &QueueId, channel: &Channel) -> bool {
        self.qualified.contains(queue) && self.can_take(channel)
    }

    pub(crate) fn key(&self, channel: &Channel) -> AgentKey {
        (
            Reverse(self.usage(channel).free()),
            self.spec.idle_since,
            self.spec.id.clone(),
        )
    }

    pub(crate) fn add(map: &mut HashMap<Channel, u32>, channel: &Channel) {
        *map.entry(channel.clone()).or_insert(0) += 1;
    }

    pub(crate) fn sub(map: &mut HashMap<Channel, u32>, channel: &Channel) {
        if let Some(n) = map.get_mut(channel) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(channel);
            }
        }
    }
}

/// All agents plus the index of who can take what.
#[derive(Debug, Default)]
pub(crate) struct Agents {
    pub(crate) map: HashMap<AgentId, AgentState>,
    /// queue → channel → agents eligible right now, best first.
    pub(crate) pools: HashMap<QueueId, HashMap<Channel, BTreeSet<AgentKey>>>,
    /// Pools that may have become empty or non-empty since the last drain.
    pub(crate) toggled: Vec<(QueueId, Channel)>,
}

impl Agents {
    /// Re-index an agent after a change. `scope` limits the work to one
    /// channel (and the channels it blocks); `None` re-indexes every channel.
    pub(crate) fn refresh(&mut self, id: &AgentId, scope: Option<&Channel>) {
        let Some(state) = self.map.get_mut(id) else {
            return;
        };
        let channels: Vec<Channel> = match scope {
            Some(c) => {
                let mut v = vec![c.clone()];
                if let Some(blocked) = state.spec.blocks.get(c) {
                    v.extend(blocked.iter().cloned());
                }
                v
            }
            None => state
                .spec
                .capacity
                .keys()
                .chain(state.entries.keys())
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        };
        for channel in channels {
            if let Some(old) = state.entries.remove(&channel) {
                for (queue, key) in old {
                    if let Some(set) = self
                        .pools
                        .get_mut(&queue)
                        .and_then(|by_ch| by_ch.get_mut(&channel))
                    {
                        if set.remove(&key) && set.is_empty() {
                            self.toggled.push((queue, channel.clone()));
                        }
                    }
                }
            }
            if !state.can_take(&channel) || state.qualified.is_empty() {
                continue;
            }
            let key = state.key(&channel);
            let mut added = Vec::with_capacity(state.qualified.len());
            for queue in &state.qualified {
                let set = self
                    .pools
                    .entry(queue.clone())
                    .or_default()
                    .entry(channel.clone())
                    .or_default();
                if set.is_empty() {
                    self.toggled.push((queue.clone(), channel.clone()));
                }
                set.insert(key.clone());
                added.push((queue.clone(), key.clone()));
            }
            state.entries.insert(channel, added);
        }
    }

    /// Remove an agent from every pool (before deleting it).
    pub(crate) fn unindex(&mut self, id: &AgentId) {
        if let Some(state) = self.map.get_mut(id) {
            for (channel, old) in state.entries.drain() {
                for (queue, key) in old {
                    if let Some(set) = self
                        .pools
                        .get_mut(&queue)
                        .and_then(|by_ch| by_ch.get_mut(&channel))
                    {
                        if set.remove(&key) && set.is_empty() {
                            self.toggled.push((queue, channel.clone()));
                        }
                    }
                }
            }
        }
    }

    /// Whether some agent is eligible for `queue`/`channel`.
    pub(crate) fn pool_nonempty(&self, queue: &QueueId, channel: &Channel) -> bool {
        self.pools
            .get(queue)
            .and_then(|by_ch| by_ch.get(channel))
            .is_some_and(|s| !s.is_empty())
    }

    /// Whether the agent exists and is eligible for `queue`/`channel`.
    pub(crate) fn eligible(&self, id: &AgentId, queue: &QueueId, channel: &Channel) -> bool {
        self.map.get(id).is_some_and(|a| a.eligible(queue, channel))
    }
}
