//! Group commit: visitor messages arriving together are stored together, yet one failing
//! message never takes its neighbours with it, and a resend is never stored twice.

use super::client::*;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Wait on `v` for the ack or error frame about `client_id`.
async fn answer(v: &mut Visitor, client_id: &str) -> Value {
    loop {
        let f = v.next().await;
        if matches!(f["type"].as_str(), Some("ack" | "error")) && f["client_id"] == client_id {
            return f;
        }
    }
}

/// `n` visitors of a new site, each with a first message stored: (visitor, conversation id).
async fn chatting(app: &TestApp, n: usize) -> Vec<(Visitor, String)> {
    let key = site(app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let mut visitors = Vec::new();
    for k in 0..n {
        let (mut v, _) = Visitor::join(app, &key, None, None).await;
        let ack = v.say("c1", &format!("visitor {k} first")).await;
        visitors.push((v, ack["conversation_id"].as_str().unwrap().to_string()));
    }
    visitors
}

async fn a_failing_message_does_not_take_its_batch_neighbours_with_it(b: Backend) {
    let app = spawn_app(b).await;
    let mut visitors = chatting(&app, 12).await;
    // Visitor 0's next message cannot be stored: its seq 1 is taken.
    sqlx::query("UPDATE conversations SET last_seq = 0 WHERE id = $1")
        .bind(&visitors[0].1)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    // All twelve send at once, so their messages share batches.
    for (n, (v, _)) in visitors.iter_mut().enumerate() {
        v.message("c2", &format!("visitor {n} second")).await;
    }
    let mut answers = Vec::new();
    for (v, _) in visitors.iter_mut() {
        answers.push(answer(v, "c2").await);
    }
    assert_eq!(answers[0]["type"], "error", "{}", answers[0]);
    for (n, a) in answers.iter().enumerate().skip(1) {
        assert_eq!(a["type"], "ack", "visitor {n}: {a}");
        assert_eq!(a["seq"], 2, "visitor {n}: {a}");
    }
    for (n, (_, conv)) in visitors.iter().enumerate() {
        let bodies: Vec<String> = api_messages(&app, conv)
            .await
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_string())
            .collect();
        let mut expected = vec![format!("visitor {n} first")];
        if n > 0 {
            expected.push(format!("visitor {n} second"));
        }
        assert_eq!(bodies, expected, "visitor {n}");
    }
    // Once repaired, the resend is stored, once.
    sqlx::query("UPDATE conversations SET last_seq = 1 WHERE id = $1")
        .bind(&visitors[0].1)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    let (v0, conv0) = &mut visitors[0];
    assert_eq!(v0.say("c2", "visitor 0 second").await["seq"], 2);
    assert_eq!(v0.say("c2", "visitor 0 second").await["seq"], 2);
    assert_eq!(api_messages(&app, conv0).await.len(), 2);
}

async fn two_tabs_sending_the_same_message_at_once_store_it_once(b: Backend) {
    let app = spawn_app(b).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut t1, w) = Visitor::join(&app, &key, None, None).await;
    let token = w["visitor_token"].as_str().unwrap().to_string();
    let conv = t1.say("c1", "سلام").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut t2, _) = Visitor::join(&app, &key, Some(&token), None).await;
    // Two tabs of one visitor share its rate limit (burst 10): 1 + 2 × 3 messages.
    for round in 2..=4 {
        let cid = format!("c{round}");
        t1.message(&cid, "دوباره").await;
        t2.message(&cid, "دوباره").await;
        let (a1, a2) = (answer(&mut t1, &cid).await, answer(&mut t2, &cid).await);
        assert_eq!(a1["type"], "ack", "{a1}");
        assert_eq!(a1["seq"], round, "{a1}");
        assert_eq!(a2["seq"], round, "{a2}");
    }
    let seqs: Vec<i64> = api_messages(&app, &conv)
        .await
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=4).collect::<Vec<_>>());
}

async fn new_and_returning_visitors_in_one_burst_keep_their_order(b: Backend) {
    let app = std::sync::Arc::new(spawn_app(b).await);
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    // Half the visitors already have a conversation, half are new; all send three messages
    // back to back without waiting, so new and open conversations share batches.
    let mut joined = Vec::new();
    for n in 0..16 {
        let (mut v, _) = Visitor::join(&app, &key, None, None).await;
        let first = (n % 2 == 0).then_some(());
        if first.is_some() {
            v.say("c0", &format!("{n}-0")).await;
        }
        joined.push((n, v, first.is_some()));
    }
    for (n, v, _) in joined.iter_mut() {
        for i in 1..=3 {
            v.message(&format!("c{i}"), &format!("{n}-{i}")).await;
        }
    }
    for (n, v, returning) in joined.iter_mut() {
        let mut conv = String::new();
        for i in 1..=3 {
            let a = answer(v, &format!("c{i}")).await;
            assert_eq!(a["type"], "ack", "{a}");
            assert_eq!(a["seq"], i + *returning as i64, "{a}");
            conv = a["conversation_id"].as_str().unwrap().to_string();
        }
        let bodies: Vec<String> = api_messages(&app, &conv)
            .await
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_string())
            .collect();
        let from = if *returning { 0 } else { 1 };
        let expected: Vec<String> = (from..=3).map(|i| format!("{n}-{i}")).collect();
        assert_eq!(bodies, expected);
    }
    let (_, page) = app
        .get(
            "/api/v1/conversations?channel=chat&limit=100",
            &app.admin_token,
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 16, "{page}");
}

async fn a_resolved_conversation_in_a_burst_is_reopened_and_numbered_in_order(b: Backend) {
    let app = spawn_app(b).await;
    let mut visitors = chatting(&app, 8).await;
    // Visitor 0's conversation was resolved meanwhile; the others are still open.
    sqlx::query("UPDATE conversations SET status = 'resolved' WHERE id = $1")
        .bind(&visitors[0].1)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    for (n, (v, _)) in visitors.iter_mut().enumerate() {
        v.message("c2", &format!("visitor {n} second")).await;
        v.message("c3", &format!("visitor {n} third")).await;
    }
    for (n, (v, conv)) in visitors.iter_mut().enumerate() {
        for (cid, seq) in [("c2", 2), ("c3", 3)] {
            let a = answer(v, cid).await;
            assert_eq!(a["type"], "ack", "visitor {n}: {a}");
            assert_eq!(a["seq"], seq, "visitor {n}: {a}");
            assert_eq!(a["conversation_id"], conv.as_str(), "visitor {n}: {a}");
        }
        let bodies: Vec<String> = api_messages(&app, conv)
            .await
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = ["first", "second", "third"]
            .iter()
            .map(|w| format!("visitor {n} {w}"))
            .collect();
        assert_eq!(bodies, expected, "visitor {n}");
        let (status, last): (String, i64) =
            sqlx::query_as("SELECT status, last_seq FROM conversations WHERE id = $1")
                .bind(conv.as_str())
                .fetch_one(app.state.store.pool())
                .await
                .unwrap();
        assert_eq!((status.as_str(), last), ("open", 3), "visitor {n}");
    }
}

/// New visitors sending their first messages together: each gets a conversation of its own
/// with a distinct number, a customer holding the visitor identity, its visitor row pointing
/// at both, the `offline` tag (nobody is available) and a `created` history entry; a visitor
/// whose identity already belongs to a customer joins that customer.
async fn a_burst_of_new_visitors_opens_one_whole_conversation_each(b: Backend) {
    let app = spawn_app(b).await;
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let mut visitors = Vec::new();
    for _ in 0..10 {
        let (v, w) = Visitor::join(&app, &key, None, None).await;
        let token = w["visitor_token"].as_str().unwrap();
        visitors.push((v, token.split('.').next().unwrap().to_string()));
    }
    // Visitor 3's identity already belongs to a known customer.
    let (s, known) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "Known", "identities": [{"kind": "visitor", "value": visitors[3].1}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{known}");
    for (n, (v, _)) in visitors.iter_mut().enumerate() {
        v.message("c1", &format!("سلام {n}")).await;
    }
    let mut numbers = std::collections::HashSet::new();
    let mut customers = std::collections::HashSet::new();
    for (n, (v, vid)) in visitors.iter_mut().enumerate() {
        let a = answer(v, "c1").await;
        assert_eq!(a["type"], "ack", "visitor {n}: {a}");
        assert_eq!(a["seq"], 1, "visitor {n}: {a}");
        let conv = a["conversation_id"].as_str().unwrap();
        let (s, c) = app
            .get(&format!("/api/v1/conversations/{conv}"), &app.admin_token)
            .await;
        assert_eq!(s, StatusCode::OK, "{c}");
        assert_eq!(c["channel"], "chat");
        assert_eq!(c["status"], "open");
        assert_eq!(c["subject"], format!("سلام {n}"));
        assert!(numbers.insert(c["number"].as_i64().unwrap()), "{c}");
        let tags: Vec<&str> = c["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(tags, ["offline"], "{c}");
        let history: Vec<&str> = c["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["kind"].as_str().unwrap())
            .collect();
        assert_eq!(history, ["created"], "{c}");
        let customer = c["customer_id"].as_str().unwrap().to_string();
        if n == 3 {
            assert_eq!(customer, known["id"].as_str().unwrap());
        }
        assert!(
            customers.insert(customer.clone()),
            "one customer per visitor"
        );
        let (owner,): (String,) = sqlx::query_as(
            "SELECT customer_id FROM identities WHERE kind = 'visitor' AND value = $1",
        )
        .bind(vid.as_str())
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
        assert_eq!(owner, customer, "visitor {n}");
        let row: (Option<String>, Option<String>) =
            sqlx::query_as("SELECT customer_id, conversation_id FROM chat_visitors WHERE id = $1")
                .bind(vid.as_str())
                .fetch_one(app.state.store.pool())
                .await
                .unwrap();
        assert_eq!(row, (Some(customer), Some(conv.to_string())), "visitor {n}");
    }
}

/// A visitor's `last_seen_at` (`chat_visitors.updated_at`) is refreshed by a message when it is
/// over a minute old, and left alone otherwise.
async fn messages_refresh_last_seen_at_most_once_a_minute(b: Backend) {
    let app = spawn_app(b).await;
    let mut visitors = chatting(&app, 2).await;
    let pool = app.state.store.pool();
    let vid = |conv: &str| {
        let conv = conv.to_string();
        async move {
            let (id,): (String,) =
                sqlx::query_as("SELECT id FROM chat_visitors WHERE conversation_id = $1")
                    .bind(conv)
                    .fetch_one(pool)
                    .await
                    .unwrap();
            id
        }
    };
    let (stale, fresh) = (vid(&visitors[0].1).await, vid(&visitors[1].1).await);
    let minute_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 61_000;
    // Visitor 0 was last seen over a minute ago, visitor 1 thirty seconds later.
    for (id, at) in [(&stale, minute_ago), (&fresh, minute_ago + 30_000)] {
        sqlx::query("UPDATE chat_visitors SET updated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(pool)
            .await
            .unwrap();
    }
    for (v, _) in visitors.iter_mut() {
        v.message("c2", "again").await;
    }
    for (v, _) in visitors.iter_mut() {
        assert_eq!(answer(v, "c2").await["seq"], 2);
    }
    let updated = |id: String| async move {
        let (at,): (i64,) = sqlx::query_as("SELECT updated_at FROM chat_visitors WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap();
        at
    };
    assert!(updated(stale).await > minute_ago + 60_000, "refreshed");
    assert_eq!(updated(fresh).await, minute_ago + 30_000, "left alone");
}

crate::storage_tests!(
    messages_refresh_last_seen_at_most_once_a_minute,
    a_resolved_conversation_in_a_burst_is_reopened_and_numbered_in_order,
    a_failing_message_does_not_take_its_batch_neighbours_with_it,
    two_tabs_sending_the_same_message_at_once_store_it_once,
    new_and_returning_visitors_in_one_burst_keep_their_order,
    a_burst_of_new_visitors_opens_one_whole_conversation_each,
);
