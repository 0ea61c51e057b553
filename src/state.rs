//! Shared application state handed to every handler.

use crate::bus::Bus;
use crate::settings::Settings;
use crate::store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub bus: Bus,
    /// Login attempt limits and the bound on concurrent password hashing.
    pub login_guard: Arc<crate::auth::guard::LoginGuard>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`server.trusted_proxies`).
    pub proxies: Arc<crate::auth::guard::TrustedProxies>,
    pub metrics: PrometheusHandle,
    /// Seals and opens the secrets stored in the database (`crate::secrets`).
    pub secrets: Arc<crate::secrets::SecretBox>,
    /// Wakes this node's customer-value refit worker (orders arrived).
    pub value_refit: Arc<tokio::sync::Notify>,
    /// Callers resolved from tokens, kept for a moment (`auth.token_cache_ms`).
    pub tokens: Arc<crate::auth::cache::TokenCache>,
}
