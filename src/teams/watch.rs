//! The team rule on the console socket, live and on resume (`/ws/console?since=`): of the
//! events a console would get by their address, those about a conversation hidden from its
//! agent ([`Scope`]) are held back. Events addressed to the agent themselves (offers and
//! assignments to them, `data.agent_ids`) always pass. The scope is re-read when teams or the
//! switch change; a conversation's queue is read once and then followed through transfers.

use super::Scope;
use crate::auth::Role;
use crate::bus::Event;
use crate::store::Store;
use std::collections::HashMap;

/// Conversations whose queue a socket remembers before it starts over.
const REMEMBERED: usize = 10_000;

/// One console socket's view.
pub struct EventFilter {
    agent: String,
    role: Role,
    scope: Scope,
    /// Conversation → its queue, as last read or transferred.
    queue_of: HashMap<String, Option<String>>,
}

impl EventFilter {
    /// The view of `agent` with `role` as the database says now.
    pub async fn new(store: &Store, agent: &str, role: Role) -> Self {
        let mut f = EventFilter {
            agent: agent.to_string(),
            role,
            scope: Scope::everything(),
            queue_of: HashMap::new(),
        };
        f.reload(store).await;
        f
    }

    async fn reload(&mut self, store: &Store) {
        match Scope::of_agent(store, &self.agent, self.role).await {
            Ok(s) => self.scope = s,
            // Keep the last known view rather than widen it.
            Err(e) => tracing::warn!(error = %e, "cannot read a console's teams"),
        }
    }

    /// Follow `ev` (any event this node sees, relevant to the socket or not): a change of
    /// teams re-reads the scope, a transfer moves its conversation's queue.
    pub async fn observe(&mut self, store: &Store, ev: &Event) {
        if super::changes_access(&ev.kind) {
            self.reload(store).await;
        }
        if let (Some(c), "conversation.transferred") = (&ev.conversation_id, ev.kind.as_str()) {
            if let Some(q) = self.queue_of.get_mut(c) {
                *q = ev.data["to_queue"].as_str().map(str::to_string);
            }
        }
    }

    /// Whether the socket may be sent `ev`, which its address already makes relevant.
    pub async fn allows(&mut self, store: &Store, ev: &Event) -> bool {
        if self.scope.is_everything() || self.addressed_to_me(ev) {
            return true;
        }
        let Some(conv) = ev.conversation_id.as_deref() else {
            return true;
        };
        if ev.kind == "conversation.transferred" {
            // Leaving one's teams is news too: the console drops it from its lists.
            return self.scope.sees_queue(ev.data["from_queue"].as_str())
                || self.scope.sees_queue(ev.data["to_queue"].as_str());
        }
        match self.queue(store, conv).await {
            Some(queue) => self.scope.sees_queue(queue.as_deref()),
            None => false,
        }
    }

    fn addressed_to_me(&self, ev: &Event) -> bool {
        let me = self.agent.as_str();
        ev.agent_id.as_deref() == Some(me)
            || ev.data["agent_ids"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|id| id.as_str() == Some(me)))
    }

    /// The queue of `conv` (`Some(None)`: no queue; `None`: unreadable, so hidden).
    async fn queue(&mut self, store: &Store, conv: &str) -> Option<Option<String>> {
        if let Some(q) = self.queue_of.get(conv) {
            return Some(q.clone());
        }
        let row: Result<Option<(Option<String>,)>, _> =
            sqlx::query_as("SELECT queue_id FROM conversations WHERE id = $1")
                .bind(conv)
                .fetch_optional(store.pool())
                .await;
        match row {
            Ok(row) => {
                let q = row.and_then(|r| r.0);
                self.remember(conv, q.clone());
                Some(q)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read a conversation's queue for a console");
                None
            }
        }
    }

    fn remember(&mut self, conv: &str, queue: Option<String>) {
        if self.queue_of.len() >= REMEMBERED {
            self.queue_of.clear();
        }
        self.queue_of.insert(conv.to_string(), queue);
    }
}
