//! The `[voice]` timing settings: callback window and stale-call timeouts.
use super::live::{cti, event};
use super::{conversations_of, customer_by_phone, detail, upload};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use switchboard::channels::voice;
use switchboard::store::now_ms;

/// An Asterisk line: a missed inbound call from `src` at `start` (PBX local time).
fn missed(src: &str, start: &str, id: &str) -> String {
    format!(
        "\"\",\"{src}\",\"101\",\"from-trunk\",\"\"\"X\"\" <{src}>\",\"PJSIP/trunk-1\",\
         \"PJSIP/101-1\",\"Dial\",\"PJSIP/101,30\",\"{start}\",\"\",\"{start}\",20,0,\
         \"NO ANSWER\",\"DOCUMENTATION\",\"{id}\",\"\"\n"
    )
}

/// Sizes of the customer's callback conversations, smallest first.
async fn callback_sizes(app: &TestApp, e164: &str) -> Vec<usize> {
    let customer = customer_by_phone(app, e164).await;
    let callbacks = conversations_of(app, customer["id"].as_str().unwrap(), "&tag=callback").await;
    let mut sizes = Vec::new();
    for c in &callbacks {
        let d = detail(app, &c["id"]).await;
        sizes.push(d["messages"].as_array().unwrap().len());
    }
    sizes.sort();
    sizes
}

async fn a_short_callback_window_opens_a_new_callback_after_it(b: Backend) {
    let app = spawn_app_with(b, |s| s.voice.callback_window_mins = 3).await;
    // Batched path (log upload): 10:00 and 10:02 join; 10:10 is outside three minutes.
    let log = [
        missed("09121110001", "2025-03-01 10:00:00", "w.1"),
        missed("09121110001", "2025-03-01 10:02:00", "w.2"),
        missed("09121110001", "2025-03-01 10:10:00", "w.3"),
    ]
    .concat();
    let (s, report) = upload(&app, &app.admin_token, "asterisk", log.into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["stored"], 3, "{report}");
    assert_eq!(callback_sizes(&app, "+989121110001").await, vec![1, 2]);

    // Record-at-a-time path (a call logged by hand), same rule.
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    for at in [
        "2025-03-01T10:00:00Z",
        "2025-03-01T10:02:30Z",
        "2025-03-01T10:20:00Z",
    ] {
        let call = json!({"phone": "09121110002", "direction": "in", "duration_secs": 20,
                          "answered": false, "started_at": at});
        let (s, body) = app.post("/api/v1/channels/voice/calls", &agent, call).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    assert_eq!(callback_sizes(&app, "+989121110002").await, vec![1, 2]);
}

async fn the_default_window_keeps_those_calls_together(b: Backend) {
    let app = spawn_app(b).await;
    assert_eq!(app.state.settings.voice.callback_window_mins, 120);
    let log = [
        missed("09121110001", "2025-03-01 10:00:00", "w.1"),
        missed("09121110001", "2025-03-01 10:10:00", "w.3"),
    ]
    .concat();
    let (s, report) = upload(&app, &app.admin_token, "asterisk", log.into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(callback_sizes(&app, "+989121110001").await, vec![2]);
}

async fn stale_call_timeouts_come_from_the_settings(b: Backend) {
    let app = spawn_app_with(b, |s| {
        s.voice.stale_ringing_secs = 60;
        s.voice.stale_answered_secs = 300;
    })
    .await;
    let token = app.api_token(&["voice:ingest"]).await;
    for (call, from) in [("t-1", "09127770010"), ("t-2", "09127770011")] {
        let (s, body) = cti(&app, &token, event("newCall", call, from, json!({}))).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let (s, body) = cti(
        &app,
        &token,
        event("answer", "t-2", "09127770011", json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let now = now_ms();
    assert_eq!(voice::run_once(&app.state, now + 30_000).await.unwrap(), 0);
    assert_eq!(
        voice::run_once(&app.state, now + 61_000).await.unwrap(),
        1,
        "the ringing call after 60 s (the default would wait 15 minutes)"
    );
    let caller = customer_by_phone(&app, "+989127770010").await;
    let cb = conversations_of(&app, caller["id"].as_str().unwrap(), "&tag=callback").await;
    assert_eq!(cb.len(), 1, "closed as missed");
    assert_eq!(voice::run_once(&app.state, now + 200_000).await.unwrap(), 0);
    assert_eq!(
        voice::run_once(&app.state, now + 301_000).await.unwrap(),
        1,
        "the answered call after 300 s"
    );
}

crate::storage_tests!(
    a_short_callback_window_opens_a_new_callback_after_it,
    the_default_window_keeps_those_calls_together,
    stale_call_timeouts_come_from_the_settings,
);
