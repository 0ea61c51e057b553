//! What the router matches when access by team is on: every queue a team claims requires a
//! skill no agent can be given by hand (skills never hold control characters), which the
//! members of its teams receive when the router loads its snapshot. The engine
//! (`crates/routing`) keeps matching skills and knows nothing of teams; a queue no team claims
//! requires nothing more, so any agent may be offered its work.

use crate::store::{Store, StoreError, StoreResult};
use std::collections::{HashMap, HashSet};
use switchboard_routing::{Agent, Queue};

/// Team membership as the router needs it, read once per snapshot.
#[derive(Debug, Default)]
pub struct TeamRouting {
    claimed: HashSet<String>,
    /// Agent → the queues of its teams.
    queues_of: HashMap<String, Vec<String>>,
}

/// The skill a claimed queue requires.
fn skill(queue: &str) -> String {
    format!("\u{1}team\u{1}{queue}")
}

impl TeamRouting {
    /// `None` when the switch is off or no team claims a queue (routing as before).
    pub async fn load(store: &Store) -> StoreResult<Option<TeamRouting>> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT tq.queue_id, tm.agent_id FROM team_queues tq \
             LEFT JOIN team_members tm ON tm.team_id = tq.team_id \
             WHERE EXISTS (SELECT 1 FROM access_control WHERE id = 1 AND teams_enabled = 1)",
        )
        .fetch_all(store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut t = TeamRouting::default();
        for (queue, agent) in rows {
            if let Some(a) = agent {
                t.queues_of.entry(a).or_default().push(queue.clone());
            }
            t.claimed.insert(queue);
        }
        Ok(Some(t))
    }

    /// `q` (id `id`) requiring its teams' skill when a team claims it.
    pub fn queue(&self, q: Queue, id: &str) -> Queue {
        if self.claimed.contains(id) {
            q.with_skill(skill(id))
        } else {
            q
        }
    }

    /// `a` (id `id`) with the skills of its teams' queues.
    pub fn agent(&self, mut a: Agent, id: &str) -> Agent {
        for q in self.queues_of.get(id).into_iter().flatten() {
            a = a.with_skill(skill(q));
        }
        a
    }

    /// Whether agent `id` may be offered work of queue `queue` (for figures such as a
    /// queue's available agents).
    pub fn eligible(&self, id: &str, queue: &str) -> bool {
        !self.claimed.contains(queue)
            || self
                .queues_of
                .get(id)
                .is_some_and(|qs| qs.iter().any(|q| q == queue))
    }
}
