//! Routing: queues of waiting conversations offered to agents by the pure engine in
//! `switchboard-routing`, with the database as the arbiter.
//!
//! Every periodic pass of the router ([`run_once`]) expires and withdraws stale offers, returns
//! the unanswered conversations of offline agents to their queue, stamps and checks SLA
//! deadlines, loads a fresh snapshot of agents, queues and conversations into an [`switchboard_routing::Engine`]
//! and applies each of its decisions in its own transaction that re-checks everything
//! (conversation still waiting, agent available with free capacity). A decision that lost a race
//! against another node is dropped; the next pass sees the new state. Any number of nodes may
//! therefore route over one database at the same time. Bus events call for the cheaper
//! [`route_once`] (no time-driven housekeeping; no snapshot at all while nobody is available).
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
pub use run::{apply_decision, route_once, run_once, RunReport};

/// Default of `routing.offer_timeout_secs`, in ms (how long an offer stays open).
pub const OFFER_TIMEOUT_MS: i64 = 30_000;
/// The router runs at least this often (and on every relevant bus event).
pub const ROUTER_TICK: Duration = Duration::from_secs(1);
/// The router keeps its engine between passes, told of every change by the bus (which the
/// event log's relay makes complete): new conversations are added to it, and other events
/// load a fresh one. The periodic pass too reuses an engine younger than this, so changes
/// that announce no event (a customer's tier, value boosts after a refit) reach routing
/// within it; a full reload with a year of history cost ~40 ms, every second, and new
/// conversations waited behind it for their offer.
pub const ROUTER_RELOAD: Duration = Duration::from_secs(30);
/// The periodic pass looks for unanswered conversations of offline agents at least this
/// often (events that may have made some look at once).
pub const REQUEUE_EVERY: Duration = Duration::from_secs(5);
/// The node running the periodic pass holds a lease this long, renewed every tick; when it
/// dies another node takes over once the lease has run out.
pub const ROUTER_LEASE: Duration = Duration::from_secs(5);
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
    console::routes(None)
}

/// The router worker of this node, stopped by `stop`.
pub fn spawn_workers(state: &AppState, stop: CancellationToken) -> Vec<JoinHandle<()>> {
    vec![tokio::spawn(worker::run(state.clone(), stop))]
}
