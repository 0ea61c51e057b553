//! Building and running the server: `Application::build` connects storage and the bus, binds
//! the listener (port 0 works, for tests) and `run_until_stopped` serves until shutdown.

use crate::bus::Bus;
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::Store;
use crate::webhooks::WebhookWorker;
use anyhow::Context;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard API", description = "Omnichannel contact-center and ticketing server"),
    servers((url = "/api/v1")),
    components(schemas(crate::error::ErrorBody, crate::bus::Event)),
    modifiers(&SecurityAddon),
    security(("bearer" = []), ("session_cookie" = []))
)]
struct ApiDoc;

/// Documents the two ways to authenticate: a bearer token or the session cookie.
struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// The database URL to use: the configured one, or SQLite under the data directory.
pub fn database_url(settings: &Settings) -> anyhow::Result<String> {
    let url = settings.database.url.expose_secret().trim().to_string();
    if !url.is_empty() {
        return Ok(url);
    }
    let dir = &settings.server.data_dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))?;
    let db = dir.join("switchboard.db");
    private_files(dir, &db)?;
    Ok(format!("sqlite://{}?mode=rwc", db.display()))
}

/// Only the server's own user may read the data directory (0700) and the database (0600; its
/// `-wal` and `-shm` files inherit the mode). The database file is created here if missing.
#[cfg(unix)]
fn private_files(dir: &std::path::Path, db: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restricting {}", dir.display()))?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(db)
        .with_context(|| format!("creating {}", db.display()))?;
    std::fs::set_permissions(db, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restricting {}", db.display()))?;
    Ok(())
}

#[cfg(not(unix))]
fn private_files(_dir: &std::path::Path, _db: &std::path::Path) -> anyhow::Result<()> {
    Ok(())
}

/// Connect to the configured database and apply migrations.
pub async fn connect_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect_with_timeout(
        &database_url(settings)?,
        settings.database.max_connections,
        &settings.database.sqlite_synchronous,
        Duration::from_millis(settings.database.acquire_timeout_ms.max(1)),
    )
    .await
    .context("connecting to the database")?;
    store.migrate().await.context("running migrations")?;
    Ok(store)
}

fn metrics_handle() -> PrometheusHandle {
    // One global recorder per process; tests build many applications in one process.
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("metrics recorder installs once")
        })
        .clone()
}

/// How each channel's replies leave.
fn outbound() -> crate::conversations::outbound::Outbound {
    let mut o = crate::conversations::outbound::Outbound::default();
    crate::channels::register_outbound(&mut o);
    o
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    /// The web chat's socket registry, shared by its routes and workers.
    chat_hub: Arc<crate::channels::chat::Hub>,
    stop: CancellationToken,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        crate::serve::raise_fd_limit();
        let store = connect_store(&settings).await?;
        let secrets =
            crate::secrets::SecretBox::from_settings(&settings.security, &settings.server.data_dir)
                .context("loading the key of stored secrets")?;
        crate::secrets::stored::seal_stored(&store, &secrets)
            .await
            .context("checking the stored secrets")?;
        let stop = CancellationToken::new();
        let node = crate::store::new_id();
        let redis_url = settings.redis.url.expose_secret().trim().to_string();
        let bus = if redis_url.is_empty() {
            Bus::local(node)
        } else {
            let opts = crate::bus::RedisOptions {
                url: redis_url,
                prefix: settings.redis.channel_prefix.clone(),
                publish_queue: settings.redis.publish_queue,
                max_backoff: Duration::from_millis(settings.redis.max_backoff_ms.max(1)),
                timeout: Duration::from_millis(settings.redis.timeout_ms.max(1)),
            };
            Bus::redis(opts, node, stop.clone())
                .await
                .context("connecting to Redis")?
        };
        let proxies = crate::auth::guard::TrustedProxies::parse(&settings.server.trusted_proxies)?;
        let token_cache = Duration::from_millis(settings.auth.token_cache_ms);
        let state = AppState {
            store,
            bus,
            login_guard: Arc::new(crate::auth::guard::LoginGuard::new(&settings.auth)),
            proxies: Arc::new(proxies),
            metrics: metrics_handle(),
            settings: Arc::new(settings),
            value_refit: Arc::default(),
            secrets: Arc::new(secrets),
            tokens: Arc::new(crate::auth::cache::TokenCache::new(token_cache)),
        };
        // Subscribed before the first request: no revocation can pass unseen.
        tokio::spawn(crate::auth::cache::forget_on_events(
            state.tokens.clone(),
            state.bus.subscribe(),
        ));
        let chat_hub = crate::channels::chat::Hub::new(&state.settings.chat);
        // Created (sealed) or read now, so a key that cannot open it stops the start.
        chat_hub
            .key(&state)
            .await
            .context("loading the chat signing key")?;
        let listener = TcpListener::bind(&state.settings.server.bind)
            .await
            .with_context(|| format!("binding {}", state.settings.server.bind))?;
        let router = build_router(state.clone(), chat_hub.clone());
        Ok(Application {
            listener,
            router,
            state,
            chat_hub,
            stop,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A token that stops the server and its workers when cancelled.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Serve and run background workers until the stop token is cancelled.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let worker = WebhookWorker::new(
            self.state.store.clone(),
            self.state.settings.webhooks.clone(),
            self.state.secrets.clone(),
        );
        let mut workers = vec![
            tokio::spawn(worker.run_until_stopped(self.stop.clone())),
            // Often, so each checkpoint has little to copy and sync: under steady writes the
            // log only restarts through SQLite's own checkpoint inside a commit, which then
            // finds the log nearly copied (at 500 ms it synced ~20 MB: 20–40 ms commits).
            tokio::spawn(
                self.state
                    .store
                    .clone()
                    .run_checkpoints(Duration::from_millis(10), self.stop.clone()),
            ),
            // A PostgreSQL without autovacuum never analyses: plans made while a table was
            // small stay (a scan per foreign-key check). Checked often, done when due.
            tokio::spawn(crate::store::statistics::keep(
                self.state.store.clone(),
                Duration::from_secs(5),
                self.stop.clone(),
            )),
        ];
        workers.extend(crate::routing::spawn_workers(
            &self.state,
            self.stop.clone(),
        ));
        workers.extend(crate::channels::email::spawn_workers(
            &self.state,
            self.stop.clone(),
        ));
        workers.extend(crate::channels::voice::spawn_workers(
            &self.state,
            self.stop.clone(),
        ));
        workers.extend(crate::channels::chat::spawn_workers(
            &self.state,
            self.chat_hub.clone(),
            self.stop.clone(),
        ));
        workers.extend(crate::value::spawn_workers(&self.state, self.stop.clone()));
        workers.push(crate::orders::totals::spawn_healer(
            &self.state,
            self.stop.clone(),
        ));
        workers.extend(crate::event_log::spawn_workers(
            &self.state,
            self.stop.clone(),
        ));
        workers.extend(crate::reports::spawn_workers(
            &self.state,
            self.stop.clone(),
        ));
        let grace = Duration::from_secs(self.state.settings.server.shutdown_grace_secs);
        tracing::info!(addr = %self.local_addr(), "switchboard listening");
        let server = &self.state.settings.server;
        let limits = crate::serve::ServeLimits {
            max_connections: server.max_connections,
            header_read_timeout: Duration::from_secs(server.header_read_timeout_secs.max(1)),
            grace,
        };
        crate::serve::serve(self.listener, self.router, limits, self.stop.clone()).await;
        let _ = tokio::time::timeout(grace, futures::future::join_all(workers)).await;
        Ok(())
    }
}

/// All routes: `/api/v1/*` (described in the OpenAPI document) plus health and metrics.
pub fn build_router(state: AppState, chat_hub: Arc<crate::channels::chat::Hub>) -> Router {
    let (api, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::auth::routes::router())
        .merge(crate::agents::router())
        .merge(crate::queues::router())
        .merge(crate::customers::router())
        .merge(crate::search::router())
        .merge(crate::canned::router())
        .merge(crate::conversations::router(Arc::new(outbound())))
        .merge(crate::webhooks::router())
        .merge(crate::routing::router())
        .merge(crate::channels::email::router())
        .merge(crate::channels::voice::router())
        .merge(crate::channels::chat::router(chat_hub.clone()))
        .merge(crate::orders::router())
        .merge(crate::value::router())
        .merge(crate::reports::router())
        .merge(crate::business_hours::router())
        .merge(crate::teams::router())
        .split_for_parts();
    let doc = Arc::new(crate::openapi::document(doc));
    let max_body = state.settings.server.max_body_bytes;
    let api = api
        .route(
            "/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .fallback(|| async { crate::error::ApiError::NotFound("route") });
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::console::routes())
        .merge(crate::routing::public_routes())
        .merge(crate::channels::email::public_routes())
        .merge(crate::channels::voice::public_routes())
        .merge(crate::channels::chat::public_routes(chat_hub))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::origin::guard,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        // gzip or brotli as the client accepts: scripts, pages and JSON (not images, nor
        // bodies under 32 bytes such as WebSocket upgrades).
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if !state.store.ping().await {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    } else if !state.bus.healthy() {
        (StatusCode::SERVICE_UNAVAILABLE, "event bus unreachable")
    } else {
        (StatusCode::OK, "ready")
    }
}

/// Prometheus metrics; by default only for clients on this machine (`server.metrics_public`).
async fn metrics(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let client = state.proxies.client_ip(peer, &headers);
    if !state.settings.server.metrics_public && !client.is_loopback() {
        return crate::error::ApiError::NotFound("route").into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
