//! What a visitor does, as database transactions: the visitor row, messages (idempotent by
//! client id), pre-chat answers, read marks and ratings. Each function commits before it
//! returns, so the socket acknowledges only what is durable.

use super::sites::Site;
use crate::bus::Event;
use crate::conversations::{self, Actor, Message, NewConversation, NewMessage};

/// Tag of chats started while no agent was available.
pub const OFFLINE_TAG: &str = "offline";
use crate::customers;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{now_ms, StoreError, StoreResult, Tx};
use serde_json::{json, Value};
use sqlx::AnyConnection;

/// The channel name of chat conversations and messages.
pub const CHANNEL: &str = "chat";

/// A visitor as the socket knows it.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub id: String,
    pub site: std::sync::Arc<Site>,
    /// Customer to use when the visitor row is first written (from a verified identity).
    pub identity_customer: Option<String>,
}

/// The visitor's current conversation, if any.
pub async fn conversation_of(
    conn: &mut AnyConnection,
    visitor: &str,
) -> StoreResult<Option<String>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT conversation_id FROM chat_visitors WHERE id = $1")
            .bind(visitor)
            .fetch_optional(conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(row.and_then(|r| r.0))
}

/// The customer a visitor row belongs to (following a merge).
pub async fn customer_of(conn: &mut AnyConnection, visitor: &str) -> StoreResult<Option<String>> {
    let row: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT COALESCE(c.merged_into, c.id) FROM chat_visitors v \
         LEFT JOIN customers c ON c.id = v.customer_id WHERE v.id = $1",
    )
    .bind(visitor)
    .fetch_optional(conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(row.and_then(|r| r.0))
}

/// Create the visitor row if needed and lock it (PostgreSQL row lock) for this transaction.
/// Returns (customer id, conversation id).
async fn ensure(tx: &mut Tx, v: &Visitor) -> StoreResult<(String, Option<String>)> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO chat_visitors (id, site_id, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&v.id)
    .bind(&v.site.id)
    .bind(now)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let (customer, conv): (Option<String>, Option<String>) = sqlx::query_as(
        "UPDATE chat_visitors SET updated_at = $1 WHERE id = $2 RETURNING customer_id, conversation_id",
    )
    .bind(now)
    .bind(&v.id)
    .fetch_one(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let customer = match customer {
        Some(_) => customer_of(tx.conn(), &v.id).await?.expect("row exists"),
        None => {
            let id = match &v.identity_customer {
                Some(c) => {
                    // Attach the visitor identity too, so agents see the web visits.
                    let _ = customers::add_identity(tx, c, "visitor", &v.id, &v.id).await;
                    c.clone()
                }
                None => {
                    customers::find_or_create(tx, "visitor", &v.id, &v.id, None)
                        .await?
                        .0
                }
            };
            sqlx::query("UPDATE chat_visitors SET customer_id = $1 WHERE id = $2")
                .bind(&id)
                .bind(&v.id)
                .execute(tx.conn())
                .await
                .map_err(StoreError::from_sqlx)?;
            id
        }
    };
    Ok((customer, conv))
}

/// The customer of a verified identity `site:<site id>:<user id>`, created if new.
pub async fn identity_customer(
    state: &AppState,
    site: &Site,
    user_id: &str,
    name: Option<&str>,
    email: Option<&str>,
) -> ApiResult<String> {
    let value = format!("site:{}:{}", site.id, user_id);
    customers::normalise_identity("external", &value, "")?;
    let mut tx = state.store.begin().await?;
    let (id, _) = customers::find_or_create(&mut tx, "external", &value, &value, name).await?;
    if let Some(email) = email.and_then(|e| customers::normalise_identity("email", e, "").ok()) {
        if customers::find_by_identity(tx.conn(), "email", &email)
            .await?
            .is_none()
        {
            customers::add_identity(&mut tx, &id, "email", &email, &email).await?;
        }
    }
    tx.commit().await?;
    Ok(id)
}

/// Subject of a new conversation: the first words of the first message.
pub fn subject_from(text: &str) -> String {
    let mut s = String::new();
    for w in text.split_whitespace().take(8) {
        if s.chars().count() + w.chars().count() > 80 {
            break;
        }
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(w);
    }
    if s.is_empty() {
        "Web chat".into()
    } else {
        s
    }
}

/// Result of storing a visitor message.
pub struct Stored {
    pub seq: i64,
    pub conversation_id: String,
    /// Events to publish (empty for a resend).
    pub events: Vec<Event>,
    /// The row just stored (`None` for a resend), so the socket can echo it without reading
    /// it back.
    pub message: Option<Message>,
}

/// Store a visitor message in its own transaction (see [`store_in`]).
pub async fn store_message(
    state: &AppState,
    v: &Visitor,
    client_id: &str,
    text: &str,
    attachment: Option<Value>,
) -> ApiResult<Stored> {
    let mut tx = state.store.begin().await?;
    let stored = store_in(state, &mut tx, v, client_id, text, attachment).await?;
    tx.commit().await?;
    Ok(stored)
}

/// The widget's `client_id` as the message's `external_id` (unique per visitor).
pub fn external_id(v: &Visitor, client_id: &str) -> String {
    format!("{}:{}", v.id, client_id)
}

/// The meta of a visitor message.
pub fn message_meta(v: &Visitor, client_id: &str, attachment: Option<Value>) -> Value {
    let mut meta = json!({ "client_id": client_id, "site_id": v.site.id, "visitor_id": v.id });
    if let Some(a) = attachment {
        meta["attachment"] = a;
    }
    meta
}

/// Store a visitor message inside `tx`, opening (or reopening) the conversation; a resend of
/// the same `client_id` returns the first copy's seq.
pub async fn store_in(
    state: &AppState,
    tx: &mut Tx,
    v: &Visitor,
    client_id: &str,
    text: &str,
    attachment: Option<Value>,
) -> ApiResult<Stored> {
    let actor = Actor {
        kind: "customer",
        id: Some(v.id.clone()),
    };
    let external_id = external_id(v, client_id);
    let existing: Option<(String, i64)> = sqlx::query_as(
        "SELECT conversation_id, seq FROM messages WHERE channel = $1 AND external_id = $2",
    )
    .bind(CHANNEL)
    .bind(&external_id)
    .fetch_optional(tx.conn())
    .await?;
    if let Some((conversation_id, seq)) = existing {
        return Ok(Stored {
            seq,
            conversation_id,
            events: Vec::new(),
            message: None,
        });
    }
    let (customer, conv) = ensure(tx, v).await?;
    let mut events = Vec::new();
    let conv = match conv {
        Some(c) => {
            let current = conversations::get(tx.conn(), &c).await?;
            if matches!(current.status.as_str(), "resolved" | "closed") {
                events.extend(conversations::set_status(tx, &current, "open", &actor).await?);
            }
            c
        }
        None => {
            // Started while nobody could answer: tagged `offline`, so agent replies also go
            // to the visitor's email (if they left one) — see `email::enqueue_chat_copy`.
            let online = v.site.online(tx.conn()).await?;
            let new = NewConversation {
                customer_id: customer,
                channel: CHANNEL.into(),
                subject: subject_from(text),
                queue_id: v.site.queue_id.clone(),
                priority: 0,
                tags: if online {
                    Vec::new()
                } else {
                    vec![OFFLINE_TAG.into()]
                },
            };
            let (c, ev) = conversations::create(tx, state.store.backend(), new, &actor).await?;
            events.push(ev);
            sqlx::query("UPDATE chat_visitors SET conversation_id = $1 WHERE id = $2")
                .bind(&c.id)
                .bind(&v.id)
                .execute(tx.conn())
                .await?;
            c.id
        }
    };
    let msg = NewMessage {
        author_kind: "customer",
        author_id: None,
        body: text.to_string(),
        internal: false,
        channel: CHANNEL.into(),
        external_id: Some(external_id),
        meta: message_meta(v, client_id, attachment),
        at: None,
    };
    let (message, ev) = conversations::append_message(tx, &conv, msg, &actor).await?;
    events.extend(ev);
    Ok(Stored {
        seq: message.seq,
        conversation_id: conv,
        events,
        message: Some(message),
    })
}

/// Pre-chat answers. The email is whatever the visitor typed: it is kept on the visitor, never
/// made an identity, so it can neither file the chat on the profile of the customer who owns
/// that address nor claim the address for the visitor's own profile. Agents see it as
/// unverified, with the owner as a possible match to merge after checking (`GET …/visitor`).
/// Only the site's HMAC-verified identity joins an existing customer ([`identity_customer`]).
pub async fn prechat(
    state: &AppState,
    v: &Visitor,
    name: Option<&str>,
    email: Option<&str>,
) -> ApiResult<()> {
    let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => Some(crate::validate::name("name", n, 100)?),
        None => None,
    };
    let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => Some(customers::normalise_identity("email", e, "")?),
        None => None,
    };
    let mut tx = state.store.begin().await?;
    let (customer, _) = ensure(&mut tx, v).await?;
    sqlx::query(
        "UPDATE chat_visitors SET customer_id = $1, name = COALESCE($2, name), email = COALESCE($3, email) WHERE id = $4",
    )
    .bind(&customer)
    .bind(&name)
    .bind(&email)
    .bind(&v.id)
    .execute(tx.conn())
    .await?;
    if let Some(n) = &name {
        sqlx::query("UPDATE customers SET name = $1, name_search = $2, updated_at = $3 WHERE id = $4 AND name IS NULL")
            .bind(n)
            .bind(switchboard_text::search_fold(n))
            .bind(now_ms())
            .bind(&customer)
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Remember how far the visitor has read (never beyond the conversation's last message).
pub async fn mark_read(state: &AppState, v: &Visitor, seq: i64) -> ApiResult<()> {
    let mut tx = state.store.begin().await?;
    let last: Option<(i64,)> = sqlx::query_as(
        "SELECT c.last_seq FROM chat_visitors v JOIN conversations c ON c.id = v.conversation_id \
         WHERE v.id = $1",
    )
    .bind(&v.id)
    .fetch_optional(tx.conn())
    .await?;
    let Some((last,)) = last else {
        return Ok(()); // nothing to have read yet
    };
    sqlx::query(
        "UPDATE chat_visitors SET read_seq = $1, updated_at = $2 WHERE id = $3 AND read_seq < $1",
    )
    .bind(seq.clamp(0, last))
    .bind(now_ms())
    .bind(&v.id)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Store the visitor's rating of a resolved conversation; returns the history event.
pub async fn rate(
    state: &AppState,
    v: &Visitor,
    score: i64,
    comment: Option<&str>,
) -> ApiResult<Event> {
    if !(1..=5).contains(&score) {
        return Err(ApiError::invalid("invalid_rating", "score must be 1 to 5"));
    }
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > 2000) {
        return Err(ApiError::invalid(
            "too_long",
            "comment must be at most 2000 characters",
        ));
    }
    let mut tx = state.store.begin().await?;
    let conv_id = conversation_of(tx.conn(), &v.id)
        .await?
        .ok_or_else(|| ApiError::invalid("not_resolved", "there is no conversation to rate"))?;
    let conv = conversations::get(tx.conn(), &conv_id).await?;
    if !matches!(conv.status.as_str(), "resolved" | "closed") {
        return Err(ApiError::invalid(
            "not_resolved",
            "only a resolved conversation can be rated",
        ));
    }
    let now = now_ms();
    sqlx::query(
        "INSERT INTO chat_ratings (conversation_id, visitor_id, score, comment, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (conversation_id) \
         DO UPDATE SET score = excluded.score, comment = excluded.comment, updated_at = excluded.updated_at",
    )
    .bind(&conv_id)
    .bind(&v.id)
    .bind(score)
    .bind(comment)
    .bind(now)
    .execute(tx.conn())
    .await?;
    let actor = Actor {
        kind: "customer",
        id: Some(v.id.clone()),
    };
    let ev = conversations::record(
        &mut tx,
        &conv,
        "rated",
        &actor,
        json!({ "score": score, "comment": comment }),
    )
    .await?;
    tx.commit().await?;
    Ok(ev)
}
