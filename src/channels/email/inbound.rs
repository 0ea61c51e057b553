//! One inbound message, from HTTP or IMAP, into storage: parse (or quarantine), deduplicate by
//! `Message-ID`, thread, match the sender, store text, sanitised HTML and attachments, reopen,
//! acknowledge. Everything happens in one transaction; events are published after commit.

use super::mailboxes::{self, Mailbox};
pub use super::outcome::Outcome;
use super::{batch, message, outbox};
use crate::conversations::{self as convs, Actor, NewConversation, NewMessage};
use crate::state::AppState;
use crate::store::{new_id, now_ms, StoreError, StoreResult, Tx};
use switchboard_mail::{Address, AutoKind, ParsedEmail};

/// Store `raw` received for `mailbox` (if known; otherwise the mailbox it is addressed to).
pub async fn ingest(
    state: &AppState,
    mailbox: Option<&Mailbox>,
    raw: &[u8],
) -> StoreResult<Outcome> {
    match switchboard_mail::parse(raw, &super::limits()) {
        Ok(parsed) => store_one(state, mailbox, &parsed).await,
        Err(e) => quarantine(state, mailbox, raw, &e.to_string()).await,
    }
}

/// Where an IMAP folder's reading stands once a batch is stored: saved in the batch's own
/// transaction, so the stored messages and the last UID move together.
#[derive(Debug, Clone, Copy)]
pub struct ImapMark {
    pub last_uid: i64,
    /// The worker's lease on the mailbox, extended with each batch.
    pub locked_until: i64,
}

/// Store several messages received together (one IMAP fetch) in ONE transaction: group
/// commit. Each outcome is final once this returns; events are published after the commit.
/// If anything in the batch fails (a concurrent writer storing the same `Message-ID` first,
/// say), the batch is rolled back and every message is stored on its own, so one bad message
/// never takes its neighbours with it. `mark`, if given, is saved for `mailbox` with the batch
/// (or after the last message, on the one-by-one path).
pub async fn ingest_batch(
    state: &AppState,
    mailbox: Option<&Mailbox>,
    raws: &[Vec<u8>],
    mark: Option<ImapMark>,
) -> StoreResult<Vec<Outcome>> {
    let parsed: Vec<Parsed> = raws.iter().map(|raw| parse(raw)).collect();
    ingest_parsed(state, mailbox, raws, &parsed, mark).await
}

/// A message parsed, or why it could not be (it is then quarantined).
pub type Parsed = Result<ParsedEmail, String>;

/// Parse `raw` as [`ingest_batch`] does (done by a pushing request before it queues, so the
/// writer only stores).
pub fn parse(raw: &[u8]) -> Parsed {
    switchboard_mail::parse(raw, &super::limits()).map_err(|e| e.to_string())
}

/// [`ingest_batch`] of messages parsed already (`parsed[k]` of `raws[k]`).
pub async fn ingest_parsed<R: AsRef<[u8]>>(
    state: &AppState,
    mailbox: Option<&Mailbox>,
    raws: &[R],
    parsed: &[Parsed],
    mark: Option<ImapMark>,
) -> StoreResult<Vec<Outcome>> {
    match store_batch(state, mailbox, raws, parsed, mark).await {
        Ok(outcomes) => return Ok(outcomes),
        Err(e) => tracing::debug!(error = %e, "email batch rolled back; storing one by one"),
    }
    let mut outcomes = Vec::with_capacity(raws.len());
    for (raw, p) in raws.iter().zip(parsed) {
        outcomes.push(match p {
            Ok(p) => store_one(state, mailbox, p).await?,
            Err(reason) => quarantine(state, mailbox, raw.as_ref(), reason).await?,
        });
    }
    if let (Some(m), Some(mark)) = (mailbox, mark) {
        let mut tx = state.store.begin().await?;
        save_mark(&mut tx, &m.id, mark).await?;
        tx.commit().await?;
    }
    Ok(outcomes)
}

/// [`ingest_parsed`] without its fallback: the whole batch in one transaction, or an error
/// (and nothing stored).
pub async fn store_batch<R: AsRef<[u8]>>(
    state: &AppState,
    mailbox: Option<&Mailbox>,
    raws: &[R],
    parsed: &[Parsed],
    mark: Option<ImapMark>,
) -> StoreResult<Vec<Outcome>> {
    let mut tx = state.store.begin().await?;
    let mut events = Vec::new();
    let mut outcomes = Vec::with_capacity(raws.len());
    // Messages without a given mailbox are matched to one by address: load them once.
    let known = match mailbox {
        Some(_) => None,
        None => Some(mailboxes::load_all(tx.conn()).await?),
    };
    // Bounces of our own mail update the outbox rather than conversations: a batch holding
    // one is stored message by message; any other is stored as one set.
    if parsed.iter().flatten().any(bounce_of_ours) {
        for (raw, p) in raws.iter().zip(parsed) {
            outcomes.push(match p {
                Ok(p) => {
                    store_in(state, &mut tx, mailbox, known.as_deref(), p, &mut events).await?
                }
                Err(reason) => quarantine_in(&mut tx, mailbox, raw.as_ref(), reason).await?,
            });
        }
    } else {
        let mut set = vec![None; raws.len()];
        let mut items = Vec::with_capacity(raws.len());
        for (index, (raw, p)) in raws.iter().zip(parsed).enumerate() {
            match p {
                Ok(parsed) => {
                    let mailbox = match mailbox {
                        Some(m) => Some(m.clone()),
                        None => addressed_to(&mut tx, known.as_deref(), parsed).await?,
                    };
                    items.push(batch::Item {
                        index,
                        parsed,
                        mailbox,
                    });
                }
                Err(reason) => {
                    set[index] = Some(quarantine_in(&mut tx, mailbox, raw.as_ref(), reason).await?)
                }
            }
        }
        batch::store(state, &mut tx, items, &mut set, &mut events).await?;
        outcomes.extend(
            set.into_iter()
                .map(|o| o.ok_or(StoreError::NotFound))
                .collect::<StoreResult<Vec<_>>>()?,
        );
    }
    if let (Some(m), Some(mark)) = (mailbox, mark) {
        save_mark(&mut tx, &m.id, mark).await?;
    }
    tx.commit().await?;
    for ev in events {
        state.bus.publish(ev).await;
    }
    for o in &outcomes {
        count(o);
    }
    Ok(outcomes)
}

async fn save_mark(tx: &mut Tx, mailbox_id: &str, mark: ImapMark) -> StoreResult<()> {
    sqlx::query(
        "UPDATE email_imap_state SET last_uid = $1, locked_until = $2 WHERE mailbox_id = $3",
    )
    .bind(mark.last_uid)
    .bind(mark.locked_until)
    .bind(mailbox_id)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Metrics and logs for a committed outcome.
fn count(outcome: &Outcome) {
    match outcome {
        Outcome::Stored { .. } => {
            metrics::counter!("switchboard_email_inbound_total").increment(1);
        }
        Outcome::Quarantined {
            quarantine_id,
            reason,
        } => {
            tracing::warn!(%quarantine_id, reason, "inbound email quarantined");
            metrics::counter!("switchboard_email_quarantined_total").increment(1);
        }
        Outcome::Duplicate { .. } => {}
    }
}

/// A bounce naming the message of ours it returns (see [`outbox::bounced`]).
fn bounce_of_ours(parsed: &ParsedEmail) -> bool {
    matches!(
        parsed.auto,
        AutoKind::Bounce {
            original_message_id: Some(_),
            ..
        }
    )
}

/// One parsed message in its own transaction. A unique-key race with another writer (same
/// Message-ID, or a new customer created at the same moment) rolls back; trying again sees
/// the other writer's rows.
async fn store_one(
    state: &AppState,
    mailbox: Option<&Mailbox>,
    parsed: &ParsedEmail,
) -> StoreResult<Outcome> {
    let mut attempt = 0;
    loop {
        let mut tx = state.store.begin().await?;
        let mut events = Vec::new();
        let result = store_in(state, &mut tx, mailbox, None, parsed, &mut events).await;
        let result = match result {
            Ok(o) => tx.commit().await.map(|_| o),
            Err(e) => Err(e),
        };
        match result {
            Err(StoreError::Conflict(_)) if attempt < 3 => attempt += 1,
            Ok(outcome) => {
                for ev in events {
                    state.bus.publish(ev).await;
                }
                count(&outcome);
                return Ok(outcome);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Deduplicate, find the mailbox (among `known` mailboxes when the caller loaded them),
/// store: inside `tx`.
async fn store_in(
    state: &AppState,
    tx: &mut Tx,
    mailbox: Option<&Mailbox>,
    known: Option<&[Mailbox]>,
    parsed: &ParsedEmail,
    events: &mut Vec<crate::bus::Event>,
) -> StoreResult<Outcome> {
    if let Some(conversation_id) = find_existing(tx, &parsed.message_id).await? {
        return Ok(Outcome::Duplicate { conversation_id });
    }
    let addressed = match mailbox {
        Some(m) => Some(m.clone()),
        None => addressed_to(tx, known, parsed).await?,
    };
    store(state, tx, addressed.as_ref(), parsed, events).await
}

/// Keep unparseable bytes with the reason; never fails for lack of structure.
async fn quarantine(
    state: &AppState,
    mailbox: Option<&Mailbox>,
    raw: &[u8],
    reason: &str,
) -> StoreResult<Outcome> {
    let mut tx = state.store.begin().await?;
    let outcome = quarantine_in(&mut tx, mailbox, raw, reason).await?;
    tx.commit().await?;
    count(&outcome);
    Ok(outcome)
}

async fn quarantine_in(
    tx: &mut Tx,
    mailbox: Option<&Mailbox>,
    raw: &[u8],
    reason: &str,
) -> StoreResult<Outcome> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO email_quarantine (id, mailbox_id, reason, size, raw, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(mailbox.map(|m| m.id.clone()))
    .bind(reason)
    .bind(raw.len() as i64)
    .bind(raw.to_vec())
    .bind(now_ms())
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(Outcome::Quarantined {
        quarantine_id: id,
        reason: reason.to_string(),
    })
}

/// The mailbox whose address the message was sent to (`To`, then `Cc`), when the caller did
/// not say.
async fn addressed_to(
    tx: &mut Tx,
    known: Option<&[Mailbox]>,
    parsed: &ParsedEmail,
) -> StoreResult<Option<Mailbox>> {
    let loaded;
    let all = match known {
        Some(all) => all,
        None => {
            loaded = mailboxes::load_all(tx.conn()).await?;
            &loaded[..]
        }
    };
    let recipients = parsed.to.iter().chain(parsed.cc.iter());
    for r in recipients.filter_map(|a| a.email.as_deref()) {
        if let Some(m) = all.iter().find(|m| m.address.eq_ignore_ascii_case(r)) {
            return Ok(Some(m.clone()));
        }
    }
    Ok(None)
}

/// The conversation already holding this `Message-ID` (an inbound message or one we sent).
async fn find_existing(tx: &mut Tx, message_id: &str) -> StoreResult<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT conversation_id FROM messages WHERE channel = 'email' AND external_id = $1 \
         UNION ALL SELECT conversation_id FROM email_outbox WHERE rfc_message_id = $1",
    )
    .bind(message_id)
    .fetch_optional(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(row.map(|r| r.0))
}

/// The conversation this message answers: by `In-Reply-To`/`References` (newest first), then
/// by the `[#number]` subject token, which only counts for the conversation's own customer (so
/// a stranger cannot write into, or reopen, someone else's conversation by guessing numbers).
async fn thread(
    tx: &mut Tx,
    parsed: &ParsedEmail,
    customer_id: &str,
) -> StoreResult<Option<String>> {
    let ids = parsed
        .in_reply_to
        .iter()
        .chain(parsed.references.iter().rev());
    for id in ids {
        if let Some(c) = find_existing(tx, id).await? {
            return Ok(Some(c));
        }
    }
    if let Some(n) = switchboard_mail::conversation_token(&parsed.subject) {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT id FROM conversations WHERE number = $1 AND customer_id = $2")
                .bind(n)
                .bind(customer_id)
                .fetch_optional(tx.conn())
                .await
                .map_err(StoreError::from_sqlx)?;
        return Ok(row.map(|r| r.0));
    }
    Ok(None)
}

/// The customer behind the sender, created if new; senders without a usable address get a
/// profile of their own with no identity.
async fn sender(state: &AppState, tx: &mut Tx, from: &Address) -> StoreResult<(String, bool)> {
    let region = &state.settings.text.default_region;
    let normalised = from
        .email
        .as_deref()
        .and_then(|e| crate::customers::normalise_identity("email", e, region).ok());
    match (normalised, &from.email) {
        (Some(value), Some(raw)) => {
            let (id, _) =
                crate::customers::find_or_create(tx, "email", &value, raw, from.name.as_deref())
                    .await?;
            Ok((id, true))
        }
        _ => {
            let name = from.name.as_deref().unwrap_or("Unknown sender");
            let id = crate::customers::insert(tx, Some(name), None, "standard", "{}").await?;
            Ok((id, false))
        }
    }
}

async fn store(
    state: &AppState,
    tx: &mut Tx,
    mailbox: Option<&Mailbox>,
    parsed: &ParsedEmail,
    events: &mut Vec<crate::bus::Event>,
) -> StoreResult<Outcome> {
    if let AutoKind::Bounce {
        original_message_id: Some(original),
        status,
        recipient,
    } = &parsed.auto
    {
        if let Some(o) = outbox::bounced(tx, parsed, original, status, recipient, events).await? {
            return Ok(o);
        }
    }
    let (customer_id, usable_sender) = sender(state, tx, &parsed.from).await?;
    let threaded = thread(tx, parsed, &customer_id).await?;
    let actor = Actor {
        kind: "customer",
        id: Some(customer_id.clone()),
    };
    let (conv, new_conversation) = match threaded {
        Some(id) => (convs::get_untagged(tx.conn(), &id).await?, false),
        None => {
            let new = NewConversation {
                customer_id: customer_id.clone(),
                channel: "email".into(),
                subject: message::subject(parsed),
                queue_id: crate::queues::or_default(
                    tx.conn(),
                    "email",
                    mailbox.and_then(|m| m.queue_id.clone()),
                )
                .await?,
                priority: 0,
                tags: Vec::new(),
            };
            let (conv, ev) = convs::create(tx, state.store.backend(), new, &actor).await?;
            events.push(ev);
            (conv, true)
        }
    };
    if !new_conversation
        && message::personal(parsed)
        && matches!(conv.status.as_str(), "pending" | "resolved" | "closed")
    {
        events.extend(convs::set_status(tx, &conv, "open", &actor).await?);
    }
    let max_chars = state.settings.limits.max_message_chars;
    let built = message::build(parsed, mailbox, usable_sender, max_chars);
    let msg = NewMessage {
        author_kind: "customer",
        author_id: Some(customer_id.clone()),
        body: built.body,
        internal: false,
        channel: "email".into(),
        external_id: Some(parsed.message_id.clone()),
        meta: built.meta,
        at: None,
    };
    // The Message-ID was looked for at the start of this transaction. Another writer storing
    // it since fails this insert on the unique index (a conflict): the transaction rolls back
    // (with the conversation this attempt may have opened) and the retry reports the duplicate.
    let (message, ev) = convs::append_new_message(tx, &conv.id, msg, &actor).await?;
    events.push(ev);
    message::insert_attachments(tx, &message.id, &conv.id, &built.attachments).await?;
    let ack = mailbox.filter(|m| m.ack_enabled == 1);
    if let (true, true, Some(m)) = (new_conversation, parsed.auto == AutoKind::None, ack) {
        outbox::enqueue_ack(tx, &conv, m, parsed).await?;
    }
    Ok(Outcome::Stored {
        conversation_id: conv.id,
        message_id: message.id,
        new_conversation,
    })
}

/// Load the mailbox with `id` for ingestion.
pub async fn mailbox(state: &AppState, id: &str) -> StoreResult<Mailbox> {
    let mut conn = state
        .store
        .pool()
        .acquire()
        .await
        .map_err(StoreError::from_sqlx)?;
    mailboxes::load(&mut conn, id).await
}
