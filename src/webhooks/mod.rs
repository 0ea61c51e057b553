//! Outgoing webhooks: admins register a URL and an event filter; every matching event is
//! persisted as a delivery (in the change's own transaction) and sent HMAC-signed by a worker
//! that retries with exponential backoff.

pub mod routes;
pub mod targets;
pub mod worker;

pub use routes::router;
pub use worker::WebhookWorker;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `sha256=<hex>` HMAC of `"{timestamp}.{body}"` with the webhook's secret. Receivers recompute it
/// to check the request came from us and was not replayed long after `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
