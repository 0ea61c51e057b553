//! The PBX links: the lease that keeps one node on each PBX, the link's state as every node
//! sees it, and `GET /api/v1/channels/voice/pbx` showing them to admins.

use crate::auth::{Caller, Role};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::{ms_to_rfc3339, now_ms, StoreError, StoreResult};
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// Take or renew the lease on `name` for this node; true when this node holds it. A node
/// taking a PBX over starts from state `connecting`.
pub async fn hold(state: &AppState, name: &str, now: i64) -> StoreResult<bool> {
    let node = state.bus.node();
    let until = now + i64::from(state.settings.voice.ami_lease_secs.max(1)) * 1000;
    let mut tx = state.store.begin().await?;
    let created = sqlx::query(
        "INSERT INTO voice_pbx_links (name, holder, expires_at, state, updated_at) \
         VALUES ($1, $2, $3, 'connecting', $4) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(node)
    .bind(until)
    .bind(now)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let renewed = sqlx::query(
        "UPDATE voice_pbx_links SET \
           state = CASE WHEN holder = $2 THEN state ELSE 'connecting' END, \
           detail = CASE WHEN holder = $2 THEN detail ELSE NULL END, \
           holder = $2, expires_at = $3 \
         WHERE name = $1 AND (holder = $2 OR expires_at < $4)",
    )
    .bind(name)
    .bind(node)
    .bind(until)
    .bind(now)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    tx.commit().await?;
    Ok(created.rows_affected() + renewed.rows_affected() > 0)
}

/// Give the lease up (on shutdown) so another node takes the PBX over at once.
pub async fn release(state: &AppState, name: &str) {
    let result = sqlx::query(
        "UPDATE voice_pbx_links SET expires_at = 0, state = 'released', updated_at = $3 \
         WHERE name = $1 AND holder = $2",
    )
    .bind(name)
    .bind(state.bus.node())
    .bind(now_ms())
    .execute(state.store.pool())
    .await;
    if let Err(e) = result {
        tracing::warn!(pbx = name, error = %e, "cannot release the PBX lease");
    }
}

/// Record how the link of this node to `name` is.
pub async fn set(state: &AppState, name: &str, link: &str, detail: Option<&str>) {
    let result = sqlx::query(
        "UPDATE voice_pbx_links SET state = $3, detail = $4, updated_at = $5 \
         WHERE name = $1 AND holder = $2",
    )
    .bind(name)
    .bind(state.bus.node())
    .bind(link)
    .bind(detail)
    .bind(now_ms())
    .execute(state.store.pool())
    .await;
    if let Err(e) = result {
        tracing::warn!(pbx = name, error = %e, "cannot record the PBX link state");
    }
}

/// A PBX link as every node sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PbxLink {
    pub name: String,
    /// `connecting`, `connected`, `auth_failed` (the PBX refused the user or secret),
    /// `unreachable`, `released`, or `down` (no node holds it).
    pub state: String,
    /// The PBX's banner when connected, else what went wrong.
    pub detail: Option<String>,
    /// The node following it.
    pub node: Option<String>,
    pub updated_at: Option<String>,
}

/// The links of the configured PBXes.
pub async fn links(state: &AppState) -> StoreResult<Vec<PbxLink>> {
    let now = now_ms();
    let mut out = Vec::new();
    for pbx in super::configured(&state.settings.voice) {
        let row: Option<(String, i64, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT holder, expires_at, state, detail, updated_at FROM voice_pbx_links WHERE name = $1",
        )
        .bind(&pbx.name)
        .fetch_optional(state.store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        out.push(match row {
            Some((holder, expires, link, detail, at)) => PbxLink {
                name: pbx.name,
                state: if expires < now && link != "released" {
                    "down".into()
                } else {
                    link
                },
                detail,
                node: Some(holder),
                updated_at: Some(ms_to_rfc3339(at)),
            },
            None => PbxLink {
                name: pbx.name,
                state: "down".into(),
                detail: None,
                node: None,
                updated_at: None,
            },
        });
    }
    Ok(out)
}

/// Whether some node is connected to `name` right now.
pub async fn connected(state: &AppState, name: &str) -> StoreResult<bool> {
    Ok(links(state)
        .await?
        .iter()
        .any(|l| l.name == name && l.state == "connected"))
}

/// The configured PBXes and how each is connected (admins and supervisors).
#[utoipa::path(get, path = "/channels/voice/pbx", tag = "voice",
    responses((status = 200, body = [PbxLink]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list_links(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<PbxLink>>> {
    caller.require_role(Role::Supervisor)?;
    Ok(Json(links(&state).await?))
}
