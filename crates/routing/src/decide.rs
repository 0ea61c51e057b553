//! Making decisions: time advance (SLA boosts, reservation lapses), bucket
//! selection and agent choice.

use crate::agents::AgentState;
use crate::engine::{Engine, Status};
use crate::ids::{AgentId, ConversationId};
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
                    // Nobody can serve this bucket; capacity only shrinks
                    // during this call, so skip it until the end.
                    let head = self.waiting.heads.pop_first().expect("non-empty");
                    parked.push(head);
                }
            }
        }
        self.waiting.heads.extend(parked);
        out
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
            self.agents.refresh(&agent, Some(&channel));
            DecisionKind::Offer { expires_at }
        };
        Decision {
            conversation: conv.clone(),
            agent,
            kind,
        }
    }
}
