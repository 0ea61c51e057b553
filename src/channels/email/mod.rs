//! The email channel: inbound mail (HTTP push or IMAP polling) becomes conversations and
//! messages; agent replies leave through a durable outbox sent over SMTP.
//!
//! - [`inbound`]: parse, quarantine, thread, store (idempotent by `Message-ID`).
//! - [`batch`]: a fetch or a group of pushes stored as one set (lookups and multi-row inserts
//!   for the whole batch); [`message`]: what a mail becomes as a message, for both paths.
//! - [`push`]: mail pushed over HTTP, group-committed like an IMAP fetch.
//! - [`quarantine`]: admins ingest quarantined mail again or discard it.
//! - [`mailboxes`], [`mailbox_routes`]: IMAP/SMTP account settings (admin only).
//! - [`outbox`]: replies and acknowledgements queued inside the agent's transaction, sent by
//!   [`OutboxWorker`] ([`sender`]) with a stable `Message-ID`.
//!   Mailbox passwords are encrypted at rest ([`crate::secrets`]).
//! - [`imap`]: [`ImapWorker`] polls each mailbox and feeds [`inbound`].
//! - [`tls`]: the roots trusted by IMAP and SMTP TLS (`email.extra_ca_file`).

mod batch;
pub mod delivery;
pub mod idle;
pub mod imap;
pub mod imap_conn;
pub mod inbound;
pub mod mailbox_guard;
mod mailbox_routes;
pub mod mailboxes;
mod message;
pub mod outbox;
pub mod outcome;
pub mod push;
pub mod quarantine;
mod reply;
pub mod routes;
pub mod sender;
pub mod tls;

use crate::state::AppState;
use axum::Router;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

pub use imap::ImapWorker;
pub use sender::OutboxWorker;

/// Largest raw message accepted (HTTP body and IMAP fetch).
pub const MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;
/// Largest single attachment kept; bigger ones are listed as dropped.
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;
/// How often the outbox is checked for due mail.
pub const OUTBOX_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// Timeout for one SMTP or IMAP network operation.
pub const NETWORK_TIMEOUT: Duration = Duration::from_secs(30);
/// Sending attempts before a transiently failing message is given up.
pub const MAX_SEND_ATTEMPTS: i64 = 8;
/// Domain for our `Message-ID`s when the mailbox address has none usable.
pub const FALLBACK_DOMAIN: &str = "switchboard.invalid";

/// The parser limits used for every inbound message.
pub fn limits() -> switchboard_mail::Limits {
    switchboard_mail::Limits {
        max_message_bytes: MAX_MESSAGE_BYTES,
        max_attachment_bytes: MAX_ATTACHMENT_BYTES,
    }
}

/// Routes under `/api/v1` (described in the OpenAPI document).
pub fn router() -> OpenApiRouter<AppState> {
    routes::router()
        .merge(quarantine::router())
        .merge(mailbox_routes::router())
}

/// Routes outside `/api/v1` (sockets, scripts).
pub fn public_routes() -> Router<AppState> {
    Router::new()
}

/// Background workers of this channel, stopped by `stop`: the outbox sender and the IMAP
/// poller (not on a node with `email.imap_poll_secs = 0`).
pub fn spawn_workers(state: &AppState, stop: CancellationToken) -> Vec<JoinHandle<()>> {
    if let Err(e) = tls::extra_roots(&state.settings.email) {
        tracing::error!(error = %format!("{e:#}"), "TLS connections to mail servers will fail");
    }
    let mut workers = vec![tokio::spawn(
        OutboxWorker::new(state.clone()).run_until_stopped(stop.clone()),
    )];
    if state.settings.email.imap_poll_secs > 0 {
        workers.push(tokio::spawn(
            ImapWorker::new(state.clone()).run_until_stopped(stop),
        ));
    }
    workers
}

/// Email replies go out through the SMTP outbox; agent replies in offline chats whose visitor
/// left an address are copied there too. Both are written in the reply's own transaction.
pub fn register_outbound(o: &mut crate::conversations::outbound::Outbound) {
    o.add_step("email", |tx, conv, m| {
        Box::pin(outbox::enqueue_reply(tx, conv, m))
    });
    o.add_step("chat", |tx, conv, m| {
        Box::pin(outbox::enqueue_chat_copy(tx, conv, m))
    });
    o.annotate_with(|conn, id, messages| Box::pin(delivery::annotate(conn, id, messages)));
}
