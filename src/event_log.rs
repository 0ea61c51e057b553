//! Readers of the deployment's event log (`store::event_log`, written in each change's own
//! transaction): the relay that delivers on this node what was committed but never reached it
//! over the bus, and the retention worker. Console sockets resume from the log too
//! (`routing::console`, `?since=SEQ`).
//!
//! **Relay.** Every node tails the log (`seq`s only, from the primary key) every
//! `events.relay_poll_ms` — or only reads the newest `seq` when every one up to it has been
//! delivered here already (the usual case). A logged event that has not reached this node's bus subscribers
//! `events.relay_grace_ms` after the relay first saw it — its writer died between commit and
//! publish, Redis was down or dropped it, a handler was cancelled after its commit — is read
//! from the log and delivered locally ([`Bus::inject`]). The bus delivers each `seq` once, so a
//! late original is dropped. Each node relays for itself, so no lease is needed: a node that
//! lost its Redis subscription still gets every committed event, `relay_grace_ms` late.

use crate::bus::Bus;
use crate::state::AppState;
use crate::store::{event_log, now_ms, StoreResult};
use sqlx::AnyPool;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use crate::settings::EventLogSettings;

/// The relay and the retention worker, until `stop`.
pub fn spawn_workers(state: &AppState, stop: CancellationToken) -> Vec<JoinHandle<()>> {
    let s = &state.settings.events;
    let relay = Relay {
        pool: state.store.pool().clone(),
        bus: state.bus.clone(),
        poll: Duration::from_millis(s.relay_poll_ms.max(10)),
        grace: Duration::from_millis(s.relay_grace_ms),
    };
    let keep = Duration::from_secs(s.retention_days * 86_400);
    vec![
        tokio::spawn(relay.run(stop.clone())),
        tokio::spawn(retain(state.store.pool().clone(), keep, stop)),
    ]
}

/// Most `seq`s read per tick.
const BATCH: i64 = 5000;

struct Relay {
    pool: AnyPool,
    bus: Bus,
    poll: Duration,
    grace: Duration,
}

impl Relay {
    async fn run(self, stop: CancellationToken) {
        // What was logged before this node started had no subscribers here.
        let mut cursor = loop {
            match event_log::head(&self.pool).await {
                Ok(h) => break h,
                Err(e) => tracing::warn!(error = %e, "event relay cannot read the log"),
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(self.poll) => {}
            }
        };
        let mut pending = BTreeMap::new();
        let mut failing = false;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(self.poll) => {}
            }
            match self.tick(&mut cursor, &mut pending).await {
                Ok(()) => failing = false,
                // Once per outage, not every poll.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "event relay cannot read the log; retrying");
                }
                Err(_) => {}
            }
        }
    }

    /// Note the newly logged events not yet delivered here; deliver those overdue.
    async fn tick(
        &self,
        cursor: &mut i64,
        pending: &mut BTreeMap<i64, Instant>,
    ) -> StoreResult<()> {
        let now = Instant::now();
        // Usually the bus delivered everything logged since the last tick: then the newest
        // `seq` (one probe of the key's index) is all there is to read.
        if pending.is_empty() {
            let head = event_log::head(&self.pool).await?;
            if self.bus.delivered_all(*cursor + 1, head) {
                *cursor = head.max(*cursor);
                return Ok(());
            }
        }
        loop {
            let seqs = event_log::seqs_after(&self.pool, *cursor, BATCH).await?;
            for &s in &seqs {
                *cursor = s;
                if !self.bus.delivered(s) {
                    pending.insert(s, now);
                }
            }
            if (seqs.len() as i64) < BATCH {
                break;
            }
        }
        pending.retain(|s, _| !self.bus.delivered(*s));
        let due: Vec<i64> = pending
            .iter()
            .filter(|(_, seen)| now.duration_since(**seen) >= self.grace)
            .map(|(s, _)| *s)
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let events = event_log::by_seq(&self.pool, &due).await?;
        metrics::counter!("switchboard_events_relayed_total").increment(events.len() as u64);
        tracing::info!(
            events = events.len(),
            "delivering logged events this node missed"
        );
        for ev in events {
            self.bus.inject(ev);
        }
        for s in due {
            pending.remove(&s);
        }
        Ok(())
    }
}

/// Delete events older than `keep` from the log, at start and then hourly.
async fn retain(pool: AnyPool, keep: Duration, stop: CancellationToken) {
    loop {
        let before = now_ms() - keep.as_millis() as i64;
        match event_log::prune(&pool, before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "pruned the event log"),
            Err(e) => tracing::warn!(error = %e, "cannot prune the event log"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}
