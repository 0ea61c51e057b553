//! Routing: queues of waiting conversations offered to agents by the pure engine in `switchboard-routing`, with the database as the arbiter.

use crate::state::AppState;
use axum::Router;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

/// Routes under `/api/v1` (described in the OpenAPI document).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// Routes outside `/api/v1` (sockets, scripts).
pub fn public_routes() -> Router<AppState> {
    Router::new()
}

/// Background workers of this channel, stopped by `stop`.
pub fn spawn_workers(_state: &AppState, _stop: CancellationToken) -> Vec<JoinHandle<()>> {
    Vec::new()
}
