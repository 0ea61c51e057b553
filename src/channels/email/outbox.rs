//! The durable outbox: replies and acknowledgements are written in the same transaction as
//! the message they carry, each with a `Message-ID` fixed at that moment, then sent over SMTP
//! by [`super::OutboxWorker`] (several nodes may run it: rows are claimed with a lease).

use super::mailboxes::{self, Mailbox};
use super::outcome::Outcome;
use crate::bus::Event;
use crate::conversations::{self as convs, Actor, Conversation, Message, NewMessage};
use crate::store::{new_id, now_ms, StoreError, StoreResult, Tx};
use serde_json::{json, Value};
use switchboard_mail::ParsedEmail;

/// Queue an agent's reply on an email conversation for sending; a no-op for internal notes
/// and other channels. Call inside the transaction that appended `message`.
pub async fn enqueue_reply(tx: &mut Tx, conv: &Conversation, message: &Message) -> StoreResult<()> {
    if conv.channel != "email" || message.internal {
        return Ok(());
    }
    let last: Option<(Option<String>, String)> = sqlx::query_as(
        "SELECT external_id, meta FROM messages WHERE conversation_id = $1 AND channel = 'email' \
           AND author_kind = 'customer' ORDER BY seq DESC LIMIT 1",
    )
    .bind(&conv.id)
    .fetch_optional(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let meta: Value = last
        .as_ref()
        .and_then(|(_, m)| serde_json::from_str(m).ok())
        .unwrap_or(Value::Null);
    let text = |v: &Value| v.as_str().map(str::to_string);
    let mut to = text(&meta["reply_to"]["email"]).or_else(|| text(&meta["from"]["email"]));
    let mut to_name = text(&meta["from"]["name"]);
    if to.is_none() {
        let ident: Option<(String,)> = sqlx::query_as(
            "SELECT raw FROM identities WHERE customer_id = $1 AND kind = 'email' ORDER BY created_at LIMIT 1",
        )
        .bind(&conv.customer_id)
        .fetch_optional(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
        to = ident.map(|i| i.0);
        to_name = None;
    }
    let in_reply_to = match (&last, meta["message_id_synthetic"].as_bool()) {
        (Some((Some(id), _)), Some(false)) => Some(id.clone()),
        _ => None,
    };
    let refs: Vec<String> = serde_json::from_value(meta["references"].clone()).unwrap_or_default();
    let mailbox = pick_mailbox(tx, meta["mailbox_id"].as_str()).await?;
    let rfc_id = insert(
        tx,
        conv,
        Some(&message.id),
        mailbox.as_ref(),
        "reply",
        (to.unwrap_or_default(), to_name),
        &message.body,
        in_reply_to,
        &refs,
    )
    .await?;
    sqlx::query("UPDATE messages SET external_id = $1 WHERE id = $2")
        .bind(&rfc_id)
        .bind(&message.id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// A chat started while no agent was available (tagged `offline`) whose visitor left an
/// email: queue a copy of the agent's reply to that address, in the reply's own transaction.
/// The copy's Message-ID becomes the reply's external id, so an email answer to it threads
/// back into the chat conversation.
pub async fn enqueue_chat_copy(
    tx: &mut Tx,
    conv: &Conversation,
    message: &Message,
) -> StoreResult<()> {
    if conv.channel != "chat"
        || message.internal
        || message.author_kind != "agent"
        || !conv
            .tags
            .iter()
            .any(|t| t == crate::channels::chat::OFFLINE_TAG)
    {
        return Ok(());
    }
    let visitor: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT email, name FROM chat_visitors WHERE conversation_id = $1 AND email IS NOT NULL \
         ORDER BY updated_at DESC LIMIT 1",
    )
    .bind(&conv.id)
    .fetch_optional(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let Some((Some(to), name)) = visitor else {
        return Ok(());
    };
    let mailbox = pick_mailbox(tx, None).await?;
    let rfc_id = insert(
        tx,
        conv,
        Some(&message.id),
        mailbox.as_ref(),
        "reply",
        (to, name),
        &message.body,
        None,
        &[],
    )
    .await?;
    sqlx::query("UPDATE messages SET external_id = $1 WHERE id = $2")
        .bind(&rfc_id)
        .bind(&message.id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Queue an automatic acknowledgement for a conversation just opened by `parsed`.
pub(crate) async fn enqueue_ack(
    tx: &mut Tx,
    conv: &Conversation,
    mailbox: &Mailbox,
    parsed: &ParsedEmail,
) -> StoreResult<()> {
    let Some(to) = parsed
        .reply_to
        .as_ref()
        .and_then(|a| a.email.clone())
        .or_else(|| parsed.from.email.clone())
    else {
        return Ok(());
    };
    // Never acknowledge our own addresses (a loop through a forwarding rule).
    let ours: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM email_mailboxes WHERE LOWER(address) = LOWER($1)")
            .bind(&to)
            .fetch_optional(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    if ours.is_some() {
        return Ok(());
    }
    let body = format!(
        "We received your message and will answer soon. Your reference is #{}.\n\n\
         پیام شما دریافت شد و به‌زودی پاسخ می‌دهیم. شمارهٔ پیگیری: #{}",
        conv.number, conv.number
    );
    let in_reply_to = (!parsed.message_id_synthetic).then(|| parsed.message_id.clone());
    insert(
        tx,
        conv,
        None,
        Some(mailbox),
        "ack",
        (to, parsed.from.name.clone()),
        &body,
        in_reply_to,
        &parsed.references,
    )
    .await?;
    Ok(())
}

async fn pick_mailbox(tx: &mut Tx, id: Option<&str>) -> StoreResult<Option<Mailbox>> {
    if let Some(id) = id {
        match mailboxes::load(tx.conn(), id).await {
            Ok(m) => return Ok(Some(m)),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(mailboxes::load_all(tx.conn()).await?.into_iter().next())
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    tx: &mut Tx,
    conv: &Conversation,
    message_id: Option<&str>,
    mailbox: Option<&Mailbox>,
    kind: &str,
    (to, to_name): (String, Option<String>),
    body: &str,
    in_reply_to: Option<String>,
    refs: &[String],
) -> StoreResult<String> {
    let domain = mailbox
        .map(Mailbox::domain)
        .unwrap_or_else(|| super::FALLBACK_DOMAIN.into());
    let rfc_id = format!("{}@{domain}", uuid::Uuid::new_v4().simple());
    let now = now_ms();
    sqlx::query(
        "INSERT INTO email_outbox (id, conversation_id, message_id, mailbox_id, kind, rfc_message_id, \
           to_address, to_name, subject, token, body, in_reply_to, refs, status, attempts, \
           next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'pending', 0, $14, $14)",
    )
    .bind(new_id())
    .bind(&conv.id)
    .bind(message_id)
    .bind(mailbox.map(|m| m.id.clone()))
    .bind(kind)
    .bind(&rfc_id)
    .bind(&to)
    .bind(&to_name)
    .bind(&conv.subject)
    .bind(conv.number)
    .bind(body)
    .bind(&in_reply_to)
    .bind(serde_json::to_string(refs).unwrap_or_else(|_| "[]".into()))
    .bind(now)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(rfc_id)
}

/// A bounce for one of our messages: mark the outbox row failed and tell the agent in the
/// conversation. `None` when `original` is not ours.
pub(crate) async fn bounced(
    tx: &mut Tx,
    parsed: &ParsedEmail,
    original: &str,
    status: &Option<String>,
    recipient: &Option<String>,
    events: &mut Vec<Event>,
) -> StoreResult<Option<Outcome>> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT id, conversation_id FROM email_outbox WHERE rfc_message_id = $1")
            .bind(original)
            .fetch_optional(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    let Some((outbox_id, conversation_id)) = row else {
        return Ok(None);
    };
    let reason = format!(
        "bounced{}{}",
        recipient
            .as_deref()
            .map(|r| format!(" by {r}"))
            .unwrap_or_default(),
        status
            .as_deref()
            .map(|s| format!(" (status {s})"))
            .unwrap_or_default()
    );
    sqlx::query("UPDATE email_outbox SET status = 'failed', last_error = $1, locked_until = NULL WHERE id = $2")
        .bind(&reason)
        .bind(&outbox_id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    let details = json!({
        "outbox_id": outbox_id, "original_message_id": original, "status": status,
        "recipient": recipient, "bounce_message_id": parsed.message_id, "text": parsed.text,
    });
    let message_id = failure_note(
        tx,
        &conversation_id,
        &format!("Email delivery failed: {reason}."),
        Some(parsed.message_id.clone()),
        details,
        events,
    )
    .await?;
    Ok(Some(Outcome::Stored {
        conversation_id,
        message_id,
        new_conversation: false,
    }))
}

/// An internal system message telling agents a delivery failed, plus the history event.
pub(crate) async fn failure_note(
    tx: &mut Tx,
    conversation_id: &str,
    body: &str,
    external_id: Option<String>,
    details: Value,
    events: &mut Vec<Event>,
) -> StoreResult<String> {
    let note = NewMessage {
        author_kind: "system",
        author_id: None,
        body: body.to_string(),
        internal: true,
        channel: "email".into(),
        external_id,
        meta: json!({ "kind": "email_delivery_failed", "details": details.clone() }),
        at: None,
    };
    let (message, ev) = convs::append_message(tx, conversation_id, note, &Actor::system()).await?;
    events.extend(ev);
    // Also a history entry and `conversation.email_delivery_failed` webhook event.
    let conv = convs::get(tx.conn(), conversation_id).await?;
    events.push(
        convs::record(
            tx,
            &conv,
            "email_delivery_failed",
            &Actor::system(),
            details,
        )
        .await?,
    );
    Ok(message.id)
}
