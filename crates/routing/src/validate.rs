//! Internal consistency check (expensive; for tests and debugging).

use crate::hash::{HashMap, HashSet};

use crate::engine::{Engine, Status};
use crate::waiting::BucketId;

impl Engine {
    /// Check every internal index against the primary state. Cost is linear
    /// in the whole state: use in tests and diagnostics only. Returns a
    /// description of the first inconsistency found.
    pub fn validate(&self) -> Result<(), String> {
        let mut waiting = 0usize;
        for (id, c) in &self.convs {
            if !self
                .queues
                .get(&c.spec.queue)
                .is_some_and(|q| q.convs.contains(id))
            {
                return Err(format!("{id:?} missing from its queue"));
            }
            match &c.status {
                Status::Detached => return Err(format!("{id:?} detached")),
                Status::Waiting {
                    bucket,
                    key,
                    sla_timer,
                    reserve_timer,
                } => {
                    waiting += 1;
                    if !self
                        .waiting
                        .buckets
                        .get(bucket)
                        .is_some_and(|b| b.contains(key))
                    {
                        return Err(format!("{id:?} not in its bucket"));
                    }
                    if let Some(at) = sla_timer {
                        if !self.waiting.sla_timers.contains(&(*at, id.clone())) {
                            return Err(format!("{id:?} sla timer missing"));
                        }
                    }
                    if let Some(at) = reserve_timer {
                        if !self.waiting.reserve_timers.contains(&(*at, id.clone())) {
                            return Err(format!("{id:?} reserve timer missing"));
                        }
                    }
                    if let BucketId::Reserved(agent, _, _) = bucket {
                        if !self
                            .agents
                            .map
                            .get(agent)
                            .is_some_and(|a| a.reserved.contains(id))
                        {
                            return Err(format!("{id:?} reservation not recorded on {agent:?}"));
                        }
                    }
                }
                Status::Offered { agent, expires_at } => {
                    if !self.offer_timers.contains(&(*expires_at, id.clone())) {
                        return Err(format!("{id:?} offer timer missing"));
                    }
                    if !self
                        .agents
                        .map
                        .get(agent)
                        .is_some_and(|a| a.held.contains(id))
                    {
                        return Err(format!("{id:?} offer not held by {agent:?}"));
                    }
                }
                Status::Assigned { agent, .. } => {
                    if !self
                        .agents
                        .map
                        .get(agent)
                        .is_some_and(|a| a.held.contains(id))
                    {
                        return Err(format!("{id:?} assignment not held by {agent:?}"));
                    }
                }
            }
        }
        let indexed: usize = self.waiting.buckets.values().map(|b| b.len()).sum();
        if indexed != waiting || self.waiting.len != waiting {
            return Err(format!(
                "waiting count {waiting}, indexed {indexed}, len {}",
                self.waiting.len
            ));
        }
        let mut awake = 0usize;
        for (bucket, set) in &self.waiting.buckets {
            let head = set.first().ok_or("empty bucket kept")?;
            let servable = self.bucket_servable(bucket);
            if servable == self.waiting.dormant.contains(bucket) {
                return Err(format!(
                    "{bucket:?} servable={servable} but dormancy disagrees"
                ));
            }
            let listed = self.waiting.heads.contains(&(head.clone(), bucket.clone()));
            if listed != servable {
                return Err(format!(
                    "head of {bucket:?} listed={listed}, servable={servable}"
                ));
            }
            awake += usize::from(servable);
        }
        if self.waiting.heads.len() != awake {
            return Err("stale heads".into());
        }
        if self
            .waiting
            .dormant
            .iter()
            .any(|b| !self.waiting.buckets.contains_key(b))
        {
            return Err("dormant entry for a missing bucket".into());
        }
        let offers = self
            .convs
            .values()
            .filter(|c| matches!(c.status, Status::Offered { .. }))
            .count();
        if offers != self.offer_timers.len() {
            return Err("stale offer timers".into());
        }
        self.validate_agents()
    }

    fn validate_agents(&self) -> Result<(), String> {
        let mut pooled = 0usize;
        for (id, a) in &self.agents.map {
            let mut load = HashMap::default();
            let mut pending = HashMap::default();
            for conv in &a.held {
                let c = self
                    .convs
                    .get(conv)
                    .ok_or(format!("{id:?} holds unknown {conv:?}"))?;
                match &c.status {
                    Status::Offered { agent, .. } if agent == id => {
                        *pending.entry(c.spec.channel.clone()).or_insert(0u32) += 1
                    }
                    Status::Assigned { agent, .. } if agent == id => {
                        *load.entry(c.spec.channel.clone()).or_insert(0u32) += 1
                    }
                    _ => return Err(format!("{id:?} holds {conv:?} wrongly")),
                }
            }
            if load != a.load || pending != a.pending {
                return Err(format!("{id:?} counters wrong"));
            }
            let channels: HashSet<_> = a.spec.capacity.keys().collect();
            for (q, by_ch) in &self.agents.pools {
                for (ch, set) in by_ch {
                    let should = a.eligible(q, ch);
                    let is = set.contains(&a.key(ch));
                    if should != is {
                        return Err(format!("{id:?} pool membership for {q:?}/{ch:?} is {is}"));
                    }
                }
            }
            for q in &a.qualified {
                for ch in &channels {
                    if a.eligible(q, ch) {
                        pooled += 1;
                    }
                }
            }
        }
        let total: usize = self
            .agents
            .pools
            .values()
            .flat_map(|m| m.values())
            .map(|s| s.len())
            .sum();
        if total != pooled {
            return Err(format!("pools hold {total} entries, expected {pooled}"));
        }
        Ok(())
    }
}
