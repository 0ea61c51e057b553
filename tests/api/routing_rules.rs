//! Routing rules beyond the basics: VIP priority, auto-accept queues, SLA deadlines, sticky
//! agents, offer privacy (breaches: `routing_sla.rs`).
use super::support::*;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use switchboard::routing::run_once;
use switchboard::store::now_ms;

/// The agent a conversation was first offered to, once it has been offered.
async fn offered_agent(app: &TestApp, id: &str) -> String {
    let offered = |c: &serde_json::Value| {
        c["history"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["kind"] == "offered")
            .cloned()
    };
    let c = wait_conversation(app, id, |c| offered(c).is_some()).await;
    offered(&c).unwrap()["data"]["agent_id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn a_returning_customer_is_offered_to_their_last_agent(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Support"})).await;
    let cap = json!({"capacity": {"api": 3}});
    let (x_id, x) = agent_with(&app, "x@example.com", cap.clone(), "available").await;
    let (y_id, y) = agent_with(&app, "y@example.com", cap, "available").await;
    let first = queued(&app, "loyal@example.com", &q).await;
    let who = offered_agent(&app, &first).await;
    let tok = if who == x_id { &x } else { &y };
    let offer = wait_offers(&app, tok, 1).await.remove(0);
    let (s, _) = app
        .post(
            &format!("/api/v1/offers/{}/accept", offer["id"].as_str().unwrap()),
            tok,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .patch(
            &format!("/api/v1/conversations/{first}"),
            tok,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // The other agent has been idle longer, so without stickiness it would be chosen.
    let again = queued(&app, "loyal@example.com", &q).await;
    assert_eq!(offered_agent(&app, &again).await, who, "sticky agent first");
    // A new customer goes to the agent idle the longest.
    let other = queued(&app, "new@example.com", &q).await;
    let c = wait_conversation(&app, &other, |c| {
        c["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["kind"] == "offered")
    })
    .await;
    let offered = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "offered")
        .unwrap();
    let expected = if who == x_id { &y_id } else { &x_id };
    assert_eq!(offered["data"]["agent_id"], expected.as_str());
}

async fn offers_are_private_to_their_agent_and_refuse_bad_requests(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Support"})).await;
    let (_, x) = agent_with(
        &app,
        "x@example.com",
        json!({"capacity": {"api": 1}}),
        "available",
    )
    .await;
    let (_, nosy) = app.agent("nosy@example.com", "agent", json!({})).await;
    let conv = queued(&app, "one@example.com", &q).await;
    let offer = wait_offers(&app, &x, 1).await.remove(0);
    let id = offer["id"].as_str().unwrap();
    let (s, body) = app.call("GET", "/api/v1/offers", None, None).await;
    assert_error(s, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let api = app.api_token(&["*"]).await;
    let (s, body) = app.get("/api/v1/offers", &api).await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, body) = app
        .post(&format!("/api/v1/offers/{id}/accept"), &api, json!({}))
        .await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, body) = app
        .post("/api/v1/offers/no-such-offer/accept", &x, json!({}))
        .await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
    for action in ["accept", "decline"] {
        let (s, body) = app
            .post(&format!("/api/v1/offers/{id}/{action}"), &nosy, json!({}))
            .await;
        assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
    }
    assert!(offers(&app, &nosy).await.is_empty());
    // Resolved before the agent answered: the offer cannot be accepted and is withdrawn.
    let (s, _) = app
        .patch(
            &format!("/api/v1/conversations/{conv}"),
            &app.admin_token,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = app
        .post(&format!("/api/v1/offers/{id}/accept"), &x, json!({}))
        .await;
    assert_error(s, &body, StatusCode::CONFLICT, "conflict");
    let c = wait_conversation(&app, &conv, |c| {
        c["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["kind"] == "offer_withdrawn")
    })
    .await;
    assert!(c["assignee_id"].is_null(), "{c}");
    assert!(offers(&app, &x).await.is_empty());
}

async fn vip_customers_are_served_first(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Support"})).await;
    let (_, x) = agent_with(
        &app,
        "x@example.com",
        json!({"capacity": {"api": 1}}),
        "away",
    )
    .await;
    for i in 0..3 {
        queued(&app, &format!("n{i}@example.com"), &q).await;
    }
    let (s, vip) = app.post("/api/v1/customers", &app.admin_token, json!({"name": "Big", "tier": "vip", "identities": [{"kind": "email", "value": "vip@example.com"}]})).await;
    assert_eq!(s, StatusCode::CREATED, "{vip}");
    let c = app
        .conversation(
            &app.admin_token,
            "vip@example.com",
            "Urgent",
            json!({"queue_id": q}),
        )
        .await;
    assert_eq!(c["customer_id"], vip["id"]);
    set_presence(&app, &x, "available").await;
    let o = wait_offers(&app, &x, 1).await;
    assert_eq!(
        o[0]["conversation_id"], c["id"],
        "the VIP, though last, is offered first"
    );
    let (s, due) = app
        .get(
            &format!("/api/v1/conversations/{}", c["id"].as_str().unwrap()),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (vip_due,): (Option<i64>,) =
        sqlx::query_as("SELECT first_response_due - created_at FROM conversations WHERE id = $1")
            .bind(due["id"].as_str().unwrap())
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    assert_eq!(
        vip_due,
        Some(app.state.settings.routing.vip_first_response_minutes * 60_000)
    );
}

async fn an_auto_accept_queue_assigns_directly(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Mail", "auto_accept": true})).await;
    let (x_id, x) = agent_with(
        &app,
        "x@example.com",
        json!({"capacity": {"api": 5}}),
        "available",
    )
    .await;
    let conv = queued(&app, "m@example.com", &q).await;
    let c = wait_conversation(&app, &conv, |c| !c["assignee_id"].is_null()).await;
    assert_eq!(c["assignee_id"], x_id.as_str());
    assert!(offers(&app, &x).await.is_empty(), "no offer step");
    let kinds = history(&app, &conv).await;
    assert!(
        kinds.contains(&"assigned".to_string()) && !kinds.contains(&"offered".to_string()),
        "{kinds:?}"
    );
}

async fn a_call_in_progress_blocks_new_chats_until_it_ends(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Chat"})).await;
    let (agent_id, agent) = agent_with(
        &app,
        "busy@example.com",
        json!({"capacity": {"phone": 1, "chat": 3}, "blocks": {"phone": ["chat"]}}),
        "available",
    )
    .await;
    let (_, one) = app
        .get(&format!("/api/v1/agents/{agent_id}"), &app.admin_token)
        .await;
    assert_eq!(one["blocks"], json!({"phone": ["chat"]}));
    // On a call.
    let call = app
        .conversation(
            &app.admin_token,
            "caller@example.com",
            "Call",
            json!({"channel": "phone"}),
        )
        .await;
    let call_id = call["id"].as_str().unwrap();
    let (s, body) = assign(&app, call_id, &agent_id).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let chat = app
        .conversation(
            &app.admin_token,
            "visitor@example.com",
            "Chat",
            json!({"channel": "chat", "queue_id": q}),
        )
        .await;
    let chat_id = chat["id"].as_str().unwrap().to_string();
    run_once(&app.state, now_ms()).await.unwrap();
    assert!(
        offers(&app, &agent).await.is_empty(),
        "no chat offered during the call"
    );
    let (s, body) = assign(&app, &chat_id, &agent_id).await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "manual assignment obeys it too: {body}"
    );
    // The call ends: the chat is offered.
    let (s, _) = app
        .patch(
            &format!("/api/v1/conversations/{call_id}"),
            &app.admin_token,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    run_once(&app.state, now_ms()).await.unwrap();
    let offered = wait_offers(&app, &agent, 1).await;
    assert_eq!(offered[0]["conversation_id"], chat_id.as_str());
}

async fn queues_can_set_their_own_sla_targets(b: Backend) {
    let app = spawn_app(b).await;
    let fast = queue(
        &app,
        json!({"name": "Fast", "first_response_minutes": 2, "resolution_hours": 1}),
    )
    .await;
    let normal = queue(&app, json!({"name": "Normal"})).await;
    let (s, q) = app
        .get(&format!("/api/v1/queues/{fast}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            q["first_response_minutes"].as_i64(),
            q["resolution_hours"].as_i64()
        ),
        (Some(2), Some(1))
    );
    let (s, body) = app
        .patch(
            &format!("/api/v1/queues/{normal}"),
            &app.admin_token,
            json!({"resolution_hours": -1}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_sla");
    let a = queued(&app, "fast@example.com", &fast).await;
    let n = queued(&app, "normal@example.com", &normal).await;
    run_once(&app.state, now_ms()).await.unwrap();
    let due = |id: String| {
        let app = &app;
        async move {
            let row: (Option<i64>, Option<i64>) = sqlx::query_as(
                "SELECT first_response_due - COALESCE(enqueued_at, created_at), resolution_due - created_at \
                 FROM conversations WHERE id = $1",
            )
            .bind(id)
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
            row
        }
    };
    assert_eq!(
        due(a).await,
        (Some(2 * 60_000), Some(3_600_000)),
        "the queue's own targets"
    );
    let r = &app.state.settings.routing;
    assert_eq!(
        due(n).await,
        (
            Some(r.first_response_minutes * 60_000),
            Some(r.resolution_hours * 3_600_000)
        ),
        "the [routing] settings"
    );
    // 0 clears a queue's target.
    let (s, q) = app
        .patch(
            &format!("/api/v1/queues/{fast}"),
            &app.admin_token,
            json!({"first_response_minutes": 0}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(q["first_response_minutes"].is_null());
    assert_eq!(q["resolution_hours"], 1);
}

async fn email_stays_with_an_offline_agent_unless_the_queue_says_otherwise(b: Backend) {
    let app = spawn_app(b).await;
    let keep = queue(&app, json!({"name": "Mail", "auto_accept": true})).await;
    let give_back = queue(
        &app,
        json!({"name": "Mail 2", "auto_accept": true, "requeue_email_when_offline": true}),
    )
    .await;
    let (agent_id, agent) = agent_with(
        &app,
        "mail@example.com",
        json!({"capacity": {"email": 5}}),
        "available",
    )
    .await;
    let mut ids = Vec::new();
    for (q, who) in [(&keep, "a@example.com"), (&give_back, "b@example.com")] {
        let c = app
            .conversation(
                &app.admin_token,
                who,
                "Mail",
                json!({"channel": "email", "queue_id": q}),
            )
            .await;
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    run_once(&app.state, now_ms()).await.unwrap();
    for id in &ids {
        let (_, c) = app
            .get(&format!("/api/v1/conversations/{id}"), &app.admin_token)
            .await;
        assert_eq!(c["assignee_id"], agent_id.as_str(), "auto-accepted: {c}");
    }
    set_presence(&app, &agent, "offline").await;
    run_once(&app.state, now_ms()).await.unwrap();
    let (_, kept) = app
        .get(
            &format!("/api/v1/conversations/{}", ids[0]),
            &app.admin_token,
        )
        .await;
    assert_eq!(
        kept["assignee_id"],
        agent_id.as_str(),
        "email stays assigned"
    );
    let (_, back) = app
        .get(
            &format!("/api/v1/conversations/{}", ids[1]),
            &app.admin_token,
        )
        .await;
    assert!(
        back["assignee_id"].is_null(),
        "this queue takes email back: {back}"
    );
}

async fn manual_assignment_counts_outstanding_offers_against_capacity(b: Backend) {
    let app = spawn_app(b).await;
    let q = queue(&app, json!({"name": "Chat"})).await;
    let (agent_id, agent) = agent_with(
        &app,
        "one@example.com",
        json!({"capacity": {"chat": 1}}),
        "available",
    )
    .await;
    let offered = app
        .conversation(
            &app.admin_token,
            "a@example.com",
            "A",
            json!({"channel": "chat", "queue_id": q}),
        )
        .await;
    run_once(&app.state, now_ms()).await.unwrap();
    let o = wait_offers(&app, &agent, 1).await;
    assert_eq!(o[0]["conversation_id"], offered["id"]);
    let other = app
        .conversation(
            &app.admin_token,
            "b@example.com",
            "B",
            json!({"channel": "chat"}),
        )
        .await;
    let (s, body) = app
        .post(
            &format!(
                "/api/v1/conversations/{}/assign",
                other["id"].as_str().unwrap()
            ),
            &app.admin_token,
            json!({"agent_id": agent_id}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "the offer holds the only chat slot: {body}"
    );
    // Assigning the offered conversation itself does not count its own offer.
    let (s, body) = app
        .post(
            &format!(
                "/api/v1/conversations/{}/assign",
                offered["id"].as_str().unwrap()
            ),
            &app.admin_token,
            json!({"agent_id": agent_id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

crate::storage_tests!(
    manual_assignment_counts_outstanding_offers_against_capacity,
    email_stays_with_an_offline_agent_unless_the_queue_says_otherwise,
    queues_can_set_their_own_sla_targets,
    a_call_in_progress_blocks_new_chats_until_it_ends,
    vip_customers_are_served_first,
    an_auto_accept_queue_assigns_directly,
    a_returning_customer_is_offered_to_their_last_agent,
    offers_are_private_to_their_agent_and_refuse_bad_requests,
);
