//! Callers resolved from tokens, kept for a moment (`auth.token_cache_ms`), so a client making
//! many requests (an MTA pushing mail, a PBX posting call records, the console) costs one token
//! read per moment instead of one per request (pushed mail on PostgreSQL: +8–15 %,
//! BENCHMARKS.md session 24).
//!
//! A change that could end or narrow a token's rights — logout, an API token revoked, an
//! agent deactivated or given another role — forgets every kept caller:
//! - on its own node before it answers ([`TokenCache::forget_all`]), so the next request
//!   there reads the token again;
//! - on every other node when its bus event arrives ([`forget_on_events`]): `session.revoked`
//!   (logout and API tokens) and `agent.updated`.
//!
//! If the bus between nodes is down, another node may still honour a revoked token until its
//! kept caller ages out (at most `auth.token_cache_ms`). A token's own expiry is never passed.
//! Unknown tokens are never kept: each one is looked up (and refused) again.

use super::caller::Caller;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bus event published when a session token or an API token is revoked (on every node: the
/// consoles it signed in close, and the kept callers forget it).
pub const REVOKED: &str = "session.revoked";

/// Most callers kept; when full, all are forgotten (they are one read each to get back).
const MAX_ENTRIES: usize = 10_000;

struct Kept {
    caller: Caller,
    until: Instant,
}

/// The kept callers of one node, by token hash.
pub struct TokenCache {
    ttl: Duration,
    kept: Mutex<HashMap<String, Kept>>,
    /// Bumped by every forget: a lookup that began before one must not keep its (maybe stale)
    /// result.
    generation: AtomicU64,
}

impl TokenCache {
    /// Keep callers for `ttl` (zero: keep none).
    pub fn new(ttl: Duration) -> Self {
        TokenCache {
            ttl,
            kept: Mutex::default(),
            generation: AtomicU64::new(0),
        }
    }

    /// The caller kept for `hash`, if still fresh.
    pub fn get(&self, hash: &str) -> Option<Caller> {
        let kept = self.kept.lock().expect("token cache");
        kept.get(hash)
            .filter(|k| k.until > Instant::now())
            .map(|k| k.caller.clone())
    }

    /// The generation to hand back to [`TokenCache::put`] after reading a token.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keep `caller` for `hash`, unless something was forgotten since `generation` was read;
    /// never past `expires_in` (the token's own expiry, if it has one).
    pub fn put(&self, generation: u64, hash: String, caller: Caller, expires_in: Option<Duration>) {
        if self.ttl.is_zero() {
            return;
        }
        let ttl = expires_in.map_or(self.ttl, |left| left.min(self.ttl));
        let mut kept = self.kept.lock().expect("token cache");
        // Checked under the lock: a forget either happened before (nothing kept) or clears
        // this entry after.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if kept.len() >= MAX_ENTRIES {
            kept.clear();
        }
        let until = Instant::now() + ttl;
        kept.insert(hash, Kept { caller, until });
    }

    /// Forget every kept caller (a token or agent changed).
    pub fn forget_all(&self) {
        let mut kept = self.kept.lock().expect("token cache");
        self.generation.fetch_add(1, Ordering::AcqRel);
        kept.clear();
    }
}

/// Forget kept callers whenever an event that may narrow a token's rights arrives (from this
/// node or, through the bus, another), until the bus closes. A subscriber that fell behind
/// forgets too: it may have missed one.
pub async fn forget_on_events(
    cache: std::sync::Arc<TokenCache>,
    mut events: tokio::sync::broadcast::Receiver<std::sync::Arc<crate::bus::Event>>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match events.recv().await {
            Ok(ev) if narrows_rights(&ev.kind) => cache.forget_all(),
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => cache.forget_all(),
            Err(RecvError::Closed) => return,
        }
    }
}

fn narrows_rights(kind: &str) -> bool {
    kind == REVOKED || kind == "agent.updated"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller::Integration {
            token_id: "t".into(),
            name: "n".into(),
            scopes: vec![],
        }
    }

    #[test]
    fn a_lookup_begun_before_a_forget_keeps_nothing() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let generation = cache.generation();
        cache.forget_all();
        cache.put(generation, "h".into(), caller(), None);
        assert!(cache.get("h").is_none());
        cache.put(cache.generation(), "h".into(), caller(), None);
        assert!(cache.get("h").is_some());
        cache.forget_all();
        assert!(cache.get("h").is_none());
    }

    #[test]
    fn a_caller_is_kept_no_longer_than_its_token_lives_nor_when_disabled() {
        let cache = TokenCache::new(Duration::from_secs(60));
        cache.put(0, "h".into(), caller(), Some(Duration::ZERO));
        assert!(cache.get("h").is_none(), "expired token");
        let off = TokenCache::new(Duration::ZERO);
        off.put(0, "h".into(), caller(), None);
        assert!(off.get("h").is_none(), "token_cache_ms = 0 keeps nothing");
    }
}
