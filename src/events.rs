//! Publishing changes: the event (in the deployment's event log, `crate::event_log`) and its
//! webhook deliveries are written inside the change's own transaction (so a crash cannot lose
//! them), then the event goes out on the bus after commit.

use crate::bus::Event;
use crate::store::{ms_to_rfc3339, new_id, now_ms, StoreError, StoreResult, Tx};
use serde_json::Value;

/// Build an event of `kind` happening now.
pub fn new_event(kind: &str, data: Value) -> Event {
    Event {
        id: new_id(),
        kind: kind.to_string(),
        at: ms_to_rfc3339(now_ms()),
        conversation_id: None,
        customer_id: None,
        agent_id: None,
        data,
        node: String::new(),
        seq: None,
        slot: Default::default(),
    }
}

/// An event of `kind` about a conversation of `customer_id`, assigned to `agent_id`.
pub fn about_conversation(
    kind: &str,
    data: Value,
    conversation_id: &str,
    customer_id: &str,
    agent_id: Option<&str>,
) -> Event {
    let mut ev = new_event(kind, data);
    ev.conversation_id = Some(conversation_id.to_string());
    ev.customer_id = Some(customer_id.to_string());
    ev.agent_id = agent_id.map(str::to_string);
    ev
}

/// Log `ev` in the event log when `tx` commits, and queue webhook deliveries for every
/// active webhook whose filter matches `ev.kind` (exactly, `*`, or `prefix.*`). Record an
/// event as it will be published: later changes to the caller's copy are not logged.
pub async fn record(tx: &mut Tx, ev: &Event) -> StoreResult<()> {
    tx.log_event(ev);
    if !tx.webhooks_active().await? {
        return Ok(());
    }
    deliver_webhooks(tx, ev).await
}

/// Queue the webhook deliveries of `ev` (an active webhook exists).
pub async fn deliver_webhooks(tx: &mut Tx, ev: &Event) -> StoreResult<()> {
    let payload =
        serde_json::to_string(ev).map_err(|e| StoreError::Other(sqlx::Error::Decode(e.into())))?;
    let prefix = ev
        .kind
        .split_once('.')
        .map(|(p, _)| format!("{p}.*"))
        .unwrap_or_else(|| "*".into());
    sqlx::query(
        "INSERT INTO webhook_deliveries \
           (id, webhook_id, event_kind, payload, status, attempts, next_attempt_at, created_at) \
         SELECT w.id || ':' || $1, w.id, $2, $3, 'pending', 0, $4, $4 FROM webhooks w \
         WHERE w.active = 1 AND EXISTS (SELECT 1 FROM webhook_event_filters f \
           WHERE f.webhook_id = w.id AND (f.event = $2 OR f.event = '*' OR f.event = $5))",
    )
    .bind(&ev.id)
    .bind(&ev.kind)
    .bind(payload)
    .bind(now_ms())
    .bind(prefix)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}
