//! Routing: offers to eligible agents, accept/decline/timeout, capacity, VIP priority,
//! auto-accept queues, offline agents, stats and the console socket.
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use switchboard::routing::{run_once, OFFER_TIMEOUT_MS};
use switchboard::store::now_ms;

#[path = "routing_support.rs"]
mod support;
use support::*;

#[path = "routing_console.rs"]
mod console;
#[path = "routing_restart.rs"]
mod restart;
#[path = "routing_rules.rs"]
mod rules;
#[path = "routing_scale.rs"]
mod scale;
#[path = "routing_sla.rs"]
mod sla;
#[path = "routing_stats.rs"]
mod stats;

async fn a_queued_conversation_is_offered_to_the_eligible_agent_and_accepting_assigns_it(
    b: Backend,
) {
    let app = spawn_app(b).await;
    let q = queue(
        &app,
        json!({"name": "Billing", "skills": ["billing"], "language": "fa"}),
    )
    .await;
    let cap = json!({"api": 2});
    let (a_id, a) = agent_with(
        &app,
        "a@example.com",
        json!({"skills": ["billing"], "languages": ["fa"], "capacity": cap}),
        "available",
    )
    .await;
    let (_, unskilled) = agent_with(
        &app,
        "b@example.com",
        json!({"skills": ["sales"], "languages": ["fa"], "capacity": cap}),
        "available",
    )
    .await;
    let (_, english) = agent_with(
        &app,
        "c@example.com",
        json!({"skills": ["billing"], "languages": ["en"], "capacity": cap}),
        "available",
    )
    .await;
    let (_, away) = agent_with(
        &app,
        "d@example.com",
        json!({"skills": ["billing"], "languages": ["fa"], "capacity": cap}),
        "away",
    )
    .await;
    let conv = queued(&app, "sara@example.com", &q).await;
    let offer = wait_offers(&app, &a, 1).await.remove(0);
    assert_eq!(offer["conversation_id"], conv.as_str());
    assert_eq!(offer["status"], "offered");
    for other in [&unskilled, &english, &away] {
        assert!(
            offers(&app, other).await.is_empty(),
            "ineligible agent got an offer"
        );
    }
    let id = offer["id"].as_str().unwrap();
    let (s, _) = app
        .post(
            &format!("/api/v1/offers/{id}/accept"),
            &unskilled,
            json!({}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "someone else's offer is not visible"
    );
    let (s, c) = app
        .post(&format!("/api/v1/offers/{id}/accept"), &a, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["assignee_id"], a_id.as_str());
    let (s, body) = app
        .post(&format!("/api/v1/offers/{id}/accept"), &a, json!({}))
        .await;
    assert_error(s, &body, StatusCode::CONFLICT, "conflict");
    let kinds = history(&app, &conv).await;
    assert!(
        kinds.ends_with(&["offered".into(), "assigned".into()]),
        "{kinds:?}"
    );
    assert!(offers(&app, &a).await.is_empty());
    assert_invariants(&app).await;
}

async fn declining_an_offer_hands_the_conversation_to_the_next_agent(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Support"})).await;
    let cap = json!({"capacity": {"api": 1}});
    let (x_id, x) = agent_with(&app, "x@example.com", cap.clone(), "available").await;
    let (y_id, y) = agent_with(&app, "y@example.com", cap, "available").await;
    let conv = queued(&app, "reza@example.com", &q).await;
    let (first, second) = loop {
        if let Some(o) = offers(&app, &x).await.pop() {
            break ((x.clone(), x_id.clone(), o), (y.clone(), y_id.clone()));
        }
        if let Some(o) = offers(&app, &y).await.pop() {
            break ((y.clone(), y_id.clone(), o), (x.clone(), x_id.clone()));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let (tok, _, offer) = first;
    let id = offer["id"].as_str().unwrap();
    let place = enqueued_at(&app, &conv).await;
    assert!(place.is_some());
    let (s, declined) = app
        .post(&format!("/api/v1/offers/{id}/decline"), &tok, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{declined}");
    assert_eq!(declined["status"], "declined");
    let next = wait_offers(&app, &second.0, 1).await.remove(0);
    assert_eq!(
        enqueued_at(&app, &conv).await,
        place,
        "back at its original place"
    );
    assert_eq!(next["conversation_id"], conv.as_str());
    assert!(
        offers(&app, &tok).await.is_empty(),
        "the decliner is not asked again while another agent is eligible"
    );
    let (s, body) = app
        .post(&format!("/api/v1/offers/{id}/decline"), &tok, json!({}))
        .await;
    assert_error(s, &body, StatusCode::CONFLICT, "conflict");
    let nid = next["id"].as_str().unwrap();
    let (s, c) = app
        .post(
            &format!("/api/v1/offers/{nid}/accept"),
            &second.0,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["assignee_id"], second.1.as_str());
    let kinds = history(&app, &conv).await;
    assert!(
        kinds.ends_with(&[
            "offered".into(),
            "offer_declined".into(),
            "offered".into(),
            "assigned".into()
        ]),
        "{kinds:?}"
    );
}

async fn an_offer_that_times_out_is_offered_elsewhere_and_the_history_shows_it(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Support"})).await;
    let cap = json!({"capacity": {"api": 1}});
    let (x_id, x) = agent_with(&app, "x@example.com", cap.clone(), "available").await;
    let (y_id, y) = agent_with(&app, "y@example.com", cap, "available").await;
    let conv = queued(&app, "reza@example.com", &q).await;
    let c = wait_conversation(&app, &conv, |c| {
        c["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["kind"] == "offered")
    })
    .await;
    let first = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "offered")
        .unwrap()["data"]["agent_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (late, other, other_id) = if first == x_id {
        (&x, &y, &y_id)
    } else {
        (&y, &x, &x_id)
    };
    let stale = offers(&app, late).await.remove(0);
    let report = run_once(&app.state, now_ms() + OFFER_TIMEOUT_MS + 1_000)
        .await
        .unwrap();
    assert_eq!(report.expired, 1, "{report:?}");
    assert_eq!(
        report.applied.len(),
        1,
        "re-offered in the same pass: {report:?}"
    );
    let sid = stale["id"].as_str().unwrap();
    let (s, body) = app
        .post(&format!("/api/v1/offers/{sid}/accept"), late, json!({}))
        .await;
    assert_error(s, &body, StatusCode::CONFLICT, "conflict");
    assert!(
        body["error"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    let (s, c) = app
        .get(&format!("/api/v1/conversations/{conv}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK);
    let offered: Vec<_> = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] == "offered")
        .collect();
    assert_eq!(offered.len(), 2, "{c}");
    assert_eq!(offered[1]["data"]["agent_id"], other_id.as_str());
    let kinds = history(&app, &conv).await;
    assert!(
        kinds.ends_with(&["offered".into(), "offer_expired".into(), "offered".into()]),
        "{kinds:?}"
    );
    let _ = other;
    assert_invariants(&app).await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("switchboard_routing_offers_closed_total{status=\"expired\"}"),
        "expiry counted"
    );
}

async fn capacity_is_never_exceeded_with_twenty_conversations_and_two_agents(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Support"})).await;
    let cap = json!({"capacity": {"api": 2}});
    let (_, x) = agent_with(&app, "x@example.com", cap.clone(), "available").await;
    let (_, y) = agent_with(&app, "y@example.com", cap, "available").await;
    let mut convs = Vec::new();
    for i in 0..20 {
        convs.push(queued(&app, &format!("c{i}@example.com"), &q).await);
    }
    let mut served = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while served < 20 {
        assert!(std::time::Instant::now() < deadline, "only {served} served");
        assert_invariants(&app).await;
        for tok in [&x, &y] {
            for o in offers(&app, tok).await {
                let id = o["id"].as_str().unwrap();
                let (s, c) = app
                    .post(&format!("/api/v1/offers/{id}/accept"), tok, json!({}))
                    .await;
                assert_eq!(s, StatusCode::OK, "{c}");
                assert_invariants(&app).await;
                let cid = c["id"].as_str().unwrap();
                let (s, r) = app
                    .patch(
                        &format!("/api/v1/conversations/{cid}"),
                        tok,
                        json!({"status": "resolved"}),
                    )
                    .await;
                assert_eq!(s, StatusCode::OK, "{r}");
                served += 1;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(assigned_twice(&app).await.is_empty());
    assert_invariants(&app).await;
}

async fn an_offline_agents_unaccepted_work_returns_to_the_queue(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Support"})).await;
    let (_, x) = agent_with(
        &app,
        "x@example.com",
        json!({"capacity": {"api": 2}}),
        "available",
    )
    .await;
    let c1 = queued(&app, "one@example.com", &q).await;
    let o = wait_offers(&app, &x, 1).await.remove(0);
    let (s, _) = app
        .post(
            &format!("/api/v1/offers/{}/accept", o["id"].as_str().unwrap()),
            &x,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let c2 = queued(&app, "two@example.com", &q).await;
    let o2 = wait_offers(&app, &x, 1).await.remove(0);
    assert_eq!(o2["conversation_id"], c2.as_str());
    let place = enqueued_at(&app, &c1).await;
    assert!(place.is_some());
    set_presence(&app, &x, "offline").await;
    let (y_id, y) = agent_with(
        &app,
        "y@example.com",
        json!({"capacity": {"api": 2}}),
        "available",
    )
    .await;
    let got = wait_offers(&app, &y, 2).await;
    let mut ids: Vec<_> = got
        .iter()
        .map(|o| o["conversation_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    let mut want = vec![c1.clone(), c2.clone()];
    want.sort();
    assert_eq!(ids, want);
    assert!(history(&app, &c1).await.contains(&"requeued".to_string()));
    assert_eq!(
        enqueued_at(&app, &c1).await,
        place,
        "requeued at its original place"
    );
    assert!(history(&app, &c2)
        .await
        .contains(&"offer_withdrawn".to_string()));
    let (s, c) = app
        .post(
            &format!("/api/v1/offers/{}/accept", got[0]["id"].as_str().unwrap()),
            &y,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["assignee_id"], y_id.as_str());
    assert_invariants(&app).await;
}

crate::storage_tests!(
    a_queued_conversation_is_offered_to_the_eligible_agent_and_accepting_assigns_it,
    declining_an_offer_hands_the_conversation_to_the_next_agent,
    an_offer_that_times_out_is_offered_elsewhere_and_the_history_shows_it,
    capacity_is_never_exceeded_with_twenty_conversations_and_two_agents,
    an_offline_agents_unaccepted_work_returns_to_the_queue,
);
