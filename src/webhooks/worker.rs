//! Delivery worker: claims due deliveries (safe with several nodes), sends, records the outcome.

use super::signature;
use crate::secrets::SecretBox;
use crate::settings::WebhookSettings;
use crate::store::{now_ms, Store, StoreError, StoreResult};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub struct WebhookWorker {
    store: Store,
    settings: WebhookSettings,
    client: reqwest::Client,
    secrets: Arc<SecretBox>,
}

const LEASE_MS: i64 = 60_000;

impl WebhookWorker {
    pub fn new(store: Store, settings: WebhookSettings, secrets: Arc<SecretBox>) -> Self {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !settings.allow_private_targets {
            builder = builder.dns_resolver(Arc::new(super::targets::PublicOnly));
        }
        let client = builder.build().expect("reqwest client builds");
        WebhookWorker {
            store,
            settings,
            client,
            secrets,
        }
    }

    /// Send every delivery that is due now; returns how many were attempted.
    pub async fn run_once(&self) -> StoreResult<usize> {
        let now = now_ms();
        let due: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 \
               AND (locked_until IS NULL OR locked_until < $1) ORDER BY created_at LIMIT 50",
        )
        .bind(now)
        .fetch_all(self.store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let mut attempted = 0;
        for (id,) in due {
            // Claim with a lease so another node does not send the same delivery concurrently.
            let claimed = sqlx::query(
                "UPDATE webhook_deliveries SET locked_until = $1 WHERE id = $2 AND status = 'pending' \
                   AND (locked_until IS NULL OR locked_until < $3)",
            )
            .bind(now + LEASE_MS)
            .bind(&id)
            .bind(now)
            .execute(self.store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
            if claimed.rows_affected() == 1 {
                self.deliver(&id).await?;
                attempted += 1;
            }
        }
        Ok(attempted)
    }

    async fn deliver(&self, id: &str) -> StoreResult<()> {
        let row: Option<(String, String, String, String, i64, String)> = sqlx::query_as(
            "SELECT d.webhook_id, d.event_kind, d.payload, w.url, d.attempts, w.secret \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1",
        )
        .bind(id)
        .fetch_optional(self.store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let Some((webhook_id, kind, payload, url, attempts, secret)) = row else {
            return Ok(());
        };
        let ts = now_ms() / 1000;
        // An IP literal never reaches the resolver: check it here (URLs saved before the rule,
        // or with the setting on at the time).
        let refused = !self.settings.allow_private_targets
            && reqwest::Url::parse(&url)
                .ok()
                .and_then(|u| super::targets::refuse(&u))
                .is_some();
        // The secret is stored sealed (clear when written by an earlier version).
        let secret = self.secrets.open(&secret);
        let result = if refused {
            Err(None)
        } else if let Err(e) = &secret {
            tracing::error!(webhook_id = %webhook_id, error = %format!("{e:#}"), "webhook secret unreadable");
            Err(None)
        } else {
            let secret = secret.as_deref().unwrap_or_default();
            self.client
                .post(&url)
                .header("content-type", "application/json")
                .header("x-switchboard-event", &kind)
                .header("x-switchboard-delivery", id)
                .header("x-switchboard-timestamp", ts.to_string())
                .header(
                    "x-switchboard-signature",
                    signature(secret, ts, payload.as_bytes()),
                )
                .body(payload)
                .send()
                .await
                .map_err(Some)
        };
        let (ok, code, error) = match result {
            Ok(resp) if resp.status().is_success() => {
                (true, Some(resp.status().as_u16() as i64), None)
            }
            Ok(resp) => (
                false,
                Some(resp.status().as_u16() as i64),
                Some(format!("HTTP {}", resp.status())),
            ),
            Err(None) if refused => (false, None, Some("refused: private address".to_string())),
            Err(None) => (
                false,
                None,
                Some("the webhook secret cannot be decrypted with this node's key".to_string()),
            ),
            Err(Some(e)) => (
                false,
                None,
                Some(if e.is_timeout() {
                    "timeout".to_string()
                } else if format!("{e:?}").contains("private addresses (refused)") {
                    "refused: resolves to a private address".to_string()
                } else {
                    "connection failed".to_string()
                }),
            ),
        };
        let attempts = attempts + 1;
        let now = now_ms();
        let status = if ok {
            "delivered"
        } else if attempts >= self.settings.max_attempts as i64 {
            "failed"
        } else {
            "pending"
        };
        let backoff_secs = (self
            .settings
            .retry_base_secs
            .saturating_mul(1u64 << (attempts - 1).clamp(0, 20)))
        .min(3600);
        metrics::counter!("switchboard_webhook_deliveries_total", "status" => status).increment(1);
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, locked_until = NULL, \
               last_status_code = $4, last_error = $5, delivered_at = $6 WHERE id = $7",
        )
        .bind(status)
        .bind(attempts)
        .bind(now + backoff_secs as i64 * 1000)
        .bind(code)
        .bind(&error)
        .bind(ok.then_some(now))
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
        sqlx::query(
            "UPDATE webhooks SET last_status = $1, last_status_code = $2, last_error = $3, last_delivery_at = $4 WHERE id = $5",
        )
        .bind(if ok { "delivered" } else { "failed" })
        .bind(code)
        .bind(&error)
        .bind(now)
        .bind(&webhook_id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
        tx.commit().await
    }

    /// Poll until `stop` is cancelled.
    pub async fn run_until_stopped(self, stop: CancellationToken) {
        let interval = Duration::from_millis(self.settings.poll_interval_ms);
        loop {
            if let Err(e) = self.run_once().await {
                tracing::warn!(error = %e, "webhook worker pass failed");
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }
}
