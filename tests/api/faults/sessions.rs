//! Sessions end everywhere: a console socket closes when its session is logged out or its
//! agent deactivated, on every node; a logged-out session or revoked API token is refused by
//! every node though each keeps resolved callers; the last active admin cannot remove itself.

use crate::helpers::*;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn console(app: &TestApp, token: &str) -> Socket {
    let ws = app.base.replacen("http", "ws", 1);
    let (mut s, _) = tokio_tungstenite::connect_async(format!("{ws}/ws/console?token={token}"))
        .await
        .expect("console connects");
    let hello = s.next().await.unwrap().unwrap();
    assert!(hello.to_text().unwrap().contains("hello"));
    s
}

/// Wait until the server closes `socket` (panics after 5 s).
async fn closed(socket: &mut Socket) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => panic!("the console socket is still open 5 s after its session ended"),
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return,
            Ok(Some(Ok(_))) => {}
        }
    }
}

async fn a_console_socket_closes_when_its_session_is_logged_out_or_its_agent_deactivated(
    b: Backend,
) {
    let app = spawn_app(b).await;
    let (id, first) = app
        .agent("leaver@example.com", "supervisor", json!({}))
        .await;
    let second = app.login("leaver@example.com", PASSWORD).await;
    let mut s1 = console(&app, &first).await;
    let mut s2 = console(&app, &second).await;
    let (s, _) = app
        .call("POST", "/api/v1/auth/logout", Some(&first), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    closed(&mut s1).await;
    // The other session's socket stays and still receives events.
    app.conversation(&app.admin_token, "c@example.com", "still live", json!({}))
        .await;
    let frame = tokio::time::timeout(Duration::from_secs(5), s2.next())
        .await
        .expect("the other session still gets events")
        .unwrap()
        .unwrap();
    assert!(frame.to_text().unwrap().contains("conversation"), "{frame}");
    let (s, body) = app
        .patch(
            &format!("/api/v1/agents/{id}"),
            &app.admin_token,
            json!({"active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    closed(&mut s2).await;
}

async fn the_last_active_admin_cannot_demote_or_deactivate_itself(b: Backend) {
    let app = spawn_app(b).await;
    let t = &app.admin_token;
    let (_, me) = app.get("/api/v1/auth/me", t).await;
    let me = me["id"].as_str().unwrap().to_string();
    for body in [json!({"role": "supervisor"}), json!({"active": false})] {
        let (s, e) = app.patch(&format!("/api/v1/agents/{me}"), t, body).await;
        assert_error(s, &e, StatusCode::CONFLICT, "last_admin");
    }
    let (_, still) = app.get(&format!("/api/v1/agents/{me}"), t).await;
    assert_eq!(still["role"], "admin");
    assert_eq!(still["active"], true);
    // With a second admin, one may step down; then the other is the last.
    let (other, other_token) = app.agent("second@example.com", "admin", json!({})).await;
    let (s, body) = app
        .patch(&format!("/api/v1/agents/{me}"), t, json!({"role": "agent"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, e) = app
        .patch(
            &format!("/api/v1/agents/{other}"),
            &other_token,
            json!({"active": false}),
        )
        .await;
    assert_error(s, &e, StatusCode::CONFLICT, "last_admin");
}

crate::storage_tests!(
    a_console_socket_closes_when_its_session_is_logged_out_or_its_agent_deactivated,
    the_last_active_admin_cannot_demote_or_deactivate_itself,
);

/// Two nodes on one PostgreSQL database, their bus on Redis (a prefix of their own), each
/// with `tweak` applied.
async fn two_nodes(tweak: fn(&mut switchboard::settings::Settings)) -> (TestApp, TestApp) {
    let prefix = format!("sbsessions-{}", uuid::Uuid::new_v4().simple());
    let (r1, p1) = (redis_url(), prefix.clone());
    let a = spawn_app_with(Backend::Postgres, move |s| {
        s.redis.url = r1.into();
        s.redis.channel_prefix = p1;
        tweak(s);
    })
    .await;
    let r2 = redis_url();
    let b = spawn_on(&a.database_url, a._dir.clone(), move |s| {
        s.redis.url = r2.into();
        s.redis.channel_prefix = prefix;
        tweak(s);
    })
    .await;
    (a, b)
}

/// Scale mode: logging out through node A closes the session's console socket on node B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_on_one_node_closes_the_sessions_console_on_another() {
    let (a, b) = two_nodes(|_| {}).await;
    let (_, token) = a.agent("roamer@example.com", "agent", json!({})).await;
    let mut socket = console(&b, &token).await;
    let (s, _) = a
        .call("POST", "/api/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    closed(&mut socket).await;
}

/// Wait until `token` is refused by `app` (panics after 3 s: long before a kept caller would
/// age out, so only the bus can have told `app`).
async fn refused(app: &TestApp, path: &str, token: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let (s, _) = app.get(path, token).await;
        if s == StatusCode::UNAUTHORIZED {
            return;
        }
        assert_eq!(s, StatusCode::OK);
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} still served 3 s after its token was revoked on another node"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Scale mode, each node keeping callers for 10 minutes: a session logged out and an API token
/// revoked through node A are refused by node B, which had just served both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_on_one_node_is_refused_by_another_that_kept_it() {
    let (a, b) = two_nodes(|s| s.auth.token_cache_ms = 600_000).await;
    let (_, session) = a.agent("kept@example.com", "agent", json!({})).await;
    let api = a.api_token(&["customers"]).await;
    let (s1, _) = b.get("/api/v1/auth/me", &session).await;
    let (s2, _) = b.get("/api/v1/customers", &api).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    let (s, _) = a
        .call("POST", "/api/v1/auth/logout", Some(&session), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    refused(&b, "/api/v1/auth/me", &session).await;
    let (_, list) = a.get("/api/v1/api-tokens", &a.admin_token).await;
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let (s, _) = a
        .delete(&format!("/api/v1/api-tokens/{id}"), &a.admin_token)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    refused(&b, "/api/v1/customers", &api).await;
}
