//! Agents' phones as the PBX reports them (`agent_phone_states`, written by the voice
//! adapter's AMI listener): routing and assignment treat an agent on a call as busy.

use crate::store::{StoreError, StoreResult};
use sqlx::AnyConnection;
use std::collections::HashSet;

/// Whether the PBX reports the agent's phone in use.
pub async fn on_call(conn: &mut AnyConnection, agent_id: &str) -> StoreResult<bool> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT on_call FROM agent_phone_states WHERE agent_id = $1")
            .bind(agent_id)
            .fetch_optional(conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(row.is_some_and(|r| r.0 == 1))
}

/// Agents whose phone the PBX reports in use.
pub async fn agents_on_call(conn: &mut AnyConnection) -> StoreResult<HashSet<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT agent_id FROM agent_phone_states WHERE on_call = 1")
            .fetch_all(conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}
