//! Web chat: the visitor WebSocket driven by a real tokio-tungstenite peer against the real server,
//! on SQLite and PostgreSQL; cross-node over Redis; the widget in a real browser.

#[path = "chat/batch.rs"]
mod batch;
#[path = "chat/browser.rs"]
mod browser;
#[path = "chat/client.rs"]
pub(crate) mod client;
#[path = "chat/extras.rs"]
mod extras;
#[path = "chat/nodes.rs"]
mod nodes;
#[path = "chat/presence.rs"]
mod presence;
#[path = "chat/quotas.rs"]
mod quotas;

use crate::helpers::*;
use client::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

async fn fifty_messages_arrive_in_order_each_acknowledged_after_storage(b: Backend) {
    let app = spawn_app(b).await;
    let site = site(&app, json!({})).await;
    let key = site["site_key"].as_str().unwrap();
    let (mut v, welcome) = Visitor::join(&app, key, None, None).await;
    assert_eq!(welcome["conversation_id"], serde_json::Value::Null);
    assert_eq!(welcome["messages"], json!([]));
    let token = welcome["visitor_token"].as_str().unwrap().to_string();
    let mut conv = String::new();
    for i in 1..=50 {
        let ack = v.say(&format!("c{i}"), &format!("پیام شماره {i}")).await;
        assert_eq!(ack["seq"], i, "acks come in order without gaps");
        conv = ack["conversation_id"].as_str().unwrap().to_string();
        // Acknowledged means stored: the agent API already has it.
        if i % 10 == 0 {
            assert_eq!(api_messages(&app, &conv).await.len(), i as usize);
        }
    }
    let stored = api_messages(&app, &conv).await;
    let bodies: Vec<_> = stored
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<_> = (1..=50).map(|i| format!("پیام شماره {i}")).collect();
    assert_eq!(bodies, expected);
    assert!(stored
        .iter()
        .all(|m| m["channel"] == "chat" && m["author_kind"] == "customer"));
    let (s, detail) = app
        .get(&format!("/api/v1/conversations/{conv}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(detail["channel"], "chat");
    assert_eq!(detail["subject"], "پیام شماره 1");
    // A second tab replays everything, in order, each once.
    let (_v2, w2) = Visitor::join(&app, key, Some(&token), None).await;
    let seqs: Vec<i64> = w2["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
    assert_eq!(w2["messages"][49]["client_id"], "c50");
    assert_eq!(w2["messages"][0]["author"], "visitor");
    // Resuming from seq 45 replays only 46..=50.
    let (_v3, w3) = Visitor::join(&app, key, Some(&token), Some(45)).await;
    let seqs: Vec<i64> = w3["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![46, 47, 48, 49, 50]);
}

async fn a_message_resent_after_forced_disconnects_is_stored_once(b: Backend) {
    let app = spawn_app(b).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut v, welcome) = Visitor::join(&app, &key, None, None).await;
    let token = welcome["visitor_token"].as_str().unwrap().to_string();
    let first = v.say("first", "سلام").await;
    let conv = first["conversation_id"].as_str().unwrap().to_string();
    for i in 0..5 {
        // Send, then drop the socket before reading the ack.
        let cid = format!("lost-{i}");
        v.message(&cid, &format!("بار {i}")).await;
        drop(v);
        let (mut again, w) = Visitor::join(&app, &key, Some(&token), Some(1)).await;
        assert_eq!(
            client::visitor_of(&w),
            client::visitor_of(&json!({"visitor_token": token})),
            "the same visitor resumes"
        );
        let ack = again.say(&cid, &format!("بار {i}")).await;
        assert_eq!(
            ack["seq"],
            i + 2,
            "the resend gets the seq of the first copy (or is the first copy)"
        );
        let ack2 = again.say(&cid, &format!("بار {i}")).await;
        assert_eq!(ack2["seq"], ack["seq"], "a second resend changes nothing");
        v = again;
    }
    let stored = api_messages(&app, &conv).await;
    assert_eq!(
        stored.len(),
        6,
        "each message stored exactly once: {stored:?}"
    );
    let (_v, w) = Visitor::join(&app, &key, Some(&token), None).await;
    let cids: Vec<&str> = w["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        cids,
        vec!["first", "lost-0", "lost-1", "lost-2", "lost-3", "lost-4"]
    );
}

async fn internal_notes_never_reach_the_visitor(b: Backend) {
    let app = spawn_app(b).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (mut v, welcome) = Visitor::join(&app, &key, None, None).await;
    let token = welcome["visitor_token"].as_str().unwrap().to_string();
    let conv = v.say("q", "سفارشم کجاست؟").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    v.next_of("message").await; // the echo of seq 1
    reply(&app, &agent, &conv, "یادداشت داخلی: مشتری ویژه", true).await;
    reply(&app, &agent, &conv, "سفارش شما ارسال شد", false).await;
    let live = v.next_of("message").await;
    assert_eq!(live["seq"], 3, "the note (seq 2) is skipped: {live}");
    assert_eq!(live["author"], "agent");
    assert_eq!(live["author_name"], "agent");
    assert_eq!(live["text"], "سفارش شما ارسال شد");
    let (_, w) = Visitor::join(&app, &key, Some(&token), None).await;
    let texts: Vec<&str> = w["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["سفارشم کجاست؟", "سفارش شما ارسال شد"]);
    assert!(
        !w.to_string().contains("یادداشت"),
        "no trace of the note in {w}"
    );
}

async fn visitors_cannot_see_each_other_or_use_the_agent_api(b: Backend) {
    let app = spawn_app(b).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut a, wa) = Visitor::join(&app, &key, None, None).await;
    let (mut bv, wb) = Visitor::join(&app, &key, None, None).await;
    let ta = wa["visitor_token"].as_str().unwrap().to_string();
    let tb = wb["visitor_token"].as_str().unwrap().to_string();
    assert_ne!(ta, tb);
    a.say("a1", "secret of A").await;
    bv.say("b1", "secret of B").await;
    // A forged token naming B's visitor id with A's signature is not B.
    let (b_id, _) = tb.split_once('.').unwrap();
    let forged = format!("{b_id}.{}", ta.split_once('.').unwrap().1);
    let (_f, wf) = Visitor::join(&app, &key, Some(&forged), None).await;
    assert_ne!(
        wf["visitor_token"],
        tb.as_str(),
        "a forged token is not honoured"
    );
    assert_eq!(wf["messages"], json!([]));
    // A token of one site means nothing on another.
    let other = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (_o, wo) = Visitor::join(&app, &other, Some(&ta), None).await;
    assert_ne!(wo["visitor_token"], ta.as_str());
    assert_eq!(wo["conversation_id"], serde_json::Value::Null);
    // Replays never mix visitors.
    let (_a2, wa2) = Visitor::join(&app, &key, Some(&ta), None).await;
    assert!(wa2.to_string().contains("secret of A") && !wa2.to_string().contains("secret of B"));
    // A's live socket does not receive B's messages.
    bv.say("b2", "more from B").await;
    let leaked = a.next_within(Duration::from_millis(500)).await;
    assert!(
        leaked
            .as_ref()
            .is_none_or(|f| !f.to_string().contains("from B")),
        "{leaked:?}"
    );
    // A visitor token is not an agent credential.
    for path in [
        "/api/v1/auth/me",
        "/api/v1/conversations",
        "/api/v1/channels/chat/sites",
    ] {
        let (s, body) = app.get(path, &ta).await;
        assert_error(s, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let resp = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .header("Authorization", format!("Visitor {ta}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

async fn oversized_and_malformed_frames_get_errors_and_the_socket_stays_usable(b: Backend) {
    let app = spawn_app(b).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut v, _) = Visitor::join(&app, &key, None, None).await;
    v.message("big", &"ب".repeat(4001)).await;
    let e = v.next_of("error").await;
    assert_eq!(e["code"], "message_too_large");
    assert_eq!(e["client_id"], "big");
    v.send_raw("this is not json").await;
    assert_eq!(v.next_of("error").await["code"], "bad_frame");
    v.send(json!({"type": "message", "text": "no client id"}))
        .await;
    assert_eq!(v.next_of("error").await["code"], "bad_frame");
    v.send(json!({"type": "launch_missiles"})).await;
    assert_eq!(v.next_of("error").await["code"], "bad_frame");
    let ok = v.say("fits", &"ب".repeat(4000)).await;
    assert_eq!(ok["seq"], 1, "only the message that fits was stored");
    let conv = ok["conversation_id"].as_str().unwrap();
    assert_eq!(api_messages(&app, conv).await.len(), 1);
}

async fn a_flood_of_messages_is_rate_limited_and_nothing_unacknowledged_is_stored(b: Backend) {
    let app = spawn_app(b).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut v, _) = Visitor::join(&app, &key, None, None).await;
    for i in 0..40 {
        v.message(&format!("f{i}"), "spam").await;
    }
    let (mut acks, mut limited, mut conv) = (0, 0, String::new());
    while acks + limited < 40 {
        let f = v.next().await;
        match f["type"].as_str().unwrap() {
            "ack" => {
                acks += 1;
                conv = f["conversation_id"].as_str().unwrap().to_string();
            }
            "error" => {
                assert_eq!(f["code"], "rate_limited", "{f}");
                assert!(f["client_id"].as_str().unwrap().starts_with('f'));
                limited += 1;
            }
            _ => {}
        }
    }
    assert!(
        limited >= 20,
        "most of the flood is refused ({acks} acks, {limited} refused)"
    );
    assert!(acks >= 10, "the burst is accepted ({acks} acks)");
    assert_eq!(
        api_messages(&app, &conv).await.len(),
        acks,
        "stored exactly what was acknowledged"
    );
}

async fn the_visitor_sees_agent_joined_typing_status_and_can_rate(b: Backend) {
    let app = spawn_app(b).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (agent_id, agent) = app
        .agent(
            "maryam@example.com",
            "agent",
            json!({"capacity": {"chat": 5}}),
        )
        .await;
    let (mut v, _) = Visitor::join(&app, &key, None, None).await;
    let conv = v.say("h", "سلام").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    v.send(json!({"type": "rating", "score": 5})).await;
    assert_eq!(v.next_of("error").await["code"], "not_resolved");
    let (s, body) = app
        .post(
            &format!("/api/v1/conversations/{conv}/assign"),
            &agent,
            json!({"agent_id": agent_id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(v.next_of("agent_joined").await["agent"]["name"], "maryam");
    let (s, _) = app
        .post(
            &format!("/api/v1/channels/chat/conversations/{conv}/typing"),
            &agent,
            json!({"on": true}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let t = v.next_of("typing").await;
    assert_eq!(
        (t["on"].clone(), t["author_name"].clone()),
        (json!(true), json!("maryam"))
    );
    let (s, _) = app
        .post(
            &format!("/api/v1/channels/chat/conversations/{conv}/read"),
            &agent,
            json!({"seq": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(v.next_of("read").await["seq"], 1);
    let (s, _) = app
        .patch(
            &format!("/api/v1/conversations/{conv}"),
            &agent,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.next_of("status").await["status"], "resolved");
    let (s, body) = app
        .get(
            &format!("/api/v1/channels/chat/conversations/{conv}/rating"),
            &agent,
        )
        .await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
    v.send(json!({"type": "rating", "score": 9})).await;
    assert_eq!(v.next_of("error").await["code"], "invalid_rating");
    v.send(json!({"type": "rating", "score": 4, "comment": "خیلی خوب بود"}))
        .await;
    let rating = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (s, r) = app
                .get(
                    &format!("/api/v1/channels/chat/conversations/{conv}/rating"),
                    &agent,
                )
                .await;
            if s == StatusCode::OK {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("rating stored");
    assert_eq!(rating["score"], 4);
    assert_eq!(rating["comment"], "خیلی خوب بود");
    // A new message after resolution reopens the same conversation.
    let again = v.say("h2", "یک سوال دیگر").await;
    assert_eq!(again["conversation_id"], conv.as_str());
    assert_eq!(v.next_of("status").await["status"], "open");
}

crate::storage_tests!(
    fifty_messages_arrive_in_order_each_acknowledged_after_storage,
    a_message_resent_after_forced_disconnects_is_stored_once,
    internal_notes_never_reach_the_visitor,
    visitors_cannot_see_each_other_or_use_the_agent_api,
    oversized_and_malformed_frames_get_errors_and_the_socket_stays_usable,
    a_flood_of_messages_is_rate_limited_and_nothing_unacknowledged_is_stored,
    the_visitor_sees_agent_joined_typing_status_and_can_rate,
);
