//! The event bus: in-process in embedded mode, across nodes over Redis in scale mode.
use crate::helpers::*;
use serde_json::json;
use std::time::Duration;
use switchboard::bus::Event;
use tokio::sync::broadcast::Receiver;

async fn next_of_kind(
    rx: &mut Receiver<std::sync::Arc<Event>>,
    kind: &str,
) -> std::sync::Arc<Event> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let ev = rx.recv().await.expect("bus open");
            if ev.kind == kind {
                return ev;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} event within 10 s"))
}

async fn every_change_is_published_on_the_bus(b: Backend) {
    let app = spawn_app(b).await;
    let mut rx = app.state.bus.subscribe();
    let (agent_id, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let conv = app
        .conversation(&app.admin_token, "sara@example.com", "Hi", json!({}))
        .await;
    let id = conv["id"].as_str().unwrap();
    let created = next_of_kind(&mut rx, "conversation.created").await;
    assert_eq!(created.conversation_id.as_deref(), Some(id));
    let first = next_of_kind(&mut rx, "message.created").await;
    assert_eq!(first.data["message"]["seq"], 1);
    app.post(
        &format!("/api/v1/conversations/{id}/assign"),
        &agent,
        json!({"agent_id": agent_id}),
    )
    .await;
    let assigned = next_of_kind(&mut rx, "conversation.assigned").await;
    assert_eq!(assigned.agent_id.as_deref(), Some(agent_id.as_str()));
    app.patch(
        &format!("/api/v1/conversations/{id}"),
        &agent,
        json!({"status": "resolved"}),
    )
    .await;
    let status = next_of_kind(&mut rx, "conversation.status_changed").await;
    assert_eq!(status.data["to"], "resolved");
    app.put(
        "/api/v1/agents/me/presence",
        &agent,
        json!({"status": "available"}),
    )
    .await;
    let presence = next_of_kind(&mut rx, "agent.presence_changed").await;
    assert_eq!(presence.data["status"], "available");
}

crate::storage_tests!(every_change_is_published_on_the_bus);

/// Scale mode: two nodes on one PostgreSQL database and one Redis; a change made through node A
/// reaches a subscriber on node B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_crosses_from_one_node_to_another_over_redis() {
    let prefix = format!("sbtest-{}", uuid::Uuid::new_v4().simple());
    let redis = redis_url();
    let p1 = prefix.clone();
    let r1 = redis.clone();
    let a = spawn_app_with(Backend::Postgres, move |s| {
        s.redis.url = r1.into();
        s.redis.channel_prefix = p1;
    })
    .await;
    let node_b = spawn_on(&a.database_url, a._dir.clone(), move |s| {
        s.redis.url = redis.into();
        s.redis.channel_prefix = prefix;
    })
    .await;
    let mut rx_b = node_b.state.bus.subscribe();
    let conv = a
        .conversation(
            &a.admin_token,
            "cross@example.com",
            "Across nodes",
            json!({}),
        )
        .await;
    let ev = next_of_kind(&mut rx_b, "conversation.created").await;
    assert_eq!(ev.conversation_id.as_deref(), conv["id"].as_str());
    assert_eq!(ev.node, a.state.bus.node(), "produced by node A");
    assert_ne!(a.state.bus.node(), node_b.state.bus.node());
    // Node B serves the same data (PostgreSQL is the system of record).
    let (s, got) = node_b
        .get(
            &format!("/api/v1/conversations/{}", conv["id"].as_str().unwrap()),
            &node_b.admin_token,
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK);
    assert_eq!(got["subject"], "Across nodes");
}
