//! The per-node registry of open visitor sockets and the worker that turns bus events into
//! pushes. Pushes are only triggers or small notices: message frames are always read back from
//! the database by the socket, so a lost, duplicated or reordered event cannot lose, repeat or
//! reorder a message.

use crate::bus::Event;
use crate::limits::KeyedLimiter;
use crate::state::AppState;
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{broadcast, mpsc, OnceCell};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use super::mailbox::{Mailbox, Push};

/// A visitor's conversation (if known) and open sockets (id, push queue).
type VisitorSockets = (Option<String>, Vec<(u64, Arc<Mailbox>)>);

#[derive(Default)]
struct Registry {
    /// visitor id → conversation and sockets.
    visitors: HashMap<String, VisitorSockets>,
    /// conversation id → visitor id, for visitors with a socket on this node.
    conversations: HashMap<String, String>,
}

/// Sockets, limits and the signing key of one node.
pub struct Hub {
    reg: Mutex<Registry>,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    /// Messages per visitor.
    pub limiter: KeyedLimiter,
    /// New visitors, conversations and upload bytes per client address.
    pub quotas: super::quotas::Quotas,
    /// Sockets allowed per client IP.
    per_ip_limit: usize,
    key: OnceCell<Vec<u8>>,
    /// The last loaded version of each site, shared by its sockets.
    sites: Mutex<HashMap<String, Arc<super::sites::Site>>>,
    next_id: AtomicU64,
    /// The group-commit writer of visitor messages (started on first use).
    pub(super) writer: OnceLock<mpsc::Sender<super::job::Job>>,
    /// Cancelled when the node stops: open sockets close so the widgets reconnect elsewhere.
    pub stopping: CancellationToken,
}

impl Hub {
    /// The hub of one application, built with it (`Application::build`) and handed to the
    /// chat routes and workers.
    pub fn new(c: &crate::settings::ChatSettings) -> Arc<Hub> {
        let quota =
            Quota::per_second(NonZeroU32::new(c.messages_per_second.max(1)).expect("non-zero"))
                .allow_burst(NonZeroU32::new(c.message_burst.max(1)).expect("non-zero"));
        Arc::new(Hub {
            reg: Mutex::default(),
            per_ip: Mutex::default(),
            per_ip_limit: c.sockets_per_ip,
            limiter: RateLimiter::keyed(quota),
            quotas: super::quotas::Quotas::new(c),
            key: OnceCell::new(),
            sites: Mutex::default(),
            next_id: AtomicU64::new(1),
            writer: OnceLock::new(),
            stopping: CancellationToken::new(),
        })
    }
}

/// Holds one connection slot of an IP address; released on drop.
pub struct IpSlot {
    hub: Arc<Hub>,
    ip: IpAddr,
}

impl IpSlot {
    /// The client address holding this slot.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        metrics::gauge!("switchboard_chat_sockets").decrement(1.0);
        let mut m = self.hub.per_ip.lock().expect("ip map");
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// A registered socket; unregisters on drop.
pub struct Registration {
    hub: Arc<Hub>,
    visitor: String,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(&self.visitor, self.id);
    }
}

impl Hub {
    /// The signing key (loaded or created once per node).
    pub async fn key(&self, state: &AppState) -> crate::store::StoreResult<&[u8]> {
        self.key
            .get_or_try_init(|| super::secrets::load_or_create(&state.store, &state.secrets))
            .await
            .map(|k| k.as_slice())
    }

    /// `site` as a shared copy: the cached one when nothing changed (each socket still loads
    /// its site, so changes apply to new sockets at once).
    pub fn share_site(&self, site: super::sites::Site) -> Arc<super::sites::Site> {
        let mut m = self.sites.lock().expect("sites");
        match m.get(&site.id) {
            Some(s) if **s == site => s.clone(),
            _ => {
                let s = Arc::new(site);
                m.insert(s.id.clone(), s.clone());
                s
            }
        }
    }

    /// Take a connection slot for `ip`, or `None` when it has too many sockets open.
    pub fn acquire_ip(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let mut m = self.per_ip.lock().expect("ip map");
        let n = m.entry(ip).or_insert(0);
        if *n >= self.per_ip_limit {
            return None;
        }
        *n += 1;
        metrics::gauge!("switchboard_chat_sockets").increment(1.0);
        Some(IpSlot {
            hub: self.clone(),
            ip,
        })
    }

    /// Register a socket of `visitor`; pushes arrive in the returned mailbox.
    pub fn register(
        self: &Arc<Self>,
        visitor: &str,
        conversation: Option<&str>,
    ) -> (Registration, Arc<Mailbox>) {
        let rx = Arc::new(Mailbox::default());
        let tx = rx.clone();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut reg = self.reg.lock().expect("registry");
        let entry = reg
            .visitors
            .entry(visitor.to_string())
            .or_insert_with(|| (None, Vec::with_capacity(1)));
        entry.1.push((id, tx));
        if entry.0.is_none() {
            entry.0 = conversation.map(str::to_string);
        }
        if let Some(c) = conversation {
            reg.conversations.insert(c.to_string(), visitor.to_string());
        }
        let registration = Registration {
            hub: self.clone(),
            visitor: visitor.to_string(),
            id,
        };
        (registration, rx)
    }

    fn unregister(&self, visitor: &str, id: u64) {
        let mut reg = self.reg.lock().expect("registry");
        let Some(entry) = reg.visitors.get_mut(visitor) else {
            return;
        };
        entry.1.retain(|(i, _)| *i != id);
        if entry.1.is_empty() {
            if let Some((Some(c), _)) = reg.visitors.remove(visitor) {
                reg.conversations.remove(&c);
            }
        }
    }

    /// Record that `visitor` now has `conversation` and tell its other sockets.
    pub fn set_conversation(&self, visitor: &str, conversation: &str) {
        let mut reg = self.reg.lock().expect("registry");
        let Some(entry) = reg.visitors.get_mut(visitor) else {
            return;
        };
        if entry.0.as_deref() == Some(conversation) {
            return;
        }
        entry.0 = Some(conversation.to_string());
        reg.conversations
            .insert(conversation.to_string(), visitor.to_string());
        drop(reg);
        self.push_visitor(visitor, Push::Conversation(conversation.to_string()));
    }

    fn has_visitor(&self, visitor: &str) -> bool {
        self.reg
            .lock()
            .expect("registry")
            .visitors
            .contains_key(visitor)
    }

    fn visitor_of(&self, conversation: &str) -> Option<String> {
        self.reg
            .lock()
            .expect("registry")
            .conversations
            .get(conversation)
            .cloned()
    }

    fn is_empty(&self) -> bool {
        self.reg.lock().expect("registry").visitors.is_empty()
    }

    /// Push to every socket of `visitor`; a socket whose queue is full is dropped from the
    /// registry, which closes it (the widget reconnects and replays).
    fn push_visitor(&self, visitor: &str, push: Push) {
        let mut reg = self.reg.lock().expect("registry");
        if let Some(entry) = reg.visitors.get_mut(visitor) {
            entry.1.retain(|(_, tx)| tx.put(push.clone()));
        }
    }

    fn push_all(&self, push: Push) {
        let mut reg = self.reg.lock().expect("registry");
        for entry in reg.visitors.values_mut() {
            entry.1.retain(|(_, tx)| tx.put(push.clone()));
        }
    }
}

/// Forward bus events to the visitor sockets on this node until `stop`.
pub fn spawn_dispatcher(
    state: &AppState,
    hub: Arc<Hub>,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let state = state.clone();
    let mut rx = state.bus.subscribe();
    let mut reconnected = state.bus.reconnected();
    tokio::spawn(async move {
        let mut sweep = tokio::time::interval(std::time::Duration::from_secs(60));
        let mut cleanup = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = sweep.tick() => {
                    hub.limiter.retain_recent();
                    hub.quotas.forget_idle();
                }
                _ = cleanup.tick() => remove_unused_uploads(&state).await,
                // Events of other nodes may have been missed while Redis was away (the event
                // log's relay delivers them too, a little later): every socket catches up now.
                Ok(()) = reconnected.changed() => hub.push_all(Push::Messages(i64::MAX)),
                ev = rx.recv() => match ev {
                    Ok(ev) => {
                        if let Err(e) = dispatch(&state, &hub, ev).await {
                            tracing::warn!(error = %e, "chat dispatch failed");
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "chat dispatcher lagged; asking sockets to catch up");
                        hub.push_all(Push::Messages(i64::MAX));
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        hub.stopping.cancel();
    })
}

async fn dispatch(state: &AppState, hub: &Hub, ev: std::sync::Arc<Event>) -> anyhow::Result<()> {
    let Some(conv) = ev.conversation_id.as_deref() else {
        return Ok(());
    };
    if hub.is_empty() {
        return Ok(());
    }
    let visitor = match hub.visitor_of(conv) {
        Some(v) => v,
        None if ev.kind == "message.created" && ev.data["message"]["channel"] == "chat" => {
            // A conversation opened by this visitor's tab on another node.
            let row: Option<(String,)> =
                sqlx::query_as("SELECT id FROM chat_visitors WHERE conversation_id = $1")
                    .bind(conv)
                    .fetch_optional(state.store.pool())
                    .await?;
            match row {
                Some((v,)) if hub.has_visitor(&v) => {
                    hub.set_conversation(&v, conv);
                    v
                }
                _ => return Ok(()),
            }
        }
        None => return Ok(()),
    };
    // Offline chats also get agent replies by email: `email::enqueue_chat_copy`, queued in
    // the reply's own transaction.
    let push = match ev.kind.as_str() {
        "message.created" if ev.data["message"]["internal"] != true => {
            Push::Messages(ev.data["message"]["seq"].as_i64().unwrap_or(i64::MAX))
        }
        // Only an agent who was available when assigned has really joined.
        "conversation.assigned" if ev.data["agent_available"] != false => {
            match ev.data["to"].as_str() {
                Some(agent) => Push::AgentJoined {
                    name: super::frames::agent_name(state.store.pool(), agent).await?,
                },
                None => return Ok(()),
            }
        }
        "conversation.status_changed" => match ev.data["to"].as_str() {
            Some(s) => Push::Status(s.to_string()),
            None => return Ok(()),
        },
        "chat.typing" if ev.data["author"] == "agent" => Push::Typing {
            on: ev.data["on"] == true,
            name: ev.data["author_name"].as_str().unwrap_or("").to_string(),
        },
        "chat.read" if ev.data["author"] == "agent" => match ev.data["seq"].as_i64() {
            Some(seq) => Push::Read(seq),
            None => return Ok(()),
        },
        _ => return Ok(()),
    };
    hub.push_visitor(&visitor, push);
    Ok(())
}

/// One pass of the unused-upload cleanup (`chat.unused_upload_hours`; 0 keeps every upload).
async fn remove_unused_uploads(state: &AppState) {
    let hours = state.settings.chat.unused_upload_hours;
    if hours == 0 {
        return;
    }
    match super::quotas::remove_unused_uploads(&state.store, hours).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "removed chat uploads no message used"),
        Err(e) => tracing::warn!(error = %e, "chat upload cleanup failed"),
    }
}
