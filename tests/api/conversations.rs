//! Conversations: creation, filters, messages, notes, status, tags, assignment and history.
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn integration_opens_a_conversation_and_the_customer_is_matched(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.api_token(&["conversations"]).await;
    let c1 = app
        .conversation(
            &token,
            "Sara@Example.com",
            "Refund",
            json!({"external_id": "crm-1"}),
        )
        .await;
    assert_eq!(c1["channel"], "api");
    assert_eq!(c1["status"], "open");
    assert!(c1["number"].as_i64().unwrap() >= 1000);
    assert_eq!(c1["messages"][0]["seq"], 1);
    assert_eq!(c1["messages"][0]["author_kind"], "customer");
    let c2 = app
        .conversation(&token, "sara@example.com", "Another", json!({}))
        .await;
    assert_eq!(
        c1["customer_id"], c2["customer_id"],
        "same normalised email, same customer"
    );
    assert_eq!(
        c2["number"].as_i64().unwrap(),
        c1["number"].as_i64().unwrap() + 1
    );
    // Re-sending the same external id does not create a second message.
    let (s, body) = app.post("/api/v1/conversations", &token, json!({"customer": {"email": "sara@example.com"}, "subject": "Refund", "body": "again", "external_id": "crm-1"})).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (_, msgs) = app
        .get(
            &format!(
                "/api/v1/conversations/{}/messages",
                body["id"].as_str().unwrap()
            ),
            &app.admin_token,
        )
        .await;
    assert_eq!(
        msgs["items"].as_array().unwrap().len(),
        0,
        "duplicate message was not stored again"
    );
}

async fn agent_replies_and_notes_are_recorded_with_history(b: Backend) {
    let app = spawn_app(b).await;
    let (agent_id, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let conv = app
        .conversation(&app.admin_token, "reza@example.com", "Help", json!({}))
        .await;
    let id = conv["id"].as_str().unwrap();
    let (s, reply) = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            &agent,
            json!({"body": "سلام، چطور کمک کنم؟"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["seq"], 2);
    assert_eq!(reply["author_id"], agent_id.as_str());
    let (s, note) = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            &agent,
            json!({"body": "VIP, be nice", "internal": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(note["internal"], true);
    let (s, updated) = app
        .patch(
            &format!("/api/v1/conversations/{id}"),
            &agent,
            json!({"status": "pending", "priority": 5, "tags": ["Billing", "urgent"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    assert_eq!(updated["status"], "pending");
    assert_eq!(updated["tags"], json!(["billing", "urgent"]));
    assert!(updated["first_response_at"].is_string());
    let (_, updated) = app
        .patch(
            &format!("/api/v1/conversations/{id}"),
            &agent,
            json!({"status": "resolved"}),
        )
        .await;
    assert!(updated["resolved_at"].is_string());
    let kinds: Vec<_> = updated["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap().to_string())
        .collect();
    // Messages are listed with the messages, not repeated in the history; notes are.
    assert!(!kinds.contains(&"message_added".to_string()), "{kinds:?}");
    for k in [
        "created",
        "note_added",
        "status_changed",
        "priority_changed",
        "tags_changed",
    ] {
        assert!(kinds.contains(&k.to_string()), "{k} missing from {kinds:?}");
    }
    let change = updated["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "priority_changed")
        .unwrap();
    assert_eq!(change["actor_kind"], "agent");
    assert_eq!(change["actor_id"], agent_id.as_str());
    assert_eq!(change["data"], json!({"from": 0, "to": 5}));
    let (s, body) = app
        .patch(
            &format!("/api/v1/conversations/{id}"),
            &agent,
            json!({"status": "sleeping"}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_status");
    let (s, body) = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            &agent,
            json!({"body": "   "}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
}

async fn list_filters_and_cursor_pagination(b: Backend) {
    let app = spawn_app(b).await;
    let (agent_id, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (_, q) = app
        .post("/api/v1/queues", &app.admin_token, json!({"name": "Sales"}))
        .await;
    let qid = q["id"].as_str().unwrap();
    let a = app
        .conversation(
            &app.admin_token,
            "a@example.com",
            "A",
            json!({"tags": ["vip"], "queue_id": qid}),
        )
        .await;
    let bconv = app
        .conversation(
            &app.admin_token,
            "b@example.com",
            "B",
            json!({"channel": "email"}),
        )
        .await;
    let c = app
        .conversation(&app.admin_token, "c@example.com", "C", json!({}))
        .await;
    let (s, _) = app
        .post(
            &format!("/api/v1/conversations/{}/assign", c["id"].as_str().unwrap()),
            &agent,
            json!({"agent_id": agent_id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    app.patch(
        &format!("/api/v1/conversations/{}", bconv["id"].as_str().unwrap()),
        &agent,
        json!({"status": "resolved"}),
    )
    .await;
    let ids = |v: &serde_json::Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let id = |v: &serde_json::Value| v["id"].as_str().unwrap().to_string();
    let (_, r) = app.get("/api/v1/conversations?tag=vip", &agent).await;
    assert_eq!(ids(&r), vec![id(&a)]);
    assert_eq!(
        r["items"][0]["tags"],
        json!(["vip"]),
        "list items carry their tags"
    );
    let (_, r) = app
        .get(&format!("/api/v1/conversations?queue={qid}"), &agent)
        .await;
    assert_eq!(ids(&r), vec![id(&a)]);
    let (_, r) = app.get("/api/v1/conversations?channel=email", &agent).await;
    assert_eq!(ids(&r), vec![id(&bconv)]);
    let (_, r) = app
        .get("/api/v1/conversations?status=resolved", &agent)
        .await;
    assert_eq!(ids(&r), vec![id(&bconv)]);
    let (_, r) = app.get("/api/v1/conversations?assignee=me", &agent).await;
    assert_eq!(ids(&r), vec![id(&c)]);
    let (_, r) = app
        .get("/api/v1/conversations?assignee=none&status=open", &agent)
        .await;
    assert_eq!(ids(&r), vec![id(&a)]);
    let (_, r) = app
        .get(
            &format!(
                "/api/v1/conversations?customer={}",
                a["customer_id"].as_str().unwrap()
            ),
            &agent,
        )
        .await;
    assert_eq!(ids(&r), vec![id(&a)]);
    // Newest first, two per page.
    let (_, p1) = app.get("/api/v1/conversations?limit=2", &agent).await;
    assert_eq!(ids(&p1), vec![id(&c), id(&bconv)]);
    let (_, p2) = app
        .get(
            &format!(
                "/api/v1/conversations?limit=2&cursor={}",
                p1["next_cursor"].as_str().unwrap()
            ),
            &agent,
        )
        .await;
    assert_eq!(ids(&p2), vec![id(&a)]);
    assert!(p2["next_cursor"].is_null());
}

async fn assignment_respects_capacity_unless_a_supervisor_overrides(b: Backend) {
    let app = spawn_app(b).await;
    let (agent_id, agent) = app
        .agent(
            "agent@example.com",
            "agent",
            json!({"capacity": {"api": 1, "chat": 2}}),
        )
        .await;
    let (_, sup) = app.agent("sup@example.com", "supervisor", json!({})).await;
    let c1 = app
        .conversation(&app.admin_token, "a@example.com", "1", json!({}))
        .await;
    let c2 = app
        .conversation(&app.admin_token, "b@example.com", "2", json!({}))
        .await;
    let assign = |c: &serde_json::Value| {
        format!("/api/v1/conversations/{}/assign", c["id"].as_str().unwrap())
    };
    let (s, r) = app
        .post(&assign(&c1), &agent, json!({"agent_id": agent_id}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["assignee_id"], agent_id.as_str());
    let (s, body) = app
        .post(&assign(&c2), &agent, json!({"agent_id": agent_id}))
        .await;
    assert_error(s, &body, StatusCode::CONFLICT, "conflict");
    assert!(body["error"].as_str().unwrap().contains("capacity"));
    let (s, _) = app
        .post(
            &assign(&c2),
            &agent,
            json!({"agent_id": agent_id, "override_capacity": true}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "plain agents cannot override capacity"
    );
    let (s, r) = app
        .post(
            &assign(&c2),
            &sup,
            json!({"agent_id": agent_id, "override_capacity": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(r["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["kind"] == "assigned" && h["data"]["override_capacity"] == true));
    // Resolving frees capacity; transfer to a queue unassigns.
    let (_, q) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "Tier 2"}),
        )
        .await;
    let (s, r) = app
        .post(&assign(&c1), &agent, json!({"queue_id": q["id"]}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(r["assignee_id"].is_null());
    assert_eq!(r["queue_id"], q["id"]);
    assert!(r["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["kind"] == "transferred"));
    let (s, _) = app
        .post(&assign(&c1), &agent, json!({"agent_id": "nobody"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .post(
            &assign(&c1),
            &agent,
            json!({"agent_id": agent_id, "queue_id": q["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn concurrent_assignments_never_exceed_capacity(b: Backend) {
    let app = spawn_app(b).await;
    let (agent_id, agent) = app
        .agent(
            "agent@example.com",
            "agent",
            json!({"capacity": {"api": 3}}),
        )
        .await;
    let mut convs = Vec::new();
    for i in 0..10 {
        convs.push(
            app.conversation(
                &app.admin_token,
                &format!("c{i}@example.com"),
                "x",
                json!({}),
            )
            .await,
        );
    }
    let futures = convs.iter().map(|c| {
        let path = format!("/api/v1/conversations/{}/assign", c["id"].as_str().unwrap());
        let app = &app;
        let agent = agent.clone();
        let agent_id = agent_id.clone();
        async move {
            app.post(&path, &agent, json!({"agent_id": agent_id}))
                .await
                .0
        }
    });
    let statuses = futures::future::join_all(futures).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 3, "{statuses:?}");
    let (_, mine) = app.get("/api/v1/conversations?assignee=me", &agent).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 3);
}

async fn concurrent_contacts_from_a_new_address_make_one_customer(b: Backend) {
    let app = spawn_app(b).await;
    let requests = (0..8).map(|i| {
        let app = &app;
        async move {
            app.conversation(
                &app.admin_token,
                "New.Person@example.com",
                &format!("#{i}"),
                json!({}),
            )
            .await
        }
    });
    let convs = futures::future::join_all(requests).await;
    let customers: std::collections::BTreeSet<_> = convs
        .iter()
        .map(|c| c["customer_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(customers.len(), 1, "{customers:?}");
    let (_, list) = app.get("/api/v1/customers", &app.admin_token).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "no orphan profiles: {list}"
    );
}

async fn a_public_reply_on_a_phone_or_fax_conversation_is_refused_and_a_note_is_kept(b: Backend) {
    let app = spawn_app(b).await;
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    for channel in ["phone", "fax"] {
        let conv = app
            .conversation(
                &app.admin_token,
                "caller@example.com",
                "Call",
                json!({ "channel": channel }),
            )
            .await;
        let id = conv["id"].as_str().unwrap();
        let path = format!("/api/v1/conversations/{id}/messages");
        let (s, err) = app
            .post(&path, &agent, json!({"body": "we will call you back"}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{channel}: {err}");
        assert_eq!(err["code"], "no_reply_channel", "{channel}: {err}");
        assert!(err["error"].as_str().is_some_and(|e| !e.is_empty()));
        let (s, note) = app
            .post(
                &path,
                &agent,
                json!({"body": "called back", "internal": true}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{channel}: {note}");
        let (_, msgs) = app.get(&path, &app.admin_token).await;
        let bodies: Vec<_> = msgs["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            bodies.len(),
            2,
            "{channel}: the refused reply was not stored: {msgs}"
        );
        assert_eq!(bodies[1], "called back");
    }
    // Channels with a way out (or none registered, like the API's) still take replies.
    for channel in ["email", "chat", "api"] {
        let conv = app
            .conversation(
                &app.admin_token,
                "c@example.com",
                "Hi",
                json!({ "channel": channel }),
            )
            .await;
        let path = format!(
            "/api/v1/conversations/{}/messages",
            conv["id"].as_str().unwrap()
        );
        let (s, reply) = app.post(&path, &agent, json!({"body": "hello"})).await;
        assert_eq!(s, StatusCode::CREATED, "{channel}: {reply}");
    }
}

crate::storage_tests!(
    concurrent_contacts_from_a_new_address_make_one_customer,
    integration_opens_a_conversation_and_the_customer_is_matched,
    agent_replies_and_notes_are_recorded_with_history,
    list_filters_and_cursor_pagination,
    assignment_respects_capacity_unless_a_supervisor_overrides,
    concurrent_assignments_never_exceed_capacity,
    a_public_reply_on_a_phone_or_fax_conversation_is_refused_and_a_note_is_kept,
);
