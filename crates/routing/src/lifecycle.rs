//! Conversation and agent lifecycle: placing in the waiting index, offers,
//! assignments, releases, presence changes and removals.

use std::cmp::Reverse;

use crate::agents::AgentState;
use crate::engine::{Engine, Status};
use crate::error::RouteError;
use crate::ids::{AgentId, ConversationId};
use crate::model::{
    ConversationStatus, ExpiredOffer, Presence, RequeueReason, Requeued, Timestamp,
};
use crate::waiting::BucketId;

impl Engine {
    /// Index a detached conversation as waiting, computing its SLA boost and
    /// sticky reservation at `now`.
    pub(crate) fn place(&mut self, id: &ConversationId, now: Timestamp) {
        let conv = self.convs.get_mut(id).expect("conversation exists");
        let queue = &self.queues[&conv.spec.queue].spec;
        let spec = &conv.spec;
        let mut sla_timer = None;
        if let Some(due) = spec.sla_due {
            let at = due.saturating_sub(self.config.sla_warning);
            if now >= at {
                conv.boosted = true;
            } else if !conv.boosted {
                sla_timer = Some(at);
            }
        }
        let boost = if conv.boosted {
            i64::from(self.config.sla_boost)
        } else {
            0
        };
        let effective = i64::from(queue.base_priority) + i64::from(spec.priority) + boost;
        let key = (Reverse(effective), spec.enqueued_at, id.clone());
        let mut reserve_timer = None;
        let mut bucket = BucketId::Pool(spec.queue.clone(), spec.channel.clone());
        if let Some(sticky) = &spec.sticky {
            let lapse = sticky
                .until
                .min(spec.enqueued_at.saturating_add(self.config.sticky_max_wait));
            let available = self
                .agents
                .map
                .get(&sticky.agent)
                .is_some_and(|a| a.spec.presence == Presence::Available);
            if now < lapse && available && !spec.declined.contains(&sticky.agent) {
                reserve_timer = Some(lapse);
                bucket = BucketId::Reserved(
                    sticky.agent.clone(),
                    spec.queue.clone(),
                    spec.channel.clone(),
                );
                let agent = self.agents.map.get_mut(&sticky.agent).expect("checked");
                agent.reserved.insert(id.clone());
            }
        }
        if let Some(at) = sla_timer {
            self.waiting.sla_timers.insert((at, id.clone()));
        }
        if let Some(at) = reserve_timer {
            self.waiting.reserve_timers.insert((at, id.clone()));
        }
        let awake = match &bucket {
            BucketId::Pool(q, c) => self.agents.pool_nonempty(q, c),
            BucketId::Reserved(a, q, c) => self.agents.eligible(a, q, c),
        };
        self.waiting.insert(bucket.clone(), key.clone(), awake);
        conv.status = Status::Waiting {
            bucket,
            key,
            sla_timer,
            reserve_timer,
        };
    }

    /// Remove a waiting conversation from every index (status → detached).
    pub(crate) fn unplace(&mut self, id: &ConversationId) {
        let Some(conv) = self.convs.get_mut(id) else {
            return;
        };
        if !matches!(conv.status, Status::Waiting { .. }) {
            return;
        }
        let Status::Waiting {
            bucket,
            key,
            sla_timer,
            reserve_timer,
        } = std::mem::replace(&mut conv.status, Status::Detached)
        else {
            return;
        };
        self.waiting.remove(&bucket, &key);
        if let Some(at) = sla_timer {
            self.waiting.sla_timers.remove(&(at, id.clone()));
        }
        if let Some(at) = reserve_timer {
            self.waiting.reserve_timers.remove(&(at, id.clone()));
        }
        if let BucketId::Reserved(agent, _, _) = bucket {
            if let Some(a) = self.agents.map.get_mut(&agent) {
                a.reserved.remove(id);
            }
        }
    }

    /// Detach an offered or assigned conversation from its agent, fixing the
    /// agent's counters. Returns the previous status.
    fn detach_from_agent(&mut self, id: &ConversationId) -> Status {
        let conv = self.convs.get_mut(id).expect("conversation exists");
        let status = std::mem::replace(&mut conv.status, Status::Detached);
        let channel = conv.spec.channel.clone();
        match &status {
            Status::Offered { agent, expires_at } => {
                self.offer_timers.remove(&(*expires_at, id.clone()));
                if let Some(a) = self.agents.map.get_mut(agent) {
                    AgentState::sub(&mut a.pending, &channel);
                    a.held.remove(id);
                }
                self.refresh_agent(agent, Some(&channel));
            }
            Status::Assigned { agent, .. } => {
                if let Some(a) = self.agents.map.get_mut(agent) {
                    AgentState::sub(&mut a.load, &channel);
                    a.held.remove(id);
                }
                self.refresh_agent(agent, Some(&channel));
            }
            Status::Waiting { .. } | Status::Detached => {}
        }
        status
    }

    fn offered_to(&self, id: &ConversationId, agent: &AgentId) -> Result<(), RouteError> {
        let conv = self
            .convs
            .get(id)
            .ok_or_else(|| RouteError::UnknownConversation(id.clone()))?;
        match &conv.status {
            Status::Offered { agent: a, .. } if a == agent => Ok(()),
            _ => Err(RouteError::NoOffer {
                conversation: id.clone(),
                agent: agent.clone(),
            }),
        }
    }

    /// The agent accepts an outstanding offer: it becomes an assignment
    /// (load + 1, `idle_since = now`). Offers are acceptable until
    /// [`Engine::expire_offers`] has removed them.
    pub fn accept(
        &mut self,
        conv: &ConversationId,
        agent: &AgentId,
        now: Timestamp,
    ) -> Result<(), RouteError> {
        self.offered_to(conv, agent)?;
        self.detach_from_agent(conv);
        self.assign_to(conv, agent, now);
        Ok(())
    }

    /// Record an assignment of a detached conversation.
    pub(crate) fn assign_to(&mut self, conv: &ConversationId, agent: &AgentId, now: Timestamp) {
        let c = self.convs.get_mut(conv).expect("conversation exists");
        c.status = Status::Assigned {
            agent: agent.clone(),
            answered: false,
        };
        let a = self.agents.map.get_mut(agent).expect("agent exists");
        AgentState::add(&mut a.load, &c.spec.channel);
        a.spec.idle_since = a.spec.idle_since.max(now);
        a.held.insert(conv.clone());
        self.refresh_agent(agent, None);
    }

    /// The agent declines an outstanding offer: the conversation waits again
    /// at its original place and the agent joins its declined set.
    pub fn decline(
        &mut self,
        conv: &ConversationId,
        agent: &AgentId,
        now: Timestamp,
    ) -> Result<(), RouteError> {
        self.offered_to(conv, agent)?;
        self.return_declined(conv, agent, now);
        Ok(())
    }

    fn return_declined(&mut self, conv: &ConversationId, agent: &AgentId, now: Timestamp) {
        self.detach_from_agent(conv);
        let c = self.convs.get_mut(conv).expect("conversation exists");
        c.spec.declined.insert(agent.clone());
        self.place(conv, now);
    }

    /// Expire every offer with `expires_at <= now`, treating each as a
    /// decline. Returns them in expiry order.
    pub fn expire_offers(&mut self, now: Timestamp) -> Vec<ExpiredOffer> {
        let mut out = Vec::new();
        while let Some((at, conv)) = self.offer_timers.first().cloned() {
            if at > now {
                break;
            }
            let agent = match &self.convs[&conv].status {
                Status::Offered { agent, .. } => agent.clone(),
                _ => unreachable!("offer timer without offer"),
            };
            self.return_declined(&conv, &agent, now);
            out.push(ExpiredOffer {
                conversation: conv,
                agent,
            });
        }
        out
    }

    /// Mark an assigned conversation as answered by its agent (it will then
    /// not be re-queued when the agent goes offline).
    pub fn mark_answered(&mut self, conv: &ConversationId) -> Result<(), RouteError> {
        let c = self
            .convs
            .get_mut(conv)
            .ok_or_else(|| RouteError::UnknownConversation(conv.clone()))?;
        match &mut c.status {
            Status::Assigned { answered, .. } => {
                *answered = true;
                Ok(())
            }
            _ => Err(RouteError::NotAssigned(conv.clone())),
        }
    }

    /// The assigned conversation is resolved or released: it leaves the
    /// engine, the agent's load drops and `idle_since = now`. Returns the agent.
    pub fn release(
        &mut self,
        conv: &ConversationId,
        now: Timestamp,
    ) -> Result<AgentId, RouteError> {
        match self.convs.get(conv).map(|c| &c.status) {
            None => Err(RouteError::UnknownConversation(conv.clone())),
            Some(Status::Assigned { .. }) => match self.remove_conversation(conv, now)? {
                ConversationStatus::Assigned { agent, .. } => Ok(agent),
                _ => unreachable!("status checked"),
            },
            Some(_) => Err(RouteError::NotAssigned(conv.clone())),
        }
    }

    /// Remove (cancel) a conversation in any state. Returns its last status
    /// so the server can retract an offer or free the agent. Removing an
    /// assignment behaves like [`Engine::release`].
    pub fn remove_conversation(
        &mut self,
        conv: &ConversationId,
        now: Timestamp,
    ) -> Result<ConversationStatus, RouteError> {
        let (_, status) = self
            .conversation(conv)
            .ok_or_else(|| RouteError::UnknownConversation(conv.clone()))?;
        self.unplace(conv);
        let old = self.detach_from_agent(conv);
        if let Status::Assigned { agent, .. } = &old {
            if let Some(a) = self.agents.map.get_mut(agent) {
                a.spec.idle_since = a.spec.idle_since.max(now);
            }
            self.refresh_agent(agent, None);
        }
        let c = self.convs.remove(conv).expect("exists");
        if let Some(q) = self.queues.get_mut(&c.spec.queue) {
            q.convs.remove(conv);
        }
        Ok(status)
    }

    /// Change an agent's presence. Leaving `Available` withdraws its pending
    /// offers and releases its sticky reservations; going `Offline` also
    /// returns its unanswered assignments when
    /// [`crate::RoutingConfig::requeue_unanswered_on_offline`] is set. Every
    /// returned conversation waits again at its original place.
    pub fn set_presence(
        &mut self,
        agent: &AgentId,
        presence: Presence,
        now: Timestamp,
    ) -> Result<Vec<Requeued>, RouteError> {
        let state = self
            .agents
            .map
            .get_mut(agent)
            .ok_or_else(|| RouteError::UnknownAgent(agent.clone()))?;
        state.spec.presence = presence;
        let mut out = Vec::new();
        if presence != Presence::Available {
            let unanswered =
                presence == Presence::Offline && self.config.requeue_unanswered_on_offline;
            out = self.take_back(agent, unanswered, RequeueReason::UnansweredAssignment, now);
        }
        self.refresh_agent(agent, None);
        Ok(out)
    }

    /// Return an agent's offers (and assignments per `assignments`) to
    /// waiting and release its reservations.
    fn take_back(
        &mut self,
        agent: &AgentId,
        assignments: bool,
        reason: RequeueReason,
        now: Timestamp,
    ) -> Vec<Requeued> {
        let state = &self.agents.map[agent];
        let held: Vec<ConversationId> = state.held.iter().cloned().collect();
        let reserved: Vec<ConversationId> = state.reserved.iter().cloned().collect();
        let mut out = Vec::new();
        for conv in held {
            let reason = match &self.convs[&conv].status {
                Status::Offered { .. } => RequeueReason::OfferWithdrawn,
                Status::Assigned { answered, .. } if assignments => {
                    if *answered && reason == RequeueReason::UnansweredAssignment {
                        continue;
                    }
                    reason
                }
                _ => continue,
            };
            self.detach_from_agent(&conv);
            self.place(&conv, now);
            out.push(Requeued {
                conversation: conv,
                agent: agent.clone(),
                reason,
            });
        }
        for conv in reserved {
            self.unplace(&conv);
            self.place(&conv, now);
        }
        out
    }

    /// Remove an agent. Its offers and all its assignments return to waiting
    /// at their original place; its reservations are released.
    pub fn remove_agent(
        &mut self,
        agent: &AgentId,
        now: Timestamp,
    ) -> Result<Vec<Requeued>, RouteError> {
        let state = self
            .agents
            .map
            .get_mut(agent)
            .ok_or_else(|| RouteError::UnknownAgent(agent.clone()))?;
        state.spec.presence = Presence::Offline;
        let out = self.take_back(agent, true, RequeueReason::AgentRemoved, now);
        self.agents.unindex(agent);
        self.agents.map.remove(agent);
        self.sync_toggled();
        Ok(out)
    }

    /// Manually assign a waiting conversation to an agent (supervisor
    /// action). Skills, language and presence are not checked; capacity and
    /// channel blocking are, unless `override_capacity` is set.
    pub fn assign_manual(
        &mut self,
        conv: &ConversationId,
        agent: &AgentId,
        override_capacity: bool,
        now: Timestamp,
    ) -> Result<(), RouteError> {
        let c = self
            .convs
            .get(conv)
            .ok_or_else(|| RouteError::UnknownConversation(conv.clone()))?;
        if !matches!(c.status, Status::Waiting { .. }) {
            return Err(RouteError::NotWaiting(conv.clone()));
        }
        let a = self
            .agents
            .map
            .get(agent)
            .ok_or_else(|| RouteError::UnknownAgent(agent.clone()))?;
        let channel = &c.spec.channel;
        if !override_capacity && (a.usage(channel).free() == 0 || a.blocked(channel)) {
            return Err(RouteError::NoCapacity {
                conversation: conv.clone(),
                agent: agent.clone(),
            });
        }
        self.unplace(conv);
        self.assign_to(conv, agent, now);
        Ok(())
    }
}
