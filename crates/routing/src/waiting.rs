//! Index of waiting conversations: ordered buckets, their heads, and timers
//! for time-dependent changes (SLA boost, sticky reservation lapse).

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::BTreeSet;

use crate::hash::{HashMap, HashSet};
use crate::ids::{AgentId, Channel, ConversationId, QueueId};
use crate::model::Timestamp;

/// Order of service: highest effective priority, oldest, then id.
pub(crate) type ServiceKey = (Reverse<i64>, Timestamp, ConversationId);

/// A set of waiting conversations that share who may take them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum BucketId {
    /// Any eligible agent of the queue may take these.
    Pool(QueueId, Channel),
    /// Only the named sticky agent may take these (until the reservation lapses).
    Reserved(AgentId, QueueId, Channel),
}

/// Waiting conversations, indexed for logarithmic selection.
#[derive(Debug, Default)]
pub(crate) struct WaitingIndex {
    pub(crate) buckets: HashMap<BucketId, BTreeSet<ServiceKey>>,
    /// The first key of every non-empty bucket that some agent could serve
    /// right now (i.e. not dormant).
    pub(crate) heads: BTreeSet<(ServiceKey, BucketId)>,
    /// Non-empty buckets that no agent can serve right now; kept out of
    /// `heads` so deciding never walks over them.
    pub(crate) dormant: HashSet<BucketId>,
    /// (time the SLA boost starts, conversation) for unboosted waiting ones.
    pub(crate) sla_timers: BTreeSet<(Timestamp, ConversationId)>,
    /// (time a sticky reservation lapses, conversation).
    pub(crate) reserve_timers: BTreeSet<(Timestamp, ConversationId)>,
    pub(crate) len: usize,
}

impl WaitingIndex {
    /// Insert a conversation key into a bucket, keeping `heads` current.
    /// `awake_if_new` is the bucket's servability when it does not exist yet.
    pub(crate) fn insert(&mut self, bucket: BucketId, key: ServiceKey, awake_if_new: bool) {
        let set = match self.buckets.entry(bucket.clone()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => {
                if !awake_if_new {
                    self.dormant.insert(bucket.clone());
                }
                v.insert(BTreeSet::new())
            }
        };
        let old_head = set.first().cloned();
        if !set.insert(key) {
            return;
        }
        self.len += 1;
        let new_head = set.first().cloned();
        if old_head != new_head && !self.dormant.contains(&bucket) {
            if let Some(old) = old_head {
                self.heads.remove(&(old, bucket.clone()));
            }
            if let Some(new) = new_head {
                self.heads.insert((new, bucket));
            }
        }
    }

    /// Remove a conversation key from a bucket, keeping `heads` current.
    pub(crate) fn remove(&mut self, bucket: &BucketId, key: &ServiceKey) {
        let Some(set) = self.buckets.get_mut(bucket) else {
            return;
        };
        let was_head = set.first() == Some(key);
        if !set.remove(key) {
            return;
        }
        self.len -= 1;
        if !was_head {
            return;
        }
        let awake = !self.dormant.contains(bucket);
        if awake {
            self.heads.remove(&(key.clone(), bucket.clone()));
        }
        match set.first() {
            Some(next) if awake => {
                self.heads.insert((next.clone(), bucket.clone()));
            }
            Some(_) => {}
            None => {
                self.buckets.remove(bucket);
                self.dormant.remove(bucket);
            }
        }
    }

    /// Record whether a bucket can be served right now. Buckets that do not
    /// exist are ignored (their state is given on first insert).
    pub(crate) fn set_awake(&mut self, bucket: &BucketId, awake: bool) {
        let Some(head) = self.buckets.get(bucket).and_then(|s| s.first()) else {
            return;
        };
        if awake {
            if self.dormant.remove(bucket) {
                self.heads.insert((head.clone(), bucket.clone()));
            }
        } else if self.dormant.insert(bucket.clone()) {
            self.heads.remove(&(head.clone(), bucket.clone()));
        }
    }
}
