//! Waiting for new mail with IMAP IDLE where the server supports it, so mail is picked up within
//! moments instead of at the next poll; servers without IDLE (or any failure) fall back to the
//! poll interval.

use super::mailboxes::{self, Mailbox};
use crate::state::AppState;
use futures::FutureExt;
use std::time::Duration;

/// With no IMAP mailbox configured, look again after this long (a new one may be added).
const EMPTY_RECHECK: Duration = Duration::from_secs(5);

/// Return when any IMAP mailbox reports a change, or after `timeout` at the latest.
pub async fn wait_for_mail(state: &AppState, timeout: Duration) {
    let all = match state.store.pool().acquire().await {
        Ok(mut conn) => mailboxes::load_all(&mut conn).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let waits: Vec<_> = all
        .iter()
        .filter(|m| m.imap_host.is_some())
        .map(|m| idle_one(state, m, timeout).boxed())
        .collect();
    if waits.is_empty() {
        tokio::time::sleep(timeout.min(EMPTY_RECHECK)).await;
        return;
    }
    let _ = tokio::time::timeout(timeout, futures::future::select_all(waits)).await;
}

/// IDLE on one mailbox's folder until the server reports something; without IDLE support,
/// or on any error, simply wait out `timeout`.
async fn idle_one(state: &AppState, mailbox: &Mailbox, timeout: Duration) {
    let result: anyhow::Result<bool> = async {
        let password = mailbox.imap_secret(&state.secrets)?;
        let mut session =
            super::imap_conn::connect(&state.settings.email, mailbox, &password).await?;
        if !session.capabilities().await?.has_str("IDLE") {
            let _ = session.logout().await;
            return Ok(false);
        }
        session.select(&mailbox.imap_folder).await?;
        let mut idle = session.idle();
        idle.init().await?;
        let (wait, _stop) = idle.wait_with_timeout(timeout);
        let _ = wait.await?;
        if let Ok(mut session) = idle.done().await {
            let _ = session.logout().await;
        }
        Ok(true)
    }
    .await;
    match result {
        Ok(true) => {}
        Ok(false) => tokio::time::sleep(timeout).await,
        Err(e) => {
            tracing::debug!(mailbox = %mailbox.id, error = %format!("{e:#}"), "IMAP IDLE unavailable");
            tokio::time::sleep(timeout).await;
        }
    }
}
