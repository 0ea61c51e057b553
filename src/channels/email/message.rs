//! What an inbound email becomes as a conversation message — its text, the headers and parts
//! kept in `meta`, its attachments — shared by the one-message path ([`super::inbound`]) and
//! the set-based batch ([`super::batch`]), so both store exactly the same rows.

use super::mailboxes::Mailbox;
use crate::store::{new_id, now_ms, StoreError, StoreResult, Tx};
use serde_json::{json, Value};
use switchboard_mail::{Address, Attachment, AutoKind, ParsedEmail};

/// A message's stored form.
pub struct Built<'a> {
    pub body: String,
    pub meta: Value,
    /// Attachments with the ids they are stored under.
    pub attachments: Vec<(String, &'a Attachment)>,
}

/// The stored form of `parsed`, received for `mailbox`; `usable_sender` says whether its
/// sender had an address a customer could be found by. Bodies longer than `max_chars` are
/// cut (and marked `truncated`).
pub fn build<'a>(
    parsed: &'a ParsedEmail,
    mailbox: Option<&Mailbox>,
    usable_sender: bool,
    max_chars: usize,
) -> Built<'a> {
    let attachments: Vec<(String, &Attachment)> =
        parsed.attachments.iter().map(|a| (new_id(), a)).collect();
    let mut body = if parsed.text_unquoted.trim().is_empty() {
        parsed.text.trim().to_string()
    } else {
        parsed.text_unquoted.trim().to_string()
    };
    let truncated = body.chars().count() > max_chars;
    if truncated {
        body = body.chars().take(max_chars).collect();
    }
    let meta = json!({
        "mailbox_id": mailbox.map(|m| m.id.clone()),
        "message_id": parsed.message_id,
        "message_id_synthetic": parsed.message_id_synthetic,
        "in_reply_to": parsed.in_reply_to,
        "references": parsed.references,
        "subject": parsed.subject,
        "from": addr(&parsed.from),
        "reply_to": parsed.reply_to.as_ref().map(addr),
        "to": parsed.to.iter().map(addr).collect::<Vec<_>>(),
        "cc": parsed.cc.iter().map(addr).collect::<Vec<_>>(),
        "date": parsed.date,
        "sender_unusable": !usable_sender,
        "text": parsed.text,
        "text_unquoted": parsed.text_unquoted,
        "html_sanitized": parsed.html_sanitized,
        "auto": auto_kind(&parsed.auto),
        "truncated": truncated,
        "size": parsed.size,
        "attachments": attachments.iter().map(|(id, a)| json!({
            "id": id, "filename": a.filename, "content_type": a.content_type,
            "size": a.data.len(), "inline": a.inline, "content_id": a.content_id,
        })).collect::<Vec<_>>(),
        "dropped_attachments": parsed.dropped_attachments.iter()
            .map(|(f, s)| json!({"filename": f, "size": s})).collect::<Vec<_>>(),
    });
    Built {
        body,
        meta,
        attachments,
    }
}

/// Whether a message is written by a person (it reopens a finished conversation; auto-replies
/// and bounces do not).
pub fn personal(parsed: &ParsedEmail) -> bool {
    matches!(parsed.auto, AutoKind::None | AutoKind::Bulk)
}

/// The subject a conversation opened by `parsed` gets.
pub fn subject(parsed: &ParsedEmail) -> String {
    switchboard_mail::strip_reply_prefixes(&parsed.subject)
        .chars()
        .take(998)
        .collect()
}

/// An attachment row: received with a message, or uploaded with an agent's reply.
pub struct AttachmentRow<'a> {
    pub id: &'a str,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub content_id: Option<&'a str>,
    pub inline: bool,
    pub data: &'a [u8],
}

impl<'a> AttachmentRow<'a> {
    /// The row of attachment `a` of a received message, stored as `id`.
    pub fn received(id: &'a str, a: &'a Attachment) -> Self {
        AttachmentRow {
            id,
            filename: &a.filename,
            content_type: &a.content_type,
            content_id: a.content_id.as_deref(),
            inline: a.inline,
            data: &a.data,
        }
    }
}

/// Store the attachments of received message `message_id` in conversation `conv_id`.
pub async fn insert_attachments(
    tx: &mut Tx,
    message_id: &str,
    conv_id: &str,
    attachments: &[(String, &Attachment)],
) -> StoreResult<()> {
    let rows: Vec<_> = attachments
        .iter()
        .map(|(id, a)| AttachmentRow::received(id, a))
        .collect();
    insert_attachment_rows(tx, message_id, conv_id, &rows).await
}

/// Store `rows`, the attachments of message `message_id` in conversation `conv_id` (the one
/// place that writes `email_attachments`).
pub async fn insert_attachment_rows(
    tx: &mut Tx,
    message_id: &str,
    conv_id: &str,
    rows: &[AttachmentRow<'_>],
) -> StoreResult<()> {
    for a in rows {
        sqlx::query(
            "INSERT INTO email_attachments (id, message_id, conversation_id, filename, content_type, \
               content_id, inline, size, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(a.id)
        .bind(message_id)
        .bind(conv_id)
        .bind(a.filename)
        .bind(a.content_type)
        .bind(a.content_id)
        .bind(a.inline as i64)
        .bind(a.data.len() as i64)
        .bind(a.data)
        .bind(now_ms())
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

fn auto_kind(auto: &AutoKind) -> Value {
    match auto {
        AutoKind::None => Value::Null,
        AutoKind::AutoReply => json!("auto_reply"),
        AutoKind::Bulk => json!("bulk"),
        AutoKind::Bounce { .. } => json!("bounce"),
    }
}

fn addr(a: &Address) -> Value {
    json!({ "email": a.email, "name": a.name })
}
