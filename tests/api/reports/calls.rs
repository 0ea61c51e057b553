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

/// With the PBX's queue log, a call's wait is its time in the queue (without the IVR before
/// it): speed of answer and short abandons follow it.
async fn phone_waits_come_from_the_queue_log_when_there_is_one(b: Backend) {
    use crate::voice::queue_log::{append, master_csv};
    let app = spawn_app_with(b, |s| s.voice.pbx_utc_offset_secs = 0).await;
    let (_, sup) = app.agent("boss@example.com", "supervisor", json!({})).await;
    app.agent("sara@example.com", "agent", json!({"extension": "202"}))
        .await;
    let token = app.api_token(&["voice:ingest"]).await;
    let d = "2026-03-01";
    let answered = [
        &format!("{d} 06:35:00"),
        &format!("{d} 06:35:25"),
        &format!("{d} 06:37:30"),
    ];
    let gone = [&format!("{d} 06:36:40"), "", &format!("{d} 06:37:20")];
    let log = master_csv(
        "09351112233",
        "1772346900.5",
        answered[0],
        answered[1],
        answered[2],
        (150, 125),
    ) + &master_csv(
        "09127654321",
        "1772347000.6",
        gone[0],
        gone[1],
        gone[2],
        (40, 0),
    );
    upload(&app, &token, log).await;
    let q = format!("from={d}&to={d}&channel=phone&tz=UTC");
    let t = report(&app, &sup, &q).await["total"].clone();
    assert_eq!(
        t["avg_speed_of_answer_seconds"], 25.0,
        "answer − start: {t}"
    );
    assert_eq!(t["short_abandoned"], 0, "{t}");
    // The queue log: 12 s in queue 400 before agent 202 answered; the other caller left after
    // 3 s in the queue (a short abandon), 40 s after the call began.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue_log");
    append(
        &path,
        "1772346913|1772346900.5|400|NONE|ENTERQUEUE||09351112233|1\n\
         1772346925|1772346900.5|400|PJSIP/202|CONNECT|12|1772346925.9|10\n\
         1772347037|1772347000.6|400|NONE|ENTERQUEUE||09127654321|1\n\
         1772347040|1772347000.6|400|NONE|ABANDON|1|1|3\n",
    );
    let pass = switchboard::channels::voice::queue_log::run_once(&app.state, &path)
        .await
        .unwrap();
    assert_eq!(pass.linked, 2, "{pass:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let t = report(&app, &sup, &q).await["total"].clone();
        if t["avg_speed_of_answer_seconds"] == 12.0 && t["short_abandoned"] == 1 {
            assert_eq!(
                (t["offered"].as_i64(), t["answered"].as_i64()),
                (Some(2), Some(1)),
                "{t}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the queue log's waits never counted: {t}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The rollups the worker kept up to date by deltas equal a rebuild from every fact.
    let by = format!("{q}&group_by=agent");
    let kept = report(&app, &sup, &by).await;
    switchboard::reports::rebuild(&app.state.store, &app.state.settings)
        .await
        .unwrap();
    assert_eq!(report(&app, &sup, &by).await, kept);
}

crate::storage_tests!(
    calls_count_from_their_records,
    phone_waits_come_from_the_queue_log_when_there_is_one,
);
