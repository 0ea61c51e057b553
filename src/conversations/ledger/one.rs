//! Writing conversations one item at a time: open one (numbered), append a message
//! (sequence reserved on the conversation's row), record a history entry — each with its bus
//! event and webhook deliveries, inside the caller's transaction.

use super::sql;
use crate::bus::Event;
use crate::conversations::{Actor, Conversation, Message, MessageRow, MSG_COLS};
use crate::events;
use crate::store::{dialect, ms_to_rfc3339, new_id, now_ms, Backend, StoreError, StoreResult, Tx};
use serde_json::{json, Value};

/// Record a change in the conversation's history, queue its webhooks, and return the bus
/// event to publish after commit.
pub async fn record(
    tx: &mut Tx,
    conv: &Conversation,
    kind: &str,
    actor: &Actor,
    data: Value,
) -> StoreResult<Event> {
    let at = ConvRef {
        id: &conv.id,
        customer_id: &conv.customer_id,
        assignee_id: conv.assignee_id.as_deref(),
    };
    let ev = record_history(tx, &at, kind, actor, data).await?;
    events::record(tx, &ev).await?;
    Ok(ev)
}

/// What a history entry needs to know of its conversation.
struct ConvRef<'a> {
    id: &'a str,
    customer_id: &'a str,
    assignee_id: Option<&'a str>,
}

/// Write the history entry only; the caller queues webhooks for the event it publishes.
/// A `conversation.<kind>` event about `conv`.
fn conversation_event(conv: &ConvRef<'_>, kind: &str, data: Value) -> Event {
    let kind = format!("conversation.{kind}");
    events::about_conversation(&kind, data, conv.id, conv.customer_id, conv.assignee_id)
}

async fn record_history(
    tx: &mut Tx,
    conv: &ConvRef<'_>,
    kind: &str,
    actor: &Actor,
    data: Value,
) -> StoreResult<Event> {
    let ev = conversation_event(conv, kind, data);
    sqlx::query(sql::HISTORY)
        .bind(&ev.id)
        .bind(conv.id)
        .bind(kind)
        .bind(actor.kind)
        .bind(&actor.id)
        .bind(ev.data.to_string())
        .bind(now_ms())
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(ev)
}

/// What a new conversation starts with.
pub struct NewConversation {
    pub customer_id: String,
    pub channel: String,
    pub subject: String,
    pub queue_id: Option<String>,
    pub priority: i64,
    pub tags: Vec<String>,
}

/// Open a conversation; returns it and the `created` event.
pub async fn create(
    tx: &mut Tx,
    backend: Backend,
    new: NewConversation,
    actor: &Actor,
) -> StoreResult<(Conversation, Event)> {
    create_as(tx, backend, new, actor, "open").await
}

/// A conversation that is over as it is recorded (a logged call): created `resolved`, with
/// one `created` history entry and event saying so — it never was open, so no
/// `status_changed` follows.
pub async fn create_resolved(
    tx: &mut Tx,
    backend: Backend,
    new: NewConversation,
    actor: &Actor,
) -> StoreResult<(Conversation, Event)> {
    create_as(tx, backend, new, actor, "resolved").await
}

async fn create_as(
    tx: &mut Tx,
    backend: Backend,
    new: NewConversation,
    actor: &Actor,
    status: &str,
) -> StoreResult<(Conversation, Event)> {
    let id = new_id();
    let now = now_ms();
    let number = dialect::next_conversation_number(backend, tx).await?;
    let resolved_at = (status != "open").then_some(now);
    sqlx::query(sql::CONVERSATION)
        .bind(&id)
        .bind(number)
        .bind(&new.customer_id)
        .bind(&new.channel)
        .bind(status)
        .bind(new.priority)
        .bind(&new.queue_id)
        .bind(&new.subject)
        .bind(switchboard_text::search_fold(&new.subject))
        .bind(now)
        .bind(new.queue_id.as_ref().map(|_| now))
        .bind(resolved_at)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    // A new conversation has no tags yet: insert them, nothing to delete first.
    let mut tags = new.tags;
    tags.sort();
    tags.dedup();
    insert_tags(tx, &id, &tags).await?;
    // Built from what was just written rather than read back.
    let conv = Conversation {
        id,
        number,
        customer_id: new.customer_id,
        channel: new.channel,
        status: status.into(),
        priority: new.priority,
        queue_id: new.queue_id,
        assignee_id: None,
        subject: new.subject,
        tags,
        created_at: ms_to_rfc3339(now),
        updated_at: ms_to_rfc3339(now),
        last_message_at: None,
        first_response_at: None,
        resolved_at: resolved_at.map(ms_to_rfc3339),
    };
    let ev = record(
        tx,
        &conv,
        "created",
        actor,
        created_data(&conv.channel, number, &conv.queue_id, status),
    )
    .await?;
    Ok((conv, ev))
}

/// What a `created` history entry and event say.
pub fn created_data(channel: &str, number: i64, queue_id: &Option<String>, status: &str) -> Value {
    json!({ "channel": channel, "number": number, "queue_id": queue_id, "status": status })
}
pub(crate) async fn insert_tags(tx: &mut Tx, id: &str, tags: &[String]) -> StoreResult<()> {
    for t in tags {
        sqlx::query("INSERT INTO conversation_tags (conversation_id, tag) VALUES ($1, $2)")
            .bind(id)
            .bind(t)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// A message to append.
pub struct NewMessage {
    pub author_kind: &'static str,
    pub author_id: Option<String>,
    pub body: String,
    pub internal: bool,
    pub channel: String,
    /// Source id (Message-ID, widget client id, call id): appending it twice is a no-op.
    pub external_id: Option<String>,
    pub meta: Value,
    /// When the message happened, if not now (e.g. a call record's start time).
    pub at: Option<i64>,
}

/// Append a message idempotently. Returns the message, whether it was new, and the event.
pub async fn append_message(
    tx: &mut Tx,
    conv_id: &str,
    msg: NewMessage,
    actor: &Actor,
) -> StoreResult<(Message, Option<Event>)> {
    if let Some(ext) = &msg.external_id {
        let existing: Option<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MSG_COLS} FROM messages WHERE channel = $1 AND external_id = $2"
        ))
        .bind(&msg.channel)
        .bind(ext)
        .fetch_optional(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
        if let Some(row) = existing {
            return Ok((row.into(), None));
        }
    }
    let (message, ev) = append_new_message(tx, conv_id, msg, actor).await?;
    Ok((message, Some(ev)))
}

/// [`append_message`] for a caller that has already looked for the message's external id in
/// this transaction: a duplicate then fails on the unique index (`StoreError::Conflict`)
/// instead of being looked up first.
pub async fn append_new_message(
    tx: &mut Tx,
    conv_id: &str,
    msg: NewMessage,
    actor: &Actor,
) -> StoreResult<(Message, Event)> {
    let now = now_ms();
    let at = msg.at.unwrap_or(now);
    // Incrementing the counter row also serialises concurrent appends on PostgreSQL.
    let first_response = msg.author_kind == "agent" && !msg.internal;
    let (seq, customer_id, assignee_id): (i64, String, Option<String>) = sqlx::query_as(
        "UPDATE conversations SET last_seq = last_seq + 1, updated_at = $1, \
           last_message_at = CASE WHEN $2 = 1 THEN last_message_at ELSE $3 END, \
           first_response_at = CASE WHEN $5 = 1 AND first_response_at IS NULL THEN $1 \
             ELSE first_response_at END \
         WHERE id = $4 RETURNING last_seq, customer_id, assignee_id",
    )
    .bind(now)
    .bind(msg.internal as i64)
    .bind(at)
    .bind(conv_id)
    .bind(first_response as i64)
    .fetch_optional(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?
    .ok_or(StoreError::NotFound)?;
    let id = new_id();
    sqlx::query(sql::MESSAGE)
        .bind(&id)
        .bind(conv_id)
        .bind(seq)
        .bind(msg.author_kind)
        .bind(&msg.author_id)
        .bind(&msg.body)
        .bind(switchboard_text::search_fold(&msg.body))
        .bind(msg.internal as i64)
        .bind(&msg.channel)
        .bind(&msg.external_id)
        .bind(msg.meta.to_string())
        .bind(at)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    let message = Message {
        id,
        conversation_id: conv_id.to_string(),
        seq,
        author_kind: msg.author_kind.to_string(),
        author_id: msg.author_id,
        body: msg.body,
        internal: msg.internal,
        channel: msg.channel,
        external_id: msg.external_id,
        meta: msg.meta,
        created_at: ms_to_rfc3339(at),
    };
    let conv = ConvRef {
        id: conv_id,
        customer_id: &customer_id,
        assignee_id: assignee_id.as_deref(),
    };
    // A note is an agent's action and goes into the history; a message is its own entry in
    // the message list (id, seq, author), so it gets no history row of its own.
    let mut ev = if msg.internal {
        let data =
            json!({ "message_id": message.id, "seq": seq, "author_kind": message.author_kind });
        record_history(tx, &conv, "note_added", actor, data).await?
    } else {
        conversation_event(&conv, "message_added", Value::Null)
    };
    ev.kind = "message.created".into();
    ev.data = json!({ "message": message });
    events::record(tx, &ev).await?;
    Ok((message, ev))
}

/// Record in every conversation of customer `from` that it was merged into `into` (one
/// `customer_merged` history row each, one statement); before the conversations move.
pub async fn record_merged(
    tx: &mut Tx,
    from: &str,
    into: &str,
    actor_kind: &str,
    actor_id: &Option<String>,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(sql::HISTORY_MERGED)
        .bind(new_id())
        .bind(actor_kind)
        .bind(actor_id)
        .bind(json!({ "from": from, "to": into }).to_string())
        .bind(now)
        .bind(from)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// After an entry was amended in place (a PBX record completing a live call, queue data
/// arriving later): mark its conversation changed (`updated_at` = now, so readers that follow
/// changed conversations — the reports — look at it again) and record the `message.updated`
/// event. Returns the event to publish after commit and the conversation.
pub async fn amended(tx: &mut Tx, message_id: &str) -> StoreResult<(Event, Conversation)> {
    let message = crate::conversations::message(tx.conn(), message_id).await?;
    sqlx::query("UPDATE conversations SET updated_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(&message.conversation_id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    let conv = crate::conversations::get(tx.conn(), &message.conversation_id).await?;
    let ev = events::about_conversation(
        "message.updated",
        message.into_event_data(),
        &conv.id,
        &conv.customer_id,
        conv.assignee_id.as_deref(),
    );
    events::record(tx, &ev).await?;
    Ok((ev, conv))
}
