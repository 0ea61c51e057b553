//! Making decisions: time advance (SLA boosts, reservation lapses), bucket
//! selection and agent choice.

use crate::agents::AgentState;
use crate::engine::{Engine, Status};
use crate::ids::{AgentId, Channel, ConversationId};
use crate::model::{Decision, DecisionKind, Timestamp};
use crate::waiting::BucketId;

impl Engine {
    /// Apply time-dependent changes due at `now`: SLA boosts and lapsed
    /// sticky reservations. Cost is proportional to the number of changes.
    /// Called by [`Engine::next_decisions`]; exposed for callers that want an
    /// up-to-date view without deciding.
    pub fn advance(&mut self, now: Timestamp) {
        while let Some((at, conv)) = self.waiting.sla_timers.first().cloned() {
            if at > now {
                break;
            }
            self.unplace(&conv);
            self.convs.get_mut(&conv).expect("exists").boosted = true;
            self.place(&conv, now);
        }
        while let Some((at, conv)) = self.waiting.reserve_timers.first().cloned() {
            if at > now {
                break;
            }
            self.unplace(&conv);
            self.place(&conv, now);
        }
    }

    /// Make up to `max` decisions at `now`, best conversation first. Each
    /// decision is recorded (offer outstanding or assignment counted) before
    /// the next is made. After a call with `max = usize::MAX`, no waiting
    /// conversation has an agent allowed to take it.
    ///
    /// Cost per decision is `O(log n)` in the number of waiting conversations
    /// plus the number of (queue, channel) buckets that cannot be served.
    pub fn next_decisions(&mut self, now: Timestamp, max: usize) -> Vec<Decision> {
        self.advance(now);
        let mut out = Vec::new();
        let mut parked = Vec::new();
        while out.len() < max {
            let Some((key, bucket)) = self.waiting.heads.first() else {
                break;
            };
            match self.pick_agent(bucket, &key.2, now) {
                Some(agent) => {
                    let conv = key.2.clone();
                    out.push(self.commit(&conv, agent, now));
                }
                None => {
                    // Defensive: dormant buckets are not in `heads`, so this
                    // should not happen. Capacity only shrinks during this
                    // call, so skip the bucket until the end.
                    debug_assert!(false, "unservable bucket {bucket:?} among heads");
                    let head = self.waiting.heads.pop_first().expect("non-empty");
                    parked.push(head);
                }
            }
        }
        for (key, bucket) in parked {
            let current = self.waiting.buckets.get(&bucket).and_then(|s| s.first());
            if current == Some(&key) && !self.waiting.dormant.contains(&bucket) {
                self.waiting.heads.insert((key, bucket));
            }
        }
        out
    }

    /// Whether some agent may take the head of `bucket` right now.
    pub(crate) fn bucket_servable(&self, bucket: &BucketId) -> bool {
        match bucket {
            BucketId::Pool(queue, channel) => self.agents.pool_nonempty(queue, channel),
            BucketId::Reserved(agent, queue, channel) => {
                self.agents.eligible(agent, queue, channel)
            }
        }
    }

    /// Re-index an agent and wake or put to sleep the buckets whose
    /// servability may have changed.
    pub(crate) fn refresh_agent(&mut self, agent: &AgentId, scope: Option<&Channel>) {
        self.agents.refresh(agent, scope);
        self.sync_toggled();
        if let Some(state) = self.agents.map.get(agent) {
            for conv in &state.reserved {
                if let Some(Status::Waiting { bucket, .. }) =
                    self.convs.get(conv).map(|c| &c.status)
                {
                    if let BucketId::Reserved(_, queue, channel) = bucket {
                        self.waiting
                            .set_awake(bucket, state.eligible(queue, channel));
                    }
                }
            }
        }
    }

    /// Apply pool emptiness changes to the matching buckets.
    pub(crate) fn sync_toggled(&mut self) {
        for (queue, channel) in std::mem::take(&mut self.agents.toggled) {
            let awake = self.agents.pool_nonempty(&queue, &channel);
            self.waiting
                .set_awake(&BucketId::Pool(queue, channel), awake);
        }
    }

    /// The agent who should get the head of `bucket`, if any may.
    fn pick_agent(
        &self,
        bucket: &BucketId,
        conv: &ConversationId,
        now: Timestamp,
    ) -> Option<AgentId> {
        match bucket {
            BucketId::Reserved(agent, queue, channel) => self
                .agents
                .eligible(agent, queue, channel)
                .then(|| agent.clone()),
            BucketId::Pool(queue, channel) => {
                let spec = &self.convs[conv].spec;
                if let Some(sticky) = &spec.sticky {
                    if now < sticky.until
                        && !spec.declined.contains(&sticky.agent)
                        && self.agents.eligible(&sticky.agent, queue, channel)
                    {
                        return Some(sticky.agent.clone());
                    }
                }
                let pool = self.agents.pools.get(queue)?.get(channel)?;
                let mut fallback = None;
                for (_, _, agent) in pool {
                    if !spec.declined.contains(agent) {
                        return Some(agent.clone());
                    }
                    if fallback.is_none() {
                        fallback = Some(agent.clone());
                    }
                }
                fallback
            }
        }
    }

    /// Record a decision for a waiting conversation.
    fn commit(&mut self, conv: &ConversationId, agent: AgentId, now: Timestamp) -> Decision {
        self.unplace(conv);
        let c = &self.convs[conv];
        let auto = self.queues[&c.spec.queue].spec.auto_accept;
        let kind = if auto {
            self.assign_to(conv, &agent, now);
            DecisionKind::Assign
        } else {
            let channel = c.spec.channel.clone();
            let expires_at = now.saturating_add(self.config.offer_timeout);
            self.convs.get_mut(conv).expect("exists").status = Status::Offered {
                agent: agent.clone(),
                expires_at,
            };
            self.offer_timers.insert((expires_at, conv.clone()));
            let a = self.agents.map.get_mut(&agent).expect("agent exists");
            AgentState::add(&mut a.pending, &channel);
            a.held.insert(conv.clone());
            self.refresh_agent(&agent, Some(&channel));
            DecisionKind::Offer { expires_at }
        };
        Decision {
            conversation: conv.clone(),
            agent,
            kind,
        }
    }
}
