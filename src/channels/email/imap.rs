//! IMAP ingestion: each mailbox's folder is polled; messages with a UID above the last one
//! stored are fetched in groups (without marking them read), each group stored through
//! [`super::inbound::ingest_batch`] in one transaction that also moves
//! `email_imap_state.last_uid`, and only after that commit flagged `\Seen`. A crash before the
//! commit re-fetches the group next time; `Message-ID` idempotency stores each message once.
//! A crash between the commit and the flagging is caught up by the next pass: it flags every
//! UID above `seen_uid` (saved at the end of each pass) up to `last_uid`.
//! A lease on the state row keeps two nodes off the same mailbox. Mailbox changes announced on
//! the bus wake the worker at once, so a new or fixed mailbox does not wait for the next poll.

use super::inbound::{self, Outcome};
use super::mailboxes::{self, Mailbox};
use crate::bus::Event;
use crate::state::AppState;
use crate::store::now_ms;
use anyhow::Context;
use futures::TryStreamExt;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

/// Messages fetched per mailbox per pass.
pub const BATCH: usize = 100;

/// Most messages fetched with one command and stored in one transaction.
const GROUP: usize = 50;

/// Most bytes (by `RFC822.SIZE`) fetched with one command; a bigger message goes alone.
const GROUP_BYTES: u64 = 16 * 1024 * 1024;

/// `uids` (sorted) split into fetch groups of at most [`GROUP`] messages and [`GROUP_BYTES`].
async fn groups(
    session: &mut super::imap_conn::Session,
    uids: &[u32],
) -> anyhow::Result<Vec<Vec<u32>>> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let set = uid_set(uids);
    let sizes: std::collections::HashMap<u32, u64> = session
        .uid_fetch(&set, "(UID RFC822.SIZE)")
        .await
        .context("reading message sizes")?
        .try_collect::<Vec<_>>()
        .await
        .context("reading message sizes")?
        .iter()
        .filter_map(|f| Some((f.uid?, u64::from(f.size.unwrap_or(0)))))
        .collect();
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut bytes = 0;
    for uid in uids {
        let size = sizes.get(uid).copied().unwrap_or(0);
        match out.last_mut() {
            Some(g) if g.len() < GROUP && bytes + size <= GROUP_BYTES => {
                g.push(*uid);
                bytes += size;
            }
            _ => {
                out.push(vec![*uid]);
                bytes = size;
            }
        }
    }
    Ok(out)
}

/// `1,2,5` — an IMAP sequence set of UIDs.
fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Flag the messages of `set` (UIDs) `\Seen` on the server.
async fn flag_seen(session: &mut super::imap_conn::Session, set: &str) -> anyhow::Result<()> {
    let _: Vec<_> = session
        .uid_store(set, "+FLAGS.SILENT (\\Seen)")
        .await
        .with_context(|| format!("flagging UIDs {set}"))?
        .try_collect()
        .await
        .with_context(|| format!("flagging UIDs {set}"))?;
    Ok(())
}

/// Polls mailboxes over IMAP.
#[derive(Clone)]
pub struct ImapWorker {
    state: AppState,
    batch: usize,
}

/// What one pass over a mailbox did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// Messages fetched from the server.
    pub fetched: usize,
    /// New messages stored.
    pub stored: usize,
    /// Already stored (same `Message-ID`).
    pub duplicates: usize,
    /// Unparseable, put in quarantine.
    pub quarantined: usize,
    /// False when another node holds the mailbox's lease.
    pub ran: bool,
    /// The last UID flagged `\Seen` by the end of the pass (saved as `seen_uid`).
    pub seen_uid: Option<i64>,
}

impl ImapWorker {
    /// A worker over the store and settings in `state`.
    pub fn new(state: AppState) -> Self {
        ImapWorker {
            state,
            batch: BATCH,
        }
    }

    /// How long this node owns a mailbox without renewing (`email.imap_lease_secs`); renewed
    /// with every stored group, so a node that died mid-batch hands over within this time.
    fn lease_ms(&self) -> i64 {
        self.state.settings.email.imap_lease_secs as i64 * 1000
    }

    /// Fetch at most `n` messages per pass.
    pub fn with_batch(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }

    /// One pass over one mailbox.
    pub async fn run_once(&self, mailbox_id: &str) -> anyhow::Result<PassReport> {
        let pool = self.state.store.pool();
        let mailbox = {
            let mut conn = pool.acquire().await?;
            mailboxes::load(&mut conn, mailbox_id)
                .await
                .context("loading mailbox")?
        };
        sqlx::query(
            "INSERT INTO email_imap_state (mailbox_id, last_uid) VALUES ($1, 0) \
             ON CONFLICT (mailbox_id) DO NOTHING",
        )
        .bind(mailbox_id)
        .execute(pool)
        .await?;
        let now = now_ms();
        let claimed = sqlx::query(
            "UPDATE email_imap_state SET locked_until = $1 WHERE mailbox_id = $2 \
               AND (locked_until IS NULL OR locked_until < $3)",
        )
        .bind(now + self.lease_ms())
        .bind(mailbox_id)
        .bind(now)
        .execute(pool)
        .await?;
        if claimed.rows_affected() != 1 {
            return Ok(PassReport::default());
        }
        let result = self.pass(&mailbox).await;
        let error = result.as_ref().err().map(|e| format!("{e:#}"));
        let seen_uid = result.as_ref().ok().and_then(|r| r.seen_uid);
        sqlx::query(
            "UPDATE email_imap_state SET locked_until = NULL, last_error = $1, last_run_at = $2, \
               seen_uid = COALESCE($3, seen_uid) WHERE mailbox_id = $4",
        )
        .bind(&error)
        .bind(now_ms())
        .bind(seen_uid)
        .bind(mailbox_id)
        .execute(pool)
        .await?;
        result
    }

    async fn pass(&self, mailbox: &Mailbox) -> anyhow::Result<PassReport> {
        let pool = self.state.store.pool();
        let password = mailbox.imap_secret(&self.state.secrets)?;
        let mut session =
            super::imap_conn::connect(&self.state.settings.email, mailbox, &password).await?;
        let selected = session
            .select(&mailbox.imap_folder)
            .await
            .with_context(|| format!("selecting folder {}", mailbox.imap_folder))?;
        let (stored_validity, mut last_uid, seen_uid): (Option<i64>, i64, i64) = sqlx::query_as(
            "SELECT uidvalidity, last_uid, seen_uid FROM email_imap_state WHERE mailbox_id = $1",
        )
        .bind(&mailbox.id)
        .fetch_one(pool)
        .await?;
        let validity = selected.uid_validity.map(i64::from);
        if validity != stored_validity {
            // New UID numbering: start over; Message-ID idempotency prevents duplicates.
            last_uid = 0;
            sqlx::query(
                "UPDATE email_imap_state SET uidvalidity = $1, last_uid = 0, seen_uid = 0 \
                 WHERE mailbox_id = $2",
            )
            .bind(validity)
            .bind(&mailbox.id)
            .execute(pool)
            .await?;
        } else if seen_uid < last_uid {
            // Stored (the position moved in their transaction) but never flagged: the node
            // stopped between the commit and the flagging.
            flag_seen(&mut session, &format!("{}:{last_uid}", seen_uid + 1)).await?;
        }
        let mut report = PassReport {
            ran: true,
            seen_uid: Some(last_uid),
            ..PassReport::default()
        };
        let mut uids: Vec<u32> = session
            .uid_search(format!("UID {}:*", last_uid + 1))
            .await
            .context("searching for new messages")?
            .into_iter()
            .filter(|u| i64::from(*u) > last_uid)
            .collect();
        uids.sort_unstable();
        uids.truncate(self.batch);
        for group in groups(&mut session, &uids).await? {
            let set = uid_set(&group);
            let fetches: Vec<_> = session
                .uid_fetch(&set, "(UID BODY.PEEK[])")
                .await
                .with_context(|| format!("fetching UIDs {set}"))?
                .try_collect()
                .await
                .with_context(|| format!("fetching UIDs {set}"))?;
            let mut raws = Vec::with_capacity(group.len());
            let mut got = Vec::with_capacity(group.len());
            for uid in &group {
                // Missing ones were expunged between search and fetch: move past them.
                let body = fetches
                    .iter()
                    .find(|f| f.uid == Some(*uid))
                    .and_then(|f| f.body());
                if let Some(body) = body {
                    raws.push(body.to_vec());
                    got.push(*uid);
                }
            }
            report.fetched += raws.len();
            // The group is stored in one transaction together with the new last UID.
            let mark = inbound::ImapMark {
                last_uid: i64::from(*group.last().expect("groups are never empty")),
                locked_until: now_ms() + self.lease_ms(),
            };
            for outcome in
                inbound::ingest_batch(&self.state, Some(mailbox), &raws, Some(mark)).await?
            {
                match outcome {
                    Outcome::Stored { .. } => report.stored += 1,
                    Outcome::Duplicate { .. } => report.duplicates += 1,
                    Outcome::Quarantined { .. } => report.quarantined += 1,
                }
            }
            // Stored durably: now mark them read on the server.
            if !got.is_empty() {
                flag_seen(&mut session, &uid_set(&got)).await?;
            }
            report.seen_uid = Some(mark.last_uid);
        }
        let _ = session.logout().await;
        Ok(report)
    }

    /// One pass over every mailbox with an IMAP server; true when some mailbox filled a whole
    /// batch (more mail is probably waiting, so the next pass should not wait).
    pub async fn run_all(&self) -> bool {
        let all = match self.state.store.pool().acquire().await {
            Ok(mut conn) => mailboxes::load_all(&mut conn).await.unwrap_or_default(),
            Err(_) => return false,
        };
        let mut more = false;
        for m in all.into_iter().filter(|m| m.imap_host.is_some()) {
            match self.run_once(&m.id).await {
                Ok(r) => more |= r.fetched >= self.batch,
                Err(e) => {
                    tracing::warn!(mailbox = %m.id, error = %format!("{e:#}"), "IMAP pass failed")
                }
            }
        }
        more
    }

    /// Run a pass whenever IMAP IDLE reports new mail, whenever a mailbox is created, changed
    /// or deleted (on any node: [`mailboxes::MAILBOX_CHANGED`] on the bus), and at least every
    /// `email.imap_poll_secs`, until `stop` is cancelled; a backlog is drained batch after
    /// batch without waiting in between.
    pub async fn run_until_stopped(self, stop: CancellationToken) {
        let interval = std::time::Duration::from_secs(self.state.settings.email.imap_poll_secs);
        // Subscribed for the worker's lifetime: a change made during a pass is still seen.
        let mut events = self.state.bus.subscribe();
        let mut more = false;
        loop {
            if !more {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = super::idle::wait_for_mail(&self.state, interval) => {}
                    _ = mailbox_changed(&mut events) => {}
                }
            }
            more = tokio::select! {
                _ = stop.cancelled() => return,
                more = self.run_all() => more,
            };
        }
    }
}

/// Return at the next [`mailboxes::MAILBOX_CHANGED`] event (or when some events were missed,
/// one of them may have been a change); never when the bus is gone.
async fn mailbox_changed(events: &mut broadcast::Receiver<std::sync::Arc<Event>>) {
    loop {
        match events.recv().await {
            Ok(ev) if ev.kind == mailboxes::MAILBOX_CHANGED => return,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return,
            Err(RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}
