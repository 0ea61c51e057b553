//! History kinds, ratings, the Unassigned list and the supervisor tables in the Persian
//! console (`tests/browser/console_small.test.mjs`).

use super::node::run_script;
use crate::chat::client::{site, Visitor};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const COMMENT: &str = "خیلی سریع جواب دادید";

async fn ok(res: (StatusCode, Value)) -> Value {
    assert!(res.0.is_success(), "{}", res.1);
    res.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_things_in_a_real_browser() {
    super::node::browser_dir();
    let app = spawn_app(Backend::Sqlite).await;
    app.agent(
        "sup@example.com",
        "supervisor",
        json!({"name": "مدیر", "capacity": {"chat": 2, "email": 5}}),
    )
    .await;
    app.agent("a@example.com", "agent", json!({"capacity": {"phone": 1}}))
        .await;
    let q = ok(app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "پشتیبانی", "channels": ["chat"]}),
        )
        .await)
    .await;
    // A chat, moved to the queue, resolved and rated by the visitor.
    let key = site(&app, json!({})).await["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut v, _) = Visitor::join(&app, &key, None, None).await;
    let chat = v.say("s1", "سلام").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/conversations/{chat}");
    ok(app
        .post(
            &format!("{path}/assign"),
            &app.admin_token,
            json!({"queue_id": q["id"]}),
        )
        .await)
    .await;
    ok(app
        .patch(&path, &app.admin_token, json!({"status": "resolved"}))
        .await)
    .await;
    v.next_of("status").await;
    v.send(json!({"type": "rating", "score": 4, "comment": COMMENT}))
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, c) = app.get(&path, &app.admin_token).await;
        if c["history"].to_string().contains(COMMENT) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no rating stored: {c}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The rating is on the customer's record of ratings.
    let (_, c) = app.get(&path, &app.admin_token).await;
    let (s, ratings) = app
        .get(
            &format!(
                "/api/v1/channels/chat/customers/{}/ratings",
                c["customer_id"].as_str().unwrap()
            ),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{ratings}");
    assert_eq!(ratings["count"], 1, "{ratings}");
    assert_eq!(ratings["average"], 4.0, "{ratings}");
    assert_eq!(ratings["items"][0]["comment"], COMMENT, "{ratings}");
    // A call log, resolved; and an open conversation nobody has.
    let call = app
        .conversation(
            &app.admin_token,
            "c@example.com",
            "تماس",
            json!({"channel": "phone"}),
        )
        .await;
    let call_id = call["id"].as_str().unwrap().to_string();
    ok(app
        .patch(
            &format!("/api/v1/conversations/{call_id}"),
            &app.admin_token,
            json!({"status": "resolved"}),
        )
        .await)
    .await;
    let open = app
        .conversation(&app.admin_token, "o@example.com", "باز", json!({}))
        .await;
    // A missed call: the server writes "Missed call from …"; the Persian console says it in Persian.
    let cti = app.api_token(&["voice:ingest"]).await;
    for (event, extra) in [
        ("newCall", json!({})),
        ("hangup", json!({"cause": "noAnswer"})),
    ] {
        let mut body = json!({"event": event, "callId": "missed-1", "from": "09121112222",
            "to": "02133445566", "direction": "in"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let path = format!("/api/v1/channels/voice/cti/{cti}");
        ok(app.call("POST", &path, None, Some(body)).await).await;
    }
    let (s, page) = app
        .get(
            "/api/v1/conversations?channel=phone&status=open",
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let missed = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["subject"]
                .as_str()
                .unwrap_or("")
                .starts_with("Missed call from")
        })
        .unwrap_or_else(|| panic!("no callback conversation: {page}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A call the PBX logged days after it happened (its record uploaded now).
    let record = "\"\",\"09124445566\",\"101\",\"from-trunk\",\"\"\"\"\" <09124445566>\",\
                  \"PJSIP/trunk-1\",\"PJSIP/101-1\",\"Dial\",\"PJSIP/101,30\",\"2026-12-01 10:00:00\",\
                  \"2026-12-01 10:00:05\",\"2026-12-01 10:01:35\",95,90,\"ANSWERED\",\"DOCUMENTATION\",\
                  \"late-1\",\"\"\n";
    app.upload_asterisk(&app.admin_token, record, 1).await;
    let (_, page) = app
        .get(
            "/api/v1/conversations?channel=phone&status=resolved",
            &app.admin_token,
        )
        .await;
    let logged = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .find(|id| *id != call_id)
        .unwrap_or_else(|| panic!("no logged call: {page}"));
    run_script(
        "console_small.test.mjs",
        &[
            ("APP_URL", app.base.clone()),
            ("AGENT_EMAIL", "sup@example.com".into()),
            ("AGENT_PASSWORD", PASSWORD.into()),
            ("CHAT_CONVERSATION_ID", chat),
            ("CALL_CONVERSATION_ID", call_id),
            ("OPEN_CONVERSATION_ID", open["id"].as_str().unwrap().into()),
            ("COMMENT", COMMENT.into()),
            ("MISSED_CONVERSATION_ID", missed),
            ("LOGGED_CALL_ID", logged),
        ],
        90,
    )
    .await;
}
