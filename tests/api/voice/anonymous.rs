//! Calls and faxes from withheld or unusable numbers: kept on one shared "Anonymous caller"
//! profile, each logged as a resolved contact, never as a callback.
use super::live::{cti, event};
use super::{conversations_of, detail, upload};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// An Asterisk line from `src` to extension 101 at `start`, answered or not.
fn asterisk(src: &str, start: &str, answered: bool, id: &str) -> String {
    let (answer, billsec, disposition) = if answered {
        (start, 60, "ANSWERED")
    } else {
        ("", 0, "NO ANSWER")
    };
    format!(
        "\"\",\"{src}\",\"101\",\"from-trunk\",\"\"\"\"\" <{src}>\",\"PJSIP/trunk-1\",\
         \"PJSIP/101-1\",\"Dial\",\"PJSIP/101,30\",\"{start}\",\"{answer}\",\"{start}\",60,{billsec},\
         \"{disposition}\",\"DOCUMENTATION\",\"{id}\",\"\"\n"
    )
}

/// A HylaFAX RECV line with this TSI and no caller id.
fn fax_received(tsi: &str, commid: &str) -> String {
    format!(
        "03/01/25 09:05\tRECV\t{commid}\tttyS1\tfax{commid}.tif\t\"\"\tfax\t\"02133445566\"\t\"{tsi}\"\t\
         4196528\t2\t0:01:10\t0:01:00\t\"\"\t\"\"\t\"\"\t\"\"\t\"\"\t\"\"\n"
    )
}

/// The customers named "Anonymous caller".
async fn anonymous_profiles(app: &TestApp) -> Vec<Value> {
    let (s, page) = app
        .get("/api/v1/customers?q=Anonymous%20caller", &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// The one anonymous profile and all its messages (conversation, message) in time order.
async fn anonymous_entries(app: &TestApp) -> (Value, Vec<(Value, Value)>) {
    let profiles = anonymous_profiles(app).await;
    assert_eq!(profiles.len(), 1, "one shared profile: {profiles:?}");
    let profile = profiles[0].clone();
    assert_eq!(profile["name"], "Anonymous caller");
    assert_eq!(
        profile["identities"],
        json!([{"id": profile["identities"][0]["id"], "kind": "anonymous", "value": "phone",
                "raw": "phone", "created_at": profile["identities"][0]["created_at"]}]),
    );
    let id = profile["id"].as_str().unwrap();
    let mut entries = Vec::new();
    for c in conversations_of(app, id, "&limit=100").await {
        for m in detail(app, &c["id"]).await["messages"].as_array().unwrap() {
            entries.push((c.clone(), m.clone()));
        }
    }
    entries.sort_by_key(|(_, m)| (m["created_at"].to_string(), m["external_id"].to_string()));
    (profile, entries)
}

async fn anonymous_callers_in_logs_are_kept_on_one_shared_profile(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.api_token(&["voice:ingest"]).await;
    let log = [
        asterisk("anonymous", "2025-03-01 09:00:00", true, "a.1"),
        asterisk("Restricted", "2025-03-01 09:10:00", false, "a.2"),
        asterisk("", "2025-03-01 09:11:00", false, "a.3"),
        asterisk("09121234567", "2025-03-01 09:12:00", false, "a.4"),
        asterisk("anonymous", "yesterday", false, "a.5"),
    ]
    .concat();
    let (s, report) = upload(&app, &token, "asterisk", log.clone().into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["stored"], 4, "{report}");
    let rejected = report["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{report}");
    assert_eq!(rejected[0]["line"], 5, "a malformed line is still rejected");

    let freeswitch = "\"\",\"0000000000\",\"1003\",\"public\",\"2025-03-01 11:20:00\",\"\",\
                      \"2025-03-01 11:20:25\",\"25\",\"0\",\"NO_ANSWER\",\"fs-anon-1\",\"\",\"\",\"\",\"\"\n\
                      \"\",\"unavailable\",\"1003\",\"public\",\"2025-03-01 11:30:00\",\
                      \"2025-03-01 11:30:05\",\"2025-03-01 11:31:05\",\"65\",\"60\",\
                      \"NORMAL_CLEARING\",\"fs-anon-2\",\"\",\"\",\"\",\"\"\n";
    let (s, report) = upload(&app, &token, "freeswitch", freeswitch.into()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(
        (report["stored"].as_u64(), report["rejected"].clone()),
        (Some(2), json!([])),
        "{report}"
    );
    let send_to_nobody = "03/01/25 09:30\tSEND\t00000130\tttyS0\t47\t\"\"\tzahra@example.ir\t\"\"\t\"\"\t\
                          0\t0\t0:00:10\t0:00:00\t\"No answer\"\t\"\"\t\"\"\t\"\"\t\"zahra\"\t\"\"\n";
    let hylafax = [
        fax_received("", "00000128"),
        fax_received("FAX MACHINE", "00000129"),
        send_to_nobody.to_string(),
    ]
    .concat();
    let (s, report) = upload(&app, &token, "hylafax", hylafax.into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["stored"], 2, "{report}");
    assert_eq!(
        report["rejected"][0]["line"], 3,
        "a fax sent to no number has no customer: {report}"
    );
    assert!(report["rejected"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("no usable customer number"));

    let (profile, entries) = anonymous_entries(&app).await;
    let ids: Vec<&str> = entries
        .iter()
        .map(|(_, m)| m["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "asterisk:a.1",
            "hylafax:00000128",
            "hylafax:00000129",
            "asterisk:a.2",
            "asterisk:a.3",
            "freeswitch:fs-anon-1",
            "freeswitch:fs-anon-2"
        ],
        "every anonymous call and fax, none elsewhere"
    );
    for (conv, msg) in &entries {
        assert_eq!(msg["meta"]["anonymous"], true, "{msg}");
        assert_eq!(msg["author_id"], profile["id"]);
        assert_eq!(conv["status"], "resolved", "no callback: {conv}");
        assert_eq!(
            detail(&app, &conv["id"]).await["messages"]
                .as_array()
                .unwrap()
                .len(),
            1,
            "each anonymous caller is their own contact"
        );
    }
    let (conv, msg) = &entries[3];
    assert_eq!(conv["subject"], "Inbound call from an anonymous caller");
    assert_eq!(conv["tags"], json!([]));
    assert!(msg["body"]
        .as_str()
        .unwrap()
        .starts_with("Inbound call, not answered"));
    assert_eq!(entries[1].1["channel"], "fax");
    let callbacks = conversations_of(&app, profile["id"].as_str().unwrap(), "&tag=callback").await;
    assert_eq!(callbacks, Vec::<Value>::new());

    // A known number's missed call still asks for a callback.
    let (_, all) = app
        .get("/api/v1/conversations?tag=callback", &app.admin_token)
        .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "{all}");

    // Re-uploading stores nothing new.
    let (_, again) = upload(&app, &token, "asterisk", log.into_bytes()).await;
    assert_eq!(
        (again["stored"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(4))
    );
    assert_eq!(anonymous_entries(&app).await.1.len(), 7);
}

async fn concurrent_anonymous_calls_share_one_profile(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.api_token(&["voice:ingest"]).await;
    let first = asterisk("anonymous", "2025-03-01 09:00:00", true, "r.1");
    let second = asterisk("private", "2025-03-01 09:00:00", true, "r.2");
    let ring = event("newCall", "r-3", "anonymous", json!({}));
    let (a, b2, c) = tokio::join!(
        upload(&app, &token, "asterisk", first.into_bytes()),
        upload(&app, &token, "asterisk", second.into_bytes()),
        cti(&app, &token, ring),
    );
    assert_eq!(
        (a.1["stored"].as_u64(), b2.1["stored"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(c.0, StatusCode::OK, "{}", c.1);
    let (profile, entries) = anonymous_entries(&app).await;
    assert_eq!(entries.len(), 2);
    assert_eq!(c.1["customer_id"], profile["id"]);
}

async fn a_cti_call_from_a_hidden_number_pops_the_anonymous_profile(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.api_token(&["voice:ingest"]).await;
    let mut rx = app.state.bus.subscribe();
    let (s, rung) = cti(
        &app,
        &token,
        event("newCall", "h-1", "anonymous", json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{rung}");
    assert_eq!(rung["anonymous"], true, "{rung}");
    let ringing = loop {
        let ev = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
            .await
            .expect("call.ringing within 10 s")
            .expect("bus open");
        if ev.kind == "call.ringing" {
            break ev;
        }
    };
    assert_eq!(ringing.data["anonymous"], true);
    assert_eq!(ringing.data["from"], "anonymous");
    assert_eq!(ringing.customer_id.as_deref(), rung["customer_id"].as_str());
    let hangup = event("hangup", "h-1", "anonymous", json!({"cause": "noAnswer"}));
    let (s, body) = cti(&app, &token, hangup).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // FreeSWITCH's all-zero caller id is no number either.
    cti(
        &app,
        &token,
        event("newCall", "h-2", "0000000000", json!({})),
    )
    .await;
    let hangup = event(
        "hangup",
        "h-2",
        "0000000000",
        json!({"cause": "normalClearing"}),
    );
    let (s, body) = cti(&app, &token, hangup).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let (profile, entries) = anonymous_entries(&app).await;
    assert_eq!(rung["customer_id"], profile["id"]);
    let ids: Vec<&Value> = entries.iter().map(|(_, m)| &m["external_id"]).collect();
    assert_eq!(ids, [&json!("cti:h-1"), &json!("cti:h-2")]);
    for (conv, msg) in &entries {
        assert_eq!(
            conv["status"], "resolved",
            "a missed anonymous call opens no callback"
        );
        assert_eq!(msg["meta"]["anonymous"], true);
    }
    let (_, all) = app
        .get("/api/v1/conversations?tag=callback", &app.admin_token)
        .await;
    assert_eq!(all["items"], json!([]));
    let (_, customers) = app.get("/api/v1/customers", &app.admin_token).await;
    assert_eq!(
        customers["items"].as_array().unwrap().len(),
        1,
        "no customer for 0000000000: {customers}"
    );
}

async fn the_shared_anonymous_profile_cannot_be_merged(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.api_token(&["voice:ingest"]).await;
    let log = asterisk("anonymous", "2025-03-01 09:00:00", true, "m.1")
        + &asterisk("09121234567", "2025-03-01 09:05:00", true, "m.2");
    let (s, report) = upload(&app, &token, "asterisk", log.into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["stored"], 2, "{report}");
    let anonymous = anonymous_profiles(&app).await[0]["id"].clone();
    let (s, page) = app
        .get("/api/v1/customers?q=%2B989121234567", &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let person = page["items"][0]["id"].clone();
    assert!(person.is_string() && person != anonymous, "{page}");
    for (target, source) in [(&person, &anonymous), (&anonymous, &person)] {
        let (s, body) = app
            .post(
                &format!("/api/v1/customers/{}/merge", target.as_str().unwrap()),
                &app.admin_token,
                json!({"source_id": source}),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{body}");
    }
    let (profile, entries) = anonymous_entries(&app).await;
    assert_eq!(profile["id"], anonymous);
    assert_eq!(entries.len(), 1, "the anonymous call stays where it was");
}

crate::storage_tests!(
    the_shared_anonymous_profile_cannot_be_merged,
    anonymous_callers_in_logs_are_kept_on_one_shared_profile,
    concurrent_anonymous_calls_share_one_profile,
    a_cti_call_from_a_hidden_number_pops_the_anonymous_profile,
);
