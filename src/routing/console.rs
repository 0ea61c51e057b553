//! `GET /ws/console`: the agent console socket. Authenticated by `?token=`, the session cookie
//! or a bearer token; pushes every bus event concerning the agent (offers to it, its
//! conversations' messages, assignments, its presence) and every event to supervisors, as
//! JSON text frames (the [`crate::bus::Event`] shape).
//!
//! Resuming: the first frame, `{"type": "hello", "agent_id", "seq"}`, names the event log's
//! head; events of committed changes carry their `seq`. A console that reconnects with
//! `?since=SEQ` (the last `seq` it saw) first gets every event after it that it may see, in
//! order, once, then live ones — or `{"type": "resync"}` when the log no longer reaches back
//! that far (or too much happened meanwhile): reload instead.
//!
//! Each open socket has a row in `console_connections` (refreshed every
//! [`super::CONSOLE_HEARTBEAT`]); when an agent's last connection has been gone for the grace
//! period, on any node, its presence becomes `offline` and its unanswered work is re-queued.

use super::CONSOLE_HEARTBEAT;
use crate::auth::{resolve_token, resolve_token_fresh, token_from_parts, Caller, Role, REVOKED};
use crate::bus::Event;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::state::AppState;
use crate::store::{event_log, new_id, now_ms, StoreError, StoreResult};
use crate::teams::watch::EventFilter;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// The console route; `grace` is how long an agent stays present after its last socket closed
/// (`None`: the `routing.console_grace_secs` setting).
pub fn routes(grace: Option<Duration>) -> Router<AppState> {
    Router::new().route(
        "/ws/console",
        get(
            move |state: State<AppState>,
                  query: Query<TokenQuery>,
                  headers: HeaderMap,
                  ws: WebSocketUpgrade| {
                let grace = grace.unwrap_or_else(|| {
                    Duration::from_secs(state.settings.routing.console_grace_secs)
                });
                console(state, query, headers, ws, grace)
            },
        ),
    )
}

/// Query string of the console socket.
#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
    /// The last event `seq` this console saw: replay what came after it.
    since: Option<i64>,
}

async fn console(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
    grace: Duration,
) -> ApiResult<Response> {
    let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    let token = q
        .token
        .filter(|t| !t.is_empty())
        .or_else(|| token_from_parts(&parts))
        .ok_or(ApiError::Unauthorized)?;
    let caller = resolve_token(&state, &token)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let agent = caller.require_role(Role::Agent)?.clone();
    let Caller::Agent { token_id, .. } = &caller else {
        return Err(ApiError::Unauthorized);
    };
    let session = Session {
        agent: agent.id.clone(),
        role: agent.role,
        token_id: token_id.clone(),
        token,
        since: q.since,
    };
    let conn_id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO console_connections (id, agent_id, node, connected_at, seen_at) \
         VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(&conn_id)
    .bind(&agent.id)
    .bind(state.bus.node())
    .bind(now)
    .execute(state.store.pool())
    .await?;
    Ok(ws.on_upgrade(move |socket| async move {
        serve(&state, socket, &session, &conn_id).await;
        if let Err(e) = sqlx::query("DELETE FROM console_connections WHERE id = $1")
            .bind(&conn_id)
            .execute(state.store.pool())
            .await
        {
            tracing::warn!(error = %e, "cannot remove console connection");
        }
        tokio::time::sleep(grace).await;
        match offline_if_gone(&state, &agent.id, grace, now_ms()).await {
            Ok(Some(ev)) => state.bus.publish(ev).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot apply console presence grace"),
        }
    }))
}

/// Who a console socket serves, and with which session.
struct Session {
    agent: String,
    role: Role,
    token_id: String,
    token: String,
    since: Option<i64>,
}

impl Session {
    /// Supervisors see everything; an agent sees events about them (`agent_id`), addressed to
    /// them among others (`data.agent_ids`, e.g. a call ringing for several agents) or to every
    /// agent (`data.all_agents`, e.g. who is viewing a conversation). With access by team on,
    /// [`EventFilter`] then holds back what concerns other teams' queues.
    fn relevant(&self, ev: &Event) -> bool {
        let agent = self.agent.as_str();
        ev.kind != REVOKED
            && (self.role >= Role::Supervisor
                || ev.agent_id.as_deref() == Some(agent)
                || ev.data["all_agents"] == true
                || ev.data["agent_ids"]
                    .as_array()
                    .is_some_and(|ids| ids.iter().any(|id| id.as_str() == Some(agent))))
    }

    /// Whether `ev` ends this socket: its session was revoked (logout), or its agent was
    /// deactivated or given another role (the socket would keep the old role's view).
    fn ended_by(&self, ev: &Event) -> bool {
        match ev.kind.as_str() {
            REVOKED => ev.data["token_id"].as_str() == Some(&self.token_id),
            "agent.updated" if ev.agent_id.as_deref() == Some(&self.agent) => {
                ev.data["active"] == false || ev.data["role"] != self.role.as_str()
            }
            _ => false,
        }
    }
}

/// Close `socket` because its session ended.
async fn close_revoked(socket: &mut WebSocket) {
    let frame = axum::extract::ws::CloseFrame {
        code: 4001,
        reason: "session ended".into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn serve(state: &AppState, mut socket: WebSocket, session: &Session, conn_id: &str) {
    let agent = session.agent.as_str();
    // Subscribed before the log is read: an event committed meanwhile is in one or the other.
    let mut events = state.bus.subscribe();
    let mut beat = tokio::time::interval(CONSOLE_HEARTBEAT);
    beat.tick().await;
    let head = event_log::head(state.store.pool()).await.unwrap_or(0);
    let hello = serde_json::json!({ "type": "hello", "agent_id": agent, "seq": head }).to_string();
    if socket.send(Message::Text(hello.into())).await.is_err() {
        return;
    }
    // Access by team: what of the relevant events this agent may see.
    let mut filter = EventFilter::new(&state.store, agent, session.role).await;
    let replayed = match session.since {
        Some(since) => match replay(state, &mut socket, session, &mut filter, since, head).await {
            Some(r) => r,
            None => return,
        },
        None => HashSet::new(),
    };
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(ev) if session.ended_by(&ev) => return close_revoked(&mut socket).await,
                Ok(ev) => {
                    filter.observe(&state.store, &ev).await;
                    if ev.seq.is_some_and(|s| replayed.contains(&s))
                        || !session.relevant(&ev)
                        || !filter.allows(&state.store, &ev).await
                    {
                        continue;
                    }
                    let Ok(text) = serde_json::to_string(&*ev) else { continue };
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                // Events were lost to this console (it fell behind the bus): it reloads what
                // it shows, as after a reconnect the log cannot replay — an offer among them
                // would otherwise never reach the agent's screen.
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "console fell behind the bus: told to reload");
                    let frame = serde_json::json!({ "type": "resync" }).to_string();
                    if socket.send(Message::Text(frame.into())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = beat.tick() => {
                // Also catches a revocation whose event this node missed (e.g. a bus outage).
                if matches!(resolve_token_fresh(state, &session.token).await, Ok(None)) {
                    return close_revoked(&mut socket).await;
                }
                let _ = sqlx::query("UPDATE console_connections SET seen_at = $1 WHERE id = $2")
                    .bind(now_ms())
                    .bind(conn_id)
                    .execute(state.store.pool())
                    .await;
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Most events a reconnecting console is sent from the log; further behind, it reloads.
const REPLAY_MAX: i64 = 5000;

/// Send the events after `since` that the session may see, or a `resync` frame when the log
/// cannot tell them all. Returns the `seq`s read (so their live copies are skipped), or
/// `None` when the socket is gone.
async fn replay(
    state: &AppState,
    socket: &mut WebSocket,
    session: &Session,
    filter: &mut EventFilter,
    since: i64,
    head: i64,
) -> Option<HashSet<i64>> {
    let pool = state.store.pool();
    let read = async {
        let first = event_log::first(pool).await?;
        let rows = event_log::after(pool, since, REPLAY_MAX + 1).await?;
        Ok::<_, StoreError>((first, rows))
    };
    let events = match read.await {
        // Pruned past `since`, too far behind to be worth replaying, or a position this log
        // never reached (another deployment's, a restored database).
        Ok((first, rows))
            if first.is_some_and(|f| f > since + 1)
                || rows.len() as i64 > REPLAY_MAX
                || since > head =>
        {
            None
        }
        Ok((_, rows)) => Some(rows),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the event log for a console");
            None
        }
    };
    let Some(events) = events else {
        let frame = serde_json::json!({ "type": "resync" }).to_string();
        return socket
            .send(Message::Text(frame.into()))
            .await
            .ok()
            .map(|_| HashSet::new());
    };
    let mut seen = HashSet::new();
    for ev in events {
        seen.extend(ev.seq);
        filter.observe(&state.store, &ev).await;
        if !session.relevant(&ev) || !filter.allows(&state.store, &ev).await {
            continue;
        }
        let Ok(text) = serde_json::to_string(&ev) else {
            continue;
        };
        socket.send(Message::Text(text.into())).await.ok()?;
    }
    Some(seen)
}

/// Connections not refreshed for this long belong to a node that died.
fn stale_before(now: i64) -> i64 {
    now - (3 * CONSOLE_HEARTBEAT).as_millis() as i64
}

/// Agents whose console connections all went stale more than `grace` ago (their node died
/// without closing them) go offline; the stale rows are removed. Returns the events published.
pub(crate) async fn sweep_stale(state: &AppState, now: i64, grace: Duration) -> StoreResult<usize> {
    let cutoff = stale_before(now) - grace.as_millis() as i64;
    let agents: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT agent_id FROM console_connections WHERE seen_at <= $1")
            .bind(cutoff)
            .fetch_all(state.store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
    let mut n = 0;
    for (agent,) in agents {
        sqlx::query("DELETE FROM console_connections WHERE agent_id = $1 AND seen_at <= $2")
            .bind(&agent)
            .bind(cutoff)
            .execute(state.store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        if let Some(ev) = offline_if_gone(state, &agent, grace, now).await? {
            state.bus.publish(ev).await;
            n += 1;
        }
    }
    Ok(n)
}

/// Set the agent offline when it has no live console connection left on any node.
async fn offline_if_gone(
    state: &AppState,
    agent: &str,
    grace: Duration,
    now: i64,
) -> StoreResult<Option<Event>> {
    let stale = stale_before(now);
    let mut tx = state.store.begin().await?;
    let (live,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM console_connections WHERE agent_id = $1 AND seen_at > $2",
    )
    .bind(agent)
    .bind(stale)
    .fetch_one(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    if live > 0 {
        return Ok(None);
    }
    let res = sqlx::query(
        "UPDATE agents SET presence = 'offline', presence_at = $1 \
         WHERE id = $2 AND presence <> 'offline'",
    )
    .bind(now)
    .bind(agent)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    if res.rows_affected() == 0 {
        return Ok(None);
    }
    crate::reports::presence::log(tx.conn(), agent, "offline", now).await?;
    let mut ev = events::new_event(
        "agent.presence_changed",
        serde_json::json!({ "status": "offline", "reason": "console_disconnected", "grace_seconds": grace.as_secs() }),
    );
    ev.agent_id = Some(agent.to_string());
    events::record(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(Some(ev))
}
