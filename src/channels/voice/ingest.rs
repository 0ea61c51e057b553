//! Storing one call or fax as a contact entry on the customer's history.
//!
//! Every record becomes one `messages` row (channel `phone` or `fax`) whose `external_id` is
//! the source's unique id prefixed by the source (`asterisk:1740806400.1`), so storing it twice
//! is a no-op. Missed inbound calls open (or join) a callback conversation; everything else is
//! logged on the customer's open phone conversation, or on a new, already resolved one.

use super::anonymous::{anonymous_customer, customer_party, customer_raw, Party, ANONYMOUS_SHOWN};
use super::pairing::{self, Pairing};
use super::summary::{body, meta, subject};
use crate::bus::Event;
use crate::conversations::{self, Actor, NewConversation, NewMessage};
use crate::customers;
use crate::state::AppState;
use crate::store::{StoreError, StoreResult, Tx};
use sqlx::AnyConnection;

use serde::Serialize;
use switchboard_voice::Direction;
use utoipa::ToSchema;

pub use super::contact::{channel_of, is_missed, normalise_number, Contact, CALLBACK_TAG};

/// What storing one contact did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored as message `message_id` in `conversation_id`.
    Stored {
        conversation_id: String,
        message_id: String,
        customer_id: String,
    },
    /// Folded into the stored entry `message_id` of the same call from the other kind of
    /// source (a PBX log record completing a live CTI entry, or the reverse; see
    /// [`super::pairing`]).
    Merged {
        message_id: String,
        customer_id: String,
    },
    /// Already stored earlier (same source and external id).
    Duplicate,
    /// Internal extension-to-extension call: not a customer contact.
    Internal,
    /// Cannot be stored (e.g. no usable customer number); the reason is user-facing.
    Rejected(String),
}

/// One skipped input line (or record) and why.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line number in the uploaded or tailed file (0 when not line-based).
    pub line: usize,
    pub reason: String,
}

/// Summary of an ingest run.
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq, Eq)]
pub struct IngestReport {
    /// Records newly stored.
    pub stored: usize,
    /// Records that completed the entry of the same call already logged from live call events
    /// (CTI) instead of adding a second entry.
    pub merged: usize,
    /// Records already stored before (re-uploads, overlapping logs).
    pub duplicates: usize,
    /// Internal extension-to-extension calls, which are not customer contacts.
    pub ignored: usize,
    /// Lines that could not be parsed or stored.
    pub rejected: Vec<Rejection>,
}

impl IngestReport {
    /// Count one outcome; `line` is used for rejections.
    pub fn add(&mut self, line: usize, outcome: &Outcome) {
        match outcome {
            Outcome::Stored { .. } => self.stored += 1,
            Outcome::Merged { .. } => self.merged += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Internal => self.ignored += 1,
            Outcome::Rejected(reason) => self.rejected.push(Rejection {
                line,
                reason: reason.clone(),
            }),
        }
    }

    /// Add another report's counts to this one.
    pub fn merge(&mut self, other: IngestReport) {
        self.stored += other.stored;
        self.merged += other.merged;
        self.duplicates += other.duplicates;
        self.ignored += other.ignored;
        self.rejected.extend(other.rejected);
    }
}

/// Store one contact in its own transaction, publishing its events after commit.
/// A lost race with a concurrent writer of the same record or customer is retried once.
pub async fn store_contact(state: &AppState, contact: &Contact) -> StoreResult<Outcome> {
    match store_once(state, contact).await {
        Err(StoreError::Conflict(_)) => match store_once(state, contact).await {
            Err(StoreError::Conflict(_)) => Ok(Outcome::Duplicate),
            other => other,
        },
        other => other,
    }
}

async fn store_once(state: &AppState, contact: &Contact) -> StoreResult<Outcome> {
    let mut tx = state.store.begin().await?;
    let mut events = Vec::new();
    let outcome = store_in(state, &mut tx, contact, &mut events).await?;
    tx.commit().await?;
    for ev in events {
        state.bus.publish(ev).await;
    }
    Ok(outcome)
}

/// Store one contact inside `tx`; events to publish after commit are pushed to `events`.
pub async fn store_in(
    state: &AppState,
    tx: &mut Tx,
    contact: &Contact,
    events: &mut Vec<Event>,
) -> StoreResult<Outcome> {
    let rec = &contact.record;
    if rec.direction == Direction::Internal && contact.customer_id.is_none() {
        return Ok(Outcome::Internal);
    }
    let channel = channel_of(rec);
    let external_id = format!("{}:{}", contact.source, rec.external_id);
    // Stored as its own entry, or folded into another entry of the same call.
    let exists: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM messages WHERE channel = $1 AND external_id = $2 \
         UNION ALL SELECT message_id FROM voice_source_ids WHERE source_id = $2 AND $1 = 'phone'",
    )
    .bind(channel)
    .bind(&external_id)
    .fetch_optional(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    if exists.is_some() {
        return Ok(Outcome::Duplicate);
    }
    let region = state.settings.text.default_region.as_str();
    let customer_raw = customer_raw(rec);
    let customer_number = normalise_number(customer_raw, region);
    let (customer_id, anonymous) = match &contact.customer_id {
        Some(id) => (id.clone(), false),
        None => match customer_party(rec, region) {
            Ok(Party::Number(number)) => {
                let name = rec
                    .caller_name
                    .as_deref()
                    .filter(|_| rec.direction != Direction::Outbound);
                let found =
                    customers::find_or_create(tx, "phone", &number, customer_raw.trim(), name);
                (found.await?.0, false)
            }
            Ok(Party::Anonymous) => (anonymous_customer(tx).await?, true),
            Err(reason) => return Ok(Outcome::Rejected(reason)),
        },
    };
    let known = contact.logged_by.as_ref().or(contact.agent_id.as_ref());
    let agent_id = match (known, &rec.agent_extension) {
        (Some(id), _) => Some(id.clone()),
        (None, Some(ext)) => agent_by_extension(tx.conn(), ext).await?,
        (None, None) => None,
    };
    let at = rec.started_at.unix_timestamp() * 1000;
    let actor = match &contact.logged_by {
        Some(id) => Actor {
            kind: "agent",
            id: Some(id.clone()),
        },
        None => Actor::system(),
    };
    let pairing = Pairing::of(contact.source, rec).filter(|_| contact.customer_id.is_none());
    let tolerance = state.settings.voice.cti_match_ms();
    if let Some(pairing) = pairing.filter(|_| tolerance > 0) {
        let found = pairing::entries(tx, pairing, at - tolerance, at + tolerance).await?;
        let mine = found.iter().filter(|e| e.customer_id == customer_id);
        if let Some(entry) = pairing::best(rec, at, mine, tolerance, region) {
            let meta = with_anonymous(meta(contact, region, agent_id.as_deref()), anonymous);
            let fold = pairing::fold(pairing, entry, contact.source, rec, &meta, body(rec, None));
            events.extend(pairing::write(tx, &[fold]).await?);
            return Ok(Outcome::Merged {
                message_id: entry.message_id.clone(),
                customer_id,
            });
        }
    }
    let shown = match (anonymous, customer_number) {
        (true, _) => ANONYMOUS_SHOWN.to_string(),
        (false, number) => number.unwrap_or_else(|| customer_raw.to_string()),
    };
    let existing = if anonymous {
        None
    } else if is_missed(rec) {
        let window = state.settings.voice.callback_window_ms();
        open_callback(tx, &customer_id, at, window).await?
    } else {
        open_conversation(tx, &customer_id, channel).await?
    };
    let conv_id = if let Some(id) = existing {
        id
    } else if is_missed(rec) && !anonymous {
        let new = NewConversation {
            customer_id: customer_id.clone(),
            channel: "phone".into(),
            subject: format!("Missed call from {shown}"),
            queue_id: super::callback_queue(state, tx).await?,
            priority: 0,
            tags: vec![CALLBACK_TAG.to_string()],
        };
        let (conv, ev) = conversations::create(tx, state.store.backend(), new, &actor).await?;
        events.push(ev);
        conv.id
    } else {
        let new = NewConversation {
            customer_id: customer_id.clone(),
            channel: channel.into(),
            subject: subject(rec, &shown),
            queue_id: None,
            priority: 0,
            tags: Vec::new(),
        };
        let backend = state.store.backend();
        let (conv, ev) = conversations::create_resolved(tx, backend, new, &actor).await?;
        events.push(ev);
        conv.id
    };
    let author_kind = match (&contact.logged_by, rec.direction) {
        (Some(_), _) => "agent",
        (None, Direction::Outbound) => "system",
        (None, _) => "customer",
    };
    let author_id = match author_kind {
        "agent" => agent_id.clone(),
        "customer" => Some(customer_id.clone()),
        _ => None,
    };
    let msg = NewMessage {
        author_kind,
        author_id,
        body: body(rec, contact.notes.as_deref()),
        internal: false,
        channel: channel.into(),
        external_id: Some(external_id),
        meta: with_anonymous(meta(contact, region, agent_id.as_deref()), anonymous),
        at: Some(at),
    };
    let (message, ev) = conversations::append_message(tx, &conv_id, msg, &actor).await?;
    let Some(ev) = ev else {
        // A concurrent writer stored this record after our check: roll everything back.
        return Err(StoreError::Conflict("record stored concurrently".into()));
    };
    events.push(ev);
    Ok(Outcome::Stored {
        conversation_id: conv_id,
        message_id: message.id,
        customer_id,
    })
}

/// `meta` with `"anonymous": true` added for a caller stored on the anonymous profile.
pub fn with_anonymous(mut meta: serde_json::Value, anonymous: bool) -> serde_json::Value {
    if anonymous {
        meta["anonymous"] = serde_json::Value::Bool(true);
    }
    meta
}

/// The agent whose PBX extension is `ext`, if any.
pub async fn agent_by_extension(
    conn: &mut AnyConnection,
    ext: &str,
) -> StoreResult<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT id FROM agents WHERE extension = $1")
        .bind(ext)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(row.map(|r| r.0))
}

/// An open callback conversation of the customer with a message within `window` ms of `at`.
async fn open_callback(
    tx: &mut Tx,
    customer_id: &str,
    at: i64,
    window: i64,
) -> StoreResult<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT c.id FROM conversations c \
         JOIN conversation_tags t ON t.conversation_id = c.id AND t.tag = $1 \
         WHERE c.customer_id = $2 AND c.channel = 'phone' AND c.status = 'open' \
           AND c.last_message_at >= $3 AND c.last_message_at <= $4 \
         ORDER BY c.last_message_at DESC LIMIT 1",
    )
    .bind(CALLBACK_TAG)
    .bind(customer_id)
    .bind(at - window)
    .bind(at + window)
    .fetch_optional(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(row.map(|r| r.0))
}

/// The customer's most recently active open (or pending) conversation on `channel`.
async fn open_conversation(
    tx: &mut Tx,
    customer_id: &str,
    channel: &str,
) -> StoreResult<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM conversations WHERE customer_id = $1 AND channel = $2 \
           AND status IN ('open', 'pending') \
         ORDER BY COALESCE(last_message_at, created_at) DESC, id DESC LIMIT 1",
    )
    .bind(customer_id)
    .bind(channel)
    .fetch_optional(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(row.map(|r| r.0))
}
