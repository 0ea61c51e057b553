use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn login_gives_a_bearer_token_and_an_http_only_session_cookie(b: Backend) {
    let app = spawn_app(b).await;
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "ADMIN@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("sb_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["agent"]["email"], ADMIN_EMAIL);
    assert!(body["agent"].get("password_hash").is_none());
    // The cookie alone authenticates.
    let session = cookie.split(';').next().unwrap();
    let me = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    // And the bearer token too.
    let (status, me) = app
        .get("/api/v1/auth/me", body["token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "admin");
}

async fn wrong_password_is_refused_and_passwords_are_stored_hashed(b: Backend) {
    let app = spawn_app(b).await;
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": ADMIN_EMAIL, "password": "nope nope"})),
        )
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, _) = app.call("GET", "/api/v1/auth/me", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/api/v1/auth/me", "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM agents WHERE email = $1")
        .bind(ADMIN_EMAIL)
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
}

async fn login_attempts_are_rate_limited(b: Backend) {
    let app = spawn_app_with(b, |s| s.auth.login_attempts_per_minute = 3).await;
    // An account never logged in to from this address (a known-good address would be let
    // through to the password check; see faults::login).
    let victim = "victim@example.com";
    let (s, body) = app
        .post(
            "/api/v1/agents",
            &app.admin_token,
            json!({"email": victim, "name": "Victim", "role": "agent", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, _) = app
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"email": victim, "password": "wrong password"})),
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(&statuses[..3], &[StatusCode::UNAUTHORIZED; 3]);
    assert!(
        statuses[3..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Even the right password is refused from this address while limited.
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": victim, "password": PASSWORD})),
        )
        .await;
    assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

async fn logout_revokes_the_token(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.login(ADMIN_EMAIL, PASSWORD).await;
    let (status, _) = app.post("/api/v1/auth/logout", &token, json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/api/v1/auth/me", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Other sessions stay valid.
    let (status, _) = app.get("/api/v1/auth/me", &app.admin_token).await;
    assert_eq!(status, StatusCode::OK);
}

async fn roles_are_enforced_on_admin_routes(b: Backend) {
    let app = spawn_app(b).await;
    let (_, agent) = app.agent("agent@example.com", "agent", json!({})).await;
    let (_, sup) = app.agent("sup@example.com", "supervisor", json!({})).await;
    for token in [&agent, &sup] {
        let (s, body) = app.post("/api/v1/agents", token, json!({"email": "x@example.com", "name": "X", "role": "admin", "password": PASSWORD})).await;
        assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
        let (s, _) = app
            .post("/api/v1/queues", token, json!({"name": "Sales"}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app
            .post(
                "/api/v1/webhooks",
                token,
                json!({"url": "http://127.0.0.1:9/x"}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app.get("/api/v1/api-tokens", token).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    // Agents can read the directory but cannot set someone else's presence.
    let (s, _) = app.get("/api/v1/agents", &agent).await;
    assert_eq!(s, StatusCode::OK);
    let (admin_id, _) = {
        let (_, me) = app.get("/api/v1/auth/me", &app.admin_token).await;
        (me["id"].as_str().unwrap().to_string(), ())
    };
    let (s, _) = app
        .put(
            &format!("/api/v1/agents/{admin_id}/presence"),
            &agent,
            json!({"status": "away"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, me) = app
        .put(
            "/api/v1/agents/me/presence",
            &agent,
            json!({"status": "available"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["presence"], "available");
    let (s, _) = app
        .put(
            &format!("/api/v1/agents/{admin_id}/presence"),
            &sup,
            json!({"status": "away"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

async fn api_tokens_carry_scopes_and_cannot_use_agent_routes(b: Backend) {
    let app = spawn_app(b).await;
    let customers_only = app.api_token(&["customers"]).await;
    let (s, _) = app
        .post(
            "/api/v1/customers",
            &customers_only,
            json!({"name": "Sara"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, body) = app
        .post(
            "/api/v1/conversations",
            &customers_only,
            json!({"customer": {"email": "a@b.example"}, "subject": "x"}),
        )
        .await;
    assert_error(s, &body, StatusCode::FORBIDDEN, "forbidden");
    let (s, _) = app.get("/api/v1/agents", &customers_only).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.get("/api/v1/auth/me", &customers_only).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Unknown scopes are refused; tokens can be listed (without values) and revoked.
    let (s, _) = app
        .post(
            "/api/v1/api-tokens",
            &app.admin_token,
            json!({"name": "x", "scopes": ["root"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, list) = app.get("/api/v1/api-tokens", &app.admin_token).await;
    let item = &list["items"][0];
    assert!(item.get("token").is_none(), "{item}");
    let (s, _) = app
        .delete(
            &format!("/api/v1/api-tokens/{}", item["id"].as_str().unwrap()),
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get("/api/v1/customers", &customers_only).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// An agent's rights follow a change to the agent at once, though its token was just used
/// (and its caller kept, `auth.token_cache_ms`).
async fn a_demoted_or_deactivated_agent_loses_its_rights_at_once(b: Backend) {
    let app = spawn_app_with(b, |s| s.auth.token_cache_ms = 600_000).await;
    let (id, token) = app.agent("deputy@example.com", "admin", json!({})).await;
    let (s, _) = app.get("/api/v1/api-tokens", &token).await;
    assert_eq!(s, StatusCode::OK);
    let path = format!("/api/v1/agents/{id}");
    let (s, body) = app
        .patch(&path, &app.admin_token, json!({"role": "supervisor"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = app.get("/api/v1/api-tokens", &token).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "demoted: admin routes refused");
    let (s, me) = app.get("/api/v1/auth/me", &token).await;
    assert_eq!(
        (s, me["role"].as_str()),
        (StatusCode::OK, Some("supervisor"))
    );
    let (s, body) = app
        .patch(&path, &app.admin_token, json!({"active": false}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = app.get("/api/v1/auth/me", &token).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "deactivated: token refused");
}

/// A token in the query string is taken only on the console socket's upgrade (browsers cannot
/// set headers there); anywhere else it would end up in proxy logs, so it is ignored.
async fn a_token_in_the_query_string_is_not_a_login_outside_the_socket(b: Backend) {
    let app = spawn_app(b).await;
    let token = &app.admin_token;
    let (s, _) = app.get("/api/v1/auth/me", token).await;
    assert_eq!(s, StatusCode::OK);
    for path in ["/api/v1/auth/me", "/api/v1/agents", "/api/v1/conversations"] {
        let res = app
            .client
            .get(app.url(&format!("{path}?token={token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

crate::storage_tests!(
    a_token_in_the_query_string_is_not_a_login_outside_the_socket,
    login_gives_a_bearer_token_and_an_http_only_session_cookie,
    wrong_password_is_refused_and_passwords_are_stored_hashed,
    login_attempts_are_rate_limited,
    logout_revokes_the_token,
    roles_are_enforced_on_admin_routes,
    api_tokens_carry_scopes_and_cannot_use_agent_routes,
    a_demoted_or_deactivated_agent_loses_its_rights_at_once,
);
