//! Scale mode across a Redis outage: writes answer at once, `/readyz` tells, and live
//! consoles receive events again when Redis is back.

use super::services::OwnRedis;
use crate::helpers::*;
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

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

/// The `conversation.created` event of conversation `id` on `socket`, within `secs`.
async fn created_event(socket: &mut Socket, id: &str, secs: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no conversation.created for {id} within {secs} s"))
            .expect("socket open")
            .expect("frame");
        if let Message::Text(t) = frame {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["kind"] == "conversation.created" && v["conversation_id"] == id {
                return v;
            }
        }
    }
}

async fn wait_ready(app: &TestApp, want: u16, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        if status == want {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz still {status} ({text}) after {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn open(app: &TestApp, subject: &str) -> (String, Duration) {
    let started = Instant::now();
    let c = app
        .conversation(&app.admin_token, "blip@example.com", subject, json!({}))
        .await;
    (
        c["id"].as_str().expect("created").to_string(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_neither_stalls_writes_nor_ends_live_delivery_after_redis_returns() {
    let mut redis = OwnRedis::start().await;
    let prefix = format!("sbfault-{}", uuid::Uuid::new_v4().simple());
    let a = node(None, redis.url(), prefix.clone()).await;
    let b = node(Some(&a), redis.url(), prefix).await;
    let ws = b.base.replacen("http", "ws", 1);
    let url = format!("{ws}/ws/console?token={}", b.admin_token);
    let (mut console, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let (before, _) = open(&a, "before").await;
    created_event(&mut console, &before, 10).await;

    redis.kill();
    let killed = Instant::now();
    let reason = wait_ready(&b, 503, 10).await;
    eprintln!("readyz 503 after {:?}", killed.elapsed());
    assert!(reason.contains("bus"), "{reason}");
    let (during, took) = open(&a, "during").await;
    assert!(
        took < Duration::from_secs(2),
        "a write took {took:?} while Redis was down"
    );
    eprintln!("a write answered in {took:?} while Redis was down");
    tokio::time::sleep(Duration::from_secs(2)).await;

    redis.restart().await;
    let back = Instant::now();
    wait_ready(&a, 200, 15).await;
    wait_ready(&b, 200, 15).await;
    eprintln!("both nodes ready {:?} after Redis returned", back.elapsed());
    // What node A committed during the outage was queued and reaches node B's console...
    created_event(&mut console, &during, 15).await;
    eprintln!(
        "the outage's event reached node B {:?} after Redis returned",
        back.elapsed()
    );
    // ...and so does everything after.
    let (after, _) = open(&a, "after").await;
    created_event(&mut console, &after, 15).await;
}
