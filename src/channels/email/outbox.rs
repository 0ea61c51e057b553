//! The durable outbox: replies and acknowledgements are written in the same transaction as
//! the message they carry, each with a `Message-ID` fixed at that moment, then sent over SMTP
//! by [`OutboxWorker`] (several nodes may run it: rows are claimed with a lease).

use super::inbound::Outcome;
use super::mailboxes::{self, Mailbox};
use crate::bus::Event;
use crate::conversations::{self as convs, Actor, Conversation, Message, NewMessage};
use crate::state::AppState;
use crate::store::{new_id, now_ms, StoreError, StoreResult, Tx};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::{json, Value};
use switchboard_mail::{ParsedEmail, Reply};
use tokio_util::sync::CancellationToken;

const LEASE_MS: i64 = 120_000;
const BASE_BACKOFF_MS: i64 = 30_000;
const MAX_BACKOFF_MS: i64 = 3_600_000;

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

/// An internal system message telling agents a delivery failed.
async fn failure_note(
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
        meta: json!({ "kind": "email_delivery_failed", "details": details }),
        at: None,
    };
    let (message, ev) = convs::append_message(tx, conversation_id, note, &Actor::system()).await?;
    events.extend(ev);
    Ok(message.id)
}

/// Sends due outbox rows over SMTP.
#[derive(Clone)]
pub struct OutboxWorker {
    state: AppState,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    conversation_id: String,
    mailbox_id: Option<String>,
    kind: String,
    rfc_message_id: String,
    to_address: String,
    to_name: Option<String>,
    subject: String,
    token: i64,
    body: String,
    in_reply_to: Option<String>,
    refs: String,
    attempts: i64,
}

/// Why a send failed: worth retrying or not.
enum Failure {
    Transient(String),
    Permanent(String),
}

impl OutboxWorker {
    pub fn new(state: AppState) -> Self {
        OutboxWorker { state }
    }

    /// Try every due row once; returns how many were attempted.
    pub async fn run_once(&self) -> StoreResult<usize> {
        let now = now_ms();
        let due: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM email_outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
               AND (locked_until IS NULL OR locked_until < $1) ORDER BY created_at LIMIT 50",
        )
        .bind(now)
        .fetch_all(self.state.store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let mut attempted = 0;
        for (id,) in due {
            let claimed = sqlx::query(
                "UPDATE email_outbox SET locked_until = $1 WHERE id = $2 AND status = 'pending' \
                   AND (locked_until IS NULL OR locked_until < $3)",
            )
            .bind(now + LEASE_MS)
            .bind(&id)
            .bind(now)
            .execute(self.state.store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
            if claimed.rows_affected() == 1 {
                self.send(&id).await?;
                attempted += 1;
            }
        }
        Ok(attempted)
    }

    async fn send(&self, id: &str) -> StoreResult<()> {
        let row: Row = sqlx::query_as(
            "SELECT id, conversation_id, mailbox_id, kind, rfc_message_id, to_address, to_name, \
               subject, token, body, in_reply_to, refs, attempts FROM email_outbox WHERE id = $1",
        )
        .bind(id)
        .fetch_one(self.state.store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let result = self.try_send(&row).await;
        let attempts = row.attempts + 1;
        let now = now_ms();
        let mut tx = self.state.store.begin().await?;
        let mut events = Vec::new();
        let (status, error) = match result {
            Ok(()) => ("sent", None),
            Err(Failure::Transient(e)) if attempts < super::MAX_SEND_ATTEMPTS => {
                ("pending", Some(e))
            }
            Err(Failure::Transient(e) | Failure::Permanent(e)) => {
                let details = json!({ "outbox_id": row.id, "error": e, "attempts": attempts, "to": row.to_address });
                let body = format!("Email to {} could not be sent: {e}", row.to_address);
                failure_note(
                    &mut tx,
                    &row.conversation_id,
                    &body,
                    None,
                    details,
                    &mut events,
                )
                .await?;
                ("failed", Some(e))
            }
        };
        let backoff = (BASE_BACKOFF_MS << (attempts - 1).clamp(0, 16)).min(MAX_BACKOFF_MS);
        sqlx::query(
            "UPDATE email_outbox SET status = $1, attempts = $2, next_attempt_at = $3, locked_until = NULL, \
               last_error = $4, sent_at = $5 WHERE id = $6",
        )
        .bind(status)
        .bind(attempts)
        .bind(now + backoff)
        .bind(&error)
        .bind((status == "sent").then_some(now))
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
        tx.commit().await?;
        metrics::counter!("switchboard_email_outbox_total", "status" => status).increment(1);
        if let Some(e) = &error {
            tracing::warn!(outbox_id = %id, status, error = %e, "email send failed");
        }
        for ev in events {
            self.state.bus.publish(ev).await;
        }
        Ok(())
    }

    async fn try_send(&self, row: &Row) -> Result<(), Failure> {
        let mailbox = match &row.mailbox_id {
            Some(mid) => {
                let mut conn = self
                    .state
                    .store
                    .pool()
                    .acquire()
                    .await
                    .map_err(|e| Failure::Transient(format!("database: {e}")))?;
                mailboxes::load(&mut conn, mid).await.ok()
            }
            None => None,
        };
        let mailbox = mailbox.ok_or_else(|| {
            Failure::Permanent("no mailbox is configured for this conversation".into())
        })?;
        if row.to_address.is_empty() {
            return Err(Failure::Permanent(
                "the customer has no email address".into(),
            ));
        }
        let reply = Reply {
            from: (Some(mailbox.name.clone()), mailbox.address.clone()),
            to: vec![(row.to_name.clone(), row.to_address.clone())],
            subject: row.subject.clone(),
            token: row.token,
            body_text: row.body.clone(),
            in_reply_to: row.in_reply_to.clone(),
            references: serde_json::from_str(&row.refs).unwrap_or_default(),
            message_id: row.rfc_message_id.clone(),
        };
        let email = if row.kind == "ack" {
            switchboard_mail::compose_ack(&reply)
        } else {
            switchboard_mail::compose_reply(&reply)
        }
        .map_err(|e| Failure::Permanent(e.to_string()))?;
        let transport = transport(&mailbox).map_err(Failure::Permanent)?;
        match transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(Failure::Permanent(format!(
                "rejected by the mail server: {e}"
            ))),
            Err(e) => Err(Failure::Transient(format!("temporary failure: {e}"))),
        }
    }

    /// Poll until `stop` is cancelled.
    pub async fn run_until_stopped(self, stop: CancellationToken) {
        loop {
            if let Err(e) = self.run_once().await {
                tracing::warn!(error = %e, "email outbox pass failed");
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(super::OUTBOX_POLL_INTERVAL) => {}
            }
        }
    }
}

/// An SMTP client for the mailbox's settings.
fn transport(m: &Mailbox) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    type T = AsyncSmtpTransport<Tokio1Executor>;
    let host = m
        .smtp_host
        .as_deref()
        .ok_or_else(|| "the mailbox has no SMTP server configured".to_string())?;
    let mut b = match m.smtp_tls.as_str() {
        "tls" => T::relay(host).map_err(|e| e.to_string())?,
        "starttls" => T::starttls_relay(host).map_err(|e| e.to_string())?,
        _ => T::builder_dangerous(host),
    };
    if let Some(p) = m.smtp_port {
        b = b.port(p as u16);
    }
    if let (Some(u), Some(p)) = (&m.smtp_user, &m.smtp_password) {
        b = b.credentials(Credentials::new(u.clone(), p.clone()));
    }
    Ok(b.timeout(Some(super::NETWORK_TIMEOUT)).build())
}
