//! [`OutboxWorker`]: sends due outbox rows over SMTP with the mailbox's settings. Transient
//! failures (4xx, connection trouble) retry with exponential backoff; permanent ones (5xx, bad
//! configuration) fail the row and leave a note for the agents in the conversation.

use super::delivery;
use super::mailboxes::{self, Mailbox};
use super::outbox::failure_note;
use crate::settings::EmailSettings;
use crate::state::AppState;
use crate::store::{now_ms, StoreError, StoreResult};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::json;
use switchboard_mail::Reply;
use tokio_util::sync::CancellationToken;

const LEASE_MS: i64 = 120_000;
const BASE_BACKOFF_MS: i64 = 30_000;
const MAX_BACKOFF_MS: i64 = 3_600_000;

/// Sends due outbox rows over SMTP.
#[derive(Clone)]
pub struct OutboxWorker {
    state: AppState,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    conversation_id: String,
    message_id: Option<String>,
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
    /// A worker over the store, settings and bus in `state`.
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
            "SELECT id, conversation_id, message_id, mailbox_id, kind, rfc_message_id, to_address, \
               to_name, subject, token, body, in_reply_to, refs, attempts FROM email_outbox WHERE id = $1",
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
        if let Some(message_id) = &row.message_id {
            let sent_at = (status == "sent").then_some(now);
            let state =
                delivery::state(status, attempts, error.as_deref(), &row.to_address, sent_at);
            let ev = delivery::event(&mut tx, &row.conversation_id, message_id, state).await?;
            events.push(ev);
        }
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
            attachments: match (&row.message_id, row.kind.as_str()) {
                (Some(id), "reply") => self.files_of(id).await?,
                _ => Vec::new(),
            },
        };
        let email = if row.kind == "ack" {
            switchboard_mail::compose_ack(&reply)
        } else {
            switchboard_mail::compose_reply(&reply)
        }
        .map_err(|e| Failure::Permanent(e.to_string()))?;
        let password = mailbox
            .smtp_secret(&self.state.secrets)
            .map_err(|e| Failure::Permanent(format!("{e:#}")))?;
        let transport = transport(&self.state.settings.email, &mailbox, password)?;
        match transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(Failure::Permanent(format!(
                "rejected by the mail server: {e}"
            ))),
            Err(e) => Err(Failure::Transient(format!("temporary failure: {e}"))),
        }
    }

    /// The files an agent attached to the reply `message_id` (stored with it, in its transaction).
    async fn files_of(
        &self,
        message_id: &str,
    ) -> Result<Vec<switchboard_mail::OutgoingFile>, Failure> {
        let rows: Vec<(String, String, Vec<u8>)> = sqlx::query_as(
            "SELECT filename, content_type, data FROM email_attachments \
             WHERE message_id = $1 ORDER BY created_at, id",
        )
        .bind(message_id)
        .fetch_all(self.state.store.pool())
        .await
        .map_err(|e| Failure::Transient(format!("database: {e}")))?;
        Ok(rows
            .into_iter()
            .map(
                |(filename, content_type, data)| switchboard_mail::OutgoingFile {
                    filename,
                    content_type,
                    data,
                },
            )
            .collect())
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

/// An SMTP client for the mailbox's settings; TLS trusts the Mozilla roots plus
/// `email.extra_ca_file` (see [`super::tls`]). A broken CA bundle is the server's own
/// configuration, fixable without touching the mail: such sends are retried.
fn transport(
    settings: &EmailSettings,
    m: &Mailbox,
    password: Option<String>,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, Failure> {
    type T = AsyncSmtpTransport<Tokio1Executor>;
    let host = m.smtp_host.as_deref().ok_or_else(|| {
        Failure::Permanent("the mailbox has no SMTP server configured".to_string())
    })?;
    let mode = m.smtp_tls.as_str();
    let mut b = match mode {
        "tls" | "starttls" => {
            let mut params = TlsParameters::builder(host.to_string());
            let extra = super::tls::extra_roots(settings)
                .map_err(|e| Failure::Transient(format!("{e:#}")))?;
            for der in extra {
                let cert = Certificate::from_der(der.to_vec())
                    .map_err(|e| Failure::Transient(format!("email.extra_ca_file: {e}")))?;
                params = params.add_root_certificate(cert);
            }
            let params = params
                .build()
                .map_err(|e| Failure::Permanent(format!("TLS setup: {e}")))?;
            // Same ports and guarantees as lettre's `relay` / `starttls_relay`: STARTTLS is
            // required, never skipped when the server does not offer it.
            let (tls, port) = if mode == "tls" {
                (
                    Tls::Wrapper(params),
                    lettre::transport::smtp::SUBMISSIONS_PORT,
                )
            } else {
                (
                    Tls::Required(params),
                    lettre::transport::smtp::SUBMISSION_PORT,
                )
            };
            T::builder_dangerous(host).port(port).tls(tls)
        }
        _ => T::builder_dangerous(host),
    };
    if let Some(p) = m.smtp_port {
        b = b.port(p as u16);
    }
    if let (Some(u), Some(p)) = (&m.smtp_user, password) {
        b = b.credentials(Credentials::new(u.clone(), p));
    }
    Ok(b.timeout(Some(super::NETWORK_TIMEOUT)).build())
}
