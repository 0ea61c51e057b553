//! Server → widget frames built from stored rows.

use crate::conversations::Message;
use crate::store::{StoreError, StoreResult};
use serde_json::{json, Value};
use sqlx::AnyPool;

/// Display name of an agent (empty when unknown).
pub async fn agent_name(pool: &AnyPool, agent_id: &str) -> StoreResult<String> {
    let row: Option<(String,)> = sqlx::query_as("SELECT name FROM agents WHERE id = $1")
        .bind(agent_id)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(row.map(|r| r.0).unwrap_or_default())
}

/// A stored message as the widget sees it (`None` for internal notes).
pub fn frame(m: &Message, agent_name: Option<&str>, key: &[u8], url_secs: u64) -> Option<Value> {
    if m.internal {
        return None;
    }
    let author = match m.author_kind.as_str() {
        "customer" => "visitor",
        "agent" => "agent",
        _ => "system",
    };
    let mut f = json!({ "type": "message", "seq": m.seq, "author": author, "text": m.body, "at": m.created_at });
    if let Some(n) = agent_name.filter(|n| !n.is_empty()) {
        f["author_name"] = json!(n);
    }
    if let Some(c) = m.meta.get("client_id").and_then(Value::as_str) {
        f["client_id"] = json!(c);
    }
    if let Some(a) = m.meta.get("attachment").filter(|a| a.is_object()) {
        let mut a = a.clone();
        if let Some(id) = a["id"].as_str() {
            a["url"] = json!(super::secrets::attachment_url(key, id, url_secs));
        }
        f["attachment"] = a;
    }
    Some(f)
}
