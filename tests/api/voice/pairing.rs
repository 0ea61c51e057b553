//! A call reported both by live CTI events and by the PBX's call record is stored once.
use super::live::{cti, event};
use super::{conversations_of, customer_by_phone, detail, upload};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use switchboard::channels::voice;
use switchboard::channels::voice::ingest::{store_contact, Contact, Outcome};
use switchboard::channels::voice::records::{options, parse_lines};
use switchboard::store::now_ms;
use switchboard_voice::Source;

/// `ms` as an Asterisk timestamp (the tests' PBX clock is UTC).
fn stamp(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// An answered Asterisk call record from `src` to `dst` starting at `at` (ms), 90 s talk time.
fn cdr(src: &str, dst: &str, at: i64, id: &str) -> String {
    let (start, answer, end) = (stamp(at), stamp(at + 5_000), stamp(at + 95_000));
    format!(
        "\"\",\"{src}\",\"{dst}\",\"from-trunk\",\"\"\"\"\" <{src}>\",\"PJSIP/trunk-1\",\
         \"PJSIP/101-1\",\"Dial\",\"PJSIP/101,30\",\"{start}\",\"{answer}\",\"{end}\",95,90,\
         \"ANSWERED\",\"DOCUMENTATION\",\"{id}\",\"\"\n"
    )
}

/// A missed Asterisk call record (rang 20 s, nobody answered).
fn missed_cdr(src: &str, dst: &str, at: i64, id: &str) -> String {
    let (start, end) = (stamp(at), stamp(at + 20_000));
    format!(
        "\"\",\"{src}\",\"{dst}\",\"from-trunk\",\"\"\"\"\" <{src}>\",\"PJSIP/trunk-1\",\
         \"PJSIP/101-1\",\"Dial\",\"PJSIP/101,30\",\"{start}\",\"\",\"{end}\",20,0,\
         \"NO ANSWER\",\"DOCUMENTATION\",\"{id}\",\"\"\n"
    )
}

/// One record of `log` as a contact to store on its own (the per-record path).
fn contact_of(log: &str) -> Contact {
    let (mut lines, _) = parse_lines(Source::Asterisk, log.as_bytes(), 1, true, &options(0));
    Contact {
        source: "asterisk",
        record: lines.remove(0).1.expect("parsed"),
        customer_id: None,
        notes: None,
        logged_by: None,
        agent_id: None,
    }
}

/// Every message of the customer with this number.
async fn messages_of(app: &TestApp, e164: &str) -> Vec<Value> {
    let customer = customer_by_phone(app, e164).await;
    let mut out = Vec::new();
    for c in conversations_of(app, customer["id"].as_str().unwrap(), "").await {
        out.extend(
            detail(app, &c["id"]).await["messages"]
                .as_array()
                .unwrap()
                .clone(),
        );
    }
    out.sort_by_key(|m| m["external_id"].to_string());
    out
}

/// A CTI call that rings, is answered by extension 101 and hangs up, with a recording.
async fn live_call(app: &TestApp, token: &str, call_id: &str, from: &str) {
    for (kind, extra) in [
        ("newCall", json!({})),
        ("answer", json!({"answeringNumber": "101"})),
        (
            "hangup",
            json!({"cause": "normalClearing", "recordingUrl": "https://pbx.example/r.wav"}),
        ),
    ] {
        let (s, body) = cti(app, token, event(kind, call_id, from, extra)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
}

async fn a_cdr_completes_the_cti_entry_of_its_call(b: Backend) {
    let app = spawn_app_with(b, |s| s.voice.pbx_utc_offset_secs = 0).await;
    let token = app.api_token(&["voice:ingest"]).await;
    let (agent_id, _) = app
        .agent("ext101@example.com", "agent", json!({"extension": "101"}))
        .await;
    let at = now_ms();
    live_call(&app, &token, "c-1", "09121234567").await;
    let log = [
        // The same call (the CDR names the extension the DID was routed to).
        cdr("09121234567", "101", at - 2_000, "1740.1"),
        // Another caller at the same moment: no CTI entry, stored as before.
        cdr("09127654321", "101", at, "1740.2"),
        // The first caller again, five minutes later: another call.
        cdr("09121234567", "101", at + 300_000, "1740.3"),
    ]
    .concat();
    let (s, report) = upload(&app, &token, "asterisk", log.clone().into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(
        (report["stored"].as_u64(), report["merged"].as_u64()),
        (Some(2), Some(1)),
        "{report}"
    );
    let msgs = messages_of(&app, "+989121234567").await;
    let ids: Vec<&Value> = msgs.iter().map(|m| &m["external_id"]).collect();
    assert_eq!(ids, [&json!("asterisk:1740.3"), &json!("cti:c-1")]);
    let call = &msgs[1];
    assert_eq!(call["meta"]["billsec"], 90, "the CDR's talk time: {call}");
    assert_eq!(call["meta"]["duration_secs"], 95);
    assert_eq!(call["meta"]["cdr_source"], "asterisk");
    assert_eq!(call["meta"]["cdr_source_id"], "1740.1");
    assert_eq!(call["meta"]["disposition"], "answered");
    assert_eq!(call["meta"]["agent_id"], agent_id.as_str());
    assert_eq!(call["meta"]["agent_extension"], "101");
    assert_eq!(
        call["meta"]["to"], "+982133445566",
        "the entry's own numbers stay"
    );
    assert_eq!(
        call["meta"]["recording_url"], "https://pbx.example/r.wav",
        "what the CDR lacks is kept"
    );
    assert_eq!(call["body"], "Inbound call, answered, 1m30s");
    let other = messages_of(&app, "+989127654321").await;
    assert_eq!(other.len(), 1);
    assert_eq!(other[0]["external_id"], "asterisk:1740.2");
    assert!(other[0]["meta"].get("cdr_source").is_none());

    let (s, again) = upload(&app, &token, "asterisk", log.into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(
        (
            again["stored"].as_u64(),
            again["merged"].as_u64(),
            again["duplicates"].as_u64()
        ),
        (Some(0), Some(0), Some(3)),
        "{again}"
    );
    assert_eq!(messages_of(&app, "+989121234567").await.len(), 2);
}

async fn pairing_follows_the_setting_and_the_other_party(b: Backend) {
    let app = spawn_app_with(b, |s| {
        s.voice.pbx_utc_offset_secs = 0;
        s.voice.cti_match_secs = 3;
    })
    .await;
    let token = app.api_token(&["voice:ingest"]).await;
    let at = now_ms();
    live_call(&app, &token, "p-1", "09121110001").await;
    // An outbound CTI call by extension 102.
    let out = json!({"direction": "out", "from": "102", "to": "09121110002"});
    for kind in ["newCall", "hangup"] {
        let (s, body) = cti(&app, &token, event(kind, "p-2", "102", out.clone())).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let log = [
        // Eight seconds off: more than the three allowed.
        cdr("09121110001", "101", at - 8_000, "p.1"),
        // The customer called by extension 103, not 102: another call.
        cdr("103", "09121110002", at, "p.2"),
    ]
    .concat();
    let (s, report) = upload(&app, &token, "asterisk", log.into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(
        (report["stored"].as_u64(), report["merged"].as_u64()),
        (Some(2), Some(0)),
        "{report}"
    );
    // By extension 102 it is the same call (one record at a time this time).
    let opts = options(0);
    let line = cdr("102", "09121110002", at + 1_000, "p.3");
    let (mut lines, _) = parse_lines(Source::Asterisk, line.as_bytes(), 1, true, &opts);
    let record = lines.remove(0).1.expect("parsed");
    let contact = Contact {
        source: "asterisk",
        record,
        customer_id: None,
        notes: None,
        logged_by: None,
        agent_id: None,
    };
    let outcome = store_contact(&app.state, &contact).await.unwrap();
    assert!(matches!(outcome, Outcome::Merged { .. }), "{outcome:?}");
    assert_eq!(
        store_contact(&app.state, &contact).await.unwrap(),
        Outcome::Duplicate
    );
    let msgs = messages_of(&app, "+989121110002").await;
    let ids: Vec<&Value> = msgs.iter().map(|m| &m["external_id"]).collect();
    assert_eq!(ids, [&json!("asterisk:p.2"), &json!("cti:p-2")]);
    assert_eq!(msgs[1]["meta"]["cdr_source_id"], "p.3");
    assert_eq!(msgs[1]["meta"]["direction"], "outbound");
}

async fn a_late_cti_hangup_completes_the_cdr_entry(b: Backend) {
    let app = spawn_app_with(b, |s| s.voice.pbx_utc_offset_secs = 0).await;
    let token = app.api_token(&["voice:ingest"]).await;
    let mut rx = app.state.bus.subscribe();
    let at = now_ms();
    let log = cdr("09121110003", "101", at, "late.1");
    let (s, report) = upload(&app, &token, "asterisk", log.into_bytes()).await;
    assert_eq!(
        (s, report["stored"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{report}"
    );
    live_call(&app, &token, "late-1", "09121110003").await;
    let ended = loop {
        let ev = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
            .await
            .expect("call.ended within 10 s")
            .expect("bus open");
        if ev.kind == "call.ended" {
            break ev;
        }
    };
    let msgs = messages_of(&app, "+989121110003").await;
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    let call = &msgs[0];
    assert_eq!(ended.customer_id.as_deref(), call["author_id"].as_str());
    assert_eq!(call["external_id"], "asterisk:late.1");
    assert_eq!(call["meta"]["cti_call_id"], "late-1");
    assert_eq!(call["meta"]["billsec"], 90, "the CDR's figures stay");
    assert_eq!(call["meta"]["recording_url"], "https://pbx.example/r.wav");
    assert_eq!(call["body"], "Inbound call, answered, 1m30s");
    // A repeated hangup changes nothing.
    let hangup = event(
        "hangup",
        "late-1",
        "09121110003",
        json!({"cause": "normalClearing"}),
    );
    let (s, _) = cti(&app, &token, hangup).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(messages_of(&app, "+989121110003").await.len(), 1);
}

/// Callback conversations of the customer with this number.
async fn callbacks_of(app: &TestApp, e164: &str) -> Vec<Value> {
    let customer = customer_by_phone(app, e164).await;
    conversations_of(app, customer["id"].as_str().unwrap(), "&tag=callback").await
}

async fn a_cdr_showing_a_timed_out_call_answered_settles_its_callback(b: Backend) {
    let app = spawn_app_with(b, |s| s.voice.pbx_utc_offset_secs = 0).await;
    let token = app.api_token(&["voice:ingest"]).await;
    let at = now_ms();
    // Two callers ring; no answer or hangup event ever arrives (the CTI link dropped).
    for (id, from) in [("t-1", "09121110005"), ("t-2", "09121110006")] {
        let (s, body) = cti(&app, &token, event("newCall", id, from, json!({}))).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let later = now_ms() + app.state.settings.voice.stale_ringing_ms() + 1_000;
    assert_eq!(voice::run_once(&app.state, later).await.unwrap(), 2);
    let (first, second) = ("+989121110005", "+989121110006");
    for number in [first, second] {
        let cb = callbacks_of(&app, number).await;
        assert_eq!(cb.len(), 1, "closed as missed: a callback opens");
        assert_eq!(cb[0]["status"], "open");
    }
    // The second caller also called ten minutes later, and that call really was missed.
    let log = missed_cdr("09121110006", "101", at + 600_000, "t.3");
    let (s, report) = upload(&app, &token, "asterisk", log.into_bytes()).await;
    assert_eq!(
        (s, report["stored"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{report}"
    );
    assert_eq!(
        callbacks_of(&app, second).await.len(),
        1,
        "joined the callback"
    );

    // The PBX's records say both timed-out calls were answered: the first stored on its
    // own, the second with an upload (the batch path).
    let mut rx = app.state.bus.subscribe();
    let first_cdr = contact_of(&cdr("09121110005", "101", at, "t.1"));
    let outcome = store_contact(&app.state, &first_cdr).await.unwrap();
    assert!(matches!(outcome, Outcome::Merged { .. }), "{outcome:?}");
    let log = cdr("09121110006", "101", at, "t.2");
    let (s, report) = upload(&app, &token, "asterisk", log.into_bytes()).await;
    assert_eq!(
        (s, report["merged"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{report}"
    );

    let cb = callbacks_of(&app, first).await;
    assert_eq!(
        cb[0]["status"], "resolved",
        "nothing left to call back: {cb:?}"
    );
    let cb2 = callbacks_of(&app, second).await;
    assert_eq!(
        cb2[0]["status"], "open",
        "the later missed call still needs a callback"
    );
    let d = detail(&app, &cb[0]["id"]).await;
    let call = &d["messages"][0];
    assert_eq!(call["meta"]["disposition"], "answered", "{call}");
    assert_eq!(call["body"], "Inbound call, answered, 1m30s");
    let changed = d["history"].as_array().unwrap().iter().any(|h| {
        h["kind"] == "status_changed"
            && h["data"]["to"] == "resolved"
            && h["actor_kind"] == "system"
    });
    assert!(changed, "{}", d["history"]);

    // Events: both entries announced as updated, only the first callback resolved.
    let (mut updated, mut resolved) = (Vec::new(), Vec::new());
    while updated.len() < 2 || resolved.is_empty() {
        let ev = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("events within 10 s: {updated:?} {resolved:?}"))
            .expect("bus open");
        match ev.kind.as_str() {
            "message.updated" => updated.push(ev.data["message"].clone()),
            "conversation.status_changed" => resolved.push(ev.conversation_id.clone().unwrap()),
            _ => {}
        }
    }
    let sources: Vec<_> = updated
        .iter()
        .map(|m| m["meta"]["cdr_source_id"].clone())
        .collect();
    assert_eq!(sources, [json!("t.1"), json!("t.2")]);
    assert!(updated
        .iter()
        .all(|m| m["meta"]["disposition"] == "answered"));
    assert_eq!(resolved, [cb[0]["id"].as_str().unwrap().to_string()]);
}

crate::storage_tests!(
    a_cdr_showing_a_timed_out_call_answered_settles_its_callback,
    a_cdr_completes_the_cti_entry_of_its_call,
    pairing_follows_the_setting_and_the_other_party,
    a_late_cti_hangup_completes_the_cdr_entry,
);
