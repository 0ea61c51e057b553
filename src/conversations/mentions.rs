//! @mentions in internal notes: the note names agents (`mentions`: agent ids, filled in by the
//! console's picker); they are checked, kept on the message (`meta.mentions`) and told through a
//! `conversation.mentioned` event addressed to them (`data.agent_ids`), recorded for webhooks in
//! the note's own transaction.

use super::{Conversation, Message};
use crate::bus::Event;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::store::{StoreError, Tx};
use serde_json::{json, Value};

/// Most agents one note may mention.
pub const MAX_MENTIONS: usize = 20;

/// An agent named in a note.
#[derive(Debug, Clone)]
pub struct Mention {
    pub id: String,
    pub name: String,
}

/// The active agents `ids` names (each once, in order); 422 when the message is not an internal
/// note, there are too many, or one is not an active agent.
pub async fn resolve(tx: &mut Tx, ids: &[String], internal: bool) -> ApiResult<Vec<Mention>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    if !internal {
        return Err(ApiError::invalid(
            "mentions_in_notes_only",
            "agents are mentioned in internal notes only",
        ));
    }
    if ids.len() > MAX_MENTIONS {
        return Err(ApiError::invalid(
            "too_many_mentions",
            "at most 20 agents in one note",
        ));
    }
    let mut out: Vec<Mention> = Vec::new();
    for id in ids {
        if out.iter().any(|m| &m.id == id) {
            continue;
        }
        let row: Option<(String,)> =
            sqlx::query_as("SELECT name FROM agents WHERE id = $1 AND active = 1")
                .bind(id)
                .fetch_optional(tx.conn())
                .await
                .map_err(StoreError::from_sqlx)?;
        let (name,) = row.ok_or_else(|| {
            ApiError::invalid("unknown_agent", format!("no active agent {id} to mention"))
        })?;
        out.push(Mention {
            id: id.clone(),
            name,
        });
    }
    Ok(out)
}

/// `meta.mentions` of the note.
pub fn meta(mentions: &[Mention]) -> Value {
    if mentions.is_empty() {
        return json!({});
    }
    json!({ "mentions": mentions.iter().map(|m| json!({"id": m.id, "name": m.name})).collect::<Vec<_>>() })
}

/// Record (for webhooks) and return the event telling the mentioned agents, none when nobody
/// but the author is mentioned.
pub async fn announce(
    tx: &mut Tx,
    conv: &Conversation,
    note: &Message,
    mentions: &[Mention],
) -> ApiResult<Option<Event>> {
    let author = note.author_id.as_deref();
    let ids: Vec<&str> = mentions
        .iter()
        .map(|m| m.id.as_str())
        .filter(|id| Some(*id) != author)
        .collect();
    if ids.is_empty() {
        return Ok(None);
    }
    let excerpt: String = note.body.chars().take(140).collect();
    let data = json!({
        "agent_ids": ids, "message_id": note.id, "by": author,
        "number": conv.number, "subject": conv.subject, "excerpt": excerpt,
    });
    let ev = events::about_conversation(
        "conversation.mentioned",
        data,
        &conv.id,
        &conv.customer_id,
        None,
    );
    events::record(tx, &ev).await?;
    Ok(Some(ev))
}
