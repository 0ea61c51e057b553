//! Event bus: every change is published here. In embedded mode events stay in this process
//! (a tokio broadcast channel); in scale mode they travel over Redis pub/sub so a subscriber
//! on any node sees every node's events.

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

/// One change in the system.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Event {
    pub id: String,
    /// e.g. `conversation.created`, `message.created`, `conversation.assigned`.
    pub kind: String,
    /// RFC 3339 time of the change.
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub data: serde_json::Value,
    /// Node that produced the event.
    #[serde(default)]
    pub node: String,
}

#[derive(Clone)]
enum Transport {
    Local,
    Redis {
        conn: redis::aio::ConnectionManager,
        channel: String,
    },
}

/// Publish/subscribe handle, cheap to clone.
#[derive(Clone)]
pub struct Bus {
    local: broadcast::Sender<Arc<Event>>,
    transport: Transport,
    node: String,
}

impl Bus {
    /// An in-process bus.
    pub fn local(node: String) -> Self {
        let (local, _) = broadcast::channel(4096);
        Bus {
            local,
            transport: Transport::Local,
            node,
        }
    }

    /// A bus over Redis pub/sub. A background task forwards every event published by any
    /// node into this node's local subscribers, until `stop` is cancelled.
    pub async fn redis(
        url: &str,
        prefix: &str,
        node: String,
        stop: CancellationToken,
    ) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let conn = redis::aio::ConnectionManager::new(client.clone()).await?;
        let channel = format!("{prefix}:events");
        let (local, _) = broadcast::channel(4096);
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(&channel).await?;
        let forward = local.clone();
        tokio::spawn(async move {
            let mut pubsub = pubsub;
            loop {
                let msg = {
                    let mut stream = pubsub.on_message();
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        m = stream.next() => m,
                    }
                };
                let Some(msg) = msg else {
                    tracing::error!("redis event subscription ended");
                    return;
                };
                let payload: String = match msg.get_payload() {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable bus payload");
                        continue;
                    }
                };
                match serde_json::from_str::<Event>(&payload) {
                    Ok(ev) => {
                        let _ = forward.send(Arc::new(ev));
                    }
                    Err(e) => tracing::warn!(error = %e, "malformed bus event"),
                }
            }
        });
        Ok(Bus {
            local,
            transport: Transport::Redis { conn, channel },
            node,
        })
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Publish an event to every subscriber on every node.
    pub async fn publish(&self, mut event: Event) {
        event.node = self.node.clone();
        metrics::counter!("switchboard_events_published_total", "kind" => event.kind.clone())
            .increment(1);
        match &self.transport {
            Transport::Local => {
                let _ = self.local.send(Arc::new(event));
            }
            Transport::Redis { conn, channel } => {
                let payload = match serde_json::to_string(&event) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot serialise event");
                        return;
                    }
                };
                let mut conn = conn.clone();
                let res: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                    .arg(channel)
                    .arg(payload)
                    .query_async(&mut conn)
                    .await;
                if let Err(e) = res {
                    // The change itself is committed; only live fan-out is lost. Log loudly.
                    tracing::error!(error = %e, kind = %event.kind, "redis publish failed");
                }
            }
        }
    }

    /// Subscribe to all events from now on. Subscribers (the router, the chat hub, every
    /// console socket, …) share each event: one copy of its JSON however many there are.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe()
    }
}
