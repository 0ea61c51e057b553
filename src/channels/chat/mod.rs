//! The web chat channel: the embeddable widget script (`GET /widget.js`), the visitor WebSocket
//! (`GET /ws/widget?site=KEY`, protocol in `docs/widget-protocol.md`), chat sites, visitor file
//! uploads and the agent-side typing, read and rating routes.
//!
//! Delivery guarantees: a visitor message is acknowledged only after its transaction commits
//! (visitor messages are group-committed by one writer per node, see `writer`), and it is
//! stored once per `client_id`. Live pushes are triggers; message frames are read back from the
//! database in `seq` order (the sender's own echo is built from the row it just committed when
//! it is the next one the socket owes), so replays after a reconnect, a restart or a switch of
//! node never lose, repeat or reorder a message.

mod agent;
mod attachments;
mod batch;
mod frames;
mod fresh;
mod hub;
mod job;
mod mailbox;
mod origin;
pub mod quotas;
mod secrets;
mod site_routes;
pub mod sites;
mod socket;
mod test_page;
mod visitor;
mod writer;

pub use hub::Hub;
pub use visitor::OFFLINE_TAG;

use crate::state::AppState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Longest visitor message, in characters.
/// Largest visitor upload.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// Open visitor sockets allowed per client IP address (per node).
/// Visitor messages per second, sustained …
/// … and in a burst.
/// How often the server pings an open socket.
/// A socket silent this long (no frame, no pong) is closed.
/// How long a new socket may take to send `hello`.
/// WebSocket read and write buffers (the 128 KiB default costs ~136 KiB per socket).
pub const SOCKET_BUFFER: usize = 4096;
/// Largest WebSocket frame or message accepted from a visitor.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Store visitor messages `(visitor id, client id, text)` written on `site` in one group
/// commit, exactly as the node's writer stores what sockets queue (new visitors get their
/// visitor row, customer and conversation), and publish their events; returns the messages
/// stored. For bulk loads (benchmarks filling a deployment through the chat path).
pub async fn store_visitor_batch(
    state: &AppState,
    site: Arc<sites::Site>,
    messages: &[(String, String, String)],
) -> crate::error::ApiResult<usize> {
    let jobs: Vec<job::Job> = messages
        .iter()
        .map(|(visitor, client_id, text)| {
            let v = visitor::Visitor {
                id: visitor.clone(),
                site: site.clone(),
                identity_customer: None,
            };
            job::Job::new(v, client_id.clone(), text.clone()).0
        })
        .collect();
    let mut tx = state.store.begin().await?;
    let stored = batch::store_all(state, &mut tx, &jobs).await;
    let stored = tx.finish(stored).await?;
    let n = stored.iter().filter(|s| s.message.is_some()).count();
    for ev in stored.into_iter().flat_map(|s| s.events) {
        state.bus.publish(ev).await;
    }
    Ok(n)
}

/// The widget, built by `web-widget/build.mjs`.
const WIDGET_JS: &str = include_str!("../../../web-widget/dist/widget.js");

/// Routes under `/api/v1` (described in the OpenAPI document), served with `hub`.
pub fn router(hub: Arc<Hub>) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(site_routes::list_sites, site_routes::create_site))
        .routes(routes!(site_routes::get_site, site_routes::update_site))
        .routes(routes!(agent::agent_typing))
        .routes(routes!(agent::agent_read))
        .routes(routes!(agent::get_rating))
        .routes(routes!(agent::get_visitor))
        .routes(routes!(agent::agent_download))
        .routes(routes!(agent::customer_ratings))
        .routes(routes!(attachments::upload))
        .routes(routes!(attachments::agent_upload))
        .route(
            "/widget/attachments",
            axum::routing::options(attachments::preflight),
        )
        .route(
            "/widget/attachments/{id}",
            get(attachments::download).options(attachments::preflight),
        )
        .layer(Extension(hub))
}

/// Routes outside `/api/v1` (sockets, scripts), served with `hub`.
pub fn public_routes(hub: Arc<Hub>) -> Router<AppState> {
    Router::new()
        .route("/widget.js", get(widget_js))
        .route("/widget/test", get(test_page::test_page))
        .route("/ws/widget", get(socket::upgrade))
        .layer(Extension(hub))
}

/// The widget's version: a hash of the script (`/widget.js?v=…` may be cached for a year).
pub fn widget_version() -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(WIDGET_JS.as_bytes());
    hex::encode(&digest[..12])
}

fn widget_etag() -> String {
    format!("\"{}\"", widget_version())
}

/// Query of `/widget.js`: `v`, the script's version (its `ETag` without quotes).
#[derive(serde::Deserialize)]
pub struct WidgetQuery {
    v: Option<String>,
}

/// The widget script. Asked for by its current version (`/widget.js?v=…`) it may be kept for
/// a year; otherwise for a day, then revalidated by `ETag`.
async fn widget_js(
    headers: HeaderMap,
    crate::error::ApiQuery(q): crate::error::ApiQuery<WidgetQuery>,
) -> impl IntoResponse {
    let etag = widget_etag();
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    let versioned = q.v.is_some_and(|v| v == etag.trim_matches('"'));
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=86400"
    };
    let common = [
        (header::CACHE_CONTROL, cache.to_string()),
        (header::ETAG, etag),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
    ];
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        StatusCode::OK,
        common,
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        WIDGET_JS,
    )
        .into_response()
}

/// Replies reach the visitor's sockets over the bus (`message.created`): nothing to write.
pub fn register_outbound(o: &mut crate::conversations::outbound::Outbound) {
    o.by_bus("chat");
}

/// Background workers of this channel, stopped by `stop`.
pub fn spawn_workers(
    state: &AppState,
    hub: Arc<Hub>,
    stop: CancellationToken,
) -> Vec<JoinHandle<()>> {
    vec![hub::spawn_dispatcher(state, hub, stop)]
}
