//! Conversation operations shared by the HTTP routes and the channel adapters. Each takes a
//! transaction so callers combine them atomically with their own writes. What writes the
//! conversation, message and history rows lives in [`super::ledger`] (re-exported here).

use super::ledger::insert_tags;
pub use super::ledger::{
    append_message, append_new_message, create, create_resolved, created_data, record,
    NewConversation, NewMessage,
};
use super::{Conversation, ConversationRow, HistoryEntry, Message, MessageRow, COLS, MSG_COLS};
use crate::bus::Event;
use crate::store::{ms_to_rfc3339, now_ms, StoreError, StoreResult, Tx};
use serde_json::{json, Value};
use sqlx::AnyConnection;

/// Who made a change.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `agent`, `api`, `customer` or `system`.
    pub kind: &'static str,
    pub id: Option<String>,
}

impl Actor {
    pub fn system() -> Self {
        Actor {
            kind: "system",
            id: None,
        }
    }
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> StoreResult<Conversation> {
    let mut conv = get_untagged(conn, id).await?;
    conv.tags = tags(conn, id).await?;
    Ok(conv)
}

/// [`get`] without the tags (one statement fewer, for callers that do not look at them).
pub async fn get_untagged(conn: &mut AnyConnection, id: &str) -> StoreResult<Conversation> {
    let row: Option<ConversationRow> =
        sqlx::query_as(&format!("SELECT {COLS} FROM conversations WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(row.ok_or(StoreError::NotFound)?.into_model(Vec::new()))
}

pub async fn tags(conn: &mut AnyConnection, id: &str) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT tag FROM conversation_tags WHERE conversation_id = $1 ORDER BY tag")
            .bind(id)
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Messages with `seq > after_seq`, oldest first, at most `limit`.
pub async fn messages(
    conn: &mut AnyConnection,
    id: &str,
    after_seq: i64,
    limit: usize,
) -> StoreResult<Vec<Message>> {
    let rows: Vec<MessageRow> = sqlx::query_as(&format!(
        "SELECT {MSG_COLS} FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    ))
    .bind(id)
    .bind(after_seq)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(rows.into_iter().map(Message::from).collect())
}

/// One message by id.
pub async fn message(conn: &mut AnyConnection, id: &str) -> StoreResult<Message> {
    let row: MessageRow = sqlx::query_as(&format!("SELECT {MSG_COLS} FROM messages WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?
        .ok_or(StoreError::NotFound)?;
    Ok(row.into())
}

pub async fn history(conn: &mut AnyConnection, id: &str) -> StoreResult<Vec<HistoryEntry>> {
    let rows: Vec<(String, String, String, Option<String>, String, i64)> = sqlx::query_as(
        "SELECT id, kind, actor_kind, actor_id, data, created_at FROM conversation_events \
         WHERE conversation_id = $1 ORDER BY created_at, id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, actor_kind, actor_id, data, at)| HistoryEntry {
            id,
            kind,
            actor_kind,
            actor_id,
            data: serde_json::from_str(&data).unwrap_or(Value::Null),
            at: ms_to_rfc3339(at),
        })
        .collect())
}

pub async fn set_tags(tx: &mut Tx, id: &str, tags: &[String]) -> StoreResult<()> {
    sqlx::query("DELETE FROM conversation_tags WHERE conversation_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    insert_tags(tx, id, tags).await
}

/// Change status; records `status_changed`. Returns None when unchanged.
pub async fn set_status(
    tx: &mut Tx,
    conv: &Conversation,
    status: &str,
    actor: &Actor,
) -> StoreResult<Option<Event>> {
    if conv.status == status {
        return Ok(None);
    }
    let now = now_ms();
    let resolved_at = matches!(status, "resolved" | "closed").then_some(now);
    sqlx::query(
        "UPDATE conversations SET status = $1, updated_at = $2, resolved_at = $3 WHERE id = $4",
    )
    .bind(status)
    .bind(now)
    .bind(resolved_at)
    .bind(&conv.id)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let conv2 = get(tx.conn(), &conv.id).await?;
    Ok(Some(
        record(
            tx,
            &conv2,
            "status_changed",
            actor,
            json!({ "from": conv.status, "to": status }),
        )
        .await?,
    ))
}
