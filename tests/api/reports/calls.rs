//! Calls from PBX records: ring = answer − start, talk = billable seconds, abandons and short
//! abandons, callbacks, days cut at Tehran midnight — rolled up by the worker as records
//! arrive (no rebuild).
use super::{item, keys, report};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

/// Asterisk `Master.csv` lines; the PBX clock is Tehran time (`voice.pbx_utc_offset_secs`).
fn line(id: &str, parties: [&str; 2], times: [&str; 3], secs: [i64; 2], disp: &str) -> String {
    let ([src, dst], [start, answer, end], [dur, bill]) = (parties, times, secs);
    let ctx = if src.len() <= 4 {
        "from-internal"
    } else {
        "from-trunk"
    };
    let dst_chan = if dst.len() <= 4 {
        format!("PJSIP/{dst}-0000")
    } else {
        "PJSIP/trunk-0000".to_string()
    };
    format!(
        "\"\",\"{src}\",\"{dst}\",\"{ctx}\",\"\"\"{src}\"\" <{src}>\",\"PJSIP/x-0001\",\"{dst_chan}\",\"Dial\",\"PJSIP/{dst},30\",\"{start}\",\"{answer}\",\"{end}\",{dur},{bill},\"{disp}\",\"DOCUMENTATION\",\"{id}\",\"\"\n"
    )
}

async fn upload(app: &TestApp, token: &str, body: String) {
    let resp = app
        .client
        .post(app.url("/api/v1/channels/voice/records?format=asterisk"))
        .bearer_auth(token)
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
}

async fn calls_count_from_their_records(b: Backend) {
    let app = spawn_app(b).await;
    let (sara, _) = app
        .agent("sara@example.com", "agent", json!({"extension": "101"}))
        .await;
    let (_, sup) = app.agent("boss@example.com", "supervisor", json!({})).await;
    let token = app.api_token(&["voice:ingest"]).await;
    let d = "2025-03-01";
    let mut first = String::new();
    // A: rang 6 s, talked 192 s. B: rang 30 s, talked 120 s. C: hung up after 30 s.
    // D: gone after 4 s (a short abandon). F: 23:50, rang 10 s (still March 1st in Tehran).
    first += &line(
        "1.1",
        ["09121234567", "101"],
        [
            &format!("{d} 09:00:00"),
            &format!("{d} 09:00:06"),
            &format!("{d} 09:03:18"),
        ],
        [198, 192],
        "ANSWERED",
    );
    first += &line(
        "1.2",
        ["09121111111", "101"],
        [
            &format!("{d} 09:10:00"),
            &format!("{d} 09:10:30"),
            &format!("{d} 09:12:30"),
        ],
        [150, 120],
        "ANSWERED",
    );
    first += &line(
        "1.3",
        ["09351112233", "103"],
        [&format!("{d} 09:20:00"), "", &format!("{d} 09:20:30")],
        [30, 0],
        "NO ANSWER",
    );
    first += &line(
        "1.4",
        ["09351119999", "103"],
        [&format!("{d} 10:05:00"), "", &format!("{d} 10:05:04")],
        [4, 0],
        "BUSY",
    );
    first += &line(
        "1.5",
        ["09122222222", "101"],
        [
            &format!("{d} 23:50:00"),
            &format!("{d} 23:50:10"),
            &format!("{d} 23:51:10"),
        ],
        [70, 60],
        "ANSWERED",
    );
    upload(&app, &token, first).await;
    let day = report(&app, &sup, &format!("from={d}&to={d}&channel=phone")).await;
    let t = &day["total"];
    assert_eq!(
        (
            t["offered"].clone(),
            t["answered"].clone(),
            t["abandoned"].clone(),
            t["short_abandoned"].clone(),
            t["answered_within_target"].clone()
        ),
        (json!(5), json!(3), json!(2), json!(1), json!(2)),
        "{t}"
    );
    assert_eq!(t["service_level"], 0.4, "{t}");
    assert_eq!(t["service_level_excluding_short_abandons"], 0.5, "{t}");
    assert_eq!(
        t["avg_speed_of_answer_seconds"], 15.33,
        "(6 + 30 + 10) / 3: {t}"
    );
    assert_eq!(t["avg_handle_seconds"], 124.0, "(192 + 120 + 60) / 3: {t}");
    // Then the caller of C is called back (answered, 60 s), and a call at 00:10 the next
    // Tehran day — still March 1st in UTC.
    let mut second = String::new();
    second += &line(
        "2.1",
        ["101", "09351112233"],
        [
            &format!("{d} 11:00:00"),
            &format!("{d} 11:00:08"),
            &format!("{d} 11:01:08"),
        ],
        [68, 60],
        "ANSWERED",
    );
    second += &line(
        "2.2",
        ["09123333333", "101"],
        [
            "2025-03-02 00:10:00",
            "2025-03-02 00:10:05",
            "2025-03-02 00:12:05",
        ],
        [125, 120],
        "ANSWERED",
    );
    upload(&app, &token, second).await;
    let days = report(&app, &sup, &format!("from={d}&to=2025-03-02&group_by=day")).await;
    assert_eq!(keys(&days), ["2025-03-01", "2025-03-02"]);
    let first_day = item(&days, "2025-03-01");
    assert_eq!(first_day["offered"], 5, "{first_day}");
    assert_eq!(first_day["callbacks"], 1, "{first_day}");
    assert_eq!(first_day["callbacks_answered"], 1, "{first_day}");
    assert_eq!(item(&days, "2025-03-02")["offered"], 1);
    assert_eq!(days["total"]["offered"], 6);
    let utc = report(&app, &sup, &format!("from={d}&to={d}&group_by=day&tz=UTC")).await;
    assert_eq!(keys(&utc), ["2025-03-01"], "{utc}");
    assert_eq!(
        utc["total"]["offered"], 6,
        "both sides of Tehran midnight are March 1st in UTC"
    );
    // An RFC 3339 window: 09:00–09:30 Tehran holds A, B and C.
    let window = report(
        &app,
        &sup,
        "from=2025-03-01T05:30:00Z&to=2025-03-01T06:00:00Z&group_by=hour",
    )
    .await;
    assert_eq!(window["total"]["offered"], 3, "{window}");
    assert_eq!(keys(&window), ["09"]);
    let agents = report(
        &app,
        &sup,
        &format!("from={d}&to=2025-03-02&group_by=agent"),
    )
    .await;
    let s = item(&agents, &sara);
    assert_eq!(
        (s["answered"].clone(), s["label"].clone()),
        (json!(4), json!("sara")),
        "{s}"
    );
    let none = item(&agents, "");
    assert_eq!(
        (none["abandoned"].clone(), none["answered"].clone()),
        (json!(2), json!(0)),
        "{none}"
    );
}

crate::storage_tests!(calls_count_from_their_records);
