//! Restarts and several nodes: nothing lost, nothing repeated.

use super::client::*;
use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_resumes_after_a_server_restart_without_loss_or_repeats() {
    let a = spawn_app(Backend::Sqlite).await;
    let key = site(&a, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut v, w) = Visitor::join(&a, &key, None, None).await;
    let token = w["visitor_token"].as_str().unwrap().to_string();
    let conv = v.say("m1", "قبل از راه‌اندازی دوباره").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(v.next_of("message").await["seq"], 1);
    a.stop.cancel();
    // The stopping node closes the socket ("service restart"), so the widget reconnects.
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        use futures::StreamExt;
        loop {
            match v.ws.next().await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(f)))) => {
                    return u16::from(f.code)
                }
                None | Some(Err(_)) => return 0,
                _ => continue,
            }
        }
    })
    .await
    .expect("the socket is closed when its node stops");
    assert_eq!(closed, 1012);
    drop(v);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = spawn_on(&a.database_url, a._dir.clone(), |_| {}).await;
    reply(&b, &b.admin_token, &conv, "پاسخ پس از راه‌اندازی", false).await;
    let (mut v, w) = Visitor::join(&b, &key, Some(&token), Some(1)).await;
    assert_eq!(
        super::client::visitor_of(&w),
        super::client::visitor_of(&json!({"visitor_token": token})),
        "the token survives the restart (a renewed token of the same visitor)"
    );
    assert_eq!(w["conversation_id"], conv.as_str());
    let seqs: Vec<i64> = w["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![2], "only the missed reply is replayed");
    // A resend of the pre-restart message is recognised.
    assert_eq!(v.say("m1", "قبل از راه‌اندازی دوباره").await["seq"], 1);
    assert_eq!(v.say("m2", "بعد").await["seq"], 3);
    assert_eq!(api_messages(&b, &conv).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_on_node_b_receives_a_reply_posted_through_node_a_over_redis() {
    let prefix = format!("sbtest-{}", uuid::Uuid::new_v4().simple());
    let (r1, p1) = (redis_url(), prefix.clone());
    let a = spawn_app_with(Backend::Postgres, move |s| {
        s.redis.url = r1.into();
        s.redis.channel_prefix = p1;
    })
    .await;
    let redis = redis_url();
    let b = spawn_on(&a.database_url, a._dir.clone(), move |s| {
        s.redis.url = redis.into();
        s.redis.channel_prefix = prefix;
    })
    .await;
    let key = site(&a, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut on_b, w) = Visitor::join(&b, &key, None, None).await;
    let token = w["visitor_token"].as_str().unwrap().to_string();
    // A second tab of the same visitor on node A, before any conversation exists.
    let (mut on_a, _) = Visitor::join(&a, &key, Some(&token), None).await;
    let conv = on_b.say("x1", "سلام از گره B").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let echo = on_a.next_of("message").await;
    assert_eq!(
        (echo["seq"].clone(), echo["client_id"].clone()),
        (json!(1), json!("x1")),
        "the other tab on node A sees it"
    );
    reply(&a, &a.admin_token, &conv, "پاسخ از گره A", false).await;
    loop {
        let m = on_b.next_of("message").await;
        if m["seq"] == 2 {
            assert_eq!(m["text"], "پاسخ از گره A");
            assert_eq!(m["author"], "agent");
            break;
        }
        assert_eq!(m["seq"], 1, "only the echo comes before the reply");
    }
}
