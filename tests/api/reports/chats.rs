//! Chats with known accept and reply times (the conversations go through the real paths —
//! widget, offers, replies, resolve, rating — then their history is set to known times and
//! the report tables rebuilt as `switchboard reports rebuild` does), per-agent presence time
//! and occupancy, and CSV.
use super::{item, report};
use crate::chat::client::{site, Visitor};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

pub(super) async fn presence(app: &TestApp, token: &str, status: &str) {
    let (s, body) = app
        .put(
            "/api/v1/agents/me/presence",
            token,
            json!({"status": status}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// Accept the offer of `conv` as the agent; returns the conversation.
pub(super) async fn accept(app: &TestApp, token: &str, conv: &str) -> Value {
    for _ in 0..150 {
        let (_, offers) = app.get("/api/v1/offers", token).await;
        let found = offers["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["conversation_id"] == conv)
            .cloned();
        if let Some(o) = found {
            let id = o["id"].as_str().unwrap();
            let (s, c) = app
                .post(&format!("/api/v1/offers/{id}/accept"), token, json!({}))
                .await;
            assert_eq!(s, StatusCode::OK, "{c}");
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no offer of {conv}");
}

/// A chat opened through the API in `queue`; returns its id.
pub(super) async fn chat(app: &TestApp, queue: &str, email: &str) -> String {
    let c = app
        .conversation(
            &app.admin_token,
            email,
            "Chat",
            json!({"channel": "chat", "queue_id": queue}),
        )
        .await;
    c["id"].as_str().unwrap().to_string()
}

async fn reply_and_resolve(app: &TestApp, token: &str, conv: &str) {
    let (s, body) = app
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            token,
            json!({"body": "سلام، در خدمتم"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    resolve(app, token, conv).await;
}

async fn resolve(app: &TestApp, token: &str, conv: &str) {
    let (s, body) = app
        .patch(
            &format!("/api/v1/conversations/{conv}"),
            token,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// Put a conversation's history at known times: offered at `t0`, accepted `assigned` s
/// later, first reply `reply` s later, resolved `resolved` s later (rated 10 s after).
async fn retime(
    app: &TestApp,
    conv: &str,
    t0: i64,
    assigned: Option<i64>,
    reply: Option<i64>,
    resolved: i64,
) {
    let pool = app.state.store.pool();
    sqlx::query(
        "UPDATE conversations SET created_at = $1, enqueued_at = $1, first_response_at = $2, \
         resolved_at = $3 WHERE id = $4",
    )
    .bind(t0)
    .bind(reply.map(|r| t0 + r * 1000))
    .bind(t0 + resolved * 1000)
    .bind(conv)
    .execute(pool)
    .await
    .unwrap();
    let times = [
        ("created", Some(0)),
        ("offered", Some(0)),
        ("assigned", assigned),
        ("status_changed", Some(resolved)),
        ("rated", Some(resolved + 10)),
    ];
    for (kind, at) in times {
        let Some(at) = at else { continue };
        sqlx::query(
            "UPDATE conversation_events SET created_at = $1 WHERE conversation_id = $2 AND kind = $3",
        )
        .bind(t0 + at * 1000)
        .bind(conv)
        .bind(kind)
        .execute(pool)
        .await
        .unwrap();
    }
}

/// Unix ms of a Tehran wall-clock time on 2026-01-10 (UTC+03:30).
fn tehran(h: i64, m: i64) -> i64 {
    let midnight_utc = 1_768_003_200_000; // 2026-01-10T00:00:00Z
    midnight_utc + ((h * 60 + m) - 210) * 60_000
}

async fn rate(app: &TestApp, v: &mut Visitor, agent: &str, conv: &str) {
    assert_eq!(v.next_of("status").await["status"], "resolved");
    v.send(json!({"type": "rating", "score": 4})).await;
    for _ in 0..100 {
        let (s, _) = app
            .get(
                &format!("/api/v1/channels/chat/conversations/{conv}/rating"),
                agent,
            )
            .await;
        if s == StatusCode::OK {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("rating never stored");
}

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-9)
}

async fn chats_count_from_accept_and_reply_times(b: Backend) {
    let app = spawn_app(b).await;
    let (s, q) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "Chat desk", "channels": ["chat"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    let q = q["id"].as_str().unwrap().to_string();
    let (x_id, x) = app
        .agent("x@example.com", "agent", json!({"capacity": {"chat": 5}}))
        .await;
    let (_, sup) = app.agent("boss@example.com", "supervisor", json!({})).await;
    presence(&app, &x, "available").await;
    // 1: a visitor on the site, accepted after 12 s, first reply at 30 s, resolved at 300 s,
    // rated 4. 2: accepted after 45 s, reply at 50 s, resolved at 600 s.
    let key = site(&app, json!({"queue_id": q})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut v, _) = Visitor::join(&app, &key, None, None).await;
    let c1 = v.say("h", "سلام").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    accept(&app, &x, &c1).await;
    reply_and_resolve(&app, &x, &c1).await;
    rate(&app, &mut v, &x, &c1).await;
    let c2 = chat(&app, &q, "two@example.com").await;
    accept(&app, &x, &c2).await;
    reply_and_resolve(&app, &x, &c2).await;
    // 3: the visitor leaves after 40 s unanswered; 4: after 3 s (a short abandon).
    presence(&app, &x, "away").await;
    let c3 = chat(&app, &q, "three@example.com").await;
    resolve(&app, &app.admin_token, &c3).await;
    let c4 = chat(&app, &q, "four@example.com").await;
    resolve(&app, &app.admin_token, &c4).await;
    retime(&app, &c1, tehran(10, 0), Some(12), Some(30), 300).await;
    retime(&app, &c2, tehran(10, 10), Some(45), Some(50), 600).await;
    retime(&app, &c3, tehran(10, 20), None, None, 40).await;
    retime(&app, &c4, tehran(10, 30), None, None, 3).await;
    // The agent's day: available 09:00–12:00 and 12:30–17:00, away in between.
    let pool = app.state.store.pool();
    sqlx::query("DELETE FROM agent_presence_log WHERE agent_id = $1")
        .bind(&x_id)
        .execute(pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    for (status, h, m) in [
        ("available", 9, 0),
        ("away", 12, 0),
        ("available", 12, 30),
        ("offline", 17, 0),
    ] {
        switchboard::reports::presence::log(&mut conn, &x_id, status, tehran(h, m))
            .await
            .unwrap();
    }
    drop(conn);
    switchboard::reports::rebuild(&app.state.store, &app.state.settings)
        .await
        .unwrap();

    let r = report(
        &app,
        &sup,
        &format!("from=2026-01-10&to=2026-01-10&queue={q}"),
    )
    .await;
    let t = &r["total"];
    let counts = [
        "offered",
        "answered",
        "abandoned",
        "short_abandoned",
        "answered_within_target",
        "csat_responses",
        "transfers",
    ]
    .map(|k| t[k].as_i64().unwrap());
    assert_eq!(counts, [4, 2, 2, 1, 1, 1, 0], "{t}");
    assert!(close(&t["service_level"], 0.25), "{t}");
    assert!(
        close(&t["service_level_excluding_short_abandons"], 1.0 / 3.0),
        "{t}"
    );
    assert!(
        close(&t["avg_speed_of_answer_seconds"], 28.5),
        "(12 + 45) / 2: {t}"
    );
    assert!(
        close(&t["avg_handle_seconds"], 421.5),
        "(288 + 555) / 2: {t}"
    );
    let pct = [
        "first_response_p50_seconds",
        "first_response_p90_seconds",
        "resolution_p50_seconds",
        "resolution_p90_seconds",
    ]
    .map(|k| t[k].as_i64().unwrap());
    assert_eq!(pct, [30, 50, 300, 600], "{t}");
    assert!(close(&t["csat_average"], 4.0), "{t}");

    let agents = report(&app, &sup, "from=2026-01-10&to=2026-01-10&group_by=agent").await;
    let a = item(&agents, &x_id);
    assert_eq!(a["answered"], 2, "{a}");
    assert_eq!(
        a["presence_seconds"],
        json!({"available": 27000, "away": 1800, "offline": 57600}),
        "{a}"
    );
    assert!(
        close(&a["occupancy"], 0.031),
        "843 s handled ÷ 27,000 s available: {a}"
    );
    assert_eq!(item(&agents, "")["abandoned"], 2);
    let next_day = report(&app, &sup, "from=2026-01-11&to=2026-01-11").await;
    assert_eq!(next_day["total"]["offered"], 0);
    assert_eq!(next_day["total"]["service_level"], Value::Null);

    let resp =
        app.client
            .get(app.url(
                "/api/v1/reports/summary?from=2026-01-10&to=2026-01-10&group_by=queue&format=csv",
            ))
            .bearer_auth(&sup)
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = resp.text().await.unwrap();
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let head: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    let row = rows
        .iter()
        .find(|r| &r[0] == q.as_str())
        .expect("the queue's row");
    assert_eq!(
        (&row[1], &row[col("offered")], &row[col("service_level")]),
        ("Chat desk", "4", "0.25"),
        "{text}"
    );
    let total = rows.last().unwrap();
    assert_eq!(
        (&total[0], &total[col("avg_speed_of_answer_seconds")]),
        ("total", "28.5"),
        "{text}"
    );
}

/// A queue counting business time only: a chat offered 30 s before opening and accepted 10 s
/// after waited 10 s (2026-01-10 is a Saturday; the office opens at 08:00 Tehran).
async fn waits_count_business_time_where_the_queue_says_so(b: Backend) {
    let app = spawn_app(b).await;
    let day = json!([["08:00", "17:00"]]);
    let (s, cal) = app
        .post(
            "/api/v1/business-hours",
            &app.admin_token,
            json!({"name": "Office", "time_zone": "Asia/Tehran", "holidays": [],
                   "weekly": {"saturday": day, "sunday": day, "monday": day, "tuesday": day,
                              "wednesday": day, "thursday": [], "friday": []}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cal}");
    let (s, q) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "Office chat", "channels": ["chat"], "business_hours_id": cal["id"],
                   "business_time_only": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    let q = q["id"].as_str().unwrap().to_string();
    let (_, x) = app
        .agent("x@example.com", "agent", json!({"capacity": {"chat": 5}}))
        .await;
    presence(&app, &x, "available").await;
    let c = chat(&app, &q, "early@example.com").await;
    accept(&app, &x, &c).await;
    reply_and_resolve(&app, &x, &c).await;
    retime(&app, &c, tehran(7, 59) + 30_000, Some(40), Some(50), 120).await;
    switchboard::reports::rebuild(&app.state.store, &app.state.settings)
        .await
        .unwrap();
    let r = report(
        &app,
        &app.admin_token,
        &format!("from=2026-01-10&to=2026-01-10&queue={q}"),
    )
    .await;
    let t = &r["total"];
    assert!(close(&t["avg_speed_of_answer_seconds"], 10.0), "{t}");
    assert_eq!(t["answered_within_target"], 1, "{t}");
    assert_eq!(
        (
            t["first_response_p50_seconds"].clone(),
            t["resolution_p50_seconds"].clone()
        ),
        (json!(20), json!(90)),
        "{t}"
    );
}

crate::storage_tests!(
    chats_count_from_accept_and_reply_times,
    waits_count_business_time_where_the_queue_says_so
);
