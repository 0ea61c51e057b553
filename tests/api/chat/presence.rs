//! Handshake checks, connection limits and the signals that flow from the visitor to the agents.

use super::client::*;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

async fn visitor_typing_read_marks_and_profile_reach_the_agents(b: Backend) {
    let app = spawn_app(b).await;
    let key = site(&app, json!({"prechat_fields": ["name", "email"]})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let mut bus = app.state.bus.subscribe();
    let (mut v, _) = Visitor::join(&app, &key, None, None).await;
    v.send(json!({"type": "prechat", "name": "نگار", "email": "negar@example.com"}))
        .await;
    let conv = v.say("q", "سلام").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    v.send(json!({"type": "typing", "on": true})).await;
    let typing = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let ev = bus.recv().await.unwrap();
            if ev.kind == "chat.typing" {
                return ev;
            }
        }
    })
    .await
    .expect("visitor typing published on the bus");
    assert_eq!(typing.conversation_id.as_deref(), Some(conv.as_str()));
    assert_eq!(typing.data["author"], "visitor");
    assert_eq!(typing.data["on"], true);
    reply(&app, &agent, &conv, "بفرمایید", false).await;
    assert_eq!(v.next_of("message").await["seq"], 1);
    assert_eq!(v.next_of("message").await["seq"], 2);
    // A read mark beyond the last message is clamped.
    v.send(json!({"type": "read", "seq": 99})).await;
    let info = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (s, info) = app
                .get(
                    &format!("/api/v1/channels/chat/conversations/{conv}/visitor"),
                    &agent,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{info}");
            if info["read_seq"] == 2 {
                return info;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("read mark stored");
    assert_eq!(info["name"], "نگار");
    assert_eq!(info["email"], "negar@example.com");
    let (_, detail) = app
        .get(&format!("/api/v1/conversations/{conv}"), &agent)
        .await;
    let (_, customer) = app
        .get(
            &format!(
                "/api/v1/customers/{}",
                detail["customer_id"].as_str().unwrap()
            ),
            &agent,
        )
        .await;
    assert_eq!(customer["name"], "نگار");
    // A typed email is a claim, kept on the visitor and shown unverified, never an identity.
    assert!(
        !customer.to_string().contains("negar@example.com"),
        "{customer}"
    );
    assert_eq!(info["email_verified"], false);
    assert_eq!(info["possible_match"], serde_json::Value::Null);
    // Agent-only routes refuse anonymous callers and non-chat conversations.
    let (s, body) = app
        .call(
            "GET",
            &format!("/api/v1/channels/chat/conversations/{conv}/visitor"),
            None,
            None,
        )
        .await;
    assert_error(s, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let other = app
        .conversation(&app.admin_token, "x@example.com", "email", json!({}))
        .await;
    let (s, body) = app
        .post(
            &format!(
                "/api/v1/channels/chat/conversations/{}/typing",
                other["id"].as_str().unwrap()
            ),
            &agent,
            json!({"on": true}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "not_chat");
}

async fn two_tabs_sending_their_first_messages_at_once_share_one_conversation(b: Backend) {
    let app = spawn_app(b).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut t1, w) = Visitor::join(&app, &key, None, None).await;
    let token = w["visitor_token"].as_str().unwrap().to_string();
    let (mut t2, _) = Visitor::join(&app, &key, Some(&token), None).await;
    t1.message("t1", "از زبانه اول").await;
    t2.message("t2", "از زبانه دوم").await;
    let mut acks = Vec::new();
    for tab in [&mut t1, &mut t2] {
        // Whatever the interleaving: one ack, and both messages once each, in seq order.
        let (mut ack, mut seen) = (None, Vec::new());
        while ack.is_none() || seen.len() < 2 {
            let f = tab.next().await;
            match f["type"].as_str().unwrap() {
                "ack" => ack = Some(f),
                "message" => seen.push(f["seq"].as_i64().unwrap()),
                _ => {}
            }
        }
        assert_eq!(seen, vec![1, 2]);
        acks.push(ack.unwrap());
    }
    assert_eq!(acks[0]["conversation_id"], acks[1]["conversation_id"]);
    let mut seqs: Vec<i64> = acks.iter().map(|a| a["seq"].as_i64().unwrap()).collect();
    seqs.sort();
    assert_eq!(seqs, vec![1, 2]);
    let (s, page) = app
        .get("/api/v1/conversations?channel=chat", &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
}

async fn fifteen_visitors_at_once_each_get_their_own_ordered_conversation(b: Backend) {
    let app = std::sync::Arc::new(spawn_app(b).await);
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let mut tasks = Vec::new();
    for n in 0..15 {
        let (app, key) = (app.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let (mut v, _) = Visitor::join(&app, &key, None, None).await;
            let mut conv = String::new();
            for i in 1..=5 {
                let ack = v
                    .say(&format!("{n}-{i}"), &format!("visitor {n} message {i}"))
                    .await;
                assert_eq!(ack["seq"], i);
                conv = ack["conversation_id"].as_str().unwrap().to_string();
            }
            (n, conv)
        }));
    }
    let mut convs = std::collections::HashSet::new();
    for t in tasks {
        let (n, conv) = t.await.unwrap();
        let bodies: Vec<String> = api_messages(&app, &conv)
            .await
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = (1..=5)
            .map(|i| format!("visitor {n} message {i}"))
            .collect();
        assert_eq!(bodies, expected);
        convs.insert(conv);
    }
    assert_eq!(convs.len(), 15);
}

crate::storage_tests!(
    fifteen_visitors_at_once_each_get_their_own_ordered_conversation,
    visitor_typing_read_marks_and_profile_reach_the_agents,
    two_tabs_sending_their_first_messages_at_once_share_one_conversation,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_may_hold_twenty_sockets_and_the_twenty_first_is_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let mut open_sockets = Vec::new();
    for _ in 0..20 {
        open_sockets.push(
            open(&app, &key, Some(ORIGIN))
                .await
                .expect("within the limit"),
        );
    }
    assert_eq!(open(&app, &key, Some(ORIGIN)).await.err(), Some(429));
    // Closing one frees its slot.
    let mut first = open_sockets.remove(0);
    first.ws.close(None).await.unwrap();
    drop(first);
    let reopened = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(v) = open(&app, &key, Some(ORIGIN)).await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(reopened.is_ok(), "a slot is released when a socket closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_never_says_hello_first_is_closed() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.chat.hello_timeout_secs = 2).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let mut silent = open(&app, &key, Some(ORIGIN)).await.unwrap();
    let started = std::time::Instant::now();
    let code = tokio::time::timeout(Duration::from_secs(20), async {
        use futures::StreamExt;
        loop {
            match silent.ws.next().await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(f)))) => {
                    return u16::from(f.code)
                }
                None | Some(Err(_)) => return 0,
                _ => continue,
            }
        }
    })
    .await
    .expect("closed within the hello timeout");
    assert_eq!(code, 1008, "policy violation: hello expected");
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "not before the timeout"
    );
    // A hello that is not first is refused too.
    let mut wrong = open(&app, &key, Some(ORIGIN)).await.unwrap();
    wrong.message("x", "before hello").await;
    assert_eq!(wrong.next_of("error").await["code"], "bad_frame");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_from_an_unlisted_origin_is_told_it_is_not_allowed_and_disconnected() {
    let app = spawn_app(Backend::Sqlite).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let closed = site(&app, json!({"allowed_origins": []})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        refused(&app, &key, Some("https://evil.example")).await,
        "origin_not_allowed"
    );
    assert_eq!(
        refused(&app, &key, Some("https://shop.example.evil.com")).await,
        "origin_not_allowed"
    );
    assert_eq!(
        refused(&app, &key, None).await,
        "origin_not_allowed",
        "no Origin, no chat"
    );
    assert_eq!(
        refused(&app, &closed, Some(ORIGIN)).await,
        "origin_not_allowed",
        "an empty list allows nobody"
    );
    assert_eq!(
        open(&app, "no-such-site", Some(ORIGIN)).await.err(),
        Some(404)
    );
    assert!(
        open(&app, &key, Some("HTTPS://SHOP.EXAMPLE")).await.is_ok(),
        "origins compare case-insensitively"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_socket_is_pinged_then_closed_while_a_live_one_stays_open() {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message as M;
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.chat.ping_secs = 1;
        s.chat.idle_timeout_secs = 3;
    })
    .await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut live, _) = Visitor::join(&app, &key, None, None).await;
    let (mut silent, _) = Visitor::join(&app, &key, None, None).await;
    // The live widget keeps reading, so its client answers every ping with a pong.
    let live_task = tokio::spawn(async move {
        let until = std::time::Instant::now() + Duration::from_secs(6);
        let mut pings = 0;
        while std::time::Instant::now() < until {
            match tokio::time::timeout(Duration::from_millis(200), live.ws.next()).await {
                Ok(Some(Ok(M::Ping(_)))) => pings += 1,
                Ok(Some(Ok(M::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return (false, pings),
                _ => {}
            }
        }
        (true, pings)
    });
    // The silent one reads nothing for longer than the idle timeout.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let code = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match silent.ws.next().await {
                Some(Ok(M::Close(Some(f)))) => return u16::from(f.code),
                None | Some(Err(_)) => return 0,
                _ => continue,
            }
        }
    })
    .await
    .expect("the silent socket was closed (an open one would keep getting pings)");
    // 1001 when the close frame is read first; 0 when the client's queued pongs hit the
    // already-closed connection before it reads that frame.
    assert!(code == 1001 || code == 0, "closed as idle, got code {code}");
    let (still_open, pings) = live_task.await.unwrap();
    assert!(still_open, "a socket that answers pings stays open");
    assert!(pings >= 3, "pinged every second: {pings}");
}
