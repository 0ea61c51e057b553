//! Assignment and transfer with capacity checks inside the transaction.

use super::service::{get, record, Actor};
use super::Conversation;
use crate::bus::Event;
use crate::store::{now_ms, StoreError, StoreResult, Tx};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Why an assignment was refused.
#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    #[error("agent not found or inactive")]
    NoSuchAgent,
    #[error("queue not found")]
    NoSuchQueue,
    #[error("agent is at capacity for {channel} ({load}/{capacity})")]
    AtCapacity {
        channel: String,
        load: i64,
        capacity: i64,
    },
    #[error("agent is busy on a channel that blocks new {channel} work")]
    Blocked { channel: String },
    #[error("{name} is {presence}: live {channel} work needs an available agent")]
    Unavailable {
        name: String,
        presence: String,
        channel: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Conversations an agent currently holds on `channel` (open or pending).
pub async fn load(tx: &mut Tx, agent_id: &str, channel: &str) -> StoreResult<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM conversations WHERE assignee_id = $1 AND channel = $2 AND status IN ('open', 'pending')",
    )
    .bind(agent_id)
    .bind(channel)
    .fetch_one(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(n)
}

/// Offers waiting for the agent's answer on `channel` (they hold a slot of its capacity),
/// leaving out any for `except_conversation`.
pub async fn pending_offers(
    tx: &mut Tx,
    agent_id: &str,
    channel: &str,
    except_conversation: &str,
) -> StoreResult<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM offers WHERE agent_id = $1 AND channel = $2 AND status = 'offered' \
           AND conversation_id <> $3",
    )
    .bind(agent_id)
    .bind(channel)
    .bind(except_conversation)
    .fetch_one(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(n)
}

/// True when the agent is busy on a channel that blocks new work on `channel` (the agent's
/// `blocks` setting, e.g. a call blocking chats).
pub async fn blocked(tx: &mut Tx, agent_id: &str, channel: &str) -> StoreResult<bool> {
    let row: Option<(String,)> = sqlx::query_as("SELECT blocks FROM agents WHERE id = $1")
        .bind(agent_id)
        .fetch_optional(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    let blocks: BTreeMap<String, Vec<String>> = row
        .and_then(|(b,)| serde_json::from_str(&b).ok())
        .unwrap_or_default();
    for (busy, stopped) in blocks {
        if stopped.iter().any(|c| c == channel) && load(tx, agent_id, &busy).await? > 0 {
            return Ok(true);
        }
        // On a call the PBX reports (AMI), without a phone conversation held.
        if busy == "phone"
            && stopped.iter().any(|c| c == channel)
            && crate::agents::phone::on_call(tx.conn(), agent_id).await?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Work that needs someone answering now: chats and callbacks of missed calls. It goes only to
/// an available agent (an offline agent, or one who never signed in, would leave it waiting).
pub fn is_live_work(conv: &Conversation) -> bool {
    conv.channel == "chat"
        || (conv.channel == "phone" && conv.tags.iter().any(|t| t == super::CALLBACK_TAG))
}

/// Refuse live work for an agent who is not available, unless they take it themselves.
async fn check_available(
    tx: &mut Tx,
    conv: &Conversation,
    agent_id: &str,
    actor: &Actor,
) -> Result<bool, AssignError> {
    let (name, presence): (String, String) =
        sqlx::query_as("SELECT name, presence FROM agents WHERE id = $1")
            .bind(agent_id)
            .fetch_one(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    let available = presence == "available";
    let taking = actor.kind == "agent" && actor.id.as_deref() == Some(agent_id);
    if available || taking || !is_live_work(conv) {
        return Ok(available || taking);
    }
    Err(AssignError::Unavailable {
        name,
        presence,
        channel: conv.channel.clone(),
    })
}

/// Assign `conv` to `agent_id`, checking the agent's capacity for the conversation's channel
/// and, for chats and callbacks, that the agent is available (or takes it themselves), unless
/// `override_capacity` (supervisors). The assigned event says whether the agent was available
/// (`agent_available`): a chat visitor hears "… joined" only then. The agent row is touched first so that, on PostgreSQL,
/// concurrent assignments to one agent serialise on its row lock and cannot both pass the check.
pub async fn to_agent(
    tx: &mut Tx,
    conv: &Conversation,
    agent_id: &str,
    override_capacity: bool,
    actor: &Actor,
) -> Result<Option<Event>, AssignError> {
    let cap: Option<(String,)> = sqlx::query_as(
        "UPDATE agents SET updated_at = updated_at WHERE id = $1 AND active = 1 RETURNING capacity",
    )
    .bind(agent_id)
    .fetch_optional(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let (cap,) = cap.ok_or(AssignError::NoSuchAgent)?;
    if conv.assignee_id.as_deref() == Some(agent_id) {
        return Ok(None);
    }
    let available = match check_available(tx, conv, agent_id, actor).await {
        Err(AssignError::Unavailable { .. }) if override_capacity => false,
        other => other?,
    };
    if !override_capacity {
        let caps: BTreeMap<String, i64> = serde_json::from_str(&cap).unwrap_or_default();
        let capacity = caps.get(&conv.channel).copied().unwrap_or(0);
        let current = load(tx, agent_id, &conv.channel).await?
            + pending_offers(tx, agent_id, &conv.channel, &conv.id).await?;
        if current >= capacity {
            return Err(AssignError::AtCapacity {
                channel: conv.channel.clone(),
                load: current,
                capacity,
            });
        }
        if blocked(tx, agent_id, &conv.channel).await? {
            return Err(AssignError::Blocked {
                channel: conv.channel.clone(),
            });
        }
    }
    sqlx::query("UPDATE conversations SET assignee_id = $1, updated_at = $2, enqueued_at = NULL WHERE id = $3")
        .bind(agent_id)
        .bind(now_ms())
        .bind(&conv.id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    let updated = get(tx.conn(), &conv.id).await?;
    let mut data = json!({ "from": conv.assignee_id, "to": agent_id,
        "override_capacity": override_capacity, "agent_available": available });
    tell_previous(&mut data, conv, Some(agent_id));
    let ev = record(tx, &updated, "assigned", actor, data).await?;
    Ok(Some(ev))
}

/// Move `conv` to a queue, unassigning it so the queue's agents can take it.
pub async fn to_queue(
    tx: &mut Tx,
    conv: &Conversation,
    queue_id: &str,
    actor: &Actor,
) -> Result<Event, AssignError> {
    let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM queues WHERE id = $1")
        .bind(queue_id)
        .fetch_optional(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    if exists.is_none() {
        return Err(AssignError::NoSuchQueue);
    }
    let now = now_ms();
    sqlx::query("UPDATE conversations SET queue_id = $1, assignee_id = NULL, updated_at = $2, enqueued_at = $2 WHERE id = $3")
        .bind(queue_id)
        .bind(now)
        .bind(&conv.id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    let updated = get(tx.conn(), &conv.id).await?;
    let mut data = json!({ "from_queue": conv.queue_id, "to_queue": queue_id, "from_agent": conv.assignee_id });
    tell_previous(&mut data, conv, None);
    let ev = record(tx, &updated, "transferred", actor, data).await?;
    Ok(ev)
}

/// Address the event also to the agent who held the conversation until now (`data.agent_ids`),
/// so their console drops it from "Mine" at once. Before recording: the event log keeps it.
fn tell_previous(data: &mut Value, before: &Conversation, new: Option<&str>) {
    let Some(prev) = before.assignee_id.as_deref() else {
        return;
    };
    let ids: Vec<&str> = new.into_iter().chain([prev]).collect();
    if let Some(data) = data.as_object_mut() {
        data.insert("agent_ids".into(), json!(ids));
    }
}
