//! Per-address quotas for anonymous widget use (per node, like the socket limit): new visitors,
//! new conversations and upload bytes per client address per hour — each allowed at once up to
//! its hourly amount, then refilled evenly over the hour — and the removal of uploads no message
//! ever used.

use crate::settings::ChatSettings;
use crate::store::{now_ms, Store, StoreError, StoreResult};
use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

type IpLimiter = RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>;

/// The quotas of one node.
pub struct Quotas {
    visitors: IpLimiter,
    conversations: IpLimiter,
    upload_kib: IpLimiter,
}

fn hourly(n: u32) -> Quota {
    let n = NonZeroU32::new(n.max(1)).expect("non-zero");
    Quota::with_period(Duration::from_secs(3600) / n.get())
        .expect("a positive period")
        .allow_burst(n)
}

impl Quotas {
    pub fn new(c: &ChatSettings) -> Quotas {
        Quotas {
            visitors: RateLimiter::keyed(hourly(c.new_visitors_per_ip_per_hour)),
            conversations: RateLimiter::keyed(hourly(c.conversations_per_ip_per_hour)),
            upload_kib: RateLimiter::keyed(hourly(
                c.upload_mib_per_ip_per_hour.saturating_mul(1024),
            )),
        }
    }

    /// Whether `ip` may start one more visitor.
    pub fn new_visitor(&self, ip: IpAddr) -> bool {
        self.visitors.check_key(&ip).is_ok()
    }

    /// Whether `ip` may open one more conversation.
    pub fn new_conversation(&self, ip: IpAddr) -> bool {
        self.conversations.check_key(&ip).is_ok()
    }

    /// Whether `ip` may upload `bytes` more (counted in KiB, rounded up).
    pub fn upload(&self, ip: IpAddr, bytes: usize) -> bool {
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .max(1);
        let kib = NonZeroU32::new(kib).expect("non-zero");
        matches!(self.upload_kib.check_key_n(&ip, kib), Ok(Ok(())))
    }

    /// Drop the state of addresses whose quotas are full again.
    pub fn forget_idle(&self) {
        for l in [&self.visitors, &self.conversations, &self.upload_kib] {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

/// Delete uploads older than `hours` that no message of their visitor's conversation refers
/// to (a file uploaded and never sent); uploads found in use are marked and never checked
/// again. Returns how many were deleted.
pub async fn remove_unused_uploads(store: &Store, hours: u64) -> StoreResult<u64> {
    let cutoff = now_ms() - (hours as i64) * 3_600_000;
    let candidates: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, visitor_id FROM chat_attachments WHERE kept = 0 AND created_at < $1 LIMIT 500",
    )
    .bind(cutoff)
    .fetch_all(store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut deleted = 0;
    for (id, visitor) in candidates {
        let pattern = format!("%\"{id}\"%");
        let used: Option<(i64,)> = sqlx::query_as(
            "SELECT 1 FROM messages WHERE conversation_id IN \
               (SELECT conversation_id FROM chat_visitors WHERE id = $1 AND conversation_id IS NOT NULL) \
             AND meta LIKE $2 LIMIT 1",
        )
        .bind(&visitor)
        .bind(&pattern)
        .fetch_optional(store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let sql = match used {
            Some(_) => "UPDATE chat_attachments SET kept = 1 WHERE id = $1",
            None => "DELETE FROM chat_attachments WHERE id = $1",
        };
        let done = sqlx::query(sql)
            .bind(&id)
            .execute(store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        if used.is_none() {
            deleted += done.rows_affected();
        }
    }
    Ok(deleted)
}
