//! The router worker: runs [`super::run_once`] on every relevant bus event and every
//! [`super::ROUTER_TICK`].

use super::apply::touch_idle;
use super::ROUTER_TICK;
use crate::bus::Event;
use crate::state::AppState;
use crate::store::now_ms;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// Events after which waiting conversations or agents' capacity may have changed.
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
    )
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

/// Route until `stop` is cancelled.
pub(crate) async fn run(state: AppState, stop: CancellationToken) {
    let mut events = state.bus.subscribe();
    let mut tick = tokio::time::interval(ROUTER_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
            ev = events.recv() => match ev {
                Ok(ev) => {
                    note_release(&state, &ev).await;
                    if !triggers(&ev) {
                        continue;
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
        }
        // Several events usually arrive together: one pass handles them all.
        while let Ok(ev) = events.try_recv() {
            note_release(&state, &ev).await;
        }
        for _ in 0..3 {
            match super::run_once(&state, now_ms()).await {
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
