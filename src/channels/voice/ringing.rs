//! Who a ringing call is for: the agents whose console pops up the caller's profile.
//!
//! A call rings for the agent(s) of the called extension (`to` of an inbound call, or the CTI
//! `user[]` names, each matched against an agent's extension, email or name) and for the agents
//! who serve the call's queue (the CTI `queue`, matched by queue name: active agents with all of
//! the queue's skills and, when it has one, its language). Supervisors see every call anyway.

use super::ingest::agent_by_extension;
use crate::store::{StoreError, StoreResult};
use sqlx::AnyConnection;
use std::collections::BTreeSet;

/// Ids of the agents a ringing call is addressed to, in a stable order.
pub async fn ringing_agents(
    conn: &mut AnyConnection,
    called: Option<&str>,
    users: &[String],
    queue: Option<&str>,
) -> StoreResult<Vec<String>> {
    let mut ids = BTreeSet::new();
    if let Some(to) = called {
        let digits = switchboard_voice::ascii_digits(to);
        if !digits.is_empty() {
            ids.extend(agent_by_extension(conn, &digits).await?);
        }
    }
    for user in users.iter().map(|u| u.trim()).filter(|u| !u.is_empty()) {
        ids.extend(agent_by_user(conn, user).await?);
    }
    if let Some(q) = queue.map(str::trim).filter(|q| !q.is_empty()) {
        ids.extend(queue_agents(conn, q).await?);
    }
    Ok(ids.into_iter().collect())
}

/// A CTI `user[]` entry: an extension, an email address or an agent's name.
async fn agent_by_user(conn: &mut AnyConnection, user: &str) -> StoreResult<Vec<String>> {
    let digits = switchboard_voice::ascii_digits(user);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        if let Some(id) = agent_by_extension(conn, &digits).await? {
            return Ok(vec![id]);
        }
    }
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM agents WHERE active = 1 AND (LOWER(email) = LOWER($1) OR name = $1)",
    )
    .bind(user)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Active agents able to serve the queue named `name` (its skills, its language).
async fn queue_agents(conn: &mut AnyConnection, name: &str) -> StoreResult<Vec<String>> {
    let queue: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT skills, language FROM queues WHERE name = $1 OR id = $1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    let Some((skills, language)) = queue else {
        return Ok(Vec::new());
    };
    let needed: Vec<String> = serde_json::from_str(&skills).unwrap_or_default();
    let agents: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, skills, languages FROM agents WHERE active = 1")
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(agents
        .into_iter()
        .filter(|(_, skills, languages)| {
            let has: Vec<String> = serde_json::from_str(skills).unwrap_or_default();
            let speaks: Vec<String> = serde_json::from_str(languages).unwrap_or_default();
            needed.iter().all(|s| has.contains(s))
                && language.as_ref().is_none_or(|l| speaks.contains(l))
        })
        .map(|(id, _, _)| id)
        .collect())
}
