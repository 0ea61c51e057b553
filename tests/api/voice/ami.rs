//! The AMI worker against a scripted Asterisk: ringing pop-ups, answered and missed calls,
//! queue waits, transfers, reconnection, a refused secret, one node per PBX, and a call
//! reported by AMI then by its CDR stored once.

use super::ami_server::{blocks, until, AmiServer};
use super::{conversations_of, customer_by_phone, detail, upload};
use crate::console::socket::{connect, next_event, next_matching};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use switchboard::bus::Event;
use switchboard::settings::Settings;
use tokio::sync::broadcast::Receiver;

pub(super) const SECRET: &str = "s3cret";

pub(super) fn pbx_settings(s: &mut Settings, server: &AmiServer, secret: &str) {
    s.voice.ami_url = server.url(secret).into();
    s.voice.ami_lease_secs = 2;
    s.voice.ami_max_backoff_secs = 1;
    s.voice.pbx_utc_offset_secs = 0;
}

pub(super) async fn pbx_app(b: Backend, server: &AmiServer) -> TestApp {
    spawn_app_with(b, |s| pbx_settings(s, server, SECRET)).await
}

/// Wait until the server records its PBX link as connected.
pub(super) async fn wait_connected(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, links) = app
            .get("/api/v1/channels/voice/pbx", &app.admin_token)
            .await;
        if links[0]["state"] == "connected" {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the PBX link: {links}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every phone entry of the customer with this number, once there are `n` (10 s at most).
pub(super) async fn entries(app: &TestApp, e164: &str, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let q = e164.replace('+', "%2B");
        let (_, page) = app
            .get(&format!("/api/v1/customers?q={q}"), &app.admin_token)
            .await;
        let mut out = Vec::new();
        if page["items"].as_array().is_some_and(|i| !i.is_empty()) {
            let customer = customer_by_phone(app, e164).await;
            for c in conversations_of(app, customer["id"].as_str().unwrap(), "").await {
                let d = detail(app, &c["id"]).await;
                out.extend(
                    d["messages"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .cloned()
                        .map(|mut m| {
                            m["conversation"] = c.clone();
                            m
                        }),
                );
            }
        }
        if out.len() >= n {
            return out;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {n} entries for {e164}: {out:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Events of `kind` received until one of `until` arrives (10 s at most).
async fn collect(rx: &mut Receiver<Arc<Event>>, kind: &str, until: &str) -> usize {
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut n = 0;
        loop {
            let ev = rx.recv().await.expect("bus open");
            n += usize::from(ev.kind == kind);
            if ev.kind == until {
                return n;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {until} within 10 s"))
}

async fn an_inbound_call_pops_up_for_the_agent_then_is_one_answered_entry(b: Backend) {
    let server = AmiServer::start(SECRET).await;
    let app = pbx_app(b, &server).await;
    let (agent_id, token) = app
        .agent("ext201@example.com", "agent", json!({"extension": "201"}))
        .await;
    let mut ws = connect(&app.base, &token).await;
    server.wait_sessions(1).await;
    let all = blocks("inbound_answered.ami");
    let (ringing, rest) = until(&all, "DialBegin", 1);
    server.send_all(&ringing);
    let ev = next_event(&mut ws, "call.ringing").await;
    assert_eq!(ev["data"]["agent_ids"], json!([agent_id]), "{ev}");
    assert_eq!(ev["data"]["from"], "+989121234567", "{ev}");
    assert_eq!(ev["data"]["source"], "ami", "{ev}");
    let sara = customer_by_phone(&app, "+989121234567").await;
    assert_eq!(
        ev["customer_id"], sara["id"],
        "the pop-up names the caller: {ev}"
    );
    assert_eq!(sara["name"], "Sara Ahmadi");

    server.send_all(&rest);
    let busy = next_matching(&mut ws, |v| v["kind"] == "agent.phone_changed").await;
    assert_eq!(busy["data"]["on_phone"], true, "{busy}");
    let ended = next_event(&mut ws, "call.ended").await;
    assert_eq!(ended["data"]["disposition"], "answered", "{ended}");
    let free = next_event(&mut ws, "agent.phone_changed").await;
    assert_eq!(free["data"]["on_phone"], false, "{free}");
    let calls = entries(&app, "+989121234567", 1).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(call["body"], "Inbound call, answered, 2m00s");
    assert_eq!(call["external_id"], "ami:default:1740812400.1");
    assert_eq!(call["meta"]["source"], "ami");
    assert_eq!(call["meta"]["billsec"], 120);
    assert_eq!(call["meta"]["agent_id"], agent_id.as_str());
    assert_eq!(call["meta"]["to"], "+982133445566");
    let started = call["meta"]["started_at"].as_str().unwrap();
    assert!(
        started.starts_with("2025-03-01T07:00:00"),
        "the PBX's own time: {started}"
    );
    assert_eq!(call["conversation"]["status"], "resolved");
}

async fn a_call_abandoned_in_a_queue_is_a_missed_call_with_its_wait_and_a_callback(b: Backend) {
    let server = AmiServer::start(SECRET).await;
    let app = pbx_app(b, &server).await;
    let (agent_id, token) = app
        .agent("ali@example.com", "agent", json!({"extension": "201"}))
        .await;
    let mut ws = connect(&app.base, &token).await;
    server.wait_sessions(1).await;
    server.send_all(&blocks("queue_abandoned.ami"));
    let ev = next_event(&mut ws, "call.ringing").await;
    assert_eq!(
        ev["data"]["agent_ids"],
        json!([agent_id]),
        "the queue member's phone rang: {ev}"
    );
    assert_eq!(ev["data"]["from"], "+989351112233");
    let calls = entries(&app, "+989351112233", 1).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(call["meta"]["disposition"], "no_answer", "{call}");
    assert_eq!(
        call["meta"]["cause"], "abandoned in queue 400, waited 25s",
        "{call}"
    );
    assert!(
        call["body"]
            .as_str()
            .unwrap()
            .contains("abandoned in queue 400, waited 25s"),
        "{call}"
    );
    let conv = &call["conversation"];
    assert_eq!(conv["status"], "open", "a callback to make: {conv}");
    assert!(
        conv["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "callback"),
        "{conv}"
    );
}

async fn a_queue_call_pops_up_for_the_member_and_carries_its_wait_and_talk_time(b: Backend) {
    let server = AmiServer::start(SECRET).await;
    let app = pbx_app(b, &server).await;
    let (agent_id, token) = app
        .agent("ali@example.com", "agent", json!({"extension": "201"}))
        .await;
    let mut ws = connect(&app.base, &token).await;
    server.wait_sessions(1).await;
    server.send_all(&blocks("queue_answered.ami"));
    let ev = next_event(&mut ws, "call.ringing").await;
    assert_eq!(ev["data"]["agent_ids"], json!([agent_id]), "{ev}");
    assert_eq!(ev["data"]["queue"], "400", "{ev}");
    let answered = next_event(&mut ws, "call.answered").await;
    assert_eq!(answered["agent_id"], agent_id.as_str(), "{answered}");
    let calls = entries(&app, "+989127654321", 1).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(call["body"], "Inbound call, answered, 1m35s", "{call}");
    assert_eq!(call["meta"]["agent_id"], agent_id.as_str());
    assert_eq!(call["meta"]["cause"], "queue 400, waited 12s", "{call}");
    assert_eq!(call["meta"]["billsec"], 95);
}

async fn an_attended_transfer_is_one_entry_naming_both_agents(b: Backend) {
    let server = AmiServer::start(SECRET).await;
    let app = pbx_app(b, &server).await;
    let (first, _) = app
        .agent("ali@example.com", "agent", json!({"extension": "201"}))
        .await;
    app.agent("reza@example.com", "agent", json!({"extension": "202"}))
        .await;
    server.wait_sessions(1).await;
    let mut rx = app.state.bus.subscribe();
    server.send_all(&blocks("attended_transfer.ami"));
    assert_eq!(
        collect(&mut rx, "call.ringing", "call.ended").await,
        1,
        "only the customer's call popped up"
    );
    let calls = entries(&app, "+989121234567", 1).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(call["meta"]["disposition"], "answered");
    assert_eq!(call["meta"]["agent_id"], first.as_str(), "answered by 201");
    assert_eq!(call["meta"]["cause"], "transferred to 202");
    assert_eq!(
        call["meta"]["billsec"], 176,
        "talk time through the transfer"
    );
    // The consultation call between the two extensions is no customer contact.
    let (_, phone) = app
        .get("/api/v1/conversations?channel=phone", &app.admin_token)
        .await;
    assert_eq!(phone["items"].as_array().unwrap().len(), 1, "{phone}");
}

async fn a_connection_cut_mid_event_reconnects_and_stores_nothing_twice(b: Backend) {
    let server = AmiServer::start(SECRET).await;
    let app = pbx_app(b, &server).await;
    let (agent_id, _) = app
        .agent("ext201@example.com", "agent", json!({"extension": "201"}))
        .await;
    server.wait_sessions(1).await;
    let mut rx = app.state.bus.subscribe();
    let all = blocks("inbound_answered.ami");
    let (ringing, rest) = until(&all, "DialBegin", 1);
    server.send_all(&ringing);
    // Half of the next event, then the PBX goes away.
    let (_, after) = until(&all, "DeviceStateChange", 1);
    let half = &after[0][..after[0].len() / 2];
    server.send(half);
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.drop_sessions();
    server.wait("a new login", |s| s.logins().0 == 2).await;
    server.wait_sessions(1).await;
    // The PBX side repeats the last event it sent before the cut, then goes on.
    let replay = [ringing.last().unwrap().clone()];
    server.send_all(&replay);
    server.send_all(&rest);
    assert_eq!(
        collect(&mut rx, "call.ringing", "call.ended").await,
        1,
        "one pop-up"
    );
    let calls = entries(&app, "+989121234567", 1).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["meta"]["agent_id"], agent_id.as_str());
    assert_eq!(calls[0]["meta"]["billsec"], 120);
}

async fn a_refused_secret_is_reported_and_retried_slowly(b: Backend) {
    let server = AmiServer::start("the right one").await;
    let app = spawn_app_with(b, |s| {
        pbx_settings(s, &server, "wrong");
        s.voice.ami_auth_retry_secs = 60;
    })
    .await;
    server.wait("a refused login", |s| s.logins().1 == 1).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let link = loop {
        let (s, links) = app
            .get("/api/v1/channels/voice/pbx", &app.admin_token)
            .await;
        assert_eq!(s, StatusCode::OK, "{links}");
        if links[0]["state"] == "auth_failed" || tokio::time::Instant::now() > deadline {
            break links[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(link["name"], "default");
    assert_eq!(link["state"], "auth_failed", "{link}");
    assert_eq!(link["detail"], "Authentication failed", "{link}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(server.logins(), (0, 1), "not retried at once");
    let (s, _) = app.get("/healthz", &app.admin_token).await;
    assert_eq!(s, StatusCode::OK, "the server carries on");
    let (_, agent) = app.agent("a@example.com", "agent", json!({})).await;
    let (s, body) = app.get("/api/v1/channels/voice/pbx", &agent).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
}

async fn one_node_follows_the_pbx_and_another_takes_over_where_it_stopped(b: Backend) {
    let server = AmiServer::start(SECRET).await;
    // A lease long enough that a busy test machine never lets it lapse by accident.
    let settings = |s: &mut Settings| {
        pbx_settings(s, &server, SECRET);
        s.voice.ami_lease_secs = 6;
    };
    let a = spawn_app_with(b, settings).await;
    let node_b = spawn_on(&a.database_url, a._dir.clone(), settings).await;
    a.agent("ext201@example.com", "agent", json!({"extension": "201"}))
        .await;
    server.wait_sessions(1).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        (server.sessions(), server.logins().0),
        (1, 1),
        "only one node follows the PBX"
    );
    let nodes = [&a, &node_b];
    let (holder,): (String,) =
        sqlx::query_as("SELECT holder FROM voice_pbx_links WHERE name = 'default'")
            .fetch_one(a.state.store.pool())
            .await
            .unwrap();
    let first = nodes
        .iter()
        .position(|n| n.state.bus.node() == holder)
        .expect("a node holds it");
    let other = nodes[1 - first];
    let mut rx = [a.state.bus.subscribe(), node_b.state.bus.subscribe()];
    let all = blocks("inbound_answered.ami");
    let (ringing, rest) = until(&all, "DialBegin", 1);
    server.send_all(&ringing);
    assert_eq!(
        collect(&mut rx[first], "call.ringing", "call.ringing").await,
        1
    );
    nodes[first].stop.cancel();
    server
        .wait("the other node's login", |s| s.logins().0 == 2)
        .await;
    server.wait_sessions(1).await;
    server.send_all(&[ringing.last().unwrap().clone()]);
    server.send_all(&rest);
    let second = 1 - first;
    assert_eq!(
        collect(&mut rx[second], "call.ringing", "call.ended").await,
        0,
        "no second pop-up"
    );
    let calls = entries(other, "+989121234567", 1).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0]["meta"]["disposition"], "answered",
        "the answer seen after the takeover"
    );
    assert_eq!(calls[0]["meta"]["billsec"], 120);
}

async fn amis_follows_a_pbx_over_tls_signed_by_a_trusted_ca_only(b: Backend) {
    let pki = crate::email::tls::TestPki::new();
    let server = AmiServer::start_tls(SECRET, &pki).await;
    let app = spawn_app_with(b, |s| {
        pbx_settings(s, &server, SECRET);
        s.voice.ami_url = server.tls_url(SECRET).into();
        s.email.extra_ca_file = pki.ca().display().to_string();
    })
    .await;
    app.agent("ext201@example.com", "agent", json!({"extension": "201"}))
        .await;
    wait_connected(&app).await;
    server.send_all(&blocks("inbound_answered.ami"));
    let calls = entries(&app, "+989121234567", 1).await;
    assert_eq!(calls[0]["meta"]["disposition"], "answered");

    // Without the CA the certificate is refused: no login, the link says why.
    let untrusting = spawn_app_with(b, |s| {
        pbx_settings(s, &server, SECRET);
        s.voice.ami_url = server.tls_url(SECRET).into();
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, links) = untrusting
            .get("/api/v1/channels/voice/pbx", &untrusting.admin_token)
            .await;
        if links[0]["state"] == "unreachable" {
            let detail = links[0]["detail"].as_str().unwrap().to_lowercase();
            assert!(
                detail.contains("tls") || detail.contains("certificate"),
                "{links}"
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{links}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.logins().0, 1, "only the trusting server logged in");
}

async fn a_call_reported_by_ami_and_by_its_cdr_is_stored_once_in_either_order(b: Backend) {
    let server = AmiServer::start(SECRET).await;
    let app = pbx_app(b, &server).await;
    app.agent("ext201@example.com", "agent", json!({"extension": "201"}))
        .await;
    let token = app.api_token(&["voice:ingest"]).await;
    server.wait_sessions(1).await;
    server.send_all(&blocks("inbound_answered.ami"));
    entries(&app, "+989121234567", 1).await;
    let cdr =
        "\"\",\"09121234567\",\"201\",\"from-internal\",\"\"\"Sara Ahmadi\"\" <09121234567>\",\
               \"PJSIP/tci-00000001\",\"PJSIP/201-00000002\",\"Dial\",\"PJSIP/201,30\",\
               \"2025-03-01 07:00:00\",\"2025-03-01 07:00:06\",\"2025-03-01 07:02:06\",126,120,\
               \"ANSWERED\",\"DOCUMENTATION\",\"1740812400.1\",\"\"\n";
    let (s, report) = upload(&app, &token, "asterisk", cdr.as_bytes().to_vec()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(
        (report["stored"].as_u64(), report["merged"].as_u64()),
        (Some(0), Some(1)),
        "{report}"
    );
    let (_, again) = upload(&app, &token, "asterisk", cdr.as_bytes().to_vec()).await;
    assert_eq!(again["duplicates"], 1, "{again}");
    let calls = entries(&app, "+989121234567", 1).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["meta"]["cdr_source"], "asterisk");
    assert_eq!(calls[0]["external_id"], "ami:default:1740812400.1");

    // The other order: a queue call's CDR read first, then its AMI events complete it.
    let cdr = "\"\",\"09127654321\",\"400\",\"ext-queues\",\"\"\"Reza Karimi\"\" <09127654321>\",\
               \"PJSIP/tci-00000020\",\"Local/201@from-queue-00000007;1\",\"Queue\",\"400,t,,,300\",\
               \"2025-03-01 09:00:00\",\"2025-03-01 09:00:14\",\"2025-03-01 09:01:49\",109,95,\
               \"ANSWERED\",\"DOCUMENTATION\",\"1740819600.20\",\"\"\n";
    let (_, report) = upload(&app, &token, "asterisk", cdr.as_bytes().to_vec()).await;
    assert_eq!(report["stored"], 1, "{report}");
    let mut rx = app.state.bus.subscribe();
    server.send_all(&blocks("queue_answered.ami"));
    collect(&mut rx, "message.created", "message.updated").await;
    let calls = entries(&app, "+989127654321", 1).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["external_id"], "asterisk:1740819600.20");
    assert_eq!(
        calls[0]["meta"]["cti_call_id"], "default:1740819600.20",
        "{}",
        calls[0]
    );
}

crate::storage_tests!(
    an_inbound_call_pops_up_for_the_agent_then_is_one_answered_entry,
    a_call_abandoned_in_a_queue_is_a_missed_call_with_its_wait_and_a_callback,
    a_queue_call_pops_up_for_the_member_and_carries_its_wait_and_talk_time,
    an_attended_transfer_is_one_entry_naming_both_agents,
    a_connection_cut_mid_event_reconnects_and_stores_nothing_twice,
    a_refused_secret_is_reported_and_retried_slowly,
    one_node_follows_the_pbx_and_another_takes_over_where_it_stopped,
    a_call_reported_by_ami_and_by_its_cdr_is_stored_once_in_either_order,
    amis_follows_a_pbx_over_tls_signed_by_a_trusted_ca_only,
);
