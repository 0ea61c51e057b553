//! One refit at a time across the nodes sharing a database (and within one node): the refit
//! lease (row `value_refit` of `routing_leases`, the table of node leases), held by one refit
//! (`node:refit id`) while it runs and renewed every third of `value.refit_lease_secs`; a node
//! that dies loses it when it expires.

use super::{fit, Model};
use crate::state::AppState;
use crate::store::{new_id, now_ms, StoreResult};
use std::time::Duration;

const NAME: &str = "value_refit";
/// How often a node waiting for the lease tries again.
const RETRY: Duration = Duration::from_millis(200);

/// Take or renew the lease for `holder` until `now + ttl_ms`; true when `holder` holds it.
async fn take(state: &AppState, holder: &str, ttl_ms: i64) -> StoreResult<bool> {
    let now = now_ms();
    crate::store::lease::take(&state.store, NAME, holder, now, now + ttl_ms).await
}

async fn release(state: &AppState, holder: &str) {
    let result =
        sqlx::query("UPDATE routing_leases SET expires_at = 0 WHERE name = $1 AND holder = $2")
            .bind(NAME)
            .bind(holder)
            .execute(state.store.pool())
            .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot release the refit lease");
    }
}

/// Refit under the lease: wait until no other node is refitting, then return the newest
/// stored model if its refit started at or after `fresh_since` (ms; it saw every order
/// stored before then), else refit now. Runs as its own task, so a caller that gives up
/// (a closed request) never leaves the lease held or a refit half-stored.
pub async fn refit(state: &AppState, fresh_since: i64) -> anyhow::Result<Model> {
    let state = state.clone();
    tokio::spawn(async move { refit_held(&state, fresh_since).await }).await?
}

async fn refit_held(state: &AppState, fresh_since: i64) -> anyhow::Result<Model> {
    let ttl = Duration::from_secs(state.settings.value.refit_lease_secs.max(3));
    let ttl_ms = ttl.as_millis() as i64;
    // One holder per refit (not per node): two refits asked of one node wait for each other.
    let holder = format!("{}:{}", state.bus.node(), new_id());
    while !take(state, &holder, ttl_ms).await? {
        tokio::time::sleep(RETRY).await;
    }
    let keeper = {
        let (state, holder) = (state.clone(), holder.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(ttl / 3).await;
                match take(&state, &holder, ttl_ms).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!("the refit lease was lost during a refit"),
                    Err(e) => tracing::warn!(error = %e, "cannot renew the refit lease"),
                }
            }
        })
    };
    let currency = state.settings.value.default_currency.clone();
    let result = match fit::latest(state, &currency).await {
        Ok(Some(m)) if m.started_at >= fresh_since => Ok(m),
        Ok(_) => fit::refit(state).await,
        Err(e) => Err(e.into()),
    };
    keeper.abort();
    release(state, &holder).await;
    result
}
