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

/// The pass for what the events taken from the bus call for. The periodic pass handles them
/// too: a settling event calls for a fresh engine, and new conversations join the kept one.
/// (Before, a periodic pass that took them left both unseen on the kept engine until its
/// reload, 30 s on: a new conversation could wait that long for its offer.)
fn choose<'a>(periodic: bool, settle: bool, arrivals: &'a [String], kept: &mut Kept) -> Pass<'a> {
    if periodic {
        if settle {
            kept.forget();
        }
        Pass::Tick(arrivals)
    } else if settle {
        Pass::Settle
    } else {
        Pass::Arrivals(arrivals)
    }
}

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
            let pass = match choose(periodic, settle, &arrivals, &mut kept) {
                Pass::Tick(arrivals) => run_kept(&state, now_ms(), arrivals, &mut kept).await,
                pass => route_kept(&state, now_ms(), pass, &mut kept).await,
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

#[cfg(test)]
mod tests {
    use super::{choose, Kept, Pass};
    use switchboard_routing::{Engine, RoutingConfig};

    fn kept() -> Kept {
        let mut kept = Kept::default();
        kept.keep(Engine::new(RoutingConfig::default()));
        kept
    }

    #[test]
    fn a_periodic_pass_handles_the_events_it_took_from_the_bus() {
        let ids = vec!["c1".to_string()];
        let mut k = kept();
        let pass = choose(true, false, &ids, &mut k);
        assert!(
            matches!(pass, Pass::Tick(a) if a == ids.as_slice()),
            "arrivals join"
        );
        assert!(k.holds_engine(), "nothing settling: the engine is kept");
        let pass = choose(true, true, &ids, &mut k);
        assert!(matches!(pass, Pass::Tick(_)));
        assert!(!k.holds_engine(), "a settling event: a fresh engine");
    }

    #[test]
    fn an_event_pass_settles_or_adds_arrivals() {
        let ids = vec!["c1".to_string()];
        let mut k = kept();
        assert!(matches!(choose(false, true, &ids, &mut k), Pass::Settle));
        assert!(matches!(
            choose(false, false, &ids, &mut k),
            Pass::Arrivals(_)
        ));
        assert!(k.holds_engine(), "the settle pass itself loads afresh");
    }
}
