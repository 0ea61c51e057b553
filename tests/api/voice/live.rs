//! Live CTI events and the stale-call timeout.
use super::{conversations_of, customer_by_phone, detail};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use switchboard::bus::Event;
use switchboard::channels::voice;
use switchboard::store::now_ms;
use tokio::sync::broadcast::Receiver;

async fn next_of_kind(
    rx: &mut Receiver<std::sync::Arc<Event>>,
    kind: &str,
) -> std::sync::Arc<Event> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let ev = rx.recv().await.expect("bus open");
            if ev.kind == kind {
                return ev;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} event within 10 s"))
}

pub(crate) async fn cti(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.call(
        "POST",
        &format!("/api/v1/channels/voice/cti/{token}"),
        None,
        Some(body),
    )
    .await
}

async fn cti_form(app: &TestApp, token: &str, body: &str) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/channels/voice/cti/{token}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .expect("sent");
    let status = resp.status();
    (status, resp.json().await.expect("JSON answer"))
}

pub(crate) fn event(kind: &str, call_id: &str, from: &str, extra: Value) -> Value {
    let mut body = json!({"event": kind, "callId": call_id, "from": from, "to": "02133445566", "direction": "in"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

async fn cti_events_pop_the_customer_and_a_missed_call_opens_a_callback(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.api_token(&["voice:ingest"]).await;
    let (agent_id, _) = app
        .agent("ext201@example.com", "agent", json!({"extension": "201"}))
        .await;
    let mut rx = app.state.bus.subscribe();

    let ring = event(
        "newCall",
        "c-1",
        "09121234567",
        json!({"user": ["Sara"], "queue": "support"}),
    );
    let (s, body) = cti(&app, &token, ring).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let ringing = next_of_kind(&mut rx, "call.ringing").await;
    assert!(ringing.customer_id.is_some());
    assert_eq!(ringing.customer_id.as_deref(), body["customer_id"].as_str());
    assert_eq!(ringing.data["from"], "+989121234567");
    assert_eq!(ringing.data["queue"], "support");
    let sara = customer_by_phone(&app, "+989121234567").await;
    assert_eq!(
        ringing.customer_id.as_deref(),
        sara["id"].as_str(),
        "screen pop names the caller"
    );

    let (s, body) = cti(
        &app,
        &token,
        event(
            "answer",
            "c-1",
            "09121234567",
            json!({"answeringNumber": "201"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let answered = next_of_kind(&mut rx, "call.answered").await;
    assert_eq!(answered.agent_id.as_deref(), Some(agent_id.as_str()));
    let hangup = event(
        "hangup",
        "c-1",
        "09121234567",
        json!({"cause": "normalClearing", "recordingUrl": "https://pbx.example/rec/c-1.wav"}),
    );
    let (s, body) = cti(&app, &token, hangup).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    next_of_kind(&mut rx, "call.ended").await;
    let convs = conversations_of(&app, sara["id"].as_str().unwrap(), "").await;
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["status"], "resolved");
    let d = detail(&app, &convs[0]["id"]).await;
    let msg = &d["messages"][0];
    assert!(
        msg["body"]
            .as_str()
            .unwrap()
            .starts_with("Inbound call, answered, "),
        "{msg}"
    );
    assert_eq!(msg["meta"]["agent_id"], agent_id.as_str());
    assert_eq!(
        msg["meta"]["recording_url"],
        "https://pbx.example/rec/c-1.wav"
    );
    assert_eq!(msg["external_id"], "cti:c-1");

    // A call nobody answers, from a number written in Persian digits.
    let (s, _) = cti(
        &app,
        &token,
        event("newCall", "c-2", "۰۹۱۲۵۵۵۶۶۷۷", json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let hangup = event("hangup", "c-2", "۰۹۱۲۵۵۵۶۶۷۷", json!({"cause": "noAnswer"}));
    let (s, body) = cti(&app, &token, hangup.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let caller = customer_by_phone(&app, "+989125556677").await;
    let cb = conversations_of(&app, caller["id"].as_str().unwrap(), "&tag=callback").await;
    assert_eq!(cb.len(), 1);
    assert_eq!(cb[0]["status"], "open");
    assert_eq!(cb[0]["channel"], "phone");
    assert_eq!(cb[0]["subject"], "Missed call from +989125556677");
    // A repeated hangup stores nothing new.
    let (s, _) = cti(&app, &token, hangup).await;
    assert_eq!(s, StatusCode::OK);
    let d = detail(&app, &cb[0]["id"]).await;
    assert_eq!(d["messages"].as_array().unwrap().len(), 1);
    assert_eq!(d["messages"][0]["meta"]["cause"], "noAnswer");

    // When the customer calls again and is answered, the call joins the open callback.
    let (s, _) = cti(
        &app,
        &token,
        event("newCall", "c-3", "09125556677", json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = cti(
        &app,
        &token,
        event(
            "hangup",
            "c-3",
            "09125556677",
            json!({"cause": "normalClearing"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let d = detail(&app, &cb[0]["id"]).await;
    assert_eq!(d["messages"].as_array().unwrap().len(), 2, "{d}");
    assert_eq!(
        d["status"], "open",
        "the agent resolves the callback, not the log"
    );
    let all = conversations_of(&app, caller["id"].as_str().unwrap(), "").await;
    assert_eq!(all.len(), 1);
}

async fn cti_accepts_form_data_and_fax_events_and_refuses_bad_tokens(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.api_token(&["voice:ingest"]).await;
    let form = "event=newCall&from=09351234567&to=02133445566&direction=in&callId=f-1&user%5B%5D=Sara&user%5B%5D=Reza";
    let (s, body) = cti_form(&app, &token, form).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let rung = body["customer_id"].clone();
    assert!(rung.is_string(), "{body}");
    let form = "event=hangup&from=09351234567&to=02133445566&direction=in&callId=f-1&cause=cancel";
    let (s, body) = cti_form(&app, &token, form).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let caller = customer_by_phone(&app, "+989351234567").await;
    assert_eq!(
        caller["id"], rung,
        "form numbers are matched like JSON ones"
    );
    let cb = conversations_of(&app, caller["id"].as_str().unwrap(), "&tag=callback").await;
    assert_eq!(cb.len(), 1, "an abandoned call asks for a callback");

    let fax = json!({"event": "fax", "direction": "in", "from": "02188776655", "to": "02133445566",
                     "faxId": "f-81", "pages": 3, "status": "ok", "at": "2025-03-01T08:30:00Z"});
    let (s, body) = cti(&app, &token, fax).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let sender = customer_by_phone(&app, "+982188776655").await;
    let faxes = conversations_of(&app, sender["id"].as_str().unwrap(), "&channel=fax").await;
    let d = detail(&app, &faxes[0]["id"]).await;
    assert_eq!(d["messages"][0]["body"], "Inbound fax, 3 pages, ok");

    let ring = event("newCall", "x-1", "09121234567", json!({}));
    let (s, e) = cti(&app, "not-a-token", ring.clone()).await;
    assert_error(s, &e, StatusCode::UNAUTHORIZED, "unauthorized");
    let (s, e) = cti(&app, &app.admin_token, ring.clone()).await;
    assert_error(s, &e, StatusCode::UNAUTHORIZED, "unauthorized");
    let other = app.api_token(&["conversations"]).await;
    let (s, e) = cti(&app, &other, ring).await;
    assert_error(s, &e, StatusCode::FORBIDDEN, "forbidden");
    let (s, e) = cti(
        &app,
        &token,
        json!({"event": "dance", "callId": "x", "from": "1", "to": "2", "direction": "in"}),
    )
    .await;
    assert_error(s, &e, StatusCode::UNPROCESSABLE_ENTITY, "invalid_cti_event");
    let (s, e) = cti(
        &app,
        &token,
        json!({"event": "newCall", "from": "1", "to": "2", "direction": "in"}),
    )
    .await;
    assert_error(s, &e, StatusCode::UNPROCESSABLE_ENTITY, "invalid_cti_event");
    assert!(e["error"].as_str().unwrap().contains("callId"), "{e}");
}

async fn calls_without_hangup_are_closed_by_the_timeout(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.api_token(&["voice:ingest"]).await;
    let (s, _) = cti(
        &app,
        &token,
        event("newCall", "s-1", "09127770000", json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = cti(
        &app,
        &token,
        event("newCall", "s-2", "09127770001", json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = cti(
        &app,
        &token,
        event("answer", "s-2", "09127770001", json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let now = now_ms();
    assert_eq!(
        voice::run_once(&app.state, now).await.unwrap(),
        0,
        "nothing is stale yet"
    );
    let later = now + app.state.settings.voice.stale_ringing_ms() + 1_000;
    assert_eq!(
        voice::run_once(&app.state, later).await.unwrap(),
        1,
        "only the ringing call"
    );
    let caller = customer_by_phone(&app, "+989127770000").await;
    let cb = conversations_of(&app, caller["id"].as_str().unwrap(), "&tag=callback").await;
    assert_eq!(cb.len(), 1, "a call that rang out becomes a missed call");
    assert_eq!(
        voice::run_once(&app.state, later).await.unwrap(),
        0,
        "closed once"
    );
    // A hangup arriving after the timeout stores nothing new.
    let (s, _) = cti(
        &app,
        &token,
        event("hangup", "s-1", "09127770000", json!({"cause": "noAnswer"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let d = detail(&app, &cb[0]["id"]).await;
    assert_eq!(d["messages"].as_array().unwrap().len(), 1);

    let much_later = now + app.state.settings.voice.stale_answered_ms() + 1_000;
    assert_eq!(
        voice::run_once(&app.state, much_later).await.unwrap(),
        1,
        "the answered call"
    );
    let other = customer_by_phone(&app, "+989127770001").await;
    let convs = conversations_of(&app, other["id"].as_str().unwrap(), "").await;
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["status"], "resolved");
}

async fn a_call_rung_on_one_node_is_closed_on_another(b: Backend) {
    let first = spawn_app(b).await;
    let token = first.api_token(&["voice:ingest"]).await;
    let second = spawn_on(&first.database_url, first._dir.clone(), |_| {}).await;
    let ring = event("newCall", "n-1", "09121230000", json!({}));
    let (s, _) = cti(&first, &token, ring).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = cti(
        &second,
        &token,
        event("answer", "n-1", "09121230000", json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let hangup = event(
        "hangup",
        "n-1",
        "09121230000",
        json!({"cause": "normalClearing"}),
    );
    let (s, _) = cti(&second, &token, hangup).await;
    assert_eq!(s, StatusCode::OK);
    let caller = customer_by_phone(&first, "+989121230000").await;
    let convs = conversations_of(&first, caller["id"].as_str().unwrap(), "").await;
    assert_eq!(convs.len(), 1);
    let d = detail(&first, &convs[0]["id"]).await;
    let msg = &d["messages"][0];
    assert!(
        msg["meta"]["answered_at"].is_string(),
        "answer seen across nodes: {msg}"
    );
    let later =
        switchboard::store::now_ms() + first.state.settings.voice.stale_answered_ms() + 1_000;
    assert_eq!(
        voice::run_once(&first.state, later).await.unwrap(),
        0,
        "nothing left live"
    );
}

async fn missed_calls_become_callbacks_that_the_router_offers_to_an_agent(b: Backend) {
    let app = spawn_app_with(b, |s| s.voice.callback_queue = "Callbacks".into()).await;
    let (s, q) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "Callbacks", "channels": ["phone"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    let (_, agent) = app
        .agent(
            "callbacks@example.com",
            "agent",
            json!({"capacity": {"phone": 5}}),
        )
        .await;
    let (s, _) = app
        .put(
            "/api/v1/agents/me/presence",
            &agent,
            json!({"status": "available"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let token = app.api_token(&["voice:ingest"]).await;
    // A live call that rings and is hung up unanswered (CTI, one record at a time).
    cti(
        &app,
        &token,
        event("newCall", "m-1", "09121110000", json!({})),
    )
    .await;
    let (s, body) = cti(
        &app,
        &token,
        event("hangup", "m-1", "09121110000", json!({"cause": "noAnswer"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // A missed call from a PBX log upload (the batched path).
    let log = "\"\",\"09122220000\",\"101\",\"from-trunk\",\"\"\"X\"\" <09122220000>\",\"PJSIP/trunk-1\",\
               \"PJSIP/101-1\",\"Dial\",\"PJSIP/101,30\",\"2025-03-01 12:00:00\",\"\",\"2025-03-01 12:00:20\",20,0,\
               \"NO ANSWER\",\"DOCUMENTATION\",\"cb.1\",\"\"\n";
    let resp = app
        .client
        .post(app.url("/api/v1/channels/voice/records?format=asterisk"))
        .bearer_auth(&token)
        .body(log)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (_, queued) = app
        .get(
            &format!("/api/v1/conversations?queue={}", q["id"].as_str().unwrap()),
            &app.admin_token,
        )
        .await;
    let queued: Vec<String> = queued["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        queued.len(),
        2,
        "both callbacks are in the queue: {queued:?}"
    );
    switchboard::routing::run_once(&app.state, switchboard::store::now_ms())
        .await
        .unwrap();
    let (_, offers) = app.get("/api/v1/offers", &agent).await;
    let mut offered: Vec<String> = offers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["conversation_id"].as_str().unwrap().to_string())
        .collect();
    offered.sort();
    let mut expected = queued.clone();
    expected.sort();
    assert_eq!(
        offered, expected,
        "the router offers callbacks like any other work"
    );
}

crate::storage_tests!(
    missed_calls_become_callbacks_that_the_router_offers_to_an_agent,
    cti_events_pop_the_customer_and_a_missed_call_opens_a_callback,
    cti_accepts_form_data_and_fax_events_and_refuses_bad_tokens,
    calls_without_hangup_are_closed_by_the_timeout,
    a_call_rung_on_one_node_is_closed_on_another,
);
