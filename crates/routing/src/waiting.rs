//! Index of waiting conversations: ordered buckets, their heads, and timers
//! for time-dependent changes (SLA boost, sticky reservation lapse).

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

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
    /// The first key of every non-empty bucket.
    pub(crate) heads: BTreeSet<(ServiceKey, BucketId)>,
    /// (time the SLA boost starts, conversation) for unboosted waiting ones.
    pub(crate) sla_timers: BTreeSet<(Timestamp, ConversationId)>,
    /// (time a sticky reservation lapses, conversation).
    pub(crate) reserve_timers: BTreeSet<(Timestamp, ConversationId)>,
    pub(crate) len: usize,
}

impl WaitingIndex {
    /// Insert a conversation key into a bucket, keeping `heads` current.
    pub(crate) fn insert(&mut self, bucket: BucketId, key: ServiceKey) {
        let set = self.buckets.entry(bucket.clone()).or_default();
        let old_head = set.first().cloned();
        if !set.insert(key) {
            return;
        }
        self.len += 1;
        let new_head = set.first().cloned();
        if old_head != new_head {
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
        if was_head {
            self.heads.remove(&(key.clone(), bucket.clone()));
            match set.first() {
                Some(next) => {
                    self.heads.insert((next.clone(), bucket.clone()));
                }
                None => {
                    self.buckets.remove(bucket);
                }
            }
        }
    }
}
