//! Calls known only from live CTI events count from the events' times: ring = answer event −
//! ringing event, talk = hangup event − answer event (to the millisecond, not the PBX's
//! billable seconds); a call whose hangup never came (closed by the stale-call timeout) is
//! answered but has no talk time; a call reported by CTI and by the PBX's record counts once,
//! from the record. Expectations are computed by hand from the times the entries carry.
use super::report;
use crate::helpers::*;
use crate::voice::live::{cti, event};
use crate::voice::{conversations_of, customer_by_phone, detail};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use switchboard::channels::voice;
use switchboard::store::now_ms;

async fn send(app: &TestApp, token: &str, kind: &str, call: &str, from: &str, extra: Value) {
    let (s, body) = cti(app, token, event(kind, call, from, extra)).await;
    assert_eq!(s, StatusCode::OK, "{kind} {call}: {body}");
}

async fn pause(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The call entries of the customer with this number.
async fn calls_of(app: &TestApp, e164: &str) -> Vec<Value> {
    let customer = customer_by_phone(app, e164).await;
    let mut out = Vec::new();
    for c in conversations_of(app, customer["id"].as_str().unwrap(), "").await {
        for m in detail(app, &c["id"]).await["messages"].as_array().unwrap() {
            if m["meta"]["kind"] == "call" {
                out.push(m["meta"].clone());
            }
        }
    }
    out
}

fn at(meta: &Value, key: &str) -> i64 {
    let t: jiff::Timestamp = meta[key].as_str().unwrap().parse().unwrap();
    t.as_millisecond()
}

/// An Asterisk record of an inbound call to extension 101 (the tests' PBX clock is UTC).
fn cdr(src: &str, start: i64, ring_s: i64, talk_s: i64, id: &str) -> String {
    let stamp = |ms: i64| {
        let t = jiff::Timestamp::from_millisecond(ms).unwrap();
        t.strftime("%Y-%m-%d %H:%M:%S").to_string()
    };
    let (answer, end) = (start + ring_s * 1000, start + (ring_s + talk_s) * 1000);
    let dur = ring_s + talk_s;
    format!(
        "\"\",\"{src}\",\"101\",\"from-trunk\",\"\"\"\"\" <{src}>\",\"PJSIP/trunk-1\",\
         \"PJSIP/101-1\",\"Dial\",\"PJSIP/101,30\",\"{}\",\"{}\",\"{}\",{dur},{talk_s},\
         \"ANSWERED\",\"DOCUMENTATION\",\"{id}\",\"\"\n",
        stamp(start),
        stamp(answer),
        stamp(end)
    )
}

/// The report's rounding: seconds with two decimals.
fn secs(ms: i64, n: i64) -> f64 {
    ((ms as f64 / n as f64) / 10.0).round() / 100.0
}

async fn calls_from_cti_events_count_from_the_events(b: Backend) {
    let app = spawn_app_with(b, |s| s.voice.pbx_utc_offset_secs = 0).await;
    let token = app.api_token(&["voice:ingest"]).await;
    let (sara, _) = app
        .agent("sara@example.com", "agent", json!({"extension": "101"}))
        .await;
    let (_, sup) = app.agent("boss@example.com", "supervisor", json!({})).await;
    let answer = json!({"answeringNumber": "101"});
    let clearing = json!({"cause": "normalClearing"});
    // A: rings about 1.2 s, talks about 2.3 s.
    send(&app, &token, "newCall", "a", "09121000001", json!({})).await;
    pause(1200).await;
    send(&app, &token, "answer", "a", "09121000001", answer.clone()).await;
    pause(2300).await;
    send(&app, &token, "hangup", "a", "09121000001", clearing.clone()).await;
    // B: the caller gives up after about 1.1 s (a short abandon).
    send(&app, &token, "newCall", "b", "09121000002", json!({})).await;
    pause(1100).await;
    send(
        &app,
        &token,
        "hangup",
        "b",
        "09121000002",
        json!({"cause": "cancel"}),
    )
    .await;
    // C: answered at once; its hangup never comes and the timeout closes it 12 h later.
    send(&app, &token, "newCall", "c", "09121000003", json!({})).await;
    send(&app, &token, "answer", "c", "09121000003", answer.clone()).await;
    let later = now_ms() + app.state.settings.voice.stale_answered_ms() + 1_000;
    assert_eq!(voice::run_once(&app.state, later).await.unwrap(), 1);
    // D: reported live and then by the PBX's record (rang 5 s, talked 90 s): one contact,
    // counted from the record.
    let d_start = now_ms();
    send(&app, &token, "newCall", "d", "09121000004", json!({})).await;
    send(&app, &token, "answer", "d", "09121000004", answer).await;
    send(&app, &token, "hangup", "d", "09121000004", clearing).await;
    let (s, up) = crate::voice::upload(
        &app,
        &token,
        "asterisk",
        cdr("09121000004", d_start - 1_000, 5, 90, "77.1").into_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{up}");
    assert_eq!(up["merged"], 1, "the record completes the live entry: {up}");

    let [a, b, c, d] = [
        "+989121000001",
        "+989121000002",
        "+989121000003",
        "+989121000004",
    ];
    let (a, b, c, d) = (
        calls_of(&app, a).await,
        calls_of(&app, b).await,
        calls_of(&app, c).await,
        calls_of(&app, d).await,
    );
    assert_eq!(
        (a.len(), b.len(), c.len(), d.len()),
        (1, 1, 1, 1),
        "one entry per call"
    );
    let (a, b, c, d) = (&a[0], &b[0], &c[0], &d[0]);
    let ring_a = at(a, "answered_at") - at(a, "started_at");
    let talk_a = at(a, "ended_at") - at(a, "answered_at");
    let wait_b = at(b, "ended_at") - at(b, "started_at");
    let ring_c = at(c, "answered_at") - at(c, "started_at");
    assert!((1200..3000).contains(&ring_a), "A rang {ring_a} ms");
    assert!((2300..4000).contains(&talk_a), "A talked {talk_a} ms");
    assert!((1100..4900).contains(&wait_b), "B waited {wait_b} ms");
    assert_eq!(d["cdr_source_id"], "77.1", "{d}");

    let today = report(&app, &sup, "channel=phone").await;
    let t = &today["total"];
    assert_eq!(
        (
            t["offered"].clone(),
            t["answered"].clone(),
            t["abandoned"].clone(),
            t["short_abandoned"].clone(),
            t["answered_within_target"].clone()
        ),
        (json!(4), json!(3), json!(1), json!(1), json!(3)),
        "A, C and D answered within 20 s, B abandoned: {t}"
    );
    assert_eq!(t["service_level"], 0.75, "{t}");
    assert_eq!(
        t["avg_speed_of_answer_seconds"],
        secs(ring_a + ring_c + 5_000, 3),
        "the events' rings of A and C, the record's 5 s of D: {t}"
    );
    assert_eq!(
        t["avg_handle_seconds"],
        secs(talk_a + 90_000, 2),
        "A's talk from its events, D's from its record, C's unknown: {t}"
    );
    let by_agent = report(&app, &sup, "channel=phone&group_by=agent").await;
    let s = super::item(&by_agent, &sara);
    assert_eq!(s["answered"], 3, "{s}");
}

crate::storage_tests!(calls_from_cti_events_count_from_the_events);
