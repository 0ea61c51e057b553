//! Teams (Zendesk's and Zammad's "groups"): a team claims queues and has agents as members.
//! With the deployment's switch on (`access_control.teams_enabled`, `PUT /api/v1/access`),
//! agents and supervisors see, search and are offered only the conversations of their teams'
//! queues plus those assigned to them; a queue that no team claims stays visible to everyone;
//! admins see everything. [`scope`] decides what a caller sees, [`watch`] filters the console
//! socket with it, [`routing`] turns membership into what the router matches.
//!
//! The switch is a database row rather than a setting: every node of a deployment must agree
//! on who sees what (a node started with another configuration would show every queue), and
//! an admin turns it on from the console without restarting anything.

pub mod routes;
pub mod routing;
pub mod scope;
pub mod watch;

use crate::bus::Event;
use crate::events;
use crate::store::{ms_to_rfc3339, now_ms, Store, StoreError, StoreResult, Tx};
use serde::Serialize;
use sqlx::AnyConnection;
use utoipa::ToSchema;

pub use routes::router;
pub use scope::Scope;

/// Bus event of a team created, changed or deleted (`data.team_id`).
pub const TEAM_CHANGED: &str = "team.changed";
/// Bus event of the switch turned on or off (`data.teams_enabled`).
pub const ACCESS_CHANGED: &str = "access.changed";

/// Whether `kind` changes who sees what.
pub fn changes_access(kind: &str) -> bool {
    kind == TEAM_CHANGED || kind == ACCESS_CHANGED
}

/// A team: the queues it claims and its members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Team {
    pub id: String,
    pub name: String,
    /// Queues whose conversations the members see (sorted).
    pub queue_ids: Vec<String>,
    /// Member agents (sorted).
    pub agent_ids: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

type TeamRow = (String, String, i64, i64);

/// The teams with ids after `after`, by id, at most `limit`.
pub async fn list(store: &Store, after: &str, limit: usize) -> StoreResult<Vec<Team>> {
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(StoreError::from_sqlx)?;
    let rows: Vec<TeamRow> = sqlx::query_as(
        "SELECT id, name, created_at, updated_at FROM teams WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(with_members(&mut conn, row).await?);
    }
    Ok(out)
}

/// One team.
pub async fn get(conn: &mut AnyConnection, id: &str) -> StoreResult<Team> {
    let row: TeamRow =
        sqlx::query_as("SELECT id, name, created_at, updated_at FROM teams WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?
            .ok_or(StoreError::NotFound)?;
    with_members(conn, row).await
}

async fn with_members(conn: &mut AnyConnection, row: TeamRow) -> StoreResult<Team> {
    let (id, name, created_at, updated_at) = row;
    let queue_ids = column(
        conn,
        "SELECT queue_id FROM team_queues WHERE team_id = $1 ORDER BY queue_id",
        &id,
    )
    .await?;
    let agent_ids = column(
        conn,
        "SELECT agent_id FROM team_members WHERE team_id = $1 ORDER BY agent_id",
        &id,
    )
    .await?;
    Ok(Team {
        id,
        name,
        queue_ids,
        agent_ids,
        created_at: ms_to_rfc3339(created_at),
        updated_at: ms_to_rfc3339(updated_at),
    })
}

async fn column(conn: &mut AnyConnection, sql: &str, id: &str) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(sql)
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Replace the queues and members of team `id` (both already checked to exist).
pub async fn set_members(
    tx: &mut Tx,
    id: &str,
    queue_ids: &[String],
    agent_ids: &[String],
) -> StoreResult<()> {
    for table in ["team_queues", "team_members"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE team_id = $1"))
            .bind(id)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    for q in queue_ids {
        sqlx::query("INSERT INTO team_queues (team_id, queue_id) VALUES ($1, $2)")
            .bind(id)
            .bind(q)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    for a in agent_ids {
        sqlx::query("INSERT INTO team_members (team_id, agent_id) VALUES ($1, $2)")
            .bind(id)
            .bind(a)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// Whether the switch is on.
pub async fn enabled(store: &Store) -> StoreResult<bool> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT teams_enabled FROM access_control WHERE id = 1")
            .fetch_optional(store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(row.is_some_and(|r| r.0 == 1))
}

/// Turn the switch on or off; returns the event to publish after commit.
pub async fn set_enabled(tx: &mut Tx, on: bool) -> StoreResult<Event> {
    sqlx::query("UPDATE access_control SET teams_enabled = $1, updated_at = $2 WHERE id = 1")
        .bind(i64::from(on))
        .bind(now_ms())
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    changed(
        tx,
        ACCESS_CHANGED,
        serde_json::json!({ "teams_enabled": on, "all_agents": true }),
    )
    .await
}

/// Record a change of access (logged, so every node's consoles and routers hear of it even
/// through a bus outage; `all_agents`: every console reloads what it shows).
pub async fn changed(tx: &mut Tx, kind: &str, data: serde_json::Value) -> StoreResult<Event> {
    let ev = events::new_event(kind, data);
    events::record(tx, &ev).await?;
    Ok(ev)
}
