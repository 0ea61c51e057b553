//! A widget on a page whose origin the site does not allow: the socket is accepted, told why
//! (`origin_not_allowed`, as `docs/widget-protocol.md` documents) and closed, so the widget
//! shows "chat is not enabled here" instead of retrying; the admin finds it in the log.

use super::sites::Site;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::response::Response;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// WebSocket close code "policy violation".
const POLICY_VIOLATION: u16 = 1008;
/// One log line per site and origin in this time, however often a page retries.
const LOG_EVERY: Duration = Duration::from_secs(600);
/// Most (site, origin) pairs remembered for that; the memory starts over when full.
const LOG_MEMORY: usize = 1024;

pub fn refuse(ws: WebSocketUpgrade, site: &Site, origin: Option<&str>) -> Response {
    let origin = origin.unwrap_or("").to_string();
    if should_log(&site.id, &origin) {
        tracing::warn!(
            site = %site.name,
            site_key = %site.site_key,
            origin = %origin,
            allowed = ?site.allowed_origins,
            "chat widget refused: the page's origin is not in the site's allowed_origins \
             (add it with PATCH /api/v1/channels/chat/sites/{{id}})"
        );
    }
    ws.max_message_size(1024)
        .on_upgrade(|mut socket| async move {
            let frame = json!({
                "type": "error",
                "code": "origin_not_allowed",
                "error": "chat is not enabled on this website",
            });
            let _ = socket.send(Message::Text(frame.to_string().into())).await;
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code: POLICY_VIOLATION,
                    reason: "origin_not_allowed".into(),
                })))
                .await;
        })
}

fn should_log(site: &str, origin: &str) -> bool {
    static SEEN: Mutex<Option<HashMap<(String, String), Instant>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let seen = seen.get_or_insert_with(HashMap::new);
    let key = (site.to_string(), origin.to_string());
    let now = Instant::now();
    if seen
        .get(&key)
        .is_some_and(|t| now.duration_since(*t) < LOG_EVERY)
    {
        return false;
    }
    if seen.len() >= LOG_MEMORY {
        seen.clear();
    }
    seen.insert(key, now);
    true
}
