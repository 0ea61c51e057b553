//! Agents and queues administration.
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn admin_manages_agents_with_skills_capacity_and_deactivation(b: Backend) {
    let app = spawn_app(b).await;
    let (s, agent) = app
        .post(
            "/api/v1/agents",
            &app.admin_token,
            json!({"email": "Maryam@Example.com", "name": "مریم", "role": "agent", "password": PASSWORD,
                   "skills": ["Billing", "billing", "vip"], "languages": ["fa", "en"],
                   "capacity": {"chat": 3, "email": 10, "phone": 1}, "extension": "101"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{agent}");
    assert_eq!(agent["email"], "maryam@example.com");
    assert_eq!(agent["skills"], json!(["billing", "vip"]));
    assert_eq!(agent["capacity"]["chat"], 3);
    assert_eq!(agent["extension"], "101");
    let id = agent["id"].as_str().unwrap();
    let (s, body) = app.post("/api/v1/agents", &app.admin_token, json!({"email": "maryam@example.com", "name": "x", "role": "agent", "password": PASSWORD})).await;
    assert_error(s, &body, StatusCode::CONFLICT, "conflict");
    let token = app.login("maryam@example.com", PASSWORD).await;
    let (s, updated) = app
        .patch(
            &format!("/api/v1/agents/{id}"),
            &app.admin_token,
            json!({"role": "supervisor", "capacity": {"chat": 5}, "skills": ["sales"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(updated["role"], "supervisor");
    assert_eq!(updated["capacity"], json!({"chat": 5}));
    let (s, one) = app.get(&format!("/api/v1/agents/{id}"), &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["skills"], json!(["sales"]));
    // Deactivation ends sessions and blocks login.
    let (s, _) = app
        .patch(
            &format!("/api/v1/agents/{id}"),
            &app.admin_token,
            json!({"active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.get("/api/v1/auth/me", &token).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "maryam@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Listing pages with a cursor.
    for i in 0..3 {
        app.agent(&format!("a{i}@example.com"), "agent", json!({}))
            .await;
    }
    let (_, page1) = app.get("/api/v1/agents?limit=2", &app.admin_token).await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().expect("more pages");
    let (_, page2) = app
        .get(
            &format!("/api/v1/agents?limit=2&cursor={cursor}"),
            &app.admin_token,
        )
        .await;
    let (_, page3) = app
        .get(
            &format!(
                "/api/v1/agents?limit=2&cursor={}",
                page2["next_cursor"].as_str().unwrap()
            ),
            &app.admin_token,
        )
        .await;
    let all: Vec<_> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().clone())
        .collect();
    assert_eq!(all.len(), 5);
    assert!(page3["next_cursor"].is_null());
}

async fn admin_manages_queues(b: Backend) {
    let app = spawn_app(b).await;
    let (s, q) = app
        .post("/api/v1/queues", &app.admin_token, json!({"name": "پشتیبانی", "channels": ["chat", "email"], "skills": ["billing"], "language": "fa", "priority": 5}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    assert_eq!(q["channels"], json!(["chat", "email"]));
    let id = q["id"].as_str().unwrap();
    let (s, body) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "پشتیبانی"}),
        )
        .await;
    assert_error(s, &body, StatusCode::CONFLICT, "conflict");
    let (s, body) = app
        .post(
            "/api/v1/queues",
            &app.admin_token,
            json!({"name": "x", "channels": ["pigeon"]}),
        )
        .await;
    assert_error(
        s,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_channel",
    );
    let (s, q2) = app
        .patch(
            &format!("/api/v1/queues/{id}"),
            &app.admin_token,
            json!({"priority": 9, "auto_accept": true, "language": ""}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(q2["priority"], 9);
    assert_eq!(q2["auto_accept"], true);
    assert!(q2["language"].is_null());
    assert_eq!(q2["name"], "پشتیبانی");
    let (_, list) = app.get("/api/v1/queues", &app.admin_token).await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [switchboard::queues::DEFAULT_QUEUE_ID, id],
        "the default queue and this one"
    );
    let (s, _) = app
        .get("/api/v1/queues/does-not-exist", &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

crate::storage_tests!(
    admin_manages_agents_with_skills_capacity_and_deactivation,
    admin_manages_queues
);
