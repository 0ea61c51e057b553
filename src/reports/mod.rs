//! Contact-center reports: the figures (offered, answered, abandoned, service level, speed of
//! answer, handle time, first response and resolution percentiles, CSAT, transfers, callbacks)
//! defined once in [`figures`], per channel and across channels.
//!
//! They come from an append-only record of what happened — conversation history and call
//! records — rolled up incrementally by [`collect`]: one fact per contact (`report_facts`),
//! summed per local day × queue × channel × agent (`report_daily`, with fixed histogram
//! buckets for percentiles), so a year's report reads ~365 rows per group. [`query`] answers
//! from rollups for whole days and from facts for the partial days at the ends.

mod apply;
pub mod collect;
pub mod facts;
pub mod figures;
pub mod histogram;
pub mod presence;
pub mod query;
mod rollup;
mod routes;
mod scan;
pub mod today;
pub mod zone;

use crate::state::AppState;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use collect::rebuild;
pub use routes::router;

pub use crate::settings::ReportSettings;

/// The report worker: rolls new history and call records up every `reports.interval_ms`.
pub fn spawn_workers(state: &AppState, stop: CancellationToken) -> Vec<JoinHandle<()>> {
    let state = state.clone();
    vec![tokio::spawn(async move {
        let every = Duration::from_millis(state.settings.reports.interval_ms.max(100));
        loop {
            let more = match collect::run_once(&state).await {
                Ok((_, more)) => more,
                Err(e) => {
                    tracing::warn!(error = %e, "report worker pass failed");
                    false
                }
            };
            if !more {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(every) => {}
                }
            } else if stop.is_cancelled() {
                return;
            }
        }
    })]
}
