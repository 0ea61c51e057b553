//! The deployment's event log: events derived from what was committed, in commit order;
//! consoles resume from it; every node delivers what it missed; retention.

use crate::helpers::*;
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;
use switchboard::conversations::{ledger, Actor};
use switchboard::store::event_log;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A console socket of `token` on `app`, resuming after `since` when given; and its hello.
async fn console(app: &TestApp, token: &str, since: Option<i64>) -> (Socket, Value) {
    let mut url = format!(
        "{}/ws/console?token={token}",
        app.base.replacen("http", "ws", 1)
    );
    if let Some(s) = since {
        url.push_str(&format!("&since={s}"));
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("console connects");
    let hello = next_frame(&mut socket, Duration::from_secs(10))
        .await
        .expect("hello");
    assert_eq!(hello["type"], "hello", "{hello}");
    (socket, hello)
}

/// The next JSON frame within `wait`, or `None`.
async fn next_frame(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()?;
        if let Message::Text(t) = frame.expect("socket open").expect("frame") {
            return Some(serde_json::from_str(&t).unwrap());
        }
    }
}

/// Every frame arriving within `wait` of the previous one.
async fn frames_until_quiet(socket: &mut Socket, wait: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(v) = next_frame(socket, wait).await {
        out.push(v);
    }
    out
}

/// The frame matching `pred` within 15 s.
async fn wait_for(socket: &mut Socket, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let v = next_frame(socket, Duration::from_secs(15))
            .await
            .expect("expected event within 15 s");
        if pred(&v) {
            return v;
        }
    }
}

/// Append a customer message through the ledger and commit — and never publish it, as a node
/// killed between its commit and its publish.
async fn commit_unpublished(app: &TestApp, conversation: &str, body: &str) -> String {
    let mut tx = app.state.store.begin().await.unwrap();
    let msg = ledger::NewMessage {
        author_kind: "customer",
        author_id: None,
        body: body.into(),
        internal: false,
        channel: "api".into(),
        external_id: None,
        meta: json!({}),
        at: None,
    };
    let (message, ev) = ledger::append_message(&mut tx, conversation, msg, &Actor::system())
        .await
        .unwrap();
    assert!(ev.is_some());
    tx.commit().await.unwrap();
    message.id
}

async fn a_committed_message_its_node_never_published_reaches_a_console_on_another_node(
    b: Backend,
) {
    let a = spawn_app(b).await;
    // A second node on the same database, without Redis: its bus shares nothing with the
    // first one's, so only the event log can bring it the first node's changes.
    let other = spawn_on(&a.database_url, a._dir.clone(), |_| {}).await;
    let conv = a
        .conversation(&a.admin_token, "lost@example.com", "Lost", json!({}))
        .await;
    let conv = conv["id"].as_str().unwrap().to_string();
    let (mut socket, _) = console(&other, &other.admin_token, None).await;
    let id = commit_unpublished(&a, &conv, "sent just before the node died").await;
    let ev = wait_for(&mut socket, |v| {
        v["kind"] == "message.created" && v["data"]["message"]["id"] == id.as_str()
    })
    .await;
    assert_eq!(ev["conversation_id"], conv.as_str());
    assert_eq!(
        ev["data"]["message"]["body"],
        "sent just before the node died"
    );
    assert!(ev["seq"].as_i64().is_some(), "{ev}");
    // Once: nothing repeats it.
    let later = frames_until_quiet(&mut socket, Duration::from_secs(4)).await;
    assert!(
        !later.iter().any(|v| v["seq"] == ev["seq"]),
        "delivered twice: {later:?}"
    );
}

async fn a_console_resuming_with_since_gets_exactly_the_missed_events_once(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.admin_token.clone();
    // A console that stays connected sees what the other one misses.
    let (mut witness, _) = console(&app, &token, None).await;
    let (socket, hello) = console(&app, &token, None).await;
    let since = hello["seq"].as_i64().expect("hello names the log's head");
    drop(socket);
    let mut missed = Vec::new();
    for n in 0..3 {
        let c = app
            .conversation(
                &token,
                "gone@example.com",
                &format!("While away {n}"),
                json!({}),
            )
            .await;
        missed.push(c["id"].as_str().unwrap().to_string());
    }
    let seen: Vec<Value> = frames_until_quiet(&mut witness, Duration::from_secs(3))
        .await
        .into_iter()
        .filter(|v| v["seq"].is_i64())
        .collect();
    let (mut resumed, _) = console(&app, &token, Some(since)).await;
    let replayed = frames_until_quiet(&mut resumed, Duration::from_secs(3)).await;
    let seqs: Vec<i64> = replayed.iter().filter_map(|v| v["seq"].as_i64()).collect();
    assert_eq!(
        seqs.len(),
        replayed.len(),
        "only logged events: {replayed:?}"
    );
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in order, once: {seqs:?}"
    );
    assert!(seqs.iter().all(|s| *s > since), "{seqs:?} after {since}");
    let witnessed: Vec<i64> = seen.iter().filter_map(|v| v["seq"].as_i64()).collect();
    assert_eq!(seqs, witnessed, "the replay is what a live console saw");
    for id in &missed {
        let created = replayed
            .iter()
            .filter(|v| v["kind"] == "conversation.created" && v["conversation_id"] == id.as_str())
            .count();
        assert_eq!(created, 1, "{id} created once in {replayed:?}");
    }
    // Then live: a new change arrives once.
    let c = app
        .conversation(&token, "back@example.com", "After", json!({}))
        .await;
    let id = c["id"].as_str().unwrap();
    let live = frames_until_quiet(&mut resumed, Duration::from_secs(3)).await;
    let created = live
        .iter()
        .filter(|v| v["kind"] == "conversation.created" && v["conversation_id"] == id)
        .count();
    assert_eq!(created, 1, "{live:?}");
}

async fn an_agent_resuming_gets_only_what_it_may_see(b: Backend) {
    let app = spawn_app(b).await;
    let (agent_id, token) = app.agent("x@example.com", "agent", json!({})).await;
    let (socket, hello) = console(&app, &token, None).await;
    let since = hello["seq"].as_i64().unwrap();
    drop(socket);
    let mine = app
        .conversation(&app.admin_token, "m@example.com", "Mine", json!({}))
        .await;
    let other = app
        .conversation(&app.admin_token, "o@example.com", "Other", json!({}))
        .await;
    let path = format!(
        "/api/v1/conversations/{}/assign",
        mine["id"].as_str().unwrap()
    );
    let (s, body) = app
        .post(
            &path,
            &app.admin_token,
            json!({"agent_id": agent_id, "override_capacity": true}),
        )
        .await;
    assert!(s.is_success(), "{body}");
    let (mut resumed, _) = console(&app, &token, Some(since)).await;
    let replayed = frames_until_quiet(&mut resumed, Duration::from_secs(3)).await;
    assert!(
        replayed
            .iter()
            .any(|v| v["kind"] == "conversation.assigned" && v["conversation_id"] == mine["id"]),
        "{replayed:?}"
    );
    assert!(
        replayed
            .iter()
            .all(|v| v["conversation_id"] != other["id"] && v["agent_id"] == agent_id.as_str()),
        "only the agent's own events: {replayed:?}"
    );
}

async fn the_log_is_read_in_commit_order_by_a_reader_that_tails_it(b: Backend) {
    let app = spawn_app(b).await;
    let pool = app.state.store.pool().clone();
    let start = event_log::head(&pool).await.unwrap();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let base = app.base.clone();
            let token = app.admin_token.clone();
            let client = app.client.clone();
            tokio::spawn(async move {
                for n in 0..10 {
                    let body = json!({"customer": {"email": format!("w{w}@example.com")},
                        "subject": format!("w{w} n{n}"), "body": "hi"});
                    let r = client
                        .post(format!("{base}/api/v1/conversations"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert!(r.status().is_success());
                }
            })
        })
        .collect();
    // A tailing reader: every seq it ever reads must be above its cursor, or it would have
    // missed it.
    let mut cursor = start;
    let mut tailed = Vec::new();
    let done = futures::future::join_all(writers);
    tokio::pin!(done);
    loop {
        let finished = tokio::select! {
            _ = &mut done => true,
            _ = tokio::time::sleep(Duration::from_millis(5)) => false,
        };
        let seqs = event_log::seqs_after(&pool, cursor, 10_000).await.unwrap();
        if let Some(last) = seqs.last() {
            cursor = *last;
        }
        tailed.extend(seqs);
        if finished {
            break;
        }
    }
    tailed.extend(event_log::seqs_after(&pool, cursor, 10_000).await.unwrap());
    let all = event_log::seqs_after(&pool, start, 10_000).await.unwrap();
    assert!(all.len() >= 40, "{} events", all.len());
    assert_eq!(tailed, all, "a tailing reader saw every event, in order");
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len());
}

async fn pruning_drops_old_events_and_a_console_behind_it_is_told_to_resync(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.admin_token.clone();
    let (_socket, hello) = console(&app, &token, None).await;
    let since = hello["seq"].as_i64().unwrap();
    app.conversation(&token, "old@example.com", "Old", json!({}))
        .await;
    let pool = app.state.store.pool().clone();
    let head = event_log::head(&pool).await.unwrap();
    assert!(head > since);
    // Young events are kept.
    let hour_ago = switchboard::store::now_ms() - 3_600_000;
    assert_eq!(event_log::prune(&pool, hour_ago).await.unwrap(), 0);
    assert!(event_log::first(&pool).await.unwrap().is_some());
    // Past the retention, they go.
    let pruned = event_log::prune(&pool, switchboard::store::now_ms() + 1)
        .await
        .unwrap();
    assert!(pruned >= 2, "{pruned}");
    assert_eq!(event_log::first(&pool).await.unwrap(), None);
    // Later events continue the sequence, and a console behind the pruned part reloads.
    let c = app
        .conversation(&token, "new@example.com", "New", json!({}))
        .await;
    assert!(event_log::first(&pool).await.unwrap().unwrap() > head);
    let (mut resumed, _) = console(&app, &token, Some(since)).await;
    let first = next_frame(&mut resumed, Duration::from_secs(5))
        .await
        .expect("a frame");
    assert_eq!(first["type"], "resync", "{first}");
    // Live events still follow.
    let (s, _) = app
        .post(
            &format!(
                "/api/v1/conversations/{}/messages",
                c["id"].as_str().unwrap()
            ),
            &token,
            json!({"body": "still live", "internal": false}),
        )
        .await;
    assert!(s.is_success());
    wait_for(&mut resumed, |v| v["kind"] == "message.created").await;
    // A position the log never reached (another deployment's, a restored database) reloads.
    let far = event_log::head(&pool).await.unwrap() + 1000;
    let (mut stranger, _) = console(&app, &token, Some(far)).await;
    let first = next_frame(&mut stranger, Duration::from_secs(5))
        .await
        .expect("a frame");
    assert_eq!(first["type"], "resync", "{first}");
}

async fn a_console_that_falls_behind_the_bus_is_told_to_reload(b: Backend) {
    let app = spawn_app(b).await;
    let (mut socket, _) = console(&app, &app.admin_token, None).await;
    // Far more than the bus holds and the sockets' buffers take, while this console reads
    // nothing: the server's side of it falls behind and loses events.
    for i in 0..20_000 {
        let mut ev = switchboard::value::value_changed(&format!("customer-{i}"));
        ev.data["padding"] = json!("x".repeat(1000));
        app.state.bus.publish(ev).await;
    }
    let frames = frames_until_quiet(&mut socket, Duration::from_secs(3)).await;
    let changed = frames
        .iter()
        .filter(|f| f["kind"] == "customer.value_changed")
        .count();
    assert!(
        changed < 20_000,
        "nothing was lost: the test did not overrun the bus"
    );
    assert!(
        frames.iter().any(|f| f["type"] == "resync"),
        "{changed} of 20,000 events came and no `resync` said the rest was lost"
    );
}

/// `n` Asterisk call records of 10 callers, every third one missed.
fn call_log(n: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..n {
        let caller = format!("0912555{:04}", i % 10);
        let (answer, disposition, billsec) = if i % 3 == 0 {
            ("", "NO ANSWER", 0)
        } else {
            ("2025-03-01 12:00:05", "ANSWERED", 30)
        };
        out.push_str(&format!(
            "\"\",\"{caller}\",\"101\",\"from-trunk\",\"\"\"Caller\"\" <{caller}>\",\"PJSIP/trunk-{i:08}\",\
             \"PJSIP/101-{i:08}\",\"Dial\",\"PJSIP/101,30\",\"2025-03-01 12:{m:02}:00\",\"{answer}\",\
             \"2025-03-01 12:00:35\",35,{billsec},\"{disposition}\",\"DOCUMENTATION\",\"log.{i}\",\"\"\n",
            m = i % 60,
        ));
    }
    out.into_bytes()
}

/// A batch writes all its events with one insert; each published event must carry the `seq`
/// of its own row (the rows are numbered in the order they were sent, not read back one by
/// one).
async fn every_event_of_a_batch_carries_the_seq_of_its_own_log_row(b: Backend) {
    let app = spawn_app(b).await;
    let pool = app.state.store.pool().clone();
    let (mut witness, hello) = console(&app, &app.admin_token, None).await;
    let since = hello["seq"].as_i64().unwrap();
    let (status, report) =
        crate::voice::upload(&app, &app.admin_token, "asterisk", call_log(40)).await;
    assert!(status.is_success(), "{report}");
    let frames = frames_until_quiet(&mut witness, Duration::from_secs(3)).await;
    let live: Vec<&Value> = frames.iter().filter(|v| v["seq"].is_i64()).collect();
    let messages = live.iter().filter(|v| v["kind"] == "message.created");
    assert_eq!(messages.count(), 40, "one message per call: {live:?}");
    let logged = event_log::after(&pool, since, 1000).await.unwrap();
    assert_eq!(logged.len(), live.len(), "every logged event arrived once");
    for ev in live {
        let seq = ev["seq"].as_i64().unwrap();
        let row = logged.iter().find(|l| l.seq == Some(seq));
        let row = row.unwrap_or_else(|| panic!("no log row {seq} for {ev}"));
        assert_eq!(row.id, ev["id"].as_str().unwrap(), "seq {seq} names {ev}");
        assert_eq!(row.kind, ev["kind"].as_str().unwrap());
        assert_eq!(row.data, ev["data"], "the log holds what was published");
    }
}

crate::storage_tests!(
    every_event_of_a_batch_carries_the_seq_of_its_own_log_row,
    a_console_that_falls_behind_the_bus_is_told_to_reload,
    a_committed_message_its_node_never_published_reaches_a_console_on_another_node,
    a_console_resuming_with_since_gets_exactly_the_missed_events_once,
    an_agent_resuming_gets_only_what_it_may_see,
    the_log_is_read_in_commit_order_by_a_reader_that_tails_it,
    pruning_drops_old_events_and_a_console_behind_it_is_told_to_resync,
);
