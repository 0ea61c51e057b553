//! The router worker: runs [`super::route_once`] on every relevant bus event and, on the node
//! holding the router lease, [`super::run_once`] every [`super::ROUTER_TICK`] (expiring offers,
//! SLA checks, and whatever events this node did not see). Correctness never depends on the lease: the
//! database arbitrates every decision; the lease only avoids every node reloading every second.

use super::apply::touch_idle;
use super::run::{route_kept, run_kept, Kept, Pass};
use super::{ROUTER_LEASE, ROUTER_TICK};
use crate::bus::Event;
use crate::state::AppState;
use crate::store::{now_ms, StoreResult};
use std::time::Duration;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio_util::sync::CancellationToken;

/// Events after which waiting conversations, agents' capacity or who may take what (teams)
/// may have changed; all but `conversation.created` make the next pass load a fresh engine.
fn triggers(ev: &Event) -> bool {
    matches!(
        ev.kind.as_str(),
        "conversation.created"
            | "conversation.transferred"
            | "conversation.status_changed"
            | "conversation.assigned"
            | "conversation.offer_declined"
            | "conversation.updated"
            | "agent.presence_changed"
            | "agent.updated"
            | "agent.created"
            | "queue.updated"
            | "queue.created"
            | "agent.phone_changed"
            | "team.changed"
            | "access.changed"
    )
}

/// Whether `ev` may call for withdrawing offers or re-queueing an offline agent's work (an
/// agent left or changed, a conversation stopped waiting or moved); a new conversation only
/// calls for routing, which at thousands a second matters.
fn settles(ev: &Event) -> bool {
    ev.kind != "conversation.created"
}

/// Note the conversation a `conversation.created` event announces; one without an id calls
/// for a full pass.
fn arrival(ev: &Event, arrivals: &mut Vec<String>, settle: &mut bool) {
    if ev.kind == "conversation.created" {
        match &ev.conversation_id {
            Some(id) => arrivals.push(id.clone()),
            None => *settle = true,
        }
    }
}

/// When an agent resolves or closes a conversation it becomes "idle since" now.
async fn note_release(state: &AppState, ev: &Event) {
    let done = ev.kind == "conversation.status_changed"
        && matches!(ev.data["to"].as_str(), Some("resolved" | "closed"));
    let Some(agent) = ev.agent_id.as_deref().filter(|_| done) else {
        return;
    };
    let result = async {
        let mut tx = state.store.begin().await?;
        touch_idle(&mut tx, agent, now_ms()).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot record agent idle time");
    }
}

/// Take or renew the router lease for this node; true when this node holds it.
async fn hold_lease(state: &AppState, now: i64) -> StoreResult<bool> {
    let until = now + ROUTER_LEASE.as_millis() as i64;
    crate::store::lease::take(&state.store, "router", state.bus.node(), now, until).await
}

/// Give the lease up (on shutdown) so another node takes over at its next tick.
async fn release_lease(state: &AppState) {
    let result = sqlx::query("UPDATE routing_leases SET expires_at = 0 WHERE holder = $1")
        .bind(state.bus.node())
        .execute(state.store.pool())
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot release the router lease");
    }
}

/// Least time between the starts of two event-triggered passes: routing a burst a few
/// milliseconds later costs nobody anything, while a pass per event (a read each, at
/// thousands of new conversations a second) took CPU from the chats being stored.
const EVENT_PASS_GAP: Duration = Duration::from_millis(10);

/// Route until `stop` is cancelled: on every relevant local event, and every
/// [`ROUTER_TICK`] while this node holds the router lease.
pub(crate) async fn run(state: AppState, stop: CancellationToken) {
    let mut events = state.bus.subscribe();
    let mut tick = tokio::time::interval(ROUTER_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let now = tokio::time::Instant::now();
    let mut last_event_pass = now.checked_sub(EVENT_PASS_GAP).unwrap_or(now);
    let mut kept = Kept::default();
    loop {
        let mut settle = false;
        // New conversations announced since the last pass: all an arrivals-only pass reads.
        let mut arrivals: Vec<String> = Vec::new();
        let periodic = tokio::select! {
            _ = stop.cancelled() => {
                release_lease(&state).await;
                return;
            }
            _ = tick.tick() => match hold_lease(&state, now_ms()).await {
                Ok(true) => true,
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the router lease");
                    continue;
                }
            },
            ev = events.recv() => match ev {
                Ok(ev) => {
                    note_release(&state, &ev).await;
                    if !triggers(&ev) {
                        continue;
                    }
                    settle = settles(&ev);
                    arrival(&ev, &mut arrivals, &mut settle);
                    false
                }
                Err(RecvError::Lagged(_)) => {
                    settle = true;
                    false
                }
                Err(RecvError::Closed) => return,
            },
        };
        // Several events usually arrive together: one pass handles them all. Under a stream
        // of them (thousands of new chats a second) event passes are at least
        // EVENT_PASS_GAP apart, so the events of that gap share one pass.
        if !periodic {
            tokio::time::sleep_until(last_event_pass + EVENT_PASS_GAP).await;
        }
        loop {
            match events.try_recv() {
                Ok(ev) => {
                    note_release(&state, &ev).await;
                    settle |= triggers(&ev) && settles(&ev);
                    if triggers(&ev) {
                        arrival(&ev, &mut arrivals, &mut settle);
                    }
                }
                Err(TryRecvError::Lagged(_)) => settle = true,
                Err(_) => break,
            }
        }
        if !periodic {
            last_event_pass = tokio::time::Instant::now();
        }
        for _ in 0..3 {
            let pass = if periodic {
                run_kept(&state, now_ms(), &mut kept).await
            } else {
                let pass = if settle {
                    Pass::Settle
                } else {
                    Pass::Arrivals(&arrivals)
                };
                route_kept(&state, now_ms(), pass, &mut kept).await
            };
            match pass {
                // Decisions lost to another node: the next pass sees the new state.
                Ok(report) if report.dropped > 0 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "routing pass failed");
                    break;
                }
            }
        }
    }
}
