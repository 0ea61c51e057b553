//! Bad input gets a clear JSON error with the right status, and nothing is half-written.
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn malformed_and_invalid_requests_get_json_errors(b: Backend) {
    let app = spawn_app(b).await;
    // A request refused before its body is read leaves a connection the server closes after
    // answering; these go on connections of their own so the shared client's pool does not
    // hand that connection to the next request.
    let raw_client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let send_raw = |body: &'static str, ctype: &'static str| {
        raw_client
            .post(app.url("/api/v1/customers"))
            .bearer_auth(&app.admin_token)
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    let resp = send_raw("{not json", "application/json").await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "bad_request");
    let resp = send_raw("{}", "text/plain").await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let (s, body) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "x", "favourite_colour": "blue"}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let (s, body) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"name": "ب".repeat(201)}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "too_long");
    let (s, body) = app
        .post("/api/v1/customers", &app.admin_token, json!({"name": 42}))
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let (s, body) = app
        .get(
            "/api/v1/customers/01900000-0000-7000-8000-000000000000",
            &app.admin_token,
        )
        .await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
    let (s, body) = app
        .get("/api/v1/conversations/nope", &app.admin_token)
        .await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
    let (s, body) = app.get("/api/v1/no-such-route", &app.admin_token).await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "not_found");
    let (s, body) = app
        .get("/api/v1/conversations?limit=banana", &app.admin_token)
        .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "bad_request");
    let (s, body) = app
        .get("/api/v1/conversations?cursor=%%%", &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, body) = app
        .post(
            "/api/v1/agents",
            &app.admin_token,
            json!({"email": "not-an-email", "name": "x", "role": "agent", "password": PASSWORD}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_email");
    let (s, body) = app
        .post(
            "/api/v1/agents",
            &app.admin_token,
            json!({"email": "a@example.com", "name": "x", "role": "root", "password": PASSWORD}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let (s, body) = app
        .post(
            "/api/v1/agents",
            &app.admin_token,
            json!({"email": "a@example.com", "name": "x", "role": "agent", "password": "short"}),
        )
        .await;
    assert_error(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "weak_password");
    // An oversized body is refused before it is read whole.
    let huge = "x".repeat(2 * 1024 * 1024);
    let resp = raw_client
        .post(app.url("/api/v1/customers"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body(format!("{{\"name\": \"{huge}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "too_large");
    // None of the refused requests left anything behind.
    let (_, list) = app.get("/api/v1/customers", &app.admin_token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

async fn a_failed_request_leaves_nothing_half_written(b: Backend) {
    let app = spawn_app(b).await;
    let (_, existing) = app
        .post(
            "/api/v1/customers",
            &app.admin_token,
            json!({"identities": [{"kind": "email", "value": "taken@example.com"}]}),
        )
        .await;
    // Second identity conflicts after the customer row and the first identity were inserted.
    let (s, _) = app
        .post("/api/v1/customers", &app.admin_token, json!({"name": "Half", "identities": [
            {"kind": "email", "value": "fresh@example.com"}, {"kind": "email", "value": "taken@example.com"}]}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, res) = app.get("/api/v1/customers?q=fresh", &app.admin_token).await;
    assert_eq!(
        res["items"].as_array().unwrap().len(),
        0,
        "rolled back: {res}"
    );
    let (_, list) = app.get("/api/v1/customers", &app.admin_token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], existing["id"]);
}

async fn health_readiness_metrics_and_openapi_are_served(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Make some traffic so counters exist.
    app.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"email": ADMIN_EMAIL, "password": "wrong password"})),
    )
    .await;
    let r = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(text.contains("switchboard_login_failures_total"), "{text}");
    let (s, doc) = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/auth/login",
        "/auth/logout",
        "/auth/me",
        "/agents",
        "/agents/{id}",
        "/agents/{id}/presence",
        "/queues",
        "/queues/{id}",
        "/customers",
        "/customers/{id}",
        "/customers/{id}/identities",
        "/customers/{id}/identities/{identity_id}",
        "/customers/{id}/merge",
        "/customers/{id}/timeline",
        "/conversations",
        "/conversations/{id}",
        "/conversations/{id}/messages",
        "/conversations/{id}/assign",
        "/webhooks",
        "/api-tokens",
    ] {
        assert!(paths.contains_key(p), "OpenAPI lacks {p}");
    }
    assert!(paths["/agents"].get("post").is_some());
}

async fn readiness_fails_when_the_database_is_gone(b: Backend) {
    let app = spawn_app(b).await;
    app.state.store.pool().close().await;
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

crate::storage_tests!(
    malformed_and_invalid_requests_get_json_errors,
    a_failed_request_leaves_nothing_half_written,
    health_readiness_metrics_and_openapi_are_served,
    readiness_fails_when_the_database_is_gone,
);
