//! Applying one engine decision in one transaction that re-checks everything against the
//! database. The agent row is touched first (a row lock on PostgreSQL; SQLite is serialised by
//! the store's writer lock), then the conversation row, so concurrent routers on several nodes
//! serialise per agent and per conversation and can neither double-offer a conversation nor
//! push an agent over capacity.

use crate::bus::Event;
use crate::conversations::{self, Actor, Conversation};
use crate::store::{new_id, StoreError, StoreResult, Tx};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use switchboard_routing::{Decision, DecisionKind};

/// A decision that made it into the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The conversation was offered to the agent.
    Offered {
        /// The new offer.
        offer_id: String,
        /// The conversation offered.
        conversation_id: String,
        /// The agent it was offered to.
        agent_id: String,
    },
    /// The conversation was assigned directly (auto-accept queue).
    Assigned {
        /// The conversation assigned.
        conversation_id: String,
        /// Its new assignee.
        agent_id: String,
    },
}

/// Record a history entry whose event concerns `agent` (e.g. an offer to it), even though the
/// conversation is not (yet) assigned to it.
pub(crate) async fn record_for_agent(
    tx: &mut Tx,
    conv: &Conversation,
    kind: &str,
    agent: &str,
    actor: &Actor,
    data: Value,
) -> StoreResult<Event> {
    let mut view = conv.clone();
    view.assignee_id = Some(agent.to_string());
    conversations::record(tx, &view, kind, actor, data).await
}

/// Lock the agent row; its capacity, skills and languages when active (and, if
/// `need_available`, available).
pub(crate) async fn lock_agent(
    tx: &mut Tx,
    agent: &str,
    need_available: bool,
) -> StoreResult<Option<(BTreeMap<String, i64>, BTreeSet<String>, BTreeSet<String>)>> {
    let row: Option<(String, String, String, String)> = sqlx::query_as(
        "UPDATE agents SET updated_at = updated_at WHERE id = $1 AND active = 1 \
         RETURNING capacity, skills, languages, presence",
    )
    .bind(agent)
    .fetch_optional(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(row.and_then(|(cap, skills, langs, presence)| {
        (!need_available || presence == "available").then(|| {
            (
                serde_json::from_str(&cap).unwrap_or_default(),
                serde_json::from_str(&skills).unwrap_or_default(),
                serde_json::from_str(&langs).unwrap_or_default(),
            )
        })
    }))
}

/// Outstanding offers of `agent` on `channel`.
pub(crate) async fn pending(tx: &mut Tx, agent: &str, channel: &str) -> StoreResult<i64> {
    conversations::assign::pending_offers(tx, agent, channel, "").await
}

/// Remember when the agent last got or finished work ("longest idle" ordering).
pub(crate) async fn touch_idle(tx: &mut Tx, agent: &str, now: i64) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO agent_routing (agent_id, idle_since) VALUES ($1, $2) \
         ON CONFLICT (agent_id) DO UPDATE SET idle_since = excluded.idle_since",
    )
    .bind(agent)
    .bind(now)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Apply `d` if it still holds. `Ok(None)` means the decision was stale and is dropped; the
/// transaction is then rolled back untouched.
pub(crate) async fn apply(
    mut tx: Tx,
    d: &Decision,
    now: i64,
) -> StoreResult<Option<(Applied, Event)>> {
    let agent = d.agent.as_str();
    let conv_id = d.conversation.as_str();
    let Some((caps, skills, langs)) = lock_agent(&mut tx, agent, true).await? else {
        return Ok(None);
    };
    let conv: Option<(String, String)> = sqlx::query_as(
        "UPDATE conversations SET updated_at = updated_at WHERE id = $1 AND status = 'open' \
         AND assignee_id IS NULL AND queue_id IS NOT NULL RETURNING channel, queue_id",
    )
    .bind(conv_id)
    .fetch_optional(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let Some((channel, queue_id)) = conv else {
        return Ok(None);
    };
    let (outstanding,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM offers WHERE conversation_id = $1 AND status = 'offered'",
    )
    .bind(conv_id)
    .fetch_one(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    if outstanding > 0 {
        return Ok(None);
    }
    let queue: Option<(String, Option<String>, i64)> =
        sqlx::query_as("SELECT skills, language, auto_accept FROM queues WHERE id = $1")
            .bind(&queue_id)
            .fetch_optional(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    let Some((q_skills, q_lang, auto)) = queue else {
        return Ok(None);
    };
    let q_skills: BTreeSet<String> = serde_json::from_str(&q_skills).unwrap_or_default();
    let lang_ok = q_lang
        .filter(|l| !l.is_empty())
        .is_none_or(|l| langs.contains(&l));
    let auto = auto == 1;
    if !q_skills.is_subset(&skills) || !lang_ok || auto != (d.kind == DecisionKind::Assign) {
        return Ok(None);
    }
    let capacity = caps.get(&channel).copied().unwrap_or(0);
    let used = conversations::assign::load(&mut tx, agent, &channel).await?
        + pending(&mut tx, agent, &channel).await?;
    if used >= capacity || conversations::assign::blocked(&mut tx, agent, &channel).await? {
        return Ok(None);
    }
    let offer_id = new_id();
    let (status, expires_at, decided) = match d.kind {
        DecisionKind::Offer { expires_at } => ("offered", expires_at, None),
        DecisionKind::Assign => ("accepted", now, Some(now)),
    };
    sqlx::query(
        "INSERT INTO offers (id, conversation_id, agent_id, channel, status, auto, created_at, \
           expires_at, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&offer_id)
    .bind(conv_id)
    .bind(agent)
    .bind(&channel)
    .bind(status)
    .bind(auto as i64)
    .bind(now)
    .bind(expires_at)
    .bind(decided)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let (applied, ev) = if auto {
        sqlx::query("UPDATE conversations SET assignee_id = $1, updated_at = $2 WHERE id = $3")
            .bind(agent)
            .bind(now)
            .bind(conv_id)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
        touch_idle(&mut tx, agent, now).await?;
        let conv = conversations::get(tx.conn(), conv_id).await?;
        let data = json!({ "from": null, "to": agent, "via": "routing", "queue_id": queue_id });
        let ev = conversations::record(&mut tx, &conv, "assigned", &Actor::system(), data).await?;
        let applied = Applied::Assigned {
            conversation_id: conv_id.to_string(),
            agent_id: agent.to_string(),
        };
        (applied, ev)
    } else {
        let conv = conversations::get(tx.conn(), conv_id).await?;
        let data = json!({
            "offer_id": offer_id, "agent_id": agent, "queue_id": queue_id,
            "expires_at": crate::store::ms_to_rfc3339(expires_at),
        });
        let ev = record_for_agent(&mut tx, &conv, "offered", agent, &Actor::system(), data).await?;
        let applied = Applied::Offered {
            offer_id,
            conversation_id: conv_id.to_string(),
            agent_id: agent.to_string(),
        };
        (applied, ev)
    };
    tx.commit().await?;
    Ok(Some((applied, ev)))
}
