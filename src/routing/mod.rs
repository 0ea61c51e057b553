//! Routing: queues of waiting conversations offered to agents by the pure engine in
//! `switchboard-routing`, with the database as the arbiter.
//!
//! Every pass of the router ([`run_once`]) expires and withdraws stale offers, returns the
//! unanswered conversations of offline agents to their queue, stamps and checks SLA deadlines,
//! loads a fresh snapshot of agents, queues and conversations into an [`switchboard_routing::Engine`]
//! and applies each of its decisions in its own transaction that re-checks everything
//! (conversation still waiting, agent available with free capacity). A decision that lost a race
//! against another node is dropped; the next pass sees the new state. Any number of nodes may
//! therefore route over one database at the same time.
//!
//! Future work: keep the engine between passes and feed it bus events instead of reloading it.

mod apply;
pub mod console;
pub mod offers;
mod run;
mod snapshot;
pub mod stats;
mod worker;

use crate::state::AppState;
use axum::Router;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

pub use apply::Applied;
pub use run::{apply_decision, run_once, RunReport};

/// How long an offer stays open before it expires and goes to the next agent.
pub const OFFER_TIMEOUT_MS: i64 = 30_000;
/// The router runs at least this often (and on every relevant bus event).
pub const ROUTER_TICK: Duration = Duration::from_secs(1);
/// The node running the periodic pass holds a lease this long, renewed every tick; when it
/// dies another node takes over once the lease has run out.
pub const ROUTER_LEASE: Duration = Duration::from_secs(5);
/// First-response deadline for normal conversations, from enqueue time.
pub const FIRST_RESPONSE_NORMAL_MS: i64 = 15 * 60_000;
/// First-response deadline for VIP customers (`customers.tier = 'vip'`).
pub const FIRST_RESPONSE_VIP_MS: i64 = 5 * 60_000;
/// Priority added to the conversations of VIP customers.
pub const VIP_PRIORITY_BOOST: i32 = 100;
/// The customer's last agent is preferred when it served them within this window.
pub const STICKY_WINDOW_MS: i64 = 7 * 24 * 3_600_000;
/// A conversation waits at most this long for its busy sticky agent.
pub const STICKY_MAX_WAIT_MS: i64 = 30_000;
/// An agent goes offline once its last console connection has been gone this long.
pub const CONSOLE_GRACE: Duration = Duration::from_secs(60);
/// Live console connections refresh their row this often (and ping the client).
pub const CONSOLE_HEARTBEAT: Duration = Duration::from_secs(15);

/// Routes under `/api/v1` (described in the OpenAPI document).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(offers::router())
        .merge(stats::router())
}

/// Routes outside `/api/v1`: the agent console socket `/ws/console`.
pub fn public_routes() -> Router<AppState> {
    console::routes(CONSOLE_GRACE)
}

/// The router worker of this node, stopped by `stop`.
pub fn spawn_workers(state: &AppState, stop: CancellationToken) -> Vec<JoinHandle<()>> {
    vec![tokio::spawn(worker::run(state.clone(), stop))]
}
