//! Delivery state of outgoing email on the messages themselves: each agent reply that went into
//! the outbox carries `meta.delivery` (`{status: pending|sent|failed, attempts, error, to,
//! sent_at}`) when read, and every change of it is published as `email.delivery` so consoles
//! update the message live.

use crate::bus::Event;
use crate::conversations::Message;
use crate::store::{ms_to_rfc3339, StoreError, StoreResult, Tx};
use serde_json::{json, Value};
use sqlx::AnyConnection;

type Row = (String, String, i64, Option<String>, String, Option<i64>);

/// Put `meta.delivery` on the messages of `conversation_id` that have outgoing mail.
pub async fn annotate(
    conn: &mut AnyConnection,
    conversation_id: &str,
    messages: &mut [Message],
) -> StoreResult<()> {
    if !messages
        .iter()
        .any(|m| m.author_kind == "agent" && !m.internal)
    {
        return Ok(());
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT message_id, status, attempts, last_error, to_address, sent_at FROM email_outbox \
         WHERE conversation_id = $1 AND message_id IS NOT NULL",
    )
    .bind(conversation_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    for (message_id, status, attempts, error, to, sent_at) in rows {
        if let Some(m) = messages.iter_mut().find(|m| m.id == message_id) {
            let delivery = state(&status, attempts, error.as_deref(), &to, sent_at);
            match m.meta.as_object_mut() {
                Some(meta) => {
                    meta.insert("delivery".into(), delivery);
                }
                None => m.meta = json!({ "delivery": delivery }),
            }
        }
    }
    Ok(())
}

/// The `delivery` object of one outbox row.
pub fn state(
    status: &str,
    attempts: i64,
    error: Option<&str>,
    to: &str,
    sent_at: Option<i64>,
) -> Value {
    json!({
        "status": status, "attempts": attempts, "error": error, "to": to,
        "sent_at": sent_at.map(ms_to_rfc3339),
    })
}

/// The `email.delivery` event of a message whose delivery changed, addressed to the
/// conversation's assignee and to the message's author (supervisors see it too).
pub async fn event(
    tx: &mut Tx,
    conversation_id: &str,
    message_id: &str,
    delivery: Value,
) -> StoreResult<Event> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT c.assignee_id, m.author_id FROM messages m JOIN conversations c \
           ON c.id = m.conversation_id WHERE m.id = $1",
    )
    .bind(message_id)
    .fetch_optional(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let (assignee, author) = row.unwrap_or_default();
    let agents: Vec<String> = assignee.iter().chain(author.iter()).cloned().collect();
    let mut ev = crate::events::new_event(
        "email.delivery",
        json!({ "message_id": message_id, "delivery": delivery, "agent_ids": agents }),
    );
    ev.conversation_id = Some(conversation_id.to_string());
    ev.agent_id = assignee;
    Ok(ev)
}
