//! Event bus: every change is published here. In embedded mode events stay in this process
//! (a tokio broadcast channel); in scale mode they also travel over Redis pub/sub so a
//! subscriber on any node sees every node's events.
//!
//! Scale mode survives Redis outages: an event is delivered to this node's own subscribers at
//! once and handed to a bounded per-node queue that a background task publishes to Redis, so
//! a committed write never waits for Redis (when the queue is full the event is dropped for
//! other nodes, counted and logged). The listener reconnects with backoff and resubscribes;
//! while it is down [`Bus::healthy`] is false and `/readyz` says so.
//!
//! Events of committed changes carry their `seq` in the deployment's event log
//! (`crate::event_log`): this node's subscribers get each such event once, however it arrives
//! (published by its writer, over Redis, or re-read from the log by the relay).

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
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
    /// Position in the deployment's event log, in commit order; absent for live-only signals
    /// (typing, viewing) and changes that were not committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// Where the log's `seq` lands when the recording transaction commits; shared by the
    /// event's clones, so the copy its writer publishes learns it.
    #[serde(skip)]
    pub slot: SeqSlot,
}

/// The `seq` an event receives at commit (see [`Event::slot`]). Never compared.
#[derive(Debug, Clone, Default)]
pub struct SeqSlot(Arc<OnceLock<i64>>);

impl SeqSlot {
    /// Set once, by the commit that logged the event.
    pub fn set(&self, seq: i64) {
        let _ = self.0.set(seq);
    }

    pub fn get(&self) -> Option<i64> {
        self.0.get().copied()
    }
}

impl PartialEq for SeqSlot {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Logged events delivered to this node's subscribers lately, so none is delivered twice.
#[derive(Default)]
struct Delivered {
    set: HashSet<i64>,
    order: VecDeque<i64>,
}

/// How many delivered `seq`s are remembered (minutes of traffic at thousands of events/s,
/// far longer than the relay waits before re-reading one).
const REMEMBERED: usize = 200_000;

impl Delivered {
    /// Note `seq` as delivered; false when it already was.
    fn insert(&mut self, seq: i64) -> bool {
        if !self.set.insert(seq) {
            return false;
        }
        self.order.push_back(seq);
        if self.order.len() > REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

/// How the Redis transport behaves (from the `[redis]` settings).
#[derive(Debug, Clone)]
pub struct RedisOptions {
    pub url: String,
    pub prefix: String,
    /// Events waiting to be published to Redis before new ones are dropped.
    pub publish_queue: usize,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// Longest wait for one Redis command or connection attempt.
    pub timeout: Duration,
}

/// Publish/subscribe handle, cheap to clone.
#[derive(Clone)]
pub struct Bus {
    local: broadcast::Sender<Arc<Event>>,
    /// Scale mode: the queue of serialised events for the Redis publisher task.
    outbox: Option<mpsc::Sender<String>>,
    node: String,
    health: Arc<Health>,
    delivered: Arc<Mutex<Delivered>>,
    /// Counts the Redis subscription's reconnections (see [`Bus::reconnected`]).
    reconnects: Arc<watch::Sender<u64>>,
}

/// Whether the Redis listener is subscribed and the last publish succeeded.
#[derive(Default)]
struct Health {
    listening: AtomicBool,
    publishing: AtomicBool,
}

impl Bus {
    /// An in-process bus.
    pub fn local(node: String) -> Self {
        let (local, _) = broadcast::channel(4096);
        let health = Health {
            listening: AtomicBool::new(true),
            publishing: AtomicBool::new(true),
        };
        Bus {
            local,
            outbox: None,
            node,
            health: Arc::new(health),
            delivered: Arc::default(),
            reconnects: Arc::new(watch::channel(0).0),
        }
    }

    /// A bus over Redis pub/sub. Background tasks forward every other node's events into
    /// this node's local subscribers and publish this node's events, until `stop` is
    /// cancelled. Fails when Redis cannot be reached at start.
    pub async fn redis(
        opts: RedisOptions,
        node: String,
        stop: CancellationToken,
    ) -> anyhow::Result<Self> {
        let client = redis::Client::open(opts.url.as_str())?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(opts.timeout)
            .set_response_timeout(opts.timeout)
            .set_number_of_retries(1);
        let conn = tokio::time::timeout(
            opts.timeout,
            redis::aio::ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| anyhow::anyhow!("timed out connecting to Redis"))??;
        let channel = format!("{}:events", opts.prefix);
        let (local, _) = broadcast::channel(4096);
        let (tx, rx) = mpsc::channel(opts.publish_queue.max(1));
        let bus = Bus {
            local,
            outbox: Some(tx),
            node,
            health: Arc::new(Health::default()),
            delivered: Arc::default(),
            reconnects: Arc::new(watch::channel(0).0),
        };
        let first = subscribe(&client, &channel, opts.timeout).await?;
        bus.health.listening.store(true, Ordering::Relaxed);
        bus.health.publishing.store(true, Ordering::Relaxed);
        let listener = Listener {
            client,
            channel: channel.clone(),
            bus: bus.clone(),
            opts: opts.clone(),
        };
        tokio::spawn(listener.run(first, stop.clone()));
        let publisher = Publisher {
            conn,
            channel,
            health: bus.health.clone(),
            opts,
        };
        tokio::spawn(publisher.run(rx, stop));
        Ok(bus)
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// False while the Redis listener is disconnected or publishing to Redis fails.
    pub fn healthy(&self) -> bool {
        self.health.listening.load(Ordering::Relaxed)
            && self.health.publishing.load(Ordering::Relaxed)
    }

    /// Publish an event to every subscriber on every node. Never waits for Redis: this
    /// node's subscribers get it at once, other nodes through the publisher's queue.
    pub async fn publish(&self, mut event: Event) {
        event.node = self.node.clone();
        if event.seq.is_none() {
            event.seq = event.slot.get();
        }
        metrics::counter!("switchboard_events_published_total", "kind" => event.kind.clone())
            .increment(1);
        let Some(outbox) = &self.outbox else {
            self.deliver(event);
            return;
        };
        let payload = match serde_json::to_string(&event) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot serialise event");
                return;
            }
        };
        let kind = event.kind.clone();
        self.deliver(event);
        if outbox.try_send(payload).is_err() {
            // The change itself is committed; only live fan-out to other nodes is lost.
            metrics::counter!("switchboard_events_dropped_total").increment(1);
            tracing::warn!(kind = %kind, "bus publish queue full: event not sent to other nodes");
        }
    }

    /// Subscribe to all events from now on. Subscribers (the router, the chat hub, every
    /// console socket, …) share each event: one copy of its JSON however many there are.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe()
    }

    /// Deliver `event` to this node's subscribers only (e.g. re-read from the event log),
    /// unless its `seq` was delivered already.
    pub fn inject(&self, event: Event) {
        self.deliver(event);
    }

    /// Whether the logged event `seq` has reached this node's subscribers lately.
    pub fn delivered(&self, seq: i64) -> bool {
        self.delivered.lock().expect("delivered").set.contains(&seq)
    }

    /// Whether every `seq` from `first` to `last` has reached this node's subscribers lately
    /// (true for an empty range).
    pub fn delivered_all(&self, first: i64, last: i64) -> bool {
        if last - first >= REMEMBERED as i64 {
            return false;
        }
        let d = self.delivered.lock().expect("delivered");
        (first..=last).all(|s| d.set.contains(&s))
    }

    /// Changes each time the Redis subscription is restored after a loss (never in embedded
    /// mode): whatever this node missed meanwhile may need fetching again.
    pub fn reconnected(&self) -> watch::Receiver<u64> {
        self.reconnects.subscribe()
    }

    /// Send to local subscribers, once per `seq`.
    fn deliver(&self, event: Event) {
        if let Some(seq) = event.seq {
            if !self.delivered.lock().expect("delivered").insert(seq) {
                return;
            }
        }
        let _ = self.local.send(Arc::new(event));
    }
}

async fn subscribe(
    client: &redis::Client,
    channel: &str,
    timeout: Duration,
) -> anyhow::Result<redis::aio::PubSub> {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    Ok(tokio::time::timeout(timeout, connect)
        .await
        .map_err(|_| anyhow::anyhow!("timed out subscribing to Redis"))??)
}

/// Forwards other nodes' events from Redis to local subscribers; reconnects with backoff.
struct Listener {
    client: redis::Client,
    channel: String,
    bus: Bus,
    opts: RedisOptions,
}

impl Listener {
    async fn run(self, first: redis::aio::PubSub, stop: CancellationToken) {
        let mut pubsub = Some(first);
        let mut backoff = Duration::from_millis(100);
        loop {
            if let Some(p) = pubsub.take() {
                self.bus.health.listening.store(true, Ordering::Relaxed);
                backoff = Duration::from_millis(100);
                if self.forward(p, &stop).await {
                    return;
                }
                self.bus.health.listening.store(false, Ordering::Relaxed);
                metrics::counter!("switchboard_bus_disconnects_total").increment(1);
                tracing::error!("redis event subscription lost; reconnecting");
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.opts.max_backoff);
            match subscribe(&self.client, &self.channel, self.opts.timeout).await {
                Ok(p) => {
                    tracing::info!("redis event subscription restored");
                    self.bus.reconnects.send_modify(|n| *n += 1);
                    pubsub = Some(p);
                }
                Err(e) => tracing::warn!(error = %e, "redis still unreachable"),
            }
        }
    }

    /// Forward messages until the subscription ends (false) or `stop` is cancelled (true).
    async fn forward(&self, mut pubsub: redis::aio::PubSub, stop: &CancellationToken) -> bool {
        let mut stream = pubsub.on_message();
        loop {
            let msg = tokio::select! {
                _ = stop.cancelled() => return true,
                m = stream.next() => m,
            };
            let Some(msg) = msg else { return false };
            let payload: String = match msg.get_payload() {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable bus payload");
                    continue;
                }
            };
            match serde_json::from_str::<Event>(&payload) {
                // This node's own events were delivered locally when published.
                Ok(ev) if ev.node == self.bus.node => {}
                Ok(ev) => self.bus.deliver(ev),
                Err(e) => tracing::warn!(error = %e, "malformed bus event"),
            }
        }
    }
}

/// Publishes this node's queued events to Redis, retrying each with backoff while Redis is
/// down (later events wait in the bounded queue behind it).
struct Publisher {
    conn: redis::aio::ConnectionManager,
    channel: String,
    health: Arc<Health>,
    opts: RedisOptions,
}

impl Publisher {
    async fn run(mut self, mut rx: mpsc::Receiver<String>, stop: CancellationToken) {
        loop {
            let payload = tokio::select! {
                _ = stop.cancelled() => return,
                p = rx.recv() => match p { Some(p) => p, None => return },
            };
            let mut backoff = Duration::from_millis(100);
            while let Err(e) = self.send(&payload).await {
                if self.health.publishing.swap(false, Ordering::Relaxed) {
                    tracing::error!(error = %e, "redis publish failed; retrying");
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(self.opts.max_backoff);
            }
            if !self.health.publishing.swap(true, Ordering::Relaxed) {
                tracing::info!("redis publishing restored");
            }
        }
    }

    async fn send(&mut self, payload: &str) -> anyhow::Result<()> {
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(&self.channel).arg(payload);
        let publish = cmd.query_async::<i64>(&mut self.conn);
        tokio::time::timeout(self.opts.timeout, publish)
            .await
            .map_err(|_| anyhow::anyhow!("redis publish timed out"))??;
        Ok(())
    }
}
