//! Voice channel: PBX call records, fax logs, live CTI events, hand-logged calls and tailing.
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/voice")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// Upload a log body; returns status and JSON answer.
pub(super) async fn upload(
    app: &TestApp,
    token: &str,
    format: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/channels/voice/records?format={format}")))
        .bearer_auth(token)
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .expect("upload sent");
    let status = resp.status();
    (status, resp.json().await.expect("JSON answer"))
}

/// The customer owning a phone number (E.164), found through the API.
pub(crate) async fn customer_by_phone(app: &TestApp, e164: &str) -> Value {
    let q = e164.replace('+', "%2B");
    let (s, page) = app
        .get(&format!("/api/v1/customers?q={q}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let found: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["identities"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["value"] == e164)
        })
        .collect();
    assert_eq!(found.len(), 1, "one customer with {e164} in {page}");
    found[0].clone()
}

pub(crate) async fn conversations_of(app: &TestApp, customer_id: &str, extra: &str) -> Vec<Value> {
    let (s, page) = app
        .get(
            &format!("/api/v1/conversations?customer={customer_id}{extra}"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

pub(crate) async fn detail(app: &TestApp, id: &Value) -> Value {
    let (s, conv) = app
        .get(
            &format!("/api/v1/conversations/{}", id.as_str().unwrap()),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{conv}");
    conv
}

async fn asterisk_log_is_stored_once_with_missed_calls_grouped_for_callback(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.api_token(&["voice:ingest"]).await;
    let (s, report) = upload(&app, &token, "asterisk", fixture("asterisk_Master.csv")).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["stored"], 5, "{report}");
    assert_eq!(
        report["ignored"], 1,
        "the extension-to-extension call is not a contact"
    );
    assert_eq!(report["duplicates"], 0);
    assert_eq!(report["rejected"], json!([]));

    // Uploading the same file again stores nothing new.
    let (s, again) = upload(&app, &token, "asterisk", fixture("asterisk_Master.csv")).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["stored"], 0, "{again}");
    assert_eq!(again["duplicates"], 5, "{again}");

    // Persian digits and spaced digits both normalise to one E.164 customer.
    let karim = customer_by_phone(&app, "+989351112233").await;
    let karim_id = karim["id"].as_str().unwrap();
    let callbacks = conversations_of(&app, karim_id, "&tag=callback").await;
    assert_eq!(
        callbacks.len(),
        2,
        "09:20 and 10:05 join; 14:00 is outside the window"
    );
    let mut sizes = Vec::new();
    for c in &callbacks {
        assert_eq!(c["channel"], "phone");
        assert_eq!(c["status"], "open");
        assert_eq!(c["subject"], "Missed call from +989351112233");
        let d = detail(&app, &c["id"]).await;
        sizes.push(d["messages"].as_array().unwrap().len());
    }
    sizes.sort();
    assert_eq!(
        sizes,
        vec![1, 2],
        "two missed calls share one callback conversation"
    );

    // The answered inbound call is a resolved phone conversation with a readable summary.
    let sara = customer_by_phone(&app, "+989121234567").await;
    assert_eq!(sara["name"], "Sara Ahmadi");
    let convs = conversations_of(&app, sara["id"].as_str().unwrap(), "").await;
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["status"], "resolved");
    assert!(convs[0]["resolved_at"].is_string(), "{}", convs[0]);
    let d = detail(&app, &convs[0]["id"]).await;
    // Logged, not worked on: created resolved, one history entry, no status change.
    let kinds: Vec<&Value> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| &h["kind"])
        .collect();
    assert_eq!(kinds, vec!["created"], "{}", d["history"]);
    assert_eq!(
        d["history"][0]["data"]["status"], "resolved",
        "{}",
        d["history"]
    );
    let msg = &d["messages"][0];
    assert_eq!(msg["channel"], "phone");
    assert_eq!(msg["body"], "Inbound call, answered, 3m12s");
    assert_eq!(msg["author_kind"], "customer");
    assert_eq!(msg["external_id"], "asterisk:1740806400.1");
    assert_eq!(msg["meta"]["from"], "+989121234567");
    assert_eq!(msg["meta"]["billsec"], 192);
    assert_eq!(msg["meta"]["disposition"], "answered");
    assert_eq!(msg["meta"]["agent_extension"], "101");
    assert_eq!(
        msg["created_at"], "2025-03-01T05:30:00.000Z",
        "Tehran local time → UTC"
    );

    // The outbound call is logged on the called number's customer.
    let callee = customer_by_phone(&app, "+982188776655").await;
    let convs = conversations_of(&app, callee["id"].as_str().unwrap(), "").await;
    assert_eq!(convs[0]["subject"], "Outbound call to +982188776655");
    let d = detail(&app, &convs[0]["id"]).await;
    assert_eq!(d["messages"][0]["author_kind"], "system");
    assert_eq!(d["messages"][0]["meta"]["direction"], "outbound");
}

async fn freeswitch_and_hylafax_logs_become_phone_and_fax_entries(b: Backend) {
    let app = spawn_app(b).await;
    let (agent_id, _) = app
        .agent(
            "agent1001@example.com",
            "agent",
            json!({"extension": "1001"}),
        )
        .await;
    let (s, report) = upload(
        &app,
        &app.admin_token,
        "freeswitch",
        fixture("freeswitch_Master.csv"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(
        (report["stored"].as_u64(), report["rejected"].clone()),
        (Some(3), json!([])),
        "{report}"
    );
    let sara = customer_by_phone(&app, "+989121234567").await;
    let convs = conversations_of(&app, sara["id"].as_str().unwrap(), "").await;
    let d = detail(&app, &convs[0]["id"]).await;
    let msg = &d["messages"][0];
    assert_eq!(msg["body"], "Inbound call, answered, 3m00s");
    assert_eq!(
        msg["meta"]["agent_id"],
        agent_id.as_str(),
        "mapped from agents.extension"
    );
    assert_eq!(
        msg["external_id"],
        "freeswitch:a5c9f6c0-e752-11e3-8bfb-65b6c3cdac7d"
    );
    // Persian digits in a missed call.
    let missed = customer_by_phone(&app, "+989127654321").await;
    let cb = conversations_of(&app, missed["id"].as_str().unwrap(), "&tag=callback").await;
    assert_eq!(cb.len(), 1);
    assert_eq!(cb[0]["status"], "open");

    let (s, report) = upload(
        &app,
        &app.admin_token,
        "hylafax",
        fixture("hylafax_xferfaxlog"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(
        report["stored"], 3,
        "SEND, RECV, failed SEND; CALL is not a fax: {report}"
    );
    let acme = customer_by_phone(&app, "+989121234567").await;
    let faxes = conversations_of(&app, acme["id"].as_str().unwrap(), "&channel=fax").await;
    assert_eq!(faxes.len(), 1);
    let d = detail(&app, &faxes[0]["id"]).await;
    let fax = &d["messages"][0];
    assert_eq!(fax["channel"], "fax");
    assert_eq!(fax["body"], "Inbound fax, 4 pages, ok");
    assert_eq!(fax["meta"]["fax_pages"], 4);
    assert_eq!(fax["external_id"], "hylafax:00000124");
    let busy = customer_by_phone(&app, "+982177665544").await;
    let faxes = conversations_of(&app, busy["id"].as_str().unwrap(), "&channel=fax").await;
    let d = detail(&app, &faxes[0]["id"]).await;
    assert_eq!(d["messages"][0]["meta"]["fax_status"], "failed");
    assert!(d["messages"][0]["body"]
        .as_str()
        .unwrap()
        .contains("Busy signal detected"));
}

async fn answered_call_appears_on_the_timeline_beside_an_api_conversation(b: Backend) {
    let app = spawn_app(b).await;
    let conv = app
        .conversation(
            &app.admin_token,
            "sara@example.com",
            "Invoice question",
            json!({}),
        )
        .await;
    let customer_id = conv["customer_id"].as_str().unwrap().to_string();
    let (s, body) = app
        .post(
            &format!("/api/v1/customers/{customer_id}/identities"),
            &app.admin_token,
            json!({"kind": "phone", "value": "۰۹۱۲ ۱۲۳ ۴۵۶۷"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, report) = upload(
        &app,
        &app.admin_token,
        "asterisk",
        fixture("asterisk_Master.csv"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{report}");
    let (s, timeline) = app
        .get(
            &format!("/api/v1/customers/{customer_id}/timeline"),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{timeline}");
    let items = timeline["items"].as_array().unwrap();
    let call = items
        .iter()
        .find(|i| i["kind"] == "message" && i["channel"] == "phone")
        .unwrap_or_else(|| panic!("no call in {timeline}"));
    assert_eq!(call["body"], "Inbound call, answered, 3m12s");
    assert!(items.iter().any(|i| i["kind"] == "message"
        && i["channel"] == "api"
        && i["subject"] == "Invoice question"));
    // The open API conversation is not on the phone channel, so the call got its own.
    assert_ne!(call["conversation_id"], conv["id"]);
    assert_eq!(call["status"], "resolved");
}

async fn a_bad_line_is_reported_with_its_number_and_the_rest_is_stored(b: Backend) {
    let app = spawn_app(b).await;
    let (s, report) = upload(
        &app,
        &app.admin_token,
        "asterisk",
        fixture("asterisk_bad_line.csv"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["stored"], 2, "{report}");
    let rejected = report["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{report}");
    assert_eq!(rejected[0]["line"], 2);
    assert!(
        rejected[0]["reason"].as_str().unwrap().contains("start"),
        "{report}"
    );
    customer_by_phone(&app, "+989127778899").await;
}

async fn uploads_are_guarded_and_limited(b: Backend) {
    let app = spawn_app_with(b, |s| s.voice.max_upload_bytes = 4096).await;
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let wrong_scope = app.api_token(&["conversations"]).await;
    let body = fixture("asterisk_Master.csv");
    let (s, e) = upload(&app, &agent, "asterisk", body.clone()).await;
    assert_error(s, &e, StatusCode::FORBIDDEN, "forbidden");
    let (s, e) = upload(&app, &wrong_scope, "asterisk", body.clone()).await;
    assert_error(s, &e, StatusCode::FORBIDDEN, "forbidden");
    let (s, e) = upload(&app, "nonsense", "asterisk", body.clone()).await;
    assert_error(s, &e, StatusCode::UNAUTHORIZED, "unauthorized");
    let (s, e) = upload(&app, &app.admin_token, "mp3", body.clone()).await;
    assert_error(s, &e, StatusCode::UNPROCESSABLE_ENTITY, "invalid_format");
    let big: Vec<u8> = body.iter().copied().cycle().take(10_000).collect();
    let (s, e) = upload(&app, &app.admin_token, "asterisk", big).await;
    assert_error(s, &e, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    let (s, conv) = app.get("/api/v1/conversations", &app.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        conv["items"],
        json!([]),
        "nothing stored from refused uploads"
    );
}

async fn concurrent_uploads_of_one_log_store_each_call_once(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.api_token(&["voice:ingest"]).await;
    let body = fixture("asterisk_Master.csv");
    let (a, b2, c) = tokio::join!(
        upload(&app, &token, "asterisk", body.clone()),
        upload(&app, &token, "asterisk", body.clone()),
        upload(&app, &app.admin_token, "asterisk", body.clone()),
    );
    let mut stored = 0;
    let mut duplicates = 0;
    for (s, r) in [a, b2, c] {
        assert_eq!(s, StatusCode::OK, "{r}");
        stored += r["stored"].as_u64().unwrap();
        duplicates += r["duplicates"].as_u64().unwrap();
    }
    assert_eq!(
        (stored, duplicates),
        (5, 10),
        "each call stored by exactly one upload"
    );
    let (_, convs) = app
        .get("/api/v1/conversations?limit=100", &app.admin_token)
        .await;
    let mut messages = 0;
    for c in convs["items"].as_array().unwrap() {
        let n = detail(&app, &c["id"]).await["messages"]
            .as_array()
            .unwrap()
            .len();
        assert!(n > 0, "no empty conversation left behind by a lost race");
        messages += n;
    }
    assert_eq!(messages, 5);
    let karim = customer_by_phone(&app, "+989351112233").await;
    assert_eq!(
        conversations_of(&app, karim["id"].as_str().unwrap(), "&tag=callback")
            .await
            .len(),
        2
    );
}

/// A day's log of a large center, over a request body's limit: read as a stream and stored in
/// pieces, line numbers counted across them.
async fn a_log_larger_than_a_request_body_is_streamed_in_pieces(b: Backend) {
    let app = spawn_app_with(b, |s| s.server.max_body_bytes = 4096).await;
    let mut log = String::new();
    for i in 1..=6_000 {
        if i == 4_500 {
            log.push_str("\"\",\"broken line\"\n");
            continue;
        }
        let caller = format!("0912{:07}", i % 700);
        log.push_str(&format!(
            "\"\",\"{caller}\",\"101\",\"from-trunk\",\"\"\"Caller\"\" <{caller}>\",\
             \"PJSIP/trunk-{i:08}\",\"PJSIP/101-{i:08}\",\"Dial\",\"PJSIP/101,30\",\
             \"2025-03-01 12:00:00\",\"2025-03-01 12:00:05\",\"2025-03-01 12:00:35\",35,30,\
             \"ANSWERED\",\"DOCUMENTATION\",\"stream.{i}\",\"\"\n"
        ));
    }
    assert!(log.len() > 1_100_000, "more than one piece: {}", log.len());
    let (s, report) = upload(&app, &app.admin_token, "asterisk", log.into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["stored"], 5_999, "{report}");
    assert_eq!(report["rejected"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["rejected"][0]["line"], 4_500, "{report}");
}

crate::storage_tests!(
    a_log_larger_than_a_request_body_is_streamed_in_pieces,
    asterisk_log_is_stored_once_with_missed_calls_grouped_for_callback,
    concurrent_uploads_of_one_log_store_each_call_once,
    freeswitch_and_hylafax_logs_become_phone_and_fax_entries,
    answered_call_appears_on_the_timeline_beside_an_api_conversation,
    a_bad_line_is_reported_with_its_number_and_the_rest_is_stored,
    uploads_are_guarded_and_limited,
);

mod ami;
mod ami_browser;
mod ami_originate;
mod ami_server;
mod anonymous;
mod batch;
mod cdr_db;
pub(crate) mod live;
mod manual;
mod pairing;
pub(crate) mod queue_log;
mod settings;
mod tail;
