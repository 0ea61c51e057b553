//! Scale mode while Redis is down: what other nodes commit still reaches this node's widgets
//! and consoles, from the event log (issue 15 items 1 and 3) — pushed during the outage, not
//! only after Redis returns — and once.

use super::services::OwnRedis;
use crate::chat::client::{reply, site, Visitor};
use crate::helpers::*;
use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

async fn node(db: Option<&TestApp>, redis: String, prefix: String) -> TestApp {
    let tweak = move |s: &mut switchboard::settings::Settings| {
        s.redis.url = redis.into();
        s.redis.channel_prefix = prefix;
        s.redis.timeout_ms = 500;
        s.redis.max_backoff_ms = 300;
    };
    match db {
        None => spawn_app_with(Backend::Postgres, tweak).await,
        Some(a) => spawn_on(&a.database_url, a._dir.clone(), tweak).await,
    }
}

/// Every console frame carrying `message_id`'s `message.created` within `secs`.
async fn message_events(
    console: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    message_id: &str,
    secs: u64,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut out = Vec::new();
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, console.next()).await {
        if let Message::Text(t) = frame {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["kind"] == "message.created" && v["data"]["message"]["id"] == message_id {
                out.push(v);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_other_nodes_changes_reach_widgets_and_consoles_from_the_log() {
    let mut redis = OwnRedis::start().await;
    let prefix = format!("sbevents-{}", uuid::Uuid::new_v4().simple());
    let a = node(None, redis.url(), prefix.clone()).await;
    let b = node(Some(&a), redis.url(), prefix).await;
    let key = site(&a, serde_json::json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    // The visitor and a supervisor's console are on node B.
    let (mut visitor, _) = Visitor::join(&b, &key, None, None).await;
    let conv = visitor.say("c1", "سلام").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let ws = b.base.replacen("http", "ws", 1);
    let url = format!("{ws}/ws/console?token={}", b.admin_token);
    let (mut console, _) = tokio_tungstenite::connect_async(url).await.unwrap();

    redis.kill();
    // The agent answers on node A; Redis cannot carry it to node B.
    let m = reply(&a, &a.admin_token, &conv, "جواب در زمان قطعی", false).await;
    let id = m["id"].as_str().unwrap().to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let frame = loop {
        let f = tokio::time::timeout_at(deadline, visitor.next_of("message"))
            .await
            .expect("the reply reaches the widget while Redis is down");
        if f["author"] == "agent" {
            break f;
        }
    };
    assert_eq!(frame["text"], "جواب در زمان قطعی");
    let seen = message_events(&mut console, &id, 3).await;
    assert_eq!(seen.len(), 1, "the console got it once: {seen:?}");
    assert!(
        !b.client
            .get(b.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success(),
        "Redis was still down"
    );

    // When Redis returns, node A's queued event arrives too: not shown a second time.
    redis.restart().await;
    let again = message_events(&mut console, &id, 5).await;
    assert!(again.is_empty(), "delivered again: {again:?}");
    assert!(
        visitor
            .next_within(Duration::from_secs(2))
            .await
            .is_none_or(|f| f["type"] != "message"),
        "the widget shows the reply once"
    );
}
